/*
 * Tests for worker/relay/stream.c over real TCP loopback connections.
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
 * Every case runs in copy mode (_i even) and splice mode (_i odd); the
 * tap cases ask for splice too and must get copy mode.
 *
 * The harness (peers, pairs, deadline, done callback) is in
 * check_relay_harness.c; this file holds the tests and main().
 */
#include "check_relay.h"

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
	/*
	 * When the second peer saw EOF, only that direction was shut, and
	 * it held no pipe or buffer any more: a half-closed session pins
	 * nothing while the other direction runs on.
	 */
	if (_i & 2) {
		ck_assert_int_eq(second->eof_down_shut, 1);
		ck_assert_int_eq(second->eof_up_shut, 0);
		ck_assert_int_eq(second->eof_down_held, 0);
	} else {
		ck_assert_int_eq(second->eof_up_shut, 1);
		ck_assert_int_eq(second->eof_down_shut, 0);
		ck_assert_int_eq(second->eof_up_held, 0);
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

/*
 * Pipe depths: 1 MiB while the worker's share of RELAY_PIPE_BUDGET
 * allows, then 256 KiB, then the kernel's default; a pipe closed gives
 * its depth back, and a read never asks a pipe for more than it holds.
 */
START_TEST(pool_tiers)
{
	int	p[6][2], none[2] = { -1, -1 };
	uint8_t	deep[6];
	char	*buf = NULL;
	int	i;

	relay_pool_init(16);	/* 24 MiB / 16: 1.5 MiB for this worker */
	ck_assert_uint_eq(relay_pool_depth(1, none, 0), RELAY_PIPESZ);
	ck_assert_uint_eq(relay_pool_depth(0, none, 0), RELAY_BUFSZ);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(relay_pool_take(1, p[i], &deep[i], &buf), 0);
		ck_assert_ptr_null(buf);
		ck_assert_int_eq(fcntl(p[i][1], F_GETPIPE_SZ),
		    (int)relay_pipe_depth(deep[i]));
		ck_assert_uint_eq(relay_pool_depth(1, p[i], deep[i]),
		    relay_pipe_depth(deep[i]));
	}
	ck_assert_uint_eq(relay_pipe_depth(deep[0]), RELAY_PIPESZ);
	ck_assert_uint_eq(relay_pipe_depth(deep[1]), 256 * KiB);
	ck_assert_uint_eq(relay_pipe_depth(deep[2]), 256 * KiB);
	ck_assert_uint_eq(relay_pipe_depth(deep[3]), RELAY_BUFSZ);
	ck_assert_uint_eq(relay_pool_depth(1, none, 0), RELAY_BUFSZ);
	/* The 1 MiB pipe closed (it held bytes): room for one again. */
	relay_pool_drop(p[0], deep[0]);
	ck_assert_int_eq(p[0][0], -1);
	ck_assert_uint_eq(relay_pool_depth(1, none, 0), RELAY_PIPESZ);
	ck_assert_int_eq(relay_pool_take(1, p[4], &deep[4], &buf), 0);
	ck_assert_uint_eq(relay_pipe_depth(deep[4]), RELAY_PIPESZ);
	/* Given back, a pipe is lent again as it is: the newest first. */
	relay_pool_give(p[3], deep[3], &buf, 0);
	ck_assert_uint_eq(relay_pool_depth(1, none, 0), RELAY_BUFSZ);
	relay_pool_give(p[4], deep[4], &buf, 0);
	ck_assert_uint_eq(relay_pool_depth(1, none, 0), RELAY_PIPESZ);
	ck_assert_int_eq(relay_pool_take(1, p[5], &deep[5], &buf), 0);
	ck_assert_uint_eq(relay_pipe_depth(deep[5]), RELAY_PIPESZ);
	ck_assert_int_eq(fcntl(p[5][1], F_GETPIPE_SZ), (int)RELAY_PIPESZ);
}
END_TEST

/* Taps: a chain in the relay forces copy mode and sees every chunk. */

static struct sl_tap
tap_replace(const char *search, const char *replace)
{
	struct sl_tap	t;

	memset(&t, 0, sizeof(t));
	t.type = SL_TAP_REPLACE;
	t.dirs = SL_TAP_UP | SL_TAP_DOWN;
	t.search = (uint8_t *)search;
	t.nsearch = strlen(search);
	t.replace = (uint8_t *)replace;
	t.nreplace = strlen(replace);
	return t;
}

/*
 * transmitm's /api -> /forbidden through real sockets: early bytes,
 * a match across two reads, and a partial match let go by the flush
 * timer when nothing more comes (so a late "i" is not replaced).
 */
START_TEST(tap_replace_relay)
{
	static const char	 want[] = "early /forbidden/v1 GET /forbidden/x\n"
				     "tail /api";
	struct harness		*h = h_new(0);
	struct sl_tap		 t[2];
	struct taps		*tp;

	t[0] = tap_replace("/api", "/forbidden");
	memset(&t[1], 0, sizeof(t[1]));
	t[1].type = SL_TAP_LOG;
	t[1].dirs = SL_TAP_UP;
	tp = taps_new(t, 2, NULL);
	ck_assert_ptr_nonnull(tp);
	h->cl.rx_on = h->tg.rx_on = 1;
	h->tg.tx_shut = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start_taps(h, "early /a", 8, _i, 10000, tp), 0);
	ck_assert_int_eq(h->r->splice, 0);
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run_for(h, 0.02);
	ck_assert_uint_eq(h->tg.headlen, 6);	/* "early ", "/a" held */
	h_send(h, "pi/v1 GET /ap");
	h_run_for(h, 0.02);
	h_send(h, "i/x\n");
	h_run_for(h, 0.02);
	h_send(h, "tail /ap");
	h_run_for(h, 0.02);
	/* All but "/ap", held until more comes or TAPS_FLUSH_MS. */
	ck_assert_uint_eq(h->tg.headlen, strlen(want) - 4);
	h_run_for(h, 0.3);
	ck_assert_uint_eq(h->tg.headlen, strlen(want) - 1);
	h_send(h, "i");
	ck_assert_int_eq(shutdown(h->cl.fd, SHUT_WR), 0);
	h_run(h);
	ck_assert_int_eq(h->end, RELAY_END_DONE);
	ck_assert_uint_eq(h->tg.headlen, strlen(want));
	ck_assert_mem_eq(h->tg.head, want, strlen(want));
	ck_assert_uint_eq(h->up_bytes, strlen(want));
	ck_assert_uint_eq(atomic_load(&h->ctr_up), strlen(want));
	h_free(h);
	taps_free(tp);
}
END_TEST

/* Bulk both ways through a replace that rewrites a pattern to itself. */
START_TEST(tap_bulk_intact)
{
	struct harness	*h = h_new(0);
	struct sl_tap	 t = tap_replace("\x01\x02", "\x01\x02");
	struct taps	*tp = taps_new(&t, 1, NULL);

	ck_assert_ptr_nonnull(tp);
	h->cl.tx_total = h->tg.tx_total = 4 * MiB;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start_taps(h, NULL, 0, _i, 10000, tp), 0);
	ck_assert_int_eq(h->r->splice, 0);
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	assert_streams(h);
	ck_assert_uint_eq(h->up_bytes, 4 * MiB);
	h_free(h);
	taps_free(tp);
}
END_TEST

/* A 1 MiB/s throttle on a fast sender moves about 1 MiB/s. */
START_TEST(tap_throttle_rate)
{
	struct harness	*h = h_new(0);
	struct sl_tap	 t;
	struct taps	*tp;
	ev_tstamp	 start;
	double		 rate;

	memset(&t, 0, sizeof(t));
	t.type = SL_TAP_THROTTLE;
	t.dirs = SL_TAP_UP;
	t.rate = MiB;
	tp = taps_new(&t, 1, NULL);
	ck_assert_ptr_nonnull(tp);
	h->cl.tx_total = 5 * MiB / 4;
	h->tg.tx_total = 2 * MiB;	/* the other way is not throttled */
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start_taps(h, NULL, 0, 0, 10000, tp), 0);
	ev_now_update(h->loop);
	start = ev_now(h->loop);
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	assert_streams(h);
	rate = (double)(5 * MiB / 4) / (h->t_end - start);
	ck_assert_msg(rate > 0.8 * MiB && rate < 1.2 * MiB,
	    "%.0f bytes/s over %.2f s", rate, h->t_end - start);
	h_free(h);
	taps_free(tp);
}
END_TEST

/* _i 0: a drop match across two reads; 1: in the early bytes. */
START_TEST(tap_drop_ends)
{
	struct harness	*h = h_new(0);
	struct sl_tap	 t;
	struct taps	*tp;

	memset(&t, 0, sizeof(t));
	t.type = SL_TAP_DROP;
	t.dirs = SL_TAP_UP;
	t.search = (uint8_t *)"DELETE ";
	t.nsearch = 7;
	tp = taps_new(&t, 1, NULL);
	ck_assert_ptr_nonnull(tp);
	h->cl.rx_on = h->tg.rx_on = 1;
	if (_i == 0) {
		ck_assert_int_eq(h_start_taps(h, NULL, 0, 1, 10000, tp), 0);
		peer_go(&h->cl);
		peer_go(&h->tg);
		h_send(h, "GET / DEL");
		h_run_for(h, 0.02);
		ck_assert_int_eq(h->ncb, 0);
		h_send(h, "ETE /x");
	} else {
		ck_assert_int_eq(h_start_taps(h, "DELETE /x", 9, 1, 10000, tp),
		    0);
		peer_go(&h->cl);
		peer_go(&h->tg);
	}
	h_run(h);
	ck_assert_int_eq(h->end, RELAY_END_TAP);
	ck_assert_str_eq(taps_why(tp), "tap drop: matched \"DELETE \"");
	ck_assert_uint_le(h->tg.rx_bytes, _i == 0 ? 9 : 0);
	h_free(h);
	taps_free(tp);
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
	tcase_add_test(tc, pool_tiers);
	tcase_add_loop_test(tc, tap_replace_relay, 0, 2);
	tcase_add_loop_test(tc, tap_bulk_intact, 0, 2);
	tcase_add_test(tc, tap_throttle_rate);
	tcase_add_loop_test(tc, tap_drop_ends, 0, 2);
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
