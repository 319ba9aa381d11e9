/*
 * Sandbox, privilege drop and master capability tests.
 *
 * A filter is never loaded in Check's own test child: after a test body
 * Check makes syscalls of its own (timer_create, getpid) that the
 * allowlists forbid.  Each test forks a grandchild that sets up what it
 * needs, loads the filter, runs the body and leaves with _exit() (no
 * atexit handlers, no leak checker); the test asserts on its wait status
 * (platform.md).  Bodies return 0 on success or the number of the step
 * that failed, so a failure names the step.
 *
 * Tags: "seccomp" on every tcase that loads a filter (exclude them with
 * CK_EXCLUDE_TAGS=seccomp under valgrind, whose JIT needs executable
 * mappings), "root" on the privilege tests (they pass without running
 * when not root).
 *
 * Environment: SL_TEST_DATA (directory of worker.pfc) or SL_SRCDIR (the
 * source root) for the golden comparison, found next to this file
 * otherwise; SL_PFC_WRITE=file writes the current worker pfc there.
 *
 * This file holds the fixtures the other parts share and main(); the
 * tests are in check_sandbox_worker.c, check_sandbox_filter.c and
 * check_sandbox_priv.c.
 */
#include "check_sandbox.h"

const struct sandbox_opts worker_opts = { 1, 1, 1, 0 };

/* Sanitizer builds add rules: no golden comparison there. */
#ifdef SL_ASAN
const int sanitized = 1;
#else
const int sanitized = 0;
#endif

struct sb_fixtures fx;

void
fixtures(void)
{
	socklen_t	len;

	signal(SIGPIPE, SIG_IGN);
	if ((fx.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		_exit(90);
	if ((fx.loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		_exit(91);
	memset(&fx.lsn_addr, 0, sizeof(fx.lsn_addr));
	fx.lsn_addr.sin_family = AF_INET;
	fx.lsn_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fx.udp_addr = fx.lsn_addr;
	fx.lsn = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	len = sizeof(fx.lsn_addr);
	if (fx.lsn == -1 || bind(fx.lsn, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == -1 || listen(fx.lsn, 8) == -1 ||
	    getsockname(fx.lsn, (struct sockaddr *)&fx.lsn_addr, &len) == -1)
		_exit(92);
	fx.udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	len = sizeof(fx.udp_addr);
	if (fx.udp == -1 || bind(fx.udp, (struct sockaddr *)&fx.udp_addr,
	    sizeof(fx.udp_addr)) == -1 ||
	    getsockname(fx.udp, (struct sockaddr *)&fx.udp_addr, &len) == -1)
		_exit(93);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fx.sp) == -1)
		_exit(94);
}

void
load_worker(void)
{
	sandbox_worker(&worker_opts);
}

void
load_resolver(void)
{
	sandbox_resolver();
}

/* Fork; the grandchild sets up, loads, runs body, _exits.  Wait status. */
int
run_sandboxed(void (*load)(void), body_fn body)
{
	pid_t	pid;
	int	st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fixtures();
		load();
		_exit(body());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

void
assert_exit0(int st)
{
	if (WIFSIGNALED(st))
		ck_abort_msg("grandchild killed by signal %d%s", WTERMSIG(st),
		    WTERMSIG(st) == SIGSYS ? " (sandbox violation)" : "");
	ck_assert_msg(WIFEXITED(st), "grandchild did not exit");
	ck_assert_msg(WEXITSTATUS(st) == 0, "grandchild failed at step %d",
	    WEXITSTATUS(st));
}

/* What a forbidden syscall must do in this build's mode. */
void
assert_violation(int st, const char *what)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_KILL) {
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		    "%s: expected SIGSYS, got %s %d", what,
		    WIFSIGNALED(st) ? "signal" : "exit",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	} else {
		/* Trap: the SIGSYS reporter exits 1. */
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
		    "%s: expected the trap reporter's exit 1", what);
	}
}

/* Wait until fd is ready for events, with raw epoll. */
int
wait_fd(int fd, uint32_t events)
{
	struct epoll_event	ev = { .events = events, .data.fd = fd };
	int			n;

	if (epoll_ctl(fx.epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	n = epoll_wait(fx.epfd, &ev, 1, 5000);
	if (epoll_ctl(fx.epfd, EPOLL_CTL_DEL, fd, NULL) == -1 || n != 1)
		return -1;
	return 0;
}

static Suite *
sandbox_suite(void)
{
	Suite	*s = suite_create("sandbox");

	suite_add_tcase(s, sandbox_worker_tcase());
	suite_add_tcase(s, sandbox_resolver_tcase());
	suite_add_tcase(s, sandbox_registry_tcase());
	suite_add_tcase(s, sandbox_tunnel_tcase());
	suite_add_tcase(s, sandbox_filter_tcase());
	suite_add_tcase(s, sandbox_privdir_tcase());
	suite_add_tcase(s, sandbox_privdrop_tcase());
	suite_add_tcase(s, sandbox_privdrop_sandbox_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (getuid() != 0)
		fprintf(stderr, "check_sandbox: not root: privilege tests "
		    "pass without running\n");
	/* Once here, inherited by every forked test and grandchild. */
	sandbox_sanitizer_warmup();
	sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
