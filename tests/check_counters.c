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

static struct sl_shm *
region(uint32_t nw, uint32_t nl)
{
	struct sl_shm *sh = shm_alloc(nw, nl);

	ck_assert_ptr_nonnull(sh);
	return sh;
}

/* Inside part (kind, slot) of the view. */
static int
inside(const struct sl_shm *sh, enum sl_shm_part part, uint32_t slot,
    const void *p, size_t len)
{
	size_t		 i = SL_SHM_MAP_INDEX(part, slot);
	const char	*b = sh->map[i].base;

	return (const char *)p >= b &&
	    (const char *)p + len <= b + sh->map[i].size;
}

START_TEST(t_layout)
{
	struct sl_shm	*p = region(3, 5);
	uint32_t	 w;

	ck_assert_int_eq(shm_view_complete(p), 0);
	/* Each worker's rows are in its own part, cache-line aligned. */
	for (w = 0; w < 3; w++) {
		ck_assert(inside(p, SL_SHM_WORKER, w, shm_ctr(p, w, 0),
		    5 * sizeof(struct sl_link_ctr)));
		ck_assert(inside(p, SL_SHM_WORKER, w, shm_worker(p, w),
		    sizeof(struct sl_worker_ctr)));
		ck_assert(inside(p, SL_SHM_WORKER, w, p->rows[w].lim,
		    sizeof(struct sl_limit_row)));
		ck_assert_uint_eq((uintptr_t)shm_ctr(p, w, 4) % SL_CACHELINE,
		    0);
		ck_assert_uint_eq((uintptr_t)shm_worker(p, w) % SL_CACHELINE,
		    0);
	}
	/* The carried row and the global counters are the master's. */
	ck_assert(inside(p, SL_SHM_MASTER, 0, shm_ctr(p, 3, 0),
	    5 * sizeof(struct sl_link_ctr)));
	ck_assert(inside(p, SL_SHM_MASTER, 0, shm_worker(p, 3),
	    sizeof(struct sl_worker_ctr)));
	ck_assert(inside(p, SL_SHM_MASTER, 0, p->global, sizeof(*p->global)));
	ck_assert(inside(p, SL_SHM_MASTER, 0, p->limits.sipkey, 16));
	ck_assert(inside(p, SL_SHM_RESOLVER, 0, p->resolver,
	    sizeof(*p->resolver)));
	shm_free(p);
}
END_TEST

/* A part is taken only as what the reader expects it to be. */
START_TEST(t_check_rejects)
{
	struct sl_shm		*p = region(2, 2), v;
	void			*w1 = p->map[SL_SHM_MAP_INDEX(SL_SHM_WORKER,
				    1)].base;
	void			*mp = p->map[0].base;
	size_t			 size = shm_part_size(SL_SHM_WORKER, 2, 2);
	size_t			 msize = shm_part_size(SL_SHM_MASTER, 2, 2);
	struct sl_shm_part_hdr	*h = w1, *mh = mp;

	shm_view_init(&v, 2, 2, 0);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_WORKER, 1, w1, size - 1), -1);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_WORKER, 2, w1, size), -1);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_SHARED, 0, w1, 64), -1);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_WORKER, 1, NULL, size), -1);
	/* The master's header must agree with our own shape. */
	shm_view_init(&v, 3, 2, 0);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_MASTER, 0, mp, 1 << 20), -1);
	shm_view_init(&v, 2, 3, 0);
	ck_assert_int_eq(shm_attach(&v, SL_SHM_MASTER, 0, mp, 1 << 20), -1);
	shm_view_init(&v, 2, 2, 0);
	mh->magic ^= 1;
	ck_assert_int_eq(shm_attach(&v, SL_SHM_MASTER, 0, mp, msize), -1);
	mh->magic ^= 1;
	mh->version = 99;
	ck_assert_int_eq(shm_attach(&v, SL_SHM_MASTER, 0, mp, msize), -1);
	mh->version = SL_SHM_VERSION;
	ck_assert_int_eq(shm_attach(&v, SL_SHM_MASTER, 0, mp, msize), 0);
	/*
	 * A worker's header is its writer's to scribble: it decides
	 * nothing, so a respawn still starts.
	 */
	memset(h, 0xff, sizeof(*h));
	ck_assert_int_eq(shm_attach(&v, SL_SHM_WORKER, 1, w1, size), 0);
	/* Once only, and a view with a part missing is not complete. */
	ck_assert_int_eq(shm_attach(&v, SL_SHM_WORKER, 1, w1, size), -1);
	ck_assert_int_eq(shm_view_complete(&v), -1);
	shm_free(p);
}
END_TEST

START_TEST(t_totals_and_clamp)
{
	struct sl_shm		*p = region(2, 2);
	struct sl_link_totals	 t;

	atomic_store(&shm_ctr(p, 0, 1)->active, 3);
	atomic_store(&shm_ctr(p, 1, 1)->active, 4);
	atomic_store(&shm_ctr(p, 1, 1)->bytes_up, 1000);
	atomic_store(&shm_ctr(p, 0, 0)->active, 9);
	shm_link_totals(p, 1, &t);
	ck_assert_uint_eq(t.active, 7);
	ck_assert_uint_eq(t.bytes_up, 1000);
	ck_assert_uint_eq(shm_link_active(p, 1), 7);
	/* A scribbling worker cannot overflow the sum. */
	atomic_store(&shm_ctr(p, 0, 1)->active, UINT64_MAX);
	atomic_store(&shm_ctr(p, 1, 1)->active, UINT64_MAX);
	ck_assert_uint_lt(shm_link_active(p, 1), UINT64_MAX / 2);
	shm_free(p);
}
END_TEST

START_TEST(t_worker_reset)
{
	struct sl_shm *p = region(2, 2);

	atomic_store(&shm_worker(p, 1)->sessions, 5);
	atomic_store(&shm_worker(p, 1)->handshakes, 3);
	atomic_store(&shm_ctr(p, 1, 0)->active, 5);
	atomic_store(&shm_ctr(p, 1, 0)->opened, 8);
	atomic_store(&shm_ctr(p, 0, 0)->active, 2);
	shm_worker_reset(p, 1);
	ck_assert_uint_eq(shm_sessions(p, 100), 0);
	ck_assert_uint_eq(shm_handshakes(p, 100), 0);
	ck_assert_uint_eq(shm_link_active(p, 0), 2);
	/* History survives; only live counts go. */
	ck_assert_uint_eq(atomic_load(&shm_ctr(p, 1, 0)->opened), 8);
	shm_free(p);
}
END_TEST

START_TEST(t_sessions_clamp)
{
	struct sl_shm *p = region(3, 1);

	atomic_store(&shm_worker(p, 0)->sessions, 10);
	atomic_store(&shm_worker(p, 1)->sessions, UINT64_MAX);
	ck_assert_uint_eq(shm_sessions(p, 200), 210);
	shm_free(p);
}
END_TEST

/* Handshakes: their own daemon-wide sum, clamped like the sessions. */
START_TEST(t_handshakes)
{
	struct sl_shm *p = region(3, 1);

	/* Worker rows (and their listener rows) start on cache lines. */
	ck_assert_uint_eq(sizeof(struct sl_worker_ctr) % SL_CACHELINE, 0);
	ck_assert_uint_eq(sizeof(struct sl_listener_ctr) % SL_CACHELINE, 0);
	atomic_store(&shm_worker(p, 0)->handshakes, 7);
	atomic_store(&shm_worker(p, 2)->handshakes, 4);
	atomic_store(&shm_worker(p, 1)->sessions, 40);
	ck_assert_uint_eq(shm_handshakes(p, 20), 11);
	ck_assert_uint_eq(shm_sessions(p, 200), 40);
	atomic_store(&shm_worker(p, 1)->handshakes, UINT64_MAX);
	ck_assert_uint_eq(shm_handshakes(p, 20), 31);
	shm_worker_reset(p, 1);
	ck_assert_uint_eq(shm_handshakes(p, 20), 11);
	shm_free(p);
}
END_TEST

/* Atomics really are shared: two processes adding concurrently. */
START_TEST(t_cross_process)
{
	struct sl_shm	*p = region(2, 1);
	pid_t	 pid;
	int	 i, st;

	if ((pid = fork()) == 0) {
		for (i = 0; i < 100000; i++)
			atomic_fetch_add(&shm_ctr(p, 1, 0)->active, 1);
		_exit(0);
	}
	for (i = 0; i < 100000; i++)
		atomic_fetch_add(&shm_ctr(p, 0, 0)->active, 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_uint_eq(shm_link_active(p, 0), 200000);
	shm_free(p);
}
END_TEST

START_TEST(t_health_rows)
{
	struct sl_shm	*p = region(2, 3);
	uint32_t	 w;

	/* Health rows, route cache and client counts: each worker's own. */
	for (w = 0; w < 2; w++) {
		ck_assert(inside(p, SL_SHM_WORKER, w, shm_health(p, w, 0),
		    3 * sizeof(struct sl_link_health)));
		ck_assert_uint_eq((uintptr_t)shm_health(p, w, 1) %
		    SL_CACHELINE, 0);
		ck_assert(inside(p, SL_SHM_WORKER, w, p->rows[w].routes,
		    SL_ROUTE_SLOTS * sizeof(struct sl_route_slot)));
		ck_assert(inside(p, SL_SHM_WORKER, w, p->rows[w].clients,
		    lim_col_size()));
		ck_assert_ptr_eq(p->limits.table.cols[w], p->rows[w].clients);
	}
	/* What all spend from: the shared part. */
	ck_assert(inside(p, SL_SHM_SHARED, 0, p->rr_next, 8));
	ck_assert(inside(p, SL_SHM_SHARED, 0, p->limits.table.base,
	    lim_table_size()));
	ck_assert(inside(p, SL_SHM_SHARED, 0, p->limits.bw,
	    SL_LIMIT_SCOPES * sizeof(struct sl_limit_bw)));
	atomic_store(&shm_health(p, 1, 1)->fails, 3);
	ck_assert_uint_eq(shm_link_active(p, 1), 0);
	shm_free(p);
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
