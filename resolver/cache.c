/*
 * The resolver's name cache, in-flight merging and blacklist (cache.h).
 * No I/O and no clock of its own, so the unit tests drive it with a fake
 * one.
 *
 * The names come from clients: the table is keyed with SipHash under a
 * random key so that nobody can aim names at one chain.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/siphash.h"
#include "cache.h"

#define CACHE_MIN_BUCKETS	256
#define CACHE_MAX_BUCKETS	(1u << 22)

static uint64_t	 cache_hash(const struct cache *, const char *, size_t);
static void	 cache_grow(struct cache *);
static void	 lru_unlink(struct cache *, struct cache_entry *);
static void	 lru_push(struct cache *, struct cache_entry *);
static void	 cache_remove(struct cache *, struct cache_entry *);

static uint64_t
cache_hash(const struct cache *c, const char *s, size_t len)
{
	return siphash24(c->key, s, len);
}

/* ---- the table ---- */

void
cache_init(struct cache *c, const struct cache_params *p,
    const uint8_t key[16])
{
	memset(c, 0, sizeof(*c));
	c->p = *p;
	memcpy(c->key, key, sizeof(c->key));
	c->nbuckets = CACHE_MIN_BUCKETS;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL)
		fatal("%s: calloc", __func__);
	c->lru.next = c->lru.prev = &c->lru;
}

void
cache_free(struct cache *c)
{
	struct cache_entry	*e, *next;
	struct cache_waiter	*w, *wn;
	size_t			 i;

	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			for (w = e->waiters; w != NULL; w = wn) {
				wn = w->next;
				free(w);
			}
			free(e);
		}
	}
	free(c->buckets);
	memset(c, 0, sizeof(*c));
}

/* Double the buckets when chains average more than two entries. */
static void
cache_grow(struct cache *c)
{
	struct cache_entry	**nb, *e, *next;
	size_t			  n = c->nbuckets * 2, i;

	if (c->nentries <= c->nbuckets * 2 || n > CACHE_MAX_BUCKETS)
		return;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

static void
lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->next == NULL)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
	c->nkept--;
}

static void
lru_push(struct cache *c, struct cache_entry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
	c->nkept++;
}

/* Unhash, unlink and free e (no waiters may be left on it). */
static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	lru_unlink(c, e);
	c->nentries--;
	free(e);
}

static struct cache_entry *
cache_new(struct cache *c, const char *name, size_t len, uint64_t h)
{
	struct cache_entry	*e;

	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->name, name, len + 1);
	e->hash = h;
	e->state = CE_PENDING;
	e->wtail = &e->waiters;
	e->hnext = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = e;
	c->nentries++;
	cache_grow(c);
	return e;
}

/* An expired finished entry becomes a lookup in flight again. */
static void
cache_restart(struct cache *c, struct cache_entry *e)
{
	lru_unlink(c, e);
	e->state = CE_PENDING;
	e->naddrs = 0;
	e->ttl = 0;
	e->waiters = NULL;
	e->wtail = &e->waiters;
	e->nwaiters = 0;
	c->st.expired++;
}

struct cache_entry *
cache_get(struct cache *c, const char *name, double now, int *created)
{
	struct cache_entry	*e;
	size_t			 len = strlen(name);
	uint64_t		 h = cache_hash(c, name, len);

	*created = 0;
	for (e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->name, name) == 0)
			break;
	if (e == NULL) {
		c->st.misses++;
		if ((e = cache_new(c, name, len, h)) != NULL)
			*created = 1;
		return e;
	}
	if (e->state == CE_PENDING) {
		c->st.merged++;
		return e;
	}
	if (cache_ttl_left(e, now) == 0) {
		c->st.misses++;
		cache_restart(c, e);
		*created = 1;
		return e;
	}
	c->st.hits++;
	lru_unlink(c, e);
	lru_push(c, e);
	return e;
}

void
cache_wait(struct cache_entry *e, struct cache_waiter *w)
{
	w->next = NULL;
	*e->wtail = w;
	e->wtail = &w->next;
	e->nwaiters++;
}

uint32_t
cache_clamp_ttl(const struct cache_params *p, uint32_t ttl)
{
	if (ttl < p->min_ttl)
		ttl = p->min_ttl;
	if (ttl > p->max_ttl)
		ttl = p->max_ttl;	/* the ceiling wins a bad config */
	return ttl;
}

struct cache_waiter *
cache_finish(struct cache *c, struct cache_entry *e, enum cache_state st,
    const struct sl_res_addr *addrs, uint32_t naddrs, uint32_t ttl,
    double now)
{
	struct cache_waiter	*w = e->waiters;

	if (naddrs > SL_MAX_ADDRS)
		naddrs = SL_MAX_ADDRS;
	if (st == CE_POSITIVE && naddrs == 0)
		st = CE_FAILED;
	e->state = st;
	e->naddrs = st == CE_POSITIVE ? naddrs : 0;
	if (e->naddrs > 0)
		memcpy(e->addrs, addrs, naddrs * sizeof(*addrs));
	if (st == CE_POSITIVE)
		e->ttl = cache_clamp_ttl(&c->p, ttl);
	else if (st == CE_NEGATIVE)
		e->ttl = c->p.neg_ttl;
	else
		e->ttl = 0;
	e->expires = now + e->ttl;
	e->waiters = NULL;
	e->wtail = &e->waiters;
	e->nwaiters = 0;
	return w;
}

/*
 * Keep a finished entry as the newest, evicting the oldest beyond the
 * capacity; or free it when nothing is to be kept (no cache, a failure,
 * a TTL of zero).
 */
void
cache_settle(struct cache *c, struct cache_entry *e)
{
	if (c->p.capacity == 0 || e->state == CE_FAILED || e->ttl == 0) {
		cache_remove(c, e);
		return;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	while (c->nkept > c->p.capacity) {
		c->st.evictions++;
		cache_remove(c, c->lru.prev);
	}
}

void
cache_forget(struct cache *c, struct cache_entry *e)
{
	if (e->state != CE_PENDING)
		cache_remove(c, e);
}

uint32_t
cache_ttl_left(const struct cache_entry *e, double now)
{
	double		left = e->expires - now;
	uint32_t	s;

	if (e->state == CE_PENDING || left <= 0)
		return 0;
	if (left >= UINT32_MAX)
		return UINT32_MAX;
	s = (uint32_t)left;
	return s < left ? s + 1 : s;	/* round up, without libm */
}

/* ---- blacklist ---- */

/* a, or the IPv4 address an IPv4-mapped IPv6 address stands for. */
static struct sl_res_addr
bl_norm(const struct sl_res_addr *a)
{
	static const uint8_t	mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	struct sl_res_addr	n;

	memset(&n, 0, sizeof(n));
	if (a->family == 6 && memcmp(a->addr, mapped, 12) == 0) {
		n.family = 4;
		memcpy(n.addr, a->addr + 12, 4);
	} else {
		n.family = a->family == 6 ? 6 : 4;
		memcpy(n.addr, a->addr, n.family == 6 ? 16 : 4);
	}
	return n;
}

static unsigned
bl_hash(const struct sl_res_addr *a)
{
	uint32_t	h = 2166136261u;
	size_t		i, len = a->family == 6 ? 16 : 4;

	/* Learned addresses come from the probes, not from clients. */
	for (i = 0; i < len; i++)
		h = (h ^ a->addr[i]) * 16777619u;
	return (h ^ a->family) & (BL_BUCKETS - 1);
}

void
bl_init(struct blacklist *bl, const struct sl_cidr *cidrs, size_t n)
{
	memset(bl, 0, sizeof(*bl));
	bl->cidrs = cidrs;
	bl->ncidrs = n;
	memset(bl->head, 0xff, sizeof(bl->head));	/* -1: empty */
}

static int
bl_cidr_match(const struct sl_cidr *c, const struct sl_res_addr *a)
{
	unsigned	full, rest, len;

	if ((c->family == AF_INET) != (a->family == 4))
		return 0;
	len = a->family == 4 ? 32 : 128;
	if (c->prefix > len)
		return 0;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr, a->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ a->addr[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

static int
bl_learned_index(const struct blacklist *bl, const struct sl_res_addr *a)
{
	int	i;

	for (i = bl->head[bl_hash(a)]; i != -1; i = bl->hnext[i])
		if (bl->learned[i].family == a->family &&
		    memcmp(bl->learned[i].addr, a->addr, 16) == 0)
			return i;
	return -1;
}

int
bl_contains(const struct blacklist *bl, const struct sl_res_addr *a)
{
	struct sl_res_addr	n = bl_norm(a);
	size_t			i;

	/* Linear: static lists are short (TcpRoute's are a few dozen). */
	for (i = 0; i < bl->ncidrs; i++)
		if (bl_cidr_match(&bl->cidrs[i], &n))
			return 1;
	return bl_learned_index(bl, &n) != -1;
}

/* Forget learned slot i (the oldest) to make room. */
static void
bl_evict(struct blacklist *bl, int i)
{
	int16_t	*pp = &bl->head[bl_hash(&bl->learned[i])];

	while (*pp != -1 && *pp != i)
		pp = &bl->hnext[*pp];
	if (*pp == i)
		*pp = bl->hnext[i];
	bl->nlearned--;
}

int
bl_learn(struct blacklist *bl, const struct sl_res_addr *a)
{
	struct sl_res_addr	n = bl_norm(a);
	unsigned		h;
	int			i;

	if (bl_learned_index(bl, &n) != -1)
		return 0;
	if (bl->nlearned == BL_MAX_LEARNED) {
		bl_evict(bl, (int)bl->oldest);
		bl->oldest = (bl->oldest + 1) % BL_MAX_LEARNED;
	}
	i = (int)((bl->oldest + bl->nlearned) % BL_MAX_LEARNED);
	bl->learned[i] = n;
	h = bl_hash(&n);
	bl->hnext[i] = bl->head[h];
	bl->head[h] = (int16_t)i;
	bl->nlearned++;
	return 1;
}

uint32_t
bl_filter(const struct blacklist *bl, struct sl_res_addr *a, uint32_t n)
{
	uint32_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (!bl_contains(bl, &a[i]))
			a[k++] = a[i];
	return k;
}
