/*
 * A non-blocking IPC channel on a libev loop.
 *
 * Reading: the read watcher receives frames with MSG_DONTWAIT, checks them
 * (ipc_frame_recv) and calls the handler per message.  The first EOF,
 * socket error or protocol violation stops the channel and calls the
 * close callback exactly once.
 *
 * Writing: a frame is encoded once; if the queue is empty it is sent at
 * once, otherwise (or on EAGAIN) the bytes and a dup of its fd are queued
 * and the write watcher drains the queue in order.  The queue is bounded:
 * a peer that stops reading cannot make us allocate without limit.
 * A send error other than EAGAIN drops the queue and reports the close
 * through the read watcher (ev_feed_event), never from inside
 * ipc_chan_send(), so a caller is not freed under its own feet.
 *
 * Re-entrancy: the handler and the close callback may call ipc_chan_free()
 * (and ipc_chan_send()).  While a callback of ours is on the stack, busy
 * is non-zero and ipc_chan_free() only releases the socket and the queue;
 * the struct itself is freed when the outermost callback unwinds.
 *
 * Received fds are closed with ipc_close_received(), never close(): a
 * peer's lingering TCP socket must not block us (see frame.c).  That
 * includes fds still queued in the socket when the channel is freed.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "chan.h"
#include "codec.h"

/*
 * Frames handled per read wakeup.  The watcher is level-triggered, so the
 * rest is read on the next loop iteration; this only stops one chatty
 * child from starving every other watcher of the master.
 */
#define CHAN_READ_BATCH		64

/*
 * Records taken out of a socket being freed.  After shutdown() the peer
 * cannot add any, and the kernel queues at most net.unix.max_dgram_qlen
 * (512) records per socket, fewer within the default send buffer.  EOF
 * does not end the loop: it looks just like an empty record, which a
 * peer can send to hide fds queued behind it.
 */
#define CHAN_DISCARD_MAX	1024

struct qframe {
	STAILQ_ENTRY(qframe)	 entry;
	int			 fd;	/* our dup, or -1 */
	size_t			 len;
	char			 buf[];
};

struct ipc_chan {
	struct ev_loop		*loop;
	ev_io			 rd;
	ev_io			 wr;
	int			 sock;
	unsigned		 peer;
	int			 allow_fds;
	ipc_handler		 handler;
	ipc_close_cb		 close_cb;
	void			*arg;
	STAILQ_HEAD(, qframe)	 queue;
	size_t			 nqueued;
	/* Callbacks of ours on the stack; freeing waits until 0. */
	int			 busy;
	int			 freed;		/* ipc_chan_free() ran */
	int			 closed;	/* close cb called */
	int			 failed;	/* send failed, close due */
	char			 why[128];
};

static void	chan_release(struct ipc_chan *);
static void	chan_purge(struct ipc_chan *);
static void	chan_discard_input(struct ipc_chan *);
static void	chan_close(struct ipc_chan *, const char *);
static int	chan_broken(int);
static void	chan_fail(struct ipc_chan *, const char *, int);
static void	chan_read(struct ipc_chan *);
static void	chan_read_cb(struct ev_loop *, ev_io *, int);
static int	chan_drain(struct ipc_chan *);
static void	chan_write_cb(struct ev_loop *, ev_io *, int);
static int	chan_enqueue(struct ipc_chan *, const char *, size_t, int);
static int	chan_ms_left(const struct timespec *);

/*
 * Make a channel on socket fd (a SOCK_SEQPACKET end).  peer is the role
 * at the other end; allow_fds is 0 where no fd ever travels.  Called by
 * the master for each child and by children for their master and peers.
 */
struct ipc_chan *
ipc_chan_new(struct ev_loop *loop, int fd, unsigned peer, int allow_fds,
    ipc_handler handler, ipc_close_cb close_cb, void *arg)
{
	struct ipc_chan	*c;

	if (loop == NULL || fd < 0 || peer >= SL_PROC_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->sock = fd;
	c->peer = peer;
	c->allow_fds = allow_fds;
	c->handler = handler;
	c->close_cb = close_cb;
	c->arg = arg;
	STAILQ_INIT(&c->queue);
	ev_io_init(&c->rd, chan_read_cb, fd, EV_READ);
	c->rd.data = c;
	ev_io_init(&c->wr, chan_write_cb, fd, EV_WRITE);
	c->wr.data = c;
	ev_io_start(loop, &c->rd);
	return c;
}

/* Leave a callback; the last one out frees a channel freed meanwhile. */
static void
chan_release(struct ipc_chan *c)
{
	if (--c->busy == 0 && c->freed)
		free(c);
}

/* Drop every queued frame and the fd dups they hold. */
static void
chan_purge(struct ipc_chan *c)
{
	struct qframe	*q;

	while ((q = STAILQ_FIRST(&c->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		if (q->fd != -1)
			close(q->fd);
		free(q);
	}
	c->nqueued = 0;
}

/*
 * Stop the channel and tell the owner, once.  Only called with busy held,
 * so the owner may free the channel from the callback.
 */
static void
chan_close(struct ipc_chan *c, const char *why)
{
	if (c->closed || c->freed)
		return;
	c->closed = 1;
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	if (c->close_cb != NULL)
		c->close_cb(c, why, c->arg);
}

/*
 * Does this sendmsg() errno mean the channel is gone, rather than that
 * this one frame could not be sent (ENOMEM, ETOOMANYREFS, ...)?
 */
static int
chan_broken(int err)
{
	switch (err) {
	case EPIPE:
	case ECONNRESET:
	case ECONNREFUSED:
	case ENOTCONN:
	case ENOTSOCK:
	case EBADF:
		return 1;
	}
	return 0;
}

/* The socket broke while sending: report it from the read watcher. */
static void
chan_fail(struct ipc_chan *c, const char *op, int err)
{
	if (c->failed || c->closed || c->freed)
		return;
	c->failed = 1;
	snprintf(c->why, sizeof(c->why), "%s: %s", op, strerror(err));
	chan_purge(c);
	ev_io_stop(c->loop, &c->wr);
	ev_feed_event(c->loop, &c->rd, EV_READ);
}

static void
chan_read(struct ipc_chan *c)
{
	struct sl_msg	 m;
	const char	*why;
	int		 i, r;

	/*
	 * After a failed send, still deliver what the peer sent before it
	 * went away (a dying child's last log lines), then close.
	 */
	for (i = 0; i < CHAN_READ_BATCH && !c->closed && !c->freed; i++) {
		r = ipc_frame_recv(c->sock, c->peer, c->allow_fds, &m, &why,
		    MSG_DONTWAIT);
		switch (r) {
		case SL_RECV_OK:
			if (c->handler != NULL)
				c->handler(c, &m, c->arg);
			else
				ipc_close_received(m.fd);
			break;
		case SL_RECV_AGAIN:
			if (c->failed)
				chan_close(c, c->why);
			return;
		case SL_RECV_EOF:
			chan_close(c, NULL);
			return;
		case SL_RECV_ERROR:
			snprintf(c->why, sizeof(c->why), "recvmsg: %s",
			    strerror(errno));
			chan_close(c, c->why);
			return;
		default:
			chan_close(c, why);
			return;
		}
	}
	/* The watcher fires again for data left, a fed event does not. */
	if (c->failed && !c->closed && !c->freed)
		ev_feed_event(c->loop, &c->rd, EV_READ);
}

static void
chan_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_chan	*c = w->data;

	(void)loop;
	(void)revents;
	c->busy++;
	chan_read(c);
	chan_release(c);
}

/* Send queued frames in order until empty (0), EAGAIN (0) or error (-1). */
static int
chan_drain(struct ipc_chan *c)
{
	struct qframe	*q;

	while ((q = STAILQ_FIRST(&c->queue)) != NULL) {
		if (ipc_frame_send_raw(c->sock, q->buf, q->len, q->fd,
		    MSG_DONTWAIT) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			chan_fail(c, "sendmsg", errno);
			return -1;
		}
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		c->nqueued--;
		/* The peer holds its own reference now. */
		if (q->fd != -1)
			close(q->fd);
		free(q);
	}
	return 0;
}

static void
chan_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_chan	*c = w->data;

	(void)revents;
	c->busy++;
	if (chan_drain(c) == 0 && STAILQ_EMPTY(&c->queue))
		ev_io_stop(loop, &c->wr);
	chan_release(c);
}

static int
chan_enqueue(struct ipc_chan *c, const char *frame, size_t len, int fd)
{
	struct qframe	*q;

	if (c->nqueued >= IPC_CHAN_MAX_QUEUE) {
		errno = ENOBUFS;
		return -1;
	}
	if ((q = malloc(sizeof(*q) + len)) == NULL)
		return -1;
	q->fd = -1;
	/* The caller keeps its fd; the queue holds a reference of its own. */
	if (fd != -1 && (q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		free(q);
		return -1;
	}
	q->len = len;
	memcpy(q->buf, frame, len);
	STAILQ_INSERT_TAIL(&c->queue, q, entry);
	c->nqueued++;
	ev_io_start(c->loop, &c->wr);
	return 0;
}

/*
 * Send m, or queue it behind earlier frames.  Returns -1 when m does not
 * encode, its fd is not open, the queue is full, the kernel refuses this
 * frame (ENOMEM, ETOOMANYREFS) or the channel was already closed.  A
 * broken socket is not an error here: the frame is dropped, 0 is
 * returned and the close callback follows from the loop.
 */
int
ipc_chan_send(struct ipc_chan *c, const struct sl_msg *m)
{
	char	buf[SL_IPC_MAX_FRAME];
	int	len, fd;

	if (c == NULL || c->closed || c->freed) {
		errno = EPIPE;
		return -1;
	}
	if ((len = ipc_frame_build(m, buf, sizeof(buf))) == -1)
		return -1;
	if (c->failed)
		return 0;
	fd = sl_msg_specs[m->type].fd == SL_FD_REQUIRED ? m->fd : -1;
	/* A bad fd is the caller's bug; do not let EBADF kill the channel. */
	if (fd != -1 && fcntl(fd, F_GETFD) == -1)
		return -1;
	if (STAILQ_EMPTY(&c->queue)) {
		if (ipc_frame_send_raw(c->sock, buf, (size_t)len, fd,
		    MSG_DONTWAIT) == 0)
			return 0;
		if (chan_broken(errno)) {
			chan_fail(c, "sendmsg", errno);
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
	return chan_enqueue(c, buf, (size_t)len, fd);
}

int
ipc_chan_fd(const struct ipc_chan *c)
{
	return c->sock;
}

size_t
ipc_chan_queued(const struct ipc_chan *c)
{
	return c->nqueued;
}

/* Milliseconds until *deadline (CLOCK_MONOTONIC), 0 if passed. */
static int
chan_ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 1000000 ? 1000000 : (int)ms;
}

/*
 * Push out everything queued, blocking in poll() up to timeout_ms.  Used
 * before exit or before handing a child its last message (DRAIN).
 */
void
ipc_chan_flush(struct ipc_chan *c, int timeout_ms)
{
	struct timespec	deadline;
	struct pollfd	pfd;
	int		left;

	if (c == NULL || c->closed || c->freed || c->failed)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		if (chan_drain(c) == -1)
			return;
		if (STAILQ_EMPTY(&c->queue)) {
			ev_io_stop(c->loop, &c->wr);
			return;
		}
		if ((left = chan_ms_left(&deadline)) == 0)
			return;
		pfd.fd = c->sock;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			return;
	}
}

/*
 * Empty the socket before closing it.  close() would release the fds of
 * frames still queued in our task, and a lingering socket among them
 * would block us; ipc_frame_recv() closes them safely instead.
 * shutdown() first, so the peer cannot queue more in the meantime (its
 * sends fail with EPIPE).
 */
static void
chan_discard_input(struct ipc_chan *c)
{
	struct sl_msg	m;
	int		i, r;

	(void)shutdown(c->sock, SHUT_RDWR);
	for (i = 0; i < CHAN_DISCARD_MAX; i++) {
		r = ipc_frame_recv(c->sock, c->peer, 0, &m, NULL,
		    MSG_DONTWAIT);
		if (r == SL_RECV_AGAIN || r == SL_RECV_ERROR)
			break;
	}
}

/*
 * Stop, close the socket and every queued fd dup, free.  Safe from the
 * handler and the close callback of this very channel.
 */
void
ipc_chan_free(struct ipc_chan *c)
{
	if (c == NULL || c->freed)
		return;
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	if (c->sock != -1) {
		chan_discard_input(c);
		close(c->sock);
	}
	c->sock = -1;
	chan_purge(c);
	c->freed = 1;
	if (c->busy == 0)
		free(c);
}
