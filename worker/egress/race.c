/*
 * Racing links for the `fastest` strategy (race.h).
 *
 * Every leg is an ordinary dial (dial.c), so "success" means what it
 * means for one link: a direct line connected to the target, or a socks5
 * chain whose last upstream answered the CONNECT with success.  The
 * first success wins; the other legs are cancelled at once, which closes
 * their sockets, and the winner is handed to the session.
 *
 * Counters: a leg counts as active on its link while it runs; a loser
 * gives its count back, a failure counts as `failed`, and only failures
 * that are the link's fault feed passive health (never a shortage of
 * this host's descriptors, buffers or memory: dial.c tells them apart).
 * The winner keeps its active count, which the session then owns.
 * Connect times feed the link's average (health.c): the winner's time as
 * a sample, a cancelled loser's time only as a lower bound (it would
 * have taken at least that long), failures not at all.
 *
 * Also here: the order in which a dial races a name's addresses (happy
 * eyeballs, dial.c), and closing losers: with a reset, and, for sockets
 * the master made, only after one more poll of the loop (race_close).
 *
 * The route cache is a direct-mapped table per worker, in its part of
 * the region: each worker writes its own and reads everyone's, and the
 * entry that expires last (the newest race) wins, its own on a tie.  A slot
 * is written like a seqlock: key cleared, then link and expiry, then the
 * key again; a reader checks the key before and after.  The region is
 * hostile input (counters.h), so a reader also bounds the expiry by its
 * own TTL and takes the link only when the policy offered it for this
 * very request: another worker's scribble can at most pick which of the
 * request's candidates goes first, for as long as that worker rewrites it.
 */
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "dial.h"
#include "health.h"
#include "race.h"
#include "egress.h"

struct race_leg {
	struct race	*r;
	struct dial	 dial;
	uint32_t	 link;
	int		 live;		/* dial running */
	int		 link_fault;
	enum sl_conn_err err;
};

struct race {
	race_cb		 cb;
	void		*arg;
	uint64_t	 t0;		/* CLOCK_MONOTONIC ms */
	size_t		 n, nlive;
	struct race_leg	 legs[];
};

static struct sl_link_ctr *
race_ctr(uint32_t link)
{
	return shm_ctr(eg.shm, eg.index, link);
}

static const char *
race_link_name(uint32_t link)
{
	return eg.conf->links[link].name;
}

/* Stop a running leg that did not fail: give its active count back. */
static void
race_leg_stop(struct race_leg *l, uint64_t elapsed_ms, int sample)
{
	if (!l->live)
		return;
	dial_cancel(&l->dial);
	l->live = 0;
	l->r->nlive--;
	atomic_fetch_sub(&race_ctr(l->link)->active, 1);
	if (sample)
		health_connect_time(l->link, elapsed_ms, 1);
}

static void
race_won(struct race *r, struct race_leg *w, int fd,
    const struct sockaddr_storage *bound, uint64_t ms)
{
	struct sockaddr_storage	 b = *bound;
	race_cb			 cb = r->cb;
	void			*arg = r->arg;
	uint32_t		 link = w->link;
	size_t			 i;

	for (i = 0; i < r->n; i++)
		race_leg_stop(&r->legs[i], ms, 1);
	health_link_ok(link);
	log_debug("race over %zu links won by %s in %llu ms", r->n,
	    race_link_name(link), (unsigned long long)ms);
	free(r);
	cb(fd, (int)link, SL_CONN_OK, &b, NULL, arg);
}

/* A target's answer says more than a link fault, a code more than 0x01. */
static int
race_rank(const struct race_leg *l)
{
	return (l->link_fault ? 0 : 2) + (l->err != SL_CONN_FAIL);
}

/* Append "name: why" for leg l to buf. */
static void
race_why_add(char *buf, size_t len, const struct race_leg *l)
{
	size_t	off = strlen(buf);
	int	n;

	if (off + 1 >= len)
		return;
	/* Cut short when full: the best failure comes first. */
	n = snprintf(buf + off, len - off, "%s%s: %s", off > 0 ? "; " : "",
	    race_link_name(l->link), l->dial.why);
	if (n < 0)
		buf[off] = '\0';
}

static void
race_lost(struct race *r)
{
	char			 why[SL_MAX_NAME + 128];
	race_cb			 cb = r->cb;
	void			*arg = r->arg;
	const struct race_leg	*best = &r->legs[0];
	size_t			 i;
	enum sl_conn_err	 err;
	int			 link;

	/* Legs are in the policy's order: the first of the best rank. */
	for (i = 1; i < r->n; i++)
		if (race_rank(&r->legs[i]) > race_rank(best))
			best = &r->legs[i];
	why[0] = '\0';
	race_why_add(why, sizeof(why), best);
	for (i = 0; i < r->n; i++)
		if (&r->legs[i] != best)
			race_why_add(why, sizeof(why), &r->legs[i]);
	err = best->err;
	link = (int)best->link;
	free(r);
	cb(-1, link, err, NULL, why, arg);
}

static void
race_leg_done(struct dial *d, int fd, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg)
{
	struct race_leg	*l = arg;
	struct race	*r = l->r;
	uint64_t	 ms = mono_ms() - r->t0;

	l->live = 0;
	r->nlive--;
	if (fd != -1) {
		health_connect_time(l->link, ms, 0);
		race_won(r, l, fd, bound, ms);
		return;
	}
	atomic_fetch_add(&race_ctr(l->link)->failed, 1);
	atomic_fetch_sub(&race_ctr(l->link)->active, 1);
	if (d->link_fault)
		health_link_failed(l->link, why);
	l->err = err;
	l->link_fault = d->link_fault;
	log_debug("race: link %s failed after %llu ms: %s",
	    race_link_name(l->link), (unsigned long long)ms, why);
	if (r->nlive == 0)
		race_lost(r);
}

struct race *
race_start(struct ev_loop *loop, const struct sl_conf *conf,
    const uint16_t *cand, size_t ncand, const struct sl_target *target,
    const struct sl_res_addr *pre, uint32_t npre, race_cb cb, void *arg)
{
	struct race	*r;
	size_t		 i, n = ncand < RACE_WIDTH ? ncand : RACE_WIDTH;

	if (n == 0 || (r = calloc(1, sizeof(*r) + n * sizeof(r->legs[0]))) ==
	    NULL)
		return NULL;
	r->cb = cb;
	r->arg = arg;
	r->t0 = mono_ms();
	r->n = r->nlive = n;
	/* All counted first: the policy of a concurrent session sees them. */
	for (i = 0; i < n; i++) {
		r->legs[i].r = r;
		r->legs[i].link = cand[i];
		r->legs[i].live = 1;
		atomic_fetch_add(&race_ctr(cand[i])->active, 1);
	}
	/* dial_start() never calls back before it returns. */
	for (i = 0; i < n; i++)
		dial_start(&r->legs[i].dial, loop, conf, (int)cand[i], target,
		    pre, npre, race_leg_done, &r->legs[i]);
	return r;
}

void
race_cancel(struct race *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		race_leg_stop(&r->legs[i], 0, 0);
	free(r);
}

/*
 * Closing losers, at once and with a reset.  A socket the master made
 * (interface links) may still be open in the master for a moment after
 * it reached us: an attempt refused at once is closed within
 * microseconds.  Closed here then, its epoll registration outlives our
 * fd, and libev, getting events for an fd it cannot delete, rebuilds its
 * whole epoll set (every fd of the worker; with epoll_create1, which an
 * older sandbox killed).  So such a socket is shut down, which makes it
 * ready, and closed only after the loop has polled again: libev sees the
 * event while the fd is still ours and deletes the registration.
 */
#define RACE_GRAVES	64

static struct {
	int		fd;
	unsigned int	iter;		/* ev_iteration() when buried */
}		graves[RACE_GRAVES];
static size_t	ngraves;
static ev_timer	grave_timer;

static void
race_graves_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	unsigned int	now = ev_iteration(loop);
	size_t		i, kept = 0;

	(void)revents;
	for (i = 0; i < ngraves; i++) {
		if (graves[i].iter != now)
			close(graves[i].fd);
		else
			graves[kept++] = graves[i];
	}
	ngraves = kept;
	if (ngraves > 0)
		ev_timer_start(loop, w);
}

void
race_close(struct ev_loop *loop, int fd, int shared)
{
	struct linger	lg = { 1, 0 };

	/*
	 * A reset, not a FIN: nothing was relayed, and a loser closed with
	 * a FIN would hold its (often source-bound) port in TIME_WAIT.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (!shared || ngraves == RACE_GRAVES) {
		close(fd);
		return;
	}
	(void)shutdown(fd, SHUT_RDWR);
	graves[ngraves].fd = fd;
	graves[ngraves++].iter = ev_iteration(loop);
	if (!ev_is_active(&grave_timer)) {
		ev_timer_init(&grave_timer, race_graves_sweep, 0., 0.);
		ev_timer_start(loop, &grave_timer);
	}
}

/* Happy eyeballs order (dial.c races a name's addresses). */

void
race_interleave(struct sl_res_addr *a, uint32_t n)
{
	struct sl_res_addr	v6[SL_MAX_ADDRS], v4[SL_MAX_ADDRS];
	uint32_t		i, n6 = 0, n4 = 0, i6 = 0, i4 = 0;

	if (n > SL_MAX_ADDRS)
		n = SL_MAX_ADDRS;
	for (i = 0; i < n; i++) {
		if (a[i].family == 6)
			v6[n6++] = a[i];
		else
			v4[n4++] = a[i];
	}
	for (i = 0; i < n; i++) {
		if (i6 < n6 && (i % 2 == 0 || i4 == n4))
			a[i] = v6[i6++];
		else
			a[i] = v4[i4++];
	}
}

/* The route cache. */

static uint64_t
fnv1a(uint64_t h, const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t
route_key(const struct sl_target *req, const char *lhost)
{
	const struct sockaddr	*sa = (const void *)&req->addr;
	uint64_t		 h = UINT64_C(0xcbf29ce484222325);
	uint8_t			 port[2], kind;

	/* A name, an IPv4 or an IPv6 address: never the same key. */
	kind = req->host[0] != '\0' ? 3 : sa->sa_family == AF_INET ? 1 : 4;
	h = fnv1a(h, &kind, 1);
	if (req->host[0] != '\0')
		h = fnv1a(h, lhost, strlen(lhost));
	else if (sa->sa_family == AF_INET)
		h = fnv1a(h, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	else
		h = fnv1a(h, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	port[0] = (uint8_t)(req->port >> 8);
	port[1] = (uint8_t)req->port;
	h = fnv1a(h, port, sizeof(port));
	/* FNV's low bits are weak; the slot is key % SL_ROUTE_SLOTS. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h != 0 ? h : 1;
}

/* Slot key of one table: its link and expiry, or -1. */
static int
route_slot_read(struct sl_route_slot *slots, uint64_t key, uint64_t now_ms,
    uint64_t ttl_ms, const uint16_t *cand, size_t ncand, uint64_t *expp)
{
	struct sl_route_slot	*sl = &slots[key % SL_ROUTE_SLOTS];
	uint64_t		 exp;
	uint32_t		 link;
	size_t			 i;

	if (key == 0 ||
	    atomic_load_explicit(&sl->key, memory_order_acquire) != key)
		return -1;
	link = atomic_load_explicit(&sl->link, memory_order_relaxed);
	exp = atomic_load_explicit(&sl->expires_ms, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&sl->key, memory_order_relaxed) != key)
		return -1;		/* rewritten while we read it */
	if (exp <= now_ms || exp - now_ms > ttl_ms)
		return -1;
	/* Candidates are valid link indexes the policy allows here. */
	for (i = 0; i < ncand; i++)
		if (cand[i] == link) {
			*expp = exp;
			return (int)link;
		}
	return -1;
}

int
route_lookup(const struct sl_shm *sh, uint64_t key, uint64_t now_ms,
    uint64_t ttl_ms, const uint16_t *cand, size_t ncand)
{
	uint64_t	exp, best_exp = 0;
	uint32_t	w;
	int		link, best = -1;

	for (w = 0; w < sh->nworkers; w++) {
		link = route_slot_read(sh->rows[w].routes, key, now_ms, ttl_ms,
		    cand, ncand, &exp);
		/* The newest race wins; on a tie, our own. */
		if (link != -1 && (exp > best_exp || (exp == best_exp &&
		    (int)w == sh->self))) {
			best = link;
			best_exp = exp;
		}
	}
	return best;
}

void
route_store(const struct sl_shm *sh, uint64_t key, uint32_t link,
    uint64_t expires_ms)
{
	struct sl_route_slot	*sl;

	if (sh->self < 0)
		return;
	sl = &sh->rows[sh->self].routes[key % SL_ROUTE_SLOTS];
	atomic_store_explicit(&sl->key, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sl->link, link, memory_order_relaxed);
	atomic_store_explicit(&sl->expires_ms, expires_ms,
	    memory_order_relaxed);
	atomic_store_explicit(&sl->key, key, memory_order_release);
}

void
route_drop(const struct sl_shm *sh, uint64_t key, uint32_t link)
{
	struct sl_route_slot	*sl;
	uint64_t		 k = key;

	if (sh->self < 0)
		return;
	sl = &sh->rows[sh->self].routes[key % SL_ROUTE_SLOTS];
	if (atomic_load_explicit(&sl->link, memory_order_relaxed) != link)
		return;
	atomic_compare_exchange_strong_explicit(&sl->key, &k, 0,
	    memory_order_relaxed, memory_order_relaxed);
}
