/*
 * Limits in the stream relay: a relay_limit (what worker/limits.c makes)
 * over the token buckets of policy/limits.h throttles both directions,
 * in splice and in copy mode, and nothing is lost on the way.  Uses the
 * relay suite's harness (check_relay_harness.c): real TCP loopback pairs
 * and libev.  Part of the check_limits executable.
 */
#include <time.h>

#include "check_relay.h"
#include "policy/limits.h"

#define RATE		(4 * MiB)		/* bytes/s, each direction */
#define BURST		(RATE / 10)
#define SIZE		(2 * MiB)

TCase	*limits_relay_tcase(void);

struct test_limit {
	struct relay_limit	 rl;		/* first */
	uint64_t		 tat[2];
	uint64_t		 used[2];
	int			 paused[2];	/* times allow() said none */
	size_t			 max_grant;
};

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * LIM_NS + (uint64_t)ts.tv_nsec;
}

/* As worker/limits.c's, for one bucket per direction. */
static size_t
t_allow(struct relay_limit *rl, int dir, size_t want, uint64_t *wait_ns)
{
	struct test_limit	*tl = (struct test_limit *)rl;
	uint64_t		 now = now_ns(), avail, need;

	avail = lim_bucket_avail(tl->tat[dir], now, RATE, BURST);
	need = BURST / 4 < want ? BURST / 4 : want;
	if (avail < need) {
		*wait_ns = lim_bucket_wait(tl->tat[dir], now, RATE, BURST,
		    need);
		if (*wait_ns == 0)
			*wait_ns = 1000000;
		tl->paused[dir]++;
		return 0;
	}
	if (avail < want)
		want = (size_t)avail;
	if (want > tl->max_grant)
		tl->max_grant = want;
	return want;
}

static void
t_used(struct relay_limit *rl, int dir, size_t n)
{
	struct test_limit	*tl = (struct test_limit *)rl;

	tl->used[dir] += n;
	tl->tat[dir] = lim_bucket_charge(tl->tat[dir], now_ns(), RATE, BURST,
	    n);
}

/* _i: splice (1) or copy (0). */
START_TEST(throttled_both_ways)
{
	struct harness		*h = h_new(0);
	struct test_limit	 tl;
	ev_tstamp		 t0;
	double			 secs, want;

	memset(&tl, 0, sizeof(tl));
	tl.rl.allow = t_allow;
	tl.rl.used = t_used;
	h->cl.tx_total = h->tg.tx_total = SIZE;
	h->cl.tx_shut = h->tg.tx_shut = 1;
	h->cl.rx_on = h->tg.rx_on = 1;
	h->want_eofs = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 10000), 0);
	ck_assert_int_eq(h->r->splice, _i);
	relay_set_limit(h->r, &tl.rl);
	ev_now_update(h->loop);
	t0 = ev_now(h->loop);
	peer_go(&h->cl);
	peer_go(&h->tg);
	h_run(h);
	assert_streams(h);
	secs = h->t_end - t0;
	want = (double)(SIZE - BURST) / RATE;
	ck_assert_uint_eq(h->up_bytes, SIZE);
	ck_assert_uint_eq(h->down_bytes, SIZE);
	/* Every byte read was charged, and nothing read past the grant. */
	ck_assert_uint_eq(tl.used[0], SIZE);
	ck_assert_uint_eq(tl.used[1], SIZE);
	/* A read asks for what its buffer or (deep) pipe holds. */
	ck_assert_uint_le(tl.max_grant, _i ? RELAY_PIPESZ : RELAY_BUFSZ);
	ck_assert_int_gt(tl.paused[0], 0);
	ck_assert_int_gt(tl.paused[1], 0);
	ck_assert_msg(secs >= want * 0.95 && secs <= want * 1.3,
	    "%s: %.3f s, want %.3f s", _i ? "splice" : "copy", secs, want);
	h_free(h);
}
END_TEST

/* The relay ends while a direction waits for its timer: all stopped. */
START_TEST(throttled_stop_while_paused)
{
	struct harness		*h = h_new(0);
	struct test_limit	 tl;

	memset(&tl, 0, sizeof(tl));
	tl.rl.allow = t_allow;
	tl.rl.used = t_used;
	h->tg.tx_total = SIZE;
	h->cl.rx_on = 1;
	ck_assert_int_eq(h_start(h, NULL, 0, _i, 10000), 0);
	relay_set_limit(h->r, &tl.rl);
	peer_go(&h->tg);
	h_run_for(h, 0.2);
	ck_assert_int_gt(tl.paused[1], 0);
	ck_assert(h->cl.rx_bytes < SIZE);
	relay_stop(h->r);
	ck_assert_ptr_null(h->r->limit);
	ck_assert(!ev_is_active(&tl.rl.wait[0]));
	ck_assert(!ev_is_active(&tl.rl.wait[1]));
	h_free(h);	/* stops it again: idempotent */
}
END_TEST

TCase *
limits_relay_tcase(void)
{
	TCase	*tc = tcase_create("relay");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, throttled_both_ways, 0, 2);
	tcase_add_loop_test(tc, throttled_stop_while_paused, 0, 2);
	return tc;
}
