/*
 * What proc.c shares with proc_stop.c, and nothing else.  Private to
 * master/.
 */
#ifndef SL_MASTER_PROC_PRIV_H
#define SL_MASTER_PROC_PRIV_H

#include <sys/types.h>
#include <stdint.h>

#include "master.h"
#include "proc_state.h"

struct gen;

/* A role's line in proc.c's proc_roles[]: what differs between roles. */
struct proc_role {
	enum sl_proc_id	 id;
	const char	*name;		/* -P argument; log name */
	int		 indexed;	/* log name "worker 2", not "worker" */
	int		 stop_stage;	/* a shutdown drains 0, then 1, ... */
	/* A channel to every row of these roles in its set (SL_FROM_*). */
	unsigned	 peers;
	uint32_t	(*count)(uint32_t pool, const struct gen *);
	void		(*feed)(struct proc *);	/* before CFG_END */
	void		(*reaped)(struct proc *);	/* process gone */
	int		 tables;	/* gets the service tables */
	int		 fds_in;	/* may send the master an fd */
	/* The uid and gid it runs as (-u, -g): a tenant's pool may differ. */
	void		(*ids)(const struct gen *, uid_t *, gid_t *);
};

/* The state after ev; a transition the table refuses is logged. */
void	proc_event(struct proc *, enum proc_event);
/* One message with an fd (or -1) and an index, to a row. */
void	proc_send(struct proc *, uint16_t type, int fd, uint32_t index);
/* proc_log.c: a child's death, as its row expected it or not. */
void	proc_log_death(const struct proc *, pid_t, int status);
/* proc_feed.c: the boot messages, and the roles' own parts of them. */
void	proc_feed(struct proc *);
void	proc_feed_worker(struct proc *);
void	proc_feed_tunnel(struct proc *);
/* Start a row's process (unless stopping or already running). */
void	proc_spawn(struct proc *);

#endif
