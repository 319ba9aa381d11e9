/*
 * SOCK_REQ floods (issue 14, item 5): the master's per-worker bound on
 * socket answers the worker has not read (master/bindany.c with
 * master/reqlimit.c), and the rate limit on its log lines.
 *
 * The pure limiter is tested alone; then bindany_request() runs for real
 * against a fake worker: the worker end of a SOCK_SEQPACKET pair that
 * asks 200 times without reading must get exactly
 * REQLIMIT_MAX_OUTSTANDING sockets and SOCK_FAIL EAGAIN for the rest, and
 * sockets again once it has read everything.  The link is on interface
 * "lo" (SO_BINDTODEVICE: root, or any user on Linux 5.7 and later).
 */
#include <sys/socket.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/codec.h"
#include "master/master.h"
#include "master/reqlimit.h"

struct master *ms;		/* master.c's, which is not linked here */

static struct master	 tm;
static struct sl_conf	 tconf;
static struct sl_link	 tlink;
static int		 sv[2];	/* [0] the master's end, [1] the worker's */

START_TEST(t_limit_outstanding)
{
	struct reqlimit	r;
	unsigned	i;

	reqlimit_init(&r);
	for (i = 0; i < REQLIMIT_MAX_OUTSTANDING; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 1);
	/* Nothing read: refused, however often it asks. */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 0);
	/* Everything read: a full allowance again. */
	ck_assert_int_eq(reqlimit_admit(&r, 1), 1);
	for (i = 1; i < REQLIMIT_MAX_OUTSTANDING; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 1);
	ck_assert_int_eq(reqlimit_admit(&r, 0), 0);
	/* A worker that reads each answer is never refused. */
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 1), 1);
}
END_TEST

START_TEST(t_log_rate)
{
	struct reqlog	l;
	uint64_t	n = 99;
	int		i;

	reqlog_init(&l);
	ck_assert_int_eq(reqlog_allow(&l, 100.0, &n), 1);
	ck_assert_uint_eq(n, 0);
	for (i = 0; i < 500; i++)
		ck_assert_int_eq(reqlog_allow(&l, 100.0 + i * 0.01, &n), 0);
	ck_assert_int_eq(reqlog_allow(&l, 100.0 + REQLIMIT_LOG_EVERY - 0.001,
	    &n), 0);
	ck_assert_int_eq(reqlog_allow(&l, 100.0 + REQLIMIT_LOG_EVERY, &n), 1);
	ck_assert_uint_eq(n, 501);
	/* Quiet for a while: the next event is logged, nothing left out. */
	ck_assert_int_eq(reqlog_allow(&l, 1000.0, &n), 1);
	ck_assert_uint_eq(n, 0);
	/* A clock that steps back does not silence the log. */
	ck_assert_int_eq(reqlog_allow(&l, 5.0, &n), 1);
	/* At most one line per period: 10 periods, 10 lines. */
	reqlog_init(&l);
	for (i = 0, n = 0; i < 10000; i++)
		n += (uint64_t)reqlog_allow(&l, i * 0.01, &(uint64_t){ 0 });
	ck_assert_uint_eq(n, 10);
}
END_TEST

static void
fake_setup(void)
{
	memset(&tm, 0, sizeof(tm));
	memset(&tconf, 0, sizeof(tconf));
	memset(&tlink, 0, sizeof(tlink));
	snprintf(tlink.name, sizeof(tlink.name), "lo0");
	tlink.proto = SL_LINK_DIRECT;
	snprintf(tlink.interface, sizeof(tlink.interface), "lo");
	tconf.links = &tlink;
	tconf.nlinks = 1;
	tm.conf = &tconf;
	tm.loop = ev_default_loop(0);
	ck_assert_ptr_nonnull(tm.loop);
	ms = &tm;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sv), 0);
	/* Room for every answer, so the master never has to queue. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 },
	    sizeof(int));
	tm.procs[0].pid = 4242;
	tm.procs[0].role = SL_PROC_WORKER;
	snprintf(tm.procs[0].name, sizeof(tm.procs[0].name), "worker 0");
	tm.procs[0].chan = ipc_chan_new(tm.loop, sv[0], SL_PROC_WORKER, 1,
	    NULL, NULL, NULL);
	ck_assert_ptr_nonnull(tm.procs[0].chan);
	tm.nprocs = 1;
}

static void
fake_teardown(void)
{
	ipc_chan_free(tm.procs[0].chan);
	close(sv[1]);
}

/* n requests from "worker 0", none of the answers read yet. */
static void
ask(unsigned n, uint32_t first_id)
{
	struct sl_msg	m;
	unsigned	i;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.type = SL_MSG_SOCK_REQ;
		m.id = first_id + i;
		m.fd = -1;
		m.u.sock_req.link = 0;
		m.u.sock_req.family = 4;
		ck_assert_int_eq(bindany_request(&tm.procs[0], &m), 0);
	}
}

/* Read every answer the worker has; count sockets and EAGAIN refusals. */
static void
read_answers(unsigned *fds, unsigned *again)
{
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 rc;

	*fds = *again = 0;
	while ((rc = ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT)) == SL_RECV_OK) {
		if (m.type == SL_MSG_SOCK_FD) {
			ck_assert_int_ge(m.fd, 0);
			close(m.fd);
			(*fds)++;
		} else {
			ck_assert_int_eq(m.type, SL_MSG_SOCK_FAIL);
			ck_assert_int_eq(m.fd, -1);
			ck_assert_msg(m.u.sock_fail.err == EAGAIN,
			    "SOCK_FAIL %s (not EAGAIN): no SO_BINDTODEVICE "
			    "here?", strerror((int)m.u.sock_fail.err));
			(*again)++;
		}
	}
	ck_assert_int_eq(rc, SL_RECV_AGAIN);
}

START_TEST(t_flood_bounded)
{
	unsigned	fds, again;

	ask(200, 1);
	ck_assert_uint_eq(ipc_chan_queued(tm.procs[0].chan), 0);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, REQLIMIT_MAX_OUTSTANDING);
	ck_assert_uint_eq(again, 200 - REQLIMIT_MAX_OUTSTANDING);
	/* All read: the worker gets sockets again. */
	ask(10, 1000);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, 10);
	ck_assert_uint_eq(again, 0);
	/* One at a time, read at once: never refused. */
	for (unsigned i = 0; i < 300; i++) {
		ask(1, 2000 + i);
		read_answers(&fds, &again);
		ck_assert_uint_eq(fds, 1);
	}
}
END_TEST

/* Another process in the row starts with a full allowance. */
START_TEST(t_respawn_resets)
{
	unsigned	fds, again;

	ask(REQLIMIT_MAX_OUTSTANDING, 1);
	tm.procs[0].pid = 4243;
	ask(1, 500);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, REQLIMIT_MAX_OUTSTANDING + 1);
	ck_assert_uint_eq(again, 0);
}
END_TEST

static Suite *
bindany_suite(void)
{
	Suite	*s = suite_create("bindany");
	TCase	*tc = tcase_create("limiter");

	tcase_add_test(tc, t_limit_outstanding);
	tcase_add_test(tc, t_log_rate);
	suite_add_tcase(s, tc);
	tc = tcase_create("flood");
	tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
	tcase_add_test(tc, t_flood_bounded);
	tcase_add_test(tc, t_respawn_resets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(bindany_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
