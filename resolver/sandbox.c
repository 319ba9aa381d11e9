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
 * servers (primaries and backups, each over UDP and over TCP: one c-ares
 * channel per stage) and to the hijack probe addresses, and IPC to the
 * master and the workers.  Measured with strace on a c-ares 1.18 +
 * libev probe (UDP answer, truncated answer retried over TCP, refused
 * TCP connection): socket, fcntl F_GETFL/F_SETFL/F_SETFD, setsockopt
 * TCP_NODELAY and SO_RCVBUF, connect, sendto(MSG_NOSIGNAL), recvfrom,
 * writev, epoll_ctl/epoll_wait, close; getrandom for the random names
 * of the hijack check.  No accept, splice, bind or fd passing.
 */
#include <sys/socket.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <seccomp.h>

#include "../common/sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void	resolver_sb_dns(struct sandbox *);
static void	resolver_sb_io(struct sandbox *);

/*
 * DNS sockets: inet/inet6 UDP or TCP to the nameservers, nothing else
 * (no AF_UNIX, AF_NETLINK, raw sockets, no listening).
 */
static void
resolver_sb_dns(struct sandbox *sb)
{
	struct sandbox_arg	a[2];

	sandbox_allow_inet_sockets(sb,
	    "c-ares: UDP query, TCP retry of truncated answers");
	sandbox_allow(sb, SCMP_SYS(connect),
	    "c-ares: connect to the nameserver (UDP and TCP)");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, IPPROTO_TCP, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, TCP_NODELAY, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "c-ares: TCP_NODELAY on TCP sockets");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_RCVBUF, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "c-ares: SO_RCVBUF (ARES_OPT_SOCK_RCVBUF) on every new DNS "
	    "socket, so a burst of answers is not dropped");
	sandbox_allow(sb, SCMP_SYS(sendto),
	    "c-ares: send() of UDP queries and TCP data");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_LINGER, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "IPC: lingering off before closing an fd a peer sent, so a "
	    "lingering TCP socket cannot block close()");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SHUT_RDWR, 0 };
	sandbox_allow_args(sb, SCMP_SYS(shutdown), a, 1,
	    "IPC: stop a peer's sends before emptying a freed channel");
	sandbox_allow(sb, SCMP_SYS(recvfrom),
	    "c-ares: UDP answers (source checked), TCP recv()");
}

/* c-ares TCP writes, fd flags (IPC is shared). */
static void
resolver_sb_io(struct sandbox *sb)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD,
	};

	sandbox_allow(sb, SCMP_SYS(writev), "c-ares: TCP queries");
	sandbox_allow_arg_in(sb, SCMP_SYS(fcntl), 1, fcntl_cmds,
	    NELEM(fcntl_cmds),
	    "c-ares: O_NONBLOCK, FD_CLOEXEC; libev fd checks");
}

/* The resolver allowlist, built but not loaded (tests, pfc export). */
struct sandbox *
sandbox_resolver_build(void)
{
	struct sandbox	*sb;

	sb = sandbox_begin("resolver");
	sandbox_allow_loop(sb);
	resolver_sb_dns(sb);
	sandbox_allow_ipc(sb);
	resolver_sb_io(sb);
	sandbox_allow_memory(sb);
	sandbox_allow_process(sb);
	sandbox_allow_sanitizer(sb);
	return sb;
}

/* Resolver, after privdrop() and before SL_MSG_READY. */
void
sandbox_resolver(void)
{
	sandbox_load(sandbox_resolver_build());
}
