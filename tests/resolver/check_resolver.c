/*
 * The resolver's pure parts with a fake clock: the cache (TTL floor and
 * ceiling, expiry, negative entries, LRU eviction, in-flight merging),
 * the blacklist (CIDRs, learned addresses and their bound), and the
 * checks on answers c-ares parsed (counts, TTLs, malformed replies).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolver/cache.h"
#include "resolver/engine.h"

static const uint8_t	key[16] = "0123456789abcdef";

static void
mkcache(struct cache *c, uint32_t cap, uint32_t lo, uint32_t hi,
    uint32_t neg)
{
	struct cache_params p = { cap, lo, hi, neg };

	cache_init(c, &p, key);
}

static struct sl_res_addr
v4(const char *s)
{
	struct sl_res_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	ck_assert_int_eq(inet_pton(AF_INET, s, a.addr), 1);
	return a;
}

static struct sl_res_addr
v6(const char *s)
{
	struct sl_res_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 6;
	ck_assert_int_eq(inet_pton(AF_INET6, s, a.addr), 1);
	return a;
}

/* Look name up at now; it must be new; answer it at once. */
static struct cache_entry *
put(struct cache *c, const char *name, enum cache_state st, uint32_t ttl,
    double now)
{
	struct sl_res_addr	 a = v4("192.0.2.1");
	struct cache_entry	*e;
	int			 created;

	e = cache_get(c, name, now, &created);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(created, 1);
	ck_assert_ptr_null(cache_finish(c, e, st, &a, 1, ttl, now));
	cache_settle(c, e);
	return e;
}

/* 1 if name is a valid finished entry at now, 0 if it must be asked. */
static int
cached(struct cache *c, const char *name, double now)
{
	struct cache_entry	*e;
	int			 created;

	e = cache_get(c, name, now, &created);
	ck_assert_ptr_nonnull(e);
	if (created) {
		/* Leave the table as it was: drop the new PENDING entry. */
		ck_assert_ptr_null(cache_finish(c, e, CE_FAILED, NULL, 0, 0,
		    now));
		cache_settle(c, e);
	}
	return !created;
}

START_TEST(t_ttl_clamp)
{
	struct cache		 c;
	struct cache_entry	*e;

	mkcache(&c, 100, 10, 100, 5);
	e = put(&c, "low.test", CE_POSITIVE, 3, 1000);
	ck_assert_uint_eq(e->ttl, 10);
	ck_assert_uint_eq(cache_ttl_left(e, 1000), 10);
	ck_assert(cached(&c, "low.test", 1009.9));
	ck_assert(!cached(&c, "low.test", 1010));
	e = put(&c, "high.test", CE_POSITIVE, 86400, 1000);
	ck_assert_uint_eq(e->ttl, 100);
	ck_assert(cached(&c, "high.test", 1099));
	ck_assert(!cached(&c, "high.test", 1100.5));
	e = put(&c, "mid.test", CE_POSITIVE, 50, 1000);
	ck_assert_uint_eq(e->ttl, 50);
	/* The remaining TTL rounds up: 1.2 s left is said as 2. */
	ck_assert_uint_eq(cache_ttl_left(e, 1048.8), 2);
	ck_assert_uint_eq(cache_ttl_left(e, 1050), 0);
	cache_free(&c);
}
END_TEST

START_TEST(t_ttl_bad_config)
{
	struct cache_params p = { 10, 60, 30, 5 };

	/* A floor above the ceiling: the ceiling wins. */
	ck_assert_uint_eq(cache_clamp_ttl(&p, 1), 30);
	ck_assert_uint_eq(cache_clamp_ttl(&p, 45), 30);
}
END_TEST

START_TEST(t_negative)
{
	struct cache		 c;
	struct cache_entry	*e;
	int			 created;

	mkcache(&c, 100, 30, 3600, 7);
	e = put(&c, "nx.test", CE_NEGATIVE, 0, 50);
	ck_assert_int_eq(e->state, CE_NEGATIVE);
	ck_assert_uint_eq(e->ttl, 7);
	ck_assert_uint_eq(e->naddrs, 0);
	e = cache_get(&c, "nx.test", 56.9, &created);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(e->state, CE_NEGATIVE);
	ck_assert(!cached(&c, "nx.test", 57));
	cache_free(&c);

	/* Negative TTL 0: negative answers are not kept. */
	mkcache(&c, 100, 30, 3600, 0);
	put(&c, "nx.test", CE_NEGATIVE, 0, 50);
	ck_assert(!cached(&c, "nx.test", 50));
	cache_free(&c);
}
END_TEST

START_TEST(t_failed_not_kept)
{
	struct cache c;

	mkcache(&c, 100, 30, 3600, 30);
	put(&c, "sf.test", CE_FAILED, 300, 0);
	ck_assert(!cached(&c, "sf.test", 0));
	/* POSITIVE without an address is a failure too. */
	{
		struct cache_entry *e;
		int created;

		e = cache_get(&c, "empty.test", 0, &created);
		cache_finish(&c, e, CE_POSITIVE, NULL, 0, 300, 0);
		ck_assert_int_eq(e->state, CE_FAILED);
		cache_settle(&c, e);
	}
	ck_assert_uint_eq(c.nentries, 0);
	cache_free(&c);
}
END_TEST

START_TEST(t_lru)
{
	struct cache	c;

	mkcache(&c, 3, 0, 3600, 30);
	put(&c, "a.test", CE_POSITIVE, 300, 0);
	put(&c, "b.test", CE_POSITIVE, 300, 1);
	put(&c, "c.test", CE_POSITIVE, 300, 2);
	ck_assert(cached(&c, "a.test", 3));	/* a is now the newest */
	put(&c, "d.test", CE_NEGATIVE, 0, 4);	/* pushes b out */
	ck_assert_uint_eq(c.nkept, 3);
	ck_assert_uint_eq(c.st.evictions, 1);
	ck_assert(cached(&c, "a.test", 5));
	ck_assert(cached(&c, "c.test", 5));
	ck_assert(cached(&c, "d.test", 5));
	ck_assert(!cached(&c, "b.test", 5));
	ck_assert_uint_eq(c.nkept, 3);
	cache_free(&c);
}
END_TEST

START_TEST(t_merge)
{
	struct cache		 c;
	struct cache_entry	*e, *e2;
	struct cache_waiter	 w[5], *list;
	struct sl_res_addr	 a[2] = { v4("192.0.2.7"), v6("2001:db8::7") };
	int			 created, i;

	mkcache(&c, 0, 0, 3600, 30);	/* no cache: merging still works */
	e = cache_get(&c, "m.test", 10, &created);
	ck_assert_int_eq(created, 1);
	for (i = 0; i < 5; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].worker = (uint32_t)i % 2;
		w[i].id = 100 + (uint32_t)i;
		if (i > 0) {
			e2 = cache_get(&c, "m.test", 10.5, &created);
			ck_assert_ptr_eq(e2, e);
			ck_assert_int_eq(created, 0);
		}
		cache_wait(e, &w[i]);
	}
	ck_assert_uint_eq(e->nwaiters, 5);
	ck_assert_uint_eq(c.st.merged, 4);
	list = cache_finish(&c, e, CE_POSITIVE, a, 2, 60, 11);
	/* Every waiter, in arrival order, and the answer for them. */
	for (i = 0; i < 5; i++, list = list->next)
		ck_assert_ptr_eq(list, &w[i]);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(e->naddrs, 2);
	ck_assert_uint_eq(e->ttl, 60);
	ck_assert_ptr_null(e->waiters);
	cache_settle(&c, e);		/* capacity 0: freed */
	ck_assert_uint_eq(c.nentries, 0);
	ck_assert(!cached(&c, "m.test", 11));
	cache_free(&c);
}
END_TEST

START_TEST(t_expired_restarts)
{
	struct cache		 c;
	struct cache_entry	*e, *e2;
	struct cache_waiter	 w;
	int			 created;

	mkcache(&c, 10, 0, 3600, 30);
	e = put(&c, "x.test", CE_POSITIVE, 5, 0);
	e2 = cache_get(&c, "x.test", 6, &created);
	ck_assert_ptr_eq(e2, e);		/* the same slot, re-armed */
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(e->state, CE_PENDING);
	ck_assert_uint_eq(c.nkept, 0);		/* in flight: not evictable */
	ck_assert_uint_eq(c.st.expired, 1);
	memset(&w, 0, sizeof(w));
	cache_wait(e, &w);
	ck_assert_ptr_eq(cache_finish(&c, e, CE_NEGATIVE, NULL, 0, 0, 6), &w);
	cache_settle(&c, e);
	ck_assert(cached(&c, "x.test", 35.9));
	cache_free(&c);
}
END_TEST

START_TEST(t_many_names)
{
	struct cache	c;
	char		name[64];
	int		i;

	mkcache(&c, 100000, 0, 3600, 30);
	for (i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		put(&c, name, CE_POSITIVE, 300, 0);
	}
	ck_assert_uint_eq(c.nkept, 50000);
	ck_assert_uint_ge(c.nbuckets, 16384);	/* the table grew */
	for (i = 0; i < 50000; i += 997) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		ck_assert(cached(&c, name, 1));
	}
	cache_free(&c);
}
END_TEST

START_TEST(t_forget)
{
	struct cache		 c;
	struct cache_entry	*e;

	mkcache(&c, 10, 0, 3600, 30);
	e = put(&c, "f.test", CE_POSITIVE, 300, 0);
	cache_forget(&c, e);
	ck_assert_uint_eq(c.nkept, 0);
	ck_assert(!cached(&c, "f.test", 1));
	cache_free(&c);
}
END_TEST

/* ---- blacklist ---- */

static struct sl_cidr
cidr(int fam, const char *s, uint8_t prefix)
{
	struct sl_cidr c;

	memset(&c, 0, sizeof(c));
	c.family = fam;
	c.prefix = prefix;
	ck_assert_int_eq(inet_pton(fam, s, c.addr), 1);
	return c;
}

START_TEST(t_bl_static)
{
	static struct blacklist	bl;
	struct sl_cidr		c[3];

	c[0] = cidr(AF_INET, "203.0.113.0", 24);
	c[1] = cidr(AF_INET, "198.51.100.6", 31);
	c[2] = cidr(AF_INET6, "2001:db8:1::", 48);
	bl_init(&bl, c, 3);
	ck_assert(bl_contains(&bl, &(struct sl_res_addr){ .family = 4,
	    .addr = { 203, 0, 113, 255 } }));
	ck_assert(!bl_contains(&bl, &(struct sl_res_addr){ .family = 4,
	    .addr = { 203, 0, 114, 0 } }));
	ck_assert(bl_contains(&bl, &(struct sl_res_addr){ .family = 4,
	    .addr = { 198, 51, 100, 7 } }));
	ck_assert(!bl_contains(&bl, &(struct sl_res_addr){ .family = 4,
	    .addr = { 198, 51, 100, 8 } }));
	{
		struct sl_res_addr in = v6("2001:db8:1:ffff::1");
		struct sl_res_addr out = v6("2001:db8:2::1");
		struct sl_res_addr mapped = v6("::ffff:203.0.113.9");
		struct sl_res_addr fine = v6("::ffff:192.0.2.1");

		ck_assert(bl_contains(&bl, &in));
		ck_assert(!bl_contains(&bl, &out));
		/* An IPv4-mapped address reaches the IPv4 address. */
		ck_assert(bl_contains(&bl, &mapped));
		ck_assert(!bl_contains(&bl, &fine));
	}
}
END_TEST

START_TEST(t_bl_learned)
{
	static struct blacklist	bl;
	struct sl_res_addr	a, m;
	int			i;

	bl_init(&bl, NULL, 0);
	a = v4("127.0.0.99");
	ck_assert(!bl_contains(&bl, &a));
	ck_assert_int_eq(bl_learn(&bl, &a), 1);
	ck_assert_int_eq(bl_learn(&bl, &a), 0);
	ck_assert(bl_contains(&bl, &a));
	m = v6("::ffff:127.0.0.99");
	ck_assert_int_eq(bl_learn(&bl, &m), 0);	/* the same address */
	ck_assert(bl_contains(&bl, &m));
	m = v6("::1");
	ck_assert(!bl_contains(&bl, &m));
	/* Bounded: the oldest learned addresses go first. */
	for (i = 0; i < BL_MAX_LEARNED + 10; i++) {
		struct sl_res_addr x = { .family = 6 };

		x.addr[0] = 0x20;
		x.addr[14] = (uint8_t)(i >> 8);
		x.addr[15] = (uint8_t)i;
		ck_assert_int_eq(bl_learn(&bl, &x), 1);
	}
	ck_assert_uint_eq(bl.nlearned, BL_MAX_LEARNED);
	ck_assert(!bl_contains(&bl, &a));	/* 127.0.0.99 and 0..9 went */
	for (i = 0; i < BL_MAX_LEARNED + 10; i++) {
		struct sl_res_addr x = { .family = 6 };

		x.addr[0] = 0x20;
		x.addr[14] = (uint8_t)(i >> 8);
		x.addr[15] = (uint8_t)i;
		ck_assert_int_eq(bl_contains(&bl, &x), i >= 10);
	}
}
END_TEST

START_TEST(t_bl_filter)
{
	static struct blacklist	bl;
	struct sl_cidr		c = cidr(AF_INET, "10.0.0.0", 8);
	struct sl_res_addr	a[4];
	struct sl_res_addr	bad = v6("2001:db8::bad");

	bl_init(&bl, &c, 1);
	bl_learn(&bl, &bad);
	a[0] = v4("10.1.2.3");
	a[1] = v4("192.0.2.1");
	a[2] = bad;
	a[3] = v6("2001:db8::1");
	ck_assert_uint_eq(bl_filter(&bl, a, 4), 2);
	ck_assert_uint_eq(a[0].addr[0], 192);
	ck_assert_uint_eq(a[1].family, 6);
	ck_assert_uint_eq(a[1].addr[15], 1);
}
END_TEST

/* ---- answers c-ares parsed ---- */

static size_t
reply(unsigned char *b, uint16_t type, int nanswers, int claim,
    uint32_t ttl)
{
	static const unsigned char q[] = "\x01x\x04test";
	size_t	n = 0, rdlen = type == RS_T_A ? 4 : 16;
	int	i;

	memcpy(b, "\x12\x34\x81\x80\x00\x01", 6);
	b[6] = 0;
	b[7] = (unsigned char)claim;
	memset(b + 8, 0, 4);
	n = 12;
	memcpy(b + n, q, sizeof(q));		/* with the root label */
	n += sizeof(q);
	b[n++] = 0;
	b[n++] = (unsigned char)type;
	b[n++] = 0;
	b[n++] = 1;
	for (i = 0; i < nanswers; i++) {
		b[n++] = 0xc0;
		b[n++] = 12;
		b[n++] = 0;
		b[n++] = (unsigned char)type;
		b[n++] = 0;
		b[n++] = 1;
		b[n++] = (unsigned char)(ttl >> 24);
		b[n++] = (unsigned char)(ttl >> 16);
		b[n++] = (unsigned char)(ttl >> 8);
		b[n++] = (unsigned char)ttl;
		b[n++] = 0;
		b[n++] = (unsigned char)rdlen;
		memset(b + n, 0, rdlen);
		b[n] = 10;
		b[n + rdlen - 1] = (unsigned char)i;
		n += rdlen;
	}
	return n;
}

START_TEST(t_parse)
{
	unsigned char		b[2048];
	struct sl_res_addr	out[SL_MAX_ADDRS];
	uint32_t		n, ttl;
	size_t			len;

	len = reply(b, RS_T_A, 3, 3, 120);
	ttl = UINT32_MAX;
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, (int)len, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_SUCCESS);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ttl, 120);
	ck_assert_uint_eq(out[2].family, 4);
	ck_assert_uint_eq(out[2].addr[3], 2);
	/* More records than an answer carries: the first 16. */
	len = reply(b, RS_T_AAAA, 40, 40, 5);
	ck_assert_int_eq(rs_parse_addrs(RS_T_AAAA, b, (int)len, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_SUCCESS);
	ck_assert_uint_eq(n, SL_MAX_ADDRS);
	ck_assert_uint_eq(ttl, 5);
	/* A TTL with the top bit set is not negative seconds: zero. */
	len = reply(b, RS_T_A, 1, 1, 0x80000001u);
	ttl = UINT32_MAX;
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, (int)len, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_SUCCESS);
	ck_assert_uint_le(ttl, 0x7fffffffu);
	/* No records: no data.  Counts that lie, or a cut: malformed. */
	len = reply(b, RS_T_A, 0, 0, 0);
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, (int)len, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_ENODATA);
	len = reply(b, RS_T_A, 2, 7, 60);
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, (int)len, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_EBADRESP);
	len = reply(b, RS_T_A, 2, 2, 60);
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, (int)len - 3, out,
	    SL_MAX_ADDRS, &n, &ttl), ARES_EBADRESP);
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, b, 5, out, SL_MAX_ADDRS, &n,
	    &ttl), ARES_EBADRESP);
	ck_assert_int_eq(rs_parse_addrs(RS_T_A, NULL, 0, out, SL_MAX_ADDRS,
	    &n, &ttl), ARES_EBADRESP);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* An answer header and question for name written as given (case too). */
static int
qcase_answer(unsigned char *buf, const char *name, int qdcount)
{
	const char	*p = name, *dot;
	size_t		 n;
	int		 off = 12;

	memset(buf, 0, 12);
	buf[5] = (unsigned char)qdcount;
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		buf[off++] = (unsigned char)n;
		memcpy(buf + off, p, n);
		off += (int)n;
		p += n + (dot != NULL);
	}
	buf[off++] = 0;
	memcpy(buf + off, "\0\1\0\1", 4);
	return off + 4;
}

/* DNS 0x20: the question must come back byte for byte. */
START_TEST(t_qcase)
{
	unsigned char	b[300];
	char		q[SL_MAX_NAME + 1];
	int		n, i, flipped = 0;

	n = qcase_answer(b, "wWw.ExAmple.COM", 1);
	ck_assert_int_eq(rs_case_ok("wWw.ExAmple.COM", b, n), 1);
	ck_assert_int_eq(rs_case_ok("wWw.ExAmple.COM.", b, n), 1);
	ck_assert_int_eq(rs_case_ok("www.example.com", b, n), 0);
	ck_assert_int_eq(rs_case_ok("wWw.ExAmple.COx", b, n), 0);
	/* A search domain after the name asked for. */
	n = qcase_answer(b, "HoSt.corp.example", 1);
	ck_assert_int_eq(rs_case_ok("HoSt", b, n), 1);
	ck_assert_int_eq(rs_case_ok("HoS", b, n), 0);	/* mid-label */
	ck_assert_int_eq(rs_case_ok("HoSt.corp.example.net", b, n), 0);
	/* No question, two questions, truncated, a compression pointer. */
	n = qcase_answer(b, "a.b", 0);
	ck_assert_int_eq(rs_case_ok("a.b", b, n), 0);
	n = qcase_answer(b, "a.b", 2);
	ck_assert_int_eq(rs_case_ok("a.b", b, n), 0);
	n = qcase_answer(b, "abc.def", 1);
	ck_assert_int_eq(rs_case_ok("abc.def", b, 16), 0);
	b[12] = 0xC0;
	ck_assert_int_eq(rs_case_ok("abc.def", b, n), 0);
	ck_assert_int_eq(rs_case_ok("abc.def", NULL, 0), 0);
	/* Mixing keeps the name (case aside) and flips some letters. */
	for (i = 0; i < 20; i++) {
		rs_case_mix("abcdefghijklmnopqrstuvwxyz.example-1.com", q,
		    sizeof(q));
		ck_assert_int_eq(strcasecmp(q,
		    "abcdefghijklmnopqrstuvwxyz.example-1.com"), 0);
		flipped += strcmp(q,
		    "abcdefghijklmnopqrstuvwxyz.example-1.com") != 0;
	}
	ck_assert_int_ge(flipped, 19);
	rs_case_mix("x", q, 2);
	ck_assert(strcmp(q, "x") == 0 || strcmp(q, "X") == 0);
}
END_TEST

START_TEST(t_label)
{
	char	a[21], b[21];
	size_t	i;

	ck_assert_int_eq(hijack_label(a, 20), 0);
	ck_assert_int_eq(hijack_label(b, 20), 0);
	ck_assert_uint_eq(strlen(a), 20);
	ck_assert_str_ne(a, b);
	for (i = 0; i < 20; i++)
		ck_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789",
		    a[i]) != NULL);
}
END_TEST

static Suite *
resolver_suite(void)
{
	Suite	*s = suite_create("resolver");
	TCase	*tc = tcase_create("cache");

	tcase_add_test(tc, t_ttl_clamp);
	tcase_add_test(tc, t_ttl_bad_config);
	tcase_add_test(tc, t_negative);
	tcase_add_test(tc, t_failed_not_kept);
	tcase_add_test(tc, t_lru);
	tcase_add_test(tc, t_merge);
	tcase_add_test(tc, t_expired_restarts);
	tcase_add_test(tc, t_many_names);
	tcase_add_test(tc, t_forget);
	suite_add_tcase(s, tc);
	tc = tcase_create("blacklist");
	tcase_add_test(tc, t_bl_static);
	tcase_add_test(tc, t_bl_learned);
	tcase_add_test(tc, t_bl_filter);
	suite_add_tcase(s, tc);
	tc = tcase_create("answers");
	tcase_add_test(tc, t_parse);
	tcase_add_test(tc, t_label);
	tcase_add_test(tc, t_qcase);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(resolver_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
