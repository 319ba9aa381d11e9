/*
 * One tunnel stream joined to its local fd (conn.h): the pump between
 * the mux and a stream socket whose other end a worker relays.
 *
 * Local to peer: the fd is read only while the stream has credit and the
 * mux has output room, at most a chunk at a time; what mux_send() does
 * not take waits in s->out and nothing more is read until on_writable.
 * When there is no credit or no room, a one-byte mux_send() that cannot
 * take anything registers the stream for on_writable (mux.h).
 *
 * Peer to local: DATA goes straight to the fd; what the fd does not take
 * waits in s->in, and mux_consumed() is called only for bytes the fd
 * took, so s->in never holds more than the window the peer may fill.
 *
 * Ends: local EOF -> FIN (after s->out is sent); the peer's FIN ->
 * shutdown(fd, SHUT_WR) (after s->in is written); both -> the stream is
 * gone.  A local error resets the stream (CANCEL), a peer's RST closes
 * the fd at once.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#include "conn_priv.h"

static void	local_read_cb(struct ev_loop *, ev_io *, int);
static void	local_write_cb(struct ev_loop *, ev_io *, int);

struct tstream *
tstream_new(struct tconn *c, uint32_t id, enum tstream_state state, int fd)
{
	struct tstream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->c = c;
	s->id = id;
	s->state = state;
	s->fd = fd;
	ev_io_init(&s->rd, local_read_cb, fd, EV_READ);
	ev_io_init(&s->wr, local_write_cb, fd, EV_WRITE);
	s->rd.data = s->wr.data = s;
	TAILQ_INSERT_TAIL(&c->streams, s, entry);
	c->nstreams++;
	mux_set_udata(c->mux, id, s);
	return s;
}

static void
stream_stop(struct tstream *s)
{
	ev_io_stop(s->c->loop, &s->rd);
	ev_io_stop(s->c->loop, &s->wr);
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	free(s->out);
	free(s->in);
	s->out = s->in = NULL;
	s->out_len = s->in_len = s->in_size = 0;
}

void
tstream_free(struct tstream *s)
{
	struct tconn	*c = s->c;

	stream_stop(s);
	mux_set_udata(c->mux, s->id, NULL);
	TAILQ_REMOVE(&c->streams, s, entry);
	if (s->state != TS_ABORTED)
		c->nstreams--;
	free(s);
}

void
tstream_abort(struct tstream *s, uint32_t code)
{
	stream_stop(s);
	mux_set_udata(s->c->mux, s->id, NULL);
	s->state = TS_ABORTED;
	s->code = code;
	s->c->nstreams--;
	tconn_later(s->c);
}

size_t
tstream_memory(const struct tstream *s)
{
	return sizeof(*s) + (s->out != NULL ? TCONN_CHUNK : 0) + s->in_size;
}

void
tstream_start(struct tstream *s)
{
	int	 flags;

	/* A blocking local would stall every stream of the tunnel. */
	if ((flags = fcntl(s->fd, F_GETFL)) != -1 && !(flags & O_NONBLOCK))
		(void)fcntl(s->fd, F_SETFL, flags | O_NONBLOCK);
	s->state = TS_OPEN;
	ev_io_set(&s->rd, s->fd, EV_READ);
	ev_io_set(&s->wr, s->fd, EV_WRITE);
	ev_io_start(s->c->loop, &s->rd);
}

/* The stream ends here (local trouble): RST to the peer, fd closed. */
static void
local_error(struct tstream *s, const char *what, int error)
{
	struct tconn	*c = s->c;

	log_debug("tunnel %s agent %s: stream %u: local %s: %s; reset",
	    c->peer, tconn_agent(c), s->id, what, strerror(error));
	mux_reset(c->mux, s->id, MUX_C_CANCEL);
	tstream_free(s);
	tconn_check_idle(c);
}

/* Both halves done: the local fd goes, and the stream with it. */
static void
check_done(struct tstream *s)
{
	struct tconn	*c = s->c;

	if ((s->flags & (TS_LFIN | TS_SHUT)) != (TS_LFIN | TS_SHUT))
		return;
	log_debug("tunnel %s agent %s: stream %u: done", c->peer,
	    tconn_agent(c), s->id);
	tstream_free(s);
	tconn_check_idle(c);
}

static void
send_fin(struct tstream *s)
{
	ev_io_stop(s->c->loop, &s->rd);
	/* -1: the mux is dead (tconn_kick notices) or the stream gone. */
	(void)mux_fin(s->c->mux, s->id);
	s->flags |= TS_LFIN;
	check_done(s);
}

/*
 * Nothing can be sent now (no credit, or no output room): a send that
 * cannot take a byte makes the mux call on_writable when either returns.
 */
static void
park(struct tstream *s)
{
	uint8_t	 b = 0;

	ev_io_stop(s->c->loop, &s->rd);
	(void)mux_send(s->c->mux, s->id, &b, 1);
}

/* Send s->out; 0 when it is all gone. */
static int
push_out(struct tstream *s)
{
	size_t	 n;

	if (s->out_len == 0)
		return 0;
	n = mux_send(s->c->mux, s->id, s->out + s->out_off, s->out_len);
	s->c->bytes_out += n;
	s->out_off += n;
	s->out_len -= n;
	if (s->out_len > 0)
		return -1;
	free(s->out);
	s->out = NULL;
	s->out_off = 0;
	return 0;
}

/* Credit or output room came back: send what waits, read again. */
static void
resume(struct tstream *s)
{
	if (push_out(s) == -1) {
		ev_io_stop(s->c->loop, &s->rd);
		return;
	}
	if (s->flags & TS_LEOF) {
		if (!(s->flags & TS_LFIN))
			send_fin(s);
		return;
	}
	ev_io_start(s->c->loop, &s->rd);
}

/* One chunk from the local fd into the mux; the stream may be freed. */
static void
pump_out(struct tstream *s)
{
	struct tconn	*c = s->c;
	uint8_t		 buf[TCONN_CHUNK];
	size_t		 want, room, pending, took;
	ssize_t		 n;

	if (push_out(s) == -1 || (s->flags & TS_LEOF)) {
		ev_io_stop(c->loop, &s->rd);
		return;
	}
	pending = mux_output_pending(c->mux);
	room = pending < c->mp.out_cap ? c->mp.out_cap - pending : 0;
	if ((want = mux_credit(c->mux, s->id)) == 0 || room <= MUX_HDR_LEN) {
		park(s);
		return;
	}
	if (want > sizeof(buf))
		want = sizeof(buf);
	if ((n = recv(s->fd, buf, want, 0)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			local_error(s, "read", errno);
		return;
	}
	if (n == 0) {
		s->flags |= TS_LEOF;
		send_fin(s);
		return;
	}
	took = mux_send(c->mux, s->id, buf, (size_t)n);
	c->bytes_out += took;
	if (took == (size_t)n)
		return;
	/* The rest waits for on_writable; no more reading until then. */
	if ((s->out = malloc(TCONN_CHUNK)) == NULL) {
		local_error(s, "buffer", ENOMEM);
		return;
	}
	memcpy(s->out, buf + took, (size_t)n - took);
	s->out_off = 0;
	s->out_len = (size_t)n - took;
	ev_io_stop(c->loop, &s->rd);
}

static void
local_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tstream	*s = w->data;
	struct tconn	*c = s->c;

	(void)loop;
	(void)revents;
	if (tconn_dying(c))
		return;
	pump_out(s);
	tconn_kick(c);
}

/* The peer's FIN takes effect once everything before it is written. */
static void
shut_if_done(struct tstream *s)
{
	if (!(s->flags & TS_RFIN) || s->in_len > 0 || (s->flags & TS_SHUT))
		return;
	(void)shutdown(s->fd, SHUT_WR);
	s->flags |= TS_SHUT;
	check_done(s);
}

/* n bytes of the peer's data reached the fd: credit goes back. */
static void
consumed(struct tstream *s, size_t n)
{
	if (n > 0)
		mux_consumed(s->c->mux, s->id, n);
}

static void
local_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tstream	*s = w->data;
	struct tconn	*c = s->c;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	if (tconn_dying(c))
		return;
	n = send(s->fd, s->in + s->in_head, s->in_len, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			local_error(s, "write", errno);
		tconn_kick(c);
		return;
	}
	s->in_head += (size_t)n;
	s->in_len -= (size_t)n;
	consumed(s, (size_t)n);
	if (s->in_len == 0) {
		ev_io_stop(c->loop, &s->wr);
		free(s->in);
		s->in = NULL;
		s->in_head = s->in_size = 0;
		shut_if_done(s);
	}
	tconn_kick(c);
}

/* Keep len more bytes for the fd; -1 past one window (cannot happen). */
static int
in_append(struct tstream *s, const uint8_t *p, size_t len)
{
	size_t	 need = s->in_len + len, size;
	uint8_t	*n;

	if (need > s->c->mp.window)
		return -1;
	if (s->in_head + need > s->in_size && s->in_head > 0) {
		memmove(s->in, s->in + s->in_head, s->in_len);
		s->in_head = 0;
	}
	if (need > s->in_size) {
		for (size = s->in_size ? s->in_size : TCONN_CHUNK; size < need;
		    size *= 2)
			;
		if (size > s->c->mp.window)
			size = s->c->mp.window;
		if ((n = realloc(s->in, size)) == NULL)
			return -1;
		s->in = n;
		s->in_size = size;
	}
	memcpy(s->in + s->in_head + s->in_len, p, len);
	s->in_len += len;
	return 0;
}

/*
 * Loop-side work (conn.c's later timer): every stream ends with its
 * connection, opens still waiting get SHUTDOWN; opens reset by the owner
 * hear of it.
 */
void
tstream_teardown(struct tconn *c)
{
	struct tstream	*s;
	tconn_result_cb	 cb;
	void		*cb_arg;
	uint32_t	 id, code;
	int		 report;

	while ((s = TAILQ_FIRST(&c->streams)) != NULL) {
		id = s->id;
		cb = s->cb;
		cb_arg = s->cb_arg;
		report = s->state == TS_OPENING || s->state == TS_ABORTED;
		code = s->state == TS_ABORTED ? s->code : MUX_C_SHUTDOWN;
		if (s->state == TS_OPEN && c->ops.stream_lost != NULL)
			c->ops.stream_lost(c, id, MUX_C_SHUTDOWN, s->sarg);
		tstream_free(s);
		if (report)
			cb(c, id, 0, code, cb_arg);
	}
}

void
tstream_deliver_aborted(struct tconn *c)
{
	struct tstream	*s;
	tconn_result_cb	 cb;
	void		*cb_arg;
	uint32_t	 id, code;

	for (;;) {
		TAILQ_FOREACH(s, &c->streams, entry)
			if (s->state == TS_ABORTED)
				break;
		if (s == NULL)
			return;
		id = s->id;
		cb = s->cb;
		cb_arg = s->cb_arg;
		code = s->code;
		tstream_free(s);
		cb(c, id, 0, code, cb_arg);
	}
}

/* mux callbacks (conn.c installs them) */

/*
 * The mux forgets a stream before it reports its end (OPEN_FAIL, a FIN
 * that completes it, RST): then only our list knows it.
 */
struct tstream *
tstream_find(struct tconn *c, uint32_t id)
{
	struct tstream	*s;

	if ((s = mux_udata(c->mux, id)) != NULL)
		return s;
	TAILQ_FOREACH(s, &c->streams, entry)
		if (s->id == id && s->state != TS_ABORTED)
			return s;
	return NULL;
}

static struct tstream *
stream_of(struct tconn *c, uint32_t id)
{
	if (tconn_dying(c) || mux_dead(c->mux))
		return NULL;	/* the teardown deals with every stream */
	return tstream_find(c, id);
}

void
tstream_on_open_result(void *arg, uint32_t id, int ok, uint32_t code)
{
	struct tconn	*c = arg;
	struct tstream	*s;
	tconn_result_cb	 cb;
	void		*cb_arg;

	if ((s = stream_of(c, id)) == NULL || s->state != TS_OPENING)
		return;
	cb = s->cb;
	cb_arg = s->cb_arg;
	if (ok) {
		log_debug("tunnel %s agent %s: stream %u open", c->peer,
		    tconn_agent(c), id);
		tstream_start(s);
		cb(c, id, 1, 0, cb_arg);
		return;
	}
	log_debug("tunnel %s agent %s: stream %u refused: %s", c->peer,
	    tconn_agent(c), id, mux_code_name(code));
	tstream_free(s);
	cb(c, id, 0, code, cb_arg);
	tconn_check_idle(c);
}

void
tstream_on_data(void *arg, uint32_t id, const uint8_t *p, size_t len)
{
	struct tconn	*c = arg;
	struct tstream	*s;
	ssize_t		 n = 0;

	if ((s = stream_of(c, id)) == NULL || s->state != TS_OPEN)
		return;
	c->bytes_in += len;
	if (s->in_len == 0) {
		n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			local_error(s, "write", errno);
			return;
		}
		if (n == -1)
			n = 0;
		consumed(s, (size_t)n);
	}
	if ((size_t)n == len)
		return;
	if (in_append(s, p + n, len - (size_t)n) == -1) {
		local_error(s, "buffer", ENOBUFS);
		return;
	}
	ev_io_start(c->loop, &s->wr);
}

void
tstream_on_fin(void *arg, uint32_t id)
{
	struct tconn	*c = arg;
	struct tstream	*s;

	if ((s = stream_of(c, id)) == NULL || s->state != TS_OPEN)
		return;
	s->flags |= TS_RFIN;
	shut_if_done(s);
}

void
tstream_on_reset(void *arg, uint32_t id, uint32_t code, const char *why)
{
	struct tconn	*c = arg;
	struct tstream	*s;
	tconn_result_cb	 cb;
	void		*cb_arg;

	if ((s = stream_of(c, id)) == NULL)
		return;
	log_debug("tunnel %s agent %s: stream %u reset: %s%s%s", c->peer,
	    tconn_agent(c), id, mux_code_name(code), why ? ": " : "",
	    why ? why : "");
	if (s->state == TS_OPENING) {
		cb = s->cb;
		cb_arg = s->cb_arg;
		tstream_free(s);
		cb(c, id, 0, code, cb_arg);
	} else {
		if (s->state == TS_OPEN && c->ops.stream_lost != NULL)
			c->ops.stream_lost(c, id, code, s->sarg);
		tstream_free(s);
	}
	tconn_check_idle(c);
}

void
tstream_on_writable(void *arg, uint32_t id)
{
	struct tconn	*c = arg;
	struct tstream	*s;

	if ((s = stream_of(c, id)) == NULL || s->state != TS_OPEN)
		return;
	resume(s);
}

/* The owner's calls (conn.h) */

int
tconn_open(struct tconn *c, const char *target, int local,
    tconn_result_cb cb, void *cb_arg, uint32_t *id)
{
	struct tstream	*s;

	if (c->state != TC_UP) {
		errno = c->state < TC_UP ? EAGAIN : EPIPE;
		return -1;
	}
	if (mux_open(c->mux, target, id) == -1)
		return -1;
	if ((s = tstream_new(c, *id, TS_OPENING, local)) == NULL) {
		mux_reset(c->mux, *id, MUX_C_CANCEL);
		errno = ENOMEM;
		return -1;
	}
	s->cb = cb;
	s->cb_arg = cb_arg;
	log_debug("tunnel %s agent %s: stream %u: open %s", c->peer,
	    tconn_agent(c), *id, target);
	tconn_kick(c);
	return 0;
}

int
tconn_accept(struct tconn *c, uint32_t id, int local)
{
	struct tstream	*s;

	if (tconn_dying(c) || (s = mux_udata(c->mux, id)) == NULL ||
	    s->state != TS_PENDING || mux_accept(c->mux, id) == -1)
		return -1;
	s->fd = local;
	tstream_start(s);
	tconn_kick(c);
	return 0;
}

void
tconn_refuse(struct tconn *c, uint32_t id, uint32_t code)
{
	struct tstream	*s;

	if (tconn_dying(c) || (s = mux_udata(c->mux, id)) == NULL ||
	    s->state != TS_PENDING)
		return;
	(void)mux_refuse(c->mux, id, code);
	tstream_free(s);
	tconn_kick(c);
	tconn_check_idle(c);
}

void
tconn_reset(struct tconn *c, uint32_t id, uint32_t code)
{
	struct tstream	*s;

	if (tconn_dying(c) || (s = tstream_find(c, id)) == NULL)
		return;
	mux_reset(c->mux, id, code);
	if (s->state == TS_OPENING)
		tstream_abort(s, code);
	else
		tstream_free(s);
	tconn_kick(c);
	tconn_check_idle(c);
}

int
tconn_stream_set_arg(struct tconn *c, uint32_t id, void *sarg)
{
	struct tstream	*s;

	if ((s = tstream_find(c, id)) == NULL)
		return -1;
	s->sarg = sarg;
	return 0;
}
