/*
 * Routing engine tests, policies: every row of the policy table
 * (select.h) on the balancer and on links, several matchers at once,
 * refusal texts, PythTRT's README example routing as its README says,
 * and requests that need resolved addresses.
 * Part of the check_policy executable (see check_policy.h).
 */
#include "check_policy.h"

/*
 * The policy table, row by row: each policy matched and not matched, on
 * the balancer (admission) and on a link (eligibility, tier).  Links
 * are in failover order so that only the rules move them.
 */
#define BAL(m)	"{'balancer': {'strategy': 'failover', 'links': [{}, {}],"\
		" 'matchers': [" m "]}}"
#define LINK(m)	"{'balancer': {'strategy': 'failover', 'links': [{},"\
		" {'matchers': [" m "]}, {}]}}"
static const struct {
	const char	*doc;
	uint16_t	 port;		/* the matchers look at 443 */
	const char	*want;
} rows[] = {
	{ BAL("{'policy': 'allow', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'allow', 'ports': [443]}"), 80,
	    "refused: balancer.matchers[0] (allow, not matched)" },
	{ BAL("{'policy': 'allow'}, {'ports': [443]}"), 443,
	    "refused: balancer.matchers[1] (forbid)" },
	{ BAL("{'policy': 'allow'}, {'ports': [443]}"), 80, "0 1" },
	{ BAL("{'policy': 'prioritize', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'prioritize', 'ports': [443]}"), 80, "0 1" },
	{ BAL("{'policy': 'deprioritize', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'deprioritize', 'ports': [443]}"), 80, "0 1" },
	{ LINK("{'policy': 'allow', 'ports': [443]}"), 443, "0 1 2" },
	{ LINK("{'policy': 'allow', 'ports': [443]}"), 80, "0 2" },
	{ LINK("{'policy': 'forbid', 'ports': [443]}"), 443, "0 2" },
	{ LINK("{'policy': 'forbid', 'ports': [443]}"), 80, "0 1 2" },
	{ LINK("{'policy': 'prioritize', 'ports': [443]}"), 443, "1 0 2" },
	{ LINK("{'policy': 'prioritize', 'ports': [443]}"), 80, "0 1 2" },
	{ LINK("{'policy': 'deprioritize', 'ports': [443]}"), 443, "0 2 1" },
	{ LINK("{'policy': 'deprioritize', 'ports': [443]}"), 80, "0 1 2" },
	/* PythTRT's default policy is forbid. */
	{ LINK("{'ports': [443]}"), 443, "0 2" },
	{ BAL("{'ports': [443]}"), 443,
	    "refused: balancer.matchers[0] (forbid)" },
};
#undef BAL
#undef LINK

START_TEST(t_policy_row)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, rows[_i].doc, 1);
	ck_assert_str_eq(route(&f, req(&t, "a.example", NULL, rows[_i].port,
	    NULL)), rows[_i].want);
	fix_free(&f);
}
END_TEST

/* Every matcher is evaluated: the first that refuses is named. */
START_TEST(t_bal_several)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'matchers': ["
	    "{'policy': 'allow', 'ports': [80, 443]},"
	    "{'policy': 'forbid', 'clients': ['10.66.0.0/16']},"
	    "{'policy': 'allow', 'domains_re': ['\\\\.org$', '\\\\.net$']},"
	    "{'policy': 'prioritize', 'ports': [80]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 80, NULL)), "0");
	ck_assert_str_eq(route(&f, req(&t, "a.net", NULL, 443, "10.1.0.1")),
	    "0");
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 22, "10.66.0.1")),
	    "refused: balancer.matchers[0] (allow, not matched)");
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 80, "10.66.0.1")),
	    "refused: balancer.matchers[1] (forbid)");
	ck_assert_str_eq(route(&f, req(&t, "a.com", NULL, 80, NULL)),
	    "refused: balancer.matchers[2] (allow, not matched)");
	fix_free(&f);
}
END_TEST

/* A deprioritized link is used only when no other link is available. */
START_TEST(t_link_deprioritize)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': ["
	    "{'matchers': [{'policy': 'deprioritize', 'ports': [443]}]},"
	    " {}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 443, NULL)), "1 0");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)), "0 1");
	cool(&f, 0, 1, f.v.now_ms + 1000);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 443, NULL)), "0");
	fix_free(&f);
}
END_TEST

/* Both match: prioritize wins (select.h), whatever the order. */
START_TEST(t_link_pri_and_depri)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': [{}, "
	    "{'matchers': [{'policy': 'deprioritize', 'ports': [443]},"
	    " {'policy': 'prioritize', 'domains': ['fast.example']}]},"
	    " {'matchers': [{'policy': 'prioritize', 'ports': [443]},"
	    " {'policy': 'deprioritize', 'ports': [443]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "fast.example", NULL, 443, NULL)),
	    "1 2 0");
	ck_assert_str_eq(route(&f, req(&t, "slow.example", NULL, 443, NULL)),
	    "2 0 1");
	ck_assert_str_eq(route(&f, req(&t, "fast.example", NULL, 80, NULL)),
	    "1 0 2");
	fix_free(&f);
}
END_TEST

/* Several matchers on one link: each refusal and preference applies. */
START_TEST(t_link_several)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': [{},"
	    " {'matchers': [{'policy': 'allow', 'ports': [443, 8443]},"
	    " {'policy': 'forbid', 'domains': ['bad.example']},"
	    " {'policy': 'prioritize', 'domains_re': ['^cdn\\\\.']},"
	    " {'policy': 'deprioritize', 'ports': [8443]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 443, NULL)), "1 0");
	ck_assert_str_eq(route(&f, req(&t, "www.a", NULL, 443, NULL)), "0 1");
	ck_assert_str_eq(route(&f, req(&t, "www.a", NULL, 8443, NULL)),
	    "0 1");
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 8443, NULL)),
	    "1 0");
	ck_assert_str_eq(route(&f, req(&t, "cdn.bad.example", NULL, 443,
	    NULL)), "0");
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 80, NULL)), "0");
	fix_free(&f);
}
END_TEST

/* Every link refuses: 0x02, naming each link's refusing rule. */
START_TEST(t_link_all_refuse)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'links': ["
	    "{'matchers': [{'policy': 'allow'}, {'ports': [25]}]},"
	    " {'matchers': [{'policy': 'allow', 'ports': [80]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "mx", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[0].matchers[1] "
	    "(forbid), balancer.links[1].matchers[0] (allow, not matched)");
	fix_free(&f);
}
END_TEST

/* Many refusals: the text stays in its buffer and says it was cut. */
START_TEST(t_why_truncated)
{
	static const char head[] = "no link may carry it: "
	    "balancer.links[0].matchers[0] (forbid), "
	    "balancer.links[1].matchers[0] (forbid), ";
	struct fix	f;
	struct treq	t;
	char		doc[8192];
	size_t		i, off, n;

	off = (size_t)snprintf(doc, sizeof(doc), "{'balancer': {'links': [");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off,
		    "%s{'matchers': [{'ports': [1]}]}", i > 0 ? ", " : "");
	snprintf(doc + off, sizeof(doc) - off, "]}}");
	fix_init(&f, doc, 1);
	policy_route(f.conf, req(&t, "a", NULL, 1, NULL), &f.v, &f.r);
	ck_assert_int_eq(f.r.verdict, SL_ROUTE_REFUSED);
	n = strlen(f.r.why);
	ck_assert_uint_lt(n, sizeof(f.r.why));
	ck_assert_msg(strncmp(f.r.why, head, strlen(head)) == 0, "%s",
	    f.r.why);
	ck_assert_str_eq(f.r.why + n - 5, ", ...");
	fix_free(&f);
}
END_TEST

/* PythTRT's README example routes exactly as its README says. */
START_TEST(t_pythtrt_example)
{
	struct fix	f;
	struct treq	t;
	static const uint16_t ports[] = { 80, 443, 8080 };
	size_t		i;

	fix_init(&f, "{'balancer': {'links': [{'protocol': 'socks5',"
	    " 'domain': '127.0.0.1', 'port': 1081, 'matchers': [{"
	    "'domains_re': ['\\\\.intranet.com$'], 'policy': 'forbid'}]},"
	    " {'matchers': [{'domains_re': ['\\\\.intranet.com$'],"
	    " 'policy': 'allow'}]}], 'matchers': [{'policy': 'allow',"
	    " 'ports': [80, 443, 8080]}]}}", 2);
	for (i = 0; i < 3; i++) {
		/* intranet.com through the direct link only ... */
		ck_assert_str_eq(route(&f, req(&t, "x.intranet.com", NULL,
		    ports[i], NULL)), "1");
		ck_assert_str_eq(route(&f, req(&t, "a.b.intranet.com", NULL,
		    ports[i], NULL)), "1");
		/* ... everything else through the socks5 link. */
		ck_assert_str_eq(route(&f, req(&t, "www.example.com", NULL,
		    ports[i], NULL)), "0");
		ck_assert_str_eq(route(&f, req(&t, NULL, "10.0.0.1",
		    ports[i], NULL)), "0");
		ck_assert_str_eq(route(&f, req(&t, NULL, "2001:db8::1",
		    ports[i], NULL)), "0");
	}
	/* Only ports 80, 443 and 8080 are admitted. */
	ck_assert_str_eq(route(&f, req(&t, "x.intranet.com", NULL, 22, NULL)),
	    "refused: balancer.matchers[0] (allow, not matched)");
	ck_assert_str_eq(route(&f, req(&t, "example.com", NULL, 8443, NULL)),
	    "refused: balancer.matchers[0] (allow, not matched)");
	fix_free(&f);
}
END_TEST

/* A service's links: only they are candidates, in strategy order. */
START_TEST(t_service_only_links)
{
	static const uint16_t	 only[] = { 2, 0 };
	static const uint16_t	 one[] = { 1 };
	struct fix		 f;
	struct treq		 t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': [{},"
	    " {'matchers': [{'ports': [22]}]}, {}]}}", 1);
	req(&t, "h", NULL, 80, NULL);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	t.rq.only = only;
	t.rq.nonly = 2;
	ck_assert_str_eq(route(&f, &t.rq), "0 2");
	/* Its only link forbids port 22: refused, by that link's rule. */
	req(&t, "h", NULL, 22, NULL);
	t.rq.only = one;
	t.rq.nonly = 1;
	ck_assert_str_eq(route(&f, &t.rq), "refused: no link may carry it: "
	    "balancer.links[1].matchers[0] (forbid)");
	fix_free(&f);
}
END_TEST

START_TEST(t_needs_addresses)
{
	static const struct {
		const char	*doc;
		int		 want;
	} t[] = {
		{ "{}", 0 },
		{ "{'balancer': {'matchers': [{'domains': ['a'],"
		    " 'clients': ['10.0.0.0/8']}]}}", 0 },
		{ "{'balancer': {'matchers': [{'ips': []}]}}", 0 },
		{ "{'balancer': {'matchers': [{'ips': ['10.0.0.0/8']}]}}", 1 },
		{ "{'balancer': {'links': [{}, {'matchers': [{},"
		    " {'ips': ['::1']}]}]}}", 1 },
	};
	struct sl_conf	*conf;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		conf = parse(t[i].doc);
		ck_assert_int_eq(policy_needs_addresses(conf), t[i].want);
		conf_free(conf);
	}
}
END_TEST

TCase *
policy_policies_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("policies");
	tcase_add_loop_test(tc, t_policy_row, 0,
	    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, t_bal_several);
	tcase_add_test(tc, t_link_deprioritize);
	tcase_add_test(tc, t_link_pri_and_depri);
	tcase_add_test(tc, t_link_several);
	tcase_add_test(tc, t_link_all_refuse);
	tcase_add_test(tc, t_why_truncated);
	tcase_add_test(tc, t_pythtrt_example);
	tcase_add_test(tc, t_needs_addresses);
	tcase_add_test(tc, t_service_only_links);
	return tc;
}
