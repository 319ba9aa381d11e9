/*
 * The routing decision (select.h): admission by the balancer's
 * matchers, then each link's eligibility and tier, then the strategy's
 * order within each tier.  Candidates are tier 0, tier 1, tier 2, then
 * the links only another worker doubts (its cool-down or its health
 * check, counters.h), in their tiers again: tried after every link this
 * worker has no doubt about, and never refused for another's word.
 * A link that is not selectable (a TcpRoute hop, only reachable as
 * another link's `via`) is never a candidate, nor named in a refusal.
 *
 * Strategies, all weighted by the links' `weight`:
 *
 *   round_robin	One shared cursor, rr_next in the region's shared part,
 *			advanced by one atomic fetch_add per decision, so the
 *			rotation is global across workers with no lock.  With
 *			the tier's candidates laid out on [0, W) by
 *			cumulative weight, decision n picks the link holding
 *			p = (n mod W) * s mod W, where the stride s is
 *			coprime to W and near W / golden ratio: over any W
 *			consecutive decisions p takes every value once, so
 *			each link is picked exactly `weight` times, and
 *			consecutive p land far apart, so picks interleave
 *			(2:2:1 gives A B A C B).  Equal weights use s = 1:
 *			links in order, as PythTRT documents.
 *   random_link	A point drawn uniformly from [0, W).
 *   least_connections	Smallest active / weight, active summed over every
 *			worker's row; each run of tied links rotates by the
 *			cursor, so that a burst of decisions does not pile
 *			onto the first link before its counter moves.
 *   failover		Configuration order.
 *   fastest		Smallest connect_ms_avg (0, unknown, first); ties
 *			as least_connections.
 *
 * After the pick, the rest of the tier follows in rotation from it, so
 * a retry goes to the next link in the same fair order.
 *
 * The counters region is hostile input (counters.h): it decides no
 * index and no size, and a cool-down read from it is cut to the link's
 * own cool-down.  A view with no worker (self -1: tests, tools) takes
 * every worker's verdict as its own.
 */
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "counters.h"
#include "select.h"

#define NTIERS		3
#define DOUBTED		NTIERS		/* tier + DOUBTED: doubted links */
#define GOLDEN32	UINT64_C(2654435769)	/* 2^32 / golden ratio */

enum link_state {
	LS_OK = 0,
	LS_DOUBTED,		/* selectable, after the others */
	LS_REFUSED,		/* a matcher refused the request */
	LS_CHECK_DOWN,
	LS_COOLING,
	LS_FULL,
	LS_HOP,			/* not selectable: only a `via` hop */
};

struct route_ctx {
	const struct sl_conf		*conf;
	const struct sl_route_view	*v;
	uint64_t			 cursor;
	int				 have_cursor;
	uint32_t			 tier[2 * NTIERS][SL_MAX_LINKS];
	size_t				 ntier[2 * NTIERS];
	uint64_t			 key[SL_MAX_LINKS];	/* active or ms */
	uint8_t				 state[SL_MAX_LINKS];
	uint32_t			 rule[SL_MAX_LINKS];	/* refused by */
};

/* Rules. */

/*
 * 1 when one of the n matchers refuses the request (*rule its index).
 * tier NULL: admission only, prioritize/deprioritize are not looked at.
 */
static int
refused(const struct sl_matcher *m, size_t n, const struct sl_request *rq,
    int *tier, uint32_t *rule)
{
	int	pri = 0, depri = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		switch (m[i].policy) {
		case SL_POLICY_ALLOW:
		case SL_POLICY_FORBID:
			if (matcher_match(&m[i], rq) ==
			    (m[i].policy == SL_POLICY_FORBID)) {
				*rule = (uint32_t)i;
				return 1;
			}
			break;
		case SL_POLICY_PRIORITIZE:
			if (tier != NULL && !pri)
				pri = matcher_match(&m[i], rq);
			break;
		case SL_POLICY_DEPRIORITIZE:
			if (tier != NULL && !pri && !depri)
				depri = matcher_match(&m[i], rq);
			break;
		}
	}
	/* Both matching: prioritize wins (select.h). */
	if (tier != NULL)
		*tier = pri ? 0 : depri ? 2 : 1;
	return 0;
}

static const char *
refusal_text(const struct sl_matcher *m)
{
	return m->policy == SL_POLICY_ALLOW ? "allow, not matched" : "forbid";
}

/* Live state. */

static uint64_t
cursor(struct route_ctx *rc)
{
	const struct sl_shm	*sh = rc->v->shm;

	if (!rc->have_cursor) {
		rc->cursor = sh != NULL ? atomic_fetch_add_explicit(sh->rr_next,
		    1, memory_order_relaxed) : rc->v->rnd;
		rc->have_cursor = 1;
	}
	return rc->cursor;
}

/* Whether link li can take a session now; fills rc->key for sorting. */
static enum link_state
link_health(struct route_ctx *rc, uint32_t li)
{
	const struct sl_link	*l = &rc->conf->links[li];
	const struct sl_route_view *v = rc->v;
	struct sl_health	 h;
	enum sl_strategy	 st = rc->conf->strategy;
	uint64_t		 active = 0;

	rc->key[li] = 0;
	if (v->shm == NULL)
		return LS_OK;
	shm_health_read(v->shm, li, v->shm->self, v->now_ms, l->cooldown_ms,
	    &h);
	/* Only a link with a check has a checker to bring it back. */
	if (l->check.enabled && h.check_down)
		return LS_CHECK_DOWN;
	if (l->max_fails > 0 && h.cooling)
		return LS_COOLING;
	if (l->max_connections > 0 || st == SL_STRAT_LEAST_CONN)
		active = shm_link_active(v->shm, li);
	if (l->max_connections > 0 && active >= l->max_connections)
		return LS_FULL;
	if (st == SL_STRAT_LEAST_CONN)
		rc->key[li] = active;
	else if (st == SL_STRAT_FASTEST)
		rc->key[li] = h.connect_ms;
	if ((l->check.enabled && h.others_check) ||
	    (l->max_fails > 0 && h.others_cooling))
		return LS_DOUBTED;
	return LS_OK;
}

/* Orders within a tier. */

static void
reverse(uint32_t *t, size_t lo, size_t hi)
{
	uint32_t	x;

	while (lo + 1 < hi) {
		x = t[lo];
		t[lo++] = t[--hi];
		t[hi] = x;
	}
}

/* t[k] first, the others after it in rotation. */
static void
rotate(uint32_t *t, size_t n, size_t k)
{
	if (k == 0 || k >= n)
		return;
	reverse(t, 0, k);
	reverse(t, k, n);
	reverse(t, 0, n);
}

static uint64_t
tier_weight(const struct route_ctx *rc, const uint32_t *t, size_t n,
    int *equal)
{
	const struct sl_link	*l = rc->conf->links;
	uint64_t		 w = 0;
	size_t			 i;

	*equal = 1;
	for (i = 0; i < n; i++) {
		w += l[t[i]].weight;
		if (l[t[i]].weight != l[t[0]].weight)
			*equal = 0;
	}
	return w;
}

/* The position in t of the link whose weight slice holds p < W. */
static size_t
weight_slot(const struct route_ctx *rc, const uint32_t *t, size_t n,
    uint64_t p)
{
	size_t	i;

	for (i = 0; i < n - 1; i++) {
		if (p < rc->conf->links[t[i]].weight)
			break;
		p -= rc->conf->links[t[i]].weight;
	}
	return i;
}

static uint64_t
gcd(uint64_t a, uint64_t b)
{
	uint64_t	r;

	while (b != 0) {
		r = a % b;
		a = b;
		b = r;
	}
	return a;
}

/* The stride nearest W / golden ratio that is coprime to W. */
static uint64_t
rr_stride(uint64_t w)
{
	uint64_t	s = (w * GOLDEN32) >> 32, d;

	for (d = 0; d <= w; d++) {
		if (s + d > 0 && gcd(w, s + d) == 1)
			return s + d;
		if (s > d && gcd(w, s - d) == 1)
			return s - d;
	}
	return 1;
}

static size_t
rr_pick(struct route_ctx *rc, const uint32_t *t, size_t n)
{
	uint64_t	c = cursor(rc), w;
	int		equal;

	w = tier_weight(rc, t, n, &equal);
	if (equal)
		return (size_t)(c % n);
	/* w <= 2^28: (w - 1) * s fits in 64 bits. */
	return weight_slot(rc, t, n, c % w * rr_stride(w) % w);
}

/* splitmix64: several independent draws from one random number. */
static uint64_t
draw(uint32_t rnd, unsigned k)
{
	uint64_t	z = rnd + (uint64_t)(k + 1) * UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
random_pick(struct route_ctx *rc, const uint32_t *t, size_t n,
    unsigned tier)
{
	uint64_t	w;
	int		equal;

	w = tier_weight(rc, t, n, &equal);
	return weight_slot(rc, t, n, draw(rc->v->rnd, tier) % w);
}

/* a * b as 96 bits (b < 2^32), compared without overflow. */
static int
mul_lt(uint64_t a, uint32_t wa, uint64_t b, uint32_t wb)
{
	uint64_t	alo = (a & UINT32_MAX) * wa, blo = (b & UINT32_MAX) * wb;
	uint64_t	ahi = (a >> 32) * wa + (alo >> 32);
	uint64_t	bhi = (b >> 32) * wb + (blo >> 32);

	if (ahi != bhi)
		return ahi < bhi;
	return (alo & UINT32_MAX) < (blo & UINT32_MAX);
}

/* Link a goes strictly before link b. */
static int
before(const struct route_ctx *rc, uint32_t a, uint32_t b)
{
	const struct sl_link	*l = rc->conf->links;

	if (rc->conf->strategy == SL_STRAT_LEAST_CONN)
		return mul_lt(rc->key[a], l[b].weight, rc->key[b], l[a].weight);
	return rc->key[a] < rc->key[b];
}

/* Stable bottom-up merge sort by before(): ties keep their order. */
static void
sort_tier(const struct route_ctx *rc, uint32_t *t, size_t n)
{
	uint32_t	 tmp[SL_MAX_LINKS], *src = t, *dst = tmp, *sw;
	size_t		 w, lo, mid, hi, a, b, k;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			for (a = lo, b = mid, k = lo; k < hi; k++)
				if (b < hi && (a == mid ||
				    before(rc, src[b], src[a])))
					dst[k] = src[b++];
				else
					dst[k] = src[a++];
		}
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != t)
		memcpy(t, src, n * sizeof(*t));
}

/* Each run of equal links, sorted, takes turns by the cursor. */
static void
rotate_ties(struct route_ctx *rc, uint32_t *t, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !before(rc, t[i], t[j]); j++)
			;
		if (j - i > 1)
			rotate(t + i, j - i, (size_t)(cursor(rc) % (j - i)));
	}
}

static void
order_tier(struct route_ctx *rc, uint32_t *t, size_t n, unsigned tier)
{
	if (n < 2)
		return;
	switch (rc->conf->strategy) {
	case SL_STRAT_FAILOVER:
		break;
	case SL_STRAT_RANDOM:
		rotate(t, n, random_pick(rc, t, n, tier));
		break;
	case SL_STRAT_LEAST_CONN:
	case SL_STRAT_FASTEST:
		sort_tier(rc, t, n);
		rotate_ties(rc, t, n);
		break;
	case SL_STRAT_ROUND_ROBIN:
	default:
		rotate(t, n, rr_pick(rc, t, n));
		break;
	}
}

/* Why nothing is left. */

/* Append sep and item, or ", ..." once it no longer fits. */
static int
why_add(struct sl_route *r, size_t *off, const char *sep, const char *item)
{
	size_t	room = sizeof(r->why) - *off;
	int	n;

	n = snprintf(r->why + *off, room, "%s%s", sep, item);
	/* Always leave room for ", ...". */
	if (n >= 0 && (size_t)n + sizeof(", ...") <= room) {
		*off += (size_t)n;
		return 0;
	}
	snprintf(r->why + *off, room, "%s...", sep);
	return -1;
}

static void
why_links(const struct route_ctx *rc, struct sl_route *r, int refusals)
{
	static const char *const what[] = {
		[LS_CHECK_DOWN] = "health check failing",
		[LS_COOLING] = "cooling down",
		[LS_FULL] = "at max_connections",
	};
	const struct sl_link	*l;
	char			 item[160];
	size_t			 i, off;
	const char		*sep = "";

	off = (size_t)snprintf(r->why, sizeof(r->why), "%s", refusals ?
	    "no link may carry it: " : "no link available: ");
	for (i = 0; i < rc->conf->nlinks && i < SL_MAX_LINKS; i++) {
		l = &rc->conf->links[i];
		if (rc->state[i] == LS_HOP)
			continue;
		if (refusals && rc->state[i] == LS_REFUSED)
			snprintf(item, sizeof(item), "balancer.links[%zu]."
			    "matchers[%u] (%s)", i, rc->rule[i],
			    refusal_text(&l->matchers[rc->rule[i]]));
		else if (!refusals && rc->state[i] != LS_REFUSED)
			snprintf(item, sizeof(item), "%s (%s)", l->name,
			    what[rc->state[i]]);
		else
			continue;
		if (why_add(r, &off, sep, item) == -1)
			return;
		sep = ", ";
	}
}

/* The decision. */

static int
link_allowed(const struct sl_request *rq, uint32_t li)
{
	size_t	i;

	if (rq->only == NULL)
		return 1;
	for (i = 0; i < rq->nonly; i++)
		if (rq->only[i] == li)
			return 1;
	return 0;
}

static void
route_links(struct route_ctx *rc, const struct sl_request *rq)
{
	const struct sl_link	*l;
	uint32_t		 li;
	int			 tier;

	for (li = 0; li < rc->conf->nlinks && li < SL_MAX_LINKS; li++) {
		l = &rc->conf->links[li];
		/* Outside a service's links: as if it were not there. */
		/* A tcprouter clientsecret service's own agent link is not
		   selectable, but its service names it. */
		if (!link_allowed(rq, li) || (!l->selectable &&
		    (rq->only == NULL || l->proto != SL_LINK_AGENT))) {
			rc->state[li] = LS_HOP;
			continue;
		}
		if (refused(l->matchers, l->nmatchers, rq, &tier,
		    &rc->rule[li])) {
			rc->state[li] = LS_REFUSED;
			continue;
		}
		rc->state[li] = link_health(rc, li);
		if (rc->state[li] == LS_DOUBTED)
			tier += DOUBTED;
		if (rc->state[li] <= LS_DOUBTED)
			rc->tier[tier][rc->ntier[tier]++] = li;
	}
}

void
policy_route(const struct sl_conf *conf, const struct sl_request *rq,
    const struct sl_route_view *v, struct sl_route *r)
{
	struct route_ctx	 rc;
	uint32_t		 rule, li;
	unsigned		 t;
	int			 allowed = 0;

	r->verdict = SL_ROUTE_OK;
	r->ncand = r->ntrusted = 0;
	r->why[0] = '\0';
	if (refused(conf->matchers, conf->nmatchers, rq, NULL, &rule)) {
		r->verdict = SL_ROUTE_REFUSED;
		snprintf(r->why, sizeof(r->why), "balancer.matchers[%u] (%s)",
		    rule, refusal_text(&conf->matchers[rule]));
		return;
	}
	rc.conf = conf;
	rc.v = v;
	rc.have_cursor = 0;
	memset(rc.ntier, 0, sizeof(rc.ntier));
	route_links(&rc, rq);
	for (t = 0; t < 2 * NTIERS; t++) {
		order_tier(&rc, rc.tier[t], rc.ntier[t], t);
		memcpy(r->cand + r->ncand, rc.tier[t],
		    rc.ntier[t] * sizeof(r->cand[0]));
		r->ncand += rc.ntier[t];
		if (t + 1 == NTIERS)
			r->ntrusted = r->ncand;
	}
	if (r->ncand > 0)
		return;
	for (li = 0; li < conf->nlinks && li < SL_MAX_LINKS; li++)
		allowed |= rc.state[li] != LS_REFUSED &&
		    rc.state[li] != LS_HOP;
	r->verdict = allowed || conf->nlinks == 0 ? SL_ROUTE_UNAVAILABLE :
	    SL_ROUTE_REFUSED;
	if (conf->nlinks == 0)
		snprintf(r->why, sizeof(r->why), "no link configured");
	else
		why_links(&rc, r, !allowed);
}

static int
any_ips(const struct sl_matcher *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (m[i].nips > 0)
			return 1;
	return 0;
}

int
policy_needs_addresses(const struct sl_conf *conf)
{
	size_t	i;

	if (any_ips(conf->matchers, conf->nmatchers))
		return 1;
	/* A hop's matchers are never consulted. */
	for (i = 0; i < conf->nlinks; i++)
		if (conf->links[i].selectable &&
		    any_ips(conf->links[i].matchers, conf->links[i].nmatchers))
			return 1;
	return 0;
}

/* Does the address fall in prefix c?  IPv4-mapped IPv6 counts as IPv4. */
static int
cidr_has(const struct sl_cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*a;
	unsigned	 bits = c->prefix, i;

	if (sa->sa_family == AF_INET) {
		if (c->family != AF_INET)
			return 0;
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
	} else {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			if (c->family != AF_INET)
				return 0;
			a += 12;
		} else if (c->family != AF_INET6)
			return 0;
	}
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (a[i] != c->addr[i])
			return 0;
	return bits == 0 ||
	    ((a[i] ^ c->addr[i]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

int
policy_blacklisted(const struct sl_conf *conf, const struct sockaddr *sa)
{
	return policy_cidrs_match(conf->ip_blacklist, conf->nip_blacklist, sa);
}

const char *
policy_target_denied(const struct sl_conf *conf, const struct sockaddr *sa)
{
	if (policy_blacklisted(conf, sa))
		return "ip_blacklist";
	if (policy_cidrs_match(conf->deny_targets, conf->ndeny_targets, sa))
		return "deny_targets";
	return NULL;
}

int
policy_cidrs_match(const struct sl_cidr *c, size_t n,
    const struct sockaddr *sa)
{
	size_t	i;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return 0;
	for (i = 0; i < n; i++)
		if (cidr_has(&c[i], sa))
			return 1;
	return 0;
}
