/*
 * Row states of the process table and the respawn backoff (pure code).
 */
#include <stddef.h>

#include "proc_state.h"

/* Entries are the next state + 1: what is left out (0) cannot happen. */
#define TO(s)	((s) + 1)

/*
 * READY is legal while draining because DRAIN may be sent to a child
 * still confining itself (it reads DRAIN only after its READY); "READY
 * twice" is caught by the caller's flag, not here.  A row without a
 * process has nothing to drain: DRAIN and HALT cancel its respawn.  HALT
 * leaves running rows alone: the shutdown drains them, then reaps them.
 */
static const unsigned char proc_next[PROC_NSTATES][PROC_NEVENTS] = {
	[PROC_DEAD] = {
		[PROC_EV_SPAWN] = TO(PROC_STARTING),
		[PROC_EV_SPAWN_FAIL] = TO(PROC_RESPAWN),
		[PROC_EV_DRAIN] = TO(PROC_DEAD),
		[PROC_EV_HALT] = TO(PROC_DEAD),
	},
	[PROC_STARTING] = {
		[PROC_EV_READY] = TO(PROC_READY),
		[PROC_EV_DRAIN] = TO(PROC_DRAINING),
		[PROC_EV_EXIT] = TO(PROC_RESPAWN),
		[PROC_EV_HALT] = TO(PROC_STARTING),
	},
	[PROC_READY] = {
		[PROC_EV_DRAIN] = TO(PROC_DRAINING),
		[PROC_EV_EXIT] = TO(PROC_RESPAWN),
		[PROC_EV_HALT] = TO(PROC_READY),
	},
	[PROC_DRAINING] = {
		[PROC_EV_READY] = TO(PROC_DRAINING),
		[PROC_EV_DRAIN] = TO(PROC_DRAINING),
		[PROC_EV_EXIT] = TO(PROC_DEAD),
		[PROC_EV_HALT] = TO(PROC_DRAINING),
	},
	[PROC_RESPAWN] = {
		[PROC_EV_SPAWN] = TO(PROC_STARTING),
		[PROC_EV_SPAWN_FAIL] = TO(PROC_RESPAWN),
		[PROC_EV_DRAIN] = TO(PROC_DEAD),
		[PROC_EV_HALT] = TO(PROC_DEAD),
	},
};

int
proc_state_next(enum proc_state s, enum proc_event ev)
{
	if ((unsigned)s >= PROC_NSTATES || (unsigned)ev >= PROC_NEVENTS)
		return -1;
	return (int)proc_next[s][ev] - 1;
}

int
proc_state_running(enum proc_state s)
{
	return s == PROC_STARTING || s == PROC_READY || s == PROC_DRAINING;
}

const char *
proc_state_name(enum proc_state s)
{
	static const char *const names[PROC_NSTATES] = {
		[PROC_DEAD] = "dead",
		[PROC_STARTING] = "starting",
		[PROC_READY] = "ready",
		[PROC_DRAINING] = "draining",
		[PROC_RESPAWN] = "respawn pending",
	};

	return (unsigned)s < PROC_NSTATES ? names[s] : "?";
}

double
proc_backoff(unsigned *quick, double lived)
{
	double		delay = PROC_RESPAWN_FIRST;
	unsigned	shift;

	if (lived < PROC_QUICK_DEATH) {
		if (*quick < 64)
			(*quick)++;
	} else
		*quick = 0;
	if (*quick > 1) {
		shift = *quick > 12 ? 11 : *quick - 1;
		delay = PROC_RESPAWN_FIRST * (double)(1u << shift);
	}
	return delay > PROC_RESPAWN_MAX ? PROC_RESPAWN_MAX : delay;
}
