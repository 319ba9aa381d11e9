/*
 * IPC tests, the libev channel: queueing and ordering past the socket's
 * capacity, queued fds, the queue bound, peer close, violations, freeing
 * from inside callbacks, sends into a dead peer, and flush.
 * Part of the check_codec executable (see check_codec.h).
 */
#include "check_codec.h"

struct tctx {
	struct ev_loop	*loop;
	struct ipc_chan	*chan;
	int		 nmsg;
	int		 nclose;
	int		 close_null;
	char		 why[160];
	int		 free_in_handler;
	int		 free_in_close;
	int		 bad;
	int		 fdbytes;
};

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/*
 * Run the loop until *cnt reaches target; fail after secs.  A 10 ms tick
 * wakes ev_run(EVRUN_ONCE) so the condition is checked even when the
 * awaited callback ran from libev's pending queue and nothing else is
 * left to wait for.
 */
static void
run_until(struct ev_loop *loop, const int *cnt, int target, double secs)
{
	ev_timer	tick;
	ev_tstamp	end;

	ev_now_update(loop);
	end = ev_now(loop) + secs;
	ev_timer_init(&tick, tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (*cnt < target && ev_now(loop) < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	ck_assert_msg(*cnt >= target, "timed out: %d of %d", *cnt, target);
}

static void
t_handler(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	struct tctx	*x = arg;
	int		 seq;

	if (m->type == SL_MSG_LOG) {
		seq = atoi(m->u.log.text);
		if (seq != x->nmsg)
			x->bad++;
	}
	if (m->type == SL_MSG_CFG_PEER) {
		if (m->fd < 0 || write(m->fd, "f", 1) != 1)
			x->bad++;
		x->fdbytes++;
	}
	if (m->fd != -1)
		close(m->fd);
	x->nmsg++;
	if (x->free_in_handler) {
		ipc_chan_free(c);
		x->chan = NULL;
	}
}

static void
t_close(struct ipc_chan *c, const char *why, void *arg)
{
	struct tctx	*x = arg;

	x->nclose++;
	x->close_null = why == NULL;
	snprintf(x->why, sizeof(x->why), "%s", why ? why : "");
	if (x->free_in_close) {
		ipc_chan_free(c);
		x->chan = NULL;
	}
}

static void
tctx_init(struct tctx *x, struct ev_loop *loop)
{
	memset(x, 0, sizeof(*x));
	x->loop = loop;
	x->free_in_close = 1;
}

/* Worker -> master LOG lines, far more than the socket holds. */
START_TEST(t_chan_queue_order)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 wx, mx;
	struct ipc_chan	*w, *ma;
	struct sl_msg	 m;
	int		 sv[2], i, n = 2000, nfds;

	nfds = count_fds();
	seqpair(sv);
	tctx_init(&wx, loop);
	tctx_init(&mx, loop);
	w = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler, t_close,
	    &wx);
	ma = ipc_chan_new(loop, sv[1], SL_PROC_WORKER, 0, t_handler, t_close,
	    &mx);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(ma);
	for (i = 0; i < n; i++) {
		fill(&m, SL_MSG_LOG, 0);
		snprintf(m.u.log.text, sizeof(m.u.log.text), "%d %0900d", i,
		    0);
		ck_assert_int_eq(ipc_chan_send(w, &m), 0);
	}
	ck_assert_uint_gt(ipc_chan_queued(w), 0);
	ck_assert_uint_lt(ipc_chan_queued(w), (size_t)n);
	ck_assert_int_eq(ipc_chan_fd(w), sv[0]);
	run_until(loop, &mx.nmsg, n, 20);
	ck_assert_int_eq(mx.nmsg, n);
	ck_assert_int_eq(mx.bad, 0);
	ck_assert_uint_eq(ipc_chan_queued(w), 0);
	ck_assert_int_eq(mx.nclose + wx.nclose, 0);
	ipc_chan_free(w);
	ipc_chan_free(ma);
	ck_assert_int_eq(count_fds(), nfds);
	ev_loop_destroy(loop);
}
END_TEST

/* Queued frames keep their fds (as dups) and deliver them in order. */
START_TEST(t_chan_queue_fds)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 wx, mx;
	struct ipc_chan	*w, *ma;
	struct sl_msg	 m;
	char		 buf[64];
	int		 sv[2], p[2], i, ndrain = 0, base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	tctx_init(&wx, loop);
	tctx_init(&mx, loop);
	ma = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &mx);
	w = ipc_chan_new(loop, sv[1], SL_PROC_MASTER, 1, t_handler, t_close,
	    &wx);
	fill(&m, SL_MSG_DRAIN, 0);
	while (ipc_chan_queued(ma) == 0) {
		ck_assert_int_eq(ipc_chan_send(ma, &m), 0);
		ck_assert_int_lt(++ndrain, 100000);
	}
	base = count_fds();
	for (i = 0; i < 50; i++) {
		fill(&m, SL_MSG_CFG_PEER, 0);
		m.u.cfg_peer.index = i % SL_MAX_WORKERS;
		m.fd = p[1];
		ck_assert_int_eq(ipc_chan_send(ma, &m), 0);
	}
	/* 50 dups of p[1] wait in the queue. */
	ck_assert_int_eq(count_fds(), base + 50);
	run_until(loop, &wx.nmsg, ndrain + 50, 20);
	ck_assert_int_eq(wx.nmsg, ndrain + 50);
	ck_assert_int_eq(wx.bad, 0);
	ck_assert_int_eq(wx.fdbytes, 50);
	ck_assert_uint_eq(ipc_chan_queued(ma), 0);
	ck_assert_int_eq(count_fds(), base);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 50);
	ipc_chan_free(w);
	ipc_chan_free(ma);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_queue_bound)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct ipc_chan	*c;
	struct sl_msg	 m;
	int		 sv[2], p[2], i, base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	tctx_init(&x, loop);
	c = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; ipc_chan_queued(c) < IPC_CHAN_MAX_QUEUE - 1; i++) {
		ck_assert_int_eq(ipc_chan_send(c, &m), 0);
		ck_assert_int_lt(i, 1000000);
	}
	base = count_fds();
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = p[1];
	ck_assert_int_eq(ipc_chan_send(c, &m), 0);
	ck_assert_uint_eq(ipc_chan_queued(c), IPC_CHAN_MAX_QUEUE);
	ck_assert_int_eq(count_fds(), base + 1);
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	ck_assert_uint_eq(ipc_chan_queued(c), IPC_CHAN_MAX_QUEUE);
	ck_assert_int_eq(count_fds(), base + 1);
	/* A message that does not encode is refused, queue or not. */
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	m.u.log_level.level = 77;
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	/* Free closes the socket and the queued dup. */
	ipc_chan_free(c);
	ck_assert_int_eq(count_fds(), base - 1);
	ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
	ck_assert_int_eq(x.nclose, 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_peer_close)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	close(sv[1]);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 1);	/* delivered before the EOF */
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_int_eq(x.close_null, 1);
	ck_assert_ptr_null(x.chan);
	/* Nothing left on the loop: the channel stopped its watchers. */
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nclose, 1);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_violation)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	char		 f[SL_IPC_MAX_FRAME];
	int		 sv[2], n;

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 0, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_RES_QUERY, 0);		/* the master may not */
	n = ipc_frame_build(&m, f, sizeof(f));
	ck_assert_int_eq(ipc_frame_send_raw(sv[1], f, n, -1, 0), 0);
	fill(&m, SL_MSG_DRAIN, 0);		/* never delivered */
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_int_eq(x.nmsg, 0);
	ck_assert_int_eq(x.close_null, 0);
	ck_assert_ptr_nonnull(strstr(x.why, "not allowed"));
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nclose, 1);
	close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* An fd on a channel that allows none: violation, fd closed. */
START_TEST(t_chan_violation_fd)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2], p[2], base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 0, t_handler,
	    t_close, &x);
	base = count_fds();
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = p[1];
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 0);
	ck_assert_ptr_nonnull(strstr(x.why, "carries none"));
	ck_assert_int_eq(count_fds(), base - 1);	/* sv[0] freed */
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* The handler frees the channel in the middle of a batch. */
START_TEST(t_chan_free_in_handler)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2], i;

	seqpair(sv);
	tctx_init(&x, loop);
	x.free_in_handler = 1;
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nmsg, 1, 5);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nmsg, 1);
	ck_assert_int_eq(x.nclose, 0);
	ck_assert_ptr_null(x.chan);
	/*
	 * The socket went with the channel: the peer sees EOF, or a reset
	 * because four frames were left unread.
	 */
	errno = 0;
	i = recv(sv[1], &i, sizeof(i), MSG_DONTWAIT);
	ck_assert(i == 0 || (i == -1 && errno == ECONNRESET));
	close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* Sending into a dead peer: 0, then a close callback from the loop. */
START_TEST(t_chan_send_broken)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler,
	    t_close, &x);
	/* The peer's last words, then it is gone. */
	fill(&m, SL_MSG_READY, 0);
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	close(sv[1]);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);
	ck_assert_int_eq(x.nclose, 0);		/* not from inside send */
	ck_assert_uint_eq(ipc_chan_queued(x.chan), 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);	/* dropped */
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 1);		/* delivered first */
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_ptr_null(x.chan);
	ev_loop_destroy(loop);
}
END_TEST

/* A bad fd on a message is the caller's error, not the channel's end. */
START_TEST(t_chan_send_bad_fd)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x, px;
	struct ipc_chan	*peer;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	tctx_init(&px, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler,
	    t_close, &x);
	peer = ipc_chan_new(loop, sv[1], SL_PROC_MASTER, 1, t_handler,
	    t_close, &px);
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = lowest_free_fd();		/* not open */
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), -1);
	m.fd = -1;
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), -1);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);
	run_until(loop, &px.nmsg, 1, 5);
	ck_assert_int_eq(px.nmsg, 1);
	ck_assert_int_eq(x.nclose + px.nclose, 0);
	ipc_chan_free(x.chan);
	ipc_chan_free(peer);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_flush)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct ipc_chan	*c;
	struct sl_msg	 m, d;
	struct timespec	 t0, t1;
	const char	*why;
	pid_t		 pid;
	int		 sv[2], i, st, got;
	double		 el;

	seqpair(sv);
	tctx_init(&x, loop);
	c = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; ipc_chan_queued(c) < 500; i++)
		ck_assert_int_eq(ipc_chan_send(c, &m), 0);
	/* Nobody reads: flush gives up after its timeout. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ipc_chan_flush(c, 150);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(el >= 0.14 && el < 5, "flush took %f s", el);
	ck_assert_uint_eq(ipc_chan_queued(c), 500);
	/* A reader in another process: flush empties the queue. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		for (got = 0; got < i; got++)
			if (ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &d, &why,
			    0) != SL_RECV_OK || d.type != SL_MSG_DRAIN)
				_exit(1);
		_exit(0);
	}
	ipc_chan_flush(c, 10000);
	ck_assert_uint_eq(ipc_chan_queued(c), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ipc_chan_free(c);
	close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST


TCase *
codec_chan_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("chan");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_chan_queue_order);
	tcase_add_test(tc, t_chan_queue_fds);
	tcase_add_test(tc, t_chan_queue_bound);
	tcase_add_test(tc, t_chan_peer_close);
	tcase_add_test(tc, t_chan_violation);
	tcase_add_test(tc, t_chan_violation_fd);
	tcase_add_test(tc, t_chan_free_in_handler);
	tcase_add_test(tc, t_chan_send_broken);
	tcase_add_test(tc, t_chan_send_bad_fd);
	tcase_add_test(tc, t_chan_flush);
	return tc;
}
