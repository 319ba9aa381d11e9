/*
 * Configuration loader tests, links and limits: socks5 via chains (depth
 * and loops), and every count and size limit at and one past its value,
 * for sluice documents and TcpRoute trees alike.
 * Part of the check_config executable (see check_config.h).
 */
#include "check_config.h"

/* A direct link "wan", then n socks5 links, each through the one before. */
static char *
chain_doc(size_t n)
{
	struct buf	b = { NULL, 0, 0 };
	char		item[160], via[32];
	size_t		i;

	add(&b, "{'balancer': {'links': [{'name': 'wan'}");
	for (i = 0; i < n; i++) {
		if (i == 0)
			snprintf(via, sizeof(via), "wan");
		else
			snprintf(via, sizeof(via), "link%zu", i);
		snprintf(item, sizeof(item), ", {'protocol': 'socks5', "
		    "'domain': 'h%zu', 'port': 1080, 'via': '%s'}", i, via);
		add(&b, item);
	}
	add(&b, "]}}");
	return b.s;
}

/* SL_MAX_CHAIN socks5 hops are fine, one more is not. */
START_TEST(test_chain_depth)
{
	struct sl_conf	*conf;
	char		*doc, want[128];
	size_t		 i;

	doc = chain_doc(SL_MAX_CHAIN);
	conf = must_parse(doc);
	free(doc);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_CHAIN + 1);
	ck_assert_int_eq(conf->links[1].via, 0);
	for (i = 2; i <= SL_MAX_CHAIN; i++)
		ck_assert_int_eq(conf->links[i].via, (int)i - 1);
	conf_free(conf);
	doc = chain_doc(SL_MAX_CHAIN + 1);
	snprintf(want, sizeof(want), "balancer.links[%d].via: chain of %d "
	    "socks5 hops is longer than %d", SL_MAX_CHAIN + 1,
	    SL_MAX_CHAIN + 1, SL_MAX_CHAIN);
	must_fail(doc, want);
	free(doc);
}
END_TEST

/* A link may name a later link; a three-link loop is still a loop. */
START_TEST(test_chain_loop)
{
	struct sl_conf	*conf;

	conf = must_parse("{'balancer': {'links': [{'protocol': 'socks5',"
	    " 'domain': 'h', 'port': 1, 'via': 'link1'}, {}]}}");
	ck_assert_int_eq(conf->links[0].via, 1);
	conf_free(conf);
	must_fail("{'balancer': {'links': [{},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link2'},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link3'},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'link1'}"
	    "]}}", "balancer.links[1].via: chain loops through link \"link1\"");
}
END_TEST

START_TEST(test_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };

	add(&b, "{'balancer': {'links': [");
	add_repeat(&b, "{}", SL_MAX_LINKS);
	add(&b, "]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_LINKS);
	ck_assert_str_eq(conf->links[SL_MAX_LINKS - 1].name, "link255");
	conf_free(conf);
	b.len = 0;
	add(&b, "{'balancer': {'links': [");
	add_repeat(&b, "{}", SL_MAX_LINKS + 1);
	add(&b, "]}}");
	must_fail(b.s, "balancer.links: too many entries (max 256)");
	b.len = 0;
	add(&b, "{'listen': [");
	add_repeat(&b, "'127.0.0.1:1'", SL_MAX_LISTENERS + 1);
	add(&b, "]}");
	must_fail(b.s, "listen: expected 1-16 entries, got 17");
	b.len = 0;
	add(&b, "{'nameservers': [");
	add_repeat(&b, "'127.0.0.1'", SL_MAX_ADDRS + 1);
	add(&b, "]}");
	must_fail(b.s, "nameservers: expected 1-16 entries, got 17");
	free(b.s);
}
END_TEST

/* Over the limit, every matcher array is refused before it is read. */
START_TEST(test_matcher_limits)
{
	static const char *const keys[] = { "ports", "domains_re", "domains",
	    "ips", "clients" };
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	char		 want[128];
	size_t		 i;

	add(&b, "{'balancer': {'matchers': [{'ports': [");
	add_repeat(&b, "1", 100000);
	add(&b, "]}]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->matchers[0].nports, 100000);
	conf_free(conf);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		b.len = 0;
		add(&b, "{'balancer': {'matchers': [{}, {'");
		add(&b, keys[i]);
		add(&b, "': [");
		add_repeat(&b, "1", 100001);
		add(&b, "]}]}}");
		snprintf(want, sizeof(want), "balancer.matchers[1].%s: too "
		    "many entries (max 100000)", keys[i]);
		must_fail(b.s, want);
	}
	b.len = 0;
	add(&b, "{'balancer': {'matchers': [");
	add_repeat(&b, "{}", 100001);
	add(&b, "]}}");
	must_fail(b.s, "balancer.matchers: too many entries (max 100000)");
	b.len = 0;
	add(&b, "{'balancer': {'links': [{'matchers': [");
	add_repeat(&b, "{'ports': [1]}", 100001);
	add(&b, "]}]}}");
	must_fail(b.s, "balancer.links[0].matchers: too many entries "
	    "(max 100000)");
	free(b.s);
}
END_TEST

/* Short patterns can compile big: the total is bounded. */
START_TEST(test_regex_memory)
{
	const char	*pat = "(?:ab){6000}";
	struct buf	 b = { NULL, 0, 0 };
	pcre2_code	*re;
	PCRE2_SIZE	 off;
	size_t		 size, n;
	char		 want[160], item[32];
	int		 code;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &code,
	    &off, NULL);
	ck_assert_ptr_nonnull(re);
	ck_assert_int_eq(pcre2_pattern_info(re, PCRE2_INFO_SIZE, &size), 0);
	pcre2_code_free(re);
	n = (64u << 20) / size;		/* the first pattern over the cap */
	snprintf(item, sizeof(item), "'%s'", pat);
	add(&b, "{'balancer': {'matchers': [{'domains_re': [");
	add_repeat(&b, item, n + 10);
	add(&b, "]}]}}");
	snprintf(want, sizeof(want), "balancer.matchers[0].domains_re[%zu]: "
	    "regular expressions too large (max 67108864 bytes compiled)", n);
	must_fail(b.s, want);
	free(b.s);
}
END_TEST

/* Long strings at and past each limit. */
START_TEST(test_string_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	char		 s[300];

	memset(s, 'a', 255);
	s[255] = '\0';
	add(&b, "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'username': '");
	add(&b, s);
	add(&b, "', 'password': '");
	add(&b, s);
	add(&b, "', 'domain': '");
	s[63] = '\0';	/* a label is at most 63 bytes */
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, ".");
	add(&b, s);
	add(&b, "'}]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(strlen(conf->links[0].username), 255);
	ck_assert_uint_eq(strlen(conf->links[0].host), 255);
	conf_free(conf);
	b.len = 0;
	memset(s, 'a', 256);
	s[256] = '\0';
	add(&b, "{'balancer': {'links': [{'protocol': 'socks5', 'port': 1,"
	    " 'domain': 'h', 'username': 'u', 'password': '");
	add(&b, s);
	add(&b, "'}]}}");
	must_fail(b.s, "balancer.links[0].password: longer than 255 bytes");
	free(b.s);
}
END_TEST

/* SL_MAX_LINKS links from a tree, hops included, and no more. */
START_TEST(test_tcproute_limits)
{
	struct sl_conf	*conf;
	struct buf	 b = { NULL, 0, 0 };
	size_t		 n = SL_MAX_LINKS / 2;

	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'direct'}}", n);
	add(&b, "]}}");
	conf = must_parse(b.s);
	ck_assert_uint_eq(conf->nlinks, SL_MAX_LINKS);
	ck_assert_str_eq(conf->links[SL_MAX_LINKS - 1].name,
	    "upstream.list[127].upstream");
	ck_assert_int_eq(conf->links[SL_MAX_LINKS - 2].via, SL_MAX_LINKS - 1);
	conf_free(conf);
	b.len = 0;
	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'socks5', 'host': 'h', 'port': 1,"
	    " 'upstream': {'type': 'direct'}}", n + 1);
	add(&b, "]}}");
	must_fail(b.s, "upstream.list[128]: more than 256 links");
	b.len = 0;
	add(&b, "{'upstream': {'type': 'multipath', 'list': [");
	add_repeat(&b, "{'type': 'direct'}", SL_MAX_LINKS + 1);
	add(&b, "]}}");
	must_fail(b.s, "upstream.list: too many entries (max 256)");
	b.len = 0;
	add(&b, "{'nameservers_backup': [");
	add_repeat(&b, "'127.0.0.1'", 17);
	add(&b, "], 'hijack_probes': []}");
	must_fail(b.s, "nameservers_backup: expected 0-16 entries, got 17");
	b.len = 0;
	add(&b, "{'hijack_probes': [");
	add_repeat(&b, "'127.0.0.1'", 17);
	add(&b, "]}");
	must_fail(b.s, "hijack_probes: expected 0-16 entries, got 17");
	b.len = 0;
	add(&b, "{'ip_blacklist': [");
	add_repeat(&b, "'127.0.0.1'", 100001);
	add(&b, "]}");
	must_fail(b.s, "ip_blacklist: too many entries (max 100000)");
	free(b.s);
}
END_TEST

TCase *
config_links_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("links");
	tcase_add_test(tc, test_chain_depth);
	tcase_add_test(tc, test_chain_loop);
	return tc;
}

TCase *
config_limits_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_matcher_limits);
	tcase_add_test(tc, test_string_limits);
	tcase_add_test(tc, test_regex_memory);
	tcase_add_test(tc, test_tcproute_limits);
	return tc;
}
