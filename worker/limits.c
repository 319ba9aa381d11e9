/*
 * Enforcing `limits` in the worker: see limits.h; the bucket and table
 * logic is policy/limits.c.
 *
 * Scopes: [0] the config (its tenant), [1 + i] listener i.  Concurrent
 * counts (max_sessions, max_udp_flows) are one row per worker in the
 * limits area: a worker adds to its own row first and then sums every
 * row, undoing its add when the sum is over, so workers admitting at the
 * same instant may both refuse but never both overshoot.  Per-client
 * counts work the same way on the client's entry in the shared table,
 * one column per worker.  Rows and columns of a worker that dies are
 * zeroed by the master (shm_worker_reset), so nothing it held leaks.
 *
 * The per-client table full around a client (every entry of its probe
 * window held by a client with sessions open or a bucket refilling):
 * that client is admitted without its per-client limits (fail open,
 * logged), while max_sessions still holds.  Failing closed would let
 * whoever fills the table with many addresses lock every newcomer out;
 * failing open lets the newcomer in, bounded by the scope's limits.
 * Clients already in the table stay limited either way: a full table
 * evicts nobody.
 *
 * Token buckets: new sessions per second per client hold one second's
 * worth (a client may open `rate` sessions at once, then `rate` a
 * second); bandwidth buckets hold a tenth of a second's worth (at least
 * LIM_BW_MIN_BURST bytes), so a transfer runs at the rate after its first
 * tenth of a second.  A direction out of tokens reserves its next read
 * (policy/limits.h lim_bucket_reserve) and sleeps until it is paid for,
 * so sessions sharing a scope's bucket take turns instead of the first
 * to wake taking every refill.
 *
 * Refusals are logged at most once a second per worker; the ones in
 * between are counted and their number logged when the second is over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "limits.h"
#include "relay/stream.h"
#include "worker.h"

#define LIM_HELD_ROOT		0x01	/* a session slot of the config */
#define LIM_HELD_LISTENER	0x02	/* a session slot of the listener */
#define LIM_BW_MIN_BURST	16384	/* bytes: one useful read */
#define LIM_LOG_MS		1000	/* one refusal line a second */
#define LIM_RETRIES		4	/* a client's entry changed hands */

static const char *const lim_names[] = {
	[LIM_OK] = "none",
	[LIM_MAX_SESSIONS] = "max_sessions",
	[LIM_PER_CLIENT] = "max_sessions_per_client",
	[LIM_RATE] = "new_sessions_per_second_per_client",
	[LIM_UDP_FLOWS] = "max_udp_flows",
};

/* A session's bandwidth: its own buckets, then its scopes' shared ones. */
struct lim_bucket {
	_Atomic uint64_t	*tat;		/* shared; NULL: own_tat */
	uint64_t		 own_tat;
	uint64_t		 rate, burst;
};

struct lim_relay {
	struct relay_limit	 rl;		/* first: the relay's view */
	struct lim_bucket	 b[2][3];	/* [dir][session, config,
						   listener] */
	size_t			 nb[2];
	uint64_t		 prepaid[2];	/* reserved, not yet read */
};

static struct {
	uint64_t		 last_log;
	uint64_t		 unlogged;	/* refusals since the last line */
	char			 why[160];	/* the last refusal's limit */
	ev_timer		 flush;		/* logs `unlogged` */
	uint64_t		 last_full_log;
} lim;

static struct sl_limits_area *
lim_area(void)
{
	return &wk->shm->limits;
}

/* Worker slot w's row of concurrent counts. */
static struct sl_limit_row *
lim_row(uint32_t w)
{
	return wk->shm->rows[w].lim;
}

static uint64_t
lim_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * LIM_NS + (uint64_t)ts.tv_nsec;
}

static uint32_t
lim_scope(const struct sl_listener *l)
{
	return 1 + (uint32_t)(l - wk->conf->listeners);
}

/* Sum of column `scope` of every worker's row, clamped per row. */
static uint64_t
lim_rows_sum(_Atomic uint64_t *(*col)(struct sl_limit_row *, uint32_t),
    uint32_t scope)
{
	uint64_t		 sum = 0, v;
	uint32_t		 w;

	for (w = 0; w < wk->nworkers; w++) {
		v = atomic_load_explicit(col(lim_row(w), scope),
		    memory_order_relaxed);
		sum += v > UINT32_MAX ? UINT32_MAX : v;
	}
	return sum;
}

static _Atomic uint64_t *
lim_sessions_col(struct sl_limit_row *r, uint32_t scope)
{
	return &r->sessions[scope];
}

static _Atomic uint64_t *
lim_udp_col(struct sl_limit_row *r, uint32_t scope)
{
	return &r->udp_flows[scope];
}

/* Take one of a scope's max (0: none): 1 taken, 0 over. */
static int
lim_slot_take(_Atomic uint64_t *(*col)(struct sl_limit_row *, uint32_t),
    uint32_t scope, uint32_t max)
{
	_Atomic uint64_t	*mine;

	mine = col(lim_row(wk->index), scope);
	atomic_fetch_add(mine, 1);
	if (max == 0 || lim_rows_sum(col, scope) <= max)
		return 1;
	atomic_fetch_sub(mine, 1);
	return 0;
}

static void
lim_slot_give(_Atomic uint64_t *(*col)(struct sl_limit_row *, uint32_t),
    uint32_t scope)
{
	atomic_fetch_sub(col(lim_row(wk->index), scope), 1);
}

/* The refusals the last second's line did not show, in one line. */
static void
lim_log_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (lim.unlogged == 0)
		return;
	log_warnx("limit %s reached: %llu more refused in the last second",
	    lim.why, (unsigned long long)lim.unlogged);
	lim.last_log = mono_ms();
	lim.unlogged = 0;
}

/*
 * One line a second per worker, whatever the rate of refusals: the
 * first names the client, the rest are counted and their number logged
 * when the second is over.
 */
static void
lim_log(const struct sl_listener *l, const struct sockaddr *client,
    const struct lim_hold *h)
{
	char		a[SL_ADDRSTRLEN];
	uint64_t	now = mono_ms();

	limits_why(l, h, lim.why, sizeof(lim.why));
	if (lim.last_log != 0 && now - lim.last_log < LIM_LOG_MS) {
		lim.unlogged++;
		if (!ev_is_active(&lim.flush)) {
			ev_timer_init(&lim.flush, lim_log_flush,
			    (LIM_LOG_MS - (now - lim.last_log)) / 1000.0, 0.0);
			ev_timer_start(wk->loop, &lim.flush);
		}
		return;
	}
	log_warnx("limit %s reached: refusing %s", lim.why,
	    sockaddr_fmt((const void *)client, a, sizeof(a)));
	lim.last_log = now;
}

/*
 * The client's count and token in one scope (0 config, 1 listener):
 * LIM_OK with the entry held in h->client[i], or the limit it is over.
 */
static enum lim_refusal
lim_client_take(const struct sl_limits *cl, uint32_t scope, int i,
    const struct sockaddr *client, struct lim_hold *h, uint64_t now)
{
	struct sl_limits_area	*a = lim_area();
	struct lim_entry	*e;
	_Atomic uint32_t	*col;
	uint64_t		 key, ms;
	int			 try;

	if (cl->max_sessions_per_client == 0 &&
	    cl->new_per_second_per_client == 0)
		return LIM_OK;
	key = lim_client_key(a->sipkey, scope, client);
	for (try = 0; try < LIM_RETRIES; try++) {
		if ((e = lim_lookup(&a->table, key, now, 1)) == NULL) {
			ms = mono_ms();
			if (ms - lim.last_full_log >= LIM_LOG_MS) {
				lim.last_full_log = ms;
				log_warnx("limits: per-client table full "
				    "(%u entries): admitting a client without "
				    "its per-client limits", LIM_SLOTS);
			}
			return LIM_OK;
		}
		col = lim_col(&a->table, e, wk->index);
		atomic_fetch_add(col, 1);
		/* Taken over between the lookup and the add: again. */
		if (atomic_load(&e->key) != key) {
			atomic_fetch_sub(col, 1);
			continue;
		}
		if (cl->max_sessions_per_client != 0 &&
		    lim_count(&a->table, e) > cl->max_sessions_per_client) {
			atomic_fetch_sub(col, 1);
			return LIM_PER_CLIENT;
		}
		if (cl->new_per_second_per_client != 0 &&
		    !lim_bucket_take(&e->tat, now,
		    cl->new_per_second_per_client,
		    cl->new_per_second_per_client, 1)) {
			atomic_fetch_sub(col, 1);
			return LIM_RATE;
		}
		h->client[i] = e;
		return LIM_OK;
	}
	return LIM_OK;	/* the table churns under us: fail open */
}

static void
lim_client_give(struct lim_hold *h, int i)
{
	if (h->client[i] == NULL)
		return;
	atomic_fetch_sub(lim_col(&lim_area()->table, h->client[i],
	    wk->index), 1);
	h->client[i] = NULL;
}

enum lim_refusal
limits_admit(const struct sl_listener *l, const struct sockaddr *client,
    struct lim_hold *h)
{
	const struct sl_limits	*root = &wk->conf->limits, *ll = &l->limits;
	uint64_t		 now;
	enum lim_refusal	 r = LIM_OK;

	memset(h, 0, sizeof(*h));
	if (l->kind == SL_LISTEN_METRICS)
		return LIM_OK;	/* the operator's, not a client's */
	if (!lim_slot_take(lim_sessions_col, 0, root->max_sessions)) {
		r = LIM_MAX_SESSIONS;
		goto refused;
	}
	h->scopes |= LIM_HELD_ROOT;
	h->listener_scope = 1;
	if (!lim_slot_take(lim_sessions_col, lim_scope(l), ll->max_sessions)) {
		r = LIM_MAX_SESSIONS;
		goto refused;
	}
	h->scopes |= LIM_HELD_LISTENER;
	now = lim_now();
	h->listener_scope = 0;
	if ((r = lim_client_take(root, 0, 0, client, h, now)) != LIM_OK)
		goto refused;
	h->listener_scope = 1;
	if ((r = lim_client_take(ll, lim_scope(l), 1, client, h, now)) !=
	    LIM_OK)
		goto refused;
	return LIM_OK;
refused:
	limits_release(l, h);
	h->refused = (uint8_t)r;
	lim_log(l, client, h);
	return r;
}

void
limits_release(const struct sl_listener *l, struct lim_hold *h)
{
	if (h->scopes & LIM_HELD_ROOT)
		lim_slot_give(lim_sessions_col, 0);
	if (h->scopes & LIM_HELD_LISTENER)
		lim_slot_give(lim_sessions_col, lim_scope(l));
	h->scopes = 0;
	if (h->udp)
		limits_udp_give(l);
	h->udp = 0;
	lim_client_give(h, 0);
	lim_client_give(h, 1);
	free(h->relay);		/* the relay was stopped before */
	h->relay = NULL;
}

const char *
limits_why(const struct sl_listener *l, const struct lim_hold *h, char *buf,
    size_t len)
{
	const struct sl_limits	*sl = h->listener_scope ? &l->limits :
	    &wk->conf->limits;
	uint32_t		 v = 0;

	switch (h->refused) {
	case LIM_MAX_SESSIONS:
		v = sl->max_sessions;
		break;
	case LIM_PER_CLIENT:
		v = sl->max_sessions_per_client;
		break;
	case LIM_RATE:
		v = sl->new_per_second_per_client;
		break;
	case LIM_UDP_FLOWS:
		v = sl->max_udp_flows;
		break;
	}
	if (h->listener_scope)
		snprintf(buf, len, "%s (%u) of listener %s",
		    lim_names[h->refused < LIM_UDP_FLOWS + 1 ? h->refused : 0],
		    v, l->name);
	else
		snprintf(buf, len, "%s (%u) of tenant %s",
		    lim_names[h->refused < LIM_UDP_FLOWS + 1 ? h->refused : 0],
		    v, wk->conf->tenant[0] != '\0' ? wk->conf->tenant :
		    "default");
	return buf;
}

int
limits_http_status(const struct lim_hold *h)
{
	return h->refused == LIM_PER_CLIENT || h->refused == LIM_RATE ?
	    429 : 503;
}

/* Bandwidth. */

static uint64_t
lim_bw_burst(uint64_t rate)
{
	uint64_t	b = rate / 10;

	return b > LIM_BW_MIN_BURST ? b : LIM_BW_MIN_BURST;
}

static void
lim_bucket_add(struct lim_relay *lr, int dir, _Atomic uint64_t *tat,
    uint32_t rate)
{
	struct lim_bucket	*b;

	if (rate == 0)
		return;
	b = &lr->b[dir][lr->nb[dir]++];
	b->tat = tat;
	b->own_tat = 0;
	b->rate = rate;
	b->burst = lim_bw_burst(rate);
}

static uint64_t
lim_bucket_tat(const struct lim_bucket *b)
{
	return b->tat != NULL ? atomic_load_explicit(b->tat,
	    memory_order_relaxed) : b->own_tat;
}

/*
 * Out of tokens: reserve n on every bucket, so that this direction reads
 * n bytes once all of them have refilled that far (*wait_ns), ahead of
 * whoever asks later.  0 when a shared bucket's queue is at its bound:
 * then nothing stays reserved and the direction just waits and asks
 * again.
 */
static int
lim_reserve(struct lim_relay *lr, int dir, uint64_t n, uint64_t now,
    uint64_t *wait_ns)
{
	struct lim_bucket	*b;
	uint64_t		 w, own[3];
	size_t			 i, j;

	*wait_ns = 0;
	for (i = 0; i < lr->nb[dir]; i++)
		own[i] = lr->b[dir][i].own_tat;
	for (i = 0; i < lr->nb[dir]; i++) {
		b = &lr->b[dir][i];
		if (b->tat != NULL ?
		    lim_bucket_reserve(b->tat, now, b->rate, b->burst, n, &w) :
		    lim_bucket_reserve_at(&b->own_tat, now, b->rate, b->burst,
		    n, &w)) {
			if (w > *wait_ns)
				*wait_ns = w;
			continue;
		}
		for (j = 0; j < i; j++) {
			b = &lr->b[dir][j];
			if (b->tat != NULL)
				lim_bucket_refund(b->tat, b->rate, n);
			else
				b->own_tat = own[j];	/* ours alone */
		}
		return 0;
	}
	lr->prepaid[dir] = n;
	return 1;
}

/*
 * As much of want as every bucket allows; none unless each has at least
 * a useful read (a quarter of its burst, or want) so a throttled
 * direction moves in few large reads, not many small ones.  Short of
 * that, the direction reserves its next read (lim_reserve) and sleeps
 * until it is paid for.
 */
static size_t
lim_allow(struct relay_limit *rl, int dir, size_t want, uint64_t *wait_ns)
{
	struct lim_relay	*lr = (struct lim_relay *)rl;
	struct lim_bucket	*b;
	uint64_t		 now, tat, avail, need, least = want, w;
	size_t			 i, grant = want;

	*wait_ns = 0;
	if (lr->prepaid[dir] > 0)
		return want < lr->prepaid[dir] ? want : lr->prepaid[dir];
	now = lim_now();
	for (i = 0; i < lr->nb[dir]; i++) {
		b = &lr->b[dir][i];
		tat = lim_bucket_tat(b);
		avail = lim_bucket_avail(tat, now, b->rate, b->burst);
		need = b->burst / 4 < want ? b->burst / 4 : want;
		if (need == 0)
			need = 1;
		if (need < least)
			least = need;
		if (avail < need) {
			w = lim_bucket_wait(tat, now, b->rate, b->burst, need);
			if (w > *wait_ns)
				*wait_ns = w;
			grant = 0;
		} else if (avail < grant)
			grant = (size_t)avail;
	}
	if (grant > 0)
		return grant;
	if (lim_reserve(lr, dir, least, now, &w)) {
		if (w == 0)
			return want < least ? want : (size_t)least;
		*wait_ns = w;
		return 0;
	}
	if (*wait_ns == 0)
		*wait_ns = 1000000;	/* raced to 0: look again in 1 ms */
	return 0;
}

static void
lim_used(struct relay_limit *rl, int dir, size_t n)
{
	struct lim_relay	*lr = (struct lim_relay *)rl;
	struct lim_bucket	*b;
	uint64_t		 now, paid;
	size_t			 i;

	paid = n < lr->prepaid[dir] ? n : lr->prepaid[dir];
	lr->prepaid[dir] -= paid;
	if ((n -= paid) == 0)
		return;
	now = lim_now();
	for (i = 0; i < lr->nb[dir]; i++) {
		b = &lr->b[dir][i];
		if (b->tat != NULL)
			lim_bucket_use(b->tat, now, b->rate, b->burst, n);
		else
			b->own_tat = lim_bucket_charge(b->own_tat, now,
			    b->rate, b->burst, n);
	}
}

int
limits_relay(const struct sl_listener *l, struct lim_hold *h,
    struct relay *r)
{
	const struct sl_limits	*root = &wk->conf->limits, *ll = &l->limits;
	struct sl_limit_bw	*bw = lim_area()->bw;
	struct lim_relay	*lr;
	uint32_t		 s = lim_scope(l);

	if (root->bw_up == 0 && root->bw_down == 0 &&
	    root->session_bw_up == 0 && root->session_bw_down == 0 &&
	    ll->bw_up == 0 && ll->bw_down == 0 &&
	    ll->session_bw_up == 0 && ll->session_bw_down == 0)
		return 0;
	if ((lr = calloc(1, sizeof(*lr))) == NULL) {
		log_warn("%s: bandwidth limits not applied", __func__);
		return -1;
	}
	lr->rl.allow = lim_allow;
	lr->rl.used = lim_used;
	/* A session limit on both the config and the listener: the lower. */
	lim_bucket_add(lr, 0, NULL, ll->session_bw_up != 0 &&
	    (root->session_bw_up == 0 ||
	    ll->session_bw_up < root->session_bw_up) ?
	    ll->session_bw_up : root->session_bw_up);
	lim_bucket_add(lr, 1, NULL, ll->session_bw_down != 0 &&
	    (root->session_bw_down == 0 ||
	    ll->session_bw_down < root->session_bw_down) ?
	    ll->session_bw_down : root->session_bw_down);
	lim_bucket_add(lr, 0, &bw[0].tat_up, root->bw_up);
	lim_bucket_add(lr, 1, &bw[0].tat_down, root->bw_down);
	lim_bucket_add(lr, 0, &bw[s].tat_up, ll->bw_up);
	lim_bucket_add(lr, 1, &bw[s].tat_down, ll->bw_down);
	h->relay = lr;
	relay_set_limit(r, &lr->rl);
	return 0;
}

/* UDP flows. */

/* One flow of the config's and the listener's; h says which is full. */
static int
lim_udp_take(const struct sl_listener *l, const struct sockaddr *client,
    struct lim_hold *h)
{
	if (!lim_slot_take(lim_udp_col, 0, wk->conf->limits.max_udp_flows)) {
		h->refused = LIM_UDP_FLOWS;
		h->listener_scope = 0;
		lim_log(l, client, h);
		return -1;
	}
	if (!lim_slot_take(lim_udp_col, lim_scope(l), l->limits.max_udp_flows)) {
		lim_slot_give(lim_udp_col, 0);
		h->refused = LIM_UDP_FLOWS;
		h->listener_scope = 1;
		lim_log(l, client, h);
		return -1;
	}
	return 0;
}

int
limits_udp_take(const struct sl_listener *l, const struct sockaddr *client)
{
	struct lim_hold	h;

	memset(&h, 0, sizeof(h));
	return lim_udp_take(l, client, &h);
}

int
limits_udp_hold(const struct sl_listener *l, const struct sockaddr *client,
    struct lim_hold *h)
{
	if (lim_udp_take(l, client, h) == -1)
		return -1;
	h->udp = 1;
	return 0;
}

void
limits_udp_give(const struct sl_listener *l)
{
	lim_slot_give(lim_udp_col, 0);
	lim_slot_give(lim_udp_col, lim_scope(l));
}
