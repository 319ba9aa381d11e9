/*
 * SOCKS5 negotiation with each upstream hop of a chain, on the
 * connection that won happy eyeballs (dial.c): greeting, method choice,
 * username/password when the hop has credentials, then CONNECT to the
 * next hop or, from the outermost, to the target.  Target names are
 * passed to the upstream untouched, so the last hop resolves them.
 * Replies are read exactly, never past their end, so bytes the target
 * sends at once stay in the socket for the relay.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/util.h"
#include "dial_priv.h"

static void	dial_s5_send_connect(struct dial *);

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
			dial_fail(d, SL_CONN_FAIL, d->why);
		} else if (v == S5_AUTH_USERPASS) {
			n = socks5_build_userpass(d->buf, sizeof(d->buf),
			    hop->username, hop->password);
			if (n < 0)
				dial_fail(d, SL_CONN_FAIL, "credentials too long");
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
			dial_fail(d, SL_CONN_FAIL, d->why);
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
			dial_fail(d, n <= 0 ? SL_CONN_FAIL :
			    socks5_rep_err(v), d->why);
		} else if (d->ihop-- == 0)
			dial_succeed(d);
		else
			dial_s5_begin(d);
	}
}

static void
dial_s5_send_connect(struct dial *d)
{
	const struct sl_target		*t = d->target;
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
	} else if (t->host[0] != '\0')
		n = socks5_build_connect(d->buf, sizeof(d->buf), t->host, NULL,
		    t->port);
	else
		n = socks5_build_connect(d->buf, sizeof(d->buf), NULL,
		    (const struct sockaddr *)&t->addr, t->port);
	if (n < 0) {
		dial_fail(d, SL_CONN_FAIL, "cannot encode upstream request");
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
			dial_fail(d, SL_CONN_FAIL, d->why);
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
		dial_fail(d, SL_CONN_FAIL, d->why);
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
	if (d->need == 0)
		dial_write(d);
	else
		dial_read(d);
}

/* The hop at the end of d->fd is the innermost: negotiate outwards. */
void
dial_s5_start(struct dial *d)
{
	ev_io_init(&d->io, dial_io, d->fd, EV_WRITE);
	d->ihop = d->nhops - 1;
	dial_s5_begin(d);
}
