/*
 * SOCKS5 BIND (RFC 1928 section 4): the client asks sluice to accept one
 * connection for it, typically the data connection of active-mode FTP.
 *
 *   request (DST = the peer the client expects)
 *     -> policy (session_route_target; refused: 0x02)
 *     -> listen on the address the client reached us on, or on the
 *        first candidate link's `source`
 *     -> first reply: BND = that listening address and port
 *     -> wait up to the listener's bind_timeout for ONE peer (0x04)
 *     -> the listening socket closes: a second peer is refused
 *     -> the peer must be DST.ADDR when that is not 0.0.0.0 or ::, and
 *        its address (with DST.PORT) must pass the policy (else 0x02)
 *     -> second reply: BND = the peer's address and port
 *     -> relay client <-> peer (session_relay_fd)
 *
 * DST.PORT is not compared with the peer's port: a peer connects from
 * whatever port its system picks.  A name as DST.ADDR is checked by the
 * policy as a name; the peer is then held to the policy by its address.
 * A first candidate that is an upstream `socks5` link gets 0x07: the
 * upstream would have to do the BIND, which sluice does not forward.
 *
 * While it waits the session is the front-end's (S_FRONT): this file's
 * table replaces front_socks5's, and its state is one small allocation.
 * Bytes the client sends meanwhile are kept for the peer (at most the
 * session's input buffer; then the client is not read until the relay).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../proto/socks5_wire.h"
#include "../worker.h"
#include "socks5.h"

struct s5_bind {
	struct session	*s;
	int		 lfd;
	ev_io		 lio;
	ev_timer	 timer;
};

static const struct front_ops front_socks5_bind;

/* Fail the BIND with reply rep; detail says why. */
static void
bind_fail(struct session *s, uint8_t rep)
{
	session_quiet(s);
	socks5_front_reply(s, rep, NULL);
	s->hs->close_after_reply = 1;
	session_flush(s);
}

static int
addr_is_any(const struct sockaddr_storage *ss)
{
	static const struct in6_addr	any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any6,
	    sizeof(any6)) == 0;
}

/* Same address (ports ignored); both already unmapped. */
static int
addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/*
 * Where to listen: the first candidate link's source address, else the
 * address the client reached.  0, or -1 with the reply code in *rep.
 */
static int
bind_where(struct session *s, struct sockaddr_storage *ss, socklen_t *len,
    uint8_t *rep)
{
	const struct sl_link	*l;
	struct sl_route		 r;
	const char		*key;

	session_route_target(s, s->target, NULL, 0, &r);
	if (r.verdict != SL_ROUTE_OK) {
		session_detail(s, "BIND %s%s", r.verdict == SL_ROUTE_REFUSED &&
		    strncmp(r.why, "no link", 7) != 0 ? "refused by " : "",
		    r.why);
		*rep = r.verdict == SL_ROUTE_REFUSED ? S5_REP_NOTALLOWED :
		    S5_REP_FAIL;
		return -1;
	}
	if (s->target->host[0] == '\0' && (key = policy_target_denied(wk->conf,
	    (const struct sockaddr *)&s->target->addr)) != NULL) {
		session_detail(s, "BIND refused by %s", key);
		*rep = S5_REP_NOTALLOWED;
		return -1;
	}
	l = &wk->conf->links[r.cand[0]];
	if (l->proto != SL_LINK_DIRECT) {
		session_detail(s, "BIND via socks5 link %s not supported",
		    l->name);
		*rep = S5_REP_CMDUNSUPP;
		return -1;
	}
	if (l->sourcelen > 0) {
		memcpy(ss, &l->source, sizeof(*ss));
		*len = l->sourcelen;
	} else {
		*len = sizeof(*ss);
		if (getsockname(s->cfd, (struct sockaddr *)ss, len) == -1) {
			session_detail(s, "BIND: getsockname: %s",
			    strerror(errno));
			*rep = S5_REP_FAIL;
			return -1;
		}
	}
	sockaddr_unmap(ss, len);
	set_port(ss, 0);
	return 0;
}

/* A listening socket on ss; its bound address back in ss.  fd or -1. */
static int
bind_listen(struct session *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char	a[SL_ADDRSTRLEN];
	int	fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		session_detail(s, "BIND: socket: %s", strerror(errno));
		return -1;
	}
	/* Backlog 1: the first peer is the only one accepted. */
	if (bind(fd, (struct sockaddr *)ss, *len) == -1 ||
	    listen(fd, 1) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, len) == -1) {
		session_detail(s, "BIND: listen on %s: %s",
		    sockaddr_fmt((struct sockaddr *)ss, a, sizeof(a)),
		    strerror(errno));
		close(fd);
		return -1;
	}
	sockaddr_unmap(ss, len);
	return fd;
}

/* Stop waiting: no more peers (the kernel refuses them from now on). */
static void
bind_stop(struct s5_bind *b)
{
	ev_io_stop(wk->loop, &b->lio);
	ev_timer_stop(wk->loop, &b->timer);
	if (b->lfd != -1) {
		close(b->lfd);
		b->lfd = -1;
	}
}

/* The peer came: is it the one the client named, and allowed? */
static int
bind_peer_ok(struct session *s, struct sockaddr_storage *peer,
    socklen_t plen)
{
	struct sockaddr_storage	 want = s->target->addr;
	socklen_t		 wlen = s->target->addrlen;
	struct sl_target	 pt;
	struct sl_route		 r;
	char			 a[SL_ADDRSTRLEN], w[SL_ADDRSTRLEN];

	sockaddr_fmt((struct sockaddr *)peer, a, sizeof(a));
	if (s->target->host[0] == '\0') {
		sockaddr_unmap(&want, &wlen);
		if (!addr_is_any(&want) && !addr_equal(&want, peer)) {
			session_detail(s, "BIND peer %s is not DST.ADDR %s", a,
			    sockaddr_fmt((struct sockaddr *)&want, w,
			    sizeof(w)));
			return 0;
		}
	}
	if (policy_blacklisted(wk->conf, (struct sockaddr *)peer)) {
		session_detail(s, "BIND peer %s refused by ip_blacklist", a);
		return 0;
	}
	/* The port the client named: a peer's source port means nothing. */
	memset(&pt, 0, sizeof(pt));
	sl_target_set_addr(&pt, (struct sockaddr *)peer, plen);
	pt.port = s->target->port;
	set_port(&pt.addr, s->target->port);
	session_route_target(s, &pt, NULL, 0, &r);
	if (r.verdict == SL_ROUTE_REFUSED) {
		session_detail(s, "BIND peer %s refused by %s", a, r.why);
		return 0;
	}
	return 1;
}

static void
bind_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct s5_bind		*b = container_of(w, struct s5_bind, lio);
	struct session		*s = b->s;
	struct sockaddr_storage	 peer;
	socklen_t		 plen = sizeof(peer);
	char			 a[SL_ADDRSTRLEN];
	uint8_t			 rep[32];
	int			 fd, one = 1;

	(void)loop;
	(void)revents;
	fd = accept4(b->lfd, (struct sockaddr *)&peer, &plen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;		/* that peer left already: wait on */
		bind_stop(b);
		session_detail(s, "BIND: accept: %s", strerror(errno));
		bind_fail(s, S5_REP_FAIL);
		return;
	}
	bind_stop(b);
	sockaddr_unmap(&peer, &plen);
	if (!bind_peer_ok(s, &peer, plen)) {
		close(fd);
		bind_fail(s, S5_REP_NOTALLOWED);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	session_detail(s, "BIND peer %s",
	    sockaddr_fmt((struct sockaddr *)&peer, a, sizeof(a)));
	if (session_send(s, rep, socks5_build_reply(rep, S5_REP_OK,
	    (struct sockaddr *)&peer)) == -1) {
		/* The first reply is still unread: no room for this one. */
		close(fd);
		session_detail(s, "BIND: client does not read its replies");
		session_close(s, "client error");
		return;
	}
	session_relay_fd(s, fd);
}

static void
bind_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct s5_bind	*b = container_of(w, struct s5_bind, timer);
	struct session	*s = b->s;

	(void)loop;
	(void)revents;
	bind_stop(b);
	session_detail(s, "BIND: no peer within %u ms",
	    s->listener->bind_timeout_ms);
	bind_fail(s, S5_REP_HOSTUNREACH);
}

void
socks5_bind_start(struct session *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct s5_bind		*b;
	uint8_t			 rep = S5_REP_FAIL;
	int			 fd;

	session_quiet(s);
	if (bind_where(s, &ss, &len, &rep) == -1) {
		bind_fail(s, rep);
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		session_detail(s, "BIND: out of memory");
		bind_fail(s, S5_REP_FAIL);
		return;
	}
	if ((fd = bind_listen(s, &ss, &len)) == -1) {
		free(b);
		bind_fail(s, S5_REP_FAIL);
		return;
	}
	b->s = s;
	b->lfd = fd;
	ev_io_init(&b->lio, bind_accept, fd, EV_READ);
	ev_io_start(wk->loop, &b->lio);
	ev_timer_init(&b->timer, bind_timeout,
	    s->listener->bind_timeout_ms / 1000.0, 0.);
	ev_timer_start(wk->loop, &b->timer);
	s->front = &front_socks5_bind;
	s->fstate = b;
	s->state = S_FRONT;
	socks5_front_reply(s, S5_REP_OK, (struct sockaddr *)&ss);
	session_flush(s);	/* then reads the client: EOF ends it */
}

/* Client bytes before the peer came: kept for it, up to the buffer. */
static void
bind_input(struct session *s)
{
	if (s->inlen == s->incap)
		session_quiet(s);	/* the relay reads the rest */
}

static void
bind_reply_ok(struct session *s, const struct sockaddr *bound)
{
	socks5_front_reply(s, S5_REP_OK, bound);
}

static void
bind_reply_err(struct session *s, enum sl_conn_err err)
{
	socks5_front_reply(s, socks5_err_rep(err), NULL);
}

static void
bind_release(struct session *s)
{
	struct s5_bind	*b = s->fstate;

	if (b != NULL) {
		bind_stop(b);
		free(b);
	}
	s->fstate = NULL;
}

static const struct front_ops front_socks5_bind = {
	.name = "socks5",
	.input = bind_input,
	.reply_ok = bind_reply_ok,
	.reply_err = bind_reply_err,
	.release = bind_release,
};
