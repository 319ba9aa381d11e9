/*
 * The shared-memory region: per-link counters that every worker updates
 * with C11 atomics and the master and the policy engine read.
 *
 * One row of counters per worker slot, so each worker writes only its own
 * cache lines; readers sum the rows.  The region holds no pointers, and
 * every reader treats it as hostile: a compromised worker can write any
 * byte of it, so sizes come from the reader's own config, never from the
 * region, and sums are clamped.
 */
#ifndef SL_COUNTERS_H
#define SL_COUNTERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CACHELINE		64
#define SL_SHM_MAGIC		0x534c5543u	/* "SLUC" */
#define SL_SHM_VERSION		4

struct sl_link_ctr {
	_Atomic uint64_t	active;		/* open sessions */
	_Atomic uint64_t	opened;		/* sessions since start */
	_Atomic uint64_t	failed;		/* connect failures */
	_Atomic uint64_t	bytes_up;	/* client -> target */
	_Atomic uint64_t	bytes_down;	/* target -> client */
} __attribute__((aligned(SL_CACHELINE)));

/* One per worker slot: what the worker holds right now. */
struct sl_worker_ctr {
	_Atomic uint64_t	sessions;	/* open client sessions */
	_Atomic uint64_t	handshakes;	/* of which in their handshake */
	_Atomic uint64_t	accepted;	/* since start */
	_Atomic uint64_t	udp_dropped;	/* UDP ASSOCIATE datagrams
						   dropped: strangers,
						   fragments, refused, ... */
} __attribute__((aligned(SL_CACHELINE)));

/*
 * Health of one link, shared by all workers (one row per link, written
 * by whichever worker saw the event).  Readers clamp down_until to
 * now + the link's cool-down, so a scribbled value cannot hold a link
 * down for longer.
 */
struct sl_link_health {
	_Atomic uint32_t	fails;		/* consecutive connect failures */
	_Atomic uint32_t	check_down;	/* health check says down */
	_Atomic uint64_t	down_until_ms;	/* cooling down until then */
	_Atomic uint64_t	connect_ms_avg;	/* moving average, racing */
} __attribute__((aligned(SL_CACHELINE)));

/*
 * Layout: header, nworkers worker rows, nlinks health rows, nworkers
 * rows of nlinks link counters, then SL_ROUTE_SLOTS route cache slots.
 */
struct sl_shm_hdr {
	uint32_t		magic;
	uint32_t		version;
	uint32_t		nworkers;
	uint32_t		nlinks;
	_Atomic uint64_t	rr_next;	/* shared round-robin cursor */
} __attribute__((aligned(SL_CACHELINE)));

/*
 * The route cache of the `fastest` strategy: which link won the race to a
 * destination, shared by all workers.  Direct-mapped by a hash of (name
 * or address, port); a torn or scribbled slot can only name a wrong link,
 * which readers bound-check and which then simply fails and is dropped.
 */
#define SL_ROUTE_SLOTS		4096

struct sl_route_slot {
	_Atomic uint64_t	key;		/* destination hash; 0 = empty */
	_Atomic uint64_t	expires_ms;	/* CLOCK_MONOTONIC */
	_Atomic uint32_t	link;
	uint32_t		pad;
};

/* Sums of a link's counters over all worker rows. */
struct sl_link_totals {
	uint64_t	active, opened, failed, bytes_up, bytes_down;
};

/* counters.c */
size_t	 shm_size(uint32_t nworkers, uint32_t nlinks);
void	 shm_init(void *base, uint32_t nworkers, uint32_t nlinks);
/* 0 if the header agrees with the reader's own shape, -1 otherwise. */
int	 shm_check(const void *base, size_t size, uint32_t nworkers,
	    uint32_t nlinks);
struct sl_link_ctr *shm_ctr(void *base, uint32_t nworkers, uint32_t nlinks,
	    uint32_t worker, uint32_t link);
void	 shm_link_totals(void *base, uint32_t nworkers, uint32_t nlinks,
	    uint32_t link, struct sl_link_totals *);
uint64_t shm_link_active(void *base, uint32_t nworkers, uint32_t nlinks,
	    uint32_t link);
struct sl_worker_ctr *shm_worker(void *base, uint32_t worker);
struct sl_link_health *shm_health(void *base, uint32_t nworkers,
	    uint32_t link);
struct sl_route_slot *shm_routes(void *base, uint32_t nworkers,
	    uint32_t nlinks);
/* Open sessions over all workers, each row clamped to `clamp`. */
uint64_t shm_sessions(void *base, uint32_t nworkers, uint64_t clamp);
/* Sessions in their handshake over all workers, each row clamped. */
uint64_t shm_handshakes(void *base, uint32_t nworkers, uint64_t clamp);
/* Zero the live counts of one worker slot (the worker died). */
void	 shm_worker_reset(void *base, uint32_t nworkers, uint32_t nlinks,
	    uint32_t worker);

#endif
