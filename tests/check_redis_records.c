/*
 * Unit tests for registry/records.c: tcprouter's records as they sit in
 * Redis.  Both record shapes, plain and in valkeyrie's base64 wrapper;
 * every way a record is refused (bad base64, bad JSON, wrong types, an
 * address nobody should connect to, names that are no host names, keys
 * outside the prefixes); sni naming the service; and the table the
 * workers get: sorted, deduplicated, the same bytes for the same
 * records in any order.
 *
 * Keys and values are copied into heap blocks of exactly their length
 * (xdup), so an ASan build catches a read past what Redis sent.  The
 * Redis side of the registry is tested in check_redis_scan.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/records.h"
#include "check_redis.h"
#include "check_wire.h"

static char	why[RG_WHY_MAX];

/* Parse key/value from exact-size copies; 0 or -1 like the parser. */
static int
parse(const char *key, const char *val, struct rg_record *r)
{
	uint8_t	*k = xdup(key, strlen(key)), *v = xdup(val, strlen(val));
	int	 rc;

	why[0] = '\0';
	rc = rg_record_parse((const char *)k, strlen(key), (const char *)v,
	    strlen(val), r, why, sizeof(why));
	free(k);
	free(v);
	return rc;
}

/* The value must be refused, for a reason containing frag. */
static void
refused(const char *key, const char *val, const char *frag)
{
	struct rg_record	r;

	memset(&r, 0, sizeof(r));
	ck_assert_msg(parse(key, val, &r) == -1, "accepted: %s = %s", key,
	    val);
	ck_assert_ptr_null(r.name);
	ck_assert_msg(strstr(why, frag) != NULL, "%s = %s: why \"%s\" lacks "
	    "\"%s\"", key, val, why, frag);
}

/* Base64 of s (standard alphabet, padded), into a static buffer. */
static const char *
b64(const char *s)
{
	static const char	tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	static char		out[4096];
	size_t			i, n = strlen(s), o = 0;
	unsigned long		v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)(unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* valkeyrie's wrapper around record. */
static const char *
wrap(const char *key, const char *record)
{
	static char	out[8192];

	snprintf(out, sizeof(out), "{\"Key\":\"%s\",\"Value\":\"%s\","
	    "\"LastIndex\":75292246}", key, b64(record));
	return out;
}

START_TEST(t_shape_ports)
{
	struct rg_record	r;

	ck_assert_int_eq(parse("/tcprouter/services/www.google.com",
	    "{\"addr\": \"172.217.19.46\", \"httpport\": 80, "
	    "\"tlsport\": 443}", &r), 0);
	ck_assert_str_eq(r.name, "www.google.com");
	ck_assert_str_eq(r.key, "/tcprouter/services/www.google.com");
	ck_assert_str_eq(r.addr, "172.217.19.46");
	ck_assert_uint_eq(r.tlsport, 443);
	ck_assert_uint_eq(r.httpport, 80);
	rg_record_free(&r);
}
END_TEST

/* The second shape: addr with a port, named by its sni. */
START_TEST(t_shape_sni)
{
	struct rg_record	r;

	ck_assert_int_eq(parse("/tcprouter/service/google",
	    "{\"addr\":\"172.217.19.46:443\",\"sni\":\"www.google.com\","
	    "\"name\":\"google\"}", &r), 0);
	ck_assert_str_eq(r.name, "www.google.com");	/* not "google" */
	ck_assert_str_eq(r.addr, "172.217.19.46:443");
	ck_assert_uint_eq(r.tlsport, 0);
	ck_assert_uint_eq(r.httpport, 0);
	rg_record_free(&r);
	/* Without sni (or with Go's empty one) the key names it. */
	ck_assert_int_eq(parse("tcprouter/service/bing",
	    "{\"addr\":\"13.107.21.200:443\",\"sni\":\"\",\"name\":\"\"}",
	    &r), 0);
	ck_assert_str_eq(r.name, "bing");
	rg_record_free(&r);
}
END_TEST

START_TEST(t_wrapper)
{
	struct rg_record	r;
	const char		*rec = "{\"addr\":\"102.132.97.35:443\","
	    "\"sni\":\"www.facebook.com\",\"name\":\"facebook\"}";

	ck_assert_int_eq(parse("/tcprouter/service/facebook",
	    wrap("/tcprouter/service/facebook", rec), &r), 0);
	ck_assert_str_eq(r.name, "www.facebook.com");
	ck_assert_str_eq(r.addr, "102.132.97.35:443");
	rg_record_free(&r);
	/* The first shape wrapped, without LastIndex or Key. */
	ck_assert_int_eq(parse("tcprouter/services/a.example",
	    "{\"Value\":\"eyJhZGRyIjoiMTAuMC4wLjEiLCJ0bHNwb3J0Ijo4NDQzfQ==\"}",
	    &r), 0);
	ck_assert_str_eq(r.name, "a.example");
	ck_assert_str_eq(r.addr, "10.0.0.1");
	ck_assert_uint_eq(r.tlsport, 8443);
	rg_record_free(&r);
}
END_TEST

START_TEST(t_plain_json)
{
	struct rg_record	r;

	/* Whitespace around the document, unknown fields: fine. */
	ck_assert_int_eq(parse("/tcprouter/services/x.test",
	    " \n{\"addr\":\"::1\",\"httpport\":8080,\"weight\":[1,2],"
	    "\"future\":{\"a\":null}}\t\n", &r), 0);
	ck_assert_str_eq(r.name, "x.test");
	ck_assert_str_eq(r.addr, "::1");
	ck_assert_uint_eq(r.httpport, 8080);
	rg_record_free(&r);
	ck_assert_int_eq(parse("/tcprouter/services/y.test",
	    "{\"addr\":\"[2001:DB8::1]:8443\",\"tlsport\":null,"
	    "\"httpport\":0}", &r), 0);
	ck_assert_str_eq(r.addr, "[2001:db8::1]:8443");	/* canonical */
	ck_assert_uint_eq(r.tlsport, 0);
	ck_assert_uint_eq(r.httpport, 0);
	rg_record_free(&r);
}
END_TEST

START_TEST(t_bad_base64)
{
	const char	*k = "/tcprouter/services/a.test";

	refused(k, "{\"Value\":\"not base64!\"}", "base64");
	refused(k, "{\"Value\":\"eyJ\"}", "base64");		/* length */
	refused(k, "{\"Value\":\"eyJh ZGRy\"}", "base64");	/* space */
	refused(k, "{\"Value\":\"eQ=\"}", "base64");
	refused(k, "{\"Value\":\"e===\"}", "base64");
	refused(k, "{\"Value\":\"eR==\"}", "base64");		/* pad bits */
	refused(k, "{\"Value\":\"eyJh-_==\"}", "base64");	/* URL form */
	/* The record itself where base64 belongs. */
	refused(k, "{\"Value\":\"{\\\"addr\\\":\\\"10.0.0.1\\\"}\"}", "base64");
	refused(k, "{\"Value\":\"\"}", "JSON");
}
END_TEST

START_TEST(t_bad_json)
{
	const char	*k = "/tcprouter/services/a.test";

	refused(k, "{\"addr\":\"10.0.0.1\"", "JSON");
	refused(k, "{\"addr\":\"10.0.0.1\"} x", "JSON");
	refused(k, "{\"addr\":\"10.0.0.1\"}{}", "JSON");
	refused(k, "", "JSON");
	refused(k, "addr=10.0.0.1", "JSON");
	refused(k, "[\"10.0.0.1\"]", "object");
	refused(k, "\"10.0.0.1\"", "object");
	refused(k, "{\"Value\":\"WzFd\"}", "object");		/* [1] */
	/* A colon missing inside the wrapper: not JSON either. */
	refused(k, wrap(k, "{\"addr\": \"10.1.2.3\", \"httpport\" 80}"),
	    "does not hold JSON");
}
END_TEST

/* A NUL inside a value or key: refused, not cut short. */
START_TEST(t_nul)
{
	static const char	val[] = "{\"addr\":\"10.0.0.1\"}\0junk";
	static const char	key[] = "/tcprouter/services/a\0b";
	struct rg_record	r;

	ck_assert_int_eq(rg_record_parse("/tcprouter/services/a", 21, val,
	    sizeof(val) - 1, &r, why, sizeof(why)), -1);
	ck_assert_int_eq(rg_record_parse(key, sizeof(key) - 1, val, 19, &r,
	    why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
}
END_TEST

START_TEST(t_bad_addr)
{
	const char	*k = "/tcprouter/services/a.test";

	refused(k, "{\"addr\":\"0.0.0.0\"}", "not an address to connect to");
	refused(k, "{\"addr\":\"0.0.0.0:443\"}", "connect to");
	refused(k, "{\"addr\":\"::\"}", "connect to");
	refused(k, "{\"addr\":\"[::]:80\"}", "connect to");
	refused(k, "{\"addr\":\"255.255.255.255\"}", "connect to");
	refused(k, "{\"addr\":\"224.0.0.1\"}", "connect to");
	refused(k, "{\"addr\":\"239.255.255.250:1900\"}", "connect to");
	refused(k, "{\"addr\":\"ff02::1\"}", "connect to");
	refused(k, "{\"addr\":\"::ffff:10.0.0.1\"}", "connect to");
	refused(k, "{\"addr\":\"www.google.com\"}", "not an IP address");
	refused(k, "{\"addr\":\"www.google.com:443\"}", "not an IP address");
	refused(k, "{\"addr\":\"10.0.0.1:0\"}", "bad port");
	refused(k, "{\"addr\":\"10.0.0.1:65536\"}", "bad port");
	refused(k, "{\"addr\":\"10.0.0.1:080\"}", "bad port");
	refused(k, "{\"addr\":\"10.0.0.1:\"}", "bad port");
	refused(k, "{\"addr\":\"[10.0.0.1]:80\"}", "not an IP address");
	refused(k, "{\"addr\":\"[::1]x\"}", "not an IP address");
	refused(k, "{\"addr\":\"010.0.0.1\"}", "not an IP address");
	refused(k, "{\"addr\":\"fe80::1%eth0\"}", "not an IP address");
	refused(k, "{\"addr\":\"\"}", "addr missing");
	refused(k, "{\"tlsport\":443}", "addr missing");
}
END_TEST

START_TEST(t_bad_name)
{
	char	key[400], rec[600];

	memcpy(key, "/tcprouter/services/", 20);
	memset(key + 20, 'a', 300);		/* one 300-byte label */
	key[320] = '\0';
	refused(key, "{\"addr\":\"10.0.0.1\"}", "longer than 253");
	snprintf(rec, sizeof(rec), "{\"addr\":\"10.0.0.1:80\",\"sni\":\"%s\"}",
	    key + 20);
	refused("/tcprouter/service/x", rec, "longer than 253");
	memset(key + 20, 'a', 64);		/* a label of 64 */
	strcpy(key + 84, ".test");
	refused(key, "{\"addr\":\"10.0.0.1\"}", "63");
	refused("/tcprouter/services/", "{\"addr\":\"10.0.0.1\"}", "empty");
	refused("/tcprouter/services/a..b", "{\"addr\":\"10.0.0.1\"}",
	    "empty label");
	refused("/tcprouter/services/a b", "{\"addr\":\"10.0.0.1\"}",
	    "not a host name");
	refused("/tcprouter/services/*", "{\"addr\":\"10.0.0.1\"}",
	    "not a host name");
	refused("/tcprouter/services/a.*.test", "{\"addr\":\"10.0.0.1\"}",
	    "not a host name");
	refused("/tcprouter/service/x",
	    "{\"addr\":\"10.0.0.1:1\",\"sni\":\"bad name\"}", "(sni)");
}
END_TEST

START_TEST(t_wrong_types)
{
	const char	*k = "/tcprouter/services/a.test";

	refused(k, "{\"addr\":167772161}", "addr is not a string");
	refused(k, "{\"addr\":[\"10.0.0.1\"]}", "addr is not a string");
	refused(k, "{\"addr\":\"10.0.0.1\",\"tlsport\":\"443\"}", "tlsport");
	refused(k, "{\"addr\":\"10.0.0.1\",\"tlsport\":443.5}", "tlsport");
	refused(k, "{\"addr\":\"10.0.0.1\",\"tlsport\":-1}", "tlsport");
	refused(k, "{\"addr\":\"10.0.0.1\",\"httpport\":65536}", "httpport");
	refused(k, "{\"addr\":\"10.0.0.1\",\"httpport\":true}", "httpport");
	refused(k, "{\"addr\":\"10.0.0.1:1\",\"sni\":7}", "sni is not");
	refused(k, "{\"addr\":\"10.0.0.1:1\",\"name\":{}}", "name is not");
	refused(k, "{\"addr\":\"10.0.0.1\",\"addr\":\"10.0.0.2\"}", "twice");
	refused(k, "{\"Value\":42}", "Value is not a string");
	refused(k, "{\"Key\":1,\"Value\":\"e30=\"}", "Key is not a string");
	refused(k, "{\"LastIndex\":\"1\",\"Value\":\"e30=\"}", "LastIndex");
}
END_TEST

START_TEST(t_wildcard_catch_all)
{
	struct rg_record	r;

	ck_assert_int_eq(parse("/tcprouter/services/*.Example.COM.",
	    "{\"addr\":\"10.0.0.1\",\"tlsport\":443}", &r), 0);
	ck_assert_str_eq(r.name, "*.example.com");
	rg_record_free(&r);
	ck_assert_int_eq(parse("/tcprouter/service/wild",
	    "{\"addr\":\"10.0.0.1:443\",\"sni\":\"*.apps.test\"}", &r), 0);
	ck_assert_str_eq(r.name, "*.apps.test");
	rg_record_free(&r);
	/* tcprouter's create_service.py CATCH_ALL 'CATCH_ALL' addr */
	ck_assert_int_eq(parse("/tcprouter/service/CATCH_ALL",
	    wrap("/tcprouter/service/CATCH_ALL", "{\"addr\": "
	    "\"127.0.0.1:9092\", \"sni\": \"CATCH_ALL\", \"name\": "
	    "\"CATCH_ALL\"}"), &r), 0);
	ck_assert_str_eq(r.name, "CATCH_ALL");	/* not lowered */
	rg_record_free(&r);
	ck_assert_int_eq(parse("/tcprouter/services/CATCH_ALL",
	    "{\"addr\":\"127.0.0.1\"}", &r), 0);
	ck_assert_str_eq(r.name, "CATCH_ALL");
	rg_record_free(&r);
	/* Only the exact spelling is special: catch_all is a host name. */
	ck_assert_int_eq(parse("/tcprouter/services/catch_all",
	    "{\"addr\":\"127.0.0.1\"}", &r), 0);
	ck_assert_str_eq(r.name, "catch_all");
	rg_record_free(&r);
}
END_TEST

/* sni names the service whatever the key says. */
START_TEST(t_sni_overrides_key)
{
	struct rg_record	r;

	ck_assert_int_eq(parse("/tcprouter/services/www.bing.com",
	    "{\"addr\":\"13.107.21.200:443\",\"sni\":\"WWW.Google.com\"}",
	    &r), 0);
	ck_assert_str_eq(r.name, "www.google.com");
	rg_record_free(&r);
}
END_TEST

START_TEST(t_key_prefix)
{
	static const char *const bad[] = {
		"/tcprouter/x/www.google.com", "tcprouter/servicesx",
		"/tcprouter/services", "tcprouter/service", "www.google.com",
		"/TCPROUTER/services/a.test", "//tcprouter/services/a.test",
		"",
	};
	struct rg_record	r;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i], "{\"addr\":\"10.0.0.1\"}", "prefix");
	ck_assert_int_eq(rg_key_prefix("/tcprouter/services/a", 21), 0);
	ck_assert_int_eq(rg_key_prefix("/tcprouter/service/a", 20), 1);
	ck_assert_int_eq(rg_key_prefix("tcprouter/services/a", 20), 2);
	ck_assert_int_eq(rg_key_prefix("tcprouter/service/a", 19), 3);
	/* The last segment names it. */
	ck_assert_int_eq(parse("/tcprouter/services/team/app.test",
	    "{\"addr\":\"10.0.0.1\"}", &r), 0);
	ck_assert_str_eq(r.name, "app.test");
	rg_record_free(&r);
}
END_TEST

START_TEST(t_sizes)
{
	char	*val, key[RG_MAX_KEY + 2];

	ck_assert_ptr_nonnull(val = malloc(RG_MAX_VALUE + 2));
	memset(val, ' ', RG_MAX_VALUE + 1);
	memcpy(val, "{\"addr\":\"10.0.0.1\"}", 19);
	val[RG_MAX_VALUE + 1] = '\0';
	refused("/tcprouter/services/a.test", val, "value over");
	free(val);
	memset(key, 'a', sizeof(key) - 1);
	memcpy(key, "/tcprouter/services/", 20);
	key[sizeof(key) - 1] = '\0';
	refused(key, "{\"addr\":\"10.0.0.1\"}", "key longer");
}
END_TEST

START_TEST(t_base64)
{
	unsigned char	out[16];

	ck_assert_int_eq(rg_base64_decode("", 0, out, sizeof(out)), 0);
	ck_assert_int_eq(rg_base64_decode("YQ==", 4, out, sizeof(out)), 1);
	ck_assert_int_eq(out[0], 'a');
	ck_assert_int_eq(rg_base64_decode("YWI=", 4, out, sizeof(out)), 2);
	ck_assert_int_eq(rg_base64_decode("YWJj", 4, out, sizeof(out)), 3);
	ck_assert_int_eq(memcmp(out, "abc", 3), 0);
	ck_assert_int_eq(rg_base64_decode("YWJj", 4, out, 2), -1);
	ck_assert_int_eq(rg_base64_decode("YWJ=", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(rg_base64_decode("Y===", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(rg_base64_decode("=YWJ", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(rg_base64_decode("YQ==YQ==", 8, out, sizeof(out)),
	    -1);
}
END_TEST

static void
add(struct rg_table *t, const char *key, const char *val)
{
	struct rg_record	r;

	ck_assert_msg(parse(key, val, &r) == 0, "%s: %s", key, why);
	ck_assert_int_eq(rg_table_add(t, &r), 0);
	ck_assert_ptr_null(r.name);
}

static int	ndups;
static char	lastdup[256];

static void
on_dup(const struct rg_record *kept, const struct rg_record *dropped,
    void *arg)
{
	(void)arg;
	ndups++;
	snprintf(lastdup, sizeof(lastdup), "%s kept over %s", kept->key,
	    dropped->key);
}

START_TEST(t_table_json)
{
	struct rg_table	t;
	size_t		len, count;
	char		*text;

	rg_table_init(&t);
	add(&t, "/tcprouter/services/b.test",
	    "{\"addr\":\"10.0.0.2\",\"tlsport\":443,\"httpport\":80}");
	add(&t, "/tcprouter/service/a", "{\"addr\":\"[::1]:8443\","
	    "\"sni\":\"a.test\"}");
	add(&t, "tcprouter/services/CATCH_ALL", "{\"addr\":\"127.0.0.1\","
	    "\"httpport\":9092}");
	add(&t, "tcprouter/services/*.test", "{\"addr\":\"10.0.0.9\"}");
	ndups = 0;
	ck_assert_ptr_nonnull(text = rg_table_json(&t, &len, &count, on_dup,
	    NULL));
	ck_assert_str_eq(text, "{\"*.test\":{\"addr\":\"10.0.0.9\"},"
	    "\"CATCH_ALL\":{\"addr\":\"127.0.0.1\",\"httpport\":9092},"
	    "\"a.test\":{\"addr\":\"[::1]:8443\"},"
	    "\"b.test\":{\"addr\":\"10.0.0.2\",\"tlsport\":443,"
	    "\"httpport\":80}}");
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_uint_eq(count, 4);
	ck_assert_int_eq(ndups, 0);
	free(text);
	rg_table_free(&t);
	/* Empty: an empty object, not nothing. */
	ck_assert_ptr_nonnull(text = rg_table_json(&t, &len, &count, NULL,
	    NULL));
	ck_assert_str_eq(text, "{}");
	ck_assert_uint_eq(count, 0);
	free(text);
}
END_TEST

/*
 * Same name twice: the smallest key wins, whatever the order; the same
 * key twice (SCAN repeats keys) is no duplicate.
 */
START_TEST(t_table_dups)
{
	struct rg_table	t;
	size_t		len, count, pass;
	char		*text, *first = NULL;

	for (pass = 0; pass < 2; pass++) {
		rg_table_init(&t);
		if (pass == 0)
			add(&t, "/tcprouter/services/www.google.com",
			    "{\"addr\":\"10.0.0.2\"}");
		add(&t, "/tcprouter/service/google", "{\"addr\":"
		    "\"10.0.0.1:443\",\"sni\":\"www.google.com\"}");
		add(&t, "/tcprouter/service/google", "{\"addr\":"
		    "\"10.0.0.1:443\",\"sni\":\"www.google.com\"}");
		if (pass == 1)
			add(&t, "/tcprouter/services/www.google.com",
			    "{\"addr\":\"10.0.0.2\"}");
		ndups = 0;
		ck_assert_ptr_nonnull(text = rg_table_json(&t, &len, &count,
		    on_dup, NULL));
		ck_assert_uint_eq(count, 1);
		ck_assert_int_eq(ndups, 1);
		ck_assert_str_eq(lastdup, "/tcprouter/service/google kept "
		    "over /tcprouter/services/www.google.com");
		ck_assert_str_eq(text, "{\"www.google.com\":"
		    "{\"addr\":\"10.0.0.1:443\"}}");
		if (first == NULL)
			first = text;
		else {
			ck_assert_str_eq(first, text);
			free(text);
		}
		rg_table_free(&t);
	}
	free(first);
}
END_TEST

static Suite *
records_suite(void)
{
	Suite	*s = suite_create("redis_records");
	TCase	*tc;

	tc = tcase_create("record");
	tcase_add_test(tc, t_shape_ports);
	tcase_add_test(tc, t_shape_sni);
	tcase_add_test(tc, t_wrapper);
	tcase_add_test(tc, t_plain_json);
	tcase_add_test(tc, t_bad_base64);
	tcase_add_test(tc, t_bad_json);
	tcase_add_test(tc, t_nul);
	tcase_add_test(tc, t_bad_addr);
	tcase_add_test(tc, t_bad_name);
	tcase_add_test(tc, t_wrong_types);
	tcase_add_test(tc, t_wildcard_catch_all);
	tcase_add_test(tc, t_sni_overrides_key);
	tcase_add_test(tc, t_key_prefix);
	tcase_add_test(tc, t_sizes);
	tcase_add_test(tc, t_base64);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, t_table_json);
	tcase_add_test(tc, t_table_dups);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, redis_scan_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(records_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? 0 : 1;
}
