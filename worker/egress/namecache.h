/*
 * The worker's short cache of names the resolver answered: a session to
 * a name looked up moments ago by this worker skips the round trip to
 * the resolver process.  Only OK answers are kept, for at most
 * NC_MAX_TTL_S and never beyond the resolver's TTL, so the resolver (its
 * blacklist, its hijack checks, its own cache) stays the authority: the
 * worker only reuses an answer it already vetted, briefly.
 */
#ifndef SL_WORKER_NAMECACHE_H
#define SL_WORKER_NAMECACHE_H

#include <stdint.h>

#include "../../common/sluice.h"

#define NC_SLOTS	1024		/* direct-mapped, a power of 2 */
#define NC_MAX_TTL_S	2

/* namecache.c */
/* The table and its secret key; -1 when out of memory (no cache then). */
int	 namecache_init(void);
/* A name's key (never 0): SipHash under the worker's secret key. */
uint64_t namecache_key(const char *name);
/* The addresses kept for key at now_ms: their number, 0 if none. */
uint32_t namecache_get(uint64_t key, uint64_t now_ms,
	    struct sl_res_addr out[SL_MAX_ADDRS]);
/* Keep an OK answer (n >= 1) for min(ttl_s, NC_MAX_TTL_S) seconds. */
void	 namecache_put(uint64_t key, uint32_t ttl_s,
	    const struct sl_res_addr *, uint32_t n, uint64_t now_ms);

#endif
