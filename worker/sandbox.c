/*
 * The worker's seccomp allowlist (x86_64, glibc 2.36, libev 4.33).
 *
 * Assumptions, all made true by worker_main() before lockdown: the worker
 * is single-threaded; its libev loop was made with ev_loop_new (epoll,
 * no SIGCHLD handler), listeners, shm and IPC fds were received and the
 * shm region mapped; SIGPIPE is ignored; logs go to the master over IPC;
 * timezone data is loaded.  After lockdown it accepts, dials, relays and
 * talks IPC; it never opens a path, forks, execs or signals another
 * process.  Every entry says who needs it (style.md 3.2); pointer
 * arguments cannot be inspected, so connect/sendto/bind stay unfiltered
 * and destination policy is enforced in user space (policy/).
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <seccomp.h>

#include "../common/sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void	worker_sb_loop(struct sandbox *);
static void	worker_sb_sockets(struct sandbox *, const struct sandbox_opts *);
static void	worker_sb_sockopts(struct sandbox *);
static void	worker_sb_io(struct sandbox *, const struct sandbox_opts *);
static void	worker_sb_memory(struct sandbox *);
static void	worker_sb_process(struct sandbox *);

/* The event loop and time. */
static void
worker_sb_loop(struct sandbox *sb)
{
	static const unsigned long ctl_ops[] = {
		EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL,
	};

	sandbox_allow(sb, SCMP_SYS(epoll_wait),
	    "libev epoll backend (glibc x86_64)");
	sandbox_allow(sb, SCMP_SYS(epoll_pwait),
	    "libev epoll backend (glibc on aarch64 and newer)");
	sandbox_allow_arg_in(sb, SCMP_SYS(epoll_ctl), 1, ctl_ops,
	    NELEM(ctl_ops), "libev: watcher start/stop");
	sandbox_allow(sb, SCMP_SYS(poll),
	    "ipc_chan_flush: bounded wait before exit");
	sandbox_allow(sb, SCMP_SYS(ppoll),
	    "ipc_chan_flush (glibc poll on aarch64)");
	sandbox_allow(sb, SCMP_SYS(clock_gettime),
	    "libev ev_now_update, log stamps: vDSO fallback");
	sandbox_allow(sb, SCMP_SYS(gettimeofday),
	    "libev ev_time: vDSO fallback");
}

/*
 * Sockets: new ones only inet/inet6 TCP or UDP (no AF_UNIX, AF_NETLINK,
 * AF_PACKET, raw or ping sockets); flags limited to what dial and
 * accept use.
 */
static void
worker_sb_sockets(struct sandbox *sb, const struct sandbox_opts *o)
{
	static const struct { unsigned long type, proto; } st[] = {
		{ SOCK_STREAM, 0 }, { SOCK_STREAM, IPPROTO_TCP },
		{ SOCK_DGRAM, 0 }, { SOCK_DGRAM, IPPROTO_UDP },
	};
	static const unsigned long fams[] = { AF_INET, AF_INET6 };
	struct sandbox_arg	a[3];
	size_t			f, t;

	for (f = 0; f < NELEM(fams); f++) {
		for (t = 0; t < NELEM(st); t++) {
			a[0] = (struct sandbox_arg){ 0, SANDBOX_EQ, fams[f], 0 };
			a[1] = (struct sandbox_arg){ 1, SANDBOX_MASKED_EQ,
			    st[t].type, ~(unsigned long)(SOCK_NONBLOCK |
			    SOCK_CLOEXEC) };
			a[2] = (struct sandbox_arg){ 2, SANDBOX_EQ,
			    st[t].proto, 0 };
			sandbox_allow_args(sb, SCMP_SYS(socket), a, 3,
			    "dial: outbound TCP, UDP associate");
		}
	}
	sandbox_allow_arg_mask(sb, SCMP_SYS(accept4), 3,
	    SOCK_NONBLOCK | SOCK_CLOEXEC, "accept: new clients");
	sandbox_allow(sb, SCMP_SYS(connect),
	    "dial: outbound connect, UDP connect");
	sandbox_allow(sb, SCMP_SYS(getsockname),
	    "socks5: BND.ADDR in replies, UDP associate");
	sandbox_allow(sb, SCMP_SYS(getpeername), "session: client address");
	sandbox_allow(sb, SCMP_SYS(shutdown), "relay: half-close on EOF");
	if (o->bind)
		sandbox_allow(sb, SCMP_SYS(bind),
		    "dial: a link sets a source address");
	worker_sb_sockopts(sb);
}

/* Socket options: exact (level, name) pairs. */
static void
worker_sb_sockopts(struct sandbox *sb)
{
	static const struct {
		unsigned long	 level, name;
		const char	*why;
	} so[] = {
		{ IPPROTO_TCP, TCP_NODELAY, "dial/accept: interactive relay" },
		{ SOL_SOCKET, SO_KEEPALIVE, "dial/accept: dead peer detection" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, "dial/accept: keepalive timing" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, "dial/accept: keepalive timing" },
		{ IPPROTO_TCP, TCP_KEEPCNT, "dial/accept: keepalive timing" },
		{ SOL_SOCKET, SO_LINGER, "session: reset on abort" },
		{ IPPROTO_IPV6, IPV6_V6ONLY, "UDP associate: v6 socket" },
	};
	struct sandbox_arg	a[2];
	size_t			i;

	for (i = 0; i < NELEM(so); i++) {
		a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, so[i].level, 0 };
		a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, so[i].name, 0 };
		sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2, so[i].why);
	}
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_ERROR, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "dial: result of a non-blocking connect");
}

/* Moving bytes: relay, UDP, IPC; fd flags. */
static void
worker_sb_io(struct sandbox *sb, const struct sandbox_opts *o)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC,
		F_GETPIPE_SZ, F_SETPIPE_SZ,
	};

	sandbox_allow(sb, SCMP_SYS(read), "relay copy path, IPC, eventfd");
	sandbox_allow(sb, SCMP_SYS(write), "relay copy path, IPC, eventfd");
	sandbox_allow(sb, SCMP_SYS(readv), "relay: ring buffer wrap");
	sandbox_allow(sb, SCMP_SYS(writev), "relay: ring buffer wrap");
	sandbox_allow(sb, SCMP_SYS(recvfrom), "UDP relay; glibc recv()");
	sandbox_allow(sb, SCMP_SYS(sendto), "UDP relay; glibc send()");
	sandbox_allow_arg_mask(sb, SCMP_SYS(sendmsg), 2,
	    MSG_NOSIGNAL | MSG_DONTWAIT, "IPC: frames to master/resolver");
	sandbox_allow_arg_mask(sb, SCMP_SYS(recvmsg), 2,
	    MSG_CMSG_CLOEXEC | MSG_DONTWAIT, "IPC: frames, fds from master");
	sandbox_allow(sb, SCMP_SYS(close), "sessions, pipes, IPC fds");
	sandbox_allow_arg_in(sb, SCMP_SYS(fcntl), 1, fcntl_cmds,
	    NELEM(fcntl_cmds), "non-blocking/cloexec flags, libev fd checks, "
	    "IPC fd dup, splice pipe size");
	if (!o->splice)
		return;
	sandbox_allow_arg_mask(sb, SCMP_SYS(pipe2), 1, O_NONBLOCK | O_CLOEXEC,
	    "splice relay: one pipe per direction");
	sandbox_allow_arg_mask(sb, SCMP_SYS(splice), 5,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE,
	    "splice relay: socket -> pipe -> socket");
}

/*
 * Memory: glibc malloc (brk; mmap for large blocks; mremap for realloc
 * growth).  Never executable, never shared (the shm region is mapped
 * before lockdown), no fixed addresses.
 */
static void
worker_sb_memory(struct sandbox *sb)
{
	static const unsigned long advice[] = { MADV_DONTNEED, MADV_FREE };
	static const unsigned long futex_ops[] = {
		FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE,
	};
	struct sandbox_arg	a[2];

	sandbox_allow(sb, SCMP_SYS(brk), "glibc malloc: main arena");
	a[0] = (struct sandbox_arg){ 2, SANDBOX_MASK,
	    PROT_READ | PROT_WRITE, 0 };
	a[1] = (struct sandbox_arg){ 3, SANDBOX_MASKED_EQ,
	    MAP_PRIVATE | MAP_ANONYMOUS, ~(unsigned long)MAP_NORESERVE };
	sandbox_allow_args(sb, SCMP_SYS(mmap), a, 2,
	    "glibc malloc: large blocks, brk fallback");
	sandbox_allow(sb, SCMP_SYS(munmap), "glibc free of large blocks");
	sandbox_allow_arg_mask(sb, SCMP_SYS(mremap), 3, MREMAP_MAYMOVE,
	    "glibc realloc growth of large blocks");
	sandbox_allow_arg_mask(sb, SCMP_SYS(mprotect), 2,
	    PROT_READ | PROT_WRITE, "glibc malloc: heap growth (never exec)");
	sandbox_allow_arg_in(sb, SCMP_SYS(madvise), 2, advice, NELEM(advice),
	    "glibc malloc: trimming");
	sandbox_allow_arg_in(sb, SCMP_SYS(futex), 1, futex_ops,
	    NELEM(futex_ops), "glibc internal locks if ever contended");
	sandbox_allow_arg_mask(sb, SCMP_SYS(getrandom), 2, GRND_NONBLOCK,
	    "arc4random: request ids, hash keys");
}

/* The process itself: signals it already has, exit, abort. */
static void
worker_sb_process(struct sandbox *sb)
{
	struct sandbox_arg	a[2];

	sandbox_allow(sb, SCMP_SYS(getpid), "log lines, abort()");
	sandbox_allow(sb, SCMP_SYS(gettid), "abort(): raise");
	sandbox_allow(sb, SCMP_SYS(rt_sigreturn),
	    "return from handlers installed before lockdown");
	sandbox_allow(sb, SCMP_SYS(rt_sigprocmask),
	    "abort(), libev signal blocking around handlers");
	sandbox_allow(sb, SCMP_SYS(restart_syscall),
	    "kernel restart of an interrupted call");
	sandbox_allow(sb, SCMP_SYS(exit_group), "exit, _exit, fatal()");
	sandbox_allow(sb, SCMP_SYS(exit), "thread exit (glibc fallback)");
	/* A failed assert dies of SIGABRT, not of a sandbox kill. */
	a[0] = (struct sandbox_arg){ 0, SANDBOX_EQ,
	    (unsigned long)getpid(), 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SIGABRT, 0 };
	sandbox_allow_args(sb, SCMP_SYS(tgkill), a, 2, "abort(): own pid only");
}

/*
 * Build the worker allowlist for this configuration without loading it
 * (tests, golden pfc).  The tgkill rule names the calling process, so
 * build it in the process that will load it.
 */
struct sandbox *
sandbox_worker_build(const struct sandbox_opts *o)
{
	struct sandbox	*sb;

	sb = sandbox_begin("worker");
	worker_sb_loop(sb);
	worker_sb_sockets(sb, o);
	worker_sb_io(sb, o);
	worker_sb_memory(sb);
	worker_sb_process(sb);
	sandbox_allow_sanitizer(sb);
	return sb;
}

/*
 * Worker, after privdrop() and before SL_MSG_READY.  getppid stays
 * forbidden: the integration test's violation hook calls it.
 */
void
sandbox_worker(const struct sandbox_opts *o)
{
	sandbox_load(sandbox_worker_build(o));
}
