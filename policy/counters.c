/*
 * Accessors for the shared counters region (layout in counters.h).
 *
 * Callers pass the shape from their own configuration; nothing read from
 * the region decides an offset.  Values read are clamped before they are
 * summed so a scribbling worker cannot overflow a reader.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"

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

/* The parts' fixed heads; variable arrays follow each (counters.h). */
struct part_master {
	struct sl_shm_part_hdr	hdr;
	struct sl_global_ctr	global;
	struct {
		uint64_t	sipkey[2];
	} __attribute__((aligned(SL_CACHELINE))) key;
	struct sl_worker_ctr	carried;	/* then nlinks link rows */
};

struct part_resolver {
	struct sl_shm_part_hdr	hdr;
	struct sl_resolver_ctr	ctr;
};

struct part_shared {
	struct sl_shm_part_hdr	hdr;
	struct {
		_Atomic uint64_t rr_next;
	} __attribute__((aligned(SL_CACHELINE))) rr;
	struct sl_limit_bw	bw[SL_LIMIT_SCOPES];
	/* then the per-client table's entries */
};

/*
 * Then nlinks link counter rows, nlinks health rows, the route cache
 * and the worker's column of per-client counts.
 */
struct part_worker {
	struct sl_shm_part_hdr	hdr;
	struct sl_worker_ctr	ctr;
	struct sl_limit_row	lim;
};

size_t
shm_part_size(enum sl_shm_part part, uint32_t nworkers, uint32_t nlinks)
{
	switch (part) {
	case SL_SHM_MASTER:
		return sizeof(struct part_master) +
		    (size_t)nlinks * sizeof(struct sl_link_ctr);
	case SL_SHM_RESOLVER:
		return sizeof(struct part_resolver);
	case SL_SHM_SHARED:
		return sizeof(struct part_shared) + lim_table_size();
	case SL_SHM_WORKER:
		return sizeof(struct part_worker) +
		    (size_t)nlinks * (sizeof(struct sl_link_ctr) +
		    sizeof(struct sl_link_health)) +
		    SL_ROUTE_SLOTS * sizeof(struct sl_route_slot) +
		    lim_col_size();
	}
	return 0;
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
shm_part_init(void *base, enum sl_shm_part part, uint32_t slot,
    uint32_t nworkers, uint32_t nlinks)
{
	struct sl_shm_part_hdr *h = base;

	memset(base, 0, shm_part_size(part, nworkers, nlinks));
	h->magic = SL_SHM_MAGIC;
	h->version = SL_SHM_VERSION;
	h->part = part;
	h->slot = part == SL_SHM_WORKER ? slot : 0;
	h->nworkers = nworkers;
	h->nlinks = nlinks;
	if (part == SL_SHM_MASTER)
		shm_sipkey(((struct part_master *)base)->key.sipkey);
}

void
shm_view_init(struct sl_shm *sh, uint32_t nworkers, uint32_t nlinks,
    int self)
{
	memset(sh, 0, sizeof(*sh));
	sh->nworkers = nworkers;
	sh->nlinks = nlinks;
	sh->self = self;
	lim_table_init(&sh->limits.table, NULL, nworkers);
}

int
shm_attach(struct sl_shm *sh, enum sl_shm_part part, uint32_t slot,
    void *base, size_t size)
{
	const struct sl_shm_part_hdr *h = base;
	struct part_master	*pm;
	struct part_shared	*ps;
	struct part_worker	*pw;
	struct sl_shm_row	*r;
	char			*p;
	size_t			 i;

	if (part < SL_SHM_MASTER || part > SL_SHM_WORKER ||
	    (part == SL_SHM_WORKER && slot >= sh->nworkers) || base == NULL ||
	    size < shm_part_size(part, sh->nworkers, sh->nlinks))
		return -1;
	/*
	 * Only the master's part has a header no child can write: the
	 * others' could have been scribbled by an earlier process, and a
	 * check of them would keep every respawn from starting.  Which part
	 * an fd is comes from the master's message; sizes from our config.
	 */
	if (part == SL_SHM_MASTER && (h->magic != SL_SHM_MAGIC ||
	    h->version != SL_SHM_VERSION || h->part != part || h->slot != 0 ||
	    h->nworkers != sh->nworkers || h->nlinks != sh->nlinks))
		return -1;
	i = SL_SHM_MAP_INDEX(part, slot);
	if (sh->map[i].base != NULL)
		return -1;
	sh->map[i].base = base;
	sh->map[i].size = size;
	switch (part) {
	case SL_SHM_MASTER:
		pm = base;
		sh->global = &pm->global;
		sh->limits.sipkey = pm->key.sipkey;
		sh->rows[sh->nworkers].ctr = &pm->carried;
		sh->rows[sh->nworkers].links = (void *)(pm + 1);
		break;
	case SL_SHM_RESOLVER:
		sh->resolver = &((struct part_resolver *)base)->ctr;
		break;
	case SL_SHM_SHARED:
		ps = base;
		sh->rr_next = &ps->rr.rr_next;
		sh->limits.bw = ps->bw;
		sh->limits.table.base = (void *)(ps + 1);
		break;
	case SL_SHM_WORKER:
		pw = base;
		r = &sh->rows[slot];
		r->ctr = &pw->ctr;
		r->lim = &pw->lim;
		p = (char *)(pw + 1);
		r->links = (void *)p;
		p += (size_t)sh->nlinks * sizeof(struct sl_link_ctr);
		r->health = (void *)p;
		p += (size_t)sh->nlinks * sizeof(struct sl_link_health);
		r->routes = (void *)p;
		p += SL_ROUTE_SLOTS * sizeof(struct sl_route_slot);
		r->clients = (void *)p;
		lim_table_set_col(&sh->limits.table, slot, r->clients);
		break;
	}
	return 0;
}

int
shm_view_complete(const struct sl_shm *sh)
{
	size_t	i;

	for (i = 0; i < 3 + (size_t)sh->nworkers; i++)
		if (sh->map[i].base == NULL)
			return -1;
	return 0;
}

struct sl_shm *
shm_alloc(uint32_t nworkers, uint32_t nlinks)
{
	struct sl_shm	*sh;
	enum sl_shm_part part;
	uint32_t	 slot, n;
	size_t		 size;
	void		*p;

	if (nworkers == 0 || nworkers > SL_MAX_WORKERS ||
	    (sh = malloc(sizeof(*sh))) == NULL)
		return NULL;
	shm_view_init(sh, nworkers, nlinks, -1);
	for (part = SL_SHM_MASTER; part <= SL_SHM_WORKER; part++) {
		n = part == SL_SHM_WORKER ? nworkers : 1;
		for (slot = 0; slot < n; slot++) {
			size = shm_part_size(part, nworkers, nlinks);
			p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				shm_free(sh);
				return NULL;
			}
			shm_part_init(p, part, slot, nworkers, nlinks);
			if (shm_attach(sh, part, slot, p, size) == -1) {
				munmap(p, size);
				shm_free(sh);
				return NULL;
			}
		}
	}
	return sh;
}

void
shm_free(struct sl_shm *sh)
{
	size_t	i;

	if (sh == NULL)
		return;
	for (i = 0; i < SL_SHM_MAPS; i++)
		if (sh->map[i].base != NULL)
			munmap(sh->map[i].base, sh->map[i].size);
	free(sh);
}

struct sl_worker_ctr *
shm_worker(const struct sl_shm *sh, uint32_t worker)
{
	return sh->rows[worker].ctr;
}

struct sl_link_health *
shm_health(const struct sl_shm *sh, uint32_t worker, uint32_t link)
{
	return &sh->rows[worker].health[link];
}

static uint64_t
ms_load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

uint64_t
shm_health_last_ok(const struct sl_shm *sh, uint32_t link, uint64_t now_ms)
{
	uint64_t	last = 0, ok;
	uint32_t	w;

	for (w = 0; w < sh->nworkers; w++) {
		ok = ms_load(&shm_health(sh, w, link)->ok_ms);
		/* One from the future is a scribble. */
		if (ok <= now_ms && ok > last)
			last = ok;
	}
	return last;
}

uint32_t
shm_health_streak(struct sl_link_health *h, uint64_t last_ok, uint64_t now_ms)
{
	uint32_t	f = atomic_load_explicit(&h->fails,
			    memory_order_relaxed);
	uint64_t	since = ms_load(&h->streak_ms);

	if (f == 0 || since < last_ok || since > now_ms)
		return 0;
	return f > UINT16_MAX ? UINT16_MAX : f;
}

/*
 * Another worker's row: its cool-down and its check are hints (see
 * counters.h); its failures count with everyone's.  Self's row (or,
 * for self -1, every row) is what the worker acts on.
 */
void
shm_health_read(const struct sl_shm *sh, uint32_t link, int self,
    uint64_t now_ms, uint64_t cooldown_ms, struct sl_health *out)
{
	struct sl_link_health	*h;
	uint64_t		 last_ok = shm_health_last_ok(sh, link, now_ms);
	uint64_t		 until, sum = 0, n = 0, avg;
	uint32_t		 w, streak, check;
	int			 own, cooling, own_verdict = 0;

	memset(out, 0, sizeof(*out));
	for (w = 0; w < sh->nworkers; w++) {
		h = shm_health(sh, w, link);
		own = self < 0 || (uint32_t)self == w;
		streak = shm_health_streak(h, last_ok, now_ms);
		out->fails += streak;
		until = ms_load(&h->down_until_ms);
		if (until > now_ms + cooldown_ms)
			until = now_ms + cooldown_ms;
		cooling = streak > 0 && until > now_ms;
		check = atomic_load_explicit(&h->check, memory_order_relaxed);
		if (cooling && until > out->until_ms)
			out->until_ms = until;
		if (own) {
			out->cooling |= cooling;
			out->check_down |= check == SL_CHECK_DOWN;
			own_verdict |= check == SL_CHECK_UP ||
			    check == SL_CHECK_DOWN;
		} else {
			out->others_cooling |= cooling;
			out->others_check |= check == SL_CHECK_DOWN;
		}
		avg = ms_load(&h->connect_ms_avg);
		if (own && avg > 0 && avg <= SL_HEALTH_MS_MAX) {
			sum += avg;
			n++;
		}
	}
	if (own_verdict)
		out->others_check = 0;
	out->connect_ms = n > 0 ? sum / n : 0;
}

struct sl_link_ctr *
shm_ctr(const struct sl_shm *sh, uint32_t worker, uint32_t link)
{
	return &sh->rows[worker].links[link];
}

void
shm_link_totals(const struct sl_shm *sh, uint32_t link,
    struct sl_link_totals *t)
{
	struct sl_link_ctr	*c;
	uint32_t		 w, b;

	memset(t, 0, sizeof(*t));
	for (w = 0; w < SL_ROWS(sh->nworkers); w++) {
		c = shm_ctr(sh, w, link);
		t->active += shm_ctr_load(&c->active, SL_CTR_CLAMP);
		t->opened += shm_ctr_load(&c->opened, SL_CTR_CLAMP);
		t->failed += shm_ctr_load(&c->failed, SL_CTR_CLAMP);
		t->bytes_up += shm_ctr_load(&c->bytes_up, SL_CTR_CLAMP);
		t->bytes_down += shm_ctr_load(&c->bytes_down, SL_CTR_CLAMP);
		t->connects += shm_ctr_load(&c->connects, SL_CTR_CLAMP);
		t->connect_ms_sum += shm_ctr_load(&c->connect_ms_sum,
		    SL_CTR_CLAMP);
		for (b = 0; b < SL_CONNECT_BUCKETS; b++)
			t->connect_hist[b] += shm_ctr_load(&c->connect_hist[b],
			    SL_CTR_CLAMP);
	}
}

void
shm_listener_totals(const struct sl_shm *sh, uint32_t listener,
    struct sl_listener_totals *t)
{
	struct sl_listener_ctr	*c;
	uint32_t		 w, e;

	memset(t, 0, sizeof(*t));
	if (listener >= SL_MAX_LISTENERS)
		return;
	for (w = 0; w < SL_ROWS(sh->nworkers); w++) {
		c = &shm_worker(sh, w)->listeners[listener];
		t->active += shm_ctr_load(&c->active, SL_CTR_CLAMP);
		t->opened += shm_ctr_load(&c->opened, SL_CTR_CLAMP);
		for (e = 0; e < SL_FERR_MAX; e++)
			t->errors[e] += shm_ctr_load(&c->errors[e], SL_CTR_CLAMP);
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

uint64_t
shm_link_active(const struct sl_shm *sh, uint32_t link)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < sh->nworkers; w++)
		sum += shm_ctr_load(&shm_ctr(sh, w, link)->active, SL_CTR_CLAMP);
	return sum;
}

uint64_t
shm_sessions(const struct sl_shm *sh, uint64_t clamp)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < sh->nworkers; w++)
		sum += shm_ctr_load(&shm_worker(sh, w)->sessions, clamp);
	return sum;
}

uint64_t
shm_handshakes(const struct sl_shm *sh, uint64_t clamp)
{
	uint64_t	sum = 0;
	uint32_t	w;

	for (w = 0; w < sh->nworkers; w++)
		sum += shm_ctr_load(&shm_worker(sh, w)->handshakes, clamp);
	return sum;
}

void
shm_worker_reset(const struct sl_shm *sh, uint32_t worker)
{
	struct sl_worker_ctr	*row = shm_worker(sh, worker);
	struct sl_limit_row	*lim = sh->rows[worker].lim;
	uint32_t		 l;

	if (worker < sh->nworkers) {
		for (l = 0; l < SL_LIMIT_SCOPES; l++) {
			atomic_store(&lim->sessions[l], 0);
			atomic_store(&lim->udp_flows[l], 0);
		}
		lim_reset_col(&sh->limits.table, worker);
	}

	atomic_store(&row->sessions, 0);
	atomic_store(&row->handshakes, 0);
	for (l = 0; l < SL_MAX_LISTENERS; l++)
		atomic_store(&row->listeners[l].active, 0);
	for (l = 0; l < sh->nlinks; l++)
		atomic_store(&shm_ctr(sh, worker, l)->active, 0);
}
