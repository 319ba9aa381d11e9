/*
 * The resolver's memory, with no I/O in it (unit-tested with a fake
 * clock): the name cache with its LRU and in-flight entries, and the
 * address blacklist.
 *
 * One table holds every name the resolver knows about.  A PENDING entry
 * is a lookup in flight: later askers queue behind it as waiters, so N
 * identical questions from any workers cost one query pair.  A finished
 * entry is POSITIVE (addresses) or NEGATIVE (the name has no address);
 * it sits on an LRU list bounded at the configured number of names and
 * expires after its clamped TTL.  A failed lookup is not kept.
 *
 * Times are seconds on a monotonic clock, passed in by the caller.
 */
#ifndef SL_RES_CACHE_H
#define SL_RES_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../ipc/ipc_msg.h"
#include "../policy/config.h"

/* Someone waiting for a PENDING entry: a worker's request. */
struct cache_waiter {
	struct cache_waiter	*next;
	uint32_t		 worker, gen, id;
	uint8_t			 family;	/* 0, 4 or 6, as asked */
};

enum cache_state {
	CE_PENDING = 0,
	CE_POSITIVE,
	CE_NEGATIVE,
	CE_FAILED,		/* finished without an answer; never kept */
};

struct cache_entry {
	struct cache_entry	*hnext;			/* hash chain */
	struct cache_entry	*prev, *next;		/* LRU, finished only */
	uint64_t		 hash;
	enum cache_state	 state;
	double			 expires;		/* finished entries */
	uint32_t		 ttl;			/* clamped, as stored */
	uint32_t		 naddrs;
	struct sl_res_addr	 addrs[SL_MAX_ADDRS];
	struct cache_waiter	*waiters, **wtail;	/* PENDING only */
	uint32_t		 nwaiters;
	char			 name[];		/* lower case */
};

struct cache_params {
	uint32_t	capacity;	/* finished names kept; 0 = no cache */
	uint32_t	min_ttl, max_ttl, neg_ttl;	/* seconds */
};

struct cache_stats {
	uint64_t	hits, misses, merged, evictions, expired;
};

struct cache {
	struct cache_params	 p;
	struct cache_entry	**buckets;
	size_t			 nbuckets;	/* power of two */
	size_t			 nentries;	/* pending + finished */
	size_t			 nkept;		/* finished, on the LRU */
	struct cache_entry	 lru;		/* sentinel: next = newest */
	uint64_t		 key[2];	/* SipHash key */
	struct cache_stats	 st;
};

/* cache.c */
void	cache_init(struct cache *, const struct cache_params *,
	    const uint8_t key[16]);
void	cache_free(struct cache *);
/*
 * The entry for name (lower case, checked).  A finished entry that is
 * still valid is returned as it is (and becomes the newest); otherwise
 * the entry is PENDING and *created says whether the caller must start
 * the lookup (a new or expired name) or it is already in flight.
 * NULL only if memory ran out.
 */
struct cache_entry *cache_get(struct cache *, const char *name, double now,
	    int *created);
/* Queue w on a PENDING entry. */
void	cache_wait(struct cache_entry *, struct cache_waiter *);
/*
 * Finish a PENDING entry: POSITIVE with addrs and ttl (clamped to
 * [min_ttl, max_ttl]), NEGATIVE (ttl = neg_ttl) or FAILED.  Returns the
 * waiters, now detached, for the caller to answer from the entry; then
 * the caller calls cache_settle(), which keeps or frees the entry.
 */
struct cache_waiter *cache_finish(struct cache *, struct cache_entry *,
	    enum cache_state, const struct sl_res_addr *, uint32_t naddrs,
	    uint32_t ttl, double now);
void	cache_settle(struct cache *, struct cache_entry *);
/* Drop a finished entry (its addresses were blacklisted meanwhile). */
void	cache_forget(struct cache *, struct cache_entry *);
/* Whole seconds an entry has left (rounded up); 0 once expired. */
uint32_t cache_ttl_left(const struct cache_entry *, double now);
uint32_t cache_clamp_ttl(const struct cache_params *, uint32_t ttl);

/*
 * The blacklist: static CIDRs from the configuration (ip_blacklist and
 * TcpRoute's IpBlacklist) plus addresses learned by the hijack probes,
 * at most BL_MAX_LEARNED (the oldest go first).  An IPv4-mapped IPv6
 * address is judged as the IPv4 address it reaches.
 */
#define BL_MAX_LEARNED	1024
#define BL_BUCKETS	1024

struct blacklist {
	const struct sl_cidr	*cidrs;		/* not owned */
	size_t			 ncidrs;
	struct sl_res_addr	 learned[BL_MAX_LEARNED];	/* ring */
	int16_t			 hnext[BL_MAX_LEARNED];
	int16_t			 head[BL_BUCKETS];
	size_t			 nlearned, oldest;
};

void	bl_init(struct blacklist *, const struct sl_cidr *, size_t);
/* 1 if a is blacklisted, statically or learned. */
int	bl_contains(const struct blacklist *, const struct sl_res_addr *);
/* Learn a; 1 if it is new, 0 if it was learned already. */
int	bl_learn(struct blacklist *, const struct sl_res_addr *);
/* Keep only the addresses not blacklisted; returns how many remain. */
uint32_t bl_filter(const struct blacklist *, struct sl_res_addr *,
	    uint32_t n);

#endif
