/*
 * Unit tests of the racing helpers (worker/egress/race.c, health.c):
 * happy eyeballs address order, route cache keys and slots in a real
 * shared region, and the connect-time moving average.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "worker/egress/egress.h"
#include "worker/egress/health.h"
#include "worker/egress/race.h"

static struct sl_res_addr
addr(const char *ip)
{
	struct sl_res_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, ip, a.addr) == 1)
		a.family = 4;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, a.addr), 1);
		a.family = 6;
	}
	return a;
}

static void
check_order(const char *const *in, const char *const *want, uint32_t n)
{
	struct sl_res_addr	a[SL_MAX_ADDRS], w;
	uint32_t		i;

	for (i = 0; i < n; i++)
		a[i] = addr(in[i]);
	race_interleave(a, n);
	for (i = 0; i < n; i++) {
		w = addr(want[i]);
		ck_assert_msg(a[i].family == w.family &&
		    memcmp(a[i].addr, w.addr, 16) == 0, "position %u is not %s",
		    i, want[i]);
	}
}

START_TEST(test_interleave)
{
	static const char *const in[] = { "10.0.0.1", "10.0.0.2", "::1",
	    "10.0.0.3", "::2" };
	static const char *const want[] = { "::1", "10.0.0.1", "::2",
	    "10.0.0.2", "10.0.0.3" };
	static const char *const v4[] = { "10.0.0.1", "10.0.0.2" };
	static const char *const v6[] = { "::3", "::1", "::2" };
	static const char *const one[] = { "::1", "10.0.0.1", "10.0.0.2" };
	static const char *const onew[] = { "::1", "10.0.0.1", "10.0.0.2" };

	check_order(in, want, 5);
	check_order(v4, v4, 2);
	check_order(v6, v6, 3);
	check_order(one, onew, 3);
}
END_TEST

static struct sl_target
req_name(const char *host, uint16_t port)
{
	struct sl_target r;

	memset(&r, 0, sizeof(r));
	snprintf(r.host, sizeof(r.host), "%s", host);
	r.port = port;
	return r;
}

static struct sl_target
req_ip4(const char *ip, uint16_t port)
{
	struct sl_target	 r;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&r.addr;

	memset(&r, 0, sizeof(r));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	r.addrlen = sizeof(*sin);
	r.port = port;
	return r;
}

START_TEST(test_route_key)
{
	struct sl_target	a = req_name("example.org", 443);
	struct sl_target	b = req_name("example.org", 80);
	struct sl_target	c = req_ip4("1.2.3.4", 443);
	struct sl_target	d = req_name("1.2.3.4", 443);

	ck_assert_uint_ne(route_key(&a, "example.org"), 0);
	ck_assert_uint_eq(route_key(&a, "example.org"),
	    route_key(&a, "example.org"));
	ck_assert_uint_ne(route_key(&a, "example.org"),
	    route_key(&b, "example.org"));
	ck_assert_uint_ne(route_key(&a, "example.org"),
	    route_key(&a, "example.com"));
	/* A name that looks like an address is another destination. */
	ck_assert_uint_ne(route_key(&c, NULL), route_key(&d, "1.2.3.4"));
	ck_assert_uint_eq(route_key(&c, NULL), route_key(&c, "ignored"));
}
END_TEST

static struct sl_shm *
region(uint32_t nworkers, uint32_t nlinks)
{
	struct sl_shm	*p = shm_alloc(nworkers, nlinks);

	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_route_cache)
{
	struct sl_shm		*shm = region(2, 4);
	struct sl_route_slot	*rs;
	static const uint16_t	 all[] = { 0, 1, 2, 3 }, some[] = { 0, 2 };
	uint64_t		 k = 12345, other = k + SL_ROUTE_SLOTS;

	shm->self = 0;
	rs = shm->rows[0].routes;
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), -1);
	route_store(shm, k, 1, 2000);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), 1);
	/* Not among this request's candidates: not used. */
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, some, 2), -1);
	/* Expired, or expiring beyond our own TTL (a scribble). */
	ck_assert_int_eq(route_lookup(shm, k, 2000, 600000, all, 4), -1);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 500, all, 4), -1);
	ck_assert_int_eq(route_lookup(shm, 0, 1000, 600000, all, 4), -1);
	/* Dropping another link's route keeps this one. */
	route_drop(shm, k, 3);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), 1);
	route_drop(shm, k, 1);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), -1);
	/* Same slot, other key: the newer destination wins the slot. */
	route_store(shm, k, 2, 5000);
	route_store(shm, other, 3, 5000);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), -1);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 3);
	/* A scribbled link index is never offered by the policy. */
	atomic_store(&rs[other % SL_ROUTE_SLOTS].link, 999);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), -1);
	/* Worker 1 raced it later: its entry is newer and wins. */
	route_store(shm, other, 3, 5000);
	shm->self = 1;
	route_store(shm, other, 2, 6000);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 2);
	shm->self = 0;
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 2);
	/* Dropping touches only our own table; a tie goes to our own. */
	route_drop(shm, other, 2);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 2);
	route_store(shm, other, 1, 6000);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 1);
	/* Only worker 1's entry, and ours gone: worker 1's is used. */
	route_drop(shm, other, 1);
	ck_assert_int_eq(route_lookup(shm, other, 1000, 600000, all, 4), 2);
	/* No worker (a tool): nothing is stored or dropped. */
	shm->self = -1;
	route_store(shm, k, 0, 7000);
	ck_assert_int_eq(route_lookup(shm, k, 1000, 600000, all, 4), -1);
	shm_free(shm);
}
END_TEST

START_TEST(test_connect_avg)
{
	struct egress_env	 w;
	struct sl_link_health	*h;

	memset(&w, 0, sizeof(w));
	w.nworkers = 1;
	w.shm = region(1, 2);
	egress_init(&w);
	h = shm_health(w.shm, 0, 1);
	health_connect_time(1, 100, 0);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 100);
	health_connect_time(1, 20, 0);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 90);
	/* A cancelled loser only raises the average. */
	health_connect_time(1, 50, 1);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 90);
	health_connect_time(1, 202, 1);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 104);
	/* 0 is "unknown" to the policy: a sample is at least 1 ms. */
	h = shm_health(w.shm, 0, 0);
	health_connect_time(0, 0, 0);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 1);
	health_connect_time(0, 1, 0);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 1);
	/* A scribbled average is replaced by the sample. */
	atomic_store(&h->connect_ms_avg, UINT64_MAX);
	health_connect_time(0, 7, 0);
	ck_assert_uint_eq(atomic_load(&h->connect_ms_avg), 7);
	shm_free((struct sl_shm *)w.shm);
}
END_TEST

/* Passive health over two workers' rows, as worker 0 (health.c). */
START_TEST(test_health_rows)
{
	struct egress_env	 w;
	struct sl_conf		 conf;
	struct sl_link		 links[1];
	struct sl_shm		*sh = region(2, 1);
	struct sl_link_health	*mine, *other;
	struct sl_health	 h;
	uint64_t		 now = mono_ms();

	memset(&w, 0, sizeof(w));
	memset(&conf, 0, sizeof(conf));
	memset(links, 0, sizeof(links));
	snprintf(links[0].name, sizeof(links[0].name), "l");
	links[0].max_fails = 3;
	links[0].cooldown_ms = 10000;
	conf.links = links;
	conf.nlinks = 1;
	sh->self = 0;
	w.nworkers = 2;
	w.conf = &conf;
	w.shm = sh;
	egress_init(&w);
	mine = shm_health(sh, 0, 0);
	other = shm_health(sh, 1, 0);
	/* Worker 1 failed twice: our first failure makes three. */
	atomic_store(&other->fails, 2);
	atomic_store(&other->streak_ms, now - 5);
	health_link_failed(0, "x");
	shm_health_read(sh, 0, 0, mono_ms(), 10000, &h);
	ck_assert(h.cooling);
	ck_assert_uint_eq(h.fails, 3);
	/* A success here ends both streaks, and our cool-down. */
	health_link_ok(0);
	shm_health_read(sh, 0, 0, mono_ms(), 10000, &h);
	ck_assert(!h.cooling && !h.others_cooling);
	ck_assert_uint_eq(h.fails, 0);
	ck_assert_uint_eq(atomic_load(&mine->fails), 0);
	/*
	 * A scribbled huge streak counts as max_fails - 1 at most: as if
	 * worker 1 had failed twice.  Alone it cools nothing for us; one
	 * failure of ours does, as it would after two honest ones.
	 */
	atomic_store(&other->fails, 60000);
	atomic_store(&mine->ok_ms, 0);
	atomic_store(&other->ok_ms, 0);
	atomic_store(&other->streak_ms, mono_ms());
	shm_health_read(sh, 0, 0, mono_ms(), 10000, &h);
	ck_assert(!h.cooling);
	health_link_failed(0, "x");
	shm_health_read(sh, 0, 0, mono_ms(), 10000, &h);
	ck_assert(h.cooling);
	ck_assert_uint_eq(atomic_load(&mine->fails), 1);
	shm_free(sh);
}
END_TEST

static Suite *
race_suite(void)
{
	Suite	*s = suite_create("race");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_interleave);
	tcase_add_test(tc, test_route_key);
	tcase_add_test(tc, test_route_cache);
	tcase_add_test(tc, test_connect_avg);
	tcase_add_test(tc, test_health_rows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(race_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
