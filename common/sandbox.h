/*
 * seccomp allowlists.  The default action kills the process (a meson
 * option selects trap or log for development); any error while building
 * or loading a filter is fatal.
 *
 * This header does not include <seccomp.h> on purpose: that header pulls
 * in <elf.h>, whose EV_NONE breaks <ev.h> (platform.md).  Callers that
 * need SCMP_SYS() include <seccomp.h> themselves, in a file without libev.
 */
#ifndef SL_SANDBOX_H
#define SL_SANDBOX_H

struct sandbox_opts {
	int	splice;		/* allow splice/pipe2 for the splice relay */
	int	bind;		/* some link binds a source address */
	int	socks;		/* a SOCKS listener: BIND, UDP ASSOCIATE */
	int	redirect;	/* a redirect listener: SO_ORIGINAL_DST */
};

/* Values of SL_SECCOMP_MODE (sl_build.h). */
#define SL_SANDBOX_KILL		0
#define SL_SANDBOX_TRAP		1
#define SL_SANDBOX_LOG		2

/*
 * Sanitizer runtimes make syscalls of their own (shadow mappings, the
 * alternate signal stack at _exit); the filters add them only in such
 * builds.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN			1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN			1
#endif
#endif

/* worker/sandbox.c */

/*
 * Worker, after privdrop() and before SL_MSG_READY: build the worker
 * allowlist for this configuration and load it.  Fatal on any error.
 */
void		 sandbox_worker(const struct sandbox_opts *);
/* The same filter, built but not loaded (tests, pfc export). */
struct sandbox	*sandbox_worker_build(const struct sandbox_opts *);

/* resolver/sandbox.c */

/* Resolver, after privdrop(): build and load its allowlist. */
void		 sandbox_resolver(void);
struct sandbox	*sandbox_resolver_build(void);

/* sandbox.c: helpers for the two allowlists above */

/*
 * How one syscall argument must look for a rule to match.  Arguments are
 * compared as C ints (every argument sluice constrains is one):
 *   SANDBOX_EQ		arg == val
 *   SANDBOX_MASK	arg has no bit set outside val (so 0 always passes)
 *   SANDBOX_MASKED_EQ	(arg & mask) == val
 */
enum sandbox_cmp {
	SANDBOX_EQ,
	SANDBOX_MASK,
	SANDBOX_MASKED_EQ,
};

struct sandbox_arg {
	unsigned	 arg;		/* 0..5 */
	enum sandbox_cmp cmp;
	unsigned long	 val;
	unsigned long	 mask;		/* SANDBOX_MASKED_EQ only */
};

struct sandbox;

/* Start a filter whose default action is the build's SL_SECCOMP_MODE. */
struct sandbox	*sandbox_begin(const char *who);
/* Every rule needs a why: who in the process makes this syscall. */
void		 sandbox_allow(struct sandbox *, int nr, const char *why);
/* Allow nr only when argument `arg` equals one of vals[0..n-1]. */
void		 sandbox_allow_arg_in(struct sandbox *, int nr, unsigned arg,
		    const unsigned long *vals, unsigned n, const char *why);
/* Allow nr only when argument `arg` has no bits outside mask. */
void		 sandbox_allow_arg_mask(struct sandbox *, int nr, unsigned arg,
		    unsigned long mask, const char *why);
/* Allow nr only when all n conditions hold (one rule, ANDed). */
void		 sandbox_allow_args(struct sandbox *, int nr,
		    const struct sandbox_arg *, unsigned n, const char *why);

/* sandbox.c: rule groups both allowlists share (each rule keeps its why) */

/* The event loop and time: epoll, poll for the IPC flush, clocks. */
void		 sandbox_allow_loop(struct sandbox *);
/* socket(): inet/inet6 TCP or UDP, NONBLOCK|CLOEXEC; why names callers. */
void		 sandbox_allow_inet_sockets(struct sandbox *, const char *why);
/* IPC channels: read, write, sendmsg, recvmsg (flags checked), close. */
void		 sandbox_allow_ipc(struct sandbox *);
/* glibc malloc, futex, getrandom; never executable or shared memory. */
void		 sandbox_allow_memory(struct sandbox *);
/*
 * getpid, gettid, signal return and mask, exits, and tgkill(own pid,
 * SIGABRT) for abort(): build the filter in the process that loads it.
 */
void		 sandbox_allow_process(struct sandbox *);

/* sandbox.c: sanitizer builds, loading, export */

/* What a sanitizer runtime needs (nothing in a normal build). */
void		 sandbox_allow_sanitizer(struct sandbox *);
/*
 * Sanitizer builds: let the runtime read the executable's symbols while
 * it still can, so reports after lockdown keep their stack traces.
 * privdrop() calls it before chroot.  Nothing in a normal build.
 */
void		 sandbox_sanitizer_warmup(void);
/*
 * Set PR_SET_NO_NEW_PRIVS, load, free.  In trap mode a SIGSYS reporter is
 * installed first.  Success is seccomp_load()'s word: checking with
 * prctl(PR_GET_SECCOMP) afterwards would itself be a forbidden syscall;
 * the integration test reads Seccomp: 2 from the process's procfs status.
 */
void		 sandbox_load(struct sandbox *);
/* Write the filter as pfc text to fd (tests, golden file); 0 or -1. */
int		 sandbox_export_pfc(struct sandbox *, int fd);
/* Free a filter that was built but will not be loaded. */
void		 sandbox_free(struct sandbox *);
/* Number of rules added so far (tests). */
unsigned	 sandbox_nrules(const struct sandbox *);
const char	*sandbox_mode_name(void);

#endif
