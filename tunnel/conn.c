/*
 * One tunnel connection on a socket (conn.h): ciphertext between the
 * socket and TLS, plaintext between TLS and the mux, the mux's streams
 * pumped to their local fds by conn_stream.c.
 *
 * Input: read(2) a chunk, tun_tls_feed() what it takes, and after every
 * feed drain tun_tls_read() into mux_input() (the mux buffers no DATA:
 * conn_stream.c writes it to the local fd or keeps at most a window per
 * stream).  Output, after anything that may have queued some: mux_output()
 * into tun_tls_write() (never more than TLS has room for), tun_tls_take()
 * into write(2); what the socket refuses waits in wbuf (one chunk) and
 * EV_WRITE runs only while it does.
 *
 * Callbacks to the owner run from the loop, never from inside a tconn_*
 * call: a failure only marks the connection TC_DEAD and arms the "later"
 * timer, whose callback tears the streams down (pending opens get
 * SHUTDOWN), says a last word to the peer if it can, and calls down().
 *
 * Memory.  An idle connection (default mux_params) holds about 41 KB
 * (measured by tests/check_tconn.c): this struct (~0.5 KB), the mux
 * (~25 KB: hash buckets, a max_frame input buffer, a small output
 * buffer) and OpenSSL's state (~15 KB, an estimate: OpenSSL does not say).
 * Bursts add at most the mux output (out_cap + 64 KiB), TLS's 64 KiB
 * each way and one chunk (16 KiB) of unsent ciphertext.  An idle stream
 * costs 264 bytes: struct tstream (208) here and 56 in the mux; a busy
 * one adds a chunk of unsent local input and at most one window of the
 * peer's data its local fd did not take.  tconn_memory() adds these up.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#include "conn_priv.h"

static void	sock_read_cb(struct ev_loop *, ev_io *, int);
static void	sock_write_cb(struct ev_loop *, ev_io *, int);
static void	timer_cb(struct ev_loop *, ev_timer *, int);
static void	later_cb(struct ev_loop *, ev_timer *, int);
static void	on_ready(void *);
static void	on_open(void *, uint32_t, const char *);
static void	on_goaway(void *, uint32_t);

uint64_t
tconn_now(const struct tconn *c)
{
	return (uint64_t)(ev_now(c->loop) * 1000.0);
}

const char *
tconn_agent(const struct tconn *c)
{
	return c->name[0] != '\0' ? c->name : "?";
}

int
tconn_dying(const struct tconn *c)
{
	return c->state >= TC_CLOSING;
}

void
tconn_later(struct tconn *c)
{
	if (!ev_is_active(&c->later)) {
		ev_timer_set(&c->later, 0., 0.);
		ev_timer_start(c->loop, &c->later);
	}
}

static void
timer_arm(struct tconn *c, uint64_t ms)
{
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, ms / 1000., 0.);
	ev_timer_start(c->loop, &c->timer);
}

/* The next keepalive duty; an early wake-up is harmless. */
static void
timer_keepalive(struct tconn *c)
{
	uint64_t	 now = tconn_now(c), at = mux_deadline(c->mux);

	timer_arm(c, at > now ? at - now : 1);
}

/* The end: the owner hears of it from the loop (later_cb). */
static void
conn_fail(struct tconn *c, const char *why)
{
	if (c->state == TC_DEAD)
		return;
	if (c->state != TC_CLOSING)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->connecting = c->state == TC_CONNECTING;
	c->state = TC_DEAD;
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	ev_timer_stop(c->loop, &c->timer);
	tconn_later(c);
}

static void	conn_flush(struct tconn *);

/*
 * A graceful end: close_notify (ours, after the mux's last frames, when
 * self; or TLS's answer to the peer's), then shutdown(SHUT_WR) and wait
 * for the peer's EOF, at most TCONN_LINGER_MS.
 */
static void
conn_closing(struct tconn *c, const char *why, int self)
{
	if (c->state >= TC_CLOSING)
		return;
	snprintf(c->why, sizeof(c->why), "%s", why);
	c->state = TC_CLOSING;
	c->close_self = self;
	timer_arm(c, TCONN_LINGER_MS);
	tconn_later(c);		/* streams torn down from the loop */
	conn_flush(c);
}

void
tconn_check_idle(struct tconn *c)
{
	if (c->goaway_local && c->state == TC_UP && c->nstreams == 0 &&
	    mux_streams(c->mux) == 0)
		conn_closing(c, "goaway: no streams left", 1);
}

/* Socket output */

static int
sock_error(struct tconn *c, const char *what)
{
	char	 why[96];

	if (c->state == TC_CLOSING) {
		conn_fail(c, "");
		return -1;
	}
	snprintf(why, sizeof(why), "%s: %s", what, strerror(errno));
	conn_fail(c, why);
	return -1;
}

/* n bytes to the socket, the rest into wbuf; -1 on an error. */
static int
sock_send(struct tconn *c, const uint8_t *p, size_t n)
{
	ssize_t	 w;

	if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return sock_error(c, "write");
		w = 0;
	}
	if ((size_t)w == n)
		return 0;
	if (c->wbuf == NULL && (c->wbuf = malloc(TCONN_CHUNK)) == NULL) {
		errno = ENOMEM;
		return sock_error(c, "buffer");
	}
	memcpy(c->wbuf, p + w, n - (size_t)w);
	c->woff = 0;
	c->wlen = n - (size_t)w;
	return 0;
}

/* wbuf to the socket; -1 on an error. */
static int
sock_send_wbuf(struct tconn *c)
{
	ssize_t	 w;

	if ((w = send(c->fd, c->wbuf + c->woff, c->wlen, MSG_NOSIGNAL)) ==
	    -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return sock_error(c, "write");
		return 0;
	}
	c->woff += (size_t)w;
	c->wlen -= (size_t)w;
	if (c->wlen == 0) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->woff = 0;
	}
	return 0;
}

/* The mux's frames into TLS, as much as TLS has room for; -1 failed. */
static int
mux_to_tls(struct tconn *c, int *moved)
{
	uint8_t	 buf[TCONN_CHUNK];
	size_t	 room, n;

	*moved = 0;
	if (tun_tls_state(c->tls) != TUN_TLS_OPEN ||
	    mux_output_pending(c->mux) == 0 ||
	    tun_tls_pending(c->tls) >= TUN_TLS_OUTBUF)
		return 0;
	room = TUN_TLS_OUTBUF - tun_tls_pending(c->tls);
	if ((n = mux_output(c->mux, buf, room < sizeof(buf) ? room :
	    sizeof(buf))) == 0)
		return 0;
	/* Within its room TLS takes all (no partial writes) or fails. */
	if (tun_tls_write(c->tls, buf, n) != (ssize_t)n)
		return -1;
	*moved = 1;
	return 0;
}

/* Everything queued toward the socket, until it blocks. */
static void
conn_flush(struct tconn *c)
{
	uint8_t	 buf[TCONN_CHUNK];
	size_t	 n;
	int	 moved;

	if (c->flushing || c->state == TC_DEAD || c->state == TC_CONNECTING)
		return;
	c->flushing = 1;
	while (c->state != TC_DEAD) {
		if (c->wlen > 0 && (sock_send_wbuf(c) == -1 || c->wlen > 0))
			break;
		if (tun_tls_pending(c->tls) > 0) {
			n = tun_tls_take(c->tls, buf, sizeof(buf));
			if (sock_send(c, buf, n) == -1)
				break;
			continue;
		}
		if (mux_to_tls(c, &moved) == -1) {
			conn_fail(c, tun_tls_reason(c->tls)[0] != '\0' ?
			    tun_tls_reason(c->tls) : "TLS write refused");
			break;
		}
		if (moved)
			continue;
		if (c->close_self && tun_tls_state(c->tls) == TUN_TLS_OPEN) {
			tun_tls_close(c->tls);
			continue;
		}
		if (c->state == TC_CLOSING && !c->shut_wr) {
			(void)shutdown(c->fd, SHUT_WR);
			c->shut_wr = 1;
		}
		break;
	}
	c->flushing = 0;
	if (c->state != TC_DEAD && c->wlen > 0)
		ev_io_start(c->loop, &c->wr);
	else
		ev_io_stop(c->loop, &c->wr);
}

void
tconn_kick(struct tconn *c)
{
	const char	*why;

	if (c->state == TC_DEAD)
		return;
	/* An API call may have met a connection error (mux.h). */
	if (mux_dead(c->mux) && c->state != TC_CLOSING &&
	    mux_tick(c->mux, tconn_now(c), &why) == -1) {
		conn_fail(c, why);
		return;
	}
	conn_flush(c);
}

/* Socket input */

/* TLS ended (tun_tls_* said -1): gracefully or not. */
static void
tls_ended(struct tconn *c)
{
	if (tun_tls_state(c->tls) == TUN_TLS_CLOSED)
		conn_closing(c, "closed by peer", 0);
	else
		conn_fail(c, tun_tls_reason(c->tls));
}

/* Plaintext from TLS into the mux; -1 when the connection ended. */
static int
tls_drain(struct tconn *c)
{
	uint8_t		 buf[TCONN_CHUNK];
	const char	*why;
	ssize_t		 n;

	if (tun_tls_state(c->tls) == TUN_TLS_HANDSHAKE)
		return 0;
	while ((n = tun_tls_read(c->tls, buf, sizeof(buf))) > 0) {
		if (mux_input(c->mux, buf, (size_t)n, tconn_now(c), &why) ==
		    -1) {
			conn_fail(c, why);
			return -1;
		}
		if (c->state >= TC_CLOSING)
			return -1;	/* closed from a callback */
	}
	if (n == -1) {
		tls_ended(c);
		return -1;
	}
	return 0;
}

/* The rest of a connection being closed: discard until EOF. */
static void
closing_read(struct tconn *c)
{
	uint8_t	 buf[TCONN_CHUNK];
	ssize_t	 n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)))
		return;
	conn_fail(c, "");
}

static void
sock_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tconn	*c = w->data;
	uint8_t		 buf[TCONN_CHUNK];
	ssize_t		 n, k;
	size_t		 off;
	int		 stuck;

	(void)loop;
	(void)revents;
	if (c->state == TC_CLOSING) {
		closing_read(c);
		return;
	}
	if ((n = recv(c->fd, buf, sizeof(buf), 0)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			sock_error(c, "read");
		return;
	}
	if (n == 0) {
		tun_tls_eof(c->tls);
		conn_fail(c, c->state == TC_UP ? tun_tls_reason(c->tls) :
		    "closed by peer during the handshake");
		return;
	}
	for (off = 0, stuck = 0; off < (size_t)n; off += (size_t)k) {
		if ((k = tun_tls_feed(c->tls, buf + off, (size_t)n - off)) ==
		    -1) {
			tls_ended(c);
			return;
		}
		if (tls_drain(c) == -1)
			return;
		/* TLS takes more once drained: refusing twice is a bug. */
		if (k == 0 && stuck++ > 0) {
			conn_fail(c, "TLS input stuck");
			return;
		}
		if (k > 0)
			stuck = 0;
	}
	tconn_kick(c);
}

static void
sock_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tconn	*c = w->data;
	int		 error = 0;
	socklen_t	 len = sizeof(error);
	char		 why[96];

	(void)loop;
	(void)revents;
	if (c->state == TC_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
			error = errno;
		if (error != 0) {
			snprintf(why, sizeof(why), "connect: %s",
			    strerror(error));
			conn_fail(c, why);
			return;
		}
		c->state = TC_HANDSHAKE;
		ev_io_stop(c->loop, &c->wr);
		ev_io_start(c->loop, &c->rd);
	}
	conn_flush(c);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tconn	*c = w->data;
	const char	*why;

	(void)loop;
	(void)revents;
	switch (c->state) {
	case TC_CONNECTING:
	case TC_HANDSHAKE:
		conn_fail(c, "handshake timeout");
		break;
	case TC_UP:
		if (mux_tick(c->mux, tconn_now(c), &why) == -1) {
			conn_fail(c, why);
			break;
		}
		timer_keepalive(c);
		conn_flush(c);
		break;
	case TC_CLOSING:
		conn_fail(c, "");	/* linger over; the why stays */
		break;
	case TC_DEAD:
		break;
	}
}

/* The end, from the loop */

/* Best effort, never waiting: the mux's last frames and close_notify. */
static void
last_word(struct tconn *c)
{
	uint8_t	 buf[TCONN_CHUNK];
	size_t	 n;
	int	 moved;

	if (c->connecting || c->shut_wr)
		return;
	while (mux_to_tls(c, &moved) == 0 && moved)
		;
	tun_tls_close(c->tls);
	if (c->wlen == 0 || send(c->fd, c->wbuf + c->woff, c->wlen,
	    MSG_NOSIGNAL) == (ssize_t)c->wlen)
		while ((n = tun_tls_take(c->tls, buf, sizeof(buf))) > 0)
			if (send(c->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
				break;
	/* The peer sees the end now, even if the owner keeps the fd. */
	(void)shutdown(c->fd, SHUT_WR);
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tconn	*c = w->data;

	(void)loop;
	(void)revents;
	if (c->state < TC_CLOSING) {
		tstream_deliver_aborted(c);
		return;
	}
	if (!c->torn) {
		c->torn = 1;
		tstream_teardown(c);
	}
	if (c->state != TC_DEAD)
		return;		/* closing: down() once the peer is done */
	last_word(c);
	log_debug("tunnel %s agent %s: down: %s", c->peer, tconn_agent(c),
	    c->why);
	c->ops.down(c, c->why, c->arg);
	/* c may be freed */
}

/* mux callbacks of the connection */

static void
on_ready(void *arg)
{
	struct tconn	*c = arg;
	const char	*name;

	if (c->state != TC_HANDSHAKE)
		return;
	if (c->is_server && (name = tun_tls_peer(c->tls)) != NULL)
		snprintf(c->name, sizeof(c->name), "%s", name);
	c->state = TC_UP;
	timer_keepalive(c);
	log_debug("tunnel %s agent %s: up (%s, %s)", c->peer, tconn_agent(c),
	    tun_tls_cipher(c->tls), tun_tls_group(c->tls));
	c->ops.up(c, c->arg);
	tconn_check_idle(c);	/* a GOAWAY before up */
}

static void
on_open(void *arg, uint32_t id, const char *target)
{
	struct tconn	*c = arg;

	if (tconn_dying(c))
		return;
	if (c->ops.open == NULL || tstream_new(c, id, TS_PENDING, -1) ==
	    NULL) {
		mux_refuse(c->mux, id, c->ops.open == NULL ? MUX_C_POLICY :
		    MUX_C_OTHER);
		return;
	}
	log_debug("tunnel %s agent %s: stream %u: open %s", c->peer,
	    tconn_agent(c), id, target);
	c->ops.open(c, id, target, c->arg);
}

static void
on_goaway(void *arg, uint32_t code)
{
	struct tconn	*c = arg;

	if (tconn_dying(c))
		return;
	log_debug("tunnel %s agent %s: peer goes away (%s)", c->peer,
	    tconn_agent(c), mux_code_name(code));
	c->goaway_remote = 1;
	if (c->ops.goaway != NULL)
		c->ops.goaway(c, c->arg);
}

/* Life */

static struct tconn *
conn_new(struct ev_loop *loop, int fd, const char *peer, int is_server,
    const struct mux_params *mp, uint32_t handshake_ms,
    const struct tconn_ops *ops, void *arg)
{
	static const struct mux_ops	 server_ops = {
		on_ready, NULL, tstream_on_open_result, tstream_on_data,
		tstream_on_fin, tstream_on_reset, tstream_on_writable,
		on_goaway,
	}, agent_ops = {
		on_ready, on_open, tstream_on_open_result, tstream_on_data,
		tstream_on_fin, tstream_on_reset, tstream_on_writable,
		on_goaway,
	};
	struct tconn	*c;
	int		 flags;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->fd = fd;
	c->is_server = is_server;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->mp = *mp;
	c->handshake_ms = handshake_ms;
	c->ops = *ops;
	c->arg = arg;
	TAILQ_INIT(&c->streams);
	if ((c->mux = mux_new(mp, is_server, is_server ? &server_ops :
	    &agent_ops, c, tconn_now(c))) == NULL) {
		free(c);
		return NULL;
	}
	if ((flags = fcntl(fd, F_GETFL)) != -1 && !(flags & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	ev_io_init(&c->rd, sock_read_cb, fd, EV_READ);
	ev_io_init(&c->wr, sock_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, timer_cb, 0., 0.);
	ev_timer_init(&c->later, later_cb, 0., 0.);
	c->rd.data = c->wr.data = c->timer.data = c->later.data = c;
	return c;
}

struct tconn *
tconn_server(struct ev_loop *loop, int fd, const char *peer,
    tun_tls_lookup_fn lookup, void *lookup_arg, const struct mux_params *mp,
    uint32_t handshake_ms, const struct tconn_ops *ops, void *arg)
{
	struct tconn	*c;

	if ((c = conn_new(loop, fd, peer, 1, mp, handshake_ms, ops, arg)) ==
	    NULL)
		return NULL;
	if ((c->tls = tun_tls_server(lookup, lookup_arg)) == NULL) {
		mux_free(c->mux);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->state = TC_HANDSHAKE;
	ev_io_start(loop, &c->rd);
	timer_arm(c, handshake_ms);
	log_debug("tunnel %s: accepted", c->peer);
	return c;
}

struct tconn *
tconn_client(struct ev_loop *loop, int fd, const char *peer,
    const char *name, const uint8_t *secret, size_t secret_len,
    const struct mux_params *mp, uint32_t handshake_ms,
    const struct tconn_ops *ops, void *arg)
{
	struct tconn	*c;

	if ((c = conn_new(loop, fd, peer, 0, mp, handshake_ms, ops, arg)) ==
	    NULL)
		return NULL;
	if ((c->tls = tun_tls_client(name, secret, secret_len)) == NULL) {
		mux_free(c->mux);
		free(c);
		errno = EINVAL;
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* Writable: connected, or connect(2) failed (SO_ERROR says). */
	c->state = TC_CONNECTING;
	ev_io_start(loop, &c->wr);
	timer_arm(c, handshake_ms);
	return c;
}

void
tconn_free(struct tconn *c)
{
	struct tstream	*s;

	if (c == NULL)
		return;
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_stop(c->loop, &c->later);
	while ((s = TAILQ_FIRST(&c->streams)) != NULL)
		tstream_free(s);
	tun_tls_free(c->tls);
	mux_free(c->mux);
	close(c->fd);
	free(c->wbuf);
	free(c);
}

void
tconn_goaway(struct tconn *c)
{
	if (tconn_dying(c) || c->goaway_local)
		return;
	log_debug("tunnel %s agent %s: going away", c->peer, tconn_agent(c));
	c->goaway_local = 1;
	mux_goaway(c->mux, MUX_C_OK);
	tconn_kick(c);
	tconn_check_idle(c);
}

void
tconn_close(struct tconn *c, const char *why)
{
	if (c->state == TC_DEAD)
		return;
	if (c->state == TC_CLOSING) {
		conn_fail(c, "");
		return;
	}
	conn_fail(c, why);
}

/* Introspection */

const char *
tconn_name(const struct tconn *c)
{
	return c->name;
}

const char *
tconn_peer(const struct tconn *c)
{
	return c->peer;
}

int
tconn_is_up(const struct tconn *c)
{
	return c->state == TC_UP;
}

int
tconn_going_away(const struct tconn *c)
{
	return c->goaway_local || c->goaway_remote;
}

uint32_t
tconn_streams(const struct tconn *c)
{
	return c->nstreams;
}

uint64_t
tconn_bytes_in(const struct tconn *c)
{
	return c->bytes_in;
}

uint64_t
tconn_bytes_out(const struct tconn *c)
{
	return c->bytes_out;
}

size_t
tconn_memory(const struct tconn *c)
{
	const struct tstream	*s;
	size_t			 n;

	n = sizeof(*c) + mux_memory(c->mux) + TCONN_TLS_IDLE +
	    tun_tls_pending(c->tls) + (c->wbuf != NULL ? TCONN_CHUNK : 0);
	TAILQ_FOREACH(s, &c->streams, entry)
		n += tstream_memory(s);
	return n;
}
