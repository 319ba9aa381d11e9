/*
 * The datagram pump of one association (see datagram.h).
 *
 * Each readable socket is drained up to DGRAM_BURST datagrams per
 * callback, then the loop serves others: libev's io watchers are level
 * triggered, so what is left is picked up on the next iteration.
 *
 * One datagram at a time goes through the association's single buffer
 * (headroom + 64 KiB): read, handed to the owner's callback (which may
 * write a header into the headroom or skip one), sent.  recvmmsg() would
 * need a whole 64 KiB slot per datagram of a batch to never truncate one
 * (a truncated datagram is lost), so the batch would cost its size in
 * memory per association; one buffer and one recvfrom()/sendto() pair
 * per datagram keep an association at ~66 KiB and every datagram whole.
 *
 * Sends never wait: a datagram the kernel does not take at once
 * (EAGAIN, ENOBUFS, an ICMP error reported late) is dropped and counted.
 * Only the client socket failing for good (not a transient error) ends
 * the association; a target socket's error is the target's business.
 * The idle timer sees only datagrams that were relayed, so a stranger's
 * dropped datagrams cannot keep an association alive.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datagram.h"

#define DGRAM_BURST	64		/* datagrams per callback */

#ifndef container_of
#define container_of(p, type, member)					\
	((type *)(void *)((char *)(p) - offsetof(type, member)))
#endif

/* Transient errors: the datagram is lost, the socket goes on. */
static int
dgram_transient(int err)
{
	switch (err) {
	case EAGAIN:
	case EINTR:
	case ENOBUFS:
	case ENOMEM:
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EMSGSIZE:
	case EACCES:
	case EPERM:
	case EINVAL:
	case EAFNOSUPPORT:
	case EDESTADDRREQ:
	case ENOPROTOOPT:
	case EPROTO:
	case EOPNOTSUPP:
		return 1;
	default:
		return 0;
	}
}

/* Where a datagram goes: its socket, or -1. */
static int
dgram_fd(const struct datagram *d, int peer)
{
	if (peer == DGRAM_CLIENT)
		return d->cfd;
	if (peer < 0 || peer >= DGRAM_PEERS)
		return -1;
	return d->peers[peer].fd;
}

static int
dgram_sendto(struct datagram *d, int peer, const struct sockaddr *to,
    socklen_t tolen, const void *data, size_t len)
{
	ssize_t	n;
	int	fd = dgram_fd(d, peer);

	if (fd == -1) {
		errno = EBADF;
		d->st.send_failed++;
		return -1;
	}
	do
		n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, to,
		    tolen);
	while (n == -1 && errno == EINTR);
	if (n == -1 || (size_t)n != len) {
		d->st.send_failed++;
		return -1;
	}
	d->last_io = ev_now(d->loop);
	if (peer == DGRAM_CLIENT) {
		d->st.down++;
		d->st.down_bytes += len;
	} else {
		d->st.up++;
		d->st.up_bytes += len;
		if (d->peers[peer].ctr_up != NULL)
			atomic_fetch_add_explicit(d->peers[peer].ctr_up, len,
			    memory_order_relaxed);
	}
	return 0;
}

int
datagram_send(struct datagram *d, int peer, const struct sockaddr *to,
    socklen_t tolen, const void *data, size_t len)
{
	return dgram_sendto(d, peer, to, tolen, data, len);
}

/*
 * Read up to DGRAM_BURST datagrams from fd; from is DGRAM_CLIENT or the
 * peer index.  Returns 0, or -1 with errno when fd failed for good.
 */
static int
dgram_pump(struct datagram *d, int fd, int from)
{
	struct sockaddr_storage	 ss;
	struct dgram_out	 out;
	enum dgram_verdict	 v;
	uint8_t			*data = d->buf + DGRAM_HEADROOM;
	socklen_t		 sslen;
	ssize_t			 n;
	int			 i;

	for (i = 0; i < DGRAM_BURST && d->running; i++) {
		sslen = sizeof(ss);
		n = recvfrom(fd, data, DGRAM_MAX, MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (dgram_transient(errno))
				continue;
			return -1;
		}
		memset(&out, 0, sizeof(out));
		if (from == DGRAM_CLIENT)
			v = d->ops->from_client(d->arg, (struct sockaddr *)&ss,
			    sslen, data, (size_t)n, &out);
		else {
			v = d->ops->from_peer(d->arg, from,
			    (struct sockaddr *)&ss, sslen, data, (size_t)n,
			    &out);
			if (v == DGRAM_SEND && d->peers[from].ctr_down != NULL)
				atomic_fetch_add_explicit(
				    d->peers[from].ctr_down, out.len,
				    memory_order_relaxed);
		}
		if (!d->running)
			return 0;	/* stopped by the callback */
		if (v == DGRAM_DROP)
			d->st.dropped++;
		if (v != DGRAM_SEND)
			continue;
		/* The callback must stay inside the buffer. */
		if (out.data < d->buf || out.len > DGRAM_HEADROOM + DGRAM_MAX ||
		    (size_t)(out.data - d->buf) > DGRAM_HEADROOM + DGRAM_MAX -
		    out.len) {
			d->st.dropped++;
			continue;
		}
		(void)dgram_sendto(d, out.peer, out.to, out.tolen, out.data,
		    out.len);
	}
	return 0;
}

static void
dgram_fail(struct datagram *d, int err)
{
	datagram_stop(d);
	d->ops->end(d->arg, DGRAM_END_ERROR, err);
}

static void
dgram_client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct datagram	*d = container_of(w, struct datagram, cio);

	(void)loop;
	(void)revents;
	if (dgram_pump(d, d->cfd, DGRAM_CLIENT) == -1)
		dgram_fail(d, errno);
}

static void
dgram_peer_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dgram_peer	*p = container_of(w, struct dgram_peer, io);
	struct datagram		*d = p->d;
	int			 i = (int)(p - d->peers);

	(void)loop;
	(void)revents;
	/* A target socket gone bad is closed; the association goes on. */
	if (dgram_pump(d, p->fd, i) == -1)
		datagram_drop_peer(d, i);
}

static void
dgram_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct datagram	*d = container_of(w, struct datagram, idle);
	ev_tstamp	 after;

	(void)revents;
	after = d->last_io + d->idle_ms / 1000.0 - ev_now(loop);
	if (after > 0.0) {
		ev_timer_set(w, after, 0.0);
		ev_timer_start(loop, w);
		return;
	}
	datagram_stop(d);
	d->ops->end(d->arg, DGRAM_END_IDLE, 0);
}

int
datagram_start(struct datagram *d, struct ev_loop *loop, int cfd,
    uint32_t idle_ms, const struct dgram_ops *ops, void *arg)
{
	int	i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < DGRAM_PEERS; i++)
		d->peers[i].fd = -1;
	if ((d->buf = malloc(DGRAM_HEADROOM + DGRAM_MAX)) == NULL)
		return -1;
	d->loop = loop;
	d->cfd = cfd;
	d->idle_ms = idle_ms;
	d->ops = ops;
	d->arg = arg;
	d->running = 1;
	d->last_io = ev_now(loop);
	ev_io_init(&d->cio, dgram_client_cb, cfd, EV_READ);
	ev_io_start(loop, &d->cio);
	ev_timer_init(&d->idle, dgram_idle_cb, 0.0, 0.0);
	if (idle_ms > 0) {
		ev_timer_set(&d->idle, idle_ms / 1000.0, 0.0);
		ev_timer_start(loop, &d->idle);
	}
	return 0;
}

int
datagram_add_peer(struct datagram *d, int fd, _Atomic uint64_t *ctr_up,
    _Atomic uint64_t *ctr_down)
{
	struct dgram_peer	*p;
	int			 i;

	for (i = 0; i < DGRAM_PEERS && d->running; i++) {
		p = &d->peers[i];
		if (p->fd != -1)
			continue;
		p->fd = fd;
		p->d = d;
		p->ctr_up = ctr_up;
		p->ctr_down = ctr_down;
		ev_io_init(&p->io, dgram_peer_cb, fd, EV_READ);
		ev_io_start(d->loop, &p->io);
		return i;
	}
	close(fd);
	return -1;
}

void
datagram_drop_peer(struct datagram *d, int peer)
{
	struct dgram_peer	*p;

	if (peer < 0 || peer >= DGRAM_PEERS || d->peers[peer].fd == -1)
		return;
	p = &d->peers[peer];
	ev_io_stop(d->loop, &p->io);
	close(p->fd);
	p->fd = -1;
}

void
datagram_stop(struct datagram *d)
{
	int	i;

	if (d->buf == NULL && !d->running)
		return;
	d->running = 0;
	ev_io_stop(d->loop, &d->cio);
	ev_timer_stop(d->loop, &d->idle);
	for (i = 0; i < DGRAM_PEERS; i++)
		datagram_drop_peer(d, i);
	free(d->buf);
	d->buf = NULL;
}
