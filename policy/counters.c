/*
 * Accessors for the shared counters region (layout in counters.h).
 *
 * Callers pass the shape from their own configuration; nothing read from
 * the region decides an offset.  Values read are clamped before they are
 * summed so a scribbling worker cannot overflow a reader.
 */
#include <string.h>

#include "counters.h"

#define SL_CTR_CLAMP	(UINT64_C(1) << 48)

size_t
shm_size(uint32_t nworkers, uint32_t nlinks)
{
	return sizeof(struct sl_shm_hdr) +
	    (size_t)nworkers * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health) +
	    (size_t)nworkers * nlinks * sizeof(struct sl_link_ctr) +
	    SL_ROUTE_SLOTS * sizeof(struct sl_route_slot);
}

void
shm_init(void *base, uint32_t nworkers, uint32_t nlinks)
{
	struct sl_shm_hdr *h = base;

	memset(base, 0, shm_size(nworkers, nlinks));
	h->magic = SL_SHM_MAGIC;
	h->version = SL_SHM_VERSION;
	h->nworkers = nworkers;
	h->nlinks = nlinks;
}

int
shm_check(const void *base, size_t size, uint32_t nworkers, uint32_t nlinks)
{
	const struct sl_shm_hdr *h = base;

	if (base == NULL || size < shm_size(nworkers, nlinks))
		return -1;
	if (h->magic != SL_SHM_MAGIC || h->version != SL_SHM_VERSION ||
	    h->nworkers != nworkers || h->nlinks != nlinks)
		return -1;
	return 0;
}

struct sl_worker_ctr *
shm_worker(void *base, uint32_t worker)
{
	struct sl_worker_ctr *rows;

	rows = (void *)((char *)base + sizeof(struct sl_shm_hdr));
	return &rows[worker];
}

struct sl_link_health *
shm_health(void *base, uint32_t nworkers, uint32_t link)
{
	struct sl_link_health *rows;

	rows = (void *)((char *)base + sizeof(struct sl_shm_hdr) +
	    (size_t)nworkers * sizeof(struct sl_worker_ctr));
	return &rows[link];
}

struct sl_link_ctr *
shm_ctr(void *base, uint32_t nworkers, uint32_t nlinks, uint32_t worker,
    uint32_t link)
{
	struct sl_link_ctr *rows;

	rows = (void *)((char *)base + sizeof(struct sl_shm_hdr) +
	    (size_t)nworkers * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health));
	return &rows[(size_t)worker * nlinks + link];
}

struct sl_route_slot *
shm_routes(void *base, uint32_t nworkers, uint32_t nlinks)
{
	return (void *)((char *)base + sizeof(struct sl_shm_hdr) +
	    (size_t)nworkers * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health) +
	    (size_t)nworkers * nlinks * sizeof(struct sl_link_ctr));
}

static uint64_t
ctr_load(_Atomic uint64_t *v, uint64_t clamp)
{
	uint64_t x = atomic_load_explicit(v, memory_order_relaxed);

	return x > clamp ? clamp : x;
}

void
shm_link_totals(void *base, uint32_t nworkers, uint32_t nlinks,
    uint32_t link, struct sl_link_totals *t)
{
	struct sl_link_ctr	*c;
	uint32_t		 w;

	memset(t, 0, sizeof(*t));
	for (w = 0; w < nworkers; w++) {
		c = shm_ctr(base, nworkers, nlinks, w, link);
		t->active += ctr_load(&c->active, SL_CTR_CLAMP);
		t->opened += ctr_load(&c->opened, SL_CTR_CLAMP);
		t->failed += ctr_load(&c->failed, SL_CTR_CLAMP);
		t->bytes_up += ctr_load(&c->bytes_up, SL_CTR_CLAMP);
		t->bytes_down += ctr_load(&c->bytes_down, SL_CTR_CLAMP);
	}
}

uint64_t
shm_link_active(void *base, uint32_t nworkers, uint32_t nlinks,
    uint32_t link)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < nworkers; w++)
		sum += ctr_load(&shm_ctr(base, nworkers, nlinks, w,
		    link)->active, SL_CTR_CLAMP);
	return sum;
}

uint64_t
shm_sessions(void *base, uint32_t nworkers, uint64_t clamp)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < nworkers; w++)
		sum += ctr_load(&shm_worker(base, w)->sessions, clamp);
	return sum;
}

uint64_t
shm_handshakes(void *base, uint32_t nworkers, uint64_t clamp)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < nworkers; w++)
		sum += ctr_load(&shm_worker(base, w)->handshakes, clamp);
	return sum;
}

void
shm_worker_reset(void *base, uint32_t nworkers, uint32_t nlinks,
    uint32_t worker)
{
	uint32_t	l;

	atomic_store(&shm_worker(base, worker)->sessions, 0);
	atomic_store(&shm_worker(base, worker)->handshakes, 0);
	for (l = 0; l < nlinks; l++)
		atomic_store(&shm_ctr(base, nworkers, nlinks, worker,
		    l)->active, 0);
}
