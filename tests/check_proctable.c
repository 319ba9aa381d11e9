/*
 * The process table's pure logic (master/proc_state.c): every row state
 * against every event, the life cycles supervision relies on, and the
 * respawn backoff.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "master/proc_state.h"

#define ALL_STATES	PROC_NSTATES
#define ALL_EVENTS	PROC_NEVENTS

/* Every (state, event) pair, and what the table must answer. */
START_TEST(t_table_exhaustive)
{
	static const struct {
		enum proc_state	 s;
		enum proc_event	 ev;
		int		 want;
	} legal[] = {
		{ PROC_DEAD, PROC_EV_SPAWN, PROC_STARTING },
		{ PROC_DEAD, PROC_EV_SPAWN_FAIL, PROC_RESPAWN },
		{ PROC_DEAD, PROC_EV_DRAIN, PROC_DEAD },
		{ PROC_DEAD, PROC_EV_HALT, PROC_DEAD },
		{ PROC_STARTING, PROC_EV_READY, PROC_READY },
		{ PROC_STARTING, PROC_EV_DRAIN, PROC_DRAINING },
		{ PROC_STARTING, PROC_EV_EXIT, PROC_RESPAWN },
		{ PROC_STARTING, PROC_EV_HALT, PROC_STARTING },
		{ PROC_READY, PROC_EV_DRAIN, PROC_DRAINING },
		{ PROC_READY, PROC_EV_EXIT, PROC_RESPAWN },
		{ PROC_READY, PROC_EV_HALT, PROC_READY },
		{ PROC_DRAINING, PROC_EV_READY, PROC_DRAINING },
		{ PROC_DRAINING, PROC_EV_DRAIN, PROC_DRAINING },
		{ PROC_DRAINING, PROC_EV_EXIT, PROC_DEAD },
		{ PROC_DRAINING, PROC_EV_HALT, PROC_DRAINING },
		{ PROC_RESPAWN, PROC_EV_SPAWN, PROC_STARTING },
		{ PROC_RESPAWN, PROC_EV_SPAWN_FAIL, PROC_RESPAWN },
		{ PROC_RESPAWN, PROC_EV_DRAIN, PROC_DEAD },
		{ PROC_RESPAWN, PROC_EV_HALT, PROC_DEAD },
	};
	int	s, ev, want;
	size_t	i;

	for (s = 0; s < ALL_STATES; s++)
		for (ev = 0; ev < ALL_EVENTS; ev++) {
			want = -1;
			for (i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
				if ((int)legal[i].s == s &&
				    (int)legal[i].ev == ev)
					want = legal[i].want;
			ck_assert_msg(proc_state_next((enum proc_state)s,
			    (enum proc_event)ev) == want,
			    "state %s, event %d: got %d, want %d",
			    proc_state_name((enum proc_state)s), ev,
			    proc_state_next((enum proc_state)s,
			    (enum proc_event)ev), want);
		}
}
END_TEST

/* A row in a state where a process exists must never be spawned again. */
START_TEST(t_running_rows)
{
	int	s;

	for (s = 0; s < ALL_STATES; s++) {
		int running = proc_state_running((enum proc_state)s);

		ck_assert_int_eq(running, s == PROC_STARTING ||
		    s == PROC_READY || s == PROC_DRAINING);
		if (running)
			ck_assert_int_eq(proc_state_next((enum proc_state)s,
			    PROC_EV_SPAWN), -1);
		else {
			/* No process: nothing can report or exit. */
			ck_assert_int_eq(proc_state_next((enum proc_state)s,
			    PROC_EV_READY), -1);
			ck_assert_int_eq(proc_state_next((enum proc_state)s,
			    PROC_EV_EXIT), -1);
		}
	}
}
END_TEST

START_TEST(t_out_of_range)
{
	ck_assert_int_eq(proc_state_next(PROC_NSTATES, PROC_EV_SPAWN), -1);
	ck_assert_int_eq(proc_state_next((enum proc_state)-1, PROC_EV_SPAWN),
	    -1);
	ck_assert_int_eq(proc_state_next(PROC_DEAD, PROC_NEVENTS), -1);
	ck_assert_int_eq(proc_state_next(PROC_DEAD, (enum proc_event)-1), -1);
	ck_assert_str_eq(proc_state_name(PROC_NSTATES), "?");
	ck_assert_str_eq(proc_state_name(PROC_RESPAWN), "respawn pending");
}
END_TEST

static enum proc_state
run(enum proc_state s, const enum proc_event *evs, size_t n)
{
	size_t	i;
	int	next;

	for (i = 0; i < n; i++) {
		next = proc_state_next(s, evs[i]);
		ck_assert_msg(next != -1, "event %d refused in %s", evs[i],
		    proc_state_name(s));
		s = (enum proc_state)next;
	}
	return s;
}

/* The cycles the master goes through, end to end. */
START_TEST(t_life_cycles)
{
	/* Crash and respawn, then a clean shutdown. */
	static const enum proc_event crash[] = {
		PROC_EV_SPAWN, PROC_EV_READY, PROC_EV_EXIT, PROC_EV_SPAWN,
		PROC_EV_READY, PROC_EV_HALT, PROC_EV_DRAIN, PROC_EV_EXIT,
	};
	/* SIGTERM while the child still confines itself. */
	static const enum proc_event early[] = {
		PROC_EV_SPAWN, PROC_EV_HALT, PROC_EV_DRAIN, PROC_EV_READY,
		PROC_EV_EXIT,
	};
	/* fork fails twice, then works. */
	static const enum proc_event forkfail[] = {
		PROC_EV_SPAWN_FAIL, PROC_EV_SPAWN_FAIL, PROC_EV_SPAWN,
		PROC_EV_READY,
	};
	/* Killed at the shutdown timeout before it drained: stays dead. */
	static const enum proc_event killed[] = {
		PROC_EV_SPAWN, PROC_EV_READY, PROC_EV_HALT, PROC_EV_EXIT,
		PROC_EV_HALT,
	};

	ck_assert_int_eq(run(PROC_DEAD, crash, 8), PROC_DEAD);
	ck_assert_int_eq(run(PROC_DEAD, early, 5), PROC_DEAD);
	ck_assert_int_eq(run(PROC_DEAD, forkfail, 4), PROC_READY);
	ck_assert_int_eq(run(PROC_DEAD, killed, 5), PROC_DEAD);
	/* A draining row that crashes is not respawned either. */
	ck_assert_int_eq(proc_state_next(PROC_DRAINING, PROC_EV_EXIT),
	    PROC_DEAD);
	/* A pending respawn is cancelled by a drain (a retired generation). */
	ck_assert_int_eq(proc_state_next(PROC_RESPAWN, PROC_EV_DRAIN),
	    PROC_DEAD);
}
END_TEST

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

START_TEST(t_backoff_doubles)
{
	unsigned	q = 0;
	double		d, want = PROC_RESPAWN_FIRST;
	int		i;

	/* First quick death: the first delay; then doubling. */
	d = proc_backoff(&q, 0.5);
	ck_assert_uint_eq(q, 1);
	ck_assert(near(d, PROC_RESPAWN_FIRST));
	for (i = 2; i <= 10; i++) {
		want *= 2;
		if (want > PROC_RESPAWN_MAX)
			want = PROC_RESPAWN_MAX;
		d = proc_backoff(&q, 0.01);
		ck_assert_uint_eq(q, (unsigned)i);
		ck_assert_msg(near(d, want), "death %d: %f, want %f", i, d,
		    want);
	}
	/* 0.05 * 2^9 = 25.6; 2^10 would pass the cap. */
	ck_assert(near(proc_backoff(&q, 0.01), PROC_RESPAWN_MAX));
}
END_TEST

START_TEST(t_backoff_caps_and_resets)
{
	unsigned	q = 0;
	double		d;
	int		i;

	/* A long crash loop: never above the cap, the counter bounded. */
	for (i = 0; i < 1000; i++) {
		d = proc_backoff(&q, 0);
		ck_assert(d >= PROC_RESPAWN_FIRST && d <= PROC_RESPAWN_MAX);
	}
	ck_assert(near(d, PROC_RESPAWN_MAX));
	ck_assert_uint_le(q, 64);
	/* A child that lived long enough starts over at once. */
	d = proc_backoff(&q, PROC_QUICK_DEATH);
	ck_assert_uint_eq(q, 0);
	ck_assert(near(d, PROC_RESPAWN_FIRST));
	d = proc_backoff(&q, PROC_QUICK_DEATH - 0.001);
	ck_assert_uint_eq(q, 1);
	ck_assert(near(d, PROC_RESPAWN_FIRST));
	ck_assert(near(proc_backoff(&q, 1), 2 * PROC_RESPAWN_FIRST));
	/* A hostile clock (negative life) counts as quick, nothing more. */
	ck_assert(near(proc_backoff(&q, -5), 4 * PROC_RESPAWN_FIRST));
}
END_TEST

static Suite *
proctable_suite(void)
{
	Suite	*s = suite_create("proctable");
	TCase	*tc = tcase_create("rows");

	tcase_add_test(tc, t_table_exhaustive);
	tcase_add_test(tc, t_running_rows);
	tcase_add_test(tc, t_out_of_range);
	tcase_add_test(tc, t_life_cycles);
	tcase_add_test(tc, t_backoff_doubles);
	tcase_add_test(tc, t_backoff_caps_and_resets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(proctable_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
