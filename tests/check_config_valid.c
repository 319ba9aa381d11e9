/*
 * Configuration loader tests, documents that load: PythTRT's README
 * example unchanged, the shipped contrib/sluice.json, every key sluice
 * knows landing in the right field, and the documented defaults.
 * Part of the check_config executable (see check_config.h).
 */
#include "check_config.h"

/* PythTRT's README example, byte for byte: it must load unchanged. */
static const char pythtrt_example[] =
"{\n"
"  \"balancer\": {\n"
"    \"links\": [\n"
"      {\n"
"        \"protocol\": \"socks5\",\n"
"        \"domain\": \"127.0.0.1\",\n"
"        \"port\": 1081,\n"
"        \"matchers\": [\n"
"          {\n"
"            \"domains_re\": [\n"
"              \"\\\\.intranet.com$\"\n"
"            ],\n"
"            \"policy\": \"forbid\"\n"
"          }\n"
"        ]\n"
"      },\n"
"      {\n"
"        \"matchers\": [\n"
"          {\n"
"            \"domains_re\": [\n"
"              \"\\\\.intranet.com$\"\n"
"            ],\n"
"            \"policy\": \"allow\"\n"
"          }\n"
"        ]\n"
"      }\n"
"    ],\n"
"    \"matchers\": [\n"
"      {\n"
"        \"policy\": \"allow\",\n"
"        \"ports\": [\n"
"          80,\n"
"          443,\n"
"          8080\n"
"        ]\n"
"      }\n"
"    ]\n"
"  }\n"
"}\n";

/* A copy of contrib/sluice.json; test_contrib_file checks the file. */
static const char contrib_copy[] =
"{\n"
"  \"listeners\": [\n"
"    { \"name\": \"default\", \"kind\": \"mixed\", \"listen\": \"127.0.0.1:1080\" }\n"
"  ],\n"
"  \"timeout\": 5,\n"
"  \"max_threads\": 200,\n"
"  \"user\": \"_sluice\",\n"
"  \"resolver_user\": \"_sluice-resolver\",\n"
"  \"workers\": 2,\n"
"  \"chroot\": \"/var/empty\",\n"
"  \"log_level\": \"info\",\n"
"  \"idle_timeout\": 300,\n"
"  \"shutdown_timeout\": 10,\n"
"  \"splice\": true,\n"
"  \"nameservers\": \"system\",\n"
"  \"resolve_timeout\": 5,\n"
"  \"balancer\": {\n"
"    \"strategy\": \"round_robin\",\n"
"    \"links\": [\n"
"      {\n"
"        \"name\": \"direct\",\n"
"        \"protocol\": \"direct\"\n"
"      }\n"
"    ]\n"
"  }\n"
"}\n";

/* Every key sluice knows, none at its default. */
static const char full_config[] =
"{'listen': ['127.0.0.1:1080', '[::1]:1081'],"
" 'timeout': 2.5, 'max_threads': 500, 'user': '_sluice', 'workers': 4,"
" 'chroot': '/var/lib/sluice', 'shutdown_timeout': 0,"
" 'log_level': 'DEBUG', 'idle_timeout': 60, 'splice': false,"
" 'resolve_timeout': 0.5,"
" 'nameservers': ['9.9.9.9', '[2620:fe::fe]:5353', '1.1.1.1:53'],"
" 'balancer': {'strategy': 'failover', 'retries': 3,"
"  'matchers': [{'policy': 'forbid', 'clients': ['192.0.2.0/24']}],"
"  'links': ["
"   {'name': 'wan0', 'interface': 'eth0', 'source': '192.0.2.10',"
"    'timeout': 3, 'weight': 3, 'max_connections': 100,"
"    'max_fails': 0, 'cooldown': 2.5, 'check': {'target': '192.0.2.1:80',"
"     'interval': 1, 'timeout': 0.5, 'fails': 4, 'passes': 3}},"
"   {'name': 'hop1', 'protocol': 'socks5', 'domain': 'proxy.example.net',"
"    'port': 1081, 'username': 'u', 'password': 'p', 'via': 'wan0'},"
"   {'name': 'hop2', 'protocol': 'socks5', 'domain': '2001:db8::7',"
"    'port': 9050, 'via': 'hop1', 'source': '2001:db8::1',"
"    'matchers': [{'policy': 'prioritize', 'domains': ['*.Onion.'],"
"     'ports': [80, '443', '8000-8999'],"
"     'ips': ['10.1.2.3/8', '2001:dbff:ffff::/20']},"
"     {'policy': 'deprioritize', 'domains_re': ['^a', 'b$'],"
"      'port_ranges': ['1-1023']},"
"     {}]}]}}";

START_TEST(test_pythtrt_example)
{
	struct sl_conf		*conf = NULL;
	const struct sl_link	*l;
	const struct sl_matcher	*m;
	char			 err[256];

	ck_assert_int_eq(conf_parse(pythtrt_example, strlen(pythtrt_example),
	    &conf, err, sizeof(err)), 0);
	check_defaults(conf);
	ck_assert_uint_eq(conf->nlisteners, 1);
	ck_assert_str_eq(conf->listeners[0].host, "0.0.0.0");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	ck_assert_uint_eq(conf->nlinks, 2);

	l = &conf->links[0];
	ck_assert_str_eq(l->name, "link0");
	ck_assert_int_eq(l->proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(l->host, "127.0.0.1");
	ck_assert_uint_eq(l->port, 1081);
	ck_assert_int_eq(l->via, -1);
	ck_assert_uint_eq(l->timeout_ms, 10000);
	ck_assert_uint_eq(l->nmatchers, 1);
	m = &l->matchers[0];
	ck_assert_int_eq(m->policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(m->ndomains_re, 1);
	ck_assert_str_eq(m->domains_re_src[0], "\\.intranet.com$");
	ck_assert(re_matches(m->domains_re[0], "www.intranet.com"));
	ck_assert(!re_matches(m->domains_re[0], "intranet.com"));
	ck_assert(!re_matches(m->domains_re[0], "www.INTRANET.com"));
	ck_assert(!re_matches(m->domains_re[0], "a.intranet.com.evil"));
	ck_assert_uint_eq(m->nports + m->ndomains + m->nips + m->nclients, 0);

	l = &conf->links[1];
	check_direct_default(l, "link1");
	ck_assert_uint_eq(l->nmatchers, 1);
	ck_assert_int_eq(l->matchers[0].policy, SL_POLICY_ALLOW);
	ck_assert(re_matches(l->matchers[0].domains_re[0], "x.intranet.com"));

	ck_assert_uint_eq(conf->nmatchers, 1);
	m = &conf->matchers[0];
	ck_assert_int_eq(m->policy, SL_POLICY_ALLOW);
	ck_assert_uint_eq(m->nports, 3);
	ck_assert_uint_eq(m->ports[0].lo, 80);
	ck_assert_uint_eq(m->ports[0].hi, 80);
	ck_assert_uint_eq(m->ports[1].lo, 443);
	ck_assert_uint_eq(m->ports[2].hi, 8080);
	ck_assert_uint_eq(m->ndomains_re, 0);
	conf_free(conf);
}
END_TEST

START_TEST(test_empty_object)
{
	struct sl_conf	*conf = must_parse(" \n{ }\r\n\t");

	check_defaults(conf);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	ck_assert_uint_eq(conf->links[0].nmatchers, 0);
	ck_assert_uint_eq(conf->nmatchers, 0);
	conf_free(conf);
}
END_TEST

/* No links, or an empty list, still relays: one direct link. */
START_TEST(test_empty_links)
{
	struct sl_conf	*conf;

	conf = must_parse("{'balancer': {}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	conf_free(conf);
	conf = must_parse("{'balancer': {'links': [], 'matchers': [],"
	    " 'strategy': 'fastest'}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_ptr_nonnull(conf->matchers);
	conf_free(conf);
}
END_TEST

static void
check_full_root(const struct sl_conf *conf)
{
	ck_assert_uint_eq(conf->nlisteners, 2);
	ck_assert_str_eq(conf->listeners[0].host, "127.0.0.1");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "127.0.0.1", 1080);
	ck_assert_str_eq(conf->listeners[1].host, "::1");
	check_addr(&conf->listeners[1].addr, conf->listeners[1].addrlen,
	    AF_INET6, "::1", 1081);
	ck_assert_uint_eq(conf->handshake_timeout_ms, 2500);
	ck_assert_uint_eq(conf->max_sessions, 500);
	ck_assert_str_eq(conf->user, "_sluice");
	ck_assert_uint_eq(conf->workers, 4);
	ck_assert_str_eq(conf->chroot, "/var/lib/sluice");
	ck_assert_uint_eq(conf->shutdown_timeout_s, 0);
	ck_assert_int_eq(conf->log_level, SL_LOG_DEBUG);
	ck_assert_uint_eq(conf->idle_timeout_ms, 60000);
	ck_assert_int_eq(conf->splice, 0);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 500);
	ck_assert_int_eq(conf->nameservers_system, 0);
	ck_assert_uint_eq(conf->nnameservers, 3);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET, "9.9.9.9", 53);
	check_addr(&conf->nameservers[1].addr, conf->nameservers[1].addrlen,
	    AF_INET6, "2620:fe::fe", 5353);
	check_addr(&conf->nameservers[2].addr, conf->nameservers[2].addrlen,
	    AF_INET, "1.1.1.1", 53);
	ck_assert_int_eq(conf->strategy, SL_STRAT_FAILOVER);
	ck_assert_uint_eq(conf->retries, 3);
	ck_assert_uint_eq(conf->nmatchers, 1);
	ck_assert_int_eq(conf->matchers[0].policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(conf->matchers[0].nclients, 1);
	check_cidr(&conf->matchers[0].clients[0], AF_INET, "192.0.2.0", 24);
}

static void
check_full_links(const struct sl_link *l)
{
	ck_assert_str_eq(l[0].name, "wan0");
	ck_assert_int_eq(l[0].proto, SL_LINK_DIRECT);
	ck_assert_str_eq(l[0].interface, "eth0");
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "192.0.2.10", 0);
	ck_assert_uint_eq(l[0].timeout_ms, 3000);
	ck_assert_uint_eq(l[0].weight, 3);
	ck_assert_uint_eq(l[0].max_connections, 100);
	ck_assert_int_eq(l[0].via, -1);
	ck_assert_uint_eq(l[0].max_fails, 0);
	ck_assert_uint_eq(l[0].cooldown_ms, 2500);
	ck_assert_int_eq(l[0].check.enabled, 1);
	check_addr(&l[0].check.target, l[0].check.targetlen, AF_INET,
	    "192.0.2.1", 80);
	ck_assert_uint_eq(l[0].check.interval_ms, 1000);
	ck_assert_uint_eq(l[0].check.timeout_ms, 500);
	ck_assert_uint_eq(l[0].check.fails, 4);
	ck_assert_uint_eq(l[0].check.passes, 3);
	ck_assert_int_eq(l[1].check.enabled, 0);
	ck_assert_uint_eq(l[1].max_fails, 3);

	ck_assert_str_eq(l[1].name, "hop1");
	ck_assert_int_eq(l[1].proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(l[1].host, "proxy.example.net");
	ck_assert_uint_eq(l[1].port, 1081);
	ck_assert_str_eq(l[1].username, "u");
	ck_assert_str_eq(l[1].password, "p");
	ck_assert_int_eq(l[1].via, 0);
	ck_assert_uint_eq(l[1].sourcelen, 0);

	ck_assert_str_eq(l[2].name, "hop2");
	ck_assert_str_eq(l[2].host, "2001:db8::7");
	ck_assert_uint_eq(l[2].port, 9050);
	ck_assert_int_eq(l[2].via, 1);
	check_addr(&l[2].source, l[2].sourcelen, AF_INET6, "2001:db8::1", 0);
	ck_assert_str_eq(l[2].username, "");
}

static void
check_full_matchers(const struct sl_link *l)
{
	const struct sl_matcher	*m = l->matchers;

	ck_assert_uint_eq(l->nmatchers, 3);
	ck_assert_int_eq(m[0].policy, SL_POLICY_PRIORITIZE);
	ck_assert_uint_eq(m[0].ndomains, 1);
	ck_assert_str_eq(m[0].domains[0], "onion");
	ck_assert_uint_eq(m[0].nports, 3);
	ck_assert_uint_eq(m[0].ports[1].lo, 443);
	ck_assert_uint_eq(m[0].ports[1].hi, 443);
	ck_assert_uint_eq(m[0].ports[2].lo, 8000);
	ck_assert_uint_eq(m[0].ports[2].hi, 8999);
	ck_assert_uint_eq(m[0].nips, 2);
	check_cidr(&m[0].ips[0], AF_INET, "10.0.0.0", 8);
	check_cidr(&m[0].ips[1], AF_INET6, "2001:d000::", 20);
	ck_assert_int_eq(m[1].policy, SL_POLICY_DEPRIORITIZE);
	ck_assert_uint_eq(m[1].ndomains_re, 2);
	ck_assert(re_matches(m[1].domains_re[0], "abc"));
	ck_assert(!re_matches(m[1].domains_re[0], "cba"));
	ck_assert(re_matches(m[1].domains_re[1], "cab"));
	ck_assert_uint_eq(m[1].nports, 1);
	ck_assert_uint_eq(m[1].ports[0].lo, 1);
	ck_assert_uint_eq(m[1].ports[0].hi, 1023);
	ck_assert_int_eq(m[2].policy, SL_POLICY_FORBID);
	ck_assert_uint_eq(m[2].nports + m[2].ndomains_re + m[2].ndomains +
	    m[2].nips + m[2].nclients, 0);
}

START_TEST(test_full)
{
	struct sl_conf	*conf = must_parse(full_config);

	check_full_root(conf);
	ck_assert_uint_eq(conf->nlinks, 3);
	check_full_links(conf->links);
	check_full_matchers(&conf->links[2]);
	conf_free(conf);
}
END_TEST

static void
check_contrib(const char *text, size_t len)
{
	struct sl_conf	*conf = NULL;
	char		 err[256];

	ck_assert_msg(conf_parse(text, len, &conf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "127.0.0.1", 1080);
	ck_assert_str_eq(conf->listeners[0].name, "default");
	ck_assert_int_eq(conf->listeners[0].kind, SL_LISTEN_MIXED);
	ck_assert_uint_eq(conf->listeners[0].nusers, 0);
	ck_assert_uint_eq(conf->listeners[0].nclients, 0);
	ck_assert_uint_eq(conf->workers, 2);
	ck_assert_str_eq(conf->user, "_sluice");
	ck_assert_str_eq(conf->resolver_user, "_sluice-resolver");
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->nlinks, 1);
	check_direct_default(&conf->links[0], "direct");
	conf->workers = 0;
	check_defaults(conf);
	conf_free(conf);
}

START_TEST(test_contrib_copy)
{
	check_contrib(contrib_copy, strlen(contrib_copy));
}
END_TEST

/* The shipped file; SL_SRCDIR is set by tests/meson.build. */
START_TEST(test_contrib_file)
{
	const char	*dir = getenv("SL_SRCDIR");
	char		 path[4096], text[65536];
	FILE		*f;
	size_t		 len;

	if (dir == NULL) {
		fprintf(stderr, "check_config: SL_SRCDIR unset, "
		    "contrib/sluice.json not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/contrib/sluice.json", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: cannot open", path);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	ck_assert_uint_lt(len, sizeof(text));
	check_contrib(text, len);
}
END_TEST

START_TEST(test_timeouts)
{
	struct sl_conf	*conf;

	conf = must_parse("{'timeout': 0.25, 'idle_timeout': 86400,"
	    " 'resolve_timeout': 0.0001, 'balancer': {'links': ["
	    "{'timeout': 1e-3}]}}");
	ck_assert_uint_eq(conf->handshake_timeout_ms, 250);
	ck_assert_uint_eq(conf->idle_timeout_ms, 86400000);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 1);
	ck_assert_uint_eq(conf->links[0].timeout_ms, 1);
	conf_free(conf);
}
END_TEST

START_TEST(test_listen_domain)
{
	struct sl_conf	*conf;

	conf = must_parse("{'domain': '::', 'port': 1}");
	ck_assert_str_eq(conf->listeners[0].host, "::");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET6, "::", 1);
	conf_free(conf);
	conf = must_parse("{'port': 65535}");
	ck_assert_str_eq(conf->listeners[0].host, "0.0.0.0");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 65535);
	conf_free(conf);
	conf = must_parse("{'domain': '10.0.0.1'}");
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "10.0.0.1", 1080);
	conf_free(conf);
	/* Same address, other port: two listeners. */
	conf = must_parse("{'listen': ['0.0.0.0:1', '0.0.0.0:2', '[::]:1']}");
	ck_assert_uint_eq(conf->nlisteners, 3);
	ck_assert_str_eq(conf->listeners[2].host, "::");
	check_addr(&conf->listeners[1].addr, conf->listeners[1].addrlen,
	    AF_INET, "0.0.0.0", 2);
	conf_free(conf);
}
END_TEST

/* forward, udp_forward, redirect, tproxy (issue 11). */
START_TEST(test_forwarding_listeners)
{
	struct sl_conf			*conf;
	const struct sl_listener	*l;

	conf = must_parse("{'listeners': ["
	    "{'name': 'f', 'kind': 'forward', 'listen': '127.0.0.1:1', "
	    "'target': 'Example.org:443'},"
	    "{'name': 'u', 'kind': 'udp_forward', 'listen': '127.0.0.1:1', "
	    "'target': '[::1]:53', 'udp_idle_timeout': 2.5, 'max_flows': 10, "
	    "'max_flows_per_client': 3},"
	    "{'name': 'r', 'kind': 'redirect', 'listen': '0.0.0.0:2'},"
	    "{'name': 'tp', 'kind': 'tproxy', 'listen': '0.0.0.0:3', "
	    "'udp': true, 'clients': ['10.0.0.0/8']}]}");
	ck_assert_uint_eq(conf->nlisteners, 5);
	l = &conf->listeners[0];
	ck_assert_int_eq(l->kind, SL_LISTEN_FORWARD);
	ck_assert_str_eq(l->target_host, "Example.org");
	ck_assert_uint_eq(l->target_port, 443);
	ck_assert_uint_eq(l->target_addrlen, 0);
	/* Same address as f, but UDP: allowed. */
	l = &conf->listeners[1];
	ck_assert_int_eq(l->kind, SL_LISTEN_UDP_FORWARD);
	check_addr(&l->target_addr, l->target_addrlen, AF_INET6, "::1", 53);
	ck_assert_uint_eq(l->udp_idle_ms, 2500);
	ck_assert_uint_eq(l->max_flows, 10);
	ck_assert_uint_eq(l->max_flows_per_client, 3);
	ck_assert_int_eq(conf->listeners[2].kind, SL_LISTEN_REDIRECT);
	ck_assert_uint_eq(conf->listeners[2].max_flows, 4096);
	ck_assert_uint_eq(conf->listeners[2].max_flows_per_client, 64);
	ck_assert_uint_eq(conf->listeners[2].udp_idle_ms, 60000);
	/* tproxy's UDP side: a twin at the end, borrowing its arrays. */
	ck_assert_int_eq(conf->listeners[3].kind, SL_LISTEN_TPROXY);
	l = &conf->listeners[4];
	ck_assert_int_eq(l->kind, SL_LISTEN_TPROXY_UDP);
	ck_assert_str_eq(l->name, "tp.udp");
	ck_assert_int_eq(l->borrowed, 1);
	ck_assert_ptr_eq(l->clients, conf->listeners[3].clients);
	ck_assert_uint_eq(l->nclients, 1);
	ck_assert_int_eq(SL_LISTENER_UDP(l), 1);
	ck_assert_int_eq(SL_LISTENER_UDP(&conf->listeners[3]), 0);
	conf_free(conf);	/* LSan: the borrowed arrays freed once */
}
END_TEST

START_TEST(test_nameservers)
{
	struct sl_conf	*conf;

	conf = must_parse("{'nameservers': 'system'}");
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	conf_free(conf);
	conf = must_parse("{'nameservers': '192.0.2.53:5353'}");
	ck_assert_int_eq(conf->nameservers_system, 0);
	ck_assert_uint_eq(conf->nnameservers, 1);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET, "192.0.2.53", 5353);
	conf_free(conf);
	/* A bare IPv6 address takes no port: "::1:53" is an address. */
	conf = must_parse("{'nameservers': ['::1:53', '[::1]', "
	    "'[2001:db8::1]:1']}");
	ck_assert_uint_eq(conf->nnameservers, 3);
	check_addr(&conf->nameservers[0].addr, conf->nameservers[0].addrlen,
	    AF_INET6, "::0.1.0.83", 53);
	check_addr(&conf->nameservers[1].addr, conf->nameservers[1].addrlen,
	    AF_INET6, "::1", 53);
	check_addr(&conf->nameservers[2].addr, conf->nameservers[2].addrlen,
	    AF_INET6, "2001:db8::1", 1);
	conf_free(conf);
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} t[] = {
		{ "error", SL_LOG_ERROR }, { "WARN", SL_LOG_WARN },
		{ "Warning", SL_LOG_WARN }, { "info", SL_LOG_INFO },
		{ "debug", SL_LOG_DEBUG },
	};
	struct sl_conf	*conf;
	char		 doc[64];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(doc, sizeof(doc), "{'log_level': '%s'}", t[i].name);
		conf = must_parse(doc);
		ck_assert_int_eq(conf->log_level, t[i].level);
		conf_free(conf);
	}
}
END_TEST

START_TEST(test_names)
{
	static const char *const strat[] = { "round_robin", "random_link",
	    "least_connections", "failover", "fastest" };
	static const char *const pol[] = { "allow", "forbid", "prioritize",
	    "deprioritize" };
	struct sl_conf	*conf;
	char		 doc[128];
	size_t		 i;

	for (i = 0; i < 5; i++) {
		ck_assert_str_eq(conf_strategy_name((enum sl_strategy)i),
		    strat[i]);
		snprintf(doc, sizeof(doc), "{'balancer': {'strategy': '%s'}}",
		    strat[i]);
		conf = must_parse(doc);
		ck_assert_uint_eq(conf->strategy, i);
		conf_free(conf);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(conf_policy_name((enum sl_policy)i), pol[i]);
		snprintf(doc, sizeof(doc),
		    "{'balancer': {'matchers': [{'policy': '%s'}]}}", pol[i]);
		conf = must_parse(doc);
		ck_assert_uint_eq(conf->matchers[0].policy, i);
		conf_free(conf);
	}
	ck_assert_str_eq(conf_strategy_name((enum sl_strategy)99), "unknown");
	ck_assert_str_eq(conf_policy_name((enum sl_policy)99), "unknown");
}
END_TEST

/* Values PythTRT writes for "not set" on a direct link are accepted. */
START_TEST(test_pythtrt_explicit_defaults)
{
	struct sl_conf	*conf;

	conf = must_parse("{'domain': '0.0.0.0', 'port': 1080, 'timeout': 5,"
	    " 'max_threads': 200, 'balancer': {'strategy': 'round_robin',"
	    " 'links': [{'protocol': 'direct', 'domain': '', 'port': 0,"
	    " 'interface': '', 'timeout': 10, 'weight': 1,"
	    " 'matchers': [{'policy': 'forbid', 'domains_re': [],"
	    " 'ports': []}]}], 'matchers': []}}");
	check_defaults(conf);
	check_direct_default(&conf->links[0], "link0");
	ck_assert_uint_eq(conf->links[0].nmatchers, 1);
	ck_assert_int_eq(conf->links[0].matchers[0].policy, SL_POLICY_FORBID);
	conf_free(conf);
}
END_TEST

/* A check with only its target: the documented defaults. */
START_TEST(test_check_defaults)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'balancer': {'retries': 0, 'links': [{'check':"
	    " {'target': '[::1]:8080'}}, {'max_fails': 1000, 'cooldown': 86400,"
	    " 'check': {'target': '10.0.0.1:1', 'interval': 2, 'timeout': 2}}"
	    "]}}");
	ck_assert_uint_eq(conf->retries, 0);
	l = &conf->links[0];
	ck_assert_int_eq(l->check.enabled, 1);
	check_addr(&l->check.target, l->check.targetlen, AF_INET6, "::1",
	    8080);
	ck_assert_uint_eq(l->check.interval_ms, 5000);
	ck_assert_uint_eq(l->check.timeout_ms, 2000);
	ck_assert_uint_eq(l->check.fails, 2);
	ck_assert_uint_eq(l->check.passes, 1);
	ck_assert_uint_eq(l->max_fails, 3);
	ck_assert_uint_eq(l->cooldown_ms, 10000);
	l = &conf->links[1];
	ck_assert_uint_eq(l->max_fails, 1000);
	ck_assert_uint_eq(l->cooldown_ms, 86400000);
	ck_assert_uint_eq(l->check.interval_ms, 2000);
	ck_assert_uint_eq(l->check.timeout_ms, 2000);
	conf_free(conf);
}
END_TEST

START_TEST(test_matcher_values)
{
	struct sl_conf		*conf;
	const struct sl_matcher	*m;

	conf = must_parse("{'balancer': {'matchers': [{'ports': ['1-65535',"
	    " 65535, '22'], 'domains': ['.Foo.ORG', 'bar', 'x_y-z.', "
	    "'*.a.b'], 'ips': ['10.1.255.255/20', '0.0.0.0/0', '::1',"
	    " '192.0.2.1', 'ffff::ffff/1', '2001:db8::ff/127'],"
	    " 'domains_re': ['']}]}}");
	m = &conf->matchers[0];
	ck_assert_uint_eq(m->ports[0].lo, 1);
	ck_assert_uint_eq(m->ports[0].hi, 65535);
	ck_assert_uint_eq(m->ports[1].lo, 65535);
	ck_assert_uint_eq(m->ports[2].lo, 22);
	ck_assert_uint_eq(m->ports[2].hi, 22);
	ck_assert_str_eq(m->domains[0], "foo.org");
	ck_assert_str_eq(m->domains[1], "bar");
	ck_assert_str_eq(m->domains[2], "x_y-z");
	ck_assert_str_eq(m->domains[3], "a.b");
	check_cidr(&m->ips[0], AF_INET, "10.1.240.0", 20);
	check_cidr(&m->ips[1], AF_INET, "0.0.0.0", 0);
	check_cidr(&m->ips[2], AF_INET6, "::1", 128);
	check_cidr(&m->ips[3], AF_INET, "192.0.2.1", 32);
	check_cidr(&m->ips[4], AF_INET6, "8000::", 1);
	check_cidr(&m->ips[5], AF_INET6, "2001:db8::fe", 127);
	ck_assert(re_matches(m->domains_re[0], "anything"));
	conf_free(conf);
}
END_TEST

/* Resolver and racing keys, none at its default. */
START_TEST(test_resolver_keys)
{
	struct sl_conf	*conf;

	conf = must_parse("{'nameservers_backup': ['8.8.8.8',"
	    " '[2001:db8::53]:5353', '192.0.2.1:54'],"
	    " 'ip_blacklist': ['203.0.113.0/24', '::1'],"
	    " 'dns_min_ttl': 0, 'dns_max_ttl': 604800, 'dns_negative_ttl': 0,"
	    " 'dns_cache_size': 0, 'hijack_check_interval': 0,"
	    " 'hijack_probes': ['192.0.2.9', '[2001:db8::9]:5300', '::9',"
	    " '192.0.2.10:1'], 'happy_eyeballs_delay': 0.1,"
	    " 'route_cache_ttl': 0, 'IpBlacklist': ['198.51.100.7']}");
	ck_assert_uint_eq(conf->nnameservers_backup, 3);
	check_addr(&conf->nameservers_backup[0].addr,
	    conf->nameservers_backup[0].addrlen, AF_INET, "8.8.8.8", 53);
	check_addr(&conf->nameservers_backup[1].addr,
	    conf->nameservers_backup[1].addrlen, AF_INET6, "2001:db8::53",
	    5353);
	check_addr(&conf->nameservers_backup[2].addr,
	    conf->nameservers_backup[2].addrlen, AF_INET, "192.0.2.1", 54);
	/* Both blacklists, in document order. */
	ck_assert_uint_eq(conf->nip_blacklist, 3);
	check_cidr(&conf->ip_blacklist[0], AF_INET, "203.0.113.0", 24);
	check_cidr(&conf->ip_blacklist[1], AF_INET6, "::1", 128);
	check_cidr(&conf->ip_blacklist[2], AF_INET, "198.51.100.7", 32);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 0);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 604800);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 0);
	ck_assert_uint_eq(conf->dns_cache_size, 0);
	ck_assert_uint_eq(conf->hijack_interval_s, 0);
	ck_assert_uint_eq(conf->nhijack_probes, 4);
	check_addr(&conf->hijack_probes[0].addr,
	    conf->hijack_probes[0].addrlen, AF_INET, "192.0.2.9", 53);
	check_addr(&conf->hijack_probes[1].addr,
	    conf->hijack_probes[1].addrlen, AF_INET6, "2001:db8::9", 5300);
	check_addr(&conf->hijack_probes[2].addr,
	    conf->hijack_probes[2].addrlen, AF_INET6, "::9", 53);
	check_addr(&conf->hijack_probes[3].addr,
	    conf->hijack_probes[3].addrlen, AF_INET, "192.0.2.10", 1);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 100);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 0);
	conf_free(conf);
	/* The other ends of the ranges; one backup as a string; none. */
	conf = must_parse("{'nameservers_backup': '9.9.9.9:5353',"
	    " 'dns_min_ttl': 86400, 'dns_max_ttl': 86400,"
	    " 'dns_negative_ttl': 86400, 'dns_cache_size': 1000000,"
	    " 'hijack_check_interval': 86400, 'happy_eyeballs_delay': 86400,"
	    " 'route_cache_ttl': 86400, 'ip_blacklist': [], 'IpBlacklist': [],"
	    " 'hijack_probes': []}");
	ck_assert_uint_eq(conf->nnameservers_backup, 1);
	check_addr(&conf->nameservers_backup[0].addr,
	    conf->nameservers_backup[0].addrlen, AF_INET, "9.9.9.9", 5353);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 86400);
	ck_assert_uint_eq(conf->dns_cache_size, 1000000);
	ck_assert_uint_eq(conf->hijack_interval_s, 86400);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 86400000);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 86400);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_uint_eq(conf->nhijack_probes, 0);
	conf_free(conf);
	conf = must_parse("{'nameservers_backup': [], 'dns_max_ttl': 1,"
	    " 'dns_min_ttl': 1, 'happy_eyeballs_delay': 0.0001}");
	ck_assert_uint_eq(conf->nnameservers_backup, 0);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 1);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 1);
	conf_free(conf);
}
END_TEST

/* selectable, source and source_port on sluice links. */
START_TEST(test_link_selectable_source)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'balancer': {'links': ["
	    "{'name': 'wan', 'selectable': false, 'source': '192.0.2.1',"
	    " 'source_port': 40000},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'wan',"
	    " 'selectable': true, 'source_port': 0, 'source': '2001:db8::2'},"
	    " {'source': '0.0.0.0'}, {'source': '::', 'source_port': 0},"
	    " {'source': '0.0.0.0', 'source_port': 5000},"
	    " {'source_port': 1, 'source': '::'}]}}");
	l = conf->links;
	ck_assert_int_eq(l[0].selectable, 0);
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "192.0.2.1", 40000);
	ck_assert_int_eq(l[1].selectable, 1);
	ck_assert_int_eq(l[1].via, 0);
	check_addr(&l[1].source, l[1].sourcelen, AF_INET6, "2001:db8::2", 0);
	/* The unspecified address with port 0 binds nothing. */
	ck_assert_uint_eq(l[2].sourcelen, 0);
	ck_assert_int_eq(l[2].source.ss_family, 0);
	ck_assert_uint_eq(l[3].sourcelen, 0);
	check_addr(&l[4].source, l[4].sourcelen, AF_INET, "0.0.0.0", 5000);
	check_addr(&l[5].source, l[5].sourcelen, AF_INET6, "::", 1);
	ck_assert_int_eq(l[5].selectable, 1);
	conf_free(conf);
}
END_TEST

TCase *
config_valid_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, test_pythtrt_example);
	tcase_add_test(tc, test_empty_object);
	tcase_add_test(tc, test_empty_links);
	tcase_add_test(tc, test_forwarding_listeners);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_contrib_copy);
	tcase_add_test(tc, test_contrib_file);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_listen_domain);
	tcase_add_test(tc, test_nameservers);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_pythtrt_explicit_defaults);
	tcase_add_test(tc, test_matcher_values);
	tcase_add_test(tc, test_check_defaults);
	tcase_add_test(tc, test_resolver_keys);
	tcase_add_test(tc, test_link_selectable_source);
	return tc;
}
