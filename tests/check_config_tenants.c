/*
 * Tenants (policy/config_tenants.c): each tenant parses into a config of
 * its own made of the root's defaults and its keys, under a user of its
 * own; the text it was parsed from parses again to the same config; and
 * every refusal names the JSON path in the root document.
 */
#include "check_config.h"

/* One link and one listener: what every tenant needs. */
#define LINKS		"'balancer': {'links': [{'name': 'out'}]}"
#define T(name, addr)	"{'name': '" name "', 'listen': ['" addr "'], " \
			    LINKS "}"
#define ROOT(keys, tenants) "{" keys "'tenants': [" tenants "]}"

#define UID_ERR		"; each tenant needs a uid of its own"

static struct sl_conf *
reparse(const struct sl_tenant *t)
{
	struct sl_conf	*conf = NULL;
	char		 err[512];

	ck_assert_msg(conf_parse(t->text, t->len, &conf, err,
	    sizeof(err)) == 0, "%s: %s", t->text, err);
	return conf;
}

/* The children parse the tenant's text: they must see what the master saw. */
static void
check_same(const struct sl_conf *a, const struct sl_conf *b)
{
	size_t	i;

	ck_assert_uint_eq(a->nlisteners, b->nlisteners);
	for (i = 0; i < a->nlisteners; i++) {
		ck_assert_str_eq(a->listeners[i].name, b->listeners[i].name);
		ck_assert_int_eq(a->listeners[i].kind, b->listeners[i].kind);
		ck_assert_uint_eq(a->listeners[i].addrlen,
		    b->listeners[i].addrlen);
		ck_assert_mem_eq(&a->listeners[i].addr, &b->listeners[i].addr,
		    a->listeners[i].addrlen);
	}
	ck_assert_uint_eq(a->nlinks, b->nlinks);
	for (i = 0; i < a->nlinks; i++)
		ck_assert_str_eq(a->links[i].name, b->links[i].name);
	ck_assert_str_eq(a->tenant, b->tenant);
	ck_assert_str_eq(a->user, b->user);
	ck_assert_uint_eq(a->user_id, b->user_id);
	ck_assert_uint_eq(a->idle_timeout_ms, b->idle_timeout_ms);
	ck_assert_uint_eq(a->handshake_timeout_ms, b->handshake_timeout_ms);
	ck_assert_uint_eq(a->workers, b->workers);
	ck_assert_ptr_null(b->tenants);
	ck_assert_uint_eq(b->ntenants, 0);
}

START_TEST(test_tenants_two)
{
	struct sl_conf		*conf, *again;
	const struct sl_conf	*a, *b;
	size_t			 i;

	conf = must_parse("{'timeout': 7, 'idle_timeout': 60, 'workers': 2,"
	    " 'log_level': 'debug', 'control': '/run/s.sock',"
	    " 'nameservers': ['192.0.2.53'], 'ip_blacklist': ['10.0.0.0/8'],"
	    " 'tenants': ["
	    "{'name': 'shop', 'listeners': [{'name': 'socks', 'kind': 'socks5',"
	    " 'listen': '127.0.0.1:1080'}], " LINKS "},"
	    "{'name': 'lab-2_x', 'listen': ['127.0.0.1:1081'],"
	    " 'idle_timeout': 30, 'user': 'labuser', 'workers': 1,"
	    " 'nameservers': ['192.0.2.1', '192.0.2.2'],"
	    " 'IpBlacklist': ['192.0.2.66'],"
	    " 'balancer': {'strategy': 'failover', 'links': [{'name': 'a'},"
	    " {'name': 'b'}]}}]}");
	/* The root has neither listeners nor links, not even implicit ones. */
	ck_assert_uint_eq(conf->ntenants, 2);
	ck_assert_uint_eq(conf->nlisteners, 0);
	ck_assert_uint_eq(conf->nlinks, 0);
	ck_assert_str_eq(conf->control, "/run/s.sock");
	ck_assert_uint_eq(conf->ndeny_targets, 2);
	a = conf->tenants[0].conf;
	b = conf->tenants[1].conf;
	ck_assert_str_eq(conf->tenants[0].name, "shop");
	ck_assert_str_eq(conf->tenants[1].name, "lab-2_x");
	ck_assert_str_eq(a->tenant, "shop");
	ck_assert_str_eq(b->tenant, "lab-2_x");
	/* Root defaults, inherited and overridden. */
	ck_assert_uint_eq(a->handshake_timeout_ms, 7000);
	ck_assert_uint_eq(b->handshake_timeout_ms, 7000);
	ck_assert_uint_eq(a->idle_timeout_ms, 60000);
	ck_assert_uint_eq(b->idle_timeout_ms, 30000);
	ck_assert_uint_eq(a->workers, 2);
	ck_assert_uint_eq(b->workers, 1);
	ck_assert_uint_eq(a->nnameservers, 1);
	ck_assert_uint_eq(b->nnameservers, 2);
	/* A key replaces the root's wholesale, IpBlacklist as ip_blacklist. */
	ck_assert_uint_eq(a->nip_blacklist, 1);
	ck_assert_uint_eq(b->nip_blacklist, 1);
	check_cidr(&b->ip_blacklist[0], AF_INET, "192.0.2.66", 32);
	/* Its own listeners and links, no implicit ones. */
	ck_assert_uint_eq(a->nlisteners, 1);
	check_addr(&a->listeners[0].addr, a->listeners[0].addrlen, AF_INET,
	    "127.0.0.1", 1080);
	ck_assert_uint_eq(a->nlinks, 1);
	ck_assert_str_eq(a->links[0].name, "out");
	ck_assert_uint_eq(b->nlisteners, 1);
	check_addr(&b->listeners[0].addr, b->listeners[0].addrlen, AF_INET,
	    "127.0.0.1", 1081);
	ck_assert_uint_eq(b->nlinks, 2);
	ck_assert_int_eq(b->strategy, SL_STRAT_FAILOVER);
	/* Users: the default of its own name, or the one it names. */
	ck_assert_str_eq(a->user, "_sluice-w-shop");
	ck_assert_uint_eq(a->user_id, 0);
	ck_assert_str_eq(b->user, "labuser");
	for (i = 0; i < conf->ntenants; i++) {
		const struct sl_tenant *t = &conf->tenants[i];

		ck_assert_uint_eq(t->len, strlen(t->text));
		ck_assert_ptr_null(strstr(t->text, "\"tenants\""));
		ck_assert_ptr_null(strstr(t->text, "\"name\":\"shop\""));
		again = reparse(t);
		check_same(t->conf, again);
		conf_free(again);
	}
	conf_free(conf);
}
END_TEST

START_TEST(test_tenants_uid_base)
{
	struct sl_conf	*conf;

	conf = must_parse("{'uid_base': 5000, 'tenants': [" T("a",
	    "127.0.0.1:1") ", " T("b", "127.0.0.1:2") ", "
	    "{'name': 'c', 'port': 3, 'user_id': 7000, " LINKS "}, "
	    "{'name': 'd', 'port': 4, 'user': 'dee', " LINKS "}]}");
	ck_assert_uint_eq(conf->uid_base, 5000);
	ck_assert_uint_eq(conf->tenants[0].conf->user_id, 5001);
	ck_assert_uint_eq(conf->tenants[1].conf->user_id, 5002);
	ck_assert_uint_eq(conf->tenants[2].conf->user_id, 7000);
	ck_assert_uint_eq(conf->tenants[3].conf->user_id, 0);
	ck_assert_str_eq(conf->tenants[3].conf->user, "dee");
	ck_assert_ptr_null(strstr(conf->tenants[0].text, "uid_base"));
	/* The PythTRT form is an explicit listener too. */
	check_addr(&conf->tenants[2].conf->listeners[0].addr,
	    conf->tenants[2].conf->listeners[0].addrlen, AF_INET, "0.0.0.0", 3);
	conf_free(conf);
}
END_TEST

/* Without "tenants": "tenant" names the one implicit tenant. */
START_TEST(test_tenants_plain)
{
	struct sl_conf	*conf;

	conf = must_parse("{}");
	ck_assert_str_eq(conf->tenant, "default");
	ck_assert_uint_eq(conf->ntenants, 0);
	ck_assert_ptr_null(conf->tenants);
	conf_free(conf);
	conf = must_parse("{'tenant': 'edge-1', 'user_id': 4242}");
	ck_assert_str_eq(conf->tenant, "edge-1");
	ck_assert_uint_eq(conf->user_id, 4242);
	ck_assert_uint_eq(conf->nlisteners, 1);
	conf_free(conf);
	must_fail("{'tenant': 'Edge'}", "tenant: \"Edge\" is not a tenant "
	    "name ([a-z0-9] then [a-z0-9_-])");
	must_fail("{'tenant': ''}", "tenant: must not be empty");
}
END_TEST

/* As many tenants as there may be, each on its own port. */
START_TEST(test_tenants_count)
{
	struct buf	 b = { 0 };
	struct sl_conf	*conf;
	char		 item[160];
	int		 i;

	for (i = 0; i <= SL_MAX_TENANTS; i++) {
		add(&b, i == 0 ? "{'tenants': [" : ", ");
		snprintf(item, sizeof(item), "{'name': 't%d', 'listen': "
		    "['127.0.0.1:%d'], " LINKS "}", i, 2000 + i);
		if (i < SL_MAX_TENANTS)
			add(&b, item);
	}
	/* b is now SL_MAX_TENANTS items and a trailing ", ". */
	b.s[b.len - 2] = '\0';
	b.len -= 2;
	add(&b, "]}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->ntenants, SL_MAX_TENANTS);
	ck_assert_str_eq(conf->tenants[SL_MAX_TENANTS - 1].conf->user,
	    "_sluice-w-t15");
	conf_free(conf);
	b.len -= 2;
	b.s[b.len] = '\0';
	add(&b, ", {'name': 'x', 'listen': ['127.0.0.1:1'], " LINKS "}]}");
	must_fail(b.s, "tenants: too many entries (max 16)");
	free(b.s);
}
END_TEST

static const struct {
	const char	*json;
	const char	*err;
} bad[] = {
	/* the array */
	{ "{'tenants': []}", "tenants: must not be empty" },
	{ "{'tenants': {}}", "tenants: expected an array, got object" },
	{ "{'tenants': ['a']}", "tenants[0]: expected an object, got string" },
	/* key classes */
	{ ROOT("", T("a", "127.0.0.1:1") ", {'name': 'b', 'control': "
	    "'/run/x', 'listen': ['127.0.0.1:2'], " LINKS "}"),
	    "tenants[1].control: process-wide; set it on the root" },
	{ ROOT("", "{'name': 'a', 'log_level': 'debug'}"),
	    "tenants[0].log_level: process-wide; set it on the root" },
	{ ROOT("", "{'name': 'a', 'uid_base': 1000}"),
	    "tenants[0].uid_base: process-wide; set it on the root" },
	{ ROOT("", "{'name': 'a', 'tenants': []}"),
	    "tenants[0].tenants: process-wide; set it on the root" },
	{ ROOT("", "{'name': 'a', 'tenant': 'b'}"),
	    "tenants[0].tenant: a tenant's \"name\" names it" },
	{ ROOT("", "{'name': 'a', 'resolver_user': 'r'}"),
	    "tenants[0].resolver_user: process-wide; set it on the root" },
	{ ROOT("'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:9'}], ",
	    T("a", "127.0.0.1:1")),
	    "listeners: with tenants, each tenant has its own" },
	{ ROOT("'port': 1080, ", T("a", "127.0.0.1:1")),
	    "port: with tenants, each tenant has its own" },
	{ ROOT(LINKS ", ", T("a", "127.0.0.1:1")),
	    "balancer: with tenants, each tenant has its own" },
	{ ROOT("'user': 'w', ", T("a", "127.0.0.1:1")),
	    "user: with tenants, each tenant has its own" },
	{ ROOT("'user_id': 1000, ", T("a", "127.0.0.1:1")),
	    "user_id: with tenants, each tenant has its own" },
	{ ROOT("'tenant': 'a', ", T("a", "127.0.0.1:1")),
	    "tenant: with tenants, each tenant's \"name\" names it" },
	/* names */
	{ ROOT("", "{'listen': ['127.0.0.1:1'], " LINKS "}"),
	    "tenants[0].name: required" },
	{ ROOT("", T("Shop", "127.0.0.1:1")), "tenants[0].name: \"Shop\" is "
	    "not a tenant name ([a-z0-9] then [a-z0-9_-])" },
	{ ROOT("", T("-a", "127.0.0.1:1")), "tenants[0].name: \"-a\" is "
	    "not a tenant name ([a-z0-9] then [a-z0-9_-])" },
	{ ROOT("", T("a.b", "127.0.0.1:1")), "tenants[0].name: \"a.b\" is "
	    "not a tenant name ([a-z0-9] then [a-z0-9_-])" },
	{ ROOT("", T("abcdefghijabcdefghijabcdefghijab", "127.0.0.1:1")),
	    "tenants[0].name: longer than 31 bytes" },
	{ ROOT("", "{'name': 3}"),
	    "tenants[0].name: expected a string, got number" },
	{ ROOT("", T("a", "127.0.0.1:1") ", " T("a", "127.0.0.1:2")),
	    "tenants[1].name: \"a\" is already tenants[0]'s name" },
	/* what a tenant serves */
	{ ROOT("", T("a", "127.0.0.1:1") ", {'name': 'b', "
	    "'listen': ['127.0.0.1:2']}"),
	    "tenants[1]: no links (balancer.links or upstream)" },
	{ ROOT("", "{'name': 'b', 'listen': ['127.0.0.1:2'], "
	    "'balancer': {'links': []}}"),
	    "tenants[0]: no links (balancer.links or upstream)" },
	{ ROOT("", "{'name': 'b', 'listen': ['127.0.0.1:2'], "
	    "'balancer': {'strategy': 'random_link'}}"),
	    "tenants[0]: no links (balancer.links or upstream)" },
	{ ROOT("", "{'name': 'b', " LINKS "}"),
	    "tenants[0]: no listeners (listeners, listen or port)" },
	{ ROOT("", "{'name': 'b', 'domain': '127.0.0.1', " LINKS "}"),
	    "tenants[0]: no listeners (listeners, listen or port)" },
	/* errors inside a tenant, under its path */
	{ ROOT("", "{'name': 'a', 'bogus': 1}"),
	    "tenants[0].bogus: unknown key" },
	{ ROOT("", "{'name': 'a', 'config': 1}"),
	    "tenants[0].config: unknown key" },
	{ ROOT("", T("a", "127.0.0.1:1") ", {'name': 'b', "
	    "'idle_timout': 3, 'listen': ['127.0.0.1:2'], " LINKS "}"),
	    "tenants[1].idle_timout: unknown key" },
	{ ROOT("", "{'name': 'a', 'idle_timeout': 0}"),
	    "tenants[0].idle_timeout: 0 is out of range "
	    "(0 < seconds <= 86400)" },
	{ ROOT("", "{'name': 'a', 'listen': ['127.0.0.1:70000']}"),
	    "tenants[0].listen[0]: \"127.0.0.1:70000\" is not an address and "
	    "port (ip:port or [ipv6]:port)" },
	{ ROOT("", "{'name': 'a', 'listen': ['127.0.0.1:1'], "
	    "'balancer': {'links': [{'protocol': 'socks5'}]}}"),
	    "tenants[0].balancer.links[0].domain: required for a socks5 link" },
	{ ROOT("", "{'name': 'a', 'listen': ['127.0.0.1:1'], 'port': 2, "
	    LINKS "}"),
	    "tenants[0].listen: cannot be combined with domain/port" },
	{ ROOT("", "{'name': 'a', 'listen': ['127.0.0.1:1'], 'dns_max_ttl': 1, "
	    LINKS "}"), "tenants[0].dns_max_ttl: 1 is less than dns_min_ttl "
	    "(30)" },
	/* a root default is blamed at the root, before any tenant */
	{ ROOT("'idle_timeout': -1, ", "{'name': 'a'}"),
	    "idle_timeout: -1 is out of range (0 < seconds <= 86400)" },
	{ ROOT("'dns_min_ttl': 100, 'dns_max_ttl': 50, ", T("a",
	    "127.0.0.1:1")), "dns_max_ttl: 50 is less than dns_min_ttl (100)" },
	/* overlapping listeners */
	{ ROOT("", "{'name': 'a', 'listeners': ["
	    "{'kind': 'socks5', 'listen': '127.0.0.1:1'},"
	    "{'kind': 'http', 'listen': '127.0.0.1:2'},"
	    "{'kind': 'metrics', 'listen': '127.0.0.1:1080'}], " LINKS "}, "
	    "{'name': 'b', 'listeners': [{'kind': 'mixed', "
	    "'listen': '127.0.0.1:1080'}], " LINKS "}"),
	    "tenants[1].listeners[0]: overlaps tenants[0].listeners[2] "
	    "(127.0.0.1:1080)" },
	{ ROOT("", T("a", "0.0.0.0:1080") ", " T("b", "127.0.0.1:1080")),
	    "tenants[1].listen[0]: overlaps tenants[0].listen[0] "
	    "(127.0.0.1:1080)" },
	{ ROOT("", T("a", "127.0.0.1:1080") ", " T("b", "0.0.0.0:1080")),
	    "tenants[1].listen[0]: overlaps tenants[0].listen[0] "
	    "(0.0.0.0:1080)" },
	{ ROOT("", T("default", "127.0.0.1:1080")),
	    "tenants[0].name: \"default\" is the name of the one tenant of "
	    "a config without tenants" },
	{ ROOT("", T("a", "[::1]:1080") ", " T("b", "[::]:1080")),
	    "tenants[1].listen[0]: overlaps tenants[0].listen[0] ([::]:1080)" },
	{ ROOT("", T("a", "[::ffff:127.0.0.1]:1080") ", "
	    T("b", "127.0.0.1:1080")),
	    "tenants[1].listen[0]: overlaps tenants[0].listen[0] "
	    "(127.0.0.1:1080)" },
	{ ROOT("", T("a", "127.0.0.1:1") ", " T("b", "127.0.0.1:2") ", "
	    "{'name': 'c', 'port': 1, " LINKS "}"),
	    "tenants[2].port: overlaps tenants[0].listen[0] (0.0.0.0:1)" },
	{ ROOT("", "{'name': 'a', 'listeners': ["
	    "{'kind': 'socks5', 'listen': '127.0.0.1:5'}, "
	    "{'kind': 'tproxy', 'udp': true, 'listen': '127.0.0.1:53'}], "
	    LINKS "}, {'name': 'b', 'listeners': [{'kind': 'udp_forward', "
	    "'listen': '127.0.0.1:53', 'target': '127.0.0.1:5353'}], "
	    LINKS "}"),
	    "tenants[1].listeners[0]: overlaps tenants[0].listeners[1] "
	    "(127.0.0.1:53)" },
	/* users */
	{ ROOT("", "{'name': 'a', 'user': 'x', 'port': 1, " LINKS "}, "
	    "{'name': 'b', 'user': 'x', 'port': 2, " LINKS "}"),
	    "tenants[1].user: \"x\" is tenants[0]'s user" UID_ERR },
	{ ROOT("", "{'name': 'a', 'user': '_sluice-w-b', 'port': 1, " LINKS
	    "}, {'name': 'b', 'port': 2, " LINKS "}"),
	    "tenants[1].user: \"_sluice-w-b\" is tenants[0]'s user" UID_ERR },
	{ ROOT("", "{'name': 'a', 'user_id': 7000, 'port': 1, " LINKS "}, "
	    "{'name': 'b', 'user_id': 7000, 'port': 2, " LINKS "}"),
	    "tenants[1].user_id: 7000 is tenants[0]'s user_id" UID_ERR },
	{ ROOT("'uid_base': 5000, ", T("a", "127.0.0.1:1") ", "
	    "{'name': 'b', 'user_id': 5001, 'port': 2, " LINKS "}"),
	    "tenants[1].user_id: 5001 is tenants[0]'s user_id" UID_ERR },
	{ ROOT("", "{'name': 'a', 'user': '_sluice-resolver', 'port': 1, "
	    LINKS "}"),
	    "tenants[0].user: \"_sluice-resolver\" is the resolver_user"
	    UID_ERR },
	{ ROOT("'resolver_user': 'res', ", "{'name': 'a', 'user': 'res', "
	    "'port': 1, " LINKS "}"),
	    "tenants[0].user: \"res\" is the resolver_user" UID_ERR },
	{ ROOT("'registry_user': 'reg', ", T("a", "127.0.0.1:1") ", "
	    "{'name': 'b', 'user': 'reg', 'port': 2, " LINKS "}"),
	    "tenants[1].user: \"reg\" is the registry_user" UID_ERR },
	{ ROOT("", "{'name': 'a', 'user': 'x y', 'port': 1, " LINKS "}"),
	    "tenants[0].user: \"x y\" is not a user name" },
};

START_TEST(test_tenants_bad)
{
	must_fail(bad[_i].json, bad[_i].err);
}
END_TEST

/* Not overlapping: other port, other transport, other address. */
START_TEST(test_tenants_apart)
{
	static const char *const ok[] = {
		ROOT("", T("a", "127.0.0.1:1080") ", "
		    T("b", "127.0.0.2:1080")),
		ROOT("", T("a", "127.0.0.1:1080") ", " T("b", "[::1]:1080")),
		ROOT("", T("a", "0.0.0.0:1080") ", " T("b", "[::1]:1080")),
		/* IPv6 listeners are IPV6_V6ONLY: :: takes no IPv4. */
		ROOT("", T("a", "127.0.0.1:1080") ", " T("b", "[::]:1080")),
		ROOT("", T("a", "0.0.0.0:1080") ", " T("b", "0.0.0.0:1081")),
		ROOT("", T("a", "127.0.0.1:53") ", {'name': 'b', 'listeners': ["
		    "{'kind': 'udp_forward', 'listen': '127.0.0.1:53', "
		    "'target': '127.0.0.1:5353'}], " LINKS "}"),
	};
	struct sl_conf	*conf;
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		conf = must_parse(ok[i]);
		ck_assert_uint_eq(conf->ntenants, 2);
		conf_free(conf);
	}
}
END_TEST

/* TcpRoute's upstream tree gives a tenant its links. */
START_TEST(test_tenants_upstream)
{
	struct sl_conf	*conf;

	conf = must_parse(ROOT("", "{'name': 'tr', 'listen': "
	    "['127.0.0.1:1'], 'upstream': {'type': 'direct'}}"));
	ck_assert_uint_eq(conf->tenants[0].conf->nlinks, 1);
	ck_assert_str_eq(conf->tenants[0].conf->links[0].name, "upstream");
	conf_free(conf);
}
END_TEST

/* An error message cut to the caller's buffer stays a C string. */
START_TEST(test_tenants_short_err)
{
	struct sl_conf	*conf;
	char		 err[12];

	ck_assert_int_eq(try_parse(ROOT("", "{'name': 'a', 'bogus': 1}"),
	    &conf, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "tenants[0].");
}
END_TEST

TCase *
config_tenants_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("tenants");
	tcase_add_test(tc, test_tenants_two);
	tcase_add_test(tc, test_tenants_uid_base);
	tcase_add_test(tc, test_tenants_plain);
	tcase_add_test(tc, test_tenants_count);
	tcase_add_loop_test(tc, test_tenants_bad, 0, (int)(sizeof(bad) /
	    sizeof(bad[0])));
	tcase_add_test(tc, test_tenants_apart);
	tcase_add_test(tc, test_tenants_upstream);
	tcase_add_test(tc, test_tenants_short_err);
	return tc;
}
