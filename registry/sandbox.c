/*
 * The registry's seccomp allowlist (x86_64, glibc 2.36, libev 4.33,
 * hiredis 0.14, cJSON 1.7).
 *
 * Assumptions, made true by registry_main() before lockdown: one
 * thread; the loop made with ev_loop_new (epoll); the master channel on
 * fd 3; SIGPIPE ignored; logs go to the master over IPC.
 *
 * After lockdown it reads and writes Redis connections on sockets the
 * master made (hiredis is used for its reader and formatter only, which
 * make no syscalls), learns how their non-blocking connect ended
 * (getsockopt SO_ERROR), and writes each new table into a memfd the
 * master made (through a shared mapping) and seals it.
 * What it may not do is the point of the role: no socket(), no
 * connect(), no bind, no accept, no sendto/recvfrom (so no address of
 * its choosing), no open, no exec, no fork.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <fcntl.h>

#include <seccomp.h>

#include "../common/sandbox.h"
#include "rg_sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Redis sockets from the master, the table memfd, fd flags. */
static void
registry_sb_io(struct sandbox *sb)
{
	static const unsigned long fcntl_cmds[] = {
		F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC,
		F_ADD_SEALS,
	};
	struct sandbox_arg	a[2];

	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_ERROR, 0 };
	sandbox_allow_args(sb, SCMP_SYS(getsockopt), a, 2,
	    "redis: result of the master's non-blocking connect");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SOL_SOCKET, 0 };
	a[1] = (struct sandbox_arg){ 2, SANDBOX_EQ, SO_LINGER, 0 };
	sandbox_allow_args(sb, SCMP_SYS(setsockopt), a, 2,
	    "IPC: lingering off before closing an fd a peer sent, so a "
	    "lingering TCP socket cannot block close()");
	a[0] = (struct sandbox_arg){ 1, SANDBOX_EQ, SHUT_RDWR, 0 };
	sandbox_allow_args(sb, SCMP_SYS(shutdown), a, 1,
	    "IPC: stop a peer's sends before emptying a freed channel");
	/*
	 * Shared and writable, never executable: RLIMIT_FSIZE 0 forbids
	 * write() to the master's memfd, a mapping of its existing pages is
	 * how the table gets in.  The only mappable fds it holds are those
	 * memfds (sockets cannot be mapped).
	 */
	a[0] = (struct sandbox_arg){ 2, SANDBOX_MASK,
	    PROT_READ | PROT_WRITE, 0 };
	a[1] = (struct sandbox_arg){ 3, SANDBOX_EQ, MAP_SHARED, 0 };
	sandbox_allow_args(sb, SCMP_SYS(mmap), a, 2,
	    "service table: fill the master's memfd before sealing it");
	sandbox_allow_arg_in(sb, SCMP_SYS(fcntl), 1, fcntl_cmds,
	    NELEM(fcntl_cmds), "table memfd seals; IPC fd dup when queued; "
	    "libev fd checks");
}

/* The registry allowlist, built but not loaded (tests). */
struct sandbox *
sandbox_registry_build(void)
{
	struct sandbox	*sb;

	sb = sandbox_begin("registry");
	sandbox_allow_loop(sb);
	sandbox_allow_ipc(sb);
	registry_sb_io(sb);
	sandbox_allow_memory(sb);
	sandbox_allow_process(sb);
	sandbox_allow_sanitizer(sb);
	return sb;
}

/* Registry, after privdrop() and before SL_MSG_READY. */
void
sandbox_registry(void)
{
	sandbox_load(sandbox_registry_build());
}
