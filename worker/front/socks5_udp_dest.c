/*
 * The destination table of a SOCKS5 UDP association (socks5_udp.c has
 * the rules): each destination a client names is checked like a CONNECT
 * and sticks to the first candidate link that can carry UDP; a name for a
 * direct link is resolved once.  S5U_DESTS entries, least recently used
 * replaced, each kept for S5U_DEST_TTL_MS.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../policy/counters.h"
#include "../egress/egress.h"
#include "socks5.h"
#include "socks5_udp.h"

/* The entry for t: found, or a free/least recently used one. */
struct s5u_dest *
s5u_dest_find(struct s5u *a, const struct sl_target *t)
{
	struct s5u_dest	*d, *victim = NULL;
	size_t		 i;

	for (i = 0; i < S5U_DESTS; i++) {
		d = &a->dests[i];
		if (d->st != D_FREE && d->t.port == t->port &&
		    strcmp(d->t.host, t->host) == 0 && (t->host[0] != '\0' ||
		    udp_same_addr((const struct sockaddr *)&t->addr,
		    &d->t.addr, 1)))
			return d;
	}
	for (i = 0; i < S5U_DESTS; i++) {
		d = &a->dests[i];
		if (d->st == D_RESOLVING || (int)i == a->held_dest)
			continue;
		if (d->st == D_FREE)
			return d;
		if (victim == NULL || d->used < victim->used)
			victim = d;
	}
	return victim;
}

/* The links[] slot of link, made if needed; -1 when all are used. */
static int
s5u_link_slot(struct s5u *a, int link)
{
	int	i, free_i = -1;

	for (i = 0; i < S5U_LINKS; i++) {
		if (a->links[i].link == link)
			return i;
		if (a->links[i].link == -1 && free_i == -1)
			free_i = i;
	}
	if (free_i == -1)
		return -1;
	memset(&a->links[free_i], 0, sizeof(a->links[free_i]));
	a->links[free_i].link = link;
	a->links[free_i].peer4 = a->links[free_i].peer6 = -1;
	a->links[free_i].peer = -1;
	if (a->s->link == -1)
		a->s->link = link;	/* the log line names the first */
	return free_i;
}

/* Route d (its addresses, if resolved, in res): pick its link. */
static void
s5u_route(struct s5u *a, struct s5u_dest *d, const struct sl_res_addr *res,
    size_t nres)
{
	struct sl_route	 r;
	const char	*why = NULL;
	size_t		 i;

	d->st = D_REFUSED;
	d->why = DROP_REFUSED;
	if (d->t.host[0] == '\0' && policy_target_denied(eg.conf,
	    (const struct sockaddr *)&d->t.addr) != NULL)
		return;
	session_route_target(a->s, &d->t, res, nres, &r);
	if (r.verdict != SL_ROUTE_OK) {
		d->why = r.verdict == SL_ROUTE_REFUSED ? DROP_REFUSED :
		    DROP_NOLINK;
		return;
	}
	d->why = DROP_NOLINK;
	for (i = 0; i < r.ncand; i++) {
		if (!udp_link_usable(eg.conf, (int)r.cand[i], &why))
			continue;
		if ((d->li = s5u_link_slot(a, (int)r.cand[i])) == -1)
			return;
		d->st = D_READY;
		return;
	}
	if (why != NULL)
		log_debug("session %llu: UDP: %s", (unsigned long long)a->s->id,
		    why);
}

/* Pick the address a direct link sends to: the first it has a socket for. */
static int
s5u_pick_addr(struct s5u *a, struct s5u_dest *d,
    const struct sl_res_addr *res, size_t nres)
{
	const struct sl_link	*l = &eg.conf->links[a->links[d->li].link];
	size_t			 i;

	for (i = 0; i < nres; i++) {
		int fam = res[i].family == 4 ? AF_INET : AF_INET6;

		if (l->sourcelen != 0 && l->source.ss_family != fam)
			continue;
		memset(&d->to, 0, sizeof(d->to));
		if (fam == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&d->to;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(d->t.port);
			memcpy(&sin->sin_addr, res[i].addr, 4);
		} else {
			struct sockaddr_in6 *sin6 = (void *)&d->to;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(d->t.port);
			memcpy(&sin6->sin6_addr, res[i].addr, 16);
		}
		d->tolen = sockaddr_len(fam);
		return 0;
	}
	return -1;
}

static void
s5u_resolved(struct res_req *rq, int status, const struct sl_msg *ans,
    void *arg)
{
	struct s5u_dest		*d = arg;
	struct s5u		*a = d->a;
	const struct sl_res_addr *res = NULL;
	size_t			 nres = 0;

	(void)rq;
	if (status == SL_RES_OK) {
		res = ans->u.res_answer.addrs;
		nres = ans->u.res_answer.naddrs;
		if (nres > SL_MAX_ADDRS)
			nres = SL_MAX_ADDRS;
	}
	s5u_route(a, d, res, nres);
	if (d->st == D_READY && eg.conf->links[a->links[d->li].link].proto ==
	    SL_LINK_DIRECT && (nres == 0 ||
	    s5u_pick_addr(a, d, res, nres) == -1)) {
		d->st = D_REFUSED;	/* direct, and no usable address */
		d->why = DROP_NOLINK;
	}
	if (a->held_dest == (int)(d - a->dests)) {
		a->held_dest = -1;
		s5u_dispatch(a, d, a->held + DGRAM_HEADROOM, a->heldlen);
	}
}

/* Keep the datagram for later (one per association). */
int
s5u_hold(struct s5u *a, struct s5u_dest *d, const uint8_t *p, size_t n)
{
	if (a->held_dest != -1)
		return -1;
	if (a->held == NULL &&
	    (a->held = malloc(DGRAM_HEADROOM + DGRAM_MAX)) == NULL)
		return -1;
	memmove(a->held + DGRAM_HEADROOM, p, n);
	a->heldlen = n;
	a->held_dest = (int)(d - a->dests);
	return 0;
}

/* A fresh entry for t: decide now, or start its lookup. */
void
s5u_dest_new(struct s5u *a, struct s5u_dest *d, const struct sl_target *t)
{
	char	name[SL_MAX_NAME + 1];
	size_t	i;

	resolve_cancel(&d->res);
	memset(d, 0, sizeof(*d));
	d->a = a;
	d->t = *t;
	d->expires = mono_ms() + S5U_DEST_TTL_MS;
	if (t->host[0] == '\0') {
		s5u_route(a, d, NULL, 0);
		d->to = t->addr;
		d->tolen = t->addrlen;
		return;
	}
	/* Names go upstream as given unless a matcher needs addresses. */
	if (!policy_needs_addresses(eg.conf)) {
		s5u_route(a, d, NULL, 0);
		if (d->st != D_READY || eg.conf->links[a->links[d->li].link].
		    proto != SL_LINK_DIRECT)
			return;
	}
	/* The resolver and its cache see the name in lower case. */
	for (i = 0; t->host[i] != '\0' && i < SL_MAX_NAME; i++)
		name[i] = (char)tolower((unsigned char)t->host[i]);
	name[i] = '\0';
	d->st = D_RESOLVING;
	if (resolve_start(&d->res, name, s5u_resolved, d) == -1) {
		d->st = D_REFUSED;
		d->why = DROP_NOLINK;
	}
}
