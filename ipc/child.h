/*
 * The start-up sequence every confined child runs, written once.
 *
 * A role's main is then three lines: child_begin() (arguments, logging,
 * process title, the boot messages from the master), the role's own
 * set-up from what arrived (parse the config, make the loop and the
 * channels, map the shared region), and child_confine() (chroot and uid
 * drop, re-armed death signal, seccomp filter, READY).  The split is the
 * one point where a role must act between the common steps: everything
 * that needs a file, a privilege or a syscall outside the allowlist
 * happens there, before the lockdown.
 */
#ifndef SL_IPC_CHILD_H
#define SL_IPC_CHILD_H

#include <sys/types.h>
#include <stdint.h>

#include "../common/sandbox.h"
#include "boot.h"
#include "chan.h"

/* What is particular to a role; a constant in the role's main. */
struct child_desc {
	const char	*role;		/* "worker": log name, "worker 2" */
	int		 indexed;	/* the log name carries -I */
	const char	*title;		/* /proc/PID/comm: "sluice-worker" */
	/*
	 * Build and load the role's seccomp filter (after privdrop), with
	 * the options the role's set-up filled in struct child_start.sb.
	 */
	void		(*sandbox)(const struct sandbox_opts *);
};

/* One start-up in progress: filled by child_begin(), read by the role. */
struct child_start {
	const struct child_desc	*desc;
	uint32_t		 index;		/* -I: instance in its pool */
	uint32_t		 nworkers;	/* -N: worker slots */
	uid_t			 uid;		/* -u, -g: who to become */
	gid_t			 gid;
	pid_t			 ppid;		/* the master, at exec time */
	struct child_boot	 boot;		/* what the master sent */
	struct sandbox_opts	 sb;		/* for desc->sandbox */
};

/* ipc/child.c */

/*
 * "sluiced -P role -I index -N nworkers -u uid -g gid": parse and check
 * the arguments, log as the role (to the master, over fd 3), set the
 * process title, ignore SIGPIPE and receive the boot messages up to
 * CFG_END.  Any problem is fatal: the master respawns the child.
 */
void	child_begin(struct child_start *, const struct child_desc *,
	    int argc, char *argv[]);
/*
 * The master's channel closed (an ipc_chan close callback): say why, if
 * anything went wrong, and exit; the master is gone or disowned us.
 */
void	child_master_closed(struct ipc_chan *, const char *why, void *arg);
/*
 * Lock down and report: privdrop() into root, re-arm PR_SET_PDEATHSIG
 * (the uid change cleared it) and check the master is still the parent,
 * load the filter, then send READY on master.  Fatal on any failure.
 */
void	child_confine(struct child_start *, const char *root,
	    struct ipc_chan *master);

#endif
