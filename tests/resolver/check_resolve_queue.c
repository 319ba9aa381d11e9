/*
 * The worker's resolver client while the resolver is away: lookups wait
 * in a bounded queue (each at most its timeout) and go out, in order, on
 * the next channel; lookups already sent fail when the channel is lost;
 * over the bound a lookup fails at once.  The "resolver" here is the
 * other end of a socketpair in the same loop.
 */
#include <sys/socket.h>
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../ipc/chan.h"
#include "../../worker/egress/resolve.h"

struct fake {
	int		 nquery;
	char		 names[8][SL_MAX_NAME + 1];
	uint32_t	 ids[8];
};

static struct ev_loop	*loop;
static struct fake	 fk;
static int		 ncb, last_status;
static struct ipc_chan	*wside, *rside;

static void
tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Run the loop until *cnt reaches target; fail after secs. */
static void
run_until(const int *cnt, int target, double secs)
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
fake_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	ck_assert_uint_eq(m->type, SL_MSG_RES_QUERY);
	if (fk.nquery < 8) {
		snprintf(fk.names[fk.nquery], sizeof(fk.names[0]), "%s",
		    m->u.res_query.name);
		fk.ids[fk.nquery] = m->id;
	}
	fk.nquery++;
}

static void
fake_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	ipc_chan_free(c);
	rside = NULL;
}

static void
w_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	resolve_set_channel(NULL);
	ipc_chan_free(c);
	resolve_fail_all();
}

/* A fresh resolver channel, as the master's CFG_PEER gives one. */
static void
connect_resolver(void)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, sv), 0);
	rside = ipc_chan_new(loop, sv[1], SL_PROC_WORKER, 0, fake_msg,
	    fake_closed, NULL);
	wside = ipc_chan_new(loop, sv[0], SL_PROC_RESOLVER, 0,
	    resolve_dispatch, w_closed, NULL);
	ck_assert_ptr_nonnull(rside);
	ck_assert_ptr_nonnull(wside);
	resolve_set_channel(wside);
}

static void
answer(uint32_t id, uint8_t status)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_RES_ANSWER;
	m.fd = -1;
	m.id = id;
	m.u.res_answer.status = status;
	ck_assert_int_eq(ipc_chan_send(rside, &m), 0);
}

static void
cb(struct res_req *r, int status, const struct sl_msg *ans, void *arg)
{
	(void)ans;
	(void)arg;
	ck_assert_uint_eq(r->id, 0);
	ck_assert_uint_eq(r->wslot, 0);
	ncb++;
	last_status = status;
}

static void
setup(void)
{
	log_init("check", SL_LOG_WARN);
	loop = ev_loop_new(EVBACKEND_EPOLL);
	ck_assert_ptr_nonnull(loop);
	memset(&fk, 0, sizeof(fk));
	ncb = 0;
	resolve_init(loop, 5000);
}

START_TEST(t_wait_then_send)
{
	struct res_req	r[3];
	int		i;

	setup();
	memset(r, 0, sizeof(r));
	ck_assert_int_eq(resolve_start(&r[0], "a.test", cb, NULL), 0);
	ck_assert_int_eq(resolve_start(&r[1], "b.test", cb, NULL), 0);
	ck_assert_int_eq(resolve_start(&r[2], "c.test", cb, NULL), 0);
	ck_assert_int_eq(ncb, 0);
	connect_resolver();
	run_until(&fk.nquery, 3, 5);
	ck_assert_str_eq(fk.names[0], "a.test");
	ck_assert_str_eq(fk.names[1], "b.test");
	ck_assert_str_eq(fk.names[2], "c.test");
	for (i = 0; i < 3; i++)
		answer(fk.ids[i], SL_RES_NXDOMAIN);
	run_until(&ncb, 3, 5);
	ck_assert_int_eq(last_status, SL_RES_NXDOMAIN);
}
END_TEST

START_TEST(t_inflight_fail_waiting_stay)
{
	struct res_req	sent, waiting;

	setup();
	memset(&sent, 0, sizeof(sent));
	memset(&waiting, 0, sizeof(waiting));
	connect_resolver();
	ck_assert_int_eq(resolve_start(&sent, "sent.test", cb, NULL), 0);
	run_until(&fk.nquery, 1, 5);
	/* The resolver dies: its end closes. */
	ipc_chan_free(rside);
	rside = NULL;
	run_until(&ncb, 1, 5);
	ck_assert_int_eq(last_status, SL_RES_FAIL);
	ck_assert_ptr_null(resolve_channel());
	ck_assert_int_eq(resolve_start(&waiting, "wait.test", cb, NULL), 0);
	resolve_fail_all();
	ck_assert_int_eq(ncb, 1);
	connect_resolver();
	run_until(&fk.nquery, 2, 5);
	ck_assert_str_eq(fk.names[1], "wait.test");
	answer(fk.ids[1], SL_RES_NXDOMAIN);
	run_until(&ncb, 2, 5);
	ck_assert_int_eq(last_status, SL_RES_NXDOMAIN);
}
END_TEST

START_TEST(t_bound)
{
	static struct res_req	r[RES_WAIT_MAX + 2];
	size_t			i;

	setup();
	for (i = 0; i < RES_WAIT_MAX; i++)
		ck_assert_int_eq(resolve_start(&r[i], "n.test", cb, NULL), 0);
	ck_assert_int_eq(resolve_start(&r[RES_WAIT_MAX], "n.test", cb, NULL),
	    -1);
	/* A cancelled lookup gives its place back, wherever it waits. */
	resolve_cancel(&r[5]);
	ck_assert_uint_eq(r[5].wslot, 0);
	ck_assert_int_eq(resolve_start(&r[RES_WAIT_MAX + 1], "last.test", cb,
	    NULL), 0);
	ck_assert_int_eq(ncb, 0);
	for (i = 0; i < RES_WAIT_MAX + 2; i++)
		resolve_cancel(&r[i]);
	ck_assert_int_eq(ncb, 0);
	connect_resolver();
	ck_assert_int_eq(fk.nquery, 0);
}
END_TEST

START_TEST(t_wait_times_out)
{
	struct res_req	r;

	setup();
	resolve_init(loop, 50);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(resolve_start(&r, "late.test", cb, NULL), 0);
	run_until(&ncb, 1, 5);
	ck_assert_int_eq(last_status, SL_RES_TIMEOUT);
	connect_resolver();
	ck_assert_int_eq(fk.nquery, 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("resolve_queue");
	TCase	*tc = tcase_create("queue");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, t_wait_then_send);
	tcase_add_test(tc, t_inflight_fail_waiting_stay);
	tcase_add_test(tc, t_bound);
	tcase_add_test(tc, t_wait_times_out);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
