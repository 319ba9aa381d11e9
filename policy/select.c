/*
 * Link selection strategies over the shared counters.
 *
 * Round robin uses one cursor in the shared region, so it rotates across
 * all workers, not per worker.  Least connections reads every worker's
 * row.  Matchers and weights arrive with the routing engine.
 */
#include <string.h>

#include "counters.h"
#include "select.h"

static size_t
select_rotate(size_t n, uint64_t start, uint32_t *out, size_t cap)
{
	size_t	i, k = 0;

	for (i = 0; i < n && k < cap; i++)
		out[k++] = (uint32_t)((start + i) % n);
	return k;
}

static size_t
select_least(const struct sl_conf *conf, const struct sl_route_view *v,
    uint32_t *out, size_t cap)
{
	uint64_t	load[SL_MAX_LINKS];
	size_t		i, j, n = conf->nlinks;

	for (i = 0; i < n; i++)
		load[i] = shm_link_active(v->shm, v->nworkers,
		    (uint32_t)conf->nlinks, (uint32_t)i);
	/* Insertion sort: link tables are small and this keeps it stable. */
	for (i = 0; i < n; i++) {
		uint32_t cur = (uint32_t)i;

		for (j = i; j > 0 && load[out[j - 1]] > load[cur]; j--)
			out[j] = out[j - 1];
		out[j] = cur;
	}
	return n < cap ? n : cap;
}

size_t
policy_select(const struct sl_conf *conf, const struct sl_route_req *req,
    const struct sl_route_view *v, uint32_t *out, size_t cap,
    const char **why)
{
	struct sl_shm_hdr	*h = v->shm;
	size_t			 n = conf->nlinks;

	(void)req;
	*why = NULL;
	if (n == 0 || cap == 0) {
		*why = "no link configured";
		return 0;
	}
	switch (conf->strategy) {
	case SL_STRAT_FAILOVER:
		return select_rotate(n, 0, out, cap);
	case SL_STRAT_RANDOM:
		return select_rotate(n, v->rnd, out, cap);
	case SL_STRAT_LEAST_CONN:
		if (cap < n)
			return select_rotate(n, 0, out, cap);
		return select_least(conf, v, out, cap);
	case SL_STRAT_ROUND_ROBIN:
	case SL_STRAT_FASTEST:
	default:
		return select_rotate(n, atomic_fetch_add_explicit(&h->rr_next,
		    1, memory_order_relaxed), out, cap);
	}
}
