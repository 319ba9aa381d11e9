/*
 * Routing engine tests, live state read from a real shared mapping:
 * max_connections, cool-down windows, a failing health check,
 * unavailable versus refused, and routing without counters.
 * Part of the check_policy executable (see check_policy.h).
 */
#include "check_policy.h"

/* Live state. */

START_TEST(t_max_connections)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'max_connections': 2}, {'max_connections': 1}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	set_active(&f, 0, 0, 1);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	set_active(&f, 1, 0, 1);	/* 2 over both workers */
	ck_assert_str_eq(route(&f, &t.rq), "1");
	set_active(&f, 1, 1, 1);
	ck_assert_str_eq(route(&f, &t.rq), "unavailable: no link available: "
	    "link0 (at max_connections), link1 (at max_connections)");
	fix_free(&f);
}
END_TEST

START_TEST(t_cooldown)
{
	struct fix	f;
	struct treq	t;
	struct sl_health h;
	uint64_t	now = 5000000;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'cooldown': 2}, {'max_fails': 0}, {}]}}", 1);
	f.v.now_ms = now;
	req(&t, "a", NULL, 80, NULL);
	cool(&f, 0, 0, now + 1500);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	f.v.now_ms = now + 1500;
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* A scribble is read as now + cooldown at most. */
	f.v.now_ms = now;
	cool(&f, 0, 0, UINT64_MAX);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	shm_health_read(f.shm, 0, 0, now, 2000, &h);
	ck_assert(h.cooling);
	ck_assert_uint_eq(h.until_ms, now + 2000);
	/* Any success since the streak began ends the cool-down. */
	atomic_store(&health(&f, 0)->ok_ms, now);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	atomic_store(&health(&f, 0)->ok_ms, 0);
	/* max_fails 0: passive health off, the row is ignored. */
	f.v.now_ms = now;
	cool(&f, 0, 0, 0);
	cool(&f, 0, 1, now + 5000);
	cool(&f, 0, 2, now + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	cool(&f, 0, 0, now + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	fix_free(&f);
}
END_TEST

START_TEST(t_check_down)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'check': {'target': '192.0.2.1:80'}}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	atomic_store(&health(&f, 0)->check, SL_CHECK_DOWN);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	/* No check configured: nothing would bring it back, ignored. */
	atomic_store(&health(&f, 1)->check, SL_CHECK_DOWN);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	atomic_store(&health(&f, 0)->check, SL_CHECK_UNKNOWN);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	fix_free(&f);
}
END_TEST

/*
 * Another worker's verdicts: its cool-down or failing check puts a link
 * after the others (tried last), never out; failures in a row add up
 * over the workers, and a success by any worker ends every streak.
 */
START_TEST(t_doubted)
{
	struct fix		 f;
	struct treq		 t;
	struct sl_health	 h;
	struct sl_link_health	*w1;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'check': {'target': '192.0.2.1:80'}}, {}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	w1 = shm_health(f.shm, 1, 0);
	cool(&f, 1, 0, f.v.now_ms + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	/* Worker 1 itself skips it. */
	f.shm->self = 1;
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	f.shm->self = 0;
	/* Alone, a doubted link is still tried, not refused. */
	cool(&f, 0, 1, f.v.now_ms + 5000);
	cool(&f, 0, 2, f.v.now_ms + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "0");
	cool(&f, 0, 1, 0);
	cool(&f, 0, 2, 0);
	atomic_store(&shm_health(f.shm, 0, 1)->fails, 0);
	atomic_store(&shm_health(f.shm, 0, 2)->fails, 0);
	/* Worker 1's health check the same. */
	cool(&f, 1, 0, 0);
	atomic_store(&w1->fails, 0);
	atomic_store(&w1->check, SL_CHECK_DOWN);
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	/* Once our own check has a verdict, we go by it alone. */
	atomic_store(&health(&f, 0)->check, SL_CHECK_UP);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	atomic_store(&health(&f, 0)->check, SL_CHECK_UNKNOWN);
	atomic_store(&w1->check, SL_CHECK_UNKNOWN);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* Streaks add up; a later success anywhere ends them all. */
	cool(&f, 0, 0, 0);
	cool(&f, 1, 0, 0);
	shm_health_read(f.shm, 0, 0, f.v.now_ms, 10000, &h);
	ck_assert_uint_eq(h.fails, 2);
	ck_assert(!h.cooling && !h.others_cooling);
	atomic_store(&w1->ok_ms, 2);
	shm_health_read(f.shm, 0, 0, f.v.now_ms, 10000, &h);
	ck_assert_uint_eq(h.fails, 0);
	/* A success from the future is a scribble: ignored. */
	atomic_store(&w1->ok_ms, f.v.now_ms + 1);
	shm_health_read(f.shm, 0, 0, f.v.now_ms, 10000, &h);
	ck_assert_uint_eq(h.fails, 2);
	/* Own connect times only; -1 (an operator) averages every row. */
	atomic_store(&health(&f, 0)->connect_ms_avg, 10);
	atomic_store(&w1->connect_ms_avg, 30);
	shm_health_read(f.shm, 0, 0, f.v.now_ms, 10000, &h);
	ck_assert_uint_eq(h.connect_ms, 10);
	shm_health_read(f.shm, 0, -1, f.v.now_ms, 10000, &h);
	ck_assert_uint_eq(h.connect_ms, 20);
	fix_free(&f);
}
END_TEST

/* Allowed but down is 0x01; refused by every rule is 0x02. */
START_TEST(t_unavailable_vs_refused)
{
	struct fix	f;
	struct treq	t;

	/* wan refuses port 80; lte is allowed but down. */
	fix_init(&f, "{'balancer': {'links': [{'name': 'wan', 'matchers':"
	    " [{'policy': 'allow', 'ports': [25]}]},"
	    " {'name': 'lte', 'check': {'target': '[2001:db8::1]:443'}}]}}", 1);
	atomic_store(&health(&f, 1)->check, SL_CHECK_DOWN);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: lte (health check failing)");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)), "0");
	atomic_store(&health(&f, 1)->check, SL_CHECK_UNKNOWN);
	cool(&f, 0, 1, f.v.now_ms + 10);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: lte (cooling down)");
	fix_free(&f);
	fix_init(&f, "{'balancer': {'links': ["
	    "{'matchers': [{'ports': [25]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[0].matchers[0] "
	    "(forbid)");
	fix_free(&f);
}
END_TEST

/* No counters region (tests, tools): no live state, still routes. */
START_TEST(t_no_shm)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections', 'links':"
	    " [{'max_connections': 1}, {}]}}", 1);
	f.v.shm = NULL;
	policy_route(f.conf, req(&t, "a", NULL, 80, NULL), &f.v, &f.r);
	ck_assert_int_eq(f.r.verdict, SL_ROUTE_OK);
	ck_assert_uint_eq(f.r.ncand, 2);
	fix_free(&f);
}
END_TEST

TCase *
policy_state_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("state");
	tcase_add_test(tc, t_max_connections);
	tcase_add_test(tc, t_cooldown);
	tcase_add_test(tc, t_check_down);
	tcase_add_test(tc, t_doubted);
	tcase_add_test(tc, t_unavailable_vs_refused);
	tcase_add_test(tc, t_no_shm);
	return tc;
}
