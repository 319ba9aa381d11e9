/*
 * Dialing a target through one egress link.
 *
 * A direct link connects from its source address to the target, trying
 * the target's addresses one after another.  A socks5 link is the outer
 * end of a chain: the innermost hop is reached directly (from the "via"
 * direct link's source, if any), then each hop is asked to CONNECT to the
 * next, and the outermost to the target.  Target names are passed to the
 * upstream untouched, so the last hop resolves them.  Replies from
 * upstreams are read exactly, never past their end, so bytes the target
 * sends at once stay in the socket for the relay.
 *
 * One timer bounds the whole dial: the link's connect timeout.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "dial.h"

static void	dial_resolved(struct res_req *, int, const struct sl_msg *,
		    void *);
static void	dial_connect_next(struct dial *);
static void	dial_io(struct ev_loop *, ev_io *, int);
static void	dial_s5_send_connect(struct dial *);

uint8_t
dial_errno_rep(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return S5_REP_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return S5_REP_NETUNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ETIMEDOUT:
		return S5_REP_HOSTUNREACH;
	case EAFNOSUPPORT:
		return S5_REP_ATYPUNSUPP;
	default:
		return S5_REP_FAIL;
	}
}

static void
dial_close_fd(struct dial *d)
{
	if (d->fd != -1) {
		ev_io_stop(d->loop, &d->io);
		close(d->fd);
		d->fd = -1;
	}
}

static void
dial_stop(struct dial *d)
{
	resolve_cancel(&d->res);
	ev_timer_stop(d->loop, &d->timer);
	dial_close_fd(d);
	d->phase = DIAL_IDLE;
}

static void
dial_fail(struct dial *d, uint8_t rep, const char *why)
{
	if (why != NULL && why != d->why) {
		size_t n = strnlen(why, sizeof(d->why) - 1);

		memmove(d->why, why, n);
		d->why[n] = '\0';
	}
	dial_stop(d);
	d->cb(d, -1, rep, NULL, d->why, d->arg);
}

static void
dial_succeed(struct dial *d)
{
	int	fd = d->fd;

	ev_io_stop(d->loop, &d->io);
	d->fd = -1;
	dial_stop(d);
	d->cb(d, fd, S5_REP_OK, &d->bound, NULL, d->arg);
}

/*
 * Failures found before the loop runs are reported from the loop, so a
 * caller never sees its callback run inside dial_start().
 */
static void
dial_fail_soon(struct dial *d, uint8_t rep, const char *why)
{
	d->last_rep = rep;
	if (why != d->why) {
		size_t n = strnlen(why, sizeof(d->why) - 1);

		memmove(d->why, why, n);
		d->why[n] = '\0';
	}
	d->phase = DIAL_IDLE;
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, 0., 0.);
	ev_timer_start(d->loop, &d->timer);
}

static void
dial_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = container_of(w, struct dial, timer);

	(void)loop;
	(void)revents;
	if (d->phase == DIAL_IDLE)
		dial_fail(d, d->last_rep, d->why);
	else
		dial_fail(d, S5_REP_HOSTUNREACH, "connect timeout");
}

/* Chain of socks5 hops for `link`, outer first; the direct base, if any. */
static int
dial_chain(struct dial *d)
{
	int	l = d->link;

	d->nhops = 0;
	d->base = -1;
	while (l != -1) {
		const struct sl_link *lk = &d->conf->links[l];

		if (lk->proto == SL_LINK_DIRECT) {
			d->base = l;
			break;
		}
		if (d->nhops > SL_MAX_CHAIN)
			return -1;
		d->hops[d->nhops++] = l;
		l = lk->via;
	}
	return 0;
}

/* Set the address list from an IP literal; 0 if name is not one. */
static int
dial_literal(struct dial *d, const char *name)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	if (sockaddr_from_ip(name, 0, &ss, &len) == -1)
		return 0;
	d->naddrs = 1;
	d->addrs[0].family = ss.ss_family == AF_INET ? 4 : 6;
	if (ss.ss_family == AF_INET)
		memcpy(d->addrs[0].addr,
		    &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(d->addrs[0].addr,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	return 1;
}

static void
dial_first_endpoint(struct dial *d)
{
	const char *name;

	if (d->nhops > 0) {
		const struct sl_link *hop = &d->conf->links[d->hops[d->nhops - 1]];

		name = hop->host;
		d->port = hop->port;
	} else if (d->target->atyp != S5_ATYP_DOMAIN) {
		const struct sockaddr *sa = (const void *)&d->target->addr;

		d->port = d->target->port;
		d->naddrs = 1;
		d->addrs[0].family = sa->sa_family == AF_INET ? 4 : 6;
		if (sa->sa_family == AF_INET)
			memcpy(d->addrs[0].addr,
			    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		else
			memcpy(d->addrs[0].addr,
			    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		dial_connect_next(d);
		return;
	} else {
		name = d->target->host;
		d->port = d->target->port;
	}
	if (dial_literal(d, name)) {
		dial_connect_next(d);
		return;
	}
	d->phase = DIAL_RESOLVE;
	if (resolve_start(&d->res, name, dial_resolved, d) == -1)
		dial_fail_soon(d, S5_REP_HOSTUNREACH, "resolver unavailable");
}

void
dial_start(struct dial *d, struct ev_loop *loop, const struct sl_conf *conf,
    int link, const struct socks5_request *target, dial_cb cb, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->conf = conf;
	d->link = link;
	d->target = target;
	d->fd = -1;
	d->cb = cb;
	d->arg = arg;
	d->last_rep = S5_REP_HOSTUNREACH;
	ev_timer_init(&d->timer, dial_timeout,
	    conf->links[link].timeout_ms / 1000.0, 0.);
	ev_timer_start(loop, &d->timer);
	if (dial_chain(d) == -1) {
		dial_fail_soon(d, S5_REP_FAIL, "link chain too deep");
		return;
	}
	if (d->base != -1 && conf->links[d->base].interface[0] != '\0') {
		dial_fail_soon(d, S5_REP_FAIL, "interface links need the "
		    "routing engine (not built yet)");
		return;
	}
	dial_first_endpoint(d);
}

void
dial_cancel(struct dial *d)
{
	if (d->loop != NULL)
		dial_stop(d);
}

static void
dial_resolved(struct res_req *r, int status, const struct sl_msg *ans,
    void *arg)
{
	struct dial	*d = arg;

	(void)r;
	if (status != SL_RES_OK || ans->u.res_answer.naddrs == 0) {
		snprintf(d->why, sizeof(d->why), "cannot resolve %s: %s",
		    d->nhops > 0 ? d->conf->links[d->hops[d->nhops - 1]].host :
		    d->target->host, status == SL_RES_NXDOMAIN ? "no such name" :
		    status == SL_RES_TIMEOUT ? "timeout" : "lookup failed");
		dial_fail(d, S5_REP_HOSTUNREACH, d->why);
		return;
	}
	d->naddrs = ans->u.res_answer.naddrs;
	if (d->naddrs > SL_MAX_ADDRS)
		d->naddrs = SL_MAX_ADDRS;
	memcpy(d->addrs, ans->u.res_answer.addrs, d->naddrs * sizeof(d->addrs[0]));
	d->iaddr = 0;
	dial_connect_next(d);
}

static socklen_t
dial_sockaddr(const struct sl_res_addr *a, uint16_t port,
    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->addr, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->addr, 16);
	return sizeof(*sin6);
}

/* Open, bind and start connecting one socket; errno on -1. */
static int
dial_open(struct dial *d, const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sl_link	*base = d->base != -1 ?
				    &d->conf->links[d->base] : NULL;
	int			 one = 1;

	if (base != NULL && base->sourcelen != 0 &&
	    base->source.ss_family != ss->ss_family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	d->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (d->fd == -1)
		return -1;
	(void)setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((base != NULL && base->sourcelen != 0 &&
	    bind(d->fd, (const struct sockaddr *)&base->source,
	    base->sourcelen) == -1) ||
	    (connect(d->fd, (const struct sockaddr *)ss, len) == -1 &&
	    errno != EINPROGRESS)) {
		int saved = errno;

		close(d->fd);
		d->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

static void
dial_connect_next(struct dial *d)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			a[SL_ADDRSTRLEN];

	d->phase = DIAL_CONNECT;
	while (d->iaddr < d->naddrs) {
		len = dial_sockaddr(&d->addrs[d->iaddr++], d->port, &ss);
		if (dial_open(d, &ss, len) == 0) {
			ev_io_init(&d->io, dial_io, d->fd, EV_WRITE);
			ev_io_start(d->loop, &d->io);
			return;
		}
		d->last_rep = dial_errno_rep(errno);
		snprintf(d->why, sizeof(d->why), "connect %s: %s",
		    sockaddr_fmt((struct sockaddr *)&ss, a, sizeof(a)),
		    strerror(errno));
	}
	dial_fail_soon(d, d->last_rep, d->why);
}

/* Queue bytes for the current hop and wait until they are written. */
static void
dial_send(struct dial *d, enum dial_phase next, size_t len)
{
	d->phase = next;
	d->len = len;
	d->off = 0;
	d->need = 0;
	ev_io_stop(d->loop, &d->io);
	ev_io_set(&d->io, d->fd, EV_WRITE);
	ev_io_start(d->loop, &d->io);
}

static void
dial_expect(struct dial *d, size_t need)
{
	d->len = 0;
	d->need = need;
	ev_io_stop(d->loop, &d->io);
	ev_io_set(&d->io, d->fd, EV_READ);
	ev_io_start(d->loop, &d->io);
}

static const struct sl_link *
dial_hop(const struct dial *d)
{
	return &d->conf->links[d->hops[d->ihop]];
}

static void
dial_s5_begin(struct dial *d)
{
	size_t n = socks5_build_greeting(d->buf, dial_hop(d)->username[0] != 0);

	dial_send(d, DIAL_S5_METHOD, n);
}

static void
dial_connected(struct dial *d)
{
	socklen_t	len = sizeof(d->bound);
	int		err = 0;
	socklen_t	elen = sizeof(err);
	char		a[SL_ADDRSTRLEN];

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0) {
		struct sockaddr_storage ss;

		dial_sockaddr(&d->addrs[d->iaddr - 1], d->port, &ss);
		d->last_rep = dial_errno_rep(err);
		snprintf(d->why, sizeof(d->why), "connect %s: %s",
		    sockaddr_fmt((struct sockaddr *)&ss, a, sizeof(a)),
		    strerror(err));
		dial_close_fd(d);
		dial_connect_next(d);
		return;
	}
	if (d->nhops == 0) {
		if (getsockname(d->fd, (struct sockaddr *)&d->bound, &len) == -1)
			memset(&d->bound, 0, sizeof(d->bound));
		dial_succeed(d);
		return;
	}
	d->ihop = d->nhops - 1;
	dial_s5_begin(d);
}

/* A complete message from the current hop is in d->buf[0..d->len). */
static void
dial_s5_input(struct dial *d)
{
	const struct sl_link	*hop = dial_hop(d);
	uint8_t			 v;
	int			 n;

	switch (d->phase) {
	case DIAL_S5_METHOD:
		if (socks5_parse_method_reply(d->buf, d->len, &v) <= 0 ||
		    (v != S5_AUTH_NONE && !(v == S5_AUTH_USERPASS &&
		    hop->username[0] != '\0'))) {
			snprintf(d->why, sizeof(d->why), "upstream %s: no "
			    "acceptable authentication method", hop->name);
			dial_fail(d, S5_REP_FAIL, d->why);
		} else if (v == S5_AUTH_USERPASS) {
			n = socks5_build_userpass(d->buf, sizeof(d->buf),
			    hop->username, hop->password);
			if (n < 0)
				dial_fail(d, S5_REP_FAIL, "credentials too long");
			else
				dial_send(d, DIAL_S5_AUTH, (size_t)n);
		} else
			dial_s5_send_connect(d);
		break;
	case DIAL_S5_AUTH:
		if (socks5_parse_userpass_reply(d->buf, d->len, &v) <= 0 ||
		    v != 0) {
			snprintf(d->why, sizeof(d->why), "upstream %s: "
			    "authentication failed", hop->name);
			dial_fail(d, S5_REP_FAIL, d->why);
		} else
			dial_s5_send_connect(d);
		break;
	default:
		n = socks5_parse_reply(d->buf, d->len, &v, &d->bound);
		if (n <= 0 || v != S5_REP_OK) {
			snprintf(d->why, sizeof(d->why), "upstream %s: %s %u",
			    hop->name, n <= 0 ? "bad reply" : "replied", v);
			dial_fail(d, n <= 0 || v > S5_REP_ATYPUNSUPP ?
			    S5_REP_FAIL : v, d->why);
		} else if (d->ihop-- == 0)
			dial_succeed(d);
		else
			dial_s5_begin(d);
	}
}

static void
dial_s5_send_connect(struct dial *d)
{
	const struct socks5_request	*t = d->target;
	int				 n;

	if (d->ihop > 0) {
		const struct sl_link *next = &d->conf->links[d->hops[d->ihop - 1]];
		struct sockaddr_storage ss;
		socklen_t len;

		if (sockaddr_from_ip(next->host, next->port, &ss, &len) == 0)
			n = socks5_build_connect(d->buf, sizeof(d->buf), NULL,
			    (struct sockaddr *)&ss, next->port);
		else
			n = socks5_build_connect(d->buf, sizeof(d->buf),
			    next->host, NULL, next->port);
	} else if (t->atyp == S5_ATYP_DOMAIN)
		n = socks5_build_connect(d->buf, sizeof(d->buf), t->host, NULL,
		    t->port);
	else
		n = socks5_build_connect(d->buf, sizeof(d->buf), NULL,
		    (const struct sockaddr *)&t->addr, t->port);
	if (n < 0) {
		dial_fail(d, S5_REP_FAIL, "cannot encode upstream request");
		return;
	}
	dial_send(d, DIAL_S5_CONNECT, (size_t)n);
}

/* How many bytes the message being read needs in total, 0 if unknown. */
static size_t
dial_s5_need(const struct dial *d)
{
	if (d->phase != DIAL_S5_CONNECT)
		return 2;
	if (d->len < 5)
		return 5;
	switch (d->buf[3]) {
	case S5_ATYP_IPV4:
		return 10;
	case S5_ATYP_IPV6:
		return 22;
	case S5_ATYP_DOMAIN:
		return 7 + (size_t)d->buf[4];
	default:
		return d->len;		/* let the parser reject it */
	}
}

static void
dial_read(struct dial *d)
{
	ssize_t	n;

	for (;;) {
		d->need = dial_s5_need(d);
		if (d->len >= d->need) {
			dial_s5_input(d);
			return;
		}
		n = read(d->fd, d->buf + d->len, d->need - d->len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			snprintf(d->why, sizeof(d->why), "upstream %s: %s",
			    dial_hop(d)->name, n == 0 ? "closed" :
			    strerror(errno));
			dial_fail(d, S5_REP_FAIL, d->why);
			return;
		}
		d->len += (size_t)n;
	}
}

static void
dial_write(struct dial *d)
{
	ssize_t	n;

	n = send(d->fd, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		snprintf(d->why, sizeof(d->why), "upstream %s: %s",
		    dial_hop(d)->name, strerror(errno));
		dial_fail(d, S5_REP_FAIL, d->why);
		return;
	}
	d->off += (size_t)n;
	if (d->off == d->len)
		dial_expect(d, 2);
}

static void
dial_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = container_of(w, struct dial, io);

	(void)loop;
	(void)revents;
	if (d->phase == DIAL_CONNECT)
		dial_connected(d);
	else if (d->need == 0)
		dial_write(d);
	else
		dial_read(d);
}
