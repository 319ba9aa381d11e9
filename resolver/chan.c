/*
 * How the resolver talks to DNS: c-ares channels on the libev loop
 * (their sockets watched, their timeouts on one timer each), and the
 * parsing of the answers they get.
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
	struct rs_sock	*next;
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
	struct timeval	tv;

	if (ares_timeout(c->ch, NULL, &tv) == NULL) {
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
	ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rs_chan_rearm(c);
}

static void
rs_chan_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rs_sock	*s = container_of(w, struct rs_sock, io);
	struct rs_chan	*c = s->chan;
	ares_socket_t	 fd = s->fd;

	(void)loop;
	/* The watcher may be freed inside: do not touch s afterwards. */
	ares_process_fd(c->ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rs_chan_kick(c);	/* a retry (TC -> TCP) may have started */
}

static void
rs_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rs_chan	 *c = data;
	struct rs_sock	**pp, *s;

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
rs_chan_servers(struct rs_chan *c, const struct sl_nameserver *list,
    size_t n)
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
	if ((rc = ares_set_servers_ports(c->ch, ns)) != ARES_SUCCESS)
		fatalx("%s: %s: %s", __func__, c->what, ares_strerror(rc));
}

void
rs_chan_init(struct rs_chan *c, struct ev_loop *loop,
    const struct rs_chan_opts *co)
{
	struct ares_options	 o;
	char			*lookups = "b";
	int			 rc;

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->what = co->what;
	c->base = co->timeout_ms / 1000.0;
	ev_init(&c->timer, rs_chan_timer);
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = rs_sock_state;
	o.sock_state_cb_data = c;
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
	rc = ares_init_options(&c->ch, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_FLAGS | ARES_OPT_SOCK_RCVBUF);
	if (rc != ARES_SUCCESS)
		fatalx("%s: %s: %s", __func__, c->what, ares_strerror(rc));
	if (co->ns != NULL)
		rs_chan_servers(c, co->ns, co->nns);
}

void
rs_chan_query(struct rs_chan *c, const char *name, int type, int search,
    ares_callback cb, void *arg)
{
	if (search)
		ares_search(c->ch, name, RS_C_IN, type, cb, arg);
	else
		ares_query(c->ch, name, RS_C_IN, type, cb, arg);
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
