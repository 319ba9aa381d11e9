/*
 * The byte pump between a client and a target socket.
 *
 * Backpressure: never read from a side whose peer cannot take more.  Each
 * direction owns one fixed buffer (copy mode, RELAY_BUFSZ) or one pipe
 * (splice mode) and reads only while it is empty.  While it holds bytes
 * the source's read watcher is stopped and the destination's write
 * watcher runs; once it drains, the write watcher stops and the read
 * watcher restarts.  A slow or stalled reader therefore pins at most one
 * buffer (or pipe) per direction plus the kernel's socket buffers, and a
 * stalled session costs no CPU: none of its watchers can fire.
 *
 * Per direction exactly one of rd/wr is active until the direction is
 * finished (dir_arm() is the one place that decides which):
 *	len > 0			wr on `to`	(flush what we hold)
 *	len == 0, !eof		rd on `from`	(fetch more)
 *	eof, flushed		none		(shutdown(to, SHUT_WR) done)
 *
 * Fairness: a callback writes at most about RELAY_BURST bytes and makes
 * at most RELAY_SPINS system calls, then returns to the loop.  It stops
 * before a read, never after one: what was just read is offered to the
 * destination at once, which is usually writable, so a bulk transfer
 * runs read, write, read, write without touching its watchers (stopping
 * after a read that filled a deep pipe cost 3 epoll_ctl and a wakeup
 * per 256 KiB).  libev's io watchers are level triggered, so whatever
 * is left is picked up on the next iteration after every other ready
 * session had its turn.
 *
 * Splice mode: splice(from -> pipe) and splice(pipe -> to); the pipe is
 * the buffer and `len` counts the bytes sitting in it.  Early bytes (read
 * by the session before the relay started) go first with send() from a
 * small heap copy, which is freed once flushed; only then does the up
 * direction start splicing, so ordering is kept.  If the pipes cannot be
 * made (EMFILE, ENFILE) that direction falls back to copy mode: same
 * contract, more copies.  Pipes and buffers are lent from a pool only
 * while a direction holds bytes (dir_acquire), so idle sessions cost no
 * memory and no extra fds.  splice() to a socket can raise SIGPIPE (there
 * is no MSG_NOSIGNAL for it), so the process must ignore SIGPIPE, as
 * every sluice worker does.
 *
 * The done callback runs exactly once, from a watcher callback, after all
 * watchers were stopped and buffers released: it may free the memory
 * holding the struct relay, so nothing here touches `r` after calling it.
 * relay_start() does no I/O at all, so it has nothing to report
 * synchronously except allocation failure.
 *
 * Tapped relays (a session whose listener has taps): both directions
 * copy, and every chunk read goes through the chain (taps_stream); what
 * it returns (the read buffer or the chain's own output buffer, valid
 * until the chain's next call in that direction, which cannot come
 * before it was written since we do not read while len > 0) is what
 * len counts and dir_write sends.  Early bytes pass through it too.  At
 * EOF the chain is flushed and its last bytes written before the
 * shutdown.  When the chain holds a partial match after a read, a
 * TAPS_FLUSH_MS timer lets it go if nothing more comes.  A throttle is a
 * token bucket per direction (a twentieth of a second's rate deep):
 * reads take at most the tokens there are and, with none left, the
 * direction stops reading until a timer says they are back.  That
 * state lives in a heap struct (struct relay_tapped, in idle.data) made
 * only for tapped relays, so untapped ones do not grow.
 *
 * Bandwidth limits (relay_set_limit, the `limits` of worker/limits.c)
 * work the same way in both modes: before a read the limit cuts how much
 * may be read (recv's length, or splice's), and with nothing allowed the
 * direction stops reading until the limit's timer; bytes already read
 * are always written, so nothing is ever dropped.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "stream.h"
#include "taps.h"

#define RELAY_BURST	RELAY_PIPESZ		/* bytes per callback */
#define RELAY_SPINS	16			/* syscalls per callback */
#define RELAY_SPLICE_F	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* Same as common/util.h's; kept here so relay.c stands alone. */
#ifndef container_of
#define container_of(p, type, member)					\
	((type *)(void *)((char *)(p) - offsetof(type, member)))
#endif

/* Outcome of one read or write attempt. */
enum io_res {
	IO_MOVED,	/* some bytes moved */
	IO_EOF,		/* read side: orderly EOF */
	IO_BLOCK,	/* EAGAIN: wait for the watcher */
	IO_RETRY,	/* EINTR */
	IO_FAIL,	/* errno is set */
	IO_TAP,		/* the tap chain failed: taps_why() */
};

/* A tapped relay's extra state per direction. */
struct relay_tdir {
	struct relay_dir	*d;
	ev_timer		 flush;		/* let a held match go */
	ev_timer		 wait;		/* throttle: tokens are back */
	const uint8_t		*out;		/* what len counts, from off */
	uint64_t		 rate;		/* bytes/s; 0: no throttle */
	double			 tokens, burst;
	ev_tstamp		 last;		/* tokens counted up to */
	int			 paused;	/* waiting for tokens */
};

struct relay_tapped {
	struct relay_tdir	 dir[2];	/* [TAP_UP], [TAP_DOWN] */
	int			 failed;	/* on the early bytes */
};

#define RELAY_TAP_BURST_DIV	20	/* bucket: 1/20 s of the rate */

static int
would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

static enum io_res
io_errno(void)
{
	if (would_block(errno))
		return IO_BLOCK;
	if (errno == EINTR)
		return IO_RETRY;
	return IO_FAIL;
}

static struct relay_dir *
dir_other(struct relay_dir *d)
{
	return d == &d->r->up ? &d->r->down : &d->r->up;
}

static enum tap_dir
dir_tapdir(const struct relay_dir *d)
{
	return d == &d->r->up ? TAP_UP : TAP_DOWN;
}

/* The direction's tap state; only for a relay with taps. */
static struct relay_tdir *
dir_tap(const struct relay_dir *d)
{
	struct relay_tapped	*tx = d->r->idle.data;

	return &tx->dir[dir_tapdir(d)];
}

static int
dir_paused(const struct relay_dir *d)
{
	if (d->r->limit != NULL && d->r->limit->paused[dir_tapdir(d)])
		return 1;
	return d->r->taps != NULL && dir_tap(d)->paused;
}

/*
 * The bandwidth limit's say on the next read: 0 with *want cut, or -1:
 * nothing allowed now, the direction pauses until the limit's timer.
 */
static int
dir_limit(struct relay_dir *d, size_t *want)
{
	struct relay_limit	*lim = d->r->limit;
	int			 i = dir_tapdir(d);
	uint64_t		 wait_ns = 0;
	size_t			 n;

	if ((n = lim->allow(lim, i, *want, &wait_ns)) > 0) {
		*want = n;
		return 0;
	}
	lim->paused[i] = 1;
	ev_timer_set(&lim->wait[i], wait_ns / 1e9, 0.0);
	ev_timer_start(d->r->loop, &lim->wait[i]);
	return -1;
}

/* Start/stop this direction's watchers to match its state. */
static void
dir_arm(struct relay_dir *d)
{
	struct ev_loop	*loop = d->r->loop;

	if (d->len > 0) {
		ev_io_stop(loop, &d->rd);
		ev_io_start(loop, &d->wr);
	} else if (!d->eof && !dir_paused(d)) {
		ev_io_stop(loop, &d->wr);
		ev_io_start(loop, &d->rd);
	} else {
		ev_io_stop(loop, &d->rd);
		ev_io_stop(loop, &d->wr);
	}
}

static void
dir_moved(struct relay_dir *d)
{
	d->r->last_io = ev_now(d->r->loop);
}

static int
dir_acquire(struct relay_dir *d)
{
	if (d->pipe[0] != -1 || d->buf != NULL)
		return 0;
	return relay_pool_take(d->r->splice, d->pipe, &d->deep, &d->buf);
}

/* The direction is empty: give its pipe or buffer back to the pool. */
static void
dir_release_io(struct relay_dir *d)
{
	relay_pool_give(d->pipe, d->deep, &d->buf, d->buf_early);
	d->buf_early = 0;
}

/*
 * The throttle's say on the next read: 0 with *want cut to the tokens
 * there are, or -1: none left, the direction pauses until the wait
 * timer says enough are back for a useful read.
 */
static int
dir_tokens(struct relay_dir *d, size_t *want)
{
	struct relay_tdir	*td = dir_tap(d);
	ev_tstamp		 now = ev_now(d->r->loop);
	double			 need;

	if (td->rate == 0)
		return 0;
	td->tokens += (now - td->last) * (double)td->rate;
	if (td->tokens > td->burst)
		td->tokens = td->burst;
	td->last = now;
	if (td->tokens >= 1.0) {
		if ((double)*want > td->tokens)
			*want = (size_t)td->tokens;
		return 0;
	}
	need = (td->burst < RELAY_BUFSZ ? td->burst : RELAY_BUFSZ) -
	    td->tokens;
	td->paused = 1;
	ev_timer_set(&td->wait, need / (double)td->rate, 0.0);
	ev_timer_start(d->r->loop, &td->wait);
	return -1;
}

/* Run a chunk just read (n bytes in buf) through the chain. */
static enum io_res
dir_tap_chunk(struct relay_dir *d, size_t n)
{
	struct relay_tdir	*td = dir_tap(d);
	const uint8_t		*out;
	size_t			 outlen;

	td->tokens -= (double)n;
	if (taps_stream(d->r->taps, dir_tapdir(d), (const uint8_t *)d->buf,
	    n, &out, &outlen) == -1)
		return IO_TAP;
	td->out = out;
	d->off = 0;
	d->len = outlen;
	/* New input: a held partial match waits another TAPS_FLUSH_MS. */
	ev_timer_stop(d->r->loop, &td->flush);
	if (taps_held(d->r->taps, dir_tapdir(d)) > 0) {
		ev_timer_set(&td->flush, TAPS_FLUSH_MS / 1000.0, 0.0);
		ev_timer_start(d->r->loop, &td->flush);
	}
	dir_moved(d);
	return IO_MOVED;
}

/* EOF or a quiet spell: what the chain held goes out now. */
static enum io_res
dir_tap_flush(struct relay_dir *d)
{
	struct relay_tdir	*td = dir_tap(d);
	const uint8_t		*out;
	size_t			 outlen;

	ev_timer_stop(d->r->loop, &td->flush);
	if (taps_stream_flush(d->r->taps, dir_tapdir(d), &out, &outlen) == -1)
		return IO_TAP;
	td->out = out;
	d->off = 0;
	d->len = outlen;
	return IO_MOVED;
}

/* Fill the empty buffer or pipe from `from`. */
static enum io_res
dir_read(struct relay_dir *d)
{
	size_t	want = relay_pool_depth(d->r->splice, d->pipe, d->deep), cap;
	ssize_t	n;

	if (d->r->taps != NULL && dir_tokens(d, &want) == -1)
		return IO_BLOCK;
	if (d->r->limit != NULL && dir_limit(d, &want) == -1)
		return IO_BLOCK;
	if (dir_acquire(d) == -1)
		return IO_FAIL;
	/* No fd for a pipe (a buffer came instead), or a shallower one. */
	cap = d->pipe[0] != -1 ? relay_pipe_depth(d->deep) : RELAY_BUFSZ;
	if (want > cap)
		want = cap;
	if (d->pipe[0] != -1)
		n = splice(d->from, NULL, d->pipe[1], NULL, want,
		    RELAY_SPLICE_F);
	else
		n = recv(d->from, d->buf, want, 0);
	if (n == -1)
		return io_errno();
	if (n > 0 && d->r->limit != NULL)
		d->r->limit->used(d->r->limit, dir_tapdir(d), (size_t)n);
	if (n == 0) {
		d->eof = 1;
		if (d->r->taps != NULL)
			return dir_tap_flush(d) == IO_TAP ? IO_TAP : IO_EOF;
		/*
		 * Nothing more will come: the empty pipe or buffer goes back
		 * now, not when the other direction ends.  A half-closed
		 * session (a request sent, then a long answer) would pin a
		 * pipe's 2 fds and its depth for its whole life, and a
		 * connection-rate load made a new pipe for every third
		 * session (cps, 50 clients: 0.33 pipe2 per session -> 0).
		 */
		dir_release_io(d);
		return IO_EOF;
	}
	d->drained = (size_t)n < want;
	if (d->r->taps != NULL)
		return dir_tap_chunk(d, (size_t)n);
	d->off = 0;
	d->len = (size_t)n;
	dir_moved(d);
	return IO_MOVED;
}

/* Flush (part of) what the buffer or pipe holds to `to`. */
static enum io_res
dir_write(struct relay_dir *d)
{
	ssize_t	n;

	if (d->r->taps != NULL)
		n = send(d->to, dir_tap(d)->out + d->off, d->len,
		    MSG_NOSIGNAL);
	else if (d->buf != NULL)
		n = send(d->to, d->buf + d->off, d->len, MSG_NOSIGNAL);
	else
		n = splice(d->pipe[0], NULL, d->to, NULL, d->len,
		    RELAY_SPLICE_F);
	if (n == -1)
		return io_errno();
	if (n == 0 || (size_t)n > d->len) {
		/* Cannot happen with len > 0; never spin on it. */
		errno = EIO;
		return IO_FAIL;
	}
	d->off += (size_t)n;
	d->len -= (size_t)n;
	d->bytes += (uint64_t)n;
	if (d->ctr != NULL)
		atomic_fetch_add_explicit(d->ctr, (uint64_t)n,
		    memory_order_relaxed);
	if (d->len == 0) {
		d->off = 0;
		dir_release_io(d);
	}
	dir_moved(d);
	return IO_MOVED;
}

/* Stop everything, then report.  The caller must not touch r afterwards. */
static void
relay_finish(struct relay *r, enum relay_end how, int err)
{
	relay_done_cb	 cb = r->cb;
	void		*arg = r->arg;

	if (r->done)
		return;
	r->done = 1;
	relay_stop(r);
	cb(r, how, err, arg);
}

/*
 * The direction has seen EOF and holds nothing: pass the EOF on.  May end
 * the relay, so the caller must not touch it afterwards.
 */
static void
dir_shut(struct relay_dir *d)
{
	struct relay	*r = d->r;

	/*
	 * The last direction to end: the session's close() of both sockets
	 * sends this FIN, and both receive queues are empty (each side was
	 * read to its EOF), so it is a FIN, not a reset.  One system call
	 * less per session.
	 */
	if (dir_other(d)->shut) {
		d->shut = 1;
		relay_finish(r, RELAY_END_DONE, 0);
		return;
	}
	if (shutdown(d->to, SHUT_WR) == -1) {
		relay_finish(r, RELAY_END_ERROR, errno);
		return;
	}
	d->shut = 1;
	dir_arm(d);
}

/* One bounded round of work on a direction, from either watcher. */
static void
dir_pump(struct relay_dir *d)
{
	enum io_res	res;
	size_t		moved = 0, before;
	int		spins;

	for (spins = 0; spins < RELAY_SPINS; spins++) {
		if (d->len == 0 && (d->eof || moved >= RELAY_BURST))
			break;
		before = d->len;
		res = d->len > 0 ? dir_write(d) : dir_read(d);
		if (res == IO_FAIL) {
			relay_finish(d->r, RELAY_END_ERROR, errno);
			return;
		}
		if (res == IO_TAP) {
			relay_finish(d->r, RELAY_END_TAP, 0);
			return;
		}
		if (res == IO_BLOCK) {
			/* Nothing came: an idle direction holds nothing. */
			if (d->len == 0)
				dir_release_io(d);
			break;
		}
		if (before > d->len)
			moved += before - d->len;	/* written */
		/*
		 * All of a short read is written: the socket is most likely
		 * empty, and a read now would only say EAGAIN.  The read
		 * watcher (level-triggered) calls again if it is not.  A
		 * short write: the destination is full, and its write
		 * watcher says when it is not (rather than an EAGAIN now).
		 */
		if (before > 0 && (d->len > 0 || (d->drained && !d->eof)))
			break;
	}
	if (d->len == 0 && d->eof) {
		if (!d->shut)
			dir_shut(d);
		return;
	}
	dir_arm(d);
}

static void
rd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_dir	*d = container_of(w, struct relay_dir, rd);

	if (revents & EV_ERROR) {
		relay_finish(d->r, RELAY_END_ERROR, EBADF);
		return;
	}
	dir_pump(d);
}

static void
wr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_dir	*d = container_of(w, struct relay_dir, wr);

	if (revents & EV_ERROR) {
		relay_finish(d->r, RELAY_END_ERROR, EBADF);
		return;
	}
	dir_pump(d);
}

/* The libev "last activity" pattern: no timer restart per byte moved. */
static void
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay	*r = container_of(w, struct relay, idle);
	ev_tstamp	 after;

	after = r->last_io + r->idle_ms / 1000.0 - ev_now(loop);
	if (after <= 0.0) {
		relay_finish(r, RELAY_END_IDLE, 0);
		return;
	}
	ev_timer_set(w, after, 0.0);
	ev_timer_start(loop, w);
}

/* Nothing came for TAPS_FLUSH_MS: let the held partial match go. */
static void
tap_flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay_tdir	*td = container_of(w, struct relay_tdir, flush);
	struct relay_dir	*d = td->d;
	struct relay_tapped	*tx = d->r->idle.data;

	if (tx->failed) {
		relay_finish(d->r, RELAY_END_TAP, 0);
		return;
	}
	if (d->eof)
		return;		/* dir_read flushed at EOF */
	if (d->len > 0) {
		/* Still writing the chain's output: not now. */
		ev_timer_set(w, TAPS_FLUSH_MS / 1000.0, 0.0);
		ev_timer_start(loop, w);
		return;
	}
	if (dir_tap_flush(d) == IO_TAP) {
		relay_finish(d->r, RELAY_END_TAP, 0);
		return;
	}
	dir_arm(d);
}

/* The throttle's tokens are back: read again. */
static void
tap_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay_tdir	*td = container_of(w, struct relay_tdir, wait);

	td->paused = 0;
	dir_arm(td->d);
}

/* The bandwidth limit allows more: read again. */
static void
limit_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay_limit	*lim = w->data;
	int			 i = w == &lim->wait[1];

	lim->paused[i] = 0;
	dir_arm(i == 0 ? &lim->r->up : &lim->r->down);
}

void
relay_set_limit(struct relay *r, struct relay_limit *lim)
{
	int	i;

	r->limit = lim;
	lim->r = r;
	for (i = 0; i < 2; i++) {
		lim->paused[i] = 0;
		ev_timer_init(&lim->wait[i], limit_wait_cb, 0.0, 0.0);
		lim->wait[i].data = lim;
	}
}

static void
relay_limit_stop(struct relay *r)
{
	if (r->limit == NULL)
		return;
	ev_timer_stop(r->loop, &r->limit->wait[0]);
	ev_timer_stop(r->loop, &r->limit->wait[1]);
	r->limit = NULL;
}

/* The heap state of a relay with taps. */
static int
relay_tap_init(struct relay *r)
{
	struct relay_tapped	*tx;
	struct relay_tdir	*td;
	int			 i;

	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		td = &tx->dir[i];
		td->d = i == TAP_UP ? &r->up : &r->down;
		ev_timer_init(&td->flush, tap_flush_cb, 0.0, 0.0);
		ev_timer_init(&td->wait, tap_wait_cb, 0.0, 0.0);
		td->rate = taps_rate(r->taps, (enum tap_dir)i);
		td->burst = (double)td->rate / RELAY_TAP_BURST_DIV;
		if (td->burst < 1.0)
			td->burst = 1.0;
		td->tokens = td->burst;
		td->last = ev_now(r->loop);
	}
	r->idle.data = tx;
	return 0;
}

static void
relay_tap_stop(struct relay *r)
{
	struct relay_tapped	*tx = r->idle.data;
	int			 i;

	if (tx == NULL)
		return;
	for (i = 0; i < 2; i++) {
		ev_timer_stop(r->loop, &tx->dir[i].flush);
		ev_timer_stop(r->loop, &tx->dir[i].wait);
	}
	free(tx);
	r->idle.data = NULL;
}

/*
 * Early bytes of a tapped relay go through the chain like any chunk,
 * from the up buffer.  A chain failure cannot be reported from here
 * (never from relay_start()): a zero timer ends the relay from the loop.
 */
static int
relay_early_tapped(struct relay *r, const uint8_t *early, size_t nearly)
{
	struct relay_tapped	*tx = r->idle.data;
	struct relay_dir	*d = &r->up;

	if (nearly == 0)
		return 0;
	if (dir_acquire(d) == -1)
		return -1;
	memcpy(d->buf, early, nearly);
	dir_tap(d)->tokens += (double)nearly;	/* not the throttle's */
	if (dir_tap_chunk(d, nearly) == IO_TAP) {
		tx->failed = 1;
		ev_timer_stop(r->loop, &tx->dir[TAP_UP].flush);
		ev_timer_set(&tx->dir[TAP_UP].flush, 0.0, 0.0);
		ev_timer_start(r->loop, &tx->dir[TAP_UP].flush);
	}
	return 0;
}

static void
dir_init(struct relay_dir *d, struct relay *r, int from, int to,
    _Atomic uint64_t *ctr)
{
	d->r = r;
	d->from = from;
	d->to = to;
	d->pipe[0] = d->pipe[1] = -1;
	d->ctr = ctr;
	ev_io_init(&d->rd, rd_cb, from, EV_READ);
	ev_io_init(&d->wr, wr_cb, to, EV_WRITE);
}

/*
 * Early bytes go first.  The target was just connected and its send
 * buffer is empty, so they are sent at once (a ClientHello, a request
 * head: one send); only what does not fit waits, in the up buffer copy
 * mode needs anyway, or in splice mode a small copy freed once sent.
 * A send error is not reported here but by the relay, from the loop.
 */
static int
relay_early(struct relay *r, const uint8_t *early, size_t nearly)
{
	struct relay_dir	*d = &r->up;
	ssize_t			 n;

	if (nearly == 0)
		return 0;
	n = send(d->to, early, nearly, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		d->bytes += (uint64_t)n;
		if (d->ctr != NULL)
			atomic_fetch_add_explicit(d->ctr, (uint64_t)n,
			    memory_order_relaxed);
		early += n;
		nearly -= (size_t)n;
		if (nearly == 0)
			return 0;
	}
	if ((d->buf = malloc(r->splice ? nearly : RELAY_BUFSZ)) == NULL)
		return -1;
	memcpy(d->buf, early, nearly);
	d->len = nearly;
	d->buf_early = r->splice;
	return 0;
}

/*
 * Early bytes must fit one RELAY_BUFSZ (EMSGSIZE otherwise) in both modes
 * so that both modes keep the same contract.
 */
int
relay_start(struct relay *r, struct ev_loop *loop, int client, int target,
    const void *early, size_t nearly, int use_splice, uint32_t idle_ms,
    struct taps *taps, _Atomic uint64_t *ctr_up, _Atomic uint64_t *ctr_down,
    relay_done_cb cb, void *arg)
{
	int	save, rc;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->idle_ms = idle_ms;
	r->cb = cb;
	r->arg = arg;
	dir_init(&r->up, r, client, target, ctr_up);
	dir_init(&r->down, r, target, client, ctr_down);
	ev_timer_init(&r->idle, idle_cb, 0.0, 0.0);
	if (loop == NULL || cb == NULL || client < 0 || target < 0 ||
	    (nearly > 0 && early == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (nearly > RELAY_BUFSZ) {
		errno = EMSGSIZE;
		return -1;
	}
	/* A tap chain needs the bytes in hand: copy mode. */
	r->splice = use_splice != 0 && taps == NULL;
	r->taps = taps;
	if (taps != NULL && relay_tap_init(r) == -1)
		return -1;	/* errno: ENOMEM */
	rc = taps != NULL ? relay_early_tapped(r, early, nearly) :
	    relay_early(r, early, nearly);
	if (rc == -1) {
		save = errno;
		relay_stop(r);
		errno = save;
		return -1;
	}
	r->last_io = ev_now(loop);
	if (taps != NULL && ((struct relay_tapped *)r->idle.data)->failed)
		return 0;	/* ends from the loop: tap_flush_cb */
	dir_arm(&r->up);
	dir_arm(&r->down);
	if (idle_ms > 0) {
		ev_timer_set(&r->idle, idle_ms / 1000.0, 0.0);
		ev_timer_start(loop, &r->idle);
	}
	return 0;
}

static void
dir_discard_pipe(struct relay_dir *d)
{
	if (d->pipe[0] != -1 && d->len > 0)
		relay_pool_drop(d->pipe, d->deep);
}

/* Idempotent; safe after a failed relay_start() too. */
void
relay_stop(struct relay *r)
{
	if (r->loop == NULL)
		return;		/* never started: pipes may read 0, not -1 */
	ev_io_stop(r->loop, &r->up.rd);
	ev_io_stop(r->loop, &r->up.wr);
	ev_io_stop(r->loop, &r->down.rd);
	ev_io_stop(r->loop, &r->down.wr);
	ev_timer_stop(r->loop, &r->idle);
	relay_tap_stop(r);
	relay_limit_stop(r);
	/*
	 * A pipe that still holds bytes cannot be lent again; a buffer
	 * can (its stale bytes are never read: len says what is valid).
	 */
	dir_discard_pipe(&r->up);
	dir_discard_pipe(&r->down);
	dir_release_io(&r->up);
	dir_release_io(&r->down);
}
