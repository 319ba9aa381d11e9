/*
 * check_mux, hostile input: frames written by hand into one mux as its
 * peer, each of them a stream error (that stream reset, the others go
 * on) or a connection error (-1, every stream reset), as the README's
 * table says; and the stateless frame checks.
 */
#include <check.h>
#include <string.h>

#include "check_mux.h"

/* Frames */

START_TEST(t_targets)
{
	static const char *const good[] = { "a:1", "example.org:443",
	    "10.0.0.1:65535", "[::1]:22", "[2001:db8::1]:8080", "a_b-c.d.:80",
	    "[::ffff:1.2.3.4]:1" };
	static const char *const bad[] = { "", "a", ":80", "a:", "a:0",
	    "a:65536", "a:080", "a:+1", "a b:80", "a:80 ", "::1:22", "[]:1",
	    "[::1:22", "[::g]:1", ".a:1", "a..b:1", "a:1:", "a\x01:1",
	    "a\xc3\xa9:1", "a:123456" };
	char	 big[300];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(mux_target_check((const uint8_t *)good[i],
		    strlen(good[i])) == 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mux_target_check((const uint8_t *)bad[i],
		    strlen(bad[i])) == -1, "%s", bad[i]);
	memset(big, 'a', 255);
	memcpy(big + 255, ":65535", 7);
	ck_assert_int_eq(mux_target_check((uint8_t *)big, 261), 0);
	memset(big, 'a', 256);
	memcpy(big + 256, ":1", 3);
	ck_assert_int_eq(mux_target_check((uint8_t *)big, 258), -1);
	/* The NUL is not part of a target. */
	ck_assert_int_eq(mux_target_check((const uint8_t *)"a:1\0", 4), -1);
}
END_TEST

START_TEST(t_headers)
{
	struct mux_frame	 f;
	struct mux_hello	 h = { MUX_VERSION, 3, 70000, 2048 }, g;
	uint8_t			 p[MUX_HELLO_LEN];
	const char		*why;

	mux_frame_encode_hdr(p, MUX_F_DATA, 1000, 0x01020304);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), 0);
	ck_assert_uint_eq(f.id, 0x01020304);
	ck_assert_uint_eq(f.len, 1000);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 999, &f, &why), -1);
	mux_frame_encode_hdr(p, MUX_F_MAX, 0, 1);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	ck_assert_str_eq(why, "unknown frame type");
	mux_frame_encode_hdr(p, MUX_F_WINDOW, 5, 1);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	mux_frame_encode_hdr(p, MUX_F_PING, 8, 1);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	mux_frame_encode_hdr(p, MUX_F_FIN, 0, 0);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	mux_frame_encode_hdr(p, MUX_F_OPEN, 262, 1);
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	mux_frame_encode_hdr(p, MUX_F_OPEN_OK, 0, 1);
	p[1] = 0x80;
	ck_assert_int_eq(mux_frame_decode_hdr(p, 1000, &f, &why), -1);
	ck_assert_str_eq(mux_frame_name(MUX_F_GOAWAY), "GOAWAY");
	ck_assert_str_eq(mux_frame_name(200), "?");
	ck_assert_str_eq(mux_code_name(MUX_C_REFUSED), "refused");
	ck_assert_str_eq(mux_code_name(9999), "other");

	mux_hello_encode(p, &h);
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), 0);
	ck_assert_uint_eq(g.max_streams, 3);
	ck_assert_uint_eq(g.window, 70000);
	ck_assert_uint_eq(g.max_frame, 2048);
	ck_assert_int_eq(mux_hello_decode(p, 15, &g, &why), -1);
	p[1] = 2;
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), -1);
	ck_assert_str_eq(why, "unsupported protocol version");
	h.window = 0;
	mux_hello_encode(p, &h);
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), -1);
	h.window = 0x80000000U;
	mux_hello_encode(p, &h);
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), -1);
	h.window = 1;
	h.max_frame = 1023;
	mux_hello_encode(p, &h);
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), -1);
	h.max_frame = 1024;
	mux_hello_encode(p, &h);
	p[3] = 1;
	ck_assert_int_eq(mux_hello_decode(p, sizeof(p), &g, &why), -1);
}
END_TEST

/*
 * An agent fed by hand as if by a server: HELLO, then streams 1 and 3
 * opened and accepted, nothing left in its output.
 */
static struct side *
agent_with_streams(const struct mux_params *p)
{
	struct side		*s = side_new(p, 0);
	struct mux_hello	 h = { MUX_VERSION, 8, 4096, 1024 };
	uint8_t			 b[MUX_HELLO_LEN];
	struct sent		 out;

	mux_hello_encode(b, &h);
	ck_assert_int_eq(inject(s, MUX_F_HELLO, 0, b, sizeof(b)), 0);
	ck_assert_int_eq(inject(s, MUX_F_OPEN, 1, "a.example:80", 12), 0);
	ck_assert_int_eq(inject(s, MUX_F_OPEN, 3, "10.0.0.1:22", 11), 0);
	ck_assert_uint_eq(mux_streams(s->m), 2);
	drain(s, &out);
	ck_assert_int_eq(out.n[MUX_F_HELLO], 1);
	ck_assert_int_eq(out.n[MUX_F_OPEN_OK], 2);
	return s;
}

/* Stream 3 still works: DATA arrives, our DATA goes out. */
static void
assert_other_stream_goes_on(struct side *s)
{
	uint8_t		 d[10];
	size_t		 i;
	struct sent	 out;

	for (i = 0; i < sizeof(d); i++)
		d[i] = pattern(3, s->rx[3] + i);
	ck_assert_int_eq(inject(s, MUX_F_DATA, 3, d, sizeof(d)), 0);
	ck_assert_int_eq(s->bad[3], 0);
	ck_assert_uint_eq(mux_send(s->m, 3, d, sizeof(d)), sizeof(d));
	drain(s, &out);
	ck_assert_int_eq(out.n[MUX_F_DATA], 1);
	ck_assert_uint_eq(out.last_id[MUX_F_DATA], 3);
	ck_assert_int_eq(mux_dead(s->m), 0);
}

/* A stream error on 1: RST with code out, on_reset with a reason. */
static void
assert_stream_error(struct side *s, uint32_t code)
{
	struct sent	 out;

	ck_assert_int_eq(s->rc, 0);
	ck_assert_uint_eq(s->reset[1], code + 1);
	ck_assert_ptr_nonnull(s->reset_why[1]);
	drain(s, &out);
	ck_assert_int_eq(out.n[MUX_F_RST], 1);
	ck_assert_uint_eq(out.last_id[MUX_F_RST], 1);
	ck_assert_uint_eq(out.last_code[MUX_F_RST], code);
	ck_assert_uint_eq(mux_streams(s->m), 1);
	assert_other_stream_goes_on(s);
}

/* A connection error: -1 with a reason, GOAWAY out, every stream reset. */
static void
assert_conn_error(struct side *s, const char *reason)
{
	struct sent	 out;
	const char	*why;
	uint32_t	 id;

	ck_assert_int_eq(s->rc, -1);
	ck_assert_ptr_nonnull(strstr(s->why, reason));
	ck_assert_int_eq(mux_dead(s->m), 1);
	ck_assert_uint_eq(mux_streams(s->m), 0);
	ck_assert_uint_ne(s->reset[1], 0);
	ck_assert_uint_ne(s->reset[3], 0);
	drain(s, &out);
	ck_assert_int_eq(out.n[MUX_F_GOAWAY], 1);
	/* Dead for good: more input, ticks and API calls all fail. */
	ck_assert_int_eq(mux_input(s->m, (const uint8_t *)"x", 1, s->now,
	    &why), -1);
	ck_assert_int_eq(mux_tick(s->m, s->now, &why), -1);
	ck_assert_int_eq(mux_open(s->m, "a:1", &id), -1);
	ck_assert_uint_eq(mux_send(s->m, 1, (const uint8_t *)"x", 1), 0);
}


/* Hostile frames, each a stream error or a connection error */

static struct side *
hostile_target(void)
{
	struct mux_params	 p;

	mux_params_default(&p);
	p.window = 4096;
	return agent_with_streams(&p);
}

/* Stream errors: stream 1 is reset, stream 3 goes on. */
START_TEST(t_bad_stream)
{
	struct side	*s = hostile_target();
	static uint8_t	 d[5000];
	uint32_t	 code = MUX_C_PROTOCOL;

	switch (_i) {
	case 0:		/* DATA past credit, in one frame */
		inject(s, MUX_F_DATA, 1, d, 4097);
		code = MUX_C_FLOW;
		break;
	case 1:		/* and over two */
		s->stall[1] = 1;
		ck_assert_int_eq(inject(s, MUX_F_DATA, 1, d, 3000), 0);
		inject(s, MUX_F_DATA, 1, d, 1097);
		code = MUX_C_FLOW;
		break;
	case 2:		/* WINDOW past 2^31-1 */
		inject_code(s, MUX_F_WINDOW, 1, MUX_WINDOW_MAX - 4095);
		code = MUX_C_FLOW;
		break;
	case 3:
		inject_code(s, MUX_F_WINDOW, 1, 0);
		break;
	case 4:
		inject_code(s, MUX_F_WINDOW, 1, 0x80000000U);
		break;
	case 5:		/* DATA after FIN */
		ck_assert_int_eq(inject(s, MUX_F_FIN, 1, NULL, 0), 0);
		ck_assert_int_eq(s->fin[1], 1);
		inject(s, MUX_F_DATA, 1, d, 1);
		code = MUX_C_CLOSED;
		break;
	case 6:
		ck_assert_int_eq(inject(s, MUX_F_FIN, 1, NULL, 0), 0);
		inject(s, MUX_F_FIN, 1, NULL, 0);
		break;
	case 7:		/* answers to an OPEN we never sent */
		inject(s, MUX_F_OPEN_OK, 1, NULL, 0);
		break;
	case 8:
		inject_code(s, MUX_F_OPEN_FAIL, 1, MUX_C_REFUSED);
		break;
	}
	assert_stream_error(s, code);
	side_free(s);
}
END_TEST

/* Connection errors: -1, a reason, every stream reset. */
START_TEST(t_bad_conn)
{
	struct side		*s = hostile_target();
	static const struct {
		uint8_t		 hdr[MUX_HDR_LEN];
		const char	*why;
	} bad[] = {
		{ { MUX_F_DATA, 0, 0xff, 0xff, 0, 0, 0, 1 }, "over the max" },
		{ { 0x2a, 0, 0, 0, 0, 0, 0, 1 }, "unknown frame type" },
		{ { MUX_F_FIN, 0x01, 0, 0, 0, 0, 0, 1 }, "flags" },
		{ { MUX_F_DATA, 0, 0, 1, 0, 0, 0, 0 }, "on stream 0" },
		{ { MUX_F_PING, 0, 0, 8, 0, 0, 0, 3 }, "on a stream" },
		{ { MUX_F_DATA, 0, 0, 0, 0, 0, 0, 1 }, "empty DATA" },
		{ { MUX_F_WINDOW, 0, 0, 3, 0, 0, 0, 1 }, "payload length" },
		{ { MUX_F_OPEN, 0, 1, 6, 0, 0, 0, 5 }, "target length" },
		{ { MUX_F_HELLO, 0, 0, 15, 0, 0, 0, 0 }, "payload length" },
	};
	struct mux_hello	 h = { MUX_VERSION, 8, 4096, 1024 };
	uint8_t			 b[MUX_HELLO_LEN];
	size_t			 i, n = sizeof(bad) / sizeof(bad[0]);
	const char		*why = NULL;

	if ((size_t)_i < n) {
		/* A byte at a time: the header alone is enough. */
		for (i = 0; i < MUX_HDR_LEN && s->rc == 0; i++)
			s->rc = mux_input(s->m, bad[_i].hdr + i, 1, s->now,
			    &s->why);
		ck_assert_uint_eq(i, MUX_HDR_LEN);
		assert_conn_error(s, bad[_i].why);
		side_free(s);
		return;
	}
	switch (_i - n) {
	case 0:
		mux_hello_encode(b, &h);
		inject(s, MUX_F_HELLO, 0, b, sizeof(b));
		why = "second HELLO";
		break;
	case 1:		/* a peer stream id never opened */
		inject(s, MUX_F_DATA, 7, "x", 1);
		why = "never opened";
		break;
	case 2:		/* one of ours never opened */
		inject_code(s, MUX_F_WINDOW, 2, 100);
		why = "never opened";
		break;
	case 3:
		inject(s, MUX_F_OPEN, 1, "a:1", 3);
		why = "reused";
		break;
	case 4:
		ck_assert_int_eq(inject(s, MUX_F_OPEN, 9, "a:1", 3), 0);
		inject(s, MUX_F_OPEN, 5, "a:1", 3);
		why = "backwards";
		break;
	case 5:
		inject(s, MUX_F_OPEN, 4, "a:1", 3);
		why = "parity";
		break;
	case 6:		/* a bad target is refused, its id still used */
		ck_assert_int_eq(inject(s, MUX_F_OPEN, 5, "no port", 7), 0);
		ck_assert_int_eq(s->opened[5], 0);
		inject(s, MUX_F_OPEN, 5, "a:1", 3);
		why = "reused";
		break;
	}
	assert_conn_error(s, why);
	side_free(s);
}
END_TEST

START_TEST(t_bad_hello)
{
	struct side		*s = side_new(NULL, 0);
	struct mux_hello	 h = { 2, 8, 4096, 1024 };
	uint8_t			 b[MUX_HELLO_LEN];

	s->rc = inject(s, MUX_F_PING, 0, "12345678", 8);
	ck_assert_int_eq(s->rc, -1);
	ck_assert_ptr_nonnull(strstr(s->why, "not HELLO"));
	side_free(s);
	s = side_new(NULL, 0);
	mux_hello_encode(b, &h);
	ck_assert_int_eq(inject(s, MUX_F_HELLO, 0, b, sizeof(b)), -1);
	ck_assert_ptr_nonnull(strstr(s->why, "version"));
	ck_assert_int_eq(mux_ready(s->m), 0);
	side_free(s);
}
END_TEST

/* Late frames for closed streams are dropped: no error, no answer. */
START_TEST(t_late_frames)
{
	struct side	*s = hostile_target();
	struct sent	 out;
	uint32_t	 id;

	ck_assert_int_eq(inject_code(s, MUX_F_RST, 1, MUX_C_CANCEL), 0);
	ck_assert_uint_eq(s->reset[1], MUX_C_CANCEL + 1);
	ck_assert_int_eq(inject(s, MUX_F_DATA, 1, "x", 1), 0);
	ck_assert_int_eq(inject(s, MUX_F_FIN, 1, NULL, 0), 0);
	ck_assert_int_eq(inject_code(s, MUX_F_WINDOW, 1, 10), 0);
	ck_assert_int_eq(inject_code(s, MUX_F_RST, 1, MUX_C_CANCEL), 0);
	ck_assert_uint_eq(s->rx[1], 0);
	ck_assert_int_eq(s->fin[1], 0);
	/* And ours that we reset: the peer's answer crosses the RST. */
	ck_assert_int_eq(mux_open(s->m, "a:1", &id), 0);
	mux_reset(s->m, id, MUX_C_CANCEL);
	ck_assert_int_eq(inject(s, MUX_F_OPEN_OK, id, NULL, 0), 0);
	ck_assert_int_eq(s->result[id], 0);
	drain(s, &out);
	ck_assert_int_eq(out.n[MUX_F_RST], 1);
	ck_assert_int_eq(out.n[MUX_F_DATA] + out.n[MUX_F_WINDOW], 0);
	assert_other_stream_goes_on(s);
	side_free(s);
}
END_TEST

/* DATA on a stream the application has not accepted yet. */
START_TEST(t_data_before_accept)
{
	struct side	*s = hostile_target();
	struct sent	 out;

	s->accept = 0;
	ck_assert_int_eq(inject(s, MUX_F_OPEN, 5, "a:1", 3), 0);
	ck_assert_int_eq(inject(s, MUX_F_DATA, 5, "x", 1), 0);
	ck_assert_uint_eq(s->reset[5], MUX_C_PROTOCOL + 1);
	drain(s, &out);
	ck_assert_uint_eq(out.last_id[MUX_F_RST], 5);
	ck_assert_int_eq(mux_accept(s->m, 5), -1);
	assert_other_stream_goes_on(s);
	side_free(s);
}
END_TEST

void
mux_bad_tests(Suite *s)
{
	TCase	*tc = tcase_create("frame");

	tcase_add_test(tc, t_targets);
	tcase_add_test(tc, t_headers);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad");
	tcase_add_loop_test(tc, t_bad_stream, 0, 9);
	tcase_add_loop_test(tc, t_bad_conn, 0, 16);
	tcase_add_test(tc, t_bad_hello);
	tcase_add_test(tc, t_late_frames);
	tcase_add_test(tc, t_data_before_accept);
	suite_add_tcase(s, tc);
}
