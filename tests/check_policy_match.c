/*
 * Routing engine tests, matchers: every matcher kind (ports, domains,
 * domain regexes and their cost, IP prefixes against a linear scan,
 * clients) alone and all together.
 * Part of the check_policy executable (see check_policy.h).
 */
#include "check_policy.h"

static double
ms_since(const struct timespec *a)
{
	struct timespec	b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* Matchers. */

START_TEST(t_match_empty)
{
	struct treq	t;

	ck_assert(m1("{'balancer': {'matchers': [{}]}}",
	    req(&t, "a.com", NULL, 1, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'ports': [], 'ips': []}]}}",
	    req(&t, NULL, "10.0.0.1", 65535, "::1")));
}
END_TEST

START_TEST(t_match_ports)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ports':"
	    " [443, '8000-8999', 80, '8500-9100', 9101, 65535]}]}}";
	static const char ranges[] = "{'balancer': {'matchers': [{"
	    "'port_ranges': ['1000-1999', '22']}]}}";
	static const uint16_t in[] = { 80, 443, 8000, 8999, 9000, 9100, 9101,
	    65535 };
	static const uint16_t out[] = { 1, 79, 81, 442, 7999, 9102, 65534 };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, "h", NULL, in[i], NULL)),
		    "port %u", in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, "h", NULL, out[i], NULL)),
		    "port %u", out[i]);
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 1000, NULL)));
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 1999, NULL)));
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 22, NULL)));
	ck_assert(!m1(ranges, req(&t, NULL, "10.0.0.1", 2000, NULL)));
	ck_assert(!m1(ranges, req(&t, NULL, "10.0.0.1", 23, NULL)));
}
END_TEST

/* Python's re.search: unanchored, case-sensitive, on the host name. */
START_TEST(t_match_domains_re)
{
	static const char doc[] = "{'balancer': {'matchers': [{"
	    "'domains_re': ['\\\\.intranet.com$']}]}}";
	struct treq	t;

	ck_assert(m1(doc, req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(m1(doc, req(&t, "a.b.intranet.com", NULL, 80, NULL)));
	/* "." unescaped before com matches any byte, as in Python. */
	ck_assert(m1(doc, req(&t, "x.intranet-com", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, "intranet.com", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, "x.intranet.com.evil", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, NULL, "10.0.0.1", 80, NULL)));
	ck_assert(!m1(doc, req(&t, "", "10.0.0.1", 80, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'domains_re': ['tra']}]}}",
	    req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'domains_re': ['^tra']}]}}",
	    req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'domains_re': ['Foo']}]}}",
	    req(&t, "foo.com", NULL, 80, NULL)));
	/* Any pattern of the list. */
	ck_assert(m1("{'balancer': {'matchers': [{'domains_re': ['^a\\\\.',"
	    " '(x)(y)(z)$', 'q']}]}}", req(&t, "b.xyz", NULL, 80, NULL)));
}
END_TEST

/*
 * Catastrophic backtracking hits the match limit quickly, and the answer
 * fails closed: a forbid matcher counts it as a match (the rule holds),
 * an allow matcher as no match (the rule does not open).
 */
START_TEST(t_match_redos)
{
	struct sl_conf	*conf;
	struct treq	 t;
	struct timespec	 start;
	char		 host[256];
	int		 i;

	conf = parse("{'balancer': {'matchers': [{'domains_re':"
	    " ['(a+)+$', '(x+x+)+y']}, {'policy': 'allow', 'domains_re':"
	    " ['(a+)+$']}]}}");
	memset(host, 'a', 250);
	host[250] = 'b';
	host[251] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < 10; i++) {
		ck_assert(matcher_match(&conf->matchers[0],
		    req(&t, host, NULL, 80, NULL)));
		ck_assert(!matcher_match(&conf->matchers[1],
		    req(&t, host, NULL, 80, NULL)));
	}
	ck_assert_msg(ms_since(&start) < 500, "%.1f ms", ms_since(&start));
	/* The limits did not break ordinary matching. */
	ck_assert(matcher_match(&conf->matchers[0],
	    req(&t, "aaa", NULL, 80, NULL)));
	conf_free(conf);
}
END_TEST

START_TEST(t_match_domains)
{
	static const char doc[] = "{'balancer': {'matchers': [{'domains':"
	    " ['example.com', '*.Co.UK', 'a.b.c.org']}]}}";
	static const char *const in[] = { "example.com", "www.example.com",
	    "a.b.example.com", "example.com.", "bbc.co.uk", "co.uk",
	    "a.b.c.org", "x.a.b.c.org" };
	static const char *const out[] = { "notexample.com",
	    "example.com.evil", "com", "xexample.com", "uk", "b.c.org",
	    "c.org", "example.co", "", "examplecom", ".com" };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, in[i], NULL, 80, NULL)), "%s",
		    in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, out[i], NULL, 80, NULL)), "%s",
		    out[i]);
	ck_assert(!m1(doc, req(&t, NULL, "93.184.216.34", 80, NULL)));
	/* A top-level domain covers everything under it. */
	ck_assert(m1("{'balancer': {'matchers': [{'domains': ['com']}]}}",
	    req(&t, "x.y.com", NULL, 80, NULL)));
}
END_TEST

/* Ten thousand names: every one and its subdomains, nothing else. */
START_TEST(t_match_domains_many)
{
	struct sl_conf	*conf;
	struct treq	 t;
	char		*doc, name[64];
	size_t		 i, off, cap = 10000 * 40 + 100;

	doc = malloc(cap);
	ck_assert_ptr_nonnull(doc);
	off = (size_t)snprintf(doc, cap, "{'balancer': {'matchers': "
	    "[{'domains': [");
	for (i = 0; i < 10000; i++)
		off += (size_t)snprintf(doc + off, cap - off, "%s'd%zu.example'",
		    i > 0 ? ", " : "", i * 7);
	snprintf(doc + off, cap - off, "]}]}}");
	conf = parse(doc);
	free(doc);
	for (i = 0; i < 70000; i++) {
		snprintf(name, sizeof(name), "www.d%zu.example", i);
		ck_assert_int_eq(matcher_match(&conf->matchers[0],
		    req(&t, name, NULL, 80, NULL)), i % 7 == 0);
	}
	conf_free(conf);
}
END_TEST

START_TEST(t_match_ips)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ips':"
	    " ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32',"
	    " '::ffff:198.51.100.0/120']}]}}";
	static const char v6[] = "{'balancer': {'matchers': [{'ips':"
	    " ['2001:db9::/32', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124',"
	    " '2001:db8::/32', '::/128']}]}}";
	static const char *const in[] = { "10.0.0.0", "10.255.255.255",
	    "192.0.2.1", "2001:db8::1", "2001:db8:ffff::",
	    "::ffff:10.1.2.3", "198.51.100.7", "::ffff:198.51.100.255" };
	static const char *const out[] = { "11.0.0.0", "9.255.255.255",
	    "192.0.2.2", "2001:db9::", "::1", "::ffff:11.0.0.1",
	    "198.51.101.0", "::10.1.2.3", "::" };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, NULL, in[i], 80, NULL)), "%s",
		    in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, NULL, out[i], 80, NULL)), "%s",
		    out[i]);
	/* A name matches through any address it resolved to. */
	req(&t, "intra.example", NULL, 80, NULL);
	ck_assert(!m1(doc, &t.rq));
	resolved(&t, "203.0.113.9");
	resolved(&t, "2001:db8::7");
	ck_assert(m1(doc, &t.rq));
	req(&t, "intra.example", NULL, 80, NULL);
	resolved(&t, "203.0.113.9");
	resolved(&t, "::ffff:10.9.9.9");
	ck_assert(m1(doc, &t.rq));
	req(&t, "intra.example", NULL, 80, NULL);
	resolved(&t, "203.0.113.9");
	ck_assert(!m1(doc, &t.rq));
	/* No address at all: no match, and the default route catches all. */
	ck_assert(!m1(doc, req(&t, "x", NULL, 80, NULL)));
	/* Adjacent prefixes merge; the ends of the space are kept. */
	ck_assert(m1(v6, req(&t, NULL, "2001:db9:ffff::1", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "2001:db8::", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "::", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "2001:dba::", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "2001:db7:ffff:ffff:ffff:ffff:ffff:"
	    "ffff", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "::1", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "0.0.0.0", 80, NULL)));
	/* ::/0 is IPv6 traffic: mapped addresses are IPv4. */
	ck_assert(m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "2001:db8::1", 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "::ffff:1.2.3.4", 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "1.2.3.4", 80, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'ips': ['0.0.0.0/0']}]}}",
	    req(&t, NULL, "255.255.255.255", 80, NULL)));
}
END_TEST

/* The merged index against a linear scan, over random prefixes. */
START_TEST(t_match_ips_random)
{
	struct sl_conf	*conf;
	struct treq	 t;
	uint32_t	 net[1000], mask[1000], a;
	uint64_t	 seed = 42;
	char		*doc, ip[INET_ADDRSTRLEN];
	size_t		 i, j, off, cap = 1000 * 24 + 100;
	int		 want, plen;

	doc = malloc(cap);
	ck_assert_ptr_nonnull(doc);
	off = (size_t)snprintf(doc, cap, "{'balancer': {'matchers': [{'ips': [");
	for (i = 0; i < 1000; i++) {
		plen = 8 + (int)(lcg(&seed) % 25);
		mask[i] = plen == 32 ? UINT32_MAX : ~(UINT32_MAX >> plen);
		net[i] = (0x0a000000u | (lcg(&seed) & 0x00ffffffu)) & mask[i];
		off += (size_t)snprintf(doc + off, cap - off, "%s'%u.%u.%u.%u/%d'",
		    i > 0 ? ", " : "", net[i] >> 24, (net[i] >> 16) & 255,
		    (net[i] >> 8) & 255, net[i] & 255, plen);
	}
	snprintf(doc + off, cap - off, "]}]}}");
	conf = parse(doc);
	free(doc);
	for (i = 0; i < 20000; i++) {
		a = i < 1000 ? net[i] + (i & 1) : 0x0a000000u |
		    (lcg(&seed) & 0x00ffffffu);
		for (want = 0, j = 0; j < 1000 && !want; j++)
			want = (a & mask[j]) == net[j];
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255);
		ck_assert_int_eq(matcher_match(&conf->matchers[0],
		    req(&t, NULL, ip, 80, NULL)), want);
	}
	conf_free(conf);
}
END_TEST

START_TEST(t_match_clients)
{
	static const char doc[] = "{'balancer': {'matchers': [{'clients':"
	    " ['192.168.0.0/16', 'fd00::/8']}]}}";
	struct treq	t;

	ck_assert(m1(doc, req(&t, "h", NULL, 80, "192.168.1.1")));
	ck_assert(m1(doc, req(&t, "h", NULL, 80, "::ffff:192.168.1.1")));
	ck_assert(m1(doc, req(&t, "h", NULL, 80, "fd12::1")));
	ck_assert(!m1(doc, req(&t, "h", NULL, 80, "192.169.0.1")));
	ck_assert(!m1(doc, req(&t, "h", NULL, 80, "fe80::1")));
	/* The target address is not the client's. */
	ck_assert(!m1(doc, req(&t, NULL, "192.168.1.1", 80, "10.0.0.1")));
	req(&t, "h", NULL, 80, NULL);
	t.rq.client = NULL;
	ck_assert(!m1(doc, &t.rq));
}
END_TEST

/*
 * The keys that forbid direct connections: ip_blacklist first, then
 * deny_targets, whose default covers link-local addresses in both
 * families (IPv4-mapped too) and which [] empties.
 */
static const char *
denied(const struct sl_conf *conf, const char *ip)
{
	struct sockaddr_storage	ss;

	sa_set(&ss, ip);
	return policy_target_denied(conf, (const struct sockaddr *)&ss);
}

START_TEST(t_target_denied)
{
	struct sl_conf	*conf;

	conf = parse("{'ip_blacklist': ['169.254.169.254', '127.0.0.99']}");
	ck_assert_str_eq(denied(conf, "169.254.169.254"), "ip_blacklist");
	ck_assert_str_eq(denied(conf, "127.0.0.99"), "ip_blacklist");
	ck_assert_str_eq(denied(conf, "169.254.1.1"), "deny_targets");
	ck_assert_str_eq(denied(conf, "::ffff:169.254.0.1"), "deny_targets");
	ck_assert_str_eq(denied(conf, "fe80::1"), "deny_targets");
	ck_assert_str_eq(denied(conf, "febf:ffff::1"), "deny_targets");
	ck_assert_ptr_null(denied(conf, "fec0::1"));
	ck_assert_ptr_null(denied(conf, "169.255.0.1"));
	ck_assert_ptr_null(denied(conf, "127.0.0.1"));
	conf_free(conf);

	conf = parse("{'deny_targets': []}");
	ck_assert_ptr_null(denied(conf, "169.254.169.254"));
	ck_assert_ptr_null(denied(conf, "fe80::1"));
	conf_free(conf);

	conf = parse("{'deny_targets': ['10.0.0.0/8']}");
	ck_assert_ptr_null(denied(conf, "169.254.169.254"));
	ck_assert_str_eq(denied(conf, "10.9.8.7"), "deny_targets");
	conf_free(conf);
}
END_TEST

/* The listener a client came in by, and the user it authenticated as. */
START_TEST(t_match_listeners_users)
{
	static const char doc[] = "{'listeners': ["
	    "{'name': 'pub', 'kind': 'socks5', 'listen': '127.0.0.1:1'},"
	    "{'name': 'office', 'kind': 'http', 'listen': '127.0.0.1:2',"
	    " 'users': [{'username': 'alice', 'password': 'x'},"
	    " {'username': 'bob', 'password': 'y'}]}],"
	    "'balancer': {'matchers': [{'listeners': ['office'],"
	    " 'users': ['alice'], 'policy': 'allow'}]}}";
	static const char l_only[] = "{'listeners': ["
	    "{'name': 'pub', 'kind': 'socks5', 'listen': '127.0.0.1:1'}],"
	    "'balancer': {'matchers': [{'listeners': ['pub']}]}}";
	struct treq	t;

	req(&t, "h", NULL, 80, NULL);
	t.rq.listener = "office";
	t.rq.user = "alice";
	ck_assert(m1(doc, &t.rq));
	t.rq.user = "bob";
	ck_assert(!m1(doc, &t.rq));
	t.rq.user = NULL;		/* not authenticated */
	ck_assert(!m1(doc, &t.rq));
	t.rq.user = "alice";
	t.rq.listener = "pub";
	ck_assert(!m1(doc, &t.rq));
	t.rq.listener = NULL;
	ck_assert(!m1(doc, &t.rq));
	t.rq.listener = "pub";
	t.rq.user = NULL;
	ck_assert(m1(l_only, &t.rq));
	t.rq.listener = "office";
	ck_assert(!m1(l_only, &t.rq));
}
END_TEST

/* ALPN a TLS client offered (sni listeners); none offered: no match. */
START_TEST(t_match_alpn)
{
	static const char doc[] = "{'balancer': {'matchers': [{'alpn':"
	    " ['h2', 'acme-tls/1'], 'policy': 'allow'}]}}";
	static const char *const h2[] = { "http/1.1", "h2" };
	static const char *const h1[] = { "http/1.1" };
	struct treq	t;

	req(&t, "h", NULL, 443, NULL);
	t.rq.alpn = h2;
	t.rq.nalpn = 2;
	ck_assert(m1(doc, &t.rq));
	t.rq.alpn = h1;
	t.rq.nalpn = 1;
	ck_assert(!m1(doc, &t.rq));
	t.rq.alpn = NULL;
	t.rq.nalpn = 0;
	ck_assert(!m1(doc, &t.rq));
}
END_TEST

/* Every key must match; each one alone can spoil it. */
START_TEST(t_match_all_keys)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ports':"
	    " [443], 'domains': ['example.com'], 'domains_re': ['^www'],"
	    " 'clients': ['10.0.0.0/8'], 'ips': ['192.0.2.0/24']}]}}";
	struct treq	t;

	req(&t, "www.example.com", NULL, 443, "10.1.1.1");
	resolved(&t, "192.0.2.80");
	ck_assert(m1(doc, &t.rq));
	t.rq.port = 80;
	ck_assert(!m1(doc, &t.rq));
	t.rq.port = 443;
	t.rq.host = "www.example.org";
	ck_assert(!m1(doc, &t.rq));
	t.rq.host = "ftp.example.com";
	ck_assert(!m1(doc, &t.rq));
	t.rq.host = "www.example.com";
	sa_set(&t.client, "11.0.0.1");
	ck_assert(!m1(doc, &t.rq));
	sa_set(&t.client, "10.0.0.1");
	t.rq.nresolved = 0;
	ck_assert(!m1(doc, &t.rq));
}
END_TEST

/* The policy table. */

TCase *
policy_matchers_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("matchers");
	tcase_add_test(tc, t_match_empty);
	tcase_add_test(tc, t_match_ports);
	tcase_add_test(tc, t_match_domains_re);
	tcase_add_test(tc, t_match_redos);
	tcase_add_test(tc, t_match_domains);
	tcase_add_test(tc, t_match_domains_many);
	tcase_add_test(tc, t_match_ips);
	tcase_add_test(tc, t_match_ips_random);
	tcase_add_test(tc, t_match_clients);
	tcase_add_test(tc, t_target_denied);
	tcase_add_test(tc, t_match_listeners_users);
	tcase_add_test(tc, t_match_alpn);
	tcase_add_test(tc, t_match_all_keys);
	return tc;
}
