/*
 * libseccomp helpers shared by the worker and resolver allowlists, and
 * the groups of rules that both of them need.
 *
 * Fail closed: every libseccomp error is fatal, so a child never runs
 * with half a filter.  The default action comes from the build
 * (SL_SECCOMP_MODE): kill the process in production, trap (report and
 * exit) or log for development.  Syscalls of a foreign architecture
 * (x32, i386 through int 0x80) always kill the process.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <linux/futex.h>
#include <linux/random.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "sl_build.h"
#include "log.h"
#include "sandbox.h"

#ifdef SL_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct sandbox {
	scmp_filter_ctx	 ctx;
	const char	*who;
	unsigned	 nrules;
};

/* Syscall names for the SIGSYS reporter, filled before the filter loads. */
#define SB_NAMES	512
#define SB_NAMELEN	32
static char		 sb_names[SB_NAMES][SB_NAMELEN];

static uint32_t	 sandbox_default_action(void);
static uint32_t	 sandbox_kill_action(void);
static void	 sandbox_rule(struct sandbox *, uint32_t, int, unsigned,
		    const struct scmp_arg_cmp *, const char *);
static struct scmp_arg_cmp sandbox_cmp(const struct sandbox *,
		    const struct sandbox_arg *);
static void	 sandbox_trap_install(void);
static void	 sandbox_sigsys(int, siginfo_t *, void *);
static size_t	 sb_puts(char *, size_t, size_t, const char *);
static size_t	 sb_putu(char *, size_t, size_t, unsigned long);

const char *
sandbox_mode_name(void)
{
	switch (SL_SECCOMP_MODE) {
	case SL_SANDBOX_TRAP:
		return "trap";
	case SL_SANDBOX_LOG:
		return "log";
	default:
		return "kill";
	}
}

/*
 * KILL_PROCESS needs API level 3 (Linux 4.14 and the seccomp() syscall).
 * Where only prctl(PR_SET_SECCOMP) works (valgrind does not know
 * seccomp()), fall back to killing the thread: every confined sluice
 * process is single-threaded, so the process dies just the same.
 */
static uint32_t
sandbox_kill_action(void)
{
	if (seccomp_api_get() >= 3)
		return SCMP_ACT_KILL_PROCESS;
	return SCMP_ACT_KILL;
}

static uint32_t
sandbox_default_action(void)
{
	switch (SL_SECCOMP_MODE) {
	case SL_SANDBOX_TRAP:
		return SCMP_ACT_TRAP;
	case SL_SANDBOX_LOG:
		return SCMP_ACT_LOG;
	default:
		return sandbox_kill_action();
	}
}

/*
 * Start a filter for the process called `who` (used in messages only).
 */
struct sandbox *
sandbox_begin(const char *who)
{
	struct sandbox	*sb;
	int		 rc;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		fatal("%s: calloc", __func__);
	sb->who = who;
	if ((sb->ctx = seccomp_init(sandbox_default_action())) == NULL)
		fatalx("%s: %s: seccomp_init failed", __func__, who);
	rc = seccomp_attr_set(sb->ctx, SCMP_FLTATR_ACT_BADARCH,
	    sandbox_kill_action());
	if (rc != 0)
		fatalx("%s: %s: bad-arch action: %s", __func__, who,
		    strerror(-rc));
	return sb;
}

/* Add one rule; n conditions are ANDed.  Fatal on error. */
static void
sandbox_rule(struct sandbox *sb, uint32_t action, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp, const char *why)
{
	char	*name;
	int	 rc;

	/* The why is the reviewable part of an allowlist; insist on it. */
	if (why == NULL || *why == '\0')
		fatalx("%s: %s: syscall %d allowed without a reason", __func__,
		    sb->who, nr);
	rc = seccomp_rule_add_array(sb->ctx, action, nr, n, cmp);
	if (rc != 0) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		fatalx("%s: %s: allow %s (%d) for %s: %s", __func__, sb->who,
		    name != NULL ? name : "?", nr, why, strerror(-rc));
	}
	sb->nrules++;
}

void
sandbox_allow(struct sandbox *sb, int nr, const char *why)
{
	sandbox_rule(sb, SCMP_ACT_ALLOW, nr, 0, NULL, why);
}

/*
 * One condition as libseccomp wants it.  C ints: the data are truncated
 * to 32 bits like SCMP_CMP32() does.  For EQ libseccomp also wants the
 * high half zero, which glibc's sign extension of a non-negative int
 * gives; the masks have a zero high half, so MASK ignores it.
 */
static struct scmp_arg_cmp
sandbox_cmp(const struct sandbox *sb, const struct sandbox_arg *a)
{
	struct scmp_arg_cmp	c;

	memset(&c, 0, sizeof(c));
	c.arg = a->arg;
	switch (a->cmp) {
	case SANDBOX_EQ:
		c.op = SCMP_CMP_EQ;
		c.datum_a = (uint32_t)a->val;
		break;
	case SANDBOX_MASK:
		c.op = SCMP_CMP_MASKED_EQ;
		c.datum_a = (uint32_t)~a->val;
		c.datum_b = 0;
		break;
	case SANDBOX_MASKED_EQ:
		if ((a->val & ~a->mask) != 0)
			fatalx("%s: %s: value outside its mask", __func__,
			    sb->who);
		c.op = SCMP_CMP_MASKED_EQ;
		c.datum_a = (uint32_t)a->mask;
		c.datum_b = (uint32_t)a->val;
		break;
	default:
		fatalx("%s: %s: comparison %d", __func__, sb->who,
		    (int)a->cmp);
	}
	return c;
}

void
sandbox_allow_args(struct sandbox *sb, int nr, const struct sandbox_arg *a,
    unsigned n, const char *why)
{
	struct scmp_arg_cmp	cmp[6];
	unsigned		i;

	if (n > 6)
		fatalx("%s: %s: %u conditions", __func__, sb->who, n);
	for (i = 0; i < n; i++) {
		if (a[i].arg > 5)
			fatalx("%s: %s: argument %u", __func__, sb->who,
			    a[i].arg);
		cmp[i] = sandbox_cmp(sb, &a[i]);
	}
	sandbox_rule(sb, SCMP_ACT_ALLOW, nr, n, cmp, why);
}

void
sandbox_allow_arg_in(struct sandbox *sb, int nr, unsigned arg,
    const unsigned long *vals, unsigned n, const char *why)
{
	struct sandbox_arg	a;
	unsigned		i;

	if (n == 0)
		fatalx("%s: %s: empty value list", __func__, sb->who);
	/* One rule per value: libseccomp ORs rules of the same syscall. */
	for (i = 0; i < n; i++) {
		a.arg = arg;
		a.cmp = SANDBOX_EQ;
		a.val = vals[i];
		sandbox_allow_args(sb, nr, &a, 1, why);
	}
}

void
sandbox_allow_arg_mask(struct sandbox *sb, int nr, unsigned arg,
    unsigned long mask, const char *why)
{
	struct sandbox_arg	a;

	a.arg = arg;
	a.cmp = SANDBOX_MASK;
	a.val = mask;
	sandbox_allow_args(sb, nr, &a, 1, why);
}

/*
 * Rule groups that both allowlists need, under the assumptions both
 * roles make true before lockdown: one thread, a libev loop made with
 * ev_loop_new (epoll, no SIGCHLD handler), signal handlers installed,
 * any shared region already mapped.
 */

/* The event loop and time. */
void
sandbox_allow_loop(struct sandbox *sb)
{
	static const unsigned long ctl_ops[] = {
		EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL,
	};
	static const unsigned long epoll_flags[] = { EPOLL_CLOEXEC };

	/*
	 * libev rebuilds its epoll set when the kernel reports events for a
	 * registration it no longer knows: that happens when an fd we closed
	 * still has another reference (a socket passed by the master that
	 * it has not closed yet).
	 */
	sandbox_allow_arg_in(sb, SCMP_SYS(epoll_create1), 0, epoll_flags, 1,
	    "libev: rebuild of the epoll set after stale events");
	sandbox_allow(sb, SCMP_SYS(epoll_wait),
	    "libev epoll backend (glibc x86_64)");
	sandbox_allow(sb, SCMP_SYS(epoll_pwait),
	    "libev epoll backend (glibc on aarch64 and newer)");
	sandbox_allow_arg_in(sb, SCMP_SYS(epoll_ctl), 1, ctl_ops,
	    NELEM(ctl_ops), "libev: socket and IPC watcher start/stop");
	sandbox_allow(sb, SCMP_SYS(poll),
	    "ipc_chan_flush: bounded wait before exit");
	sandbox_allow(sb, SCMP_SYS(ppoll),
	    "ipc_chan_flush (glibc poll on aarch64)");
	sandbox_allow(sb, SCMP_SYS(clock_gettime),
	    "libev ev_now_update, timeouts, log stamps: vDSO fallback");
	sandbox_allow(sb, SCMP_SYS(gettimeofday),
	    "libev ev_time: vDSO fallback");
}

/*
 * New sockets: inet/inet6, TCP or UDP with protocol 0 or the matching
 * one (no AF_UNIX, AF_NETLINK, AF_PACKET, raw or ping sockets); of the
 * type flags only SOCK_NONBLOCK and SOCK_CLOEXEC.
 */
void
sandbox_allow_inet_sockets(struct sandbox *sb, const char *why)
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
			a[0] = (struct sandbox_arg){ 0, SANDBOX_EQ,
			    fams[f], 0 };
			a[1] = (struct sandbox_arg){ 1, SANDBOX_MASKED_EQ,
			    st[t].type, ~(unsigned long)(SOCK_NONBLOCK |
			    SOCK_CLOEXEC) };
			a[2] = (struct sandbox_arg){ 2, SANDBOX_EQ,
			    st[t].proto, 0 };
			sandbox_allow_args(sb, SCMP_SYS(socket), a, 3, why);
		}
	}
}

/*
 * IPC channels (ipc/chan.c) and fds in general.  Frames go out with
 * MSG_NOSIGNAL | MSG_DONTWAIT and come in with MSG_CMSG_CLOEXEC |
 * MSG_DONTWAIT; only the worker is ever sent fds, but the receive path
 * is shared.
 */
void
sandbox_allow_ipc(struct sandbox *sb)
{
	sandbox_allow(sb, SCMP_SYS(read), "IPC, libev eventfd, relay copy");
	sandbox_allow(sb, SCMP_SYS(write), "IPC, libev eventfd, relay copy");
	sandbox_allow_arg_mask(sb, SCMP_SYS(sendmsg), 2,
	    MSG_NOSIGNAL | MSG_DONTWAIT, "IPC: frames to master and peers");
	sandbox_allow_arg_mask(sb, SCMP_SYS(recvmsg), 2,
	    MSG_CMSG_CLOEXEC | MSG_DONTWAIT, "IPC: frames, fds from master");
	sandbox_allow(sb, SCMP_SYS(close),
	    "IPC fds, sessions, c-ares sockets, splice pipes");
}

/*
 * Memory: glibc malloc (brk; mmap for large blocks; mremap for realloc
 * growth).  Never executable, never shared, no fixed addresses.
 */
void
sandbox_allow_memory(struct sandbox *sb)
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
	    "glibc realloc growth of large blocks (relay, c-ares answers)");
	sandbox_allow_arg_mask(sb, SCMP_SYS(mprotect), 2,
	    PROT_READ | PROT_WRITE, "glibc malloc: heap growth (never exec)");
	sandbox_allow_arg_in(sb, SCMP_SYS(madvise), 2, advice, NELEM(advice),
	    "glibc malloc: trimming");
	sandbox_allow_arg_in(sb, SCMP_SYS(futex), 1, futex_ops,
	    NELEM(futex_ops), "glibc internal locks if ever contended");
	sandbox_allow_arg_mask(sb, SCMP_SYS(getrandom), 2, GRND_NONBLOCK,
	    "arc4random: request ids, hash keys; c-ares >= 1.19 query ids; "
	    "resolver: random names of the hijack check");
}

/* The process itself: signals it already has, exit, abort. */
void
sandbox_allow_process(struct sandbox *sb)
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
 * AddressSanitizer's runtime after lockdown, measured with strace and
 * log mode on a -Db_sanitize=address,undefined build: its allocator maps
 * its regions at fixed addresses and marks them MADV_DONTDUMP and
 * MADV_NOHUGEPAGE; _exit() asks for the alternate signal stack it
 * installed.  Still never executable or shared.
 *
 * An ASan or UBSan report first looks for the program's name and
 * modules (readlink and open of /proc/self/..., isatty on stderr).
 * Those fail with an errno instead of killing, so the report is printed
 * (without module names) rather than replaced by a misleading SIGSYS.
 * The filter still opens no file.
 *
 * A normal build adds nothing.  Leak checking at exit() is not covered
 * (it needs clone and ptrace): confined code leaves through _exit().
 */
void
sandbox_allow_sanitizer(struct sandbox *sb)
{
#ifdef SL_ASAN
	static const unsigned long advice[] = {
		MADV_DONTDUMP, MADV_NOHUGEPAGE,
	};
	struct sandbox_arg	a[2];
	struct scmp_arg_cmp	tcgets;

	a[0] = (struct sandbox_arg){ 2, SANDBOX_MASK,
	    PROT_READ | PROT_WRITE, 0 };
	a[1] = (struct sandbox_arg){ 3, SANDBOX_MASKED_EQ,
	    MAP_PRIVATE | MAP_ANONYMOUS,
	    ~(unsigned long)(MAP_FIXED | MAP_NORESERVE) };
	sandbox_allow_args(sb, SCMP_SYS(mmap), a, 2,
	    "ASan allocator: regions at fixed addresses");
	sandbox_allow_arg_in(sb, SCMP_SYS(madvise), 2, advice, NELEM(advice),
	    "ASan allocator: shadow and region hints");
	sandbox_allow(sb, SCMP_SYS(sigaltstack), "ASan: _exit()");
	sandbox_rule(sb, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(open), 0, NULL,
	    "sanitizer report: /proc/self/maps, fails");
	sandbox_rule(sb, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(readlink), 0, NULL,
	    "sanitizer report: /proc/self/exe, fails");
	memset(&tcgets, 0, sizeof(tcgets));
	tcgets.arg = 1;
	tcgets.op = SCMP_CMP_EQ;
	tcgets.datum_a = TCGETS;
	sandbox_rule(sb, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1, &tcgets,
	    "sanitizer report: isatty(2), says no");
#else
	(void)sb;
#endif
}

/*
 * Sanitizer builds: a report after lockdown symbolizes its stack from
 * the executable, which it can no longer open (chroot, and openat is not
 * allowed).  Symbolize one address now so the runtime keeps what it
 * needs; privdrop() calls this before chroot, sandbox_load() again for
 * processes that skip privdrop (tests).  Nothing in a normal build.
 */
void
sandbox_sanitizer_warmup(void)
{
#ifdef SL_ASAN
	char	buf[256];

	__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", buf,
	    sizeof(buf));
#endif
}

/* Async-signal-safe string building for the SIGSYS reporter. */
static size_t
sb_puts(char *buf, size_t n, size_t size, const char *s)
{
	while (*s != '\0' && n + 1 < size)
		buf[n++] = *s++;
	return n;
}

static size_t
sb_putu(char *buf, size_t n, size_t size, unsigned long v)
{
	char	tmp[24];
	size_t	i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && i < sizeof(tmp));
	while (i > 0 && n + 1 < size)
		buf[n++] = tmp[--i];
	return n;
}

/*
 * Trap mode: the kernel stopped a syscall the filter does not allow.
 * Say which one on stderr and leave.  Async-signal-safe only: the names
 * were resolved before the filter was loaded.
 */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char	buf[160];
	size_t	n = 0;
	int	nr = si->si_syscall;

	(void)sig;
	(void)uctx;
	n = sb_puts(buf, n, sizeof(buf), log_procname());
	n = sb_puts(buf, n, sizeof(buf), ": sandbox violation: syscall ");
	n = sb_putu(buf, n, sizeof(buf), (unsigned long)(unsigned)nr);
	if (nr >= 0 && nr < SB_NAMES && sb_names[nr][0] != '\0') {
		n = sb_puts(buf, n, sizeof(buf), " (");
		n = sb_puts(buf, n, sizeof(buf), sb_names[nr]);
		n = sb_puts(buf, n, sizeof(buf), ")");
	}
	buf[n++] = '\n';
	/* Nothing to do if stderr is gone: the exit status still says 1. */
	if (write(STDERR_FILENO, buf, n) == -1)
		_exit(1);
	_exit(1);
}

static void
sandbox_trap_install(void)
{
	struct sigaction	 sa;
	sigset_t		 set;
	char			*name;
	int			 nr;

	for (nr = 0; nr < SB_NAMES; nr++) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name == NULL)
			continue;
		strncpy(sb_names[nr], name, SB_NAMELEN - 1);
		free(name);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("%s: sigaction", __func__);
	/* A blocked SIGSYS would turn the trap into a silent kill. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
		fatal("%s: sigprocmask", __func__);
}

void
sandbox_load(struct sandbox *sb)
{
	int	rc;

	log_debug("%s: %s: %u rules, default action %s", __func__, sb->who,
	    sb->nrules, sandbox_mode_name());
	sandbox_sanitizer_warmup();
	if (SL_SECCOMP_MODE == SL_SANDBOX_TRAP)
		sandbox_trap_install();
	/* libseccomp would set it too; be explicit like OpenSSH. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: %s: PR_SET_NO_NEW_PRIVS", __func__, sb->who);
	if ((rc = seccomp_load(sb->ctx)) != 0)
		fatalx("%s: %s: seccomp_load: %s", __func__, sb->who,
		    strerror(-rc));
	/* From here on only the allowlist runs: free needs brk/munmap. */
	sandbox_free(sb);
}

int
sandbox_export_pfc(struct sandbox *sb, int fd)
{
	int	rc;

	if ((rc = seccomp_export_pfc(sb->ctx, fd)) != 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	seccomp_release(sb->ctx);
	free(sb);
}

unsigned
sandbox_nrules(const struct sandbox *sb)
{
	return sb->nrules;
}
