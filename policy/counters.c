/*
 * Accessors for the shared counters region (layout in counters.h).
 *
 * Callers pass the shape from their own configuration; nothing read from
 * the region decides an offset.  Values read are clamped before they are
 * summed so a scribbling worker cannot overflow a reader.
 */
#include <sys/random.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"

#define SL_CTR_CLAMP	(UINT64_C(1) << 48)
/* Rows of worker and link counters: the workers', then the carried one. */
#define SL_ROWS(nworkers)	((size_t)(nworkers) + 1)

const uint32_t sl_connect_bounds_ms[SL_CONNECT_BUCKETS] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

const char *const sl_ferr_names[SL_FERR_MAX] = {
	[SL_FERR_TIMEOUT] = "handshake_timeout",
	[SL_FERR_BAD_REQUEST] = "bad_request",
	[SL_FERR_AUTH] = "auth_failed",
	[SL_FERR_REFUSED] = "refused",
	[SL_FERR_NO_SERVICE] = "no_service",
	[SL_FERR_NOT_ALLOWED] = "not_allowed",
	[SL_FERR_UNREACHABLE] = "unreachable",
	[SL_FERR_CONN_REFUSED] = "connection_refused",
	[SL_FERR_CONN_TIMEOUT] = "connect_timeout",
	[SL_FERR_UPSTREAM] = "upstream_failed",
	[SL_FERR_CLIENT] = "client_error",
	[SL_FERR_OTHER] = "other",
	[SL_FERR_LIMIT] = "limit",
};

size_t
shm_size(uint32_t nworkers, uint32_t nlinks)
{
	return sizeof(struct sl_shm_hdr) +
	    SL_ROWS(nworkers) * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health) +
	    SL_ROWS(nworkers) * nlinks * sizeof(struct sl_link_ctr) +
	    SL_ROUTE_SLOTS * sizeof(struct sl_route_slot) +
	    sizeof(struct sl_limits_hdr) +
	    (size_t)nworkers * sizeof(struct sl_limit_row) +
	    lim_table_size(nworkers);
}

static struct sl_limits_hdr *
shm_limits_hdr(void *base, uint32_t nworkers, uint32_t nlinks)
{
	return (void *)((char *)shm_routes(base, nworkers, nlinks) +
	    SL_ROUTE_SLOTS * sizeof(struct sl_route_slot));
}

void
shm_limits(void *base, uint32_t nworkers, uint32_t nlinks,
    struct sl_limits_area *a)
{
	struct sl_limits_hdr	*h = shm_limits_hdr(base, nworkers, nlinks);
	char			*p = (char *)h;

	a->sipkey = h->sipkey;
	a->bw = h->bw;
	p += sizeof(*h);
	a->rows = (void *)p;
	p += (size_t)nworkers * sizeof(struct sl_limit_row);
	lim_table_init(&a->table, p, nworkers);
}

/*
 * The per-client table's key: unknown to clients, so that nobody can aim
 * addresses at one probe window.  getrandom cannot fail for 16 bytes
 * once the pool is ready; should it, the clock and pid still differ per
 * start.
 */
static void
shm_sipkey(uint64_t key[2])
{
	struct timespec	ts;

	if (getrandom(key, 2 * sizeof(key[0]), 0) ==
	    (ssize_t)(2 * sizeof(key[0])))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
	    (uint64_t)ts.tv_sec;
	key[1] = (uint64_t)getpid() * 0xc2b2ae3d27d4eb4full ^ key[0];
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
	shm_sipkey(shm_limits_hdr(base, nworkers, nlinks)->sipkey);
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
	    SL_ROWS(nworkers) * sizeof(struct sl_worker_ctr));
	return &rows[link];
}

struct sl_link_ctr *
shm_ctr(void *base, uint32_t nworkers, uint32_t nlinks, uint32_t worker,
    uint32_t link)
{
	struct sl_link_ctr *rows;

	rows = (void *)((char *)base + sizeof(struct sl_shm_hdr) +
	    SL_ROWS(nworkers) * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health));
	return &rows[(size_t)worker * nlinks + link];
}

struct sl_route_slot *
shm_routes(void *base, uint32_t nworkers, uint32_t nlinks)
{
	return (void *)((char *)base + sizeof(struct sl_shm_hdr) +
	    SL_ROWS(nworkers) * sizeof(struct sl_worker_ctr) +
	    (size_t)nlinks * sizeof(struct sl_link_health) +
	    SL_ROWS(nworkers) * nlinks * sizeof(struct sl_link_ctr));
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
	uint32_t		 w, b;

	memset(t, 0, sizeof(*t));
	for (w = 0; w < SL_ROWS(nworkers); w++) {
		c = shm_ctr(base, nworkers, nlinks, w, link);
		t->active += ctr_load(&c->active, SL_CTR_CLAMP);
		t->opened += ctr_load(&c->opened, SL_CTR_CLAMP);
		t->failed += ctr_load(&c->failed, SL_CTR_CLAMP);
		t->bytes_up += ctr_load(&c->bytes_up, SL_CTR_CLAMP);
		t->bytes_down += ctr_load(&c->bytes_down, SL_CTR_CLAMP);
		t->connects += ctr_load(&c->connects, SL_CTR_CLAMP);
		t->connect_ms_sum += ctr_load(&c->connect_ms_sum,
		    SL_CTR_CLAMP);
		for (b = 0; b < SL_CONNECT_BUCKETS; b++)
			t->connect_hist[b] += ctr_load(&c->connect_hist[b],
			    SL_CTR_CLAMP);
	}
}

void
shm_listener_totals(void *base, uint32_t nworkers, uint32_t listener,
    struct sl_listener_totals *t)
{
	struct sl_listener_ctr	*c;
	uint32_t		 w, e;

	memset(t, 0, sizeof(*t));
	if (listener >= SL_MAX_LISTENERS)
		return;
	for (w = 0; w < SL_ROWS(nworkers); w++) {
		c = &shm_worker(base, w)->listeners[listener];
		t->active += ctr_load(&c->active, SL_CTR_CLAMP);
		t->opened += ctr_load(&c->opened, SL_CTR_CLAMP);
		for (e = 0; e < SL_FERR_MAX; e++)
			t->errors[e] += ctr_load(&c->errors[e], SL_CTR_CLAMP);
	}
}

void
shm_connect_time(struct sl_link_ctr *c, uint64_t ms)
{
	uint32_t	b;

	atomic_fetch_add_explicit(&c->connects, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->connect_ms_sum, ms,
	    memory_order_relaxed);
	for (b = 0; b < SL_CONNECT_BUCKETS; b++)
		if (ms <= sl_connect_bounds_ms[b]) {
			atomic_fetch_add_explicit(&c->connect_hist[b], 1,
			    memory_order_relaxed);
			break;
		}
}

struct sl_global_ctr *
shm_global(void *base)
{
	return &((struct sl_shm_hdr *)base)->global;
}

struct sl_resolver_ctr *
shm_resolver(void *base)
{
	return &((struct sl_shm_hdr *)base)->resolver;
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
	struct sl_limits_area	a;
	struct sl_limit_row	*row;
	uint32_t		l;

	if (worker < nworkers) {
		shm_limits(base, nworkers, nlinks, &a);
		row = &a.rows[worker];
		for (l = 0; l < SL_LIMIT_SCOPES; l++) {
			atomic_store(&row->sessions[l], 0);
			atomic_store(&row->udp_flows[l], 0);
		}
		lim_reset_col(&a.table, worker);
	}
	atomic_store(&shm_worker(base, worker)->sessions, 0);
	atomic_store(&shm_worker(base, worker)->handshakes, 0);
	for (l = 0; l < SL_MAX_LISTENERS; l++)
		atomic_store(&shm_worker(base, worker)->listeners[l].active, 0);
	for (l = 0; l < nlinks; l++)
		atomic_store(&shm_ctr(base, nworkers, nlinks, worker,
		    l)->active, 0);
}
