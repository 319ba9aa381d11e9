/*
 * The life of one row of the process table, as pure functions: the
 * state machine and the respawn backoff.  No I/O, no clock, no libev:
 * tests/check_proctable.c drives them without forking.
 */
#ifndef SL_MASTER_PROC_STATE_H
#define SL_MASTER_PROC_STATE_H

enum proc_state {
	PROC_DEAD = 0,		/* no process, nothing pending */
	PROC_STARTING,		/* forked and fed; READY not in yet */
	PROC_READY,		/* confined and serving */
	PROC_DRAINING,		/* told to finish its work and exit */
	PROC_RESPAWN,		/* no process; its respawn timer runs */
	PROC_NSTATES
};

enum proc_event {
	PROC_EV_SPAWN = 0,	/* fork + exec succeeded */
	PROC_EV_SPAWN_FAIL,	/* socketpair, pipe or fork failed */
	PROC_EV_READY,		/* the child sent READY */
	PROC_EV_DRAIN,		/* the master sent DRAIN */
	PROC_EV_EXIT,		/* waitpid reaped it */
	PROC_EV_HALT,		/* shutdown: nothing is respawned any more */
	PROC_NEVENTS
};

#define PROC_READY_TIMEOUT	10.0	/* s for a child to confine itself */
#define PROC_KILL_STAGE_S	1.0	/* s between killing stop stages */
#define PROC_QUICK_DEATH	10.0	/* s; dying sooner counts as a loop */
#define PROC_RESPAWN_FIRST	0.05	/* s */
#define PROC_RESPAWN_MAX	30.0	/* s */

/* proc_state.c */

/*
 * The state after ev in state s, or -1 when ev cannot happen there (the
 * caller treats that as a bug or, for READY, as a hostile child).  A
 * running row that exits is respawned unless it was draining.
 */
int		 proc_state_next(enum proc_state s, enum proc_event ev);
/* A process exists for a row in this state. */
int		 proc_state_running(enum proc_state s);
const char	*proc_state_name(enum proc_state s);
/*
 * Delay before the next start of a row whose process lived `lived`
 * seconds.  *quick counts deaths within PROC_QUICK_DEATH of their start,
 * in a row: the first waits PROC_RESPAWN_FIRST, each further one twice
 * as long, up to PROC_RESPAWN_MAX; a longer life starts over.
 */
double		 proc_backoff(unsigned *quick, double lived);

#endif
