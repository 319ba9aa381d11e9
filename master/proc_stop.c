/*
 * The stop side of the process table: draining, stopping and killing
 * rows, at shutdown and for a generation a reload retired; freeing a
 * gone generation's rows (master/proc.c has the rest).
 */
#include <signal.h>
#include <string.h>

#include "../common/log.h"
#include "gen.h"
#include "master.h"
#include "proc_priv.h"

/* Its rows are free for another generation (all dead). */
void
proc_release_gen(uint32_t generation)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].generation == generation &&
		    ms->procs[i].pid == 0) {
			ev_timer_stop(ms->loop, &ms->procs[i].respawn);
			ms->procs[i].state = PROC_DEAD;
			ms->procs[i].generation = 0;
		}
}

void
proc_start_gen(uint32_t generation)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].generation == generation &&
		    ms->procs[i].state == PROC_DEAD)
			proc_spawn(&ms->procs[i]);
}

/* Running processes of a generation. */
size_t
proc_gen_running(uint32_t generation)
{
	size_t	i, n = 0;

	for (i = 0; i < ms->nprocs; i++)
		n += ms->procs[i].generation == generation &&
		    ms->procs[i].pid != 0;
	return n;
}

void
proc_kill_gen(uint32_t generation, int sig)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].generation == generation &&
		    ms->procs[i].pid != 0)
			kill(ms->procs[i].pid, sig);
}

/* ---- shutdown ---- */

size_t
proc_running(void)
{
	size_t	i, n = 0;

	for (i = 0; i < ms->nprocs; i++)
		n += ms->procs[i].pid != 0;
	return n;
}

/* The lowest stop stage among running rows, or -1 if none runs. */
static int
proc_first_stage(void)
{
	size_t	i;
	int	stage = -1;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].pid != 0 && (stage == -1 ||
		    ms->procs[i].desc->stop_stage < stage))
			stage = ms->procs[i].desc->stop_stage;
	return stage;
}

/* Ask a row to finish its work and exit; it is not respawned. */
static void
proc_drain_row(struct proc *c)
{
	if (proc_state_running(c->state) && c->state != PROC_DRAINING)
		proc_send(c, SL_MSG_DRAIN, -1, 0);
	if (!proc_state_running(c->state))
		ev_timer_stop(ms->loop, &c->respawn);
	proc_event(c, PROC_EV_DRAIN);
}

/*
 * An older generation: drain its next stop stage (workers, then the
 * resolver and registry they used); the running rows left.
 */
size_t
proc_drain_gen(uint32_t generation)
{
	size_t	i, running = 0;
	int	stage = -1;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].generation == generation &&
		    ms->procs[i].pid != 0 && (stage == -1 ||
		    ms->procs[i].desc->stop_stage < stage))
			stage = ms->procs[i].desc->stop_stage;
	for (i = 0; i < ms->nprocs; i++) {
		if (ms->procs[i].generation != generation)
			continue;
		if (ms->procs[i].pid != 0)
			running++;
		if (ms->procs[i].pid == 0 && ms->procs[i].state != PROC_DEAD)
			proc_drain_row(&ms->procs[i]);
		else if (ms->procs[i].pid != 0 &&
		    ms->procs[i].desc->stop_stage == stage &&
		    ms->procs[i].state != PROC_DRAINING)
			proc_drain_row(&ms->procs[i]);
	}
	return running;
}

size_t
proc_drain_step(void)
{
	size_t	i, running;
	int	stage = proc_first_stage();

	running = proc_running();
	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].pid != 0 &&
		    ms->procs[i].desc->stop_stage == stage &&
		    ms->procs[i].state != PROC_DRAINING)
			proc_drain_row(&ms->procs[i]);
	return running;
}

void
proc_stop_all(void)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++) {
		ev_timer_stop(ms->loop, &ms->procs[i].respawn);
		proc_event(&ms->procs[i], PROC_EV_HALT);
	}
	(void)proc_drain_step();
}

static ev_timer	proc_kill_timer;
static int	proc_kill_sig;

static void
proc_kill_next(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	proc_kill_all(proc_kill_sig);
}

/*
 * Kill in stop order too: the first stage now; the later ones are
 * drained as usual once it is reaped (proc_drain_step), and killed
 * PROC_KILL_STAGE_S later if they are still there.
 */
void
proc_kill_all(int sig)
{
	size_t	i;
	int	stage = proc_first_stage();

	if (stage == -1)
		return;
	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].pid != 0 &&
		    ms->procs[i].desc->stop_stage == stage)
			kill(ms->procs[i].pid, sig);
	proc_kill_sig = sig;
	ev_timer_stop(ms->loop, &proc_kill_timer);
	ev_timer_init(&proc_kill_timer, proc_kill_next, PROC_KILL_STAGE_S,
	    0.);
	ev_timer_start(ms->loop, &proc_kill_timer);
}
