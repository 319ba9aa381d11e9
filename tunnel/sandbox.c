/*
 * The tunnel process's seccomp allowlist (x86_64, glibc 2.36, libev 4.33,
 * OpenSSL 3.0).
 *
 * Assumptions, made true by tunnel_main() before lockdown: one thread;
 * the loop made with ev_loop_new (epoll); the master channel on fd 3;
 * SIGPIPE ignored; logs go to the master over IPC; OpenSSL initialised
 * without reading a file, every algorithm loaded by one handshake in
 * memory (tun_tls_global_init), its generator seeded.
 *
 * After lockdown it accepts agents on the tunnel listeners the master
 * bound (server), reads and writes TLS on them and on the sockets a
 * worker dialed for it (agent), makes AF_UNIX socketpairs, one per
 * stream, and passes one end to a worker.  What it may not do is the
 * point of the role: no socket() (so no connection of its choosing: an
 * agent's outbound connection is dialed by a worker, over the config's
 * links), no connect, no bind, no open, no exec, no fork.  A tunnel
 * process taken over by a hostile peer holds the agents' secrets of its
 * pool and its streams, and nothing else.
 */
#include <sys/socket.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <seccomp.h>

#include "../common/sandbox.h"
#include "tn_sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
tunnel_sb_sockets(struct sandbox *sb)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC,
	};
	struct sandbox_arg	a[3];

	sandbox_allow_arg_mask(sb, SCMP_SYS(accept4), 3,
	    SOCK_NONBLOCK | SOCK_CLOEXEC, "tunnel listener: agents dial in");
	a[0] = (struct sandbox_arg){ 0, SANDBOX_EQ, AF_UNIX, 0 };
	a[1] = (struct sandbox_arg){ 1, SANDBOX_MASKED_EQ, SOCK_STREAM,
	    ~(unsigned long)(SOCK_NONBLOCK | SOCK_CLOEXEC) };
	a[2] = (struct sandbox_arg){ 2, SANDBOX_EQ, 0, 0 };
	sandbox_allow_args(sb, SCMP_SYS(socketpair), a, 3,
	    "a stream: one end here, the other for a worker");
	sandbox_allow(sb, SCMP_SYS(shutdown),
	    "stream half-close; IPC: stop a peer's sends before freeing");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_ERROR, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "agent: result of the worker's non-blocking connect");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_LINGER, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "IPC: lingering off before closing an fd a peer sent");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, IPPROTO_TCP, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, TCP_NODELAY, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "tunnel connection: frames go out at once");
	sandbox_allow(sb, SCMP_SYS(getpeername), "log lines: the agent");
	/*
	 * recv/send on connected sockets: no address of our choosing can
	 * be reached, as no socket() exists to make an unconnected one.
	 */
	sandbox_allow(sb, SCMP_SYS(recvfrom), "tunnel and stream reads");
	/* No destination address: send() on a connected socket only. */
	a[0] = (struct sandbox_arg){ 4, SANDBOX_EQ, 0, 0 };
	sandbox_allow_args(sb, SCMP_SYS(sendto), a, 1,
	    "tunnel and stream writes (send(2): no address)");
	sandbox_allow_arg_in(sb, SCMP_SYS(fcntl), 1, fcntl_cmds,
	    NELEM(fcntl_cmds), "IPC fd dup when queued; libev fd checks");
}

struct sandbox *
sandbox_tunnel_build(void)
{
	struct sandbox	*sb;

	sb = sandbox_begin("tunnel");
	sandbox_allow_loop(sb);
	sandbox_allow_ipc(sb);
	tunnel_sb_sockets(sb);
	sandbox_allow_memory(sb);
	sandbox_allow_process(sb);
	sandbox_allow_sanitizer(sb);
	return sb;
}

void
sandbox_tunnel(void)
{
	sandbox_load(sandbox_tunnel_build());
}
