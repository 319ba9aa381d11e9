/*
 * How the resolver talks to DNS: c-ares channels on the libev loop
 * (their sockets watched, their timeouts on one timer each), and the
 * parsing of the answers they get.
 *
 * Source ports: c-ares 1.18 sends every query to a server from one UDP
 * socket for as long as the channel lives (it has no
 * ARES_OPT_UDP_MAX_QUERIES), so a spoofer who learns the port keeps it.
 * Each server channel therefore holds two c-ares channels that take
 * turns: after RS_TURN_QUERIES queries the other one, once it has no
 * query left, gets its servers set again (ares_set_servers_ports, memory
 * only: no file is read after lockdown), which closes its sockets, and
 * takes the new queries from fresh sockets on new random ports.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "../common/log.h"
#include "../common/util.h"
#include "engine.h"

#define RS_RCVBUF		(1 << 20)	/* DNS socket receive buffer */

struct rs_sock {
	ev_io		 io;
	ares_socket_t	 fd;
	struct rs_chan	*chan;
	int		 half;		/* whose socket: ch[half] */
	struct rs_sock	*next;
};

/* A query on its way: the caller's callback, and whose it is. */
struct rs_query {
	struct rs_chan	*c;
	int		 half;
	ares_callback	 cb;
	void		*arg;
};

/* ---- c-ares channels on the loop ---- */

static void
rs_chan_arm(struct rs_chan *c, double after)
{
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, after, 0.);
	ev_timer_start(c->loop, &c->timer);
}

/*
 * ares_timeout() walks every query (c-ares 1.18), so it runs once per
 * timer expiry, not per event: with thousands of lookups in flight a
 * call per packet would stall the loop.
 */
static void
rs_chan_rearm(struct rs_chan *c)
{
	struct timeval	tv, *first = NULL;

	first = ares_timeout(c->ch[0], NULL, &tv);
	first = ares_timeout(c->ch[1], first, &tv);
	if (first == NULL) {
		ev_timer_stop(c->loop, &c->timer);
		return;
	}
	/* +1 ms: libev's cached clock may fire us just before c-ares's. */
	rs_chan_arm(c, tv.tv_sec + tv.tv_usec / 1e6 + 0.001);
}

/*
 * New attempts time out after `base` at the earliest, and the timer is
 * never later than the earliest pending timeout: so it only ever has to
 * be brought forward to base.
 */
static void
rs_chan_kick(struct rs_chan *c)
{
	if (!ev_is_active(&c->timer) ||
	    ev_timer_remaining(c->loop, &c->timer) > c->base)
		rs_chan_arm(c, c->base);
}

static void
rs_chan_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rs_chan *c = container_of(w, struct rs_chan, timer);

	(void)loop;
	(void)revents;
	ares_process_fd(c->ch[0], ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ares_process_fd(c->ch[1], ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rs_chan_rearm(c);
}

static void
rs_chan_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rs_sock	*s = container_of(w, struct rs_sock, io);
	struct rs_chan	*c = s->chan;
	ares_socket_t	 fd = s->fd;
	ares_channel	 ch = c->ch[s->half];

	(void)loop;
	/* The watcher may be freed inside: do not touch s afterwards. */
	ares_process_fd(ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rs_chan_kick(c);	/* a retry (TC -> TCP) may have started */
}

static void
rs_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rs_chan_half	 *h = data;
	struct rs_chan		 *c = h->c;
	struct rs_sock		**pp, *s;

	for (pp = &c->socks; (s = *pp) != NULL && s->fd != fd; pp = &s->next)
		;
	if (!readable && !writable) {
		if (s != NULL) {
			ev_io_stop(c->loop, &s->io);
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("%s: calloc", __func__);
		s->fd = fd;
		s->chan = c;
		s->half = h->i;
		s->next = c->socks;
		c->socks = s;
		ev_init(&s->io, rs_chan_io);
	}
	ev_io_stop(c->loop, &s->io);
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0));
	ev_io_start(c->loop, &s->io);
}

static void
rs_chan_servers(struct rs_chan *c, ares_channel ch,
    const struct sl_nameserver *list, size_t n)
{
	struct ares_addr_port_node	ns[16];
	size_t				i;
	int				rc;

	memset(ns, 0, sizeof(ns));
	for (i = 0; i < n && i < nitems(ns); i++) {
		const struct sockaddr *sa = (const void *)&list[i].addr;

		ns[i].family = sa->sa_family;
		if (sa->sa_family == AF_INET)
			memcpy(&ns[i].addr.addr4, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, 4);
		else
			memcpy(&ns[i].addr.addr6, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, 16);
		ns[i].udp_port = ns[i].tcp_port = sockaddr_port(sa);
		ns[i].next = i + 1 < n && i + 1 < nitems(ns) ? &ns[i + 1] :
		    NULL;
	}
	if ((rc = ares_set_servers_ports(ch, ns)) != ARES_SUCCESS)
		fatalx("%s: %s: %s", __func__, c->what, ares_strerror(rc));
}

/* One of c's c-ares channels, with its servers. */
static void
rs_chan_make(struct rs_chan *c, const struct rs_chan_opts *co,
    ares_channel *ch, struct rs_chan_half *h)
{
	struct ares_options	 o;
	char			*lookups = "b";
	int			 rc;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = rs_sock_state;
	o.sock_state_cb_data = h;
	o.lookups = lookups;
	o.timeout = co->timeout_ms;
	o.tries = co->tries;
	/* HOSTALIASES would make c-ares open a file after lockdown. */
	o.flags = ARES_FLAG_NOALIASES | co->flags;
	/*
	 * One UDP socket per server carries every query: a burst of
	 * answers overflows the default 208 KiB buffer at a few hundred
	 * lookups in flight, and each lost answer costs a retry timeout.
	 * The kernel caps this at net.core.rmem_max.
	 */
	o.socket_receive_buffer_size = RS_RCVBUF;
	rc = ares_init_options(ch, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_FLAGS | ARES_OPT_SOCK_RCVBUF);
	if (rc != ARES_SUCCESS)
		fatalx("%s: %s: %s", __func__, c->what, ares_strerror(rc));
	if (co->ns != NULL)
		rs_chan_servers(c, *ch, co->ns, co->nns);
}

void
rs_chan_init(struct rs_chan *c, struct ev_loop *loop,
    const struct rs_chan_opts *co)
{
	int	i;

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->what = co->what;
	c->base = co->timeout_ms / 1000.0;
	ev_init(&c->timer, rs_chan_timer);
	for (i = 0; i < 2; i++) {
		c->half[i].c = c;
		c->half[i].i = i;
		rs_chan_make(c, co, &c->ch[i], &c->half[i]);
	}
}

/* A query is over: count it, then the caller's callback. */
static void
rs_chan_done(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct rs_query	*q = arg;

	q->c->pending[q->half]--;
	q->cb(q->arg, status, timeouts, abuf, alen);
	free(q);
}

/*
 * ch[i] has no query left: set its servers again, which closes its
 * sockets (c-ares calls rs_sock_state for each), so its next queries go
 * out from new sockets.  0, or -1 (it keeps the old ones).
 */
static int
rs_chan_fresh(struct rs_chan *c, int i)
{
	struct ares_addr_port_node	*list = NULL;
	int				 rc;

	if (ares_get_servers_ports(c->ch[i], &list) != ARES_SUCCESS)
		return -1;
	rc = ares_set_servers_ports(c->ch[i], list);
	ares_free_data(list);
	if (rc != ARES_SUCCESS) {
		log_debug("%s: new sockets: %s", c->what, ares_strerror(rc));
		return -1;
	}
	c->turns++;
	return 0;
}

void
rs_chan_query(struct rs_chan *c, const char *name, int type, int search,
    ares_callback cb, void *arg)
{
	struct rs_query	*q;
	int		 other = 1 - c->cur;

	/* Time to turn, when the other one is done with its queries. */
	if (c->sent >= RS_TURN_QUERIES && c->pending[other] == 0 &&
	    rs_chan_fresh(c, other) == 0) {
		c->cur = other;
		c->sent = 0;
	}
	if ((q = malloc(sizeof(*q))) == NULL) {
		cb(arg, ARES_ENOMEM, 0, NULL, 0);
		return;
	}
	q->c = c;
	q->half = c->cur;
	q->cb = cb;
	q->arg = arg;
	c->sent++;
	c->pending[c->cur]++;
	if (search)
		ares_search(c->ch[c->cur], name, RS_C_IN, type, rs_chan_done,
		    q);
	else
		ares_query(c->ch[c->cur], name, RS_C_IN, type, rs_chan_done,
		    q);
	rs_chan_kick(c);
}

size_t
rs_system_servers(void)
{
	struct ares_addr_port_node	*list, *p;
	ares_channel			 ch;
	size_t				 n = 0;

	if (ares_init(&ch) != ARES_SUCCESS)
		return 1;
	if (ares_get_servers_ports(ch, &list) == ARES_SUCCESS) {
		for (p = list; p != NULL; p = p->next)
			n++;
		ares_free_data(list);
	}
	ares_destroy(ch);
	return n > 0 ? n : 1;
}

/* ---- answers ---- */

int
rs_parse_addrs(int type, const unsigned char *abuf, int alen,
    struct sl_res_addr *out, uint32_t cap, uint32_t *n, uint32_t *ttl)
{
	struct ares_addrttl	t4[SL_MAX_ADDRS];
	struct ares_addr6ttl	t6[SL_MAX_ADDRS];
	int			k = SL_MAX_ADDRS, rc, i;

	*n = 0;
	if (abuf == NULL || alen < 12 || alen > 65535)
		return ARES_EBADRESP;
	if (type == RS_T_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, t4, &k);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t6, &k);
	if (rc == ARES_ENODATA)
		return ARES_ENODATA;
	if (rc != ARES_SUCCESS || k < 0 || k > SL_MAX_ADDRS)
		return ARES_EBADRESP;
	for (i = 0; i < k && *n < cap; i++) {
		int t = type == RS_T_A ? t4[i].ttl : t6[i].ttl;

		memset(&out[*n], 0, sizeof(out[*n]));
		out[*n].family = type == RS_T_A ? 4 : 6;
		if (type == RS_T_A)
			memcpy(out[*n].addr, &t4[i].ipaddr, 4);
		else
			memcpy(out[*n].addr, &t6[i].ip6addr, 16);
		(*n)++;
		if (t < 0)
			t = 0;		/* c-ares stores 32 bits in an int */
		if ((uint32_t)t < *ttl)
			*ttl = (uint32_t)t;
	}
	return *n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}
