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
	sockreq_cancel(&d->sreq);
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
	else {
		/* A name that never resolves is not the link's fault. */
		d->link_fault = d->phase != DIAL_RESOLVE;
		dial_fail(d, S5_REP_HOSTUNREACH, d->phase == DIAL_RESOLVE ?
		    "lookup timeout" : "connect timeout");
	}
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
    int link, const struct socks5_request *target,
    const struct sl_res_addr *pre, uint32_t npre, dial_cb cb, void *arg)
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
	if (d->nhops == 0 && npre > 0 && target->atyp == S5_ATYP_DOMAIN) {
		d->naddrs = npre > SL_MAX_ADDRS ? SL_MAX_ADDRS : npre;
		memcpy(d->addrs, pre, d->naddrs * sizeof(d->addrs[0]));
		d->port = target->port;
		dial_connect_next(d);
		return;
	}
	dial_first_endpoint(d);
}

void
dial_set_timeout(struct dial *d, uint32_t ms)
{
	if (d->phase == DIAL_IDLE)
		return;		/* already failing: leave its timer alone */
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, ms / 1000.0, 0.);
	ev_timer_start(d->loop, &d->timer);
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
		d->link_fault = d->nhops > 0;	/* the proxy's own name */
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

/* Start connecting d->fd to d->cur; -1 with errno (fd closed). */
static int
dial_connect_fd(struct dial *d)
{
	int	one = 1, saved;

	(void)setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(d->fd, (const struct sockaddr *)&d->cur, d->curlen) == 0 ||
	    errno == EINPROGRESS) {
		ev_io_init(&d->io, dial_io, d->fd, EV_WRITE);
		ev_io_start(d->loop, &d->io);
		return 0;
	}
	saved = errno;
	close(d->fd);
	d->fd = -1;
	errno = saved;
	return -1;
}

/* Open and bind a socket for d->cur ourselves; errno on -1. */
static int
dial_open(struct dial *d)
{
	const struct sl_link	*base = d->base != -1 ?
				    &d->conf->links[d->base] : NULL;

	d->fd = socket(d->cur.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (d->fd == -1)
		return -1;
	if (base != NULL && base->sourcelen != 0 &&
	    bind(d->fd, (const struct sockaddr *)&base->source,
	    base->sourcelen) == -1) {
		int saved = errno;

		close(d->fd);
		d->fd = -1;
		errno = saved;
		return -1;
	}
	return dial_connect_fd(d);
}

/*
 * Whether a failed connect says something about the link rather than the
 * target: an upstream proxy that cannot be reached is the link's fault;
 * a target refusing or unreachable from a working line is not.
 */
static int
dial_errno_link_fault(const struct dial *d, int err)
{
	if (d->nhops > 0)
		return 1;
	return err != ECONNREFUSED && err != EHOSTUNREACH;
}

static void
dial_note_error(struct dial *d, int err)
{
	char	a[SL_ADDRSTRLEN];

	d->link_fault = dial_errno_link_fault(d, err);
	d->last_rep = dial_errno_rep(err);
	snprintf(d->why, sizeof(d->why), "connect %s: %s",
	    sockaddr_fmt((struct sockaddr *)&d->cur, a, sizeof(a)),
	    strerror(err));
}

/* The master made the interface-bound socket (or could not). */
static void
dial_got_socket(struct sock_req *r, int fd, int err, void *arg)
{
	struct dial *d = arg;

	(void)r;
	if (fd == -1) {
		dial_note_error(d, err);
		dial_connect_next(d);
		return;
	}
	d->phase = DIAL_CONNECT;
	d->fd = fd;
	if (dial_connect_fd(d) == -1) {
		dial_note_error(d, errno);
		dial_connect_next(d);
	}
}

/*
 * Try the next address.  A base link bound to an interface needs a
 * socket from the master (the worker holds no CAP_NET_RAW); anything
 * else the worker opens itself.
 */
static void
dial_connect_next(struct dial *d)
{
	const struct sl_link	*base = d->base != -1 ?
				    &d->conf->links[d->base] : NULL;

	d->phase = DIAL_CONNECT;
	while (d->iaddr < d->naddrs) {
		d->curlen = dial_sockaddr(&d->addrs[d->iaddr++], d->port,
		    &d->cur);
		if (base != NULL && base->sourcelen != 0 &&
		    base->source.ss_family != d->cur.ss_family) {
			dial_note_error(d, EAFNOSUPPORT);
			continue;
		}
		if (base != NULL && base->interface[0] != '\0') {
			if (sockreq_start(&d->sreq, (uint32_t)d->base,
			    d->cur.ss_family == AF_INET ? 4 : 6,
			    dial_got_socket, d) == 0) {
				d->phase = DIAL_SOCKET;
				return;
			}
			dial_note_error(d, EAGAIN);
			continue;
		}
		if (dial_open(d) == 0)
			return;
		dial_note_error(d, errno);
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
	/* Until the hop answers a CONNECT, a failure is the link's. */
	d->link_fault = 1;
	size_t n = socks5_build_greeting(d->buf, dial_hop(d)->username[0] != 0);

	dial_send(d, DIAL_S5_METHOD, n);
}

static void
dial_connected(struct dial *d)
{
	socklen_t	len = sizeof(d->bound);
	int		err = 0;
	socklen_t	elen = sizeof(err);

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0) {
		dial_note_error(d, err);
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
		/* The upstream answered properly: a refusal is the target's. */
		if (n > 0 && v != S5_REP_OK)
			d->link_fault = 0;
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
