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
#include <sys/socket.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netfilter_ipv4.h>
/*
 * <linux/netfilter_ipv6/ip6_tables.h> clashes with <net/if.h>; the one
 * constant it would give is part of the kernel ABI.
 */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST	80
#endif

#include <seccomp.h>

#include "../common/sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void	worker_sb_sockets(struct sandbox *, const struct sandbox_opts *);
static void	worker_sb_sockopts(struct sandbox *, const struct sandbox_opts *);
static void	worker_sb_io(struct sandbox *, const struct sandbox_opts *);

/*
 * Sockets: new ones only inet/inet6 TCP or UDP (the shared shapes);
 * accept4 flags limited to what accept uses.
 */
static void
worker_sb_sockets(struct sandbox *sb, const struct sandbox_opts *o)
{
	sandbox_allow_inet_sockets(sb, "dial: outbound TCP, UDP associate");
	sandbox_allow_arg_mask(sb, SCMP_SYS(accept4), 3,
	    SOCK_NONBLOCK | SOCK_CLOEXEC, "accept: new clients");
	sandbox_allow(sb, SCMP_SYS(connect),
	    "dial: outbound connect, UDP connect");
	sandbox_allow(sb, SCMP_SYS(getsockname),
	    "socks5: BND.ADDR in replies, UDP associate");
	sandbox_allow(sb, SCMP_SYS(getpeername),
	    "session: client address; dial: connected at once?");
	sandbox_allow(sb, SCMP_SYS(shutdown), "relay: half-close on EOF");
	if (o->bind || o->socks)
		sandbox_allow(sb, SCMP_SYS(bind), o->bind ?
		    "dial: a link sets a source address" :
		    "socks5: BIND and UDP ASSOCIATE sockets");
	if (o->socks)
		sandbox_allow(sb, SCMP_SYS(listen),
		    "socks5: BIND waits for its peer");
	worker_sb_sockopts(sb, o);
}

/* Socket options: exact (level, name) pairs. */
static void
worker_sb_sockopts(struct sandbox *sb, const struct sandbox_opts *o)
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
		{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    "dial: source address without reserving a port" },
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
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_DOMAIN, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "tunnel: a stream from the tunnel process is a unix socket");
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_TYPE, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "tunnel: a stream from the tunnel process is a stream socket");
	if (!o->redirect)
		return;
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_IP, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_ORIGINAL_DST, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "redirect: a client's original destination (IPv4)");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_IPV6, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, IP6T_SO_ORIGINAL_DST, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "redirect: a client's original destination (IPv6)");
}

/* Moving bytes: relay, UDP (IPC is shared); fd flags. */
static void
worker_sb_io(struct sandbox *sb, const struct sandbox_opts *o)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC,
		F_GETPIPE_SZ, F_SETPIPE_SZ,
	};

	sandbox_allow(sb, SCMP_SYS(readv), "relay: ring buffer wrap");
	sandbox_allow(sb, SCMP_SYS(pread64),
	    "service table: the registry's sealed memfd (pread: its offset "
	    "is shared with the master and the other workers)");
	sandbox_allow(sb, SCMP_SYS(writev), "relay: ring buffer wrap");
	sandbox_allow(sb, SCMP_SYS(recvfrom), "UDP relay; glibc recv()");
	sandbox_allow(sb, SCMP_SYS(sendto), "UDP relay; glibc send()");
	if (o->socks) {
		sandbox_allow(sb, SCMP_SYS(recvmmsg),
		    "UDP relay: datagrams in batches");
		sandbox_allow(sb, SCMP_SYS(sendmmsg),
		    "UDP relay: datagrams in batches");
	}
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
 * Build the worker allowlist for this configuration without loading it
 * (tests, golden pfc).  The tgkill rule names the calling process, so
 * build it in the process that will load it.
 */
struct sandbox *
sandbox_worker_build(const struct sandbox_opts *o)
{
	struct sandbox	*sb;

	sb = sandbox_begin("worker");
	sandbox_allow_loop(sb);
	worker_sb_sockets(sb, o);
	sandbox_allow_ipc(sb);
	worker_sb_io(sb, o);
	sandbox_allow_memory(sb);
	sandbox_allow_process(sb);
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
