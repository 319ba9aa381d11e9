/*
 * Shared counters and link selection: layout, checks against a hostile
 * region, sums across worker rows, and the strategies' orders.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/config.h"
#include "policy/counters.h"

static void *
region(uint32_t nw, uint32_t nl)
{
	void *p = mmap(NULL, shm_size(nw, nl), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	shm_init(p, nw, nl);
	return p;
}

START_TEST(t_layout)
{
	void *p = region(3, 5);

	ck_assert_int_eq(shm_check(p, shm_size(3, 5), 3, 5), 0);
	/* Rows never overlap and stay cache-line aligned. */
	ck_assert_ptr_ne(shm_ctr(p, 3, 5, 0, 4), shm_ctr(p, 3, 5, 1, 0));
	ck_assert_uint_eq((uintptr_t)shm_ctr(p, 3, 5, 2, 4) % SL_CACHELINE, 0);
	ck_assert_uint_eq((uintptr_t)shm_worker(p, 2) % SL_CACHELINE, 0);
	ck_assert((char *)(shm_ctr(p, 3, 5, 2, 4) + 1) <=
	    (char *)p + shm_size(3, 5));
	ck_assert((char *)(shm_worker(p, 2) + 1) <=
	    (char *)shm_ctr(p, 3, 5, 0, 0));
	munmap(p, shm_size(3, 5));
}
END_TEST

START_TEST(t_check_rejects)
{
	void			*p = region(2, 2);
	struct sl_shm_hdr	*h = p;

	ck_assert_int_eq(shm_check(p, shm_size(2, 2) - 1, 2, 2), -1);
	ck_assert_int_eq(shm_check(p, shm_size(2, 2), 3, 2), -1);
	ck_assert_int_eq(shm_check(p, shm_size(2, 2), 2, 3), -1);
	h->magic ^= 1;
	ck_assert_int_eq(shm_check(p, shm_size(2, 2), 2, 2), -1);
	h->magic ^= 1;
	h->version = 99;
	ck_assert_int_eq(shm_check(p, shm_size(2, 2), 2, 2), -1);
	ck_assert_int_eq(shm_check(NULL, 100, 2, 2), -1);
	munmap(p, shm_size(2, 2));
}
END_TEST

START_TEST(t_totals_and_clamp)
{
	void			*p = region(2, 2);
	struct sl_link_totals	 t;

	atomic_store(&shm_ctr(p, 2, 2, 0, 1)->active, 3);
	atomic_store(&shm_ctr(p, 2, 2, 1, 1)->active, 4);
	atomic_store(&shm_ctr(p, 2, 2, 1, 1)->bytes_up, 1000);
	atomic_store(&shm_ctr(p, 2, 2, 0, 0)->active, 9);
	shm_link_totals(p, 2, 2, 1, &t);
	ck_assert_uint_eq(t.active, 7);
	ck_assert_uint_eq(t.bytes_up, 1000);
	ck_assert_uint_eq(shm_link_active(p, 2, 2, 1), 7);
	/* A scribbling worker cannot overflow the sum. */
	atomic_store(&shm_ctr(p, 2, 2, 0, 1)->active, UINT64_MAX);
	atomic_store(&shm_ctr(p, 2, 2, 1, 1)->active, UINT64_MAX);
	ck_assert_uint_lt(shm_link_active(p, 2, 2, 1), UINT64_MAX / 2);
	munmap(p, shm_size(2, 2));
}
END_TEST

START_TEST(t_worker_reset)
{
	void *p = region(2, 2);

	atomic_store(&shm_worker(p, 1)->sessions, 5);
	atomic_store(&shm_worker(p, 1)->handshakes, 3);
	atomic_store(&shm_ctr(p, 2, 2, 1, 0)->active, 5);
	atomic_store(&shm_ctr(p, 2, 2, 1, 0)->opened, 8);
	atomic_store(&shm_ctr(p, 2, 2, 0, 0)->active, 2);
	shm_worker_reset(p, 2, 2, 1);
	ck_assert_uint_eq(shm_sessions(p, 2, 100), 0);
	ck_assert_uint_eq(shm_handshakes(p, 2, 100), 0);
	ck_assert_uint_eq(shm_link_active(p, 2, 2, 0), 2);
	/* History survives; only live counts go. */
	ck_assert_uint_eq(atomic_load(&shm_ctr(p, 2, 2, 1, 0)->opened), 8);
	munmap(p, shm_size(2, 2));
}
END_TEST

START_TEST(t_sessions_clamp)
{
	void *p = region(3, 1);

	atomic_store(&shm_worker(p, 0)->sessions, 10);
	atomic_store(&shm_worker(p, 1)->sessions, UINT64_MAX);
	ck_assert_uint_eq(shm_sessions(p, 3, 200), 210);
	munmap(p, shm_size(3, 1));
}
END_TEST

/* Handshakes: their own daemon-wide sum, clamped like the sessions. */
START_TEST(t_handshakes)
{
	void *p = region(3, 1);

	/* Worker rows (and their listener rows) start on cache lines. */
	ck_assert_uint_eq(sizeof(struct sl_worker_ctr) % SL_CACHELINE, 0);
	ck_assert_uint_eq(sizeof(struct sl_listener_ctr) % SL_CACHELINE, 0);
	atomic_store(&shm_worker(p, 0)->handshakes, 7);
	atomic_store(&shm_worker(p, 2)->handshakes, 4);
	atomic_store(&shm_worker(p, 1)->sessions, 40);
	ck_assert_uint_eq(shm_handshakes(p, 3, 20), 11);
	ck_assert_uint_eq(shm_sessions(p, 3, 200), 40);
	atomic_store(&shm_worker(p, 1)->handshakes, UINT64_MAX);
	ck_assert_uint_eq(shm_handshakes(p, 3, 20), 31);
	shm_worker_reset(p, 3, 1, 1);
	ck_assert_uint_eq(shm_handshakes(p, 3, 20), 11);
	munmap(p, shm_size(3, 1));
}
END_TEST

/* Atomics really are shared: two processes adding concurrently. */
START_TEST(t_cross_process)
{
	void	*p = region(2, 1);
	pid_t	 pid;
	int	 i, st;

	if ((pid = fork()) == 0) {
		for (i = 0; i < 100000; i++)
			atomic_fetch_add(&shm_ctr(p, 2, 1, 1, 0)->active, 1);
		_exit(0);
	}
	for (i = 0; i < 100000; i++)
		atomic_fetch_add(&shm_ctr(p, 2, 1, 0, 0)->active, 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_uint_eq(shm_link_active(p, 2, 1, 0), 200000);
	munmap(p, shm_size(2, 1));
}
END_TEST

START_TEST(t_health_rows)
{
	void	*p = region(2, 3);

	/* Health rows sit between the worker rows and the link counters. */
	ck_assert((char *)shm_health(p, 2, 0) >= (char *)(shm_worker(p, 1) + 1));
	ck_assert((char *)(shm_health(p, 2, 2) + 1) <=
	    (char *)shm_ctr(p, 2, 3, 0, 0));
	ck_assert_uint_eq((uintptr_t)shm_health(p, 2, 1) % SL_CACHELINE, 0);
	/* The route cache ends the region, after the last counter row. */
	ck_assert((char *)shm_routes(p, 2, 3) >=
	    (char *)(shm_ctr(p, 2, 3, 1, 2) + 1));
	ck_assert((char *)(shm_routes(p, 2, 3) + SL_ROUTE_SLOTS) <=
	    (char *)p + shm_size(2, 3));
	atomic_store(&shm_health(p, 2, 1)->fails, 3);
	ck_assert_uint_eq(shm_link_active(p, 2, 3, 1), 0);
	munmap(p, shm_size(2, 3));
}
END_TEST

static Suite *
counters_suite(void)
{
	Suite	*s = suite_create("counters");
	TCase	*tc = tcase_create("shm");

	tcase_add_test(tc, t_layout);
	tcase_add_test(tc, t_check_rejects);
	tcase_add_test(tc, t_totals_and_clamp);
	tcase_add_test(tc, t_worker_reset);
	tcase_add_test(tc, t_sessions_clamp);
	tcase_add_test(tc, t_handshakes);
	tcase_add_test(tc, t_cross_process);
	suite_add_tcase(s, tc);
	tcase_add_test(tc, t_health_rows);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(counters_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
