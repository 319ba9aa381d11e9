/*
 * Routing engine tests, strategies: round robin, random, least
 * connections (with weights, across workers), failover and fastest,
 * tiers, hops that are never chosen, and TcpRoute's README race.
 * Part of the check_policy executable (see check_policy.h).
 */
#include "check_policy.h"

/* Strategies. */

START_TEST(t_rr_equal)
{
	struct fix	f;
	struct treq	t;
	int		i;

	fix_init(&f, "{'balancer': {'links': [{}, {}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	/* Sequential order, the others following in rotation. */
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	ck_assert_str_eq(route(&f, &t.rq), "2 0 1");
	for (i = 3; i < 300; i++)
		ck_assert_uint_eq(pick(&f, &t.rq), (uint32_t)(i % 3));
	fix_free(&f);
}
END_TEST

/* Exact shares over every window of W consecutive decisions. */
START_TEST(t_rr_weights)
{
	static const uint32_t w[] = { 5, 3, 1, 1, 7 };
	struct fix	f;
	struct treq	t;
	uint32_t	seq[10000], cnt[5], i, j, W = 17;

	fix_init(&f, "{'balancer': {'links': [{'weight': 5}, {'weight': 3},"
	    " {'weight': 1}, {'weight': 1}, {'weight': 7}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++)
		seq[i] = pick(&f, &t.rq);
	for (i = 0; i + W <= 10000; i += 7) {
		memset(cnt, 0, sizeof(cnt));
		for (j = i; j < i + W; j++)
			cnt[seq[j]]++;
		for (j = 0; j < 5; j++)
			ck_assert_uint_eq(cnt[j], w[j]);
	}
	/* Interleaved: the heaviest link never runs more than twice. */
	for (i = 0; i + 2 < 10000; i++)
		ck_assert(!(seq[i] == 4 && seq[i + 1] == 4 && seq[i + 2] == 4));
	fix_free(&f);
}
END_TEST

/* Two processes share one cursor: together, exact shares. */
START_TEST(t_rr_cross_worker)
{
	struct fix	 f;
	struct treq	 t;
	pid_t		 pid[2];
	uint32_t	 k;
	int		 i, p, st;

	fix_init(&f, "{'balancer': {'links': [{'weight': 2}, {'weight': 1},"
	    " {'weight': 1}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	for (p = 0; p < 2; p++) {
		if ((pid[p] = fork()) == 0) {
			/* Each pick is counted in this worker's row. */
			for (i = 0; i < 4000; i++) {
				k = pick(&f, &t.rq);
				atomic_fetch_add(
				    &shm_ctr(f.shm, (uint32_t)p, k)->opened, 1);
			}
			_exit(0);
		}
		ck_assert_int_gt(pid[p], 0);
	}
	for (p = 0; p < 2; p++) {
		ck_assert_int_eq(waitpid(pid[p], &st, 0), pid[p]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (k = 0; k < 3; k++) {
		struct sl_link_totals	tot;

		shm_link_totals(f.shm, k, &tot);
		ck_assert_uint_eq(tot.opened, k == 0 ? 4000 : 2000);
	}
	fix_free(&f);
}
END_TEST

/* Weighted random: 3:1 over 10,000 picks within +-2.5 points. */
START_TEST(t_random_weights)
{
	struct fix	f;
	struct treq	t;
	uint64_t	seed = 7;
	uint32_t	cnt[2] = { 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'random_link', 'links':"
	    " [{'weight': 3}, {'weight': 1}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++) {
		f.v.rnd = lcg(&seed);
		cnt[pick(&f, &t.rq)]++;
		ck_assert_uint_eq(f.r.ncand, 2);
	}
	ck_assert_msg(cnt[0] >= 7250 && cnt[0] <= 7750, "%u", cnt[0]);
	fix_free(&f);
}
END_TEST

/* active / weight, summed over worker rows; ties rotate. */
START_TEST(t_least_conn)
{
	struct fix	f;
	struct treq	t;
	uint32_t	seen = 0;
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{'weight': 2}, {}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	set_active(&f, 0, 0, 2);
	set_active(&f, 1, 0, 2);	/* 4 / 2 = 2 */
	set_active(&f, 0, 1, 3);	/* 3 */
	set_active(&f, 1, 2, 1);	/* 1 */
	ck_assert_str_eq(route(&f, &t.rq), "2 0 1");
	set_active(&f, 1, 2, 5);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* All equal: the first place rotates over every link. */
	set_active(&f, 0, 0, 0);
	set_active(&f, 1, 0, 0);
	set_active(&f, 0, 1, 0);
	set_active(&f, 1, 2, 0);
	for (i = 0; i < 3; i++)
		seen |= 1u << pick(&f, &t.rq);
	ck_assert_uint_eq(seen, 7);
	/* Huge counts do not overflow the comparison. */
	set_active(&f, 0, 0, UINT64_MAX);
	set_active(&f, 1, 0, UINT64_MAX);
	set_active(&f, 0, 1, UINT64_C(1) << 40);
	set_active(&f, 0, 2, (UINT64_C(1) << 40) + 1);
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	fix_free(&f);
}
END_TEST

/* Sessions that never end: active follows the weights, 3:1. */
START_TEST(t_least_conn_weights)
{
	struct fix	f;
	struct treq	t;
	uint32_t	k;
	uint64_t	a[2] = { 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{'weight': 3}, {'weight': 1}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++) {
		k = pick(&f, &t.rq);
		set_active(&f, 0, k, ++a[k]);
	}
	ck_assert_uint_eq(a[0], 7500);
	ck_assert_uint_eq(a[1], 2500);
	fix_free(&f);
}
END_TEST

/* Counters written by two other processes, in their own rows. */
START_TEST(t_least_conn_cross_worker)
{
	struct fix	f;
	struct treq	t;
	pid_t		pid;
	int		w, st, i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	for (w = 0; w < 2; w++) {
		if ((pid = fork()) == 0) {
			/* Worker 0 holds 3 on link 0, worker 1 holds 2 on
			   link 0 and 4 on link 1: sums 5 and 4. */
			for (i = 0; i < (w == 0 ? 3 : 2); i++)
				atomic_fetch_add(
				    &shm_ctr(f.shm, (uint32_t)w, 0)->active, 1);
			for (i = 0; i < (w == 0 ? 0 : 4); i++)
				atomic_fetch_add(
				    &shm_ctr(f.shm, (uint32_t)w, 1)->active, 1);
			_exit(0);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	/* Neither row alone says so: link 1 is lighter only in sum. */
	ck_assert_str_eq(route(&f, &t.rq), "1 0");
	atomic_fetch_add(&shm_ctr(f.shm, 0, 1)->active, 2);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	fix_free(&f);
}
END_TEST

START_TEST(t_failover)
{
	struct fix	f;
	struct treq	t;
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'weight': 1}, {'weight': 9}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10; i++)
		ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	cool(&f, 0, 0, f.v.now_ms + 1);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	fix_free(&f);
}
END_TEST

START_TEST(t_fastest)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[4] = { 0, 0, 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'fastest', 'links':"
	    " [{}, {}, {}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	atomic_store(&health(&f, 0)->connect_ms_avg, 50);
	atomic_store(&health(&f, 1)->connect_ms_avg, 0);	/* unknown */
	atomic_store(&health(&f, 2)->connect_ms_avg, 20);
	atomic_store(&health(&f, 3)->connect_ms_avg, 20);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 4);
		ck_assert_uint_eq(f.r.cand[0], 1);
		ck_assert_uint_eq(f.r.cand[3], 0);
		cnt[f.r.cand[1]]++;
	}
	/* The tie takes turns. */
	ck_assert_uint_eq(cnt[2], 50);
	ck_assert_uint_eq(cnt[3], 50);
	fix_free(&f);
}
END_TEST

/* Strategy order within each tier, tiers in order. */
START_TEST(t_tiers_and_strategy)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[4] = { 0, 0, 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'links': [{}, "
	    "{'matchers': [{'policy': 'prioritize', 'ports': [443]}]},"
	    " {'matchers': [{'policy': 'prioritize', 'ports': [443]}]},"
	    " {}]}}", 1);
	req(&t, "a", NULL, 443, NULL);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 4);
		ck_assert(f.r.cand[0] == 1 || f.r.cand[0] == 2);
		ck_assert(f.r.cand[1] == 1 || f.r.cand[1] == 2);
		cnt[f.r.cand[0]]++;
		cnt[f.r.cand[2]] += 10;
	}
	ck_assert_uint_eq(cnt[1], 50);
	ck_assert_uint_eq(cnt[2], 50);
	ck_assert_uint_eq(cnt[0], 500);
	ck_assert_uint_eq(cnt[3], 500);
	fix_free(&f);
}
END_TEST

/* A hop (selectable false) is never a candidate, whatever the strategy. */
START_TEST(t_hops_never_chosen)
{
	static const char *const strat[] = { "round_robin", "random_link",
	    "least_connections", "failover", "fastest" };
	struct fix	f;
	struct treq	t;
	char		doc[512];
	size_t		i;
	int		k;

	for (i = 0; i < sizeof(strat) / sizeof(strat[0]); i++) {
		snprintf(doc, sizeof(doc), "{'balancer': {'strategy': '%s',"
		    " 'links': [{'name': 'hop', 'selectable': false,"
		    " 'weight': 1000},"
		    " {'protocol': 'socks5', 'domain': 'h', 'port': 1,"
		    " 'via': 'hop'}, {'name': 'wan'}]}}", strat[i]);
		fix_init(&f, doc, 2);
		req(&t, "a", NULL, 80, NULL);
		/* The hop would win every one of these on its own. */
		atomic_store(&health(&f, 1)->connect_ms_avg, 90);
		atomic_store(&health(&f, 2)->connect_ms_avg, 80);
		set_active(&f, 0, 1, 5);
		set_active(&f, 1, 2, 5);
		for (k = 0; k < 100; k++) {
			f.v.rnd = (uint32_t)k * 2654435761u;
			policy_route(f.conf, &t.rq, &f.v, &f.r);
			ck_assert_int_eq(f.r.verdict, SL_ROUTE_OK);
			ck_assert_uint_eq(f.r.ncand, 2);
			ck_assert_uint_ne(f.r.cand[0], 0);
			ck_assert_uint_ne(f.r.cand[1], 0);
		}
		fix_free(&f);
	}
}
END_TEST

/* Refusals and outages name only the links that could have carried it. */
START_TEST(t_hops_not_named)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'links': [{'name': 'hop',"
	    " 'selectable': false, 'matchers': [{'ports': [80]}]},"
	    " {'name': 'px', 'protocol': 'socks5', 'domain': 'h', 'port': 1,"
	    " 'via': 'hop', 'matchers': [{'ports': [25]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)), "1");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[1].matchers[0] "
	    "(forbid)");
	cool(&f, 0, 1, f.v.now_ms + 10);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: px (cooling down)");
	/* A hop's matchers are never consulted, so never resolved for. */
	fix_free(&f);
	fix_init(&f, "{'balancer': {'links': [{'name': 'hop',"
	    " 'selectable': false, 'matchers': [{'ips': ['10.0.0.0/8']}]},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'hop'}"
	    "]}}", 1);
	ck_assert_int_eq(policy_needs_addresses(f.conf), 0);
	fix_free(&f);
}
END_TEST

/* TcpRoute's README example: a race of the direct line and the proxy. */
START_TEST(t_tcproute_example)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[3] = { 0, 0, 0 };
	int		i;

	fix_init(&f, "{'log_level': 'INDO', 'port': 7070, 'nameservers':"
	    " 'system', 'nameservers_backup': ['8.8.8.8', '8.8.4.4',"
	    " '208.67.222.222', '208.67.220.220'], 'upstream': {'type':"
	    " 'multipath', 'list': [{'type': 'direct', 'source_ip': '0.0.0.0',"
	    " 'source_port': 0}, {'type': 'socks5', 'host': '127.0.0.1',"
	    " 'port': 5555, 'upstream': {'type': 'direct', 'source_ip':"
	    " '0.0.0.0', 'source_port': 0}}]}, 'IpBlacklist': []}", 2);
	req(&t, "www.example.com", NULL, 443, NULL);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 2);
		cnt[f.r.cand[0]]++;
	}
	/* Both lines unknown: they take turns; the hop never runs alone. */
	ck_assert_uint_eq(cnt[0], 50);
	ck_assert_uint_eq(cnt[1], 50);
	ck_assert_uint_eq(cnt[2], 0);
	/* The proxy measured faster: it goes first. */
	atomic_store(&health(&f, 0)->connect_ms_avg, 40);
	atomic_store(&health(&f, 1)->connect_ms_avg, 30);
	ck_assert_str_eq(route(&f, &t.rq), "1 0");
	fix_free(&f);
}
END_TEST

TCase *
policy_strategies_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("strategies");
	tcase_add_test(tc, t_rr_equal);
	tcase_add_test(tc, t_rr_weights);
	tcase_add_test(tc, t_rr_cross_worker);
	tcase_add_test(tc, t_random_weights);
	tcase_add_test(tc, t_least_conn);
	tcase_add_test(tc, t_least_conn_weights);
	tcase_add_test(tc, t_least_conn_cross_worker);
	tcase_add_test(tc, t_failover);
	tcase_add_test(tc, t_fastest);
	tcase_add_test(tc, t_tiers_and_strategy);
	tcase_add_test(tc, t_hops_never_chosen);
	tcase_add_test(tc, t_hops_not_named);
	tcase_add_test(tc, t_tcproute_example);
	return tc;
}
