/*
 * A compromised worker passes a lingering TCP socket (unsent data,
 * SO_LINGER {1, 10}) over IPC and drops its own copy, so the receiver's
 * close() is the last one (issue 14, item 1).  Here the receiver runs
 * under the real seccomp filter of the resolver (its channel from a
 * worker) and of the registry (its channel from the master, the code
 * path every child shares): rejecting the frame and freeing the channel
 * with more such sockets still queued must neither block nor need a
 * syscall the filter forbids.  check_codec tests the same paths
 * unconfined, as the master runs them.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>		/* before <seccomp.h>: EV_NONE (platform.md) */
#include <check.h>

#include "common/sandbox.h"
#include "ipc/chan.h"
#include "ipc/codec.h"
#include "registry/rg_sandbox.h"

#define DEADLINE_MS	1000

static int	nclosed;

/* Exit codes of the confined child: which step failed. */
enum { STEP_OK, STEP_SETUP, STEP_CHAN, STEP_CLOSE, STEP_SLOW };

/*
 * Connected to a listener that never accepts nor reads, send queue
 * full, lingering 10 s: its last close() would block for 10 s.
 */
static int
linger_sock(int lsn, const struct sockaddr_in *sin)
{
	static char	buf[65536];
	struct linger	lg = { 1, 10 };
	struct pollfd	pfd;
	int		s, small = 4096, queued = 0;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s == -1 || setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)) == -1)
		_exit(STEP_SETUP);
	if (connect(s, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS)
		_exit(STEP_SETUP);
	pfd.fd = s;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 2000) != 1)
		_exit(STEP_SETUP);
	while (send(s, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
	if (ioctl(s, SIOCOUTQ, &queued) == -1 || queued == 0 ||
	    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		_exit(STEP_SETUP);
	(void)lsn;
	return s;
}

/* One frame of type carrying fd as SCM_RIGHTS, built by the codec. */
static void
send_frame(int sock, unsigned type, int fd)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.id = 1;
	m.fd = -1;
	if (type == SL_MSG_RES_QUERY) {
		m.u.res_query.family = 4;
		strcpy(m.u.res_query.name, "example.com");
	}
	if (type == SL_MSG_SOCK_REQ)
		m.u.sock_req.family = 4;
	if ((n = ipc_frame_build(&m, f, sizeof(f))) == -1 ||
	    ipc_frame_send_raw(sock, f, (size_t)n, fd, 0) == -1)
		_exit(STEP_SETUP);
}

static void
t_handler(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (m->fd != -1)
		close(m->fd);
}

/* What the roles do with a peer that broke the protocol. */
static void
t_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	nclosed++;
	ipc_chan_free(c);
}

/*
 * In a forked child: three lingering sockets queued on a channel from
 * `peer`, each on a frame of `type` that may not carry one; lockdown;
 * then the loop until the channel is rejected and freed.
 */
static void
confined_receiver(unsigned peer, int allow_fds, unsigned type,
    void (*lockdown)(void))
{
	struct sockaddr_in	 sin;
	struct ev_loop		*loop;
	struct timespec		 t0, t1;
	socklen_t		 len = sizeof(sin);
	int			 sv[2], lsn, s, i, small = 4096;

	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsn == -1 || setsockopt(lsn, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)) == -1 || bind(lsn, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || listen(lsn, 8) == -1 ||
	    getsockname(lsn, (struct sockaddr *)&sin, &len) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		_exit(STEP_SETUP);
	for (i = 0; i < 3; i++) {
		s = linger_sock(lsn, &sin);
		send_frame(sv[0], type, s);
		close(s);
	}
	if ((loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL ||
	    ipc_chan_new(loop, sv[1], peer, allow_fds, t_handler, t_closed,
	    NULL) == NULL)
		_exit(STEP_CHAN);
	lockdown();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100 && nclosed == 0; i++)
		ev_run(loop, EVRUN_ONCE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (nclosed != 1)
		_exit(STEP_CLOSE);
	if ((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000 >= DEADLINE_MS)
		_exit(STEP_SLOW);
	_exit(STEP_OK);
}

static void
run_confined(unsigned peer, int allow_fds, unsigned type,
    void (*lockdown)(void))
{
	struct timespec	t0, t1;
	pid_t		pid;
	int		st;
	long long	ms;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		confined_receiver(peer, allow_fds, type, lockdown);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000LL +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (WIFSIGNALED(st))
		ck_abort_msg("receiver killed by signal %d%s", WTERMSIG(st),
		    WTERMSIG(st) == SIGSYS ? " (sandbox violation)" : "");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == STEP_OK,
	    "receiver failed at step %d after %lld ms", WEXITSTATUS(st), ms);
}

/* A worker's lookup with a socket attached, to the resolver. */
START_TEST(t_resolver_linger)
{
	run_confined(SL_PROC_WORKER, 0, SL_MSG_RES_QUERY, sandbox_resolver);
}
END_TEST

/* Shared child code: a frame the master may not send, with a socket. */
START_TEST(t_registry_linger)
{
	run_confined(SL_PROC_MASTER, 1, SL_MSG_SOCK_REQ, sandbox_registry);
}
END_TEST

static Suite *
linger_suite(void)
{
	Suite	*s = suite_create("ipc_linger");
	TCase	*tc = tcase_create("confined");

	tcase_add_test(tc, t_resolver_linger);
	tcase_add_test(tc, t_registry_linger);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(linger_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
