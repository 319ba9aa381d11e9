/*
 * The worker's name cache (worker/egress/namecache.c): kept answers come
 * back within their time, never past it or NC_MAX_TTL_S, and nothing
 * malformed goes in.
 */
#include <check.h>
#include <string.h>

#include "worker/egress/namecache.h"

static struct sl_res_addr
addr4(uint8_t last)
{
	struct sl_res_addr	a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.addr[0] = 127;
	a.addr[3] = last;
	return a;
}

START_TEST(t_put_get)
{
	struct sl_res_addr	in[2] = { addr4(1), addr4(2) }, out[SL_MAX_ADDRS];
	uint64_t		k = namecache_key("example.org");

	ck_assert_uint_ne(k, 0);
	ck_assert_uint_eq(k, namecache_key("example.org"));
	ck_assert_uint_ne(k, namecache_key("example.net"));
	ck_assert_uint_eq(namecache_get(k, 1000, out), 0);
	namecache_put(k, 60, in, 2, 1000);
	ck_assert_uint_eq(namecache_get(k, 1000, out), 2);
	ck_assert_mem_eq(out, in, sizeof(in));
	/* Capped at NC_MAX_TTL_S, whatever the TTL. */
	ck_assert_uint_eq(namecache_get(k, 1000 + NC_MAX_TTL_S * 1000 - 1,
	    out), 2);
	ck_assert_uint_eq(namecache_get(k, 1000 + NC_MAX_TTL_S * 1000, out),
	    0);
}
END_TEST

START_TEST(t_short_ttl_and_refusals)
{
	struct sl_res_addr	in[1] = { addr4(9) }, out[SL_MAX_ADDRS];
	uint64_t		k = namecache_key("short.test");

	namecache_put(k, 1, in, 1, 5000);
	ck_assert_uint_eq(namecache_get(k, 5999, out), 1);
	ck_assert_uint_eq(namecache_get(k, 6000, out), 0);
	/* TTL 0, no address, too many: nothing kept. */
	k = namecache_key("zero.test");
	namecache_put(k, 0, in, 1, 5000);
	ck_assert_uint_eq(namecache_get(k, 5000, out), 0);
	namecache_put(k, 5, in, 0, 5000);
	ck_assert_uint_eq(namecache_get(k, 5000, out), 0);
	namecache_put(k, 5, in, SL_MAX_ADDRS + 1, 5000);
	ck_assert_uint_eq(namecache_get(k, 5000, out), 0);
}
END_TEST

/* Two keys in one slot: the newer replaces the older, no mix-up. */
START_TEST(t_collision)
{
	struct sl_res_addr	a[1] = { addr4(1) }, b[1] = { addr4(2) };
	struct sl_res_addr	out[SL_MAX_ADDRS];
	uint64_t		k1 = 0x1000, k2 = 0x1000 + NC_SLOTS;

	namecache_put(k1, 5, a, 1, 0);
	namecache_put(k2, 5, b, 1, 0);
	ck_assert_uint_eq(namecache_get(k1, 1, out), 0);
	ck_assert_uint_eq(namecache_get(k2, 1, out), 1);
	ck_assert_mem_eq(out, b, sizeof(b));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("namecache");
	TCase	*tc = tcase_create("namecache");
	SRunner	*sr;
	int	 failed;

	if (namecache_init() != 0)
		return 1;
	tcase_add_test(tc, t_put_get);
	tcase_add_test(tc, t_short_ttl_and_refusals);
	tcase_add_test(tc, t_collision);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
