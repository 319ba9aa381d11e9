/*
 * The worker's side of the control socket: listing and killing its
 * sessions for the master (CTL_QUERY, answered by CTL_ROW frames and a
 * CTL_DONE), and a listener's clients changed at run time (CTL_ALLOW).
 *
 * Sessions are listed by serial (s->id) above the master's cursor,
 * at most `max` per answer, so a page never needs more than one query
 * per worker and the master holds at most one page.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "../policy/select.h"
#include "worker.h"

static int
ctl_client_match(const struct sl_ctl_cidr *c, const struct sockaddr *sa)
{
	struct sl_cidr	x;

	memset(&x, 0, sizeof(x));
	x.family = c->family == 4 ? AF_INET : AF_INET6;
	memcpy(x.addr, c->addr, sizeof(x.addr));
	x.prefix = c->prefix;
	return policy_cidrs_match(&x, 1, sa);
}

static int
ctl_match(const struct session *s, const struct sl_msg *m)
{
	char	t[SL_CTL_TARGET_MAX + 1];

	if (m->u.ctl_query.serial != 0 && s->id != m->u.ctl_query.serial)
		return 0;
	if (m->u.ctl_query.listener != SL_CTL_ANY &&
	    (uint32_t)(s->listener - wk->conf->listeners) !=
	    m->u.ctl_query.listener)
		return 0;
	if (m->u.ctl_query.link != SL_CTL_ANY &&
	    (s->link < 0 || (uint32_t)s->link != m->u.ctl_query.link))
		return 0;
	if (m->u.ctl_query.client.family != 0 &&
	    !ctl_client_match(&m->u.ctl_query.client,
	    (const struct sockaddr *)&s->client))
		return 0;
	if (m->u.ctl_query.user[0] != '\0' && (s->user == NULL ||
	    strcmp(s->user, m->u.ctl_query.user) != 0))
		return 0;
	if (m->u.ctl_query.target[0] != '\0') {
		session_target_fmt(s, t, sizeof(t));
		if (strcasestr(t, m->u.ctl_query.target) == NULL)
			return 0;
	}
	return 1;
}

static void
ctl_row(struct sl_msg *r, const struct session *s, uint64_t now)
{
	const struct sockaddr_storage	*ss = (const void *)&s->client;

	memset(&r->u, 0, sizeof(r->u));
	r->u.ctl_row.serial = s->id;
	r->u.ctl_row.listener = (uint32_t)(s->listener - wk->conf->listeners);
	r->u.ctl_row.link = s->link >= 0 ? (uint32_t)s->link : SL_CTL_ANY;
	r->u.ctl_row.state = (uint8_t)s->state;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		r->u.ctl_row.family = 4;
		memcpy(r->u.ctl_row.addr, &sin->sin_addr, 4);
		r->u.ctl_row.port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		r->u.ctl_row.family = 6;
		memcpy(r->u.ctl_row.addr, &sin6->sin6_addr, 16);
		r->u.ctl_row.port = ntohs(sin6->sin6_port);
	}
	r->u.ctl_row.age_ms = now - s->t_start;
	r->u.ctl_row.idle_ms = r->u.ctl_row.age_ms;
	if (s->state == S_RELAY) {
		r->u.ctl_row.up = s->relay.up.bytes;
		r->u.ctl_row.down = s->relay.down.bytes;
		if (s->relay.last_io > 0 && ev_now(wk->loop) >= s->relay.last_io)
			r->u.ctl_row.idle_ms = (uint64_t)((ev_now(wk->loop) -
			    s->relay.last_io) * 1000.0);
	}
	session_target_fmt(s, r->u.ctl_row.target,
	    sizeof(r->u.ctl_row.target));
	if (s->user != NULL)
		snprintf(r->u.ctl_row.user, sizeof(r->u.ctl_row.user), "%s",
		    s->user);
}

/*
 * A max-heap by serial of at most max sessions: the max smallest serials
 * seen.  No qsort(3): glibc's asks sysconf(_SC_PHYS_PAGES) for large
 * arrays, a syscall the worker's filter kills, and this needs no
 * allocation beyond the heap itself.
 */
static void
heap_down(struct session **h, size_t n, size_t i)
{
	struct session	*tmp;
	size_t		 c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && h[c + 1]->id > h[c]->id)
			c++;
		if (h[i]->id >= h[c]->id)
			return;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

static void
heap_push(struct session **h, size_t n, struct session *s)
{
	struct session	*tmp;
	size_t		 i = n, p;

	h[i] = s;
	while (i > 0 && h[p = (i - 1) / 2]->id < h[i]->id) {
		tmp = h[p];
		h[p] = h[i];
		h[i] = tmp;
		i = p;
	}
}

/* Heap to ascending order, in place. */
static void
heap_sort(struct session **h, size_t n)
{
	struct session	*tmp;

	while (n > 1) {
		tmp = h[0];
		h[0] = h[--n];
		h[n] = tmp;
		heap_down(h, n, 0);
	}
}

static void
ctl_done(uint32_t id, uint32_t matched, uint32_t killed, int more)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_CTL_DONE;
	m.id = id;
	m.fd = -1;
	m.u.ctl_done.matched = matched;
	m.u.ctl_done.killed = killed;
	m.u.ctl_done.more = more ? 1 : 0;
	if (ipc_chan_send(wk->master, &m) == -1)
		log_warnx("control: cannot answer the master");
}

/* The matching sessions above the cursor, by serial, up to max. */
static void
ctl_list(const struct sl_msg *m)
{
	struct session	*v[SL_CTL_MAX_ROWS], *s;
	struct sl_msg	 r;
	size_t		 n = 0, k = 0, i, max = m->u.ctl_query.max;
	uint64_t	 now = mono_ms();

	TAILQ_FOREACH(s, &wk->sessions, entry) {
		if (s->id <= m->u.ctl_query.after || !ctl_match(s, m))
			continue;
		n++;
		if (k < max)
			heap_push(v, k++, s);
		else if (max > 0 && s->id < v[0]->id) {
			v[0] = s;
			heap_down(v, k, 0);
		}
	}
	heap_sort(v, k);
	memset(&r, 0, sizeof(r));
	r.type = SL_MSG_CTL_ROW;
	r.id = m->id;
	r.fd = -1;
	for (i = 0; i < k; i++) {
		ctl_row(&r, v[i], now);
		if (ipc_chan_send(wk->master, &r) == -1)
			break;
	}
	ctl_done(m->id, (uint32_t)n, 0, n > i);
}

static void
ctl_kill(const struct sl_msg *m)
{
	struct session	*s, *next;
	uint32_t	 killed = 0;

	for (s = TAILQ_FIRST(&wk->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!ctl_match(s, m))
			continue;
		session_detail(s, "killed through the control socket");
		killed++;
		/* The last session of a draining worker exits it. */
		if (wk->draining && wk->nsessions == 1)
			ctl_done(m->id, killed, killed, 0);
		session_close(s, "killed");
	}
	ctl_done(m->id, killed, killed, 0);
}

void
ctl_query(const struct sl_msg *m)
{
	if (m->u.ctl_query.op == SL_CTL_KILL)
		ctl_kill(m);
	else
		ctl_list(m);
}

/*
 * A listener's clients, replaced in full.  A tproxy listener's UDP twin
 * shares the array, so every listener holding the old one gets the new.
 */
void
ctl_allow(const struct sl_msg *m)
{
	struct sl_listener	*l;
	struct sl_cidr		*v = NULL, *old;
	uint32_t		 i, n = m->u.ctl_allow.n;

	if (m->u.ctl_allow.listener >= wk->conf->nlisteners)
		return;
	l = &wk->conf->listeners[m->u.ctl_allow.listener];
	if (l->borrowed)
		return;
	old = l->clients;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL) {
		log_warnx("control: no memory for %s's clients", l->name);
		return;
	}
	for (i = 0; i < n; i++) {
		v[i].family = m->u.ctl_allow.cidrs[i].family == 4 ? AF_INET :
		    AF_INET6;
		memcpy(v[i].addr, m->u.ctl_allow.cidrs[i].addr, 16);
		v[i].prefix = m->u.ctl_allow.cidrs[i].prefix;
	}
	for (i = 0; i < wk->conf->nlisteners; i++)
		if (wk->conf->listeners[i].clients == old && old != NULL &&
		    &wk->conf->listeners[i] != l) {
			wk->conf->listeners[i].clients = v;
			wk->conf->listeners[i].nclients = n;
		}
	l->clients = v;
	l->nclients = n;
	free(old);
	log_debug("listener %s: %u clients", l->name, n);
}
