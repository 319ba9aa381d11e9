/*
 * The relay tests' harness: a connected TCP loopback pair on each side
 * of the relay, two non-blocking libev peers (the "client application"
 * and the "target server") that send pseudo-random streams and hash what
 * they send and receive, a deadline timer, and a done callback that does
 * what a session does (stop, free, close).
 * Part of the check_relay executable (see check_relay.h).
 */
#include "check_relay.h"

uint64_t
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

void
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
void
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
void
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
		p->eof_up_held = h->r->up.pipe[0] != -1 || h->r->up.buf != NULL;
		p->eof_down_held = h->r->down.pipe[0] != -1 ||
		    h->r->down.buf != NULL;
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

void
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

struct harness *
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

int
h_start(struct harness *h, const void *early, size_t nearly, int splice,
    uint32_t idle_ms)
{
	return h_start_taps(h, early, nearly, splice, idle_ms, NULL);
}

/* The same with a tap chain (not owned: free it after h_run). */
int
h_start_taps(struct harness *h, const void *early, size_t nearly,
    int splice, uint32_t idle_ms, struct taps *taps)
{
	int	rv;

	rv = relay_start(h->r, h->loop, h->rfd_client, h->rfd_target, early,
	    nearly, splice, idle_ms, taps, &h->ctr_up, &h->ctr_down, done_cb,
	    h);
	ck_assert_int_eq(h->ncb, 0);	/* never from relay_start() */
	return rv;
}

static void
run_for_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

/* Let the loop run for secs (peers and relay do their work). */
void
h_run_for(struct harness *h, double secs)
{
	ev_timer	t;

	ev_now_update(h->loop);
	ev_timer_init(&t, run_for_cb, secs, 0.0);
	ev_timer_start(h->loop, &t);
	ev_run(h->loop, 0);
	ev_timer_stop(h->loop, &t);
}

/* A few bytes from the client application, at once. */
void
h_send(struct harness *h, const char *s)
{
	ck_assert_int_eq(send(h->cl.fd, s, strlen(s), MSG_NOSIGNAL),
	    (ssize_t)strlen(s));
}

/* Run until h_check() is satisfied or the deadline passes. */
void
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

void
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
void
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

