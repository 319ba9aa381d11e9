/*
 * Configuration loader tests, TcpRoute documents: its README example
 * unchanged, upstream trees flattened into links and races, its log
 * levels, long socks5 chains and deeply nested races with unique names.
 * Part of the check_config executable (see check_config.h).
 */
#include "check_config.h"

/* TcpRoute's README example, byte for byte, "INDO" included. */
static const char tcproute_example[] =
"{\n"
"  \"log_level\":\"INDO\",\n"
"  \"port\":7070,\n"
"  \"nameservers\":\"system\",\n"
"  \"nameservers_backup\":[\"8.8.8.8\",\"8.8.4.4\",\"208.67.222.222\","
"\"208.67.220.220\"],\n"
"  \"upstream\":\n"
"  {\n"
"    \"type\":\"multipath\",\n"
"    \"list\":\n"
"    [\n"
"      {\n"
"        \"type\":\"direct\",\n"
"        \"source_ip\":\"0.0.0.0\",\n"
"        \"source_port\":0\n"
"      },\n"
"      {\n"
"        \"type\":\"socks5\",\n"
"        \"host\":\"127.0.0.1\",\n"
"        \"port\":5555,\n"
"        \"upstream\":\n"
"        {\n"
"          \"type\":\"direct\",\n"
"          \"source_ip\":\"0.0.0.0\",\n"
"          \"source_port\":0\n"
"        }\n"
"      }\n"
"    ]\n"
"  },\n"
"  \"IpBlacklist\":[]\n"
"}\n";

/* TcpRoute's README example loads as is and routes as it says. */
START_TEST(test_tcproute_example)
{
	struct sl_conf		*conf = NULL;
	const struct sl_link	*l;
	static const char *const backup[] = { "8.8.8.8", "8.8.4.4",
	    "208.67.222.222", "208.67.220.220" };
	char			 err[256];
	size_t			 i;

	ck_assert_msg(conf_parse(tcproute_example, strlen(tcproute_example),
	    &conf, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_uint_eq(conf->nlisteners, 1);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 7070);
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	ck_assert_uint_eq(conf->nnameservers_backup, 4);
	for (i = 0; i < 4; i++)
		check_addr(&conf->nameservers_backup[i].addr,
		    conf->nameservers_backup[i].addrlen, AF_INET, backup[i],
		    53);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 3);
	l = conf->links;
	check_direct_default(&l[0], "upstream.list[0]");
	ck_assert_str_eq(l[1].name, "upstream.list[1]");
	ck_assert_int_eq(l[1].proto, SL_LINK_SOCKS5);
	ck_assert_int_eq(l[1].selectable, 1);
	ck_assert_str_eq(l[1].host, "127.0.0.1");
	ck_assert_uint_eq(l[1].port, 5555);
	ck_assert_int_eq(l[1].via, 2);
	ck_assert_uint_eq(l[1].sourcelen, 0);
	ck_assert_uint_eq(l[1].timeout_ms, 10000);
	ck_assert_str_eq(l[2].name, "upstream.list[1].upstream");
	ck_assert_int_eq(l[2].proto, SL_LINK_DIRECT);
	ck_assert_int_eq(l[2].selectable, 0);
	ck_assert_uint_eq(l[2].sourcelen, 0);
	ck_assert_int_eq(l[2].via, -1);
	/* Everything else at sluice's defaults. */
	conf->log_level = SL_LOG_INFO;
	conf->nnameservers_backup = 0;
	conf->strategy = SL_STRAT_ROUND_ROBIN;
	check_defaults(conf);
	conf->nnameservers_backup = 4;
	conf_free(conf);
}
END_TEST

/* One entry at the top; sources; flattened races; sluice keys beside. */
START_TEST(test_tcproute_trees)
{
	struct sl_conf		*conf;
	const struct sl_link	*l;

	conf = must_parse("{'upstream': {'type': 'direct', 'source_ip':"
	    " '192.0.2.7', 'source_port': 0}, 'workers': 2,"
	    " 'ip_blacklist': ['10.0.0.0/8'], 'IpBlacklist': ['192.0.2.66']}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream");
	ck_assert_int_eq(conf->links[0].selectable, 1);
	check_addr(&conf->links[0].source, conf->links[0].sourcelen, AF_INET,
	    "192.0.2.7", 0);
	ck_assert_uint_eq(conf->workers, 2);
	ck_assert_uint_eq(conf->nip_blacklist, 2);
	check_cidr(&conf->ip_blacklist[1], AF_INET, "192.0.2.66", 32);
	check_addr(&conf->listeners[0].addr, conf->listeners[0].addrlen,
	    AF_INET, "0.0.0.0", 1080);
	conf_free(conf);

	conf = must_parse("{'upstream': {'type': 'socks5', 'host':"
	    " 'proxy.example', 'port': 1080}}");
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream");
	ck_assert_int_eq(conf->links[0].proto, SL_LINK_SOCKS5);
	ck_assert_str_eq(conf->links[0].host, "proxy.example");
	ck_assert_int_eq(conf->links[0].via, -1);
	ck_assert_int_eq(conf->links[0].selectable, 1);
	conf_free(conf);

	/* A multipath in a list joins the same race. */
	conf = must_parse("{'upstream': {'type': 'multipath', 'list': ["
	    "{'type': 'direct', 'source_port': 7000},"
	    " {'type': 'multipath', 'list': [{'type': 'direct', 'source_ip':"
	    " '2001:db8::1', 'source_port': 1234}, {'type': 'socks5', 'host':"
	    " '2001:db8::5', 'port': 1, 'upstream': {'type': 'direct',"
	    " 'source_ip': '::'}}]},"
	    " {'source_ip': '192.0.2.2', 'type': 'direct'}]}}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 5);
	l = conf->links;
	ck_assert_str_eq(l[0].name, "upstream.list[0]");
	check_addr(&l[0].source, l[0].sourcelen, AF_INET, "0.0.0.0", 7000);
	ck_assert_str_eq(l[1].name, "upstream.list[1].list[0]");
	check_addr(&l[1].source, l[1].sourcelen, AF_INET6, "2001:db8::1",
	    1234);
	ck_assert_str_eq(l[2].name, "upstream.list[1].list[1]");
	ck_assert_str_eq(l[2].host, "2001:db8::5");
	ck_assert_int_eq(l[2].via, 3);
	ck_assert_str_eq(l[3].name, "upstream.list[1].list[1].upstream");
	ck_assert_uint_eq(l[3].sourcelen, 0);
	ck_assert_str_eq(l[4].name, "upstream.list[2]");
	check_addr(&l[4].source, l[4].sourcelen, AF_INET, "192.0.2.2", 0);
	ck_assert_int_eq(l[0].selectable + l[1].selectable + l[2].selectable +
	    l[4].selectable, 4);
	ck_assert_int_eq(l[3].selectable, 0);
	conf_free(conf);

	/* A top-level multipath of one: still a race. */
	conf = must_parse("{'upstream': {'list': [{'type': 'direct'}],"
	    " 'type': 'multipath'}}");
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "upstream.list[0]");
	conf_free(conf);
}
END_TEST

/* In a TcpRoute document a level sluice does not know is info. */
START_TEST(test_tcproute_log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} t[] = {
		{ "INDO", SL_LOG_INFO }, { "INFO", SL_LOG_INFO },
		{ "DEBUG", SL_LOG_DEBUG }, { "WARNING", SL_LOG_WARN },
		{ "ERROR", SL_LOG_ERROR }, { "CRITICAL", SL_LOG_ERROR },
		{ "", SL_LOG_INFO }, { "verbose", SL_LOG_INFO },
	};
	struct sl_conf	*conf;
	char		 doc[128];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* log_level before upstream: the whole document decides. */
		snprintf(doc, sizeof(doc), "{'log_level': '%s', 'upstream':"
		    " {'type': 'direct'}}", t[i].name);
		conf = must_parse(doc);
		ck_assert_int_eq(conf->log_level, t[i].level);
		conf_free(conf);
	}
}
END_TEST

/* n socks5 entries, each the upstream of the one before, then a direct. */
static char *
tcproute_chain(size_t n, const char *head, const char *tail)
{
	struct buf	b = { NULL, 0, 0 };
	size_t		i;

	add(&b, head);
	for (i = 0; i < n; i++)
		add(&b, "{'type': 'socks5', 'host': 'h', 'port': 1080,"
		    " 'upstream': ");
	add(&b, "{'type': 'direct', 'source_ip': '192.0.2.1'}");
	for (i = 0; i < n; i++)
		add(&b, "}");
	add(&b, tail);
	return b.s;
}

/* Up to SL_MAX_CHAIN socks5 hops; long paths are cut, names unique. */
START_TEST(test_tcproute_deep)
{
	struct sl_conf	*conf;
	char		*doc, want[640], path[512];
	const char	*tail;
	size_t		 i, j, plen;

	doc = tcproute_chain(SL_MAX_CHAIN, "{'upstream': {'type': "
	    "'multipath', 'list': [{'type': 'direct'}, ", "]}}");
	conf = must_parse(doc);
	free(doc);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_CHAIN + 2);
	plen = (size_t)snprintf(path, sizeof(path), "upstream.list[1]");
	for (i = 1; i <= SL_MAX_CHAIN + 1; i++) {
		ck_assert_int_eq(conf->links[i].selectable, i == 1);
		ck_assert_int_eq(conf->links[i].proto, i <= SL_MAX_CHAIN ?
		    SL_LINK_SOCKS5 : SL_LINK_DIRECT);
		ck_assert_int_eq(conf->links[i].via, i <= SL_MAX_CHAIN ?
		    (int)i + 1 : -1);
		if (plen < 64)
			ck_assert_str_eq(conf->links[i].name, path);
		else {
			/* Head, the index, and as much of the tail as fits. */
			snprintf(want, sizeof(want), "upstream.list[1]..#%zu..",
			    i);
			ck_assert_msg(strncmp(conf->links[i].name, want,
			    strlen(want)) == 0, "%s", conf->links[i].name);
			tail = conf->links[i].name + strlen(want);
			ck_assert_str_eq(tail, "upstream.upstream.upstream."
			    "upstream");
			ck_assert_str_eq(tail, path + plen - strlen(tail));
		}
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen,
		    ".upstream");
	}
	check_addr(&conf->links[SL_MAX_CHAIN + 1].source,
	    conf->links[SL_MAX_CHAIN + 1].sourcelen, AF_INET, "192.0.2.1", 0);
	for (i = 0; i < conf->nlinks; i++)
		for (j = 0; j < i; j++)
			ck_assert_str_ne(conf->links[i].name,
			    conf->links[j].name);
	conf_free(conf);

	/* One hop more, at the top: the entry that makes it is named. */
	doc = tcproute_chain(SL_MAX_CHAIN + 1, "{'upstream': ", "}");
	plen = (size_t)snprintf(path, sizeof(path), "upstream");
	for (i = 0; i < SL_MAX_CHAIN; i++)
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen,
		    ".upstream");
	snprintf(want, sizeof(want), "%s: chain of %d socks5 hops is longer "
	    "than %d", path, SL_MAX_CHAIN + 1, SL_MAX_CHAIN);
	must_fail(doc, want);
	free(doc);
}
END_TEST

/* Races nested deeper than a name is long keep distinct names. */
START_TEST(test_tcproute_nested_races)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i, j, depth = 12;

	add(&b, "{'upstream': ");
	for (i = 0; i < depth; i++)
		add(&b, "{'type': 'multipath', 'list': [{'type': 'direct'}, ");
	add(&b, "{'type': 'direct'}");
	for (i = 0; i < depth; i++)
		add(&b, "]}");
	add(&b, "}");
	conf = must_parse(b.s);
	free(b.s);
	ck_assert_uint_eq(conf->nlinks, depth + 1);
	ck_assert_str_eq(conf->links[0].name, "upstream.list[0]");
	ck_assert_str_eq(conf->links[1].name, "upstream.list[1].list[0]");
	ck_assert_str_eq(conf->links[depth].name,
	    "upstream.list[1]..#12..list[1].list[1].list[1].list[1].list[1]");
	for (i = 0; i < conf->nlinks; i++) {
		ck_assert_int_eq(conf->links[i].selectable, 1);
		ck_assert_uint_lt(strlen(conf->links[i].name), 64);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(conf->links[i].name,
			    conf->links[j].name);
	}
	ck_assert_int_eq(conf->strategy, SL_STRAT_FASTEST);
	conf_free(conf);
}
END_TEST

/*
 * deny_targets: link-local (cloud metadata) by default; a given list,
 * even empty, replaces the default rather than adding to it.
 */
START_TEST(test_deny_targets)
{
	struct sl_conf	*conf;

	conf = must_parse("{}");
	ck_assert_uint_eq(conf->ndeny_targets, 2);
	check_cidr(&conf->deny_targets[0], AF_INET, "169.254.0.0", 16);
	check_cidr(&conf->deny_targets[1], AF_INET6, "fe80::", 10);
	conf_free(conf);

	conf = must_parse("{'deny_targets': []}");
	ck_assert_uint_eq(conf->ndeny_targets, 0);
	conf_free(conf);

	conf = must_parse("{'deny_targets': ['10.1.2.3', 'fd00:ec2::254'],"
	    " 'ip_blacklist': ['192.0.2.1']}");
	ck_assert_uint_eq(conf->ndeny_targets, 2);
	check_cidr(&conf->deny_targets[0], AF_INET, "10.1.2.3", 32);
	check_cidr(&conf->deny_targets[1], AF_INET6, "fd00:ec2::254", 128);
	ck_assert_uint_eq(conf->nip_blacklist, 1);
	conf_free(conf);

	/* TcpRoute's documents get the default too. */
	conf = must_parse("{'upstream': {'type': 'direct'}}");
	ck_assert_uint_eq(conf->ndeny_targets, 2);
	conf_free(conf);
}
END_TEST

TCase *
config_tcproute_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("tcproute");
	tcase_add_test(tc, test_tcproute_example);
	tcase_add_test(tc, test_tcproute_trees);
	tcase_add_test(tc, test_tcproute_log_levels);
	tcase_add_test(tc, test_tcproute_deep);
	tcase_add_test(tc, test_tcproute_nested_races);
	tcase_add_test(tc, test_deny_targets);
	return tc;
}
