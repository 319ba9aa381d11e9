/*
 * Carrying counters over a reload (master/carry.h).  Both regions are
 * hostile (every worker can write its own): values are read through the
 * clamping accessors of counters.c, indices come from the configs only.
 */
#include <string.h>

#include "carry.h"

void
carry_take(struct carry *c, const struct sl_shm *base,
    const struct sl_conf *conf)
{
	uint32_t	w;
	size_t		i;

	memset(c, 0, sizeof(*c));
	c->nlinks = conf->nlinks;
	c->nlisteners = conf->nlisteners;
	for (i = 0; i < c->nlinks; i++)
		shm_link_totals(base, (uint32_t)i, &c->links[i]);
	for (i = 0; i < c->nlisteners; i++)
		shm_listener_totals(base, (uint32_t)i,
		    &c->listeners[i]);
	/* The resolver's own counters: clamped like the rows' sums. */
	c->lookups = shm_ctr_load(&base->resolver->lookups, SL_CTR_CLAMP);
	c->cache_hits = shm_ctr_load(&base->resolver->cache_hits,
	    SL_CTR_CLAMP);
	c->failures = shm_ctr_load(&base->resolver->failures, SL_CTR_CLAMP);
	for (w = 0; w <= base->nworkers; w++)
		c->udp_dropped += shm_ctr_load(&shm_worker(base,
		    w)->udp_dropped, SL_CTR_CLAMP);
}

static int
link_by_name(const struct sl_conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nlinks; i++)
		if (strcmp(conf->links[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* a - b, never below 0 (a worker may have scribbled b larger). */
static uint64_t
delta(uint64_t a, const uint64_t *b)
{
	return b == NULL ? a : a > *b ? a - *b : 0;
}

#define DELTA(now, minus, field)	\
	delta((now)->field, (minus) != NULL ? &(minus)->field : NULL)

static void
carry_link(struct sl_link_ctr *d, const struct sl_link_totals *now,
    const struct sl_link_totals *minus)
{
	size_t	b;

	atomic_fetch_add(&d->opened, DELTA(now, minus, opened));
	atomic_fetch_add(&d->failed, DELTA(now, minus, failed));
	atomic_fetch_add(&d->bytes_up, DELTA(now, minus, bytes_up));
	atomic_fetch_add(&d->bytes_down, DELTA(now, minus, bytes_down));
	atomic_fetch_add(&d->connects, DELTA(now, minus, connects));
	atomic_fetch_add(&d->connect_ms_sum, DELTA(now, minus,
	    connect_ms_sum));
	for (b = 0; b < SL_CONNECT_BUCKETS; b++)
		atomic_fetch_add(&d->connect_hist[b], DELTA(now, minus,
		    connect_hist[b]));
}

static void
carry_listener(struct sl_listener_ctr *d, const struct sl_listener_totals *now,
    const struct sl_listener_totals *minus)
{
	size_t	e;

	atomic_fetch_add(&d->opened, DELTA(now, minus, opened));
	for (e = 0; e < SL_FERR_MAX; e++)
		atomic_fetch_add(&d->errors[e], DELTA(now, minus, errors[e]));
}

void
carry_add(const struct sl_shm *dst, const struct sl_conf *dconf,
    const struct sl_conf *src, const struct carry *now,
    const struct carry *minus)
{
	struct sl_worker_ctr	*row = shm_worker(dst,
				    SL_ROW_CARRIED(dst->nworkers));
	size_t			 i;
	int			 k;

	for (i = 0; i < now->nlinks && i < src->nlinks; i++) {
		if ((k = link_by_name(dconf, src->links[i].name)) < 0)
			continue;
		carry_link(shm_ctr(dst, SL_ROW_CARRIED(dst->nworkers),
		    (uint32_t)k), &now->links[i],
		    minus != NULL ? &minus->links[i] : NULL);
	}
	for (i = 0; i < now->nlisteners && i < src->nlisteners; i++) {
		if ((k = conf_listener_find(dconf, src->listeners[i].name)) < 0)
			continue;
		carry_listener(&row->listeners[k], &now->listeners[i],
		    minus != NULL ? &minus->listeners[i] : NULL);
	}
	atomic_fetch_add(&dst->resolver->lookups, DELTA(now, minus,
	    lookups));
	atomic_fetch_add(&dst->resolver->cache_hits, DELTA(now, minus,
	    cache_hits));
	atomic_fetch_add(&dst->resolver->failures, DELTA(now, minus,
	    failures));
	atomic_fetch_add(&row->udp_dropped, DELTA(now, minus, udp_dropped));
}

static void
carry_slot(const struct sl_shm *dst, const struct sl_conf *dconf,
    const struct sl_shm *src, const struct sl_conf *sconf, uint32_t w)
{
	struct sl_link_health	*d, *s;
	struct sl_route_slot	*dr, *sr;
	size_t			 i;
	uint32_t		 link;
	int			 k;

	for (i = 0; i < sconf->nlinks; i++) {
		if ((k = link_by_name(dconf, sconf->links[i].name)) < 0)
			continue;
		s = shm_health(src, w, (uint32_t)i);
		d = shm_health(dst, w, (uint32_t)k);
		atomic_store(&d->fails, atomic_load(&s->fails));
		atomic_store(&d->check, atomic_load(&s->check));
		atomic_store(&d->streak_ms, atomic_load(&s->streak_ms));
		atomic_store(&d->ok_ms, atomic_load(&s->ok_ms));
		atomic_store(&d->down_until_ms, atomic_load(&s->down_until_ms));
		atomic_store(&d->connect_ms_avg,
		    atomic_load(&s->connect_ms_avg));
	}
	sr = src->rows[w].routes;
	dr = dst->rows[w].routes;
	for (i = 0; i < SL_ROUTE_SLOTS; i++) {
		link = atomic_load(&sr[i].link);
		if (atomic_load(&sr[i].key) == 0 || link >= sconf->nlinks ||
		    (k = link_by_name(dconf, sconf->links[link].name)) < 0)
			continue;
		atomic_store(&dr[i].link, (uint32_t)k);
		atomic_store(&dr[i].expires_ms, atomic_load(&sr[i].expires_ms));
		atomic_store(&dr[i].key, atomic_load(&sr[i].key));
	}
}

/*
 * Each worker slot's health and route cache to the same slot of the
 * new region (slots beyond the smaller pool start afresh), links by
 * name; then the global counters.
 */
void
carry_state(const struct sl_shm *dst, const struct sl_conf *dconf,
    const struct sl_shm *src, const struct sl_conf *sconf)
{
	struct sl_global_ctr	*dg = dst->global, *sg = src->global;
	uint32_t		 w;

	for (w = 0; w < dst->nworkers && w < src->nworkers; w++)
		carry_slot(dst, dconf, src, sconf, w);
	atomic_store(&dg->reloads, atomic_load(&sg->reloads));
	atomic_store(&dg->reload_failures, atomic_load(&sg->reload_failures));
	atomic_store(&dg->worker_restarts, atomic_load(&sg->worker_restarts));
	atomic_store(&dg->started_unix, atomic_load(&sg->started_unix));
	atomic_store(&dg->reloaded_unix, atomic_load(&sg->reloaded_unix));
	atomic_store(&dg->generation, atomic_load(&sg->generation));
}
