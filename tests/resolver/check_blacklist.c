/*
 * The static blacklist as the worker applies it to address targets:
 * IPv4 and IPv6 prefixes, IPv4-mapped IPv6 spellings, and addresses next
 * to a prefix that must not match.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "policy/config.h"
#include "policy/select.h"

static struct sl_conf *
load(const char *text)
{
	struct sl_conf	*c;
	char		 err[256];

	ck_assert_msg(conf_parse(text, strlen(text), &c, err, sizeof(err)) == 0,
	    "%s", err);
	return c;
}

static int
listed(const struct sl_conf *c, const char *ip)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	ck_assert_int_eq(sockaddr_from_ip(ip, 80, &ss, &len), 0);
	return policy_blacklisted(c, (const struct sockaddr *)&ss);
}

START_TEST(t_blacklist)
{
	struct sl_conf *c = load("{\"ip_blacklist\": [\"127.0.0.99\", "
	    "\"198.51.100.0/24\", \"2001:db8::/32\"], \"IpBlacklist\": "
	    "[\"10.1.2.3\"]}");

	ck_assert(listed(c, "127.0.0.99"));
	ck_assert(!listed(c, "127.0.0.98"));
	ck_assert(listed(c, "198.51.100.7"));
	ck_assert(!listed(c, "198.51.101.7"));
	ck_assert(listed(c, "::ffff:198.51.100.200"));
	ck_assert(listed(c, "::ffff:127.0.0.99"));
	ck_assert(listed(c, "2001:db8:1::1"));
	ck_assert(!listed(c, "2001:db9::1"));
	ck_assert(listed(c, "10.1.2.3"));
	ck_assert(!listed(c, "10.1.2.4"));
	conf_free(c);
	c = load("{}");
	ck_assert(!listed(c, "127.0.0.99"));
	conf_free(c);
}
END_TEST

START_TEST(t_odd_prefixes)
{
	struct sl_conf *c = load("{\"ip_blacklist\": [\"192.0.2.128/25\", "
	    "\"0.0.0.0/0\"]}");

	ck_assert(listed(c, "8.8.8.8"));	/* /0 covers all of IPv4 */
	ck_assert(!listed(c, "::1"));		/* but not IPv6 */
	conf_free(c);
	c = load("{\"ip_blacklist\": [\"192.0.2.128/25\"]}");
	ck_assert(listed(c, "192.0.2.200"));
	ck_assert(!listed(c, "192.0.2.100"));
	conf_free(c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("blacklist");
	TCase	*tc = tcase_create("static");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, t_blacklist);
	tcase_add_test(tc, t_odd_prefixes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
