/*
 * Limits: the "limits" keys and every refusal, the token bucket's math,
 * the per-client table (claim, counts, a dead worker's column, stale
 * entries, a full window) and the limits area of the shared region.
 */
#include <sys/mman.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "policy/counters.h"
#include "policy/limits.h"

#define MS	UINT64_C(1000000)

TCase	*limits_relay_tcase(void);	/* check_limits_relay.c */
#define SEC	LIM_NS

/* Single quotes stand for double quotes, for readable C strings. */
static struct sl_conf *
parse(const char *doc, char *err, size_t errlen)
{
	struct sl_conf	*conf = NULL;
	char		*text;
	size_t		 i;

	text = strdup(doc);
	ck_assert_ptr_nonnull(text);
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] == '\'')
			text[i] = '"';
	err[0] = '\0';
	if (conf_parse(text, strlen(text), &conf, err, errlen) == -1)
		conf = NULL;
	free(text);
	return conf;
}

static void
must_fail(const char *doc, const char *want)
{
	struct sl_conf	*conf;
	char		 err[512];

	conf = parse(doc, err, sizeof(err));
	if (conf != NULL)
		conf_free(conf);
	ck_assert_msg(conf == NULL, "parsed: %s", doc);
	ck_assert_msg(strcmp(err, want) == 0, "got \"%s\", want \"%s\"", err,
	    want);
}

START_TEST(t_conf_all_keys)
{
	struct sl_conf		*conf;
	const struct sl_limits	*r, *l;
	char			 err[512];

	conf = parse("{'limits': {'max_sessions': 1000, "
	    "'max_sessions_per_client': 20, "
	    "'new_sessions_per_second_per_client': 50, "
	    "'bandwidth': {'up': 10000000, 'down': 50000000}, "
	    "'session_bandwidth': {'up': 1000000, 'down': 5000000}, "
	    "'max_udp_flows': 2000}, "
	    "'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1080'}, "
	    "{'kind': 'socks5', 'listen': '127.0.0.1:1081', 'limits': {'max_sessions': 7, "
	    "'session_bandwidth': {'down': 4294967295}}}]}",
	    err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	r = &conf->limits;
	ck_assert_uint_eq(r->max_sessions, 1000);
	ck_assert_uint_eq(r->max_sessions_per_client, 20);
	ck_assert_uint_eq(r->new_per_second_per_client, 50);
	ck_assert_uint_eq(r->bw_up, 10000000);
	ck_assert_uint_eq(r->bw_down, 50000000);
	ck_assert_uint_eq(r->session_bw_up, 1000000);
	ck_assert_uint_eq(r->session_bw_down, 5000000);
	ck_assert_uint_eq(r->max_udp_flows, 2000);
	l = &conf->listeners[0].limits;
	ck_assert_uint_eq(l->max_sessions, 0);
	ck_assert_uint_eq(l->bw_up, 0);
	l = &conf->listeners[1].limits;
	ck_assert_uint_eq(l->max_sessions, 7);
	ck_assert_uint_eq(l->session_bw_up, 0);
	ck_assert_uint_eq(l->session_bw_down, 4294967295u);
	ck_assert_uint_eq(l->max_sessions_per_client, 0);
	conf_free(conf);
	/* No limits at all: every field 0. */
	conf = parse("{'limits': {}}", err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->limits.max_sessions, 0);
	conf_free(conf);
}
END_TEST

START_TEST(t_conf_refusals)
{
	must_fail("{'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1', 'limits': "
	    "{'max_sessions': 0}}]}",
	    "listeners[0].limits.max_sessions: 0 is out of range "
	    "(1-4294967295)");
	must_fail("{'limits': {'max_sessions': -5}}",
	    "limits.max_sessions: -5 is out of range (1-4294967295)");
	must_fail("{'limits': {'max_sessions': 1.5}}",
	    "limits.max_sessions: 1.5 is not an integer");
	must_fail("{'limits': {'max_sessions': '10'}}",
	    "limits.max_sessions: expected a number, got string");
	must_fail("{'limits': {'max_sessions': 4294967296}}",
	    "limits.max_sessions: 4294967296 is out of range (1-4294967295)");
	must_fail("{'limits': {'max_sessions_per_client': 0}}",
	    "limits.max_sessions_per_client: 0 is out of range (1-1000000)");
	must_fail("{'limits': {'max_sessions_per_client': 1000001}}",
	    "limits.max_sessions_per_client: 1000001 is out of range "
	    "(1-1000000)");
	must_fail("{'limits': {'new_sessions_per_second_per_client': 0}}",
	    "limits.new_sessions_per_second_per_client: 0 is out of range "
	    "(1-1000000)");
	must_fail("{'limits': {'new_sessions_per_second_per_client': true}}",
	    "limits.new_sessions_per_second_per_client: expected a number, "
	    "got boolean");
	must_fail("{'limits': {'bandwidth': {'up': 0}}}",
	    "limits.bandwidth.up: 0 is out of range (1-4294967295)");
	must_fail("{'limits': {'bandwidth': {'down': 2.5}}}",
	    "limits.bandwidth.down: 2.5 is not an integer");
	must_fail("{'limits': {'bandwidth': {'sideways': 1}}}",
	    "limits.bandwidth.sideways: unknown key");
	must_fail("{'limits': {'bandwidth': {}}}",
	    "limits.bandwidth: expected \"up\", \"down\" or both");
	must_fail("{'limits': {'bandwidth': 100}}",
	    "limits.bandwidth: expected an object, got number");
	must_fail("{'limits': {'session_bandwidth': {'up': -1}}}",
	    "limits.session_bandwidth.up: -1 is out of range (1-4294967295)");
	must_fail("{'limits': {'session_bandwidth': []}}",
	    "limits.session_bandwidth: expected an object, got array");
	must_fail("{'limits': {'max_udp_flows': 0}}",
	    "limits.max_udp_flows: 0 is out of range (1-4294967295)");
	must_fail("{'limits': {'max_session': 10}}",
	    "limits.max_session: unknown key");
	must_fail("{'limits': {'max_sessions': 1, 'max_sessions': 2}}",
	    "limits.max_sessions: duplicate key");
	must_fail("{'limits': 10}", "limits: expected an object, got number");
	must_fail("{'limits': null}", "limits: expected an object, got null");
	must_fail("{'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1'}, "
	    "{'kind': 'socks5', 'listen': '127.0.0.1:2', 'limits': {'bandwidth': "
	    "{'up': 'fast'}}}]}",
	    "listeners[1].limits.bandwidth.up: expected a number, got string");
}
END_TEST

START_TEST(t_bucket_math)
{
	uint64_t	now = 1000 * SEC, tat;

	/* Full at start (tat 0), and whenever tat is in the past. */
	ck_assert_uint_eq(lim_bucket_avail(0, now, 50, 50), 50);
	ck_assert_uint_eq(lim_bucket_avail(now - 1, now, 50, 50), 50);
	/* Taking 50 empties it; 20 ms later one token is back. */
	tat = lim_bucket_charge(0, now, 50, 50, 50);
	ck_assert_uint_eq(tat, now + SEC);
	ck_assert_uint_eq(lim_bucket_avail(tat, now, 50, 50), 0);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 19 * MS, 50, 50), 0);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 20 * MS, 50, 50), 1);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 500 * MS, 50, 50), 25);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 5 * SEC, 50, 50), 50);
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 50, 50, 1), 20 * MS);
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 50, 50, 10), 200 * MS);
	ck_assert_uint_eq(lim_bucket_wait(tat, now + 20 * MS, 50, 50, 1), 0);
	/* need beyond burst waits for a full bucket, no longer. */
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 50, 50, 500), SEC);
	/* Rates that do not divide a second: 3/s with a burst of 1. */
	tat = lim_bucket_charge(0, now, 3, 1, 1);
	ck_assert_uint_eq(lim_bucket_avail(tat, now, 3, 1), 0);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 333333333, 3, 1), 0);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + 333333334, 3, 1), 1);
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 3, 1, 1), 333333334);
	/* Big rates and bursts do not overflow. */
	ck_assert_uint_eq(lim_bucket_avail(0, now, 4294967295u, 4294967295u),
	    4294967295u);
	tat = lim_bucket_charge(0, now, 4294967295u, 4294967295u,
	    4294967295u);
	ck_assert_uint_eq(lim_bucket_avail(tat, now, 4294967295u,
	    4294967295u), 0);
	ck_assert_uint_eq(lim_bucket_avail(tat, now + SEC / 2, 4294967295u,
	    4294967295u), 2147483647u);
	/* Debt is bounded: a charge far beyond the burst, or a scribbled tat. */
	tat = lim_bucket_charge(0, now, 1000, 1000, 1000000);
	ck_assert_uint_eq(tat, now + SEC + LIM_MAX_DEBT_NS);
	ck_assert_uint_eq(lim_bucket_wait(UINT64_MAX, now, 1000, 1000, 1),
	    LIM_MAX_DEBT_NS + MS);
	ck_assert_uint_eq(lim_bucket_avail(UINT64_MAX, now, 1000, 1000), 0);
}
END_TEST

START_TEST(t_bucket_atomic)
{
	_Atomic uint64_t	tat = 0;
	uint64_t		now = 10 * SEC;
	int			i, taken = 0;

	for (i = 0; i < 100; i++)
		taken += lim_bucket_take(&tat, now, 20, 20, 1);
	ck_assert_int_eq(taken, 20);
	/* A second later: another second's worth, not more. */
	for (i = 0, taken = 0; i < 100; i++)
		taken += lim_bucket_take(&tat, now + SEC, 20, 20, 1);
	ck_assert_int_eq(taken, 20);
	/* Using (bandwidth) may overdraw; the wait follows the debt. */
	tat = 0;
	lim_bucket_use(&tat, now, 1000, 100, 150);
	ck_assert_uint_eq(lim_bucket_avail(tat, now, 1000, 100), 0);
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 1000, 100, 10),
	    60 * MS);
	ck_assert_int_eq(lim_bucket_take(&tat, now + 59 * MS, 1000, 100, 10),
	    0);
	ck_assert_int_eq(lim_bucket_take(&tat, now + 60 * MS, 1000, 100, 10),
	    1);
}
END_TEST

/* Readers sharing a bucket queue: each reservation waits its turn. */
START_TEST(t_bucket_reserve)
{
	_Atomic uint64_t	tat = 0;
	uint64_t		now = 10 * SEC, w1, w2, w3, own = 0;
	int			n;

	/* 1000/s, burst 100: empty it, then three readers of 25 queue. */
	ck_assert_int_eq(lim_bucket_take(&tat, now, 1000, 100, 100), 1);
	ck_assert_int_eq(lim_bucket_reserve(&tat, now, 1000, 100, 25, &w1),
	    1);
	ck_assert_int_eq(lim_bucket_reserve(&tat, now, 1000, 100, 25, &w2),
	    1);
	ck_assert_int_eq(lim_bucket_reserve(&tat, now, 1000, 100, 25, &w3),
	    1);
	ck_assert_uint_eq(w1, 25 * MS);
	ck_assert_uint_eq(w2, 50 * MS);
	ck_assert_uint_eq(w3, 75 * MS);
	/* What is reserved is gone for everyone else. */
	ck_assert_int_eq(lim_bucket_take(&tat, now + 75 * MS, 1000, 100, 1),
	    0);
	ck_assert_int_eq(lim_bucket_take(&tat, now + 76 * MS, 1000, 100, 1),
	    1);
	/* Given back: the next one waits less. */
	lim_bucket_refund(&tat, 1000, 25);
	ck_assert_uint_eq(lim_bucket_wait(tat, now, 1000, 100, 1), 52 * MS);
	/* The queue is bounded: burst + LIM_MAX_DEBT_NS past now. */
	for (n = 0; lim_bucket_reserve(&tat, now, 1000, 100, 100, &w1); n++)
		ck_assert_int_lt(n, 100);
	ck_assert_int_eq(n, 39);	/* (4100 - 150) / 100 ms */
	ck_assert_uint_le(w1, LIM_MAX_DEBT_NS);
	/* A scribbled tat: nothing reserved, no overflow. */
	tat = UINT64_MAX - 5;
	ck_assert_int_eq(lim_bucket_reserve(&tat, now, 1000, 100, 1, &w1), 0);
	lim_bucket_refund(&tat, 1000, 1);
	/* The unshared variant. */
	ck_assert_int_eq(lim_bucket_reserve_at(&own, now, 1000, 100, 100,
	    &w1), 1);
	ck_assert_uint_eq(w1, 0);
	ck_assert_int_eq(lim_bucket_reserve_at(&own, now, 1000, 100, 10,
	    &w1), 1);
	ck_assert_uint_eq(w1, 10 * MS);
}
END_TEST

/* Entries, then ncols columns, in one block. */
static void *
table_mem(uint32_t ncols, struct lim_table *t)
{
	char		*p = calloc(1, lim_table_size() + ncols *
			    lim_col_size());
	uint32_t	 c;

	ck_assert_ptr_nonnull(p);
	lim_table_init(t, p, ncols);
	for (c = 0; c < ncols; c++)
		lim_table_set_col(t, c, (void *)(p + lim_table_size() +
		    c * lim_col_size()));
	return p;
}

START_TEST(t_table_claim_count)
{
	struct lim_table	 t;
	struct lim_entry	*a, *b, *a2;
	void			*mem = table_mem(3, &t);
	uint64_t		 now = 5 * SEC;

	ck_assert_ptr_null(lim_lookup(&t, 42, now, 0));
	a = lim_lookup(&t, 42, now, 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(atomic_load(&a->key), 42);
	ck_assert_ptr_eq(lim_lookup(&t, 42, now, 0), a);
	ck_assert_ptr_eq(lim_lookup(&t, 42, now, 1), a);
	/* Holding nothing, it is stale: another key may take it. */
	ck_assert_ptr_eq(lim_lookup(&t, 42 + LIM_SLOTS, now, 1), a);
	ck_assert_ptr_null(lim_lookup(&t, 42, now, 0));
	a = lim_lookup(&t, 42, now, 1);
	/* Columns add up; each worker writes only its own. */
	atomic_fetch_add(lim_col(&t, a, 0), 2);
	atomic_fetch_add(lim_col(&t, a, 2), 3);
	/* The same home slot: the next one in the window. */
	b = lim_lookup(&t, 42 + LIM_SLOTS, now, 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(lim_count(&t, a), 5);
	ck_assert_uint_eq(lim_count(&t, b), 0);
	/* A count held keeps the entry: nobody takes it over. */
	lim_reset_col(&t, 1);
	ck_assert_uint_eq(lim_count(&t, a), 5);
	/* Worker 2 died: its column goes, worker 0's stays. */
	lim_reset_col(&t, 2);
	ck_assert_uint_eq(lim_count(&t, a), 2);
	lim_reset_col(&t, 3);	/* no such column: nothing */
	ck_assert_uint_eq(lim_count(&t, a), 2);
	/* Scribbled counts are clamped, not summed into overflow. */
	atomic_store(lim_col(&t, a, 1), UINT32_MAX);
	ck_assert_uint_eq(lim_count(&t, a), 2 + (1u << 24));
	atomic_store(lim_col(&t, a, 1), 0);
	a2 = lim_lookup(&t, 42, now, 1);
	ck_assert_ptr_eq(a, a2);
	free(mem);
}
END_TEST

START_TEST(t_table_stale)
{
	struct lim_table	 t;
	struct lim_entry	*e[LIM_PROBE], *x;
	void			*mem = table_mem(2, &t);
	uint64_t		 now = 5 * SEC;
	uint32_t		 i;

	/* Fill key 7's whole window with other keys of the same home. */
	for (i = 0; i < LIM_PROBE; i++) {
		e[i] = lim_lookup(&t, 7 + (uint64_t)(i + 1) * LIM_SLOTS, now,
		    1);
		ck_assert_ptr_nonnull(e[i]);
		atomic_fetch_add(lim_col(&t, e[i], 0), 1);
		atomic_store(&e[i]->tat, now + SEC);	/* bucket not full */
	}
	/* Full: nothing free, nothing stale.  The caller decides. */
	ck_assert_ptr_null(lim_lookup(&t, 7, now, 1));
	/* A count of 0 with a bucket still refilling is not stale. */
	atomic_store(lim_col(&t, e[5], 0), 0);
	ck_assert_ptr_null(lim_lookup(&t, 7, now, 1));
	/* A hammering client (bucket empty) is never pushed out either. */
	ck_assert_ptr_null(lim_lookup(&t, 7, now + SEC - 1, 1));
	/* Count 0 and bucket full: forgotten, its slot reused. */
	x = lim_lookup(&t, 7, now + SEC, 1);
	ck_assert_ptr_eq(x, e[5]);
	ck_assert_uint_eq(atomic_load(&x->key), 7);
	/* The old key is gone; the rest are where they were. */
	ck_assert_ptr_null(lim_lookup(&t, 7 + 6 * LIM_SLOTS, now, 0));
	ck_assert_ptr_eq(lim_lookup(&t, 7 + 7 * LIM_SLOTS, now, 0), e[6]);
	free(mem);
}
END_TEST

START_TEST(t_client_key)
{
	uint64_t		k[2] = { 1, 2 }, k2[2] = { 3, 4 };
	struct sockaddr_in	a4, b4;
	struct sockaddr_in6	a6, b6;

	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
	b4 = a4;
	b4.sin_port = htons(999);	/* ports do not matter */
	ck_assert_uint_eq(lim_client_key(k, 0, (void *)&a4),
	    lim_client_key(k, 0, (void *)&b4));
	ck_assert_uint_ne(lim_client_key(k, 0, (void *)&a4),
	    lim_client_key(k, 1, (void *)&a4));
	ck_assert_uint_ne(lim_client_key(k, 0, (void *)&a4),
	    lim_client_key(k2, 0, (void *)&a4));
	inet_pton(AF_INET, "192.0.2.2", &b4.sin_addr);
	ck_assert_uint_ne(lim_client_key(k, 0, (void *)&a4),
	    lim_client_key(k, 0, (void *)&b4));
	/* IPv6: one /64 is one client. */
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a6.sin6_addr);
	b6 = a6;
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b6.sin6_addr);
	ck_assert_uint_eq(lim_client_key(k, 0, (void *)&a6),
	    lim_client_key(k, 0, (void *)&b6));
	inet_pton(AF_INET6, "2001:db8:1:3::1", &b6.sin6_addr);
	ck_assert_uint_ne(lim_client_key(k, 0, (void *)&a6),
	    lim_client_key(k, 0, (void *)&b6));
	ck_assert_uint_ne(lim_client_key(k, 0, (void *)&a6), 0);
}
END_TEST

/* Rows in the workers' parts, the rest shared; a dead worker's go. */
START_TEST(t_region)
{
	struct sl_limits_area	*a;
	struct lim_entry	*e;
	struct sl_shm		*p = shm_alloc(2, 3);
	size_t			 sh = SL_SHM_MAP_INDEX(SL_SHM_SHARED, 0);
	char			*base;
	uint64_t		 key0;

	ck_assert_ptr_nonnull(p);
	a = &p->limits;
	base = p->map[sh].base;
	ck_assert((char *)a->table.base >= base &&
	    (char *)a->table.base >= (char *)(a->bw + SL_LIMIT_SCOPES));
	ck_assert((char *)a->table.base + lim_table_size() <=
	    base + p->map[sh].size);
	ck_assert((char *)a->bw >= base);
	ck_assert_uint_eq((uintptr_t)p->rows[1].lim % SL_CACHELINE, 0);
	/* The key is random: not all zero (2^-128 to be wrong). */
	ck_assert(a->sipkey[0] != 0 || a->sipkey[1] != 0);
	key0 = a->sipkey[0];
	shm_part_init(p->map[0].base, SL_SHM_MASTER, 0, 2, 3);
	ck_assert(a->sipkey[0] != 0 || a->sipkey[1] != 0);
	ck_assert(a->sipkey[0] != key0);
	atomic_store(&p->rows[0].lim->sessions[0], 4);
	atomic_store(&p->rows[1].lim->sessions[0], 5);
	atomic_store(&p->rows[1].lim->udp_flows[3], 6);
	e = lim_lookup(&a->table, 77, 0, 1);
	atomic_store(lim_col(&a->table, e, 0), 1);
	atomic_store(lim_col(&a->table, e, 1), 2);
	shm_worker_reset(p, 1);
	ck_assert_uint_eq(atomic_load(&p->rows[0].lim->sessions[0]), 4);
	ck_assert_uint_eq(atomic_load(&p->rows[1].lim->sessions[0]), 0);
	ck_assert_uint_eq(atomic_load(&p->rows[1].lim->udp_flows[3]), 0);
	ck_assert_uint_eq(lim_count(&a->table, e), 1);
	/* The carried row's index is no worker: nothing of limits moves. */
	shm_worker_reset(p, 2);
	ck_assert_uint_eq(lim_count(&a->table, e), 1);
	ck_assert_str_eq(sl_ferr_names[SL_FERR_LIMIT], "limit");
	shm_free(p);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc;

	tc = tcase_create("config");
	tcase_add_test(tc, t_conf_all_keys);
	tcase_add_test(tc, t_conf_refusals);
	suite_add_tcase(s, tc);
	tc = tcase_create("bucket");
	tcase_add_test(tc, t_bucket_math);
	tcase_add_test(tc, t_bucket_atomic);
	tcase_add_test(tc, t_bucket_reserve);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, t_table_claim_count);
	tcase_add_test(tc, t_table_stale);
	tcase_add_test(tc, t_client_key);
	tcase_add_test(tc, t_region);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, limits_relay_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);	/* splice() to a closed socket */
	sr = srunner_create(limits_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
