/*
 * Datagrams over a link (see udp.h): direct sockets, and a small SOCKS5
 * UDP ASSOCIATE client for socks5 links.
 *
 * The upstream client tries the upstream's addresses one after another
 * (no racing: an association is set up once and lives long), all within
 * the link's `timeout`.  Its UDP socket is made and bound before the
 * request, on the local address of the control connection (or the `via`
 * link's source), so the request can announce exactly where our
 * datagrams will come from and a strict upstream can pin it.  A relay
 * address of 0.0.0.0 or :: in the reply means "the address you reached
 * me on" (Dante, ssh and sluice itself answer the real one; some answer
 * zeros).  Every reply is checked with the proto/ parsers; bytes the
 * upstream sends on the control connection once it is ready, or its EOF,
 * end the association.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/util.h"
#include "udp.h"

static void	up_io(struct ev_loop *, ev_io *, int);
static void	up_connect_next(struct udp_up *);
static void	up_want(struct udp_up *, int);

/* The direct link an upstream is reached from, or NULL (none). */
static const struct sl_link *
up_base(const struct sl_conf *conf, int link)
{
	int	via = conf->links[link].via;

	return via >= 0 ? &conf->links[via] : NULL;
}

int
udp_link_usable(const struct sl_conf *conf, int link, const char **why)
{
	const struct sl_link	*l = &conf->links[link];
	const struct sl_link	*b;

	if (l->proto == SL_LINK_DIRECT) {
		if (l->interface[0] != '\0') {
			*why = "UDP over an interface link is not supported";
			return 0;
		}
		return 1;
	}
	b = up_base(conf, link);
	if (b != NULL && b->proto != SL_LINK_DIRECT) {
		*why = "UDP through a chain of upstreams is not supported";
		return 0;
	}
	if (b != NULL && b->interface[0] != '\0') {
		*why = "UDP over an interface link is not supported";
		return 0;
	}
	return 1;
}

static int
udp_socket(int family)
{
	int	fd, one = 1;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &one, sizeof(one)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Bind to a source address with port 0: every association needs its own
 * port, so a link's source_port applies to TCP only.
 */
static int
udp_bind_addr(int fd, const struct sockaddr_storage *src, socklen_t len)
{
	struct sockaddr_storage	ss = *src;

	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	return bind(fd, (struct sockaddr *)&ss, len);
}

int
udp_direct_socket(const struct sl_conf *conf, int link, int family)
{
	const struct sl_link	*l = &conf->links[link];
	int			 fd, e;

	if (l->interface[0] != '\0') {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (l->sourcelen != 0 && l->source.ss_family != family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((fd = udp_socket(family)) == -1)
		return -1;
	if (l->sourcelen != 0 && udp_bind_addr(fd, &l->source,
	    l->sourcelen) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Report once; on failure everything held is released first.  Ready: the
 * control connection is watched for EOF before the callback runs, since
 * the callback may end the caller (and free up).
 */
static void
up_done(struct udp_up *up, int ok)
{
	ev_timer_stop(up->loop, &up->timer);
	if (ok)
		up_want(up, EV_READ);
	else
		ev_io_stop(up->loop, &up->io);
	if (!ok) {
		resolve_cancel(&up->res);
		if (up->tfd != -1)
			close(up->tfd);
		up->tfd = -1;
		if (up->ufd != -1)
			close(up->ufd);
		up->ufd = -1;
		up->phase = UDP_UP_DONE;
	} else
		up->phase = UDP_UP_READY;
	up->cb(up, ok, up->why, up->arg);
}

static void
up_fail(struct udp_up *up, const char *fmt, const char *detail)
{
	snprintf(up->why, sizeof(up->why), "upstream %s: %s%s%s",
	    up->conf->links[up->link].name, fmt, detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
	up_done(up, 0);
}

static void
up_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct udp_up	*up = container_of(w, struct udp_up, timer);

	(void)loop;
	(void)revents;
	if (up->why[0] != '\0') {	/* a failure made soon, see below */
		up_done(up, 0);
		return;
	}
	up_fail(up, up->phase == UDP_UP_RESOLVE ? "resolving timed out" :
	    "UDP ASSOCIATE timed out", NULL);
}

/* Fail from the loop (the caller may still be in udp_up_start). */
static void
up_fail_soon(struct udp_up *up, const char *what)
{
	snprintf(up->why, sizeof(up->why), "upstream %s: %s",
	    up->conf->links[up->link].name, what);
	ev_timer_stop(up->loop, &up->timer);
	ev_timer_set(&up->timer, 0.0, 0.0);
	ev_timer_start(up->loop, &up->timer);
}

static void
up_want(struct udp_up *up, int events)
{
	ev_io_stop(up->loop, &up->io);
	ev_io_set(&up->io, up->tfd, events);
	ev_io_start(up->loop, &up->io);
}

static void
up_send(struct udp_up *up, enum udp_up_phase next, size_t len)
{
	up->phase = next;
	up->len = len;
	up->off = 0;
	up_want(up, EV_WRITE);
}

static void
up_resolved(struct res_req *rq, int status, const struct sl_msg *ans,
    void *arg)
{
	struct udp_up	*up = arg;

	(void)rq;
	if (status != SL_RES_OK || ans->u.res_answer.naddrs == 0) {
		up_fail(up, "its name does not resolve", NULL);
		return;
	}
	up->naddrs = ans->u.res_answer.naddrs;
	if (up->naddrs > SL_MAX_ADDRS)
		up->naddrs = SL_MAX_ADDRS;
	memcpy(up->addrs, ans->u.res_answer.addrs,
	    up->naddrs * sizeof(up->addrs[0]));
	up->iaddr = 0;
	up_connect_next(up);
}

void
udp_up_start(struct udp_up *up, struct ev_loop *loop,
    const struct sl_conf *conf, int link, udp_up_cb cb, void *arg)
{
	const struct sl_link	*l = &conf->links[link];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	memset(up, 0, sizeof(*up));
	up->loop = loop;
	up->conf = conf;
	up->link = link;
	up->tfd = up->ufd = -1;
	up->cb = cb;
	up->arg = arg;
	ev_init(&up->io, up_io);
	ev_timer_init(&up->timer, up_timeout, l->timeout_ms / 1000.0, 0.0);
	ev_timer_start(loop, &up->timer);
	if (sockaddr_from_ip(l->host, l->port, &ss, &sslen) == 0) {
		memset(&up->addrs[0], 0, sizeof(up->addrs[0]));
		if (ss.ss_family == AF_INET) {
			up->addrs[0].family = 4;
			memcpy(up->addrs[0].addr,
			    &((struct sockaddr_in *)&ss)->sin_addr, 4);
		} else {
			up->addrs[0].family = 6;
			memcpy(up->addrs[0].addr,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		}
		up->naddrs = 1;
		up_connect_next(up);
		return;
	}
	up->phase = UDP_UP_RESOLVE;
	if (resolve_start(&up->res, l->host, up_resolved, up) == -1)
		up_fail_soon(up, "resolver unavailable");
}

/* The UDP socket, on the control connection's local address. */
static int
up_make_udp(struct udp_up *up)
{
	const struct sl_link	*b = up_base(up->conf, up->link);
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(up->tfd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if ((up->ufd = udp_socket(ss.ss_family)) == -1)
		return -1;
	if (b != NULL && b->sourcelen != 0 &&
	    b->source.ss_family == ss.ss_family)
		return udp_bind_addr(up->ufd, &b->source, b->sourcelen);
	return udp_bind_addr(up->ufd, &ss, len);
}

static void
up_connect_next(struct udp_up *up)
{
	const struct sl_link	*b = up_base(up->conf, up->link);
	const struct sl_res_addr *a;
	struct sockaddr_storage	 to;
	socklen_t		 tolen;

	for (; up->iaddr < up->naddrs; up->iaddr++) {
		if (up->tfd != -1)
			close(up->tfd);
		up->tfd = -1;
		a = &up->addrs[up->iaddr];
		memset(&to, 0, sizeof(to));
		if (a->family == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&to;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(up->conf->links[up->link].port);
			memcpy(&sin->sin_addr, a->addr, 4);
			tolen = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(up->conf->links[up->link].port);
			memcpy(&sin6->sin6_addr, a->addr, 16);
			tolen = sizeof(*sin6);
		}
		up->tfd = socket(to.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (up->tfd == -1)
			continue;
		if (b != NULL && b->sourcelen != 0 &&
		    (b->source.ss_family != to.ss_family ||
		    udp_bind_addr(up->tfd, &b->source, b->sourcelen) == -1))
			continue;
		if (connect(up->tfd, (struct sockaddr *)&to, tolen) == -1 &&
		    errno != EINPROGRESS)
			continue;
		up->relay = to;		/* the fallback for a zero BND */
		up->relaylen = tolen;
		up->phase = UDP_UP_CONNECT;
		up_want(up, EV_WRITE);
		return;
	}
	if (up->tfd != -1)
		close(up->tfd);
	up->tfd = -1;
	if (up->phase == UDP_UP_IDLE)		/* still in udp_up_start */
		up_fail_soon(up, "cannot connect");
	else
		up_fail(up, "cannot connect", NULL);
}

/* The control connection is up: make the UDP socket and greet. */
static void
up_connected(struct udp_up *up)
{
	const struct sl_link	*l = &up->conf->links[up->link];
	int			 err = 0;
	socklen_t		 elen = sizeof(err);

	if (getsockopt(up->tfd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0) {
		up->iaddr++;
		up_connect_next(up);
		return;
	}
	if (up_make_udp(up) == -1) {
		up_fail(up, "UDP socket", strerror(errno));
		return;
	}
	up_send(up, UDP_UP_METHOD, socks5_build_greeting(up->buf,
	    l->username[0] != '\0'));
}

static void
up_request(struct udp_up *up)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	int			n;

	if (getsockname(up->ufd, (struct sockaddr *)&ss, &len) == -1) {
		up_fail(up, "UDP socket", strerror(errno));
		return;
	}
	n = socks5_build_udp_associate(up->buf, sizeof(up->buf),
	    (struct sockaddr *)&ss);
	if (n < 0) {
		up_fail(up, "cannot build UDP ASSOCIATE", NULL);
		return;
	}
	up_send(up, UDP_UP_ASSOC, (size_t)n);
}

/* The upstream's relay, from BND (zeros: where we reached it). */
static int
up_relay(struct udp_up *up, const struct sockaddr_storage *bnd)
{
	static const uint8_t	zero[16];
	uint16_t		port;

	if (bnd->ss_family != up->relay.ss_family)
		return -1;	/* a domain BND, or the other family */
	if (bnd->ss_family == AF_INET) {
		const struct sockaddr_in *b = (const void *)bnd;

		port = b->sin_port;
		if (memcmp(&b->sin_addr, zero, 4) != 0)
			up->relay = *bnd;
		((struct sockaddr_in *)&up->relay)->sin_port = port;
	} else {
		const struct sockaddr_in6 *b = (const void *)bnd;

		port = b->sin6_port;
		if (memcmp(&b->sin6_addr, zero, 16) != 0)
			up->relay = *bnd;
		((struct sockaddr_in6 *)&up->relay)->sin6_port = port;
	}
	return port != 0 ? 0 : -1;
}

/* A whole message is in buf[0..len): act on it; -1 needs more bytes. */
static int
up_input(struct udp_up *up)
{
	const struct sl_link	*l = &up->conf->links[up->link];
	struct sockaddr_storage	 bnd;
	uint8_t			 v;
	int			 n;

	switch (up->phase) {
	case UDP_UP_METHOD:
		if ((n = socks5_parse_method_reply(up->buf, up->len, &v)) == 0)
			return -1;
		if (n < 0 || (v != S5_AUTH_NONE && !(v == S5_AUTH_USERPASS &&
		    l->username[0] != '\0'))) {
			up_fail(up, "no acceptable authentication method",
			    NULL);
			return 0;
		}
		if (v == S5_AUTH_NONE) {
			up_request(up);
			return 0;
		}
		n = socks5_build_userpass(up->buf, sizeof(up->buf),
		    l->username, l->password);
		if (n < 0)
			up_fail(up, "credentials too long", NULL);
		else
			up_send(up, UDP_UP_AUTH, (size_t)n);
		return 0;
	case UDP_UP_AUTH:
		if ((n = socks5_parse_userpass_reply(up->buf, up->len,
		    &v)) == 0)
			return -1;
		if (n < 0 || v != 0)
			up_fail(up, "authentication failed", NULL);
		else
			up_request(up);
		return 0;
	default:
		if ((n = socks5_parse_reply(up->buf, up->len, &v, &bnd)) == 0)
			return -1;
		if (n < 0)
			up_fail(up, "bad reply", NULL);
		else if (v != S5_REP_OK) {
			char	code[16];

			snprintf(code, sizeof(code), "0x%02x", v);
			up_fail(up, "UDP ASSOCIATE refused, reply", code);
		} else if (up_relay(up, &bnd) == -1)
			up_fail(up, "unusable relay address in its reply",
			    NULL);
		else {
			up->why[0] = '\0';
			up_done(up, 1);
		}
		return 0;
	}
}

static void
up_read(struct udp_up *up)
{
	ssize_t	n;

	if (up->phase == UDP_UP_READY) {
		uint8_t	junk[64];

		n = recv(up->tfd, junk, sizeof(junk), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		up_fail(up, n == 0 ? "closed the control connection" :
		    n > 0 ? "sent bytes on the control connection" :
		    "control connection", n < 0 ? strerror(errno) : NULL);
		return;
	}
	/* Read no further than the buffer: replies are small. */
	n = recv(up->tfd, up->buf + up->len, sizeof(up->buf) - up->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		up_fail(up, n == 0 ? "closed during negotiation" : "read",
		    n < 0 ? strerror(errno) : NULL);
		return;
	}
	up->len += (size_t)n;
	if (up_input(up) == -1 && up->len == sizeof(up->buf))
		up_fail(up, "reply too long", NULL);
}

static void
up_write(struct udp_up *up)
{
	ssize_t	n;

	n = send(up->tfd, up->buf + up->off, up->len - up->off, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		up_fail(up, "write", strerror(errno));
		return;
	}
	up->off += (size_t)n;
	if (up->off < up->len)
		return;
	up->len = up->off = 0;
	up_want(up, EV_READ);
}

static void
up_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_up	*up = container_of(w, struct udp_up, io);

	(void)loop;
	if (up->phase == UDP_UP_CONNECT)
		up_connected(up);
	else if (revents & EV_WRITE)
		up_write(up);
	else
		up_read(up);
}

void
udp_up_stop(struct udp_up *up)
{
	if (up->loop == NULL)
		return;
	ev_io_stop(up->loop, &up->io);
	ev_timer_stop(up->loop, &up->timer);
	resolve_cancel(&up->res);
	if (up->tfd != -1)
		close(up->tfd);
	if (up->ufd != -1)
		close(up->ufd);
	up->tfd = up->ufd = -1;
	up->phase = UDP_UP_DONE;
}

int
udp_up_wrap(const struct sl_target *t, uint8_t **data, size_t *len,
    size_t room)
{
	const char	*host = t->host[0] != '\0' ? t->host : NULL;
	int		 n;

	n = socks5_udp_hdrlen(host, (const struct sockaddr *)&t->addr);
	if (n < 0 || (size_t)n > room)
		return -1;
	if (socks5_build_udp(*data - n, (size_t)n, host, t->port,
	    (const struct sockaddr *)&t->addr) != n)
		return -1;
	*data -= n;
	*len += (size_t)n;
	return 0;
}

int
udp_same_addr(const struct sockaddr *a, const struct sockaddr_storage *b,
    int port)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
		    *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
		    (!port || x->sin_port == y->sin_port);
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		    *y = (const void *)b;

		return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
		    (!port || x->sin6_port == y->sin6_port);
	}
	return 0;
}

int
udp_up_unwrap(const struct udp_up *up, const struct sockaddr *from,
    uint8_t **data, size_t *len, struct sl_target *sender)
{
	uint8_t	frag;
	int	n;

	if (up->phase != UDP_UP_READY || !udp_same_addr(from, &up->relay, 1))
		return -1;
	n = socks5_parse_udp(*data, *len, &frag, sender);
	if (n < 0 || frag != 0)
		return -1;
	*data += n;
	*len -= (size_t)n;
	return 0;
}
