/*
 * Sandbox tests, the seccomp allowlists: everything the worker does on
 * its allowed path (TCP, splice, vectored I/O, fd passing, UDP, malloc,
 * libev) survives its filter, every forbidden syscall is a violation,
 * the splice/bind options, sanitizer reports inside the filter, and the
 * same for the resolver.
 * Part of the check_sandbox executable (see check_sandbox.h).
 */
#include "check_sandbox.h"

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

int
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
	static const struct sandbox_opts o = { 0, 0, 0, 0 };

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

TCase *
sandbox_worker_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("worker");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_worker_allowed);
	tcase_add_loop_test(tc, t_worker_forbidden, 0,
	    (int)NELEM(worker_forbidden));
	tcase_add_loop_test(tc, t_worker_options, 0,
	    (int)NELEM(worker_minimal_forbidden));
	tcase_add_test(tc, t_sanitizer_report);
	return tc;
}

TCase *
sandbox_resolver_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("resolver");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_resolver_allowed);
	tcase_add_loop_test(tc, t_resolver_forbidden, 0,
	    (int)NELEM(resolver_forbidden));
	return tc;
}
