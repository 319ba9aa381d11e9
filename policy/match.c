/*
 * Request matchers: the indexes built at load (match.h) and
 * matcher_match(), which runs for every matcher of every request.
 *
 * The hot path allocates nothing and takes no lock.  Every lookup is
 * bounded by the index, never by the request alone: a host name is at
 * most SL_MAX_NAME bytes, address and port lookups are binary searches,
 * and patterns run under the match context's limits.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "select.h"

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

/* 128-bit unsigned values: IPv6 addresses, and IPv4 and ports below. */

static int
u128_lt(struct sl_u128 a, struct sl_u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static struct sl_u128
u128_bytes(const uint8_t *b, size_t n)
{
	struct sl_u128	v = { 0, 0 };
	size_t		i;

	for (i = 0; i < n; i++) {
		v.hi = v.hi << 8 | v.lo >> 56;
		v.lo = v.lo << 8 | b[i];
	}
	return v;
}

/* The low `bits` bits set. */
static struct sl_u128
u128_ones(unsigned bits)
{
	struct sl_u128	v;

	v.lo = bits >= 64 ? UINT64_MAX : bits == 0 ? 0 :
	    UINT64_MAX >> (64 - bits);
	v.hi = bits >= 128 ? UINT64_MAX : bits <= 64 ? 0 :
	    UINT64_MAX >> (128 - bits);
	return v;
}

/* Interval sets: sorted, disjoint, non-adjacent; binary search. */

static int
iv_cmp(const void *a, const void *b)
{
	const struct sl_iv	*x = a, *y = b;

	if (u128_lt(x->lo, y->lo))
		return -1;
	return u128_lt(y->lo, x->lo);
}

/* Sort and merge in place; overlapping and touching intervals join. */
static void
ivset_merge(struct sl_ivset *s)
{
	struct sl_iv	*v = s->iv, *last;
	struct sl_u128	 next;
	size_t		 i, n = 0;

	if (s->n == 0)
		return;
	qsort(v, s->n, sizeof(*v), iv_cmp);
	for (i = 1; i < s->n; i++) {
		last = &v[n];
		next = last->hi;
		if (++next.lo == 0)
			next.hi++;
		if ((next.hi == 0 && next.lo == 0) || !u128_lt(next, v[i].lo)) {
			/* next wrapped: last already reaches the top. */
			if (u128_lt(last->hi, v[i].hi))
				last->hi = v[i].hi;
		} else
			v[++n] = v[i];
	}
	s->n = n + 1;
}

static int
ivset_has(const struct sl_ivset *s, struct sl_u128 x)
{
	size_t	lo = 0, hi = s->n, mid;

	/* The last interval starting at or below x is the only candidate. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u128_lt(x, s->iv[mid].lo))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo > 0 && !u128_lt(s->iv[lo - 1].hi, x);
}

static void
ivset_add(struct sl_ivset *s, struct sl_u128 lo, struct sl_u128 hi)
{
	s->iv[s->n].lo = lo;
	s->iv[s->n].hi = hi;
	s->n++;
}

/* Ports. */

static int
ports_build(struct sl_match_idx *x, const struct sl_matcher *m)
{
	struct sl_u128	lo = { 0, 0 }, hi = { 0, 0 };
	size_t		i;

	if ((x->ports.iv = calloc(m->nports, sizeof(struct sl_iv))) == NULL)
		return -1;
	for (i = 0; i < m->nports; i++) {
		lo.lo = m->ports[i].lo;
		hi.lo = m->ports[i].hi;
		ivset_add(&x->ports, lo, hi);
	}
	ivset_merge(&x->ports);
	return 0;
}

/* Addresses. */

/* ::ffff:0:0/96, where IPv4-mapped addresses live. */
static const struct sl_u128 mapped_lo = { 0, UINT64_C(0xffff00000000) };
static const struct sl_u128 mapped_hi = { 0, UINT64_C(0xffffffffffff) };

/*
 * A prefix inside ::ffff:0:0/96 is an IPv4 prefix written as IPv6: it
 * goes to the IPv4 list.  A shorter one (::/0) means IPv6 traffic and
 * does not cover IPv4, mapped or not.
 */
static int
ipset_add_mapped(struct sl_ipset *s, struct sl_u128 lo, struct sl_u128 hi)
{
	if (u128_lt(lo, mapped_lo) || u128_lt(mapped_hi, hi))
		return 0;
	lo.lo &= UINT32_MAX;
	hi.lo &= UINT32_MAX;
	ivset_add(&s->v4, lo, hi);
	return 1;
}

static int
ipset_build(struct sl_ipset *s, const struct sl_cidr *c, size_t n)
{
	struct sl_u128	lo, hi, host;
	size_t		i;

	if ((s->v4.iv = calloc(n, sizeof(struct sl_iv))) == NULL ||
	    (s->v6.iv = calloc(n, sizeof(struct sl_iv))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (c[i].family == AF_INET) {
			lo = u128_bytes(c[i].addr, 4);
			host = u128_ones(32u - c[i].prefix);
		} else {
			lo = u128_bytes(c[i].addr, 16);
			host = u128_ones(128u - c[i].prefix);
		}
		hi.hi = lo.hi | host.hi;
		hi.lo = lo.lo | host.lo;
		if (c[i].family == AF_INET)
			ivset_add(&s->v4, lo, hi);
		else if (!ipset_add_mapped(s, lo, hi))
			ivset_add(&s->v6, lo, hi);
	}
	ivset_merge(&s->v4);
	ivset_merge(&s->v6);
	return 0;
}

static void
ipset_free(struct sl_ipset *s)
{
	free(s->v4.iv);
	free(s->v6.iv);
}

/* 16 or 4 address bytes; an IPv4-mapped IPv6 address looks up as IPv4. */
static int
ipset_has_bytes(const struct sl_ipset *s, const uint8_t *b, int is6)
{
	static const uint8_t	prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (is6 && memcmp(b, prefix, sizeof(prefix)) == 0)
		return ivset_has(&s->v4, u128_bytes(b + 12, 4));
	if (is6)
		return ivset_has(&s->v6, u128_bytes(b, 16));
	return ivset_has(&s->v4, u128_bytes(b, 4));
}

static int
ipset_has_sa(const struct sl_ipset *s, const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return ipset_has_bytes(s, (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr, 0);
	if (sa->sa_family == AF_INET6)
		return ipset_has_bytes(s, ((const struct sockaddr_in6 *)
		    sa)->sin6_addr.s6_addr, 1);
	return 0;
}

/* The target address, or any address its name resolved to. */
static int
ipset_has_target(const struct sl_ipset *s, const struct sl_request *rq)
{
	size_t	i;

	if (ipset_has_sa(s, rq->addr))
		return 1;
	for (i = 0; i < rq->nresolved && rq->resolved != NULL; i++)
		if ((rq->resolved[i].family == 4 || rq->resolved[i].family == 6) &&
		    ipset_has_bytes(s, rq->resolved[i].addr,
		    rq->resolved[i].family == 6))
			return 1;
	return 0;
}

/* Domains. */

/*
 * FNV-1a over the name from its last byte to its first, so that one
 * pass yields the hash of every suffix; mix() spreads it over the slots.
 */
static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static uint64_t
hash_rev(const char *s, size_t n)
{
	uint64_t	h = FNV_OFFSET;

	while (n > 0)
		h = (h ^ (uint8_t)s[--n]) * FNV_PRIME;
	return h;
}

static int
dom_find(const struct sl_match_idx *x, char *const *names, uint64_t h,
    const char *s, size_t n)
{
	const struct sl_domslot	*d;
	size_t			 i;

	for (i = mix(h) & x->dommask; (d = &x->dom[i])->len != 0;
	    i = (i + 1) & x->dommask)
		if (d->hash == h && d->len == n &&
		    memcmp(names[d->idx], s, n) == 0)
			return 1;
	return 0;
}

static int
dom_build(struct sl_match_idx *x, const struct sl_matcher *m)
{
	struct sl_domslot	*d;
	size_t			 i, j, n, slots = 8;
	uint64_t		 h;

	/* At most half full, so probe runs stay short. */
	while (slots < m->ndomains * 2)
		slots *= 2;
	if ((x->dom = calloc(slots, sizeof(*x->dom))) == NULL)
		return -1;
	x->dommask = slots - 1;
	for (i = 0; i < m->ndomains; i++) {
		n = strlen(m->domains[i]);
		h = hash_rev(m->domains[i], n);
		if (dom_find(x, m->domains, h, m->domains[i], n))
			continue;	/* listed twice */
		for (j = mix(h) & x->dommask; x->dom[j].len != 0;
		    j = (j + 1) & x->dommask)
			;
		d = &x->dom[j];
		d->hash = h;
		d->idx = (uint32_t)i;
		d->len = (uint32_t)n;
		if (n > x->dommax)
			x->dommax = n;
	}
	return 0;
}

/* The name or one of its parents, at label boundaries, is listed. */
static int
dom_has(const struct sl_match_idx *x, char *const *names, const char *host)
{
	size_t		len = strnlen(host, SL_MAX_NAME + 1), i;
	uint64_t	h = FNV_OFFSET;

	if (len > 0 && host[len - 1] == '.')
		len--;			/* "example.com." is example.com */
	for (i = len; i > 0; i--) {
		h = (h ^ (uint8_t)host[i - 1]) * FNV_PRIME;
		if (len - (i - 1) > x->dommax)
			return 0;
		if ((i == 1 || host[i - 2] == '.') &&
		    dom_find(x, names, h, host + i - 1, len - (i - 1)))
			return 1;
	}
	return 0;
}

/* Patterns. */

static pcre2_match_context *
re_context(void)
{
	pcre2_match_context	*mc;

	if ((mc = pcre2_match_context_create(NULL)) == NULL)
		return NULL;
	pcre2_set_match_limit(mc, SL_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, SL_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(mc, SL_RE_HEAP_LIMIT);
	return mc;
}

static int
re_build(struct sl_match_idx *x, const struct sl_matcher *m,
    pcre2_match_context **mctxp)
{
	uint32_t	caps, pairs = 1;
	size_t		i;

	if (*mctxp == NULL && (*mctxp = re_context()) == NULL)
		return -1;
	x->mctx = *mctxp;
	for (i = 0; i < m->ndomains_re; i++)
		if (pcre2_pattern_info(m->domains_re[i],
		    PCRE2_INFO_CAPTURECOUNT, &caps) == 0 && caps + 1 > pairs)
			pairs = caps + 1;
	if ((x->md = pcre2_match_data_create(pairs, NULL)) == NULL)
		return -1;
	/*
	 * pcre2 keeps its backtracking frames in the match data once it
	 * has them: get them now, not on the first request.
	 */
	for (i = 0; i < m->ndomains_re; i++)
		(void)pcre2_match(m->domains_re[i], (PCRE2_SPTR)"", 0, 0, 0,
		    x->md, x->mctx);
	return 0;
}

/* Python's re.search: unanchored; an error or a limit is "no match". */
static int
re_has(const struct sl_matcher *m, const char *host)
{
	size_t	len = strnlen(host, SL_MAX_NAME + 1), i;
	int	rc, failed = 0;

	/* "x.example.com." is the same name: a dot must not dodge a rule. */
	if (len > 1 && host[len - 1] == '.')
		len--;
	for (i = 0; i < m->ndomains_re; i++) {
		rc = pcre2_match(m->domains_re[i], (PCRE2_SPTR)host, len, 0, 0,
		    m->idx->md, m->idx->mctx);
		if (rc >= 0)
			return 1;
		if (rc != PCRE2_ERROR_NOMATCH)
			failed = 1;	/* a limit was hit: no answer */
	}
	return failed ? -1 : 0;
}

/* The matcher. */

static int
has_keys(const struct sl_matcher *m)
{
	return m->nports > 0 || m->ndomains_re > 0 || m->ndomains > 0 ||
	    m->nips > 0 || m->nclients > 0 || m->nlisteners > 0 ||
	    m->nusers > 0 || m->nalpn > 0;
}

/* A short list of names (listeners, users): a linear scan is enough. */
static int
name_in(char *const *names, size_t n, const char *name)
{
	size_t	i;

	if (name == NULL)
		return 0;	/* no user: a `users` key never matches */
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* Does the client offer one of the protocols the matcher names? */
static int
alpn_in(const struct sl_matcher *m, const struct sl_request *rq)
{
	size_t	i;

	for (i = 0; i < rq->nalpn; i++)
		if (name_in(m->alpn, m->nalpn, rq->alpn[i]))
			return 1;
	return 0;
}

int
matcher_match(const struct sl_matcher *m, const struct sl_request *rq)
{
	const struct sl_match_idx	*x = m->idx;
	struct sl_u128			 port = { 0, 0 };
	int				 named;

	if (x == NULL)
		return !has_keys(m);	/* keys the loader did not compile */
	port.lo = rq->port;
	if (m->nports > 0 && !ivset_has(&x->ports, port))
		return 0;
	if (m->nclients > 0 && !ipset_has_sa(&x->clients, rq->client))
		return 0;
	if (m->nlisteners > 0 && !name_in(m->listeners, m->nlisteners,
	    rq->listener))
		return 0;
	if (m->nusers > 0 && !name_in(m->users, m->nusers, rq->user))
		return 0;
	if (m->nalpn > 0 && !alpn_in(m, rq))
		return 0;
	/* Name keys never match a request for an address. */
	named = rq->host != NULL && rq->host[0] != '\0';
	if ((m->ndomains > 0 || m->ndomains_re > 0) && !named)
		return 0;
	if (m->ndomains > 0 && !dom_has(x, m->domains, rq->host))
		return 0;
	if (m->nips > 0 && !ipset_has_target(&x->ips, rq))
		return 0;
	/* Last: the dearest test, and often decided before. */
	if (m->ndomains_re > 0) {
		int r = re_has(m, rq->host);

		/*
		 * A pattern that ran out of its limits gives no answer: fail
		 * closed, so a forbid rule holds and an allow rule does not
		 * open, whatever a hostile name makes the pattern do.
		 */
		if (r == -1)
			return m->policy == SL_POLICY_FORBID;
		if (r == 0)
			return 0;
	}
	return 1;
}

int
match_compile(struct sl_matcher *m, pcre2_match_context **mctxp)
{
	struct sl_match_idx	*x;

	if (!has_keys(m))
		return 0;	/* matches everything: nothing to build */
	if ((x = m->idx = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if (m->nports > 0 && ports_build(x, m) == -1)
		return -1;
	if (m->ndomains > 0 && dom_build(x, m) == -1)
		return -1;
	if (m->nips > 0 && ipset_build(&x->ips, m->ips, m->nips) == -1)
		return -1;
	if (m->nclients > 0 &&
	    ipset_build(&x->clients, m->clients, m->nclients) == -1)
		return -1;
	if (m->ndomains_re > 0 && re_build(x, m, mctxp) == -1)
		return -1;
	return 0;
}

void
match_free(struct sl_matcher *m)
{
	struct sl_match_idx	*x = m->idx;

	if (x == NULL)
		return;
	free(x->ports.iv);
	free(x->dom);
	ipset_free(&x->ips);
	ipset_free(&x->clients);
	pcre2_match_data_free(x->md);
	free(x);
	m->idx = NULL;
}
