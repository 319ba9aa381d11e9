/*
 * Sandbox tests, the registry's allowlist (registry/sandbox.c): what the
 * registry does after lockdown works (IPC, read and write on a Redis
 * socket it was handed, the connect result by SO_ERROR, filling a memfd
 * it was handed through a shared mapping and sealing it, malloc, time,
 * randomness), and what would let it reach anything but the one Redis
 * address the master connected is fatal: socket, connect, sendto, bind,
 * accept, memfd_create, ftruncate, open, exec, executable memory.
 * Part of the check_sandbox executable (see check_sandbox.h).
 */
#include "check_sandbox.h"
#include "registry/rg_sandbox.h"

/* Made before lockdown, like the master's answers to the registry. */
static struct {
	int	redis;		/* TCP, connect under way to fx.lsn */
	int	spare;		/* TCP, never connected */
	int	memfd;		/* 4096 bytes, sealable */
} rx;

static void
load_registry(void)
{
	rx.redis = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	rx.spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rx.redis == -1 || rx.spare == -1 || (connect(rx.redis,
	    (struct sockaddr *)&fx.lsn_addr, sizeof(fx.lsn_addr)) == -1 &&
	    errno != EINPROGRESS))
		_exit(93);
	rx.memfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (rx.memfd == -1 || ftruncate(rx.memfd, 4096) == -1)
		_exit(94);
	sandbox_registry();
}

static int
body_registry_ok(void)
{
	char		 buf[16];
	int		 err = -1, a, seals;
	socklen_t	 len = sizeof(err);
	void		*p;

	if (wait_fd(rx.redis, EPOLLOUT) == -1 || getsockopt(rx.redis,
	    SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		return 1;
	if (wait_fd(fx.lsn, EPOLLIN) == -1 || write(rx.redis, "*1\r\n", 4) != 4)
		return 2;
	if (write(fx.sp[0], "frame", 5) != 5 || read(fx.sp[1], buf, 5) != 5)
		return 3;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rx.memfd, 0);
	if (p == MAP_FAILED)
		return 4;
	memcpy(p, "{}", 2);
	if (munmap(p, 4096) == -1)
		return 5;
	if (fcntl(rx.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		return 6;
	if ((seals = fcntl(rx.memfd, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    close(seals) == -1)
		return 7;
	if ((p = malloc(1 << 20)) == NULL)
		return 8;
	memset(p, 1, 1 << 20);
	free(p);
	if (getrandom(&a, sizeof(a), GRND_NONBLOCK) != sizeof(a))
		return 9;
	if (close(rx.redis) == -1 || close(rx.memfd) == -1)
		return 10;
	return 0;
}

static int
r_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) == -1;
}

static int
r_connect(void)
{
	return connect(rx.spare, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == 0;
}

static int
r_sendto(void)
{
	return sendto(fx.udp, "x", 1, 0, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == 1;
}

static int
r_bind(void)
{
	struct sockaddr_in	sin = fx.lsn_addr;

	sin.sin_port = 0;
	return bind(rx.spare, (struct sockaddr *)&sin, sizeof(sin));
}

static int
r_accept(void)
{
	return accept4(fx.lsn, NULL, NULL, SOCK_NONBLOCK);
}

static int
r_memfd(void)
{
	return memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

static int
r_ftruncate(void)
{
	return ftruncate(rx.memfd, 8192);
}

static int
r_openat(void)
{
	return open("/etc/passwd", O_RDONLY);
}

static int
r_execve(void)
{
	char	*argv[] = { "/bin/true", NULL };

	return execve(argv[0], argv, NULL);
}

static int
r_mmap_exec(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, rx.memfd,
	    0) == MAP_FAILED;
}

static int
r_setsockopt(void)
{
	int	on = 1;

	return setsockopt(rx.redis, SOL_SOCKET, SO_BROADCAST, &on,
	    sizeof(on));
}

static int
r_getppid(void)
{
	return getppid() == 0;
}

static const struct {
	const char	*name;
	body_fn		 fn;
} registry_forbidden[] = {
	{ "socket", r_socket },
	{ "connect", r_connect },
	{ "sendto", r_sendto },
	{ "bind", r_bind },
	{ "accept4", r_accept },
	{ "memfd_create", r_memfd },
	{ "ftruncate", r_ftruncate },
	{ "openat", r_openat },
	{ "execve", r_execve },
	{ "mmap(PROT_EXEC, MAP_SHARED)", r_mmap_exec },
	{ "setsockopt", r_setsockopt },
	{ "getppid", r_getppid },
};

START_TEST(t_registry_allowed)
{
	assert_exit0(run_sandboxed(load_registry, body_registry_ok));
}
END_TEST

START_TEST(t_registry_forbidden)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;
	assert_violation(run_sandboxed(load_registry,
	    registry_forbidden[_i].fn), registry_forbidden[_i].name);
}
END_TEST

TCase *
sandbox_registry_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("registry");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_registry_allowed);
	tcase_add_loop_test(tc, t_registry_forbidden, 0,
	    (int)NELEM(registry_forbidden));
	return tc;
}
