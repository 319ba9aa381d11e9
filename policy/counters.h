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

#include "../common/sluice.h"
#include "limits.h"

#define SL_CACHELINE		64
#define SL_SHM_MAGIC		0x534c5543u	/* "SLUC" */
#define SL_SHM_VERSION		7

/*
 * Upper bounds (ms) of the connect-time histogram's buckets; a connect
 * slower than the last one is counted in `connects` only (the +Inf
 * bucket).  Buckets are not cumulative in the region; readers add up.
 */
#define SL_CONNECT_BUCKETS	11
extern const uint32_t sl_connect_bounds_ms[SL_CONNECT_BUCKETS];

struct sl_link_ctr {
	_Atomic uint64_t	active;		/* open sessions */
	_Atomic uint64_t	opened;		/* sessions since start */
	_Atomic uint64_t	failed;		/* connect failures */
	_Atomic uint64_t	bytes_up;	/* client -> target */
	_Atomic uint64_t	bytes_down;	/* target -> client */
	_Atomic uint64_t	connects;	/* connect times counted */
	_Atomic uint64_t	connect_ms_sum;
	_Atomic uint64_t	connect_hist[SL_CONNECT_BUCKETS];
} __attribute__((aligned(SL_CACHELINE)));

/*
 * Why a session failed before its relay, per listener: the
 * `sluice_frontend_errors_total{reason=...}` of the metrics.
 */
enum sl_ferr {
	SL_FERR_TIMEOUT = 0,	/* handshake timeout */
	SL_FERR_BAD_REQUEST,	/* the client broke its protocol */
	SL_FERR_AUTH,		/* authentication failed */
	SL_FERR_REFUSED,	/* admission: clients, limits, overload */
	SL_FERR_NO_SERVICE,	/* sni/host: no service for the name */
	SL_FERR_NOT_ALLOWED,	/* policy, blacklist, deny_targets */
	SL_FERR_UNREACHABLE,	/* network, host or name unreachable */
	SL_FERR_CONN_REFUSED,	/* the target refused */
	SL_FERR_CONN_TIMEOUT,	/* connect or an upstream hop timed out */
	SL_FERR_UPSTREAM,	/* any other connect failure */
	SL_FERR_CLIENT,		/* the client's socket failed */
	SL_FERR_OTHER,		/* no memory, shutdown, ... */
	SL_FERR_LIMIT,		/* over one of the `limits` */
	SL_FERR_MAX
};
extern const char *const sl_ferr_names[SL_FERR_MAX];

/* One listener's sessions, in one worker row. */
struct sl_listener_ctr {
	_Atomic uint64_t	active;		/* open sessions */
	_Atomic uint64_t	opened;		/* accepted since start */
	_Atomic uint64_t	errors[SL_FERR_MAX];
} __attribute__((aligned(SL_CACHELINE)));

/* One per worker slot: what the worker holds right now. */
struct sl_worker_ctr {
	_Atomic uint64_t	sessions;	/* open client sessions */
	_Atomic uint64_t	handshakes;	/* of which in their handshake */
	_Atomic uint64_t	accepted;	/* since start */
	_Atomic uint64_t	udp_dropped;	/* UDP ASSOCIATE datagrams
						   dropped: strangers,
						   fragments, refused, ... */
	struct sl_listener_ctr	listeners[SL_MAX_LISTENERS];
} __attribute__((aligned(SL_CACHELINE)));

/*
 * Health of one link as one worker saw it (a row per link in each
 * worker's part; shm_health_read puts the rows together).  Times are
 * CLOCK_MONOTONIC ms; readers cut a cool-down to now + the link's own,
 * so a scribbled value cannot hold a link down for longer.
 */
#define SL_HEALTH_MS_MAX	(3600u * 1000)	/* beyond: a scribble */
#define SL_CHECK_UNKNOWN	0		/* no verdict yet */
#define SL_CHECK_UP		1
#define SL_CHECK_DOWN		2

struct sl_link_health {
	_Atomic uint32_t	fails;		/* connect failures in a row
						   since streak_ms */
	_Atomic uint32_t	check;		/* its health check's verdict:
						   SL_CHECK_* */
	_Atomic uint64_t	streak_ms;	/* the streak's first failure */
	_Atomic uint64_t	ok_ms;		/* its last connect that worked */
	_Atomic uint64_t	down_until_ms;	/* it put the link in a
						   cool-down until then */
	_Atomic uint64_t	connect_ms_avg;	/* moving average, racing */
} __attribute__((aligned(SL_CACHELINE)));

/*
 * One link's health put together from every worker's row, as worker
 * `self` must act on it (shm_health_read).  A worker acts on what it saw
 * itself; what only other workers saw is a hint that moves the link
 * after every link this worker has no doubt about, never a refusal, and
 * another's health check counts only until this worker's own has a
 * verdict.
 * So a worker that scribbles its rows can reorder the links another
 * worker tries, not keep a client from any link.
 */
struct sl_health {
	int		check_down;	/* self's health check says down */
	int		cooling;	/* self's cool-down, no success since */
	int		others_check;	/* another worker's check says down
					   and self's has no verdict yet */
	int		others_cooling;	/* another worker's cool-down */
	uint64_t	until_ms;	/* the cool-down's end (cut) */
	uint32_t	fails;		/* failures in a row, every worker's */
	uint64_t	connect_ms;	/* self's average; 0: unknown */
};

/* What the master and the resolver count, for the metrics. */
struct sl_global_ctr {
	_Atomic uint64_t	reloads;	/* generations started after the
						   first */
	_Atomic uint64_t	reload_failures;
	_Atomic uint64_t	worker_restarts;	/* respawns, any role */
	_Atomic uint64_t	generation;
	_Atomic uint64_t	started_unix;	/* the master's start */
	_Atomic uint64_t	reloaded_unix;	/* the last good reload */
} __attribute__((aligned(SL_CACHELINE)));

/* Written by the resolver only. */
struct sl_resolver_ctr {
	_Atomic uint64_t	lookups;	/* queries from workers */
	_Atomic uint64_t	cache_hits;	/* answered from the cache
						   (or the hosts file) */
	_Atomic uint64_t	failures;	/* not OK: NXDOMAIN, timeout, ... */
} __attribute__((aligned(SL_CACHELINE)));

/*
 * The route cache of the `fastest` strategy: which link won the race to a
 * destination, one table per worker (in its part) that every worker
 * reads (race.c: its own entry first, else the newest of the others').
 * Direct-mapped by a hash of (name or address, port); a torn or
 * scribbled slot can only name a wrong link, which readers bound-check
 * against the request's candidates and which then simply fails.
 */
#define SL_ROUTE_SLOTS		4096

struct sl_route_slot {
	_Atomic uint64_t	key;		/* destination hash; 0 = empty */
	_Atomic uint64_t	expires_ms;	/* CLOCK_MONOTONIC */
	_Atomic uint32_t	link;
	uint32_t		pad;
};

/*
 * Limits: the SipHash key of the per-client table (random, from the
 * master, in its part), the scope-wide bandwidth buckets (GCRA,
 * policy/limits.h) of the config ([0]) and of each listener ([1 + i]),
 * one row per worker of what it holds against max_sessions and
 * max_udp_flows (in its part, zeroed with the worker's other live counts
 * when it dies), and the per-client table.
 */
struct sl_limit_bw {
	_Atomic uint64_t	tat_up;		/* client -> target */
	_Atomic uint64_t	tat_down;	/* target -> client */
} __attribute__((aligned(SL_CACHELINE)));

#define SL_LIMIT_SCOPES		(1 + SL_MAX_LISTENERS)

struct sl_limit_row {
	/* [0]: the config's, [1 + i]: listener i's; admitted sessions */
	_Atomic uint64_t	sessions[SL_LIMIT_SCOPES];
	_Atomic uint64_t	udp_flows[SL_LIMIT_SCOPES];
} __attribute__((aligned(SL_CACHELINE)));

/* Where the limits' parts are in a view. */
struct sl_limits_area {
	const uint64_t		*sipkey;	/* [2] */
	struct sl_limit_bw	*bw;		/* SL_LIMIT_SCOPES */
	struct lim_table	 table;
};

/* Sums of a link's counters over all worker rows (and the carried). */
struct sl_link_totals {
	uint64_t	active, opened, failed, bytes_up, bytes_down;
	uint64_t	connects, connect_ms_sum;
	uint64_t	connect_hist[SL_CONNECT_BUCKETS];	/* per bucket */
};

/* Sums of a listener's counters over all worker rows. */
struct sl_listener_totals {
	uint64_t	active, opened;
	uint64_t	errors[SL_FERR_MAX];
};

/*
 * The region is made of parts, each its own sealed memfd (master/shm.c),
 * mapped writable by its one writer and read-only by everyone else
 * (a worker's write to another's part faults):
 *
 *   master    header, the master's counters, the per-client table's
 *             SipHash key, and the carried row: what earlier
 *             generations counted, carried over a reload
 *             (master/reload.c) so that totals never go down; its live
 *             counts (active, sessions) stay 0
 *   resolver  the resolver's counters
 *   worker w  what worker slot w counts and saw: its row, its limit row,
 *             one counter row and one health row per link, its route
 *             cache, its column of the per-client table's counts
 *   shared    what every worker spends from and no worker owns: the
 *             round-robin cursor (one rotation across workers), the
 *             bandwidth buckets and the per-client table's keys and
 *             buckets.  A scribble there can do what honest use can
 *             (take the next link in turn, spend a budget); readers
 *             bound what they take from it.
 *
 * Every part starts with a header that names it.  A reader checks the
 * master's (only the master writes it) against its own config; the
 * others are not trusted for anything, not even as a check.  Sizes and
 * offsets come from the reader's config, which part an fd is from the
 * master's message.
 */
/*
 * Counters are read from rows another process could have scribbled: each
 * is taken no higher than a clamp (SL_CTR_CLAMP, 2^48, for totals), so a
 * sum over every row can neither wrap nor be pushed further by one row.
 */
#define SL_CTR_CLAMP	(UINT64_C(1) << 48)

static inline uint64_t
shm_ctr_load(_Atomic uint64_t *v, uint64_t clamp)
{
	uint64_t	x = atomic_load_explicit(v, memory_order_relaxed);

	return x > clamp ? clamp : x;
}

enum sl_shm_part {
	SL_SHM_MASTER = 1,
	SL_SHM_RESOLVER,
	SL_SHM_SHARED,
	SL_SHM_WORKER,
};
_Static_assert(SL_SHM_WORKER == SL_SHM_PART_MAX, "ipc checks part kinds");

/* Index in sl_shm.map of a part: master, resolver, shared, worker 0.. */
#define SL_SHM_MAP_INDEX(part, slot)	\
	((part) == SL_SHM_WORKER ? 3 + (size_t)(slot) : (size_t)(part) - 1)
/* ... and back: the part and slot of map index i. */
#define SL_SHM_MAP_PART(i)	((i) < 3 ? (uint32_t)(i) + 1 : SL_SHM_WORKER)
#define SL_SHM_MAP_SLOT(i)	((i) < 3 ? 0 : (uint32_t)(i) - 3)
#define SL_SHM_MAPS		(3 + SL_MAX_WORKERS)

struct sl_shm_part_hdr {
	uint32_t		magic;
	uint32_t		version;
	uint32_t		part;		/* enum sl_shm_part */
	uint32_t		slot;		/* a worker part's slot */
	uint32_t		nworkers;
	uint32_t		nlinks;
} __attribute__((aligned(SL_CACHELINE)));

/* One worker slot's part in the view; the carried row too. */
struct sl_shm_row {
	struct sl_worker_ctr	*ctr;
	struct sl_link_ctr	*links;		/* nlinks */
	/* NULL in the carried row: */
	struct sl_limit_row	*lim;
	struct sl_link_health	*health;	/* nlinks */
	struct sl_route_slot	*routes;	/* SL_ROUTE_SLOTS */
	_Atomic uint32_t	*clients;	/* LIM_SLOTS: its column of the
						   per-client table */
};

/*
 * A process's view of the parts it mapped: pointers into them, computed
 * from its own config's shape.  A part not mapped leaves its pointers
 * NULL (the resolver maps its own part only).
 */
struct sl_shm {
	uint32_t		 nworkers, nlinks;
	int			 self;		/* the worker slot this process
						   is, -1: none */
	struct sl_global_ctr	*global;	/* master part */
	struct sl_resolver_ctr	*resolver;
	_Atomic uint64_t	*rr_next;	/* shared round-robin cursor */
	/* nworkers + 1 rows; row nworkers (SL_ROW_CARRIED) is carried */
	struct sl_shm_row	 rows[SL_MAX_WORKERS + 1];
	struct sl_limits_area	 limits;
	struct {
		void		*base;		/* NULL: not mapped */
		size_t		 size;
	}			 map[SL_SHM_MAPS];
};

#define SL_ROW_CARRIED(nworkers)	(nworkers)

/* counters.c */
size_t	 shm_part_size(enum sl_shm_part, uint32_t nworkers, uint32_t nlinks);
/* Zero a part of this shape and write its header (the master's). */
void	 shm_part_init(void *base, enum sl_shm_part, uint32_t slot,
	    uint32_t nworkers, uint32_t nlinks);
/* An empty view for this shape; self: the writer's worker slot or -1. */
void	 shm_view_init(struct sl_shm *, uint32_t nworkers, uint32_t nlinks,
	    int self);
/*
 * Add a mapped part to the view: -1 if it is too small, already there,
 * or (the master's part) its header does not say it is of this shape.
 */
int	 shm_attach(struct sl_shm *, enum sl_shm_part, uint32_t slot,
	    void *base, size_t size);
/* 0 if every part is in the view (what a worker needs), -1 if not. */
int	 shm_view_complete(const struct sl_shm *);
/*
 * Every part in anonymous shared memory (so forked children share it),
 * attached (tests, tools); shm_free unmaps the parts of any view.
 */
struct sl_shm *shm_alloc(uint32_t nworkers, uint32_t nlinks);
void	 shm_free(struct sl_shm *);

struct sl_link_ctr *shm_ctr(const struct sl_shm *, uint32_t worker,
	    uint32_t link);
struct sl_worker_ctr *shm_worker(const struct sl_shm *, uint32_t worker);
/* Worker w's health row of a link. */
struct sl_link_health *shm_health(const struct sl_shm *, uint32_t worker,
	    uint32_t link);
/*
 * A link's health as worker self acts on it (self -1: as an operator
 * reads it, every worker's verdict its own).  cooldown_ms is the link's.
 */
void	 shm_health_read(const struct sl_shm *, uint32_t link, int self,
	    uint64_t now_ms, uint64_t cooldown_ms, struct sl_health *);
/* The latest connect that worked on a link, by any worker (<= now). */
uint64_t shm_health_last_ok(const struct sl_shm *, uint32_t link,
	    uint64_t now_ms);
/* A row's streak counts: begun after the latest success anywhere. */
uint32_t shm_health_streak(struct sl_link_health *, uint64_t last_ok,
	    uint64_t now_ms);
void	 shm_link_totals(const struct sl_shm *, uint32_t link,
	    struct sl_link_totals *);
uint64_t shm_link_active(const struct sl_shm *, uint32_t link);
/* Open sessions over all workers, each row clamped to `clamp`. */
uint64_t shm_sessions(const struct sl_shm *, uint64_t clamp);
/* Sessions in their handshake over all workers, each row clamped. */
uint64_t shm_handshakes(const struct sl_shm *, uint64_t clamp);
void	 shm_listener_totals(const struct sl_shm *, uint32_t listener,
	    struct sl_listener_totals *);
/* Count one connect time (ms) in a link counter row. */
void	 shm_connect_time(struct sl_link_ctr *, uint64_t ms);
/* Zero the live counts of one worker slot (the worker died). */
void	 shm_worker_reset(const struct sl_shm *, uint32_t worker);

#endif
