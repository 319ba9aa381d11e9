/*
 * The resolver's seccomp allowlist (x86_64, glibc 2.36, libev 4.33,
 * c-ares 1.18).
 *
 * Assumptions, made true by resolver_main() before lockdown: one thread;
 * the loop made with ev_loop_new (epoll); the c-ares channel initialised
 * (it reads resolv.conf and seeds its RC4 query-id generator from
 * /dev/urandom in ares_init; it never opens a file again as long as
 * lookups are "b" only and hosts are answered from memory); IPC fds in
 * place; SIGPIPE ignored.
 *
 * After lockdown it speaks DNS over UDP and TCP to the configured
 * servers and IPC to the master and the workers.  Measured with strace
 * on a c-ares 1.18 + libev probe (UDP answer, truncated answer retried
 * over TCP): socket, fcntl F_GETFL/F_SETFL/F_SETFD, setsockopt
 * TCP_NODELAY, connect, sendto(MSG_NOSIGNAL), recvfrom, writev,
 * epoll_ctl/epoll_wait, close.  No accept, splice, bind or fd passing.
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

static void	resolver_sb_loop(struct sandbox *);
static void	resolver_sb_dns(struct sandbox *);
static void	resolver_sb_io(struct sandbox *);
static void	resolver_sb_memory(struct sandbox *);
static void	resolver_sb_process(struct sandbox *);

/* The event loop and time. */
static void
resolver_sb_loop(struct sandbox *sb)
{
	static const unsigned long ctl_ops[] = {
		EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL,
	};

	sandbox_allow(sb, SCMP_SYS(epoll_wait),
	    "libev epoll backend (glibc x86_64)");
	sandbox_allow(sb, SCMP_SYS(epoll_pwait),
	    "libev epoll backend (glibc on aarch64 and newer)");
	sandbox_allow_arg_in(sb, SCMP_SYS(epoll_ctl), 1, ctl_ops,
	    NELEM(ctl_ops), "libev: c-ares socket and IPC watchers");
	sandbox_allow(sb, SCMP_SYS(poll),
	    "ipc_chan_flush: bounded wait before exit");
	sandbox_allow(sb, SCMP_SYS(ppoll),
	    "ipc_chan_flush (glibc poll on aarch64)");
	sandbox_allow(sb, SCMP_SYS(clock_gettime),
	    "libev, c-ares timeouts: vDSO fallback");
	sandbox_allow(sb, SCMP_SYS(gettimeofday),
	    "libev ev_time: vDSO fallback");
}

/*
 * DNS sockets: inet/inet6 UDP or TCP to the nameservers, nothing else
 * (no AF_UNIX, AF_NETLINK, raw sockets, no listening).
 */
static void
resolver_sb_dns(struct sandbox *sb)
{
	static const struct { unsigned long type, proto; } st[] = {
		{ SOCK_DGRAM, 0 }, { SOCK_DGRAM, IPPROTO_UDP },
		{ SOCK_STREAM, 0 }, { SOCK_STREAM, IPPROTO_TCP },
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
			    "c-ares: UDP query, TCP retry of truncated answers");
		}
	}
	sandbox_allow(sb, SCMP_SYS(connect),
	    "c-ares: connect to the nameserver (UDP and TCP)");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, IPPROTO_TCP, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, TCP_NODELAY, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "c-ares: TCP_NODELAY on TCP sockets");
	sandbox_allow(sb, SCMP_SYS(sendto),
	    "c-ares: send() of UDP queries and TCP data");
	sandbox_allow(sb, SCMP_SYS(recvfrom),
	    "c-ares: UDP answers (source checked), TCP recv()");
}

/* IPC, c-ares TCP writes, fd flags. */
static void
resolver_sb_io(struct sandbox *sb)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD,
	};

	sandbox_allow(sb, SCMP_SYS(read), "IPC, libev eventfd");
	sandbox_allow(sb, SCMP_SYS(write), "IPC, libev eventfd");
	sandbox_allow(sb, SCMP_SYS(writev), "c-ares: TCP queries");
	sandbox_allow_arg_mask(sb, SCMP_SYS(sendmsg), 2,
	    MSG_NOSIGNAL | MSG_DONTWAIT, "IPC: answers to workers, logs");
	/* The channels do not accept fds, but the receive path is shared. */
	sandbox_allow_arg_mask(sb, SCMP_SYS(recvmsg), 2,
	    MSG_CMSG_CLOEXEC | MSG_DONTWAIT, "IPC: queries, config");
	sandbox_allow(sb, SCMP_SYS(close), "c-ares sockets, IPC");
	sandbox_allow_arg_in(sb, SCMP_SYS(fcntl), 1, fcntl_cmds,
	    NELEM(fcntl_cmds),
	    "c-ares: O_NONBLOCK, FD_CLOEXEC; libev fd checks");
}

/* Memory: glibc malloc; never executable, shared or fixed. */
static void
resolver_sb_memory(struct sandbox *sb)
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
	    "glibc realloc growth (c-ares answer buffers)");
	sandbox_allow_arg_mask(sb, SCMP_SYS(mprotect), 2,
	    PROT_READ | PROT_WRITE, "glibc malloc: heap growth (never exec)");
	sandbox_allow_arg_in(sb, SCMP_SYS(madvise), 2, advice, NELEM(advice),
	    "glibc malloc: trimming");
	sandbox_allow_arg_in(sb, SCMP_SYS(futex), 1, futex_ops,
	    NELEM(futex_ops), "glibc internal locks if ever contended");
	sandbox_allow_arg_mask(sb, SCMP_SYS(getrandom), 2, GRND_NONBLOCK,
	    "arc4random; c-ares >= 1.19 query ids");
}

/* The process itself: signals it already has, exit, abort. */
static void
resolver_sb_process(struct sandbox *sb)
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

/* The resolver allowlist, built but not loaded (tests, pfc export). */
struct sandbox *
sandbox_resolver_build(void)
{
	struct sandbox	*sb;

	sb = sandbox_begin("resolver");
	resolver_sb_loop(sb);
	resolver_sb_dns(sb);
	resolver_sb_io(sb);
	resolver_sb_memory(sb);
	resolver_sb_process(sb);
	sandbox_allow_sanitizer(sb);
	return sb;
}

/* Resolver, after privdrop() and before SL_MSG_READY. */
void
sandbox_resolver(void)
{
	sandbox_load(sandbox_resolver_build());
}
