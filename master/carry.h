/*
 * Counters that survive a reload (master/reload.c): a new generation's
 * region starts with the totals, link health and route cache of the
 * current one, matched by name; what an older generation counts while
 * it drains is added once it is gone.  Totals go to the region's
 * carried row (SL_ROW_CARRIED), which only the master writes.
 */
#ifndef SL_CARRY_H
#define SL_CARRY_H

#include <stdint.h>

#include "../policy/config.h"
#include "../policy/counters.h"

/* A region's totals at one moment, by that region's own indices. */
struct carry {
	size_t				 nlinks, nlisteners;
	struct sl_link_totals		 links[SL_MAX_LINKS];
	struct sl_listener_totals	 listeners[SL_MAX_LISTENERS];
	uint64_t			 lookups, cache_hits, failures;
	uint64_t			 udp_dropped;
};

/* The totals of region sh (of config conf). */
void	carry_take(struct carry *, const struct sl_shm *sh,
	    const struct sl_conf *);
/*
 * Add now - minus (minus NULL: nothing) of a region of config src to
 * the carried row of region dst (config dconf), name by name.
 */
void	carry_add(const struct sl_shm *dst, const struct sl_conf *dconf,
	    const struct sl_conf *src, const struct carry *now,
	    const struct carry *minus);
/*
 * Health and route cache (worker slot by slot) and the global counters
 * from src to a new dst.
 */
void	carry_state(const struct sl_shm *dst, const struct sl_conf *dconf,
	    const struct sl_shm *src, const struct sl_conf *sconf);

#endif
