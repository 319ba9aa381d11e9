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
 */
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>		/* before <seccomp.h>: EV_NONE (platform.md) */
#include <seccomp.h>
#include <check.h>

#include "sl_build.h"
#include "../common/privdrop.h"
#include "../common/sandbox.h"

/*
 * master/caps.c is linked only into sluiced; compile it in here so its
 * behaviour is tested too.  If the build ever puts it in a library that
 * this test links, drop this line.
 */
#include "../master/caps.c"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct sandbox_opts worker_opts = { 1, 1 };

/* Sanitizer builds add rules: no golden comparison there. */
#ifdef SL_ASAN
static const int sanitized = 1;
#else
static const int sanitized = 0;
#endif

/* Fixtures made before lockdown, used by the bodies after it. */
static struct {
	int			epfd;		/* epoll_create1 */
	struct ev_loop		*loop;		/* ev_loop_new(EPOLL) */
	int			lsn;		/* TCP listener on 127.0.0.1 */
	struct sockaddr_in	lsn_addr;
	int			udp;		/* UDP socket on 127.0.0.1 */
	struct sockaddr_in	udp_addr;
	int			sp[2];		/* SEQPACKET pair for fd passing */
} fx;

typedef int (*body_fn)(void);

static void
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

static void
load_worker(void)
{
	sandbox_worker(&worker_opts);
}

static void
load_resolver(void)
{
	sandbox_resolver();
}

/* Fork; the grandchild sets up, loads, runs body, _exits.  Wait status. */
static int
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

static void
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
static void
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
static int
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

/* ---- worker: the allowed path ---- */

/* TCP dial and accept, options, read/write, half-close. */
static int
w_tcp(int *cp, int *ap)
{
	struct epoll_event	ev = { .events = EPOLLOUT };
	char			buf[16];
	socklen_t		len = sizeof(int);
	int			c, a, on = 1, err = -1;
	struct sockaddr_in	sin;

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c == -1)
		return 1;
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1 ||
	    setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1)
		return 2;
	if (connect(c, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == -1 && errno != EINPROGRESS)
		return 3;
	if (wait_fd(fx.lsn, EPOLLIN) == -1)
		return 4;
	if ((a = accept4(fx.lsn, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return 5;
	ev.data.fd = c;
	if (epoll_ctl(fx.epfd, EPOLL_CTL_ADD, c, &ev) == -1 ||
	    epoll_wait(fx.epfd, &ev, 1, 5000) != 1 ||
	    epoll_ctl(fx.epfd, EPOLL_CTL_MOD, c, &ev) == -1 ||
	    epoll_ctl(fx.epfd, EPOLL_CTL_DEL, c, NULL) == -1)
		return 6;
	if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		return 7;
	len = sizeof(sin);
	if (getsockname(c, (struct sockaddr *)&sin, &len) == -1 ||
	    getpeername(a, (struct sockaddr *)&sin, &len) == -1)
		return 8;
	if (write(c, "hello", 5) != 5 || wait_fd(a, EPOLLIN) == -1 ||
	    read(a, buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) != 0)
		return 9;
	*cp = c;
	*ap = a;
	return 0;
}

/* Splice path: a -> pipe -> a, seen by c. */
static int
w_splice(int c, int a)
{
	char	buf[16];
	int	p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return 10;
	/* EPERM: the uid is over its pipe-user-pages limit; allowed still. */
	if ((fcntl(p[1], F_SETPIPE_SZ, 65536) == -1 && errno != EPERM) ||
	    fcntl(p[0], F_GETPIPE_SZ) == -1)
		return 11;
	if (send(c, "splice", 6, MSG_NOSIGNAL) != 6 ||
	    wait_fd(a, EPOLLIN) == -1)
		return 12;
	if (splice(a, NULL, p[1], NULL, 6, SPLICE_F_MOVE |
	    SPLICE_F_NONBLOCK) != 6 ||
	    splice(p[0], NULL, a, NULL, 6, SPLICE_F_MOVE |
	    SPLICE_F_NONBLOCK) != 6)
		return 13;
	if (wait_fd(c, EPOLLIN) == -1 || recv(c, buf, sizeof(buf), 0) != 6 ||
	    memcmp(buf, "splice", 6) != 0)
		return 14;
	close(p[0]);
	close(p[1]);
	/* Half-close, as the relay does on EOF. */
	if (shutdown(c, SHUT_WR) == -1 || wait_fd(a, EPOLLIN) == -1 ||
	    read(a, buf, sizeof(buf)) != 0)
		return 15;
	return 0;
}

/* readv/writev, the ring buffer's wrap-around I/O. */
static int
w_vec(int c, int a)
{
	struct iovec	iov[2];
	char		x[3] = "ab", y[3] = "cd", r[8];

	iov[0] = (struct iovec){ x, 2 };
	iov[1] = (struct iovec){ y, 2 };
	if (writev(a, iov, 2) != 4 || wait_fd(c, EPOLLIN) == -1)
		return 16;
	iov[0] = (struct iovec){ r, 1 };
	iov[1] = (struct iovec){ r + 1, 7 };
	if (readv(c, iov, 2) != 4 || memcmp(r, "abcd", 4) != 0)
		return 17;
	return 0;
}

/* An fd over the SEQPACKET pair, as IPC sends listeners. */
static int
w_fdpass(int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	char		 b = 'x';
	int		 got;

	memset(&msg, 0, sizeof(msg));
	iov = (struct iovec){ &b, 1 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(fx.sp[0], &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		return 20;
	msg.msg_controllen = sizeof(cm.buf);
	if (recvmsg(fx.sp[1], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) != 1)
		return 21;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
		return 22;
	memcpy(&got, CMSG_DATA(cmsg), sizeof(int));
	if (fcntl(got, F_GETFD) != FD_CLOEXEC || close(got) == -1)
		return 23;
	return 0;
}

/* UDP associate: sendto/recvfrom. */
static int
w_udp(void)
{
	struct sockaddr_in	from;
	socklen_t		len = sizeof(from);
	char			buf[8];
	int			u;

	u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u == -1)
		return 30;
	if (sendto(u, "dgram", 5, MSG_NOSIGNAL, (struct sockaddr *)&fx.udp_addr,
	    sizeof(fx.udp_addr)) != 5 || wait_fd(fx.udp, EPOLLIN) == -1)
		return 31;
	if (recvfrom(fx.udp, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &len) != 5)
		return 32;
	close(u);
	return 0;
}

/* glibc malloc in all its shapes, getrandom, time, getpid. */
static int
w_misc(void)
{
	struct timespec	 ts;
	unsigned char	 rnd[16];
	char		*small, *big, *p;
	int		 i;
	void		*many[64];

	for (i = 0; i < 64; i++)
		if ((many[i] = malloc(32 + i * 100)) == NULL)
			return 40;
	for (i = 0; i < 64; i++)
		free(many[i]);
	if ((small = malloc(24)) == NULL || (big = malloc(1 << 20)) == NULL)
		return 41;
	memset(big, 1, 1 << 20);
	if ((p = realloc(big, 4 << 20)) == NULL)
		return 42;
	if ((big = realloc(p, 16 << 20)) == NULL)
		return 43;
	memset(big, 2, 16 << 20);
	free(big);
	free(small);
	/* Heap growth by brk and its trim. */
	if ((p = malloc(200 * 1024)) == NULL)
		return 44;
	free(p);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd) ||
	    getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		return 45;
	arc4random_buf(rnd, sizeof(rnd));
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == -1)
		return 46;
	if (getpid() <= 0)
		return 47;
	return 0;
}

/* libev as the worker uses it: an io watcher and a timer. */
static void
w_ev_io(struct ev_loop *loop, ev_io *w, int revents)
{
	char	c;

	(void)revents;
	if (read(w->fd, &c, 1) == 1)
		*(int *)w->data = 1;
	ev_io_stop(loop, w);
}

static void
w_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
w_libev(int c, int a)
{
	ev_io		io;
	ev_timer	tm;
	int		got = 0;

	ev_io_init(&io, w_ev_io, a, EV_READ);
	io.data = &got;
	ev_io_start(fx.loop, &io);
	ev_timer_init(&tm, w_ev_timer, 0.05, 0.);
	ev_timer_start(fx.loop, &tm);
	if (write(c, "e", 1) != 1)
		return 50;
	ev_run(fx.loop, 0);
	ev_io_stop(fx.loop, &io);
	ev_timer_stop(fx.loop, &tm);
	ev_now_update(fx.loop);
	return got ? 0 : 51;
}

static int
body_worker_ok(void)
{
	int	c, a, rc;

	if ((rc = w_tcp(&c, &a)) != 0 || (rc = w_vec(c, a)) != 0 ||
	    (rc = w_libev(c, a)) != 0 || (rc = w_splice(c, a)) != 0 ||
	    (rc = w_fdpass(a)) != 0 || (rc = w_udp()) != 0 ||
	    (rc = w_misc()) != 0)
		return rc;
	if (close(c) == -1 || close(a) == -1)
		return 60;
	return 0;
}

START_TEST(t_worker_allowed)
{
	assert_exit0(run_sandboxed(load_worker, body_worker_ok));
}
END_TEST

/* ---- forbidden syscalls ---- */

static int
f_getppid(void)
{
	(void)getppid();
	return 0;
}

static int
f_execve(void)
{
	char *const argv[] = { "/bin/true", NULL };

	execve("/bin/true", argv, NULL);
	return 0;
}

static int
f_fork(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	return 0;
}

static int
f_clone(void)
{
	syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	return 0;
}

static int
f_openat(void)
{
	return openat(AT_FDCWD, "/etc/passwd", O_RDONLY) >= 0 ? 0 : 0;
}

static int
f_unix(void)
{
	return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 0;
}

static int
f_netlink(void)
{
	return socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) >= 0 ? 0 : 0;
}

static int
f_raw(void)
{
	return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 ? 0 : 0;
}

static int
f_ping(void)
{
	return socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) >= 0 ? 0 : 0;
}

static int
f_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

static int
f_mprotect_exec(void)
{
	static char page[8192] __attribute__((aligned(4096)));

	mprotect(page, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int
f_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int
f_mmap_shared(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	return 0;
}

static int
f_socketpair(void)
{
	int	sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	return 0;
}

static int
f_prctl(void)
{
	prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	return 0;
}

static int
f_setuid(void)
{
	syscall(SYS_setuid, 0);
	return 0;
}

static int
f_kill_parent(void)
{
	syscall(SYS_kill, 1, 0);
	return 0;
}

static int
f_tgkill_other(void)
{
	syscall(SYS_tgkill, 1, 1, 0);
	return 0;
}

static int
f_ioctl(void)
{
	int	n;

	ioctl(0, FIONREAD, &n);
	return 0;
}

static int
f_setsockopt_other(void)
{
	int	on = 1;

	setsockopt(fx.lsn, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
	return 0;
}

static int
f_epoll_create(void)
{
	epoll_create1(0);
	return 0;
}

static int
f_accept4(void)
{
	accept4(fx.lsn, NULL, NULL, SOCK_NONBLOCK);
	return 0;
}

static int
f_splice(void)
{
	splice(fx.sp[0], NULL, fx.sp[1], NULL, 1, SPLICE_F_NONBLOCK);
	return 0;
}

static int
f_pipe2(void)
{
	int	p[2];

	return pipe2(p, O_CLOEXEC) == -1 ? 2 : 3;
}

static int
f_bind(void)
{
	struct sockaddr_in	sin = fx.lsn_addr;

	sin.sin_port = 0;
	bind(fx.udp, (struct sockaddr *)&sin, sizeof(sin));
	return 0;
}

static const struct {
	const char	*name;
	body_fn		 fn;
} worker_forbidden[] = {
	{ "getppid", f_getppid },
	{ "execve", f_execve },
	{ "fork", f_fork },
	{ "clone", f_clone },
	{ "openat", f_openat },
	{ "socket(AF_UNIX)", f_unix },
	{ "socket(AF_NETLINK)", f_netlink },
	{ "socket(SOCK_RAW)", f_raw },
	{ "socket(ICMP ping)", f_ping },
	{ "ptrace", f_ptrace },
	{ "mprotect(PROT_EXEC)", f_mprotect_exec },
	{ "mmap(PROT_EXEC)", f_mmap_exec },
	{ "mmap(MAP_SHARED)", f_mmap_shared },
	{ "socketpair", f_socketpair },
	{ "prctl", f_prctl },
	{ "setuid", f_setuid },
	{ "kill", f_kill_parent },
	{ "tgkill(other pid)", f_tgkill_other },
	{ "ioctl(FIONREAD)", f_ioctl },
	{ "setsockopt(SO_BROADCAST)", f_setsockopt_other },
	{ "epoll_create1(0)", f_epoll_create },
}, resolver_forbidden[] = {
	{ "accept4", f_accept4 },
	{ "splice", f_splice },
	{ "pipe2", f_pipe2 },
	{ "bind", f_bind },
	{ "getppid", f_getppid },
	{ "execve", f_execve },
	{ "openat", f_openat },
	{ "socket(AF_UNIX)", f_unix },
	{ "mprotect(PROT_EXEC)", f_mprotect_exec },
};

START_TEST(t_worker_forbidden)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;		/* log mode lets everything run */
	assert_violation(run_sandboxed(load_worker, worker_forbidden[_i].fn),
	    worker_forbidden[_i].name);
}
END_TEST

/* Without the splice/bind options those calls are forbidden too. */
static void
load_worker_minimal(void)
{
	static const struct sandbox_opts o = { 0, 0 };

	sandbox_worker(&o);
}

static const body_fn worker_minimal_forbidden[] = {
	f_splice, f_pipe2, f_bind,
};

START_TEST(t_worker_options)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;
	assert_violation(run_sandboxed(load_worker_minimal,
	    worker_minimal_forbidden[_i]), "splice/pipe2/bind without option");
}
END_TEST

/*
 * Sanitizer builds: a report in a confined process must come out as a
 * report (and its exit status), not as a sandbox kill.  stderr goes to
 * /dev/null so the deliberate reports do not look like real ones.
 */
static void
load_worker_quiet(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_WRONLY)) == -1 || dup2(fd, 2) == -1)
		_exit(95);
	close(fd);
	load_worker();
}

static int
body_ubsan(void)
{
	volatile int	x = INT_MAX, one = 1;

	x = x + one;	/* signed overflow: UBSan reports, then goes on */
	return 0;
}

static int
body_asan(void)
{
	volatile size_t	 i = 8;
	volatile char	*volatile p = malloc(8);

	p[i] = 1;	/* heap-buffer-overflow: ASan reports and exits */
	free((void *)p);
	return 0;
}

START_TEST(t_sanitizer_report)
{
	int	st;

	if (!sanitized || SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;
	st = run_sandboxed(load_worker_quiet, body_ubsan);
	ck_assert_msg(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS),
	    "UBSan report killed by the sandbox");
	st = run_sandboxed(load_worker_quiet, body_asan);
	ck_assert_msg(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS),
	    "ASan report killed by the sandbox");
	ck_assert_msg(!(WIFEXITED(st) && WEXITSTATUS(st) == 0),
	    "ASan missed the overflow");
}
END_TEST

/* ---- resolver ---- */

static int
body_resolver_ok(void)
{
	struct sockaddr_in	from;
	struct iovec		iov;
	socklen_t		len = sizeof(from);
	char			buf[8];
	int			u, t, on = 1, fl;

	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u == -1 || (fl = fcntl(u, F_GETFL)) == -1 ||
	    fcntl(u, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(u, F_SETFD, FD_CLOEXEC) == -1)
		return 1;
	if (connect(u, (struct sockaddr *)&fx.udp_addr,
	    sizeof(fx.udp_addr)) == -1 || send(u, "query", 5, MSG_NOSIGNAL) != 5)
		return 2;
	if (wait_fd(fx.udp, EPOLLIN) == -1 || recvfrom(fx.udp, buf,
	    sizeof(buf), 0, (struct sockaddr *)&from, &len) != 5)
		return 3;
	if (sendto(fx.udp, "answer", 6, 0, (struct sockaddr *)&from, len) != 6 ||
	    wait_fd(u, EPOLLIN) == -1 || recvfrom(u, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &len) != 6)
		return 4;
	t = socket(AF_INET, SOCK_STREAM, 0);
	if (t == -1 || fcntl(t, F_SETFL, O_NONBLOCK) == -1 ||
	    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		return 5;
	if (connect(t, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == -1 && errno != EINPROGRESS)
		return 6;
	iov = (struct iovec){ buf, 2 };
	if (wait_fd(t, EPOLLOUT) == -1 || writev(t, &iov, 1) != 2)
		return 7;
	if (close(t) == -1 || close(u) == -1)
		return 8;
	return w_misc() == 0 ? 0 : 9;
}

START_TEST(t_resolver_allowed)
{
	assert_exit0(run_sandboxed(load_resolver, body_resolver_ok));
}
END_TEST

START_TEST(t_resolver_forbidden)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;
	assert_violation(run_sandboxed(load_resolver,
	    resolver_forbidden[_i].fn), resolver_forbidden[_i].name);
}
END_TEST

/* ---- pfc export and golden file ---- */

static char *
pfc_text(const struct sandbox_opts *o)
{
	struct sandbox	*sb;
	char		*buf;
	size_t		 len;
	FILE		*f;

	sb = sandbox_worker_build(o);
	ck_assert_ptr_nonnull(f = tmpfile());
	ck_assert_int_eq(sandbox_export_pfc(sb, fileno(f)), 0);
	sandbox_free(sb);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = (size_t)ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(buf = calloc(1, len + 1));
	ck_assert_uint_eq(fread(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

/*
 * The tgkill rule carries the builder's pid: replace it with "PID" so
 * the text is the same in every run.
 */
static void
pfc_normalize(char *text, char *out, size_t outlen)
{
	char	 pid[32], *p, *q, *end;
	size_t	 n = 0, plen;

	snprintf(pid, sizeof(pid), "== %ld)", (long)getpid());
	plen = strlen(pid);
	p = strstr(text, "\"tgkill\"");
	end = p != NULL ? strstr(p + 1, "# filter for syscall") : NULL;
	for (q = text; *q != '\0' && n + 8 < outlen; ) {
		if (p != NULL && q > p && (end == NULL || q < end) &&
		    strncmp(q, pid, plen) == 0) {
			memcpy(out + n, "== PID)", 7);
			n += 7;
			q += plen;
		} else
			out[n++] = *q++;
	}
	out[n] = '\0';
}

static char *
golden_path(char *buf, size_t len)
{
	char	exe[PATH_MAX], *slash;
	ssize_t	n;

	if (getenv("SL_TEST_DATA") != NULL) {
		n = snprintf(buf, len, "%s/worker.pfc", getenv("SL_TEST_DATA"));
		return n < 0 || (size_t)n >= len ? NULL : buf;
	}
	if (getenv("SL_SRCDIR") != NULL) {	/* set by tests/meson.build */
		n = snprintf(buf, len, "%s/tests/data/worker.pfc",
		    getenv("SL_SRCDIR"));
		return n < 0 || (size_t)n >= len ? NULL : buf;
	}
	/* __FILE__ is relative to the build root, two levels above us. */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	n = snprintf(buf, len, "%s/%s", __FILE__[0] == '/' ? "" : exe,
	    __FILE__);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	snprintf(slash, len - (size_t)(slash - buf), "/data/worker.pfc");
	return buf;
}

START_TEST(t_pfc_export)
{
	static const struct sandbox_opts minimal = { 0, 0 };
	char	*full, *min;

	full = pfc_text(&worker_opts);
	min = pfc_text(&minimal);
	ck_assert_ptr_nonnull(strstr(full, "ALLOW"));
	ck_assert_ptr_nonnull(strstr(full, "\"splice\""));
	ck_assert_ptr_nonnull(strstr(full, "\"bind\""));
	ck_assert_ptr_null(strstr(min, "\"splice\""));
	ck_assert_ptr_null(strstr(min, "\"pipe2\""));
	ck_assert_ptr_null(strstr(min, "\"bind\""));
	ck_assert_ptr_null(strstr(full, "\"getppid\""));
	ck_assert_ptr_null(strstr(full, "\"execve\""));
	ck_assert_ptr_null(strstr(full, "\"openat\""));
	free(full);
	free(min);
}
END_TEST

/*
 * The golden file is the default worker filter (splice on, bind off) of
 * a plain kill-mode build with libseccomp 2.5.4; other builds print
 * different (equally valid) text and skip the comparison.
 */
START_TEST(t_pfc_golden)
{
	static const struct sandbox_opts dflt = { 1, 0 };
	const struct scmp_version *v = seccomp_version();
	char	 path[PATH_MAX], *text, *norm, *want;
	size_t	 len;
	FILE	*f;

	text = pfc_text(&dflt);
	len = strlen(text) + 64;	/* "PID" may be longer than the pid */
	ck_assert_ptr_nonnull(norm = malloc(len));
	pfc_normalize(text, norm, len);
	if (getenv("SL_PFC_WRITE") != NULL) {
		ck_assert_ptr_nonnull(f = fopen(getenv("SL_PFC_WRITE"), "w"));
		fputs(norm, f);
		fclose(f);
	}
	if (!sanitized && SL_SECCOMP_MODE == SL_SANDBOX_KILL && v->major == 2 &&
	    v->minor == 5 && v->micro == 4 && seccomp_api_get() >= 3 &&
	    golden_path(path, sizeof(path)) != NULL &&
	    (f = fopen(path, "r")) != NULL) {
		ck_assert_ptr_nonnull(want = calloc(1, len + 4096));
		ck_assert_uint_gt(fread(want, 1, len + 4095, f), 0);
		fclose(f);
		ck_assert_msg(strcmp(want, norm) == 0,
		    "worker filter differs from %s: review the change and "
		    "regenerate with SL_PFC_WRITE=%s", path, path);
		free(want);
	}
	free(norm);
	free(text);
}
END_TEST

START_TEST(t_rule_reasons)
{
	struct sandbox	*sb;

	sb = sandbox_worker_build(&worker_opts);
	ck_assert_uint_gt(sandbox_nrules(sb), 40);
	sandbox_free(sb);
	ck_assert_str_eq(sandbox_mode_name(), SL_SECCOMP_MODE == 0 ? "kill" :
	    SL_SECCOMP_MODE == 1 ? "trap" : "log");
}
END_TEST

/* A rule without a why is a build error at run time: fatal. */
static int
body_noreason(void)
{
	struct sandbox	*sb = sandbox_begin("test");

	sandbox_allow(sb, SCMP_SYS(read), "");
	return 0;
}

START_TEST(t_rule_needs_reason)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) == 0)
		_exit(body_noreason());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}
END_TEST

/* ---- privdir_prepare ---- */

static char tmpbase[64];

static void
tmp_setup(void)
{
	snprintf(tmpbase, sizeof(tmpbase), "/tmp/sl-sandbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpbase));
}

static void
tmp_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpbase);
	ck_assert_int_eq(system(cmd), 0);
}

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpbase, name);
}

static void
assert_prepare_fails(const char *dir, const char *why)
{
	char	err[256] = "";

	ck_assert_int_eq(privdir_prepare(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "%s: error '%s', want '%s'",
	    dir, err, why);
}

START_TEST(t_privdir_reject)
{
	char	d[128], f[160];
	int	fd;

	tmp_path(d, sizeof(d), "file");
	ck_assert_int_ge(fd = open(d, O_CREAT | O_WRONLY, 0644), 0);
	close(fd);
	assert_prepare_fails(d, "not a directory");
	assert_prepare_fails("relative/dir", "absolute");
	tmp_path(d, sizeof(d), "link");
	ck_assert_int_eq(symlink(tmpbase, d), 0);
	assert_prepare_fails(d, "symbolic link");
	tmp_path(d, sizeof(d), "noparent/dir");
	assert_prepare_fails(d, "mkdir");
	if (getuid() != 0)
		return;		/* the rest needs root-owned directories */
	tmp_path(d, sizeof(d), "world");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	ck_assert_int_eq(chmod(d, 0777), 0);
	assert_prepare_fails(d, "writable");
	ck_assert_int_eq(chmod(d, 0775), 0);
	assert_prepare_fails(d, "writable");
	tmp_path(d, sizeof(d), "full");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	snprintf(f, sizeof(f), "%s/x", d);
	ck_assert_int_ge(fd = open(f, O_CREAT | O_WRONLY, 0644), 0);
	close(fd);
	assert_prepare_fails(d, "not empty");
	tmp_path(d, sizeof(d), "notroot");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	ck_assert_int_eq(chown(d, 65534, 0), 0);
	assert_prepare_fails(d, "not root");
}
END_TEST

START_TEST(t_privdir_create)
{
	struct stat	st;
	char		d[128], err[256] = "";

	if (getuid() != 0)
		return;
	umask(077);
	tmp_path(d, sizeof(d), "empty");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(lstat(d, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_uid, 0);
	/* Existing and good: accepted again. */
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* ---- privdrop (root only) ---- */

static int
body_dropped(uid_t uid, gid_t gid)
{
	struct rlimit	 rl;
	cap_t		 cur, none;
	char		 cwd[64];
	gid_t		 groups[4];
	int		 fd;

	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || getuid() == 0)
		return 1;
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		return 2;
	if (getgroups(4, groups) != 1 || groups[0] != gid)
		return 3;
	cur = cap_get_proc();
	none = cap_init();
	if (cur == NULL || none == NULL || cap_compare(cur, none) != 0)
		return 4;
	cap_free(cur);
	cap_free(none);
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return 5;
	/* The chroot is effective: the host's files are out of reach. */
	fd = open("/etc/passwd", O_RDONLY);
	if (fd != -1 || errno != ENOENT)
		return 6;
	if (getrlimit(RLIMIT_NPROC, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 7;
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1 || rl.rlim_cur != 0)
		return 8;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 9;
	if (fork() != -1)	/* RLIMIT_NPROC */
		return 10;
	return 0;
}

START_TEST(t_privdrop_nobody)
{
	struct passwd	*pw;
	char		 d[128], err[256];
	pid_t		 pid;
	int		 st;

	if (getuid() != 0)
		return;
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	tmp_path(d, sizeof(d), "chroot");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		privdrop(pw->pw_uid, pw->pw_gid, d);
		_exit(body_dropped(pw->pw_uid, pw->pw_gid));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

/* Dropped, then sandboxed: the worker's real order. */
START_TEST(t_privdrop_then_sandbox)
{
	struct passwd	*pw;
	char		 d[128], err[256];
	pid_t		 pid;
	int		 st;

	if (getuid() != 0)
		return;
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	tmp_path(d, sizeof(d), "chroot2");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		fixtures();
		privdrop(pw->pw_uid, pw->pw_gid, d);
		load_worker();
		_exit(body_worker_ok());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

START_TEST(t_privdrop_refuses_root)
{
	char	d[128], err[256];
	pid_t	pid;
	int	st;

	if (getuid() != 0)
		return;
	tmp_path(d, sizeof(d), "chroot3");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		privdrop(0, 0, d);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	if ((pid = fork()) == 0) {
		privdrop(65534, 0, d);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}
END_TEST

/* ---- master capabilities (root only) ---- */

static int
body_caps_reduced(void)
{
	static const cap_value_t keep[] = {
		CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_KILL,
		CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_NET_ADMIN,
	};
	cap_flag_value_t p, e, i;
	cap_value_t	 c;
	cap_t		 cur;
	char		 desc[256];
	size_t		 k;
	int		 want;

	caps_master_reduce();
	if ((cur = cap_get_proc()) == NULL)
		return 1;
	for (c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		for (want = 0, k = 0; k < NELEM(keep); k++)
			if (keep[k] == c)
				want = 1;
		if (cap_get_flag(cur, c, CAP_PERMITTED, &p) == -1 ||
		    cap_get_flag(cur, c, CAP_EFFECTIVE, &e) == -1 ||
		    cap_get_flag(cur, c, CAP_INHERITABLE, &i) == -1)
			return 2;
		if ((p == CAP_SET) != want || (e == CAP_SET) != want ||
		    i == CAP_SET)
			return 3;
		if (cap_get_bound(c) != want)
			return 4;
		if (cap_get_ambient(c) > 0)
			return 5;
	}
	cap_free(cur);
	caps_master_describe(desc, sizeof(desc));
	if (strcmp(desc, "cap_kill,cap_setgid,cap_setuid,"
	    "cap_net_bind_service,cap_net_admin,cap_net_raw,"
	    "cap_sys_chroot") != 0)
		return 6;
	/* No CAP_DAC_OVERRIDE: a 0600 file of another owner is closed. */
	if (getuid() != 0 || geteuid() != 0)
		return 7;
	return 0;
}

START_TEST(t_caps_master)
{
	pid_t	pid;
	int	st;

	if (getuid() != 0)
		return;
	if ((pid = fork()) == 0)
		_exit(body_caps_reduced());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

START_TEST(t_caps_describe)
{
	char	buf[512], tiny[4];

	caps_master_describe(buf, sizeof(buf));
	ck_assert(strlen(buf) > 0);
	caps_master_describe(tiny, sizeof(tiny));
	ck_assert(strlen(tiny) < sizeof(tiny));
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite	*s = suite_create("sandbox");
	TCase	*tc;

	tc = tcase_create("worker");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_worker_allowed);
	tcase_add_loop_test(tc, t_worker_forbidden, 0,
	    (int)NELEM(worker_forbidden));
	tcase_add_loop_test(tc, t_worker_options, 0,
	    (int)NELEM(worker_minimal_forbidden));
	tcase_add_test(tc, t_sanitizer_report);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolver");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_resolver_allowed);
	tcase_add_loop_test(tc, t_resolver_forbidden, 0,
	    (int)NELEM(resolver_forbidden));
	suite_add_tcase(s, tc);

	tc = tcase_create("filter");
	tcase_add_test(tc, t_pfc_export);
	tcase_add_test(tc, t_pfc_golden);
	tcase_add_test(tc, t_rule_reasons);
	tcase_add_test(tc, t_rule_needs_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("privdir");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdir_reject);
	tcase_add_test(tc, t_privdir_create);
	suite_add_tcase(s, tc);

	tc = tcase_create("privdrop");
	tcase_set_tags(tc, "root");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdrop_nobody);
	tcase_add_test(tc, t_privdrop_refuses_root);
	tcase_add_test(tc, t_caps_master);
	tcase_add_test(tc, t_caps_describe);
	suite_add_tcase(s, tc);

	tc = tcase_create("privdrop_sandbox");
	tcase_set_tags(tc, "root seccomp");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdrop_then_sandbox);
	suite_add_tcase(s, tc);
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
