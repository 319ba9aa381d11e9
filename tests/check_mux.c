/*
 * The reverse tunnel's multiplexer (tunnel/): two muxes wired
 * back to back in memory, a byte at a time and in big chunks.  Hostile
 * frames written by hand are in check_mux_bad.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/frame.h"
#include "tunnel/mux.h"
#include "check_mux.h"

uint8_t
pattern(uint32_t id, size_t off)
{
	return (uint8_t)(id * 7 + off * 13 + (off >> 8));
}

static void
side_write(struct side *s, uint32_t id)
{
	uint8_t	 buf[8192];
	size_t	 n, i, took;

	while (s->tx[id] < s->tx_total[id]) {
		n = s->tx_total[id] - s->tx[id];
		if (n > sizeof(buf))
			n = sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(id, s->tx[id] + i);
		took = mux_send(s->m, id, buf, n);
		s->tx[id] += took;
		if (took < n)
			return;
	}
	if (s->tx_fin[id] == 1) {
		ck_assert_int_eq(mux_fin(s->m, id), 0);
		s->tx_fin[id] = 2;
	}
}

static void
on_ready(void *arg)
{
	((struct side *)arg)->ready = 1;
}

static void
on_open(void *arg, uint32_t id, const char *target)
{
	struct side	*s = arg;

	ck_assert_uint_lt(id, IDS);
	s->opened[id]++;
	snprintf(s->target, sizeof(s->target), "%s", target);
	if (s->accept == 1) {
		ck_assert_int_eq(mux_accept(s->m, id), 0);
		side_write(s, id);
	} else if (s->accept == 2)
		ck_assert_int_eq(mux_refuse(s->m, id, MUX_C_POLICY), 0);
}

static void
on_open_result(void *arg, uint32_t id, int ok, uint32_t code)
{
	struct side	*s = arg;

	s->result[id] = ok ? 1 : -(int)code;
	if (ok)
		side_write(s, id);
}

static void
on_data(void *arg, uint32_t id, const uint8_t *buf, size_t len)
{
	struct side	*s = arg;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (buf[i] != pattern(id, s->rx[id] + i))
			s->bad[id] = 1;
	s->rx[id] += len;
	if (!s->stall[id])
		mux_consumed(s->m, id, len);
}

static void
on_fin(void *arg, uint32_t id)
{
	((struct side *)arg)->fin[id]++;
}

static void
on_reset(void *arg, uint32_t id, uint32_t code, const char *why)
{
	struct side	*s = arg;

	s->reset[id] = code + 1;
	s->reset_why[id] = why;
}

static void
on_writable(void *arg, uint32_t id)
{
	struct side	*s = arg;

	s->writable[id]++;
	side_write(s, id);
}

static void
on_goaway(void *arg, uint32_t code)
{
	((struct side *)arg)->goaway = code + 1;
}

static const struct mux_ops test_ops = {
	on_ready, on_open, on_open_result, on_data, on_fin, on_reset,
	on_writable, on_goaway,
};

struct side *
side_new(const struct mux_params *p, int is_server)
{
	struct side		*s = calloc(1, sizeof(*s));
	struct mux_params	 def;

	ck_assert_ptr_nonnull(s);
	if (p == NULL) {
		mux_params_default(&def);
		p = &def;
	}
	s->now = 1000;
	s->accept = 1;
	s->m = mux_new(p, is_server, &test_ops, s, s->now);
	ck_assert_ptr_nonnull(s->m);
	return s;
}

void
side_free(struct side *s)
{
	mux_free(s->m);
	free(s);
}

/* Move frames both ways, chunk bytes at a time, until nothing moves. */
static void
pump(struct side *a, struct side *b, size_t chunk)
{
	static uint8_t	 buf[256 * 1024];
	struct side	*from, *to;
	size_t		 n;
	int		 moved, i;

	ck_assert_uint_le(chunk, sizeof(buf));
	do {
		moved = 0;
		for (i = 0; i < 2; i++) {
			from = i == 0 ? a : b;
			to = i == 0 ? b : a;
			while ((n = mux_output(from->m, buf, chunk)) > 0) {
				moved = 1;
				if (to->rc == 0)
					to->rc = mux_input(to->m, buf, n,
					    to->now, &to->why);
			}
		}
	} while (moved);
}

static void
pair(struct side **a, struct side **b, const struct mux_params *pa,
    const struct mux_params *pb)
{
	*a = side_new(pa, 1);
	*b = side_new(pb, 0);
	(*a)->peer = *b;
	(*b)->peer = *a;
	pump(*a, *b, 4096);
	ck_assert(mux_ready((*a)->m) && mux_ready((*b)->m));
	ck_assert((*a)->ready && (*b)->ready);
}

/* Frames as the peer writes them. */

static size_t
frame(uint8_t *p, uint8_t type, uint32_t id, const void *payload,
    size_t len)
{
	mux_frame_encode_hdr(p, type, (uint16_t)len, id);
	if (len > 0)
		memcpy(p + MUX_HDR_LEN, payload, len);
	return MUX_HDR_LEN + len;
}

int
inject(struct side *s, uint8_t type, uint32_t id, const void *payload,
    size_t len)
{
	uint8_t	 buf[MUX_HDR_LEN + 70000];

	s->rc = mux_input(s->m, buf, frame(buf, type, id, payload, len),
	    s->now, &s->why);
	return s->rc;
}

int
inject_code(struct side *s, uint8_t type, uint32_t id, uint32_t code)
{
	uint8_t	 b[4];

	mux_put32(b, code);
	return inject(s, type, id, b, 4);
}

void
drain(struct side *s, struct sent *out)
{
	static uint8_t	 buf[1 << 20];
	size_t		 n, off = 0;
	struct mux_frame f;
	const char	*why;

	memset(out, 0, sizeof(*out));
	n = mux_output(s->m, buf, sizeof(buf));
	ck_assert_uint_eq(mux_output_pending(s->m), 0);
	while (off < n) {
		ck_assert_uint_ge(n - off, MUX_HDR_LEN);
		ck_assert_int_eq(mux_frame_decode_hdr(buf + off, MUX_FRAME_MAX,
		    &f, &why), 0);
		ck_assert_uint_le(off + MUX_HDR_LEN + f.len, n);
		out->n[f.type]++;
		out->last_id[f.type] = f.id;
		if (f.len == 4)
			out->last_code[f.type] = mux_get32(buf + off +
			    MUX_HDR_LEN);
		if (f.type == MUX_F_DATA)
			out->data += f.len;
		off += MUX_HDR_LEN + f.len;
	}
}

START_TEST(t_params)
{
	struct mux_params	 p;
	struct side		*s;

	mux_params_default(&p);
	p.max_frame = 100;
	ck_assert_ptr_null(mux_new(&p, 1, &test_ops, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	mux_params_default(&p);
	p.dead_ms = p.ping_ms;
	ck_assert_ptr_null(mux_new(&p, 1, &test_ops, NULL, 0));
	mux_params_default(&p);
	p.max_streams = MUX_MAX_STREAMS + 1;
	ck_assert_ptr_null(mux_new(&p, 1, &test_ops, NULL, 0));
	mux_params_default(&p);
	p.window = 0;
	ck_assert_ptr_null(mux_new(&p, 1, &test_ops, NULL, 0));
	/* The sizes the README quotes. */
	s = side_new(NULL, 1);
	printf("check_mux: sizeof stream %zu, mux %zu, idle mux %zu bytes\n",
	    mux_stream_size(), mux_size(), mux_memory(s->m));
	ck_assert_uint_le(mux_stream_size(), 64);
	side_free(s);
}
END_TEST

/* Back to back */

static void
open_stream(struct side *a, uint32_t *id, size_t a_total, size_t b_total)
{
	ck_assert_int_eq(mux_open(a->m, "origin.internal:8080", id), 0);
	a->tx_total[*id] = a_total;
	a->tx_fin[*id] = 1;
	a->peer->tx_total[*id] = b_total;
	a->peer->tx_fin[*id] = 1;
}

static void
run_both_ways(size_t chunk)
{
	struct side	*a, *b;
	uint32_t	 id, id2;

	pair(&a, &b, NULL, NULL);
	open_stream(a, &id, 1000000, 0);
	open_stream(a, &id2, 1, 0);
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(id2, 3);
	b->tx_total[id] = 300000;
	pump(a, b, chunk);
	ck_assert_str_eq(b->target, "origin.internal:8080");
	ck_assert_int_eq(b->opened[id], 1);
	ck_assert_int_eq(a->result[id], 1);
	ck_assert_uint_eq(b->rx[id], 1000000);
	ck_assert_uint_eq(a->rx[id], 300000);
	ck_assert_uint_eq(b->rx[id2], 1);
	ck_assert(!a->bad[id] && !b->bad[id] && !b->bad[id2]);
	ck_assert_int_eq(a->fin[id], 1);
	ck_assert_int_eq(b->fin[id], 1);
	ck_assert_int_eq(a->fin[id2], 1);
	ck_assert_int_eq(a->rc, 0);
	ck_assert_int_eq(b->rc, 0);
	/* FIN both ways: the streams are gone on both sides. */
	ck_assert_uint_eq(mux_streams(a->m), 0);
	ck_assert_uint_eq(mux_streams(b->m), 0);
	side_free(a);
	side_free(b);
}

START_TEST(t_data_bytewise)
{
	run_both_ways(1);
}
END_TEST

START_TEST(t_data_chunks)
{
	run_both_ways(sizeof(((struct side *)0)->target) * 600);
}
END_TEST

START_TEST(t_half_close_refuse_reset)
{
	struct side	*a, *b;
	uint32_t	 id, id2, id3;

	pair(&a, &b, NULL, NULL);
	/* A half-closes at once; B goes on sending. */
	open_stream(a, &id, 0, 50000);
	b->tx_fin[id] = 0;
	pump(a, b, 777);
	ck_assert_int_eq(b->fin[id], 1);
	ck_assert_int_eq(mux_fin(a->m, id), -1);	/* already done */
	ck_assert_uint_eq(a->rx[id], 50000);
	ck_assert_int_eq(a->fin[id], 0);
	ck_assert_uint_eq(mux_streams(a->m), 1);
	ck_assert_int_eq(mux_fin(b->m, id), 0);
	pump(a, b, 777);
	ck_assert_uint_eq(a->rx[id], 50000);
	ck_assert_int_eq(a->fin[id], 1);
	ck_assert_uint_eq(mux_streams(a->m), 0);
	/* Refused by B's policy. */
	b->accept = 2;
	ck_assert_int_eq(mux_open(a->m, "10.1.2.3:25", &id2), 0);
	pump(a, b, 4096);
	ck_assert_int_eq(a->result[id2], -MUX_C_POLICY);
	ck_assert_uint_eq(mux_streams(a->m), 0);
	ck_assert_uint_eq(mux_streams(b->m), 0);
	/* Left pending, then reset by the opener: B learns it. */
	b->accept = 0;
	ck_assert_int_eq(mux_open(a->m, "[::1]:443", &id3), 0);
	pump(a, b, 4096);
	ck_assert_uint_eq(mux_streams(b->m), 1);
	ck_assert_int_eq(mux_send(a->m, id3, (const uint8_t *)"x", 1), 0);
	mux_reset(a->m, id3, MUX_C_CANCEL);
	pump(a, b, 4096);
	ck_assert_uint_eq(b->reset[id3], MUX_C_CANCEL + 1);
	ck_assert_ptr_null(b->reset_why[id3]);
	ck_assert_uint_eq(mux_streams(b->m), 0);
	ck_assert_int_eq(mux_accept(b->m, id3), -1);
	ck_assert_int_eq(a->rc + b->rc, 0);
	side_free(a);
	side_free(b);
}
END_TEST

/*
 * 50 streams of 1 MB each way from A; B never consumes stream 25: the
 * other 49 finish, 25 stops at exactly one window, memory stays bounded.
 */
START_TEST(t_stalled_reader)
{
	struct side	*a, *b;
	uint32_t	 ids[50], i, stalled = 0;
	size_t		 total = 1000000;

	pair(&a, &b, NULL, NULL);
	for (i = 0; i < 50; i++) {
		open_stream(a, &ids[i], total, 0);
		if (i == 25) {
			stalled = ids[i];
			b->stall[stalled] = 1;
		}
	}
	pump(a, b, 64 * 1024);
	for (i = 0; i < 50; i++) {
		if (ids[i] == stalled)
			continue;
		ck_assert_uint_eq(b->rx[ids[i]], total);
		ck_assert_int_eq(b->fin[ids[i]], 1);
		ck_assert_int_eq(b->bad[ids[i]], 0);
	}
	ck_assert_uint_eq(b->rx[stalled], MUX_DEF_WINDOW);
	ck_assert_uint_eq(mux_unconsumed(b->m, stalled), MUX_DEF_WINDOW);
	ck_assert_uint_eq(mux_credit(a->m, stalled), 0);
	ck_assert_int_eq(b->fin[stalled], 0);
	ck_assert_uint_eq(mux_streams(a->m), 1);
	ck_assert_uint_le(mux_memory(a->m), 64 * 1024 + 2048 +
	    MUX_DEF_OUT_CAP + MUX_CTRL_RESERVE);
	ck_assert_uint_le(mux_memory(b->m), 64 * 1024 + 2048 +
	    MUX_DEF_OUT_CAP + MUX_CTRL_RESERVE);
	/* The reader wakes up: the rest flows. */
	b->stall[stalled] = 0;
	mux_consumed(b->m, stalled, MUX_DEF_WINDOW);
	pump(a, b, 64 * 1024);
	ck_assert_uint_eq(b->rx[stalled], total);
	ck_assert_int_eq(b->fin[stalled], 1);
	ck_assert_int_eq(a->rc + b->rc, 0);
	side_free(a);
	side_free(b);
}
END_TEST

/* A peer that does not read: DATA stops at out_cap, control at its reserve. */
START_TEST(t_output_bound)
{
	struct side	*a, *b;
	uint32_t	 id, i;
	uint8_t		 ping[8] = { 0 };
	static uint8_t	 big[MUX_DEF_WINDOW];

	pair(&a, &b, NULL, NULL);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(mux_open(a->m, "a:1", &id), 0);
		pump(a, b, 4096);
		ck_assert_int_eq(a->result[id], 1);
	}
	for (i = 0; i < 4; i++)
		mux_send(a->m, 1 + 2 * i, big, sizeof(big));
	ck_assert_uint_le(mux_output_pending(a->m), MUX_DEF_OUT_CAP);
	ck_assert_uint_ge(mux_output_pending(a->m), MUX_DEF_OUT_CAP - 64);
	ck_assert_int_eq(mux_open(a->m, "a:1", &id), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* PINGs whose PONGs are never read: the connection ends. */
	for (i = 0; i < 10000 && a->rc == 0; i++)
		inject(a, MUX_F_PING, 0, ping, sizeof(ping));
	ck_assert_int_eq(a->rc, -1);
	ck_assert_ptr_nonnull(strstr(a->why, "does not read"));
	ck_assert_uint_le(mux_output_pending(a->m),
	    MUX_DEF_OUT_CAP + MUX_CTRL_RESERVE);
	ck_assert_uint_eq(a->reset[id], MUX_C_OVERFLOW + 1);
	side_free(a);
	side_free(b);
}
END_TEST

START_TEST(t_stream_cap)
{
	struct side		*a, *b;
	struct mux_params	 pb;
	struct sent		 out;
	uint32_t		 id, i, next;

	mux_params_default(&pb);
	pb.max_streams = 4;
	pb.refuse_max = 5;
	pair(&a, &b, NULL, &pb);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(mux_open(a->m, "a:1", &id), 0);
	/* The opener knows the cap from the HELLO. */
	ck_assert_int_eq(mux_open(a->m, "a:1", &id), -1);
	ck_assert_int_eq(errno, EAGAIN);
	pump(a, b, 4096);
	ck_assert_uint_eq(mux_streams(b->m), 4);
	/* A peer that ignores it: refused, up to refuse_max per period. */
	next = 9;
	for (i = 0; i < 5; i++, next += 2) {
		ck_assert_int_eq(inject(b, MUX_F_OPEN, next, "a:1", 3), 0);
		drain(b, &out);
		ck_assert_int_eq(out.n[MUX_F_OPEN_FAIL], 1);
		ck_assert_uint_eq(out.last_code[MUX_F_OPEN_FAIL],
		    MUX_C_STREAMS);
	}
	ck_assert_uint_eq(mux_streams(b->m), 4);
	/* A new period forgives. */
	b->now += MUX_REFUSE_PERIOD_MS;
	ck_assert_int_eq(inject(b, MUX_F_OPEN, next, "a:1", 3), 0);
	next += 2;
	for (i = 0; i < 4; i++, next += 2)
		ck_assert_int_eq(inject(b, MUX_F_OPEN, next, "a:1", 3), 0);
	ck_assert_int_eq(inject(b, MUX_F_OPEN, next, "a:1", 3), -1);
	ck_assert_ptr_nonnull(strstr(b->why, "stream flood"));
	ck_assert_uint_eq(b->reset[1], MUX_C_STREAMS + 1);
	side_free(a);
	side_free(b);
}
END_TEST

START_TEST(t_keepalive)
{
	struct side	*a, *b;
	const char	*why;
	struct sent	 out;
	uint64_t	 t;

	pair(&a, &b, NULL, NULL);
	ck_assert_uint_eq(mux_deadline(a->m), 1000 + MUX_DEF_PING_MS);
	ck_assert_int_eq(mux_tick(a->m, 1000 + MUX_DEF_PING_MS - 1, &why), 0);
	ck_assert_uint_eq(mux_output_pending(a->m), 0);
	/* Idle both ways: PINGs, answered, and both stay alive. */
	for (t = 1000; t < 1000 + 10 * MUX_DEF_DEAD_MS; t += 1000) {
		a->now = b->now = t;
		ck_assert_int_eq(mux_tick(a->m, t, &why), 0);
		ck_assert_int_eq(mux_tick(b->m, t, &why), 0);
		pump(a, b, 4096);
	}
	ck_assert_int_eq(a->rc + b->rc, 0);
	side_free(a);
	side_free(b);
	/* B goes silent after the HELLOs: A pings, then gives up. */
	pair(&a, &b, NULL, NULL);
	t = 1000;
	ck_assert_int_eq(mux_tick(a->m, t + MUX_DEF_PING_MS, &why), 0);
	drain(a, &out);
	ck_assert_int_eq(out.n[MUX_F_PING], 1);
	ck_assert_int_eq(mux_tick(a->m, t + MUX_DEF_PING_MS + 1, &why), 0);
	ck_assert_uint_eq(mux_output_pending(a->m), 0);	/* one at a time */
	ck_assert_uint_le(mux_deadline(a->m), t + MUX_DEF_DEAD_MS);
	ck_assert_int_eq(mux_tick(a->m, t + MUX_DEF_DEAD_MS - 1, &why), 0);
	ck_assert_int_eq(mux_tick(a->m, t + MUX_DEF_DEAD_MS, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "silent"));
	side_free(a);
	side_free(b);
}
END_TEST

START_TEST(t_goaway)
{
	struct side	*a, *b;
	uint32_t	 id, id2;
	struct sent	 out;

	pair(&a, &b, NULL, NULL);
	open_stream(a, &id, 100000, 100000);
	mux_goaway(a->m, MUX_C_OK);
	pump(a, b, 4096);
	ck_assert_uint_eq(b->goaway, MUX_C_OK + 1);
	/* No new streams either way; the old one finishes. */
	ck_assert_int_eq(mux_open(a->m, "a:1", &id2), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(mux_open(b->m, "a:1", &id2), -1);
	ck_assert_uint_eq(b->rx[id], 100000);
	ck_assert_uint_eq(a->rx[id], 100000);
	ck_assert_uint_eq(mux_streams(a->m) + mux_streams(b->m), 0);
	/* An OPEN that crossed the GOAWAY is refused, not fatal. */
	ck_assert_int_eq(inject(a, MUX_F_OPEN, 2, "a:1", 3), 0);
	drain(a, &out);
	ck_assert_uint_eq(out.last_code[MUX_F_OPEN_FAIL], MUX_C_SHUTDOWN);
	side_free(a);
	side_free(b);
}
END_TEST

/* The server refuses streams an agent opens (its ops have no on_open). */
START_TEST(t_agent_open)
{
	struct side	*a, *b;
	struct mux_ops	 ops = test_ops;
	uint32_t	 id;

	a = side_new(NULL, 1);
	b = side_new(NULL, 0);
	mux_free(a->m);
	ops.on_open = NULL;
	a->m = mux_new(&(struct mux_params){ 256, 65536, 16384, 65536,
	    1000, 3000, 8 }, 1, &ops, a, a->now);
	ck_assert_ptr_nonnull(a->m);
	pump(a, b, 100);
	ck_assert_int_eq(mux_open(b->m, "a:1", &id), 0);
	ck_assert_uint_eq(id, 2);
	pump(a, b, 100);
	ck_assert_int_eq(b->result[id], -MUX_C_POLICY);
	side_free(a);
	side_free(b);
}
END_TEST

static Suite *
mux_suite(void)
{
	Suite	*s = suite_create("mux");
	TCase	*tc = tcase_create("flow");

	tcase_add_test(tc, t_params);
	tcase_add_test(tc, t_data_bytewise);
	tcase_add_test(tc, t_data_chunks);
	tcase_add_test(tc, t_half_close_refuse_reset);
	tcase_add_test(tc, t_stalled_reader);
	tcase_add_test(tc, t_output_bound);
	tcase_add_test(tc, t_stream_cap);
	tcase_add_test(tc, t_keepalive);
	tcase_add_test(tc, t_goaway);
	tcase_add_test(tc, t_agent_open);
	suite_add_tcase(s, tc);
	mux_bad_tests(s);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(mux_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
