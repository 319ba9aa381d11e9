/*
 * Token buckets (GCRA) and the per-client table: see limits.h.
 *
 * Every value read from the table may have been written by a hostile
 * worker (the region is shared): a scribbled tat or count can only make
 * its own client's limit wrong, never an offset or a loop bound, and
 * sums and debts are clamped.
 */
#include <netinet/in.h>
#include <string.h>

#include "../common/siphash.h"
#include "limits.h"

#define LIM_COUNT_CLAMP		(UINT32_C(1) << 24)

/* Nanoseconds n tokens take at rate, rounded up. */
static uint64_t
lim_ns(uint64_t n, uint64_t rate)
{
	return (n / rate) * LIM_NS + ((n % rate) * LIM_NS + rate - 1) / rate;
}

uint64_t
lim_bucket_avail(uint64_t tat, uint64_t now, uint64_t rate, uint64_t burst)
{
	uint64_t	tau, base, d, avail;

	if (rate == 0)
		return burst;
	tau = lim_ns(burst, rate);
	base = tat > now ? tat : now;
	if (base - now >= tau)
		return 0;
	d = now + tau - base;
	avail = (d / LIM_NS) * rate + (d % LIM_NS) * rate / LIM_NS;
	return avail > burst ? burst : avail;
}

uint64_t
lim_bucket_charge(uint64_t tat, uint64_t now, uint64_t rate, uint64_t burst,
    uint64_t n)
{
	uint64_t	base, cap;

	if (rate == 0)
		return tat;
	base = tat > now ? tat : now;
	cap = now + lim_ns(burst, rate) + LIM_MAX_DEBT_NS;
	if (base >= cap)
		return cap;
	base += lim_ns(n, rate);
	return base > cap ? cap : base;
}

uint64_t
lim_bucket_wait(uint64_t tat, uint64_t now, uint64_t rate, uint64_t burst,
    uint64_t need)
{
	uint64_t	tau, at;

	if (rate == 0 || tat <= now)
		return 0;
	if (need > burst)
		need = burst;
	tau = lim_ns(burst, rate);
	/* A scribbled tat cannot make anyone wait longer than the debt cap. */
	if (tat - now > tau + LIM_MAX_DEBT_NS)
		tat = now + tau + LIM_MAX_DEBT_NS;
	at = tat + lim_ns(need, rate);
	if (at <= now + tau)
		return 0;
	return at - (now + tau);
}

int
lim_bucket_take(_Atomic uint64_t *tat, uint64_t now, uint64_t rate,
    uint64_t burst, uint64_t n)
{
	uint64_t	old, new;

	old = atomic_load_explicit(tat, memory_order_relaxed);
	do {
		if (lim_bucket_avail(old, now, rate, burst) < n)
			return 0;
		new = lim_bucket_charge(old, now, rate, burst, n);
	} while (!atomic_compare_exchange_weak_explicit(tat, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
	return 1;
}

void
lim_bucket_use(_Atomic uint64_t *tat, uint64_t now, uint64_t rate,
    uint64_t burst, uint64_t n)
{
	uint64_t	old, new;

	old = atomic_load_explicit(tat, memory_order_relaxed);
	do {
		new = lim_bucket_charge(old, now, rate, burst, n);
	} while (!atomic_compare_exchange_weak_explicit(tat, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
}

/* tat after reserving n at now, or 0 when that is past the debt bound. */
static uint64_t
lim_reserved(uint64_t tat, uint64_t now, uint64_t rate, uint64_t burst,
    uint64_t n, uint64_t *wait_ns)
{
	uint64_t	tau = lim_ns(burst, rate), base, new;

	base = tat > now ? tat : now;
	new = base + lim_ns(n, rate);
	if (rate == 0 || new > now + tau + LIM_MAX_DEBT_NS || new < base)
		return 0;
	*wait_ns = new > now + tau ? new - (now + tau) : 0;
	return new;
}

int
lim_bucket_reserve(_Atomic uint64_t *tat, uint64_t now, uint64_t rate,
    uint64_t burst, uint64_t n, uint64_t *wait_ns)
{
	uint64_t	old, new;

	old = atomic_load_explicit(tat, memory_order_relaxed);
	do {
		if ((new = lim_reserved(old, now, rate, burst, n,
		    wait_ns)) == 0)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(tat, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
	return 1;
}

int
lim_bucket_reserve_at(uint64_t *tat, uint64_t now, uint64_t rate,
    uint64_t burst, uint64_t n, uint64_t *wait_ns)
{
	uint64_t	new;

	if ((new = lim_reserved(*tat, now, rate, burst, n, wait_ns)) == 0)
		return 0;
	*tat = new;
	return 1;
}

void
lim_bucket_refund(_Atomic uint64_t *tat, uint64_t rate, uint64_t n)
{
	uint64_t	old, new, d;

	if (rate == 0)
		return;
	d = lim_ns(n, rate);
	old = atomic_load_explicit(tat, memory_order_relaxed);
	do {
		new = old > d ? old - d : 0;
	} while (!atomic_compare_exchange_weak_explicit(tat, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
}

size_t
lim_table_size(void)
{
	return LIM_SLOTS * sizeof(struct lim_entry);
}

size_t
lim_col_size(void)
{
	return LIM_SLOTS * sizeof(_Atomic uint32_t);
}

void
lim_table_init(struct lim_table *t, void *base, uint32_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->base = base;
	t->ncols = ncols > SL_MAX_WORKERS ? SL_MAX_WORKERS : ncols;
}

void
lim_table_set_col(struct lim_table *t, uint32_t col, _Atomic uint32_t *counts)
{
	if (col < t->ncols)
		t->cols[col] = counts;
}

static struct lim_entry *
lim_slot(const struct lim_table *t, uint64_t i)
{
	return &t->base[i & (LIM_SLOTS - 1)];
}

_Atomic uint32_t *
lim_col(const struct lim_table *t, struct lim_entry *e, uint32_t col)
{
	return &t->cols[col][e - t->base];
}

uint64_t
lim_count(const struct lim_table *t, struct lim_entry *e)
{
	uint64_t	sum = 0, v;
	uint32_t	c;

	for (c = 0; c < t->ncols; c++) {
		if (t->cols[c] == NULL)
			continue;
		v = atomic_load_explicit(lim_col(t, e, c),
		    memory_order_relaxed);
		sum += v > LIM_COUNT_CLAMP ? LIM_COUNT_CLAMP : v;
	}
	return sum;
}

/* Holds nothing and its bucket is full: its client can be forgotten. */
static int
lim_stale(const struct lim_table *t, struct lim_entry *e, uint64_t now)
{
	return lim_count(t, e) == 0 &&
	    atomic_load_explicit(&e->tat, memory_order_relaxed) <= now;
}

/*
 * Another worker may have claimed key in an earlier slot at the same
 * time: lookups take the first in probe order, so ours goes again if it
 * is still unused.
 */
static struct lim_entry *
lim_dedup(const struct lim_table *t, uint64_t key, uint64_t h, uint32_t j)
{
	struct lim_entry	*e = lim_slot(t, h + j), *first;
	uint64_t		 k = key;
	uint32_t		 i;

	for (i = 0; i < j; i++) {
		first = lim_slot(t, h + i);
		if (atomic_load_explicit(&first->key, memory_order_acquire) !=
		    key)
			continue;
		if (lim_count(t, e) == 0)
			atomic_compare_exchange_strong(&e->key, &k, 0);
		return first;
	}
	return e;
}

struct lim_entry *
lim_lookup(const struct lim_table *t, uint64_t key, uint64_t now, int claim)
{
	struct lim_entry	*e;
	uint64_t		 h = key, k;
	uint32_t		 i;

	for (i = 0; i < LIM_PROBE; i++) {
		e = lim_slot(t, h + i);
		if (atomic_load_explicit(&e->key, memory_order_acquire) == key)
			return e;
	}
	if (!claim)
		return NULL;
	for (i = 0; i < LIM_PROBE; i++) {
		e = lim_slot(t, h + i);
		k = atomic_load_explicit(&e->key, memory_order_acquire);
		if (k != 0 && !lim_stale(t, e, now))
			continue;
		if (atomic_compare_exchange_strong(&e->key, &k, key))
			return lim_dedup(t, key, h, i);
		if (k == key)
			return e;	/* someone claimed it for key */
	}
	return NULL;
}

void
lim_reset_col(const struct lim_table *t, uint32_t col)
{
	uint32_t	i;

	if (col >= t->ncols || t->cols[col] == NULL)
		return;
	for (i = 0; i < LIM_SLOTS; i++)
		atomic_store_explicit(&t->cols[col][i], 0,
		    memory_order_relaxed);
}

uint64_t
lim_client_key(const uint64_t sipkey[2], uint32_t scope,
    const struct sockaddr *sa)
{
	uint8_t		 buf[4 + 1 + 8];
	size_t		 len = 5;
	uint64_t	 h;

	memcpy(buf, &scope, 4);
	buf[4] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		memcpy(buf + len, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
		len += 4;
	} else if (sa->sa_family == AF_INET6) {
		/* The /64: one customer's network, however many hosts. */
		memcpy(buf + len, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, 8);
		len += 8;
	}
	h = siphash24(sipkey, buf, len);
	return h != 0 ? h : 1;
}
