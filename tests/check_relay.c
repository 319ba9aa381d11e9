/*
 * Tests for worker/relay.c over real TCP loopback connections.
 *
 * Everything runs in one thread on one libev loop: the two test peers
 * (the "client application" and the "target server") are themselves
 * non-blocking libev watchers on the same loop as the relay, so a test is
 * a deterministic event-driven program with a deadline timer, no sleeps
 * and no threads.  Streams are pseudo-random bytes; each side hashes what
 * it sent and what it received (FNV-1a 64) and the hashes must match.
 *
 * The relay's struct lives on the heap and the done callback frees it
 * (and closes the relay's fds), which is what a session does: under ASan
 * any touch of the relay after its callback is a use-after-free.
 *
 * Every case runs in copy mode (_i even) and splice mode (_i odd).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "worker/relay.h"

#define MiB		(1024 * 1024)
#define KiB		1024
#define DEADLINE	8.0	/* seconds per ev_run, far below Check's */
#define PEER_BURST	(1 * MiB)
#define FNV_INIT	0xcbf29ce484222325ULL

struct harness;

struct peer {
	struct harness	*h;
	int		 fd;
	ev_io		 rd, wr;
	/* sending: tx_total pseudo-random bytes, then maybe SHUT_WR */
	uint64_t	 tx_total, tx_gen, tx_sent, tx_hash, rng;
	uint8_t		 txbuf[16 * KiB];
	size_t		 txoff, txlen;
	int		 tx_after_eof;	/* send only once rx saw EOF */
	int		 tx_shut;	/* shutdown(SHUT_WR) when all sent */
	int		 tx_done;
	ev_tstamp	 tx_last;	/* when tx_sent last grew */
	/* receiving */
	int		 rx_on;
	uint64_t	 rx_bytes, rx_hash;
	uint8_t		 head[RELAY_BUFSZ];	/* first bytes received */
	size_t		 headlen;
	int		 rx_eof;
	uint64_t	 reset_after;	/* abortive close after N rx bytes */
	/* relay state seen when rx saw EOF */
	int		 eof_up_shut, eof_down_shut;
};

struct harness {
	struct ev_loop	*loop;
	struct relay	*r;		/* freed by the done callback */
	int		 rfd_client, rfd_target;	/* the relay's ends */
	struct peer	 cl, tg;
	ev_timer	 deadline;
	int		 timed_out;
	int		 want_eofs;	/* stop only when both peers saw EOF */
	int		 ncb;
	enum relay_end	 end;
	int		 err;
	ev_tstamp	 t_end;
	uint64_t	 up_bytes, down_bytes;
	_Atomic uint64_t ctr_up, ctr_down;
};

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n-- > 0) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
fill_random(uint64_t *s, uint8_t *p, size_t n)
{
	uint64_t	v;
	size_t		i;

	for (i = 0; i < n; i += 8) {
		v = xorshift(s);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void
set_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	ck_assert_int_ne(fl, -1);
	ck_assert_int_ne(fcntl(fd, F_SETFL, fl | O_NONBLOCK), -1);
}

static void
set_bufs(int fd, int sz)
{
	if (sz == 0)
		return;
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
}

/* A connected TCP pair over 127.0.0.1, both ends non-blocking. */
static void
tcp_pair(int *a, int *b, int bufsz)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);
	int			lfd, cfd, afd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	set_bufs(lfd, bufsz);	/* inherited by the accepted socket */
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cfd, 0);
	set_bufs(cfd, bufsz);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(afd, 0);
	set_nonblock(cfd);
	close(lfd);
	*a = cfd;
	*b = afd;
}

static void
h_check(struct harness *h)
{
	if (h->ncb > 0 && (!h->want_eofs || (h->cl.rx_eof && h->tg.rx_eof)))
		ev_break(h->loop, EVBREAK_ALL);
}

/* Close with SO_LINGER 0: the kernel answers with a RST. */
static void
peer_reset(struct peer *p)
{
	struct linger	l = { 1, 0 };

	ev_io_stop(p->h->loop, &p->rd);
	ev_io_stop(p->h->loop, &p->wr);
	ck_assert_int_eq(setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)), 0);
	close(p->fd);
	p->fd = -1;
}

static void
peer_tx_finish(struct peer *p)
{
	if (p->tx_shut)
		ck_assert_int_eq(shutdown(p->fd, SHUT_WR), 0);
	p->tx_done = 1;
	ev_io_stop(p->h->loop, &p->wr);
}

/* Send what is due, at most PEER_BURST per call. */
static void
peer_tx(struct peer *p)
{
	size_t	moved = 0;
	ssize_t	n;

	while (!p->tx_done && moved < PEER_BURST) {
		if (p->txlen == 0 && p->tx_gen == p->tx_total) {
			peer_tx_finish(p);
			return;
		}
		if (p->txlen == 0) {
			p->txlen = sizeof(p->txbuf);
			if (p->txlen > p->tx_total - p->tx_gen)
				p->txlen = p->tx_total - p->tx_gen;
			fill_random(&p->rng, p->txbuf, p->txlen);
			p->txoff = 0;
			p->tx_gen += p->txlen;
		}
		n = send(p->fd, p->txbuf + p->txoff, p->txlen, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1 && p->h->ncb > 0) {
			/* The relay ended and closed its side: fine. */
			ev_io_stop(p->h->loop, &p->wr);
			return;
		}
		ck_assert_msg(n > 0, "peer send: %s", strerror(errno));
		p->tx_hash = fnv(p->tx_hash, p->txbuf + p->txoff, (size_t)n);
		p->txoff += (size_t)n;
		p->txlen -= (size_t)n;
		p->tx_sent += (uint64_t)n;
		p->tx_last = ev_now(p->h->loop);
		moved += (size_t)n;
	}
}

static void
peer_got_eof(struct peer *p)
{
	struct harness	*h = p->h;

	p->rx_eof = 1;
	ev_io_stop(h->loop, &p->rd);
	if (h->r != NULL) {
		p->eof_up_shut = h->r->up.shut;
		p->eof_down_shut = h->r->down.shut;
	}
	if (p->tx_after_eof)
		ev_io_start(h->loop, &p->wr);
}

static void
peer_rx(struct peer *p)
{
	uint8_t	buf[64 * KiB];
	size_t	moved = 0, k;
	ssize_t	n;

	while (moved < PEER_BURST) {
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1 && p->h->ncb > 0) {
			ev_io_stop(p->h->loop, &p->rd);
			return;
		}
		ck_assert_msg(n >= 0, "peer recv: %s", strerror(errno));
		if (n == 0) {
			peer_got_eof(p);
			return;
		}
		k = sizeof(p->head) - p->headlen;
		k = k < (size_t)n ? k : (size_t)n;
		memcpy(p->head + p->headlen, buf, k);
		p->headlen += k;
		p->rx_hash = fnv(p->rx_hash, buf, (size_t)n);
		p->rx_bytes += (uint64_t)n;
		moved += (size_t)n;
		if (p->reset_after > 0 && p->rx_bytes >= p->reset_after) {
			peer_reset(p);
			return;
		}
	}
}

static void
peer_rd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct peer	*p = w->data;

	peer_rx(p);
	h_check(p->h);
}

static void
peer_wr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct peer	*p = w->data;

	peer_tx(p);
	h_check(p->h);
}

static void
peer_init(struct harness *h, struct peer *p, int fd, uint64_t seed)
{
	p->h = h;
	p->fd = fd;
	p->rng = seed;
	p->tx_hash = p->rx_hash = FNV_INIT;
	ev_io_init(&p->rd, peer_rd_cb, fd, EV_READ);
	ev_io_init(&p->wr, peer_wr_cb, fd, EV_WRITE);
	p->rd.data = p->wr.data = p;
}

static void
peer_go(struct peer *p)
{
	if (p->rx_on)
		ev_io_start(p->h->loop, &p->rd);
	if (!p->tx_after_eof && !p->tx_done)
		ev_io_start(p->h->loop, &p->wr);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct harness	*h = w->data;

	h->timed_out = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
done_cb(struct relay *r, enum relay_end end, int err, void *arg)
{
	struct harness	*h = arg;

	ck_assert_ptr_eq(r, h->r);
	h->ncb++;
	h->end = end;
	h->err = err;
	h->t_end = ev_now(h->loop);
	h->up_bytes = r->up.bytes;
	h->down_bytes = r->down.bytes;
	/* What a session does: stop, free the memory, close the fds. */
	relay_stop(r);
	free(r);
	h->r = NULL;
	close(h->rfd_client);
	close(h->rfd_target);
	h->rfd_client = h->rfd_target = -1;
	h_check(h);
}

static struct harness *
h_new(int bufsz)
{
	struct harness	*h = calloc(1, sizeof(*h));

	ck_assert_ptr_nonnull(h);
	h->loop = ev_loop_new(EVBACKEND_EPOLL);
	ck_assert_ptr_nonnull(h->loop);
	tcp_pair(&h->cl.fd, &h->rfd_client, bufsz);
	tcp_pair(&h->rfd_target, &h->tg.fd, bufsz);
	peer_init(h, &h->cl, h->cl.fd, 0x0123456789abcdefULL);
	peer_init(h, &h->tg, h->tg.fd, 0xfedcba9876543210ULL);
	h->r = calloc(1, sizeof(*h->r));
	ck_assert_ptr_nonnull(h->r);
	ev_timer_init(&h->deadline, deadline_cb, DEADLINE, 0.0);
	h->deadline.data = h;
	return h;
}

static int
h_start(struct harness *h, const void *early, size_t nearly, int splice,
    uint32_t idle_ms)
{
	int	rv;

	rv = relay_start(h->r, h->loop, h->rfd_client, h->rfd_target, early,
	    nearly, splice, idle_ms, &h->ctr_up, &h->ctr_down, done_cb, h);
	ck_assert_int_eq(h->ncb, 0);	/* never from relay_start() */
	return rv;
}

/* Run until h_check() is satisfied or the deadline passes. */
static void
h_run(struct harness *h)
{
	int	i;

	ev_now_update(h->loop);
	ev_timer_set(&h->deadline, DEADLINE, 0.0);
	ev_timer_start(h->loop, &h->deadline);
	ev_run(h->loop, 0);
	ev_timer_stop(h->loop, &h->deadline);
	ck_assert_msg(!h->timed_out, "deadline passed (ncb %d, cl rx %llu "
	    "eof %d, tg rx %llu eof %d)", h->ncb,
	    (unsigned long long)h->cl.rx_bytes, h->cl.rx_eof,
	    (unsigned long long)h->tg.rx_bytes, h->tg.rx_eof);
	/* Some more turns: the callback must not come twice. */
	for (i = 0; i < 5; i++)
		ev_run(h->loop, EVRUN_NOWAIT);
	ck_assert_int_eq(h->ncb, 1);
}

static void
h_free(struct harness *h)
{
	struct peer	*p[2] = { &h->cl, &h->tg };
	int		 i;

	if (h->r != NULL) {
		relay_stop(h->r);
		free(h->r);
	}
	for (i = 0; i < 2; i++) {
		ev_io_stop(h->loop, &p[i]->rd);
		ev_io_stop(h->loop, &p[i]->wr);
		if (p[i]->fd != -1)
			close(p[i]->fd);
	}
	if (h->rfd_client != -1)
		close(h->rfd_client);
	if (h->rfd_target != -1)
		close(h->rfd_target);
	ev_loop_destroy(h->loop);
	free(h);
}

/* Both streams arrived intact and the counters agree with them. */
static void
assert_streams(struct harness *h)
{
	ck_assert_int_eq(h->end, RELAY_END_DONE);
	ck_assert_uint_eq(h->tg.rx_bytes, h->cl.tx_sent);
	ck_assert_uint_eq(h->cl.rx_bytes, h->tg.tx_sent);
	ck_assert(h->tg.rx_hash == h->cl.tx_hash);
	ck_assert(h->cl.rx_hash == h->tg.tx_hash);
	ck_assert_uint_eq(h->up_bytes, h->tg.rx_bytes);
	ck_assert_uint_eq(h->down_bytes, h->cl.rx_bytes);
	ck_assert_uint_eq(atomic_load(&h->ctr_up), h->up_bytes);
	ck_assert_uint_eq(atomic_load(&h->ctr_down), h->down_bytes);
}

/* ------------------------------------------------------------------ */

START_TEST(bulk_both_ways)
{
	struct harness	*h = h_new(0);

	h->cl.tx_total = h->tg.tx_total = 8 * MiB;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 10000), 0);
	ck_assert_int_eq(h->r->splice, _i);
	/* Nothing is allocated before the first byte arrives. */
	ck_assert_int_eq(h->r->up.pipe[0], -1);
	ck_assert_ptr_null(h->r->up.buf);
	ck_assert_ptr_null(h->r->down.buf);
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	assert_streams(h);
	ck_assert_uint_eq(h->up_bytes, 8 * MiB);
	ck_assert_uint_eq(h->down_bytes, 8 * MiB);
	h_free(h);
}
END_TEST

/* _i: bit 0 splice, bit 1 early bytes of exactly RELAY_BUFSZ. */
START_TEST(early_bytes_first)
{
	struct harness	*h = h_new(0);
	uint8_t		*early;
	size_t		 nearly = (_i & 2) ? RELAY_BUFSZ : 1500;
	uint64_t	 seed = 42;

	early = malloc(nearly);
	ck_assert_ptr_nonnull(early);
	fill_random(&seed, early, nearly);
	h->cl.tx_total = 256 * KiB;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->cl.tx_hash = fnv(FNV_INIT, early, nearly);
	h->want_eofs = 1;
	/* Client bytes are already waiting when the relay starts. */
	peer_tx(&h->cl);
	ck_assert_uint_gt(h->cl.tx_sent, 0);
	ck_assert_int_eq(h_start(h, early, nearly, _i & 1, 0), 0);
	memset(early, 0, nearly);	/* the relay must have copied them */
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	fill_random(&(uint64_t){ 42 }, early, nearly);
	ck_assert_uint_ge(h->tg.headlen, nearly);
	ck_assert_mem_eq(h->tg.head, early, nearly);
	ck_assert_uint_eq(h->tg.rx_bytes, nearly + 256 * KiB);
	ck_assert(h->tg.rx_hash == h->cl.tx_hash);
	ck_assert_uint_eq(h->up_bytes, nearly + 256 * KiB);
	ck_assert_uint_eq(atomic_load(&h->ctr_up), nearly + 256 * KiB);
	ck_assert_uint_eq(atomic_load(&h->ctr_down), 0);
	ck_assert_int_eq(h->end, RELAY_END_DONE);
	free(early);
	h_free(h);
}
END_TEST

START_TEST(early_too_big)
{
	struct harness	*h = h_new(0);
	static uint8_t	 early[RELAY_BUFSZ + 1];
	int		 i;

	errno = 0;
	ck_assert_int_eq(h_start(h, early, sizeof(early), _i, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(h_start(h, NULL, 1, _i, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	relay_stop(h->r);
	relay_stop(h->r);	/* idempotent */
	for (i = 0; i < 5; i++)
		ev_run(h->loop, EVRUN_NOWAIT);
	ck_assert_int_eq(h->ncb, 0);
	h_free(h);
}
END_TEST

/*
 * One side sends and shuts its write side; the other only starts sending
 * after it saw that EOF, so the second direction provably keeps flowing
 * after the first was half-closed.  _i bit 1: the target closes first.
 */
START_TEST(half_close)
{
	struct harness	*h = h_new(0);
	struct peer	*first = (_i & 2) ? &h->tg : &h->cl;
	struct peer	*second = (_i & 2) ? &h->cl : &h->tg;

	first->tx_total = 1 * MiB + 17;
	second->tx_total = 3 * MiB + 5;
	first->tx_shut = second->tx_shut = 1;
	first->rx_on = second->rx_on = 1;
	second->tx_after_eof = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i & 1, 0), 0);
	peer_go(first);
	peer_go(second);
	h_run(h);
	assert_streams(h);
	/* When the second peer saw EOF, only that direction was shut. */
	if (_i & 2) {
		ck_assert_int_eq(second->eof_down_shut, 1);
		ck_assert_int_eq(second->eof_up_shut, 0);
	} else {
		ck_assert_int_eq(second->eof_up_shut, 1);
		ck_assert_int_eq(second->eof_down_shut, 0);
	}
	h_free(h);
}
END_TEST

struct quiet {
	struct harness	*h;
	uint64_t	 last;
	int		 still;
};

/* Break once the client made no progress for 4 ticks in a row. */
static void
quiet_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct quiet	*q = w->data;

	if (q->h->cl.tx_sent == q->last && q->h->cl.tx_sent > 0) {
		if (++q->still >= 4)
			ev_break(loop, EVBREAK_ALL);
	} else
		q->still = 0;
	q->last = q->h->cl.tx_sent;
}

static void
break_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static int
sockopt_int(int fd, int opt)
{
	int		v;
	socklen_t	l = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, opt, &v, &l), 0);
	return v;
}

/*
 * The target never reads while the client pushes 50 MiB: what leaves the
 * client is bounded by the socket buffers plus one relay buffer, the
 * relay's read watcher is stopped and the loop sleeps.  Then the target
 * reads and all 50 MiB must arrive intact.
 */
START_TEST(backpressure)
{
	struct harness	*h = h_new(128 * KiB);
	struct quiet	 q = { h, 0, 0 };
	ev_timer	 tick, stop;
	unsigned int	 it;
	uint64_t	 bound;

	h->cl.tx_total = 50 * MiB;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 0), 0);
	peer_go(&h->cl);
	peer_go(&h->tg);	/* sends nothing but its FIN */

	ev_timer_init(&tick, quiet_cb, 0.05, 0.05);
	tick.data = &q;
	ev_timer_start(h->loop, &tick);
	ev_timer_start(h->loop, &h->deadline);
	ev_run(h->loop, 0);
	ev_timer_stop(h->loop, &tick);
	ck_assert(!h->timed_out);
	ck_assert_int_eq(h->ncb, 0);

	bound = (uint64_t)sockopt_int(h->cl.fd, SO_SNDBUF) +
	    sockopt_int(h->rfd_client, SO_RCVBUF) + RELAY_BUFSZ +
	    sockopt_int(h->rfd_target, SO_SNDBUF) +
	    sockopt_int(h->tg.fd, SO_RCVBUF);
	ck_assert_msg(h->cl.tx_sent < bound + 256 * KiB &&
	    h->cl.tx_sent < 16 * MiB, "client got %llu bytes out (bound %llu)",
	    (unsigned long long)h->cl.tx_sent, (unsigned long long)bound);
	ck_assert(!ev_is_active(&h->r->up.rd));
	ck_assert(ev_is_active(&h->r->up.wr));
	ck_assert_uint_gt(h->r->up.len, 0);

	/* Stalled, the loop must sleep: a handful of iterations in 0.3 s. */
	it = ev_iteration(h->loop);
	ev_timer_init(&stop, break_cb, 0.3, 0.0);
	ev_timer_start(h->loop, &stop);
	ev_run(h->loop, 0);
	ck_assert_uint_lt(ev_iteration(h->loop) - it, 20);

	h->tg.rx_on = 1;
	ev_io_start(h->loop, &h->tg.rd);
	ev_timer_stop(h->loop, &h->deadline);
	h_run(h);
	assert_streams(h);
	ck_assert_uint_eq(h->up_bytes, 50 * MiB);
	h_free(h);
}
END_TEST

START_TEST(idle_timeout)
{
	struct harness	*h = h_new(0);
	ev_tstamp	 t0;

	h->cl.rx_on = h->tg.rx_on = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 150), 0);
	peer_go(&h->cl);
	peer_go(&h->tg);
	t0 = ev_now(h->loop);
	h_run(h);
	ck_assert_int_eq(h->end, RELAY_END_IDLE);
	ck_assert_int_eq(h->err, 0);
	ck_assert_msg(h->t_end - t0 >= 0.149, "idle after %.3f s",
	    h->t_end - t0);
	h_free(h);
}
END_TEST

struct pinger {
	struct harness	*h;
	int		 left;
	ev_tstamp	 last;
};

static void
ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pinger	*pg = w->data;

	ck_assert_int_eq(send(pg->h->cl.fd, "p", 1, MSG_NOSIGNAL), 1);
	pg->last = ev_now(loop);
	if (--pg->left == 0)
		ev_timer_stop(loop, w);
}

/* Traffic keeps the relay alive; silence after it ends it. */
START_TEST(idle_postponed)
{
	struct harness	*h = h_new(0);
	struct pinger	 pg = { h, 12, 0 };
	ev_timer	 ping;
	ev_tstamp	 t0;

	h->cl.rx_on = h->tg.rx_on = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 300), 0);
	peer_go(&h->cl);
	peer_go(&h->tg);
	ev_timer_init(&ping, ping_cb, 0.03, 0.03);
	ping.data = &pg;
	ev_timer_start(h->loop, &ping);
	t0 = ev_now(h->loop);
	h_run(h);
	ev_timer_stop(h->loop, &ping);
	ck_assert_int_eq(h->end, RELAY_END_IDLE);
	ck_assert_int_eq(pg.left, 0);
	ck_assert_uint_eq(h->tg.rx_bytes, 12);
	ck_assert_uint_eq(atomic_load(&h->ctr_up), 12);
	ck_assert_msg(h->t_end - pg.last >= 0.29, "idle %.3f s after the "
	    "last byte", h->t_end - pg.last);
	ck_assert(h->t_end - t0 >= 0.36 + 0.29);
	h_free(h);
}
END_TEST

/*
 * A peer closes with SO_LINGER 0 in mid-stream.  _i bit 1: the client
 * resets (while the target streams to it), else the target does.
 */
START_TEST(reset)
{
	struct harness	*h = h_new(0);
	struct peer	*sender = (_i & 2) ? &h->tg : &h->cl;
	struct peer	*victim = (_i & 2) ? &h->cl : &h->tg;

	sender->tx_total = 4 * MiB;
	victim->rx_on = 1;
	victim->reset_after = 64 * KiB;
	ck_assert_int_eq(h_start(h, NULL, 0, _i & 1, 0), 0);
	peer_go(sender);
	peer_go(victim);
	h_run(h);
	ck_assert_int_eq(victim->fd, -1);
	ck_assert_int_eq(h->end, RELAY_END_ERROR);
	ck_assert_msg(h->err == ECONNRESET || h->err == EPIPE, "err %d (%s)",
	    h->err, strerror(h->err));
	h_free(h);
}
END_TEST

/* Failure that is there before the start is still reported later. */
START_TEST(reset_before_start)
{
	struct harness	*h = h_new(0);

	peer_reset(&h->tg);
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 0), 0);
	h_run(h);
	ck_assert_int_eq(h->end, RELAY_END_ERROR);
	ck_assert_int_eq(h->err, ECONNRESET);
	h_free(h);
}
END_TEST

/* No fd left for the pipes: the session still runs, in copy mode. */
START_TEST(splice_emfile_fallback)
{
	struct harness	*h = h_new(0);
	struct rlimit	 old, low;
	int		 fd;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd;	/* the next fd would be fd: EMFILE */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_int_eq(pipe(&(int[2]){ 0, 0 }[0]), -1);
	ck_assert_int_eq(errno, EMFILE);
	/* Pipes are made on first use: keep the limit low while relaying. */
	fd = h_start(h, NULL, 0, 1, 0);
	ck_assert_int_eq(fd, 0);
	ck_assert_int_eq(h->r->up.pipe[0], -1);
	ck_assert_int_eq(h->r->down.pipe[0], -1);

	h->cl.tx_total = h->tg.tx_total = 1 * MiB;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->want_eofs = 1;
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_streams(h);
	h_free(h);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite	*s = suite_create("relay");
	TCase	*tc = tcase_create("relay");

	/* Our own deadlines are 8 s per run; this only catches hangs. */
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, bulk_both_ways, 0, 2);
	tcase_add_loop_test(tc, early_bytes_first, 0, 4);
	tcase_add_loop_test(tc, early_too_big, 0, 2);
	tcase_add_loop_test(tc, half_close, 0, 4);
	tcase_add_loop_test(tc, backpressure, 0, 2);
	tcase_add_loop_test(tc, idle_timeout, 0, 2);
	tcase_add_loop_test(tc, idle_postponed, 0, 2);
	tcase_add_loop_test(tc, reset, 0, 4);
	tcase_add_loop_test(tc, reset_before_start, 0, 2);
	tcase_add_test(tc, splice_emfile_fallback);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfail;

	/* splice() to a socket has no MSG_NOSIGNAL; workers ignore it too. */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(relay_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
