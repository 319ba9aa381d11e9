/*
 * The pure logic of `limits` (config.h's struct sl_limits): token
 * buckets and the per-client table.  No I/O, no clock, no globals: the
 * callers pass the time, so Check can test every line without processes.
 *
 * Token buckets are kept as GCRA (the "generic cell rate algorithm"):
 * one 64-bit value, the theoretical arrival time `tat` in nanoseconds of
 * CLOCK_MONOTONIC.  A bucket is full when tat <= now; taking n tokens
 * moves tat n / rate seconds on; the bucket holds `burst` tokens when
 * tat <= now, so a take is allowed while max(tat, now) + n / rate <=
 * now + burst / rate.  One word is one atomic compare-and-swap, which
 * is what workers sharing a bucket need, and a bucket whose tat is in
 * the past is full whatever its rate, which is what eviction needs.
 *
 * The per-client table (one per config, in the shared region) is open
 * addressing over LIM_SLOTS entries, probed LIM_PROBE slots from the
 * key's hash.  An entry is a key (a keyed hash of scope and client, 0:
 * free) and the client's bucket; its session counts are one column per
 * worker, LIM_SLOTS counts in that worker's own part of the region
 * (entry i's count is col[i]): each worker writes only its own column,
 * so the master zeroes a dead worker's column and nothing it held leaks.  An entry is taken over
 * (by compare-and-swap on the key) only when it is free or stale: every
 * count 0 and its bucket full, i.e. a client that holds nothing and
 * whose limit would not remember it anyway.  So a client cannot escape
 * its limit by pushing its own entry out, nor push out anyone else's.
 */
#ifndef SL_LIMITS_H
#define SL_LIMITS_H

#include <sys/socket.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/sluice.h"

#define LIM_NS			UINT64_C(1000000000)
#define LIM_SLOTS		8192	/* per-client entries, per config */
#define LIM_PROBE		32	/* slots looked at per key */
/*
 * A bucket owes at most this beyond its burst: reservations queued by
 * readers sharing it, races, a late charge.
 */
#define LIM_MAX_DEBT_NS		(4 * LIM_NS)

/* Tokens there are in a bucket at now (at most burst). */
uint64_t lim_bucket_avail(uint64_t tat, uint64_t now, uint64_t rate,
	    uint64_t burst);
/* tat after n tokens were used at now (debt bounded, see above). */
uint64_t lim_bucket_charge(uint64_t tat, uint64_t now, uint64_t rate,
	    uint64_t burst, uint64_t n);
/* Nanoseconds from now until need tokens are there (0: they are). */
uint64_t lim_bucket_wait(uint64_t tat, uint64_t now, uint64_t rate,
	    uint64_t burst, uint64_t need);
/* Take n tokens or none, atomically: 1 taken, 0 not enough. */
int	 lim_bucket_take(_Atomic uint64_t *tat, uint64_t now, uint64_t rate,
	    uint64_t burst, uint64_t n);
/* Charge n tokens used, atomically (may leave the bucket owing). */
void	 lim_bucket_use(_Atomic uint64_t *tat, uint64_t now, uint64_t rate,
	    uint64_t burst, uint64_t n);
/*
 * Reserve n tokens not there yet: charged now, usable after *wait_ns.
 * Readers sharing a bucket so queue in the order they asked instead of
 * racing for each refill (where the one that always wakes first would
 * starve the others).  0: the debt is at its bound, nothing reserved.
 * lim_bucket_reserve_at is the same on a bucket of one reader (*tat not
 * shared).
 */
int	 lim_bucket_reserve(_Atomic uint64_t *tat, uint64_t now,
	    uint64_t rate, uint64_t burst, uint64_t n, uint64_t *wait_ns);
int	 lim_bucket_reserve_at(uint64_t *tat, uint64_t now, uint64_t rate,
	    uint64_t burst, uint64_t n, uint64_t *wait_ns);
/* Give back n tokens reserved and not used. */
void	 lim_bucket_refund(_Atomic uint64_t *tat, uint64_t rate, uint64_t n);

/* One per-client entry; its counts are in the columns. */
struct lim_entry {
	_Atomic uint64_t	key;		/* 0: free */
	_Atomic uint64_t	tat;		/* new sessions' bucket */
};

struct lim_table {
	struct lim_entry	*base;		/* LIM_SLOTS entries */
	uint32_t		 ncols;		/* workers */
	/* open sessions per entry, one column per worker (NULL: none) */
	_Atomic uint32_t	*cols[SL_MAX_WORKERS];
};

/* Bytes of the entries, and of one column. */
size_t	 lim_table_size(void);
size_t	 lim_col_size(void);
/* A table of ncols columns with no column set yet. */
void	 lim_table_init(struct lim_table *, void *base, uint32_t ncols);
/* Column col is counts (LIM_SLOTS of them). */
void	 lim_table_set_col(struct lim_table *, uint32_t col,
	    _Atomic uint32_t *counts);
/*
 * The entry of key (non-zero); with claim, a free or stale one in its
 * probe window becomes key's.  NULL: not there (claim 0), or no free
 * or stale slot in the window (the table is full around key).
 */
struct lim_entry *lim_lookup(const struct lim_table *, uint64_t key,
	    uint64_t now, int claim);
/* Open sessions of the entry over every column (clamped). */
uint64_t lim_count(const struct lim_table *, struct lim_entry *);
/* Zero column col in every entry (its worker died). */
void	 lim_reset_col(const struct lim_table *, uint32_t col);
/* The entry's count in column col (col < ncols, a column set). */
_Atomic uint32_t *lim_col(const struct lim_table *, struct lim_entry *,
	    uint32_t col);

/*
 * The table key of a client in a scope (0: the config, 1 + i: listener
 * i): IPv4 address, or the /64 of an IPv6 address, hashed with the
 * region's SipHash key.  Never 0.
 */
uint64_t lim_client_key(const uint64_t sipkey[2], uint32_t scope,
	    const struct sockaddr *);

#endif
