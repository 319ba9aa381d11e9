/*
 * Taps, part 2: the chain (worker/relay/taps.c) without sockets.  The
 * configuration is in check_taps_conf.c, the relay with a chain over
 * real sockets in check_relay.c.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "policy/config.h"
#include "worker/relay/taps.h"

#include "check_taps.h"

/* Chains from hand-made taps. */

static struct sl_tap
mk_replace(const char *search, const char *replace, uint8_t dirs)
{
	struct sl_tap	t;

	memset(&t, 0, sizeof(t));
	t.type = SL_TAP_REPLACE;
	t.dirs = dirs;
	t.search = (uint8_t *)search;
	t.nsearch = strlen(search);
	t.replace = (uint8_t *)replace;
	t.nreplace = strlen(replace);
	return t;
}

static struct sl_tap
mk_tap(enum sl_tap_type type, uint8_t dirs)
{
	struct sl_tap	t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.dirs = dirs;
	t.bytes = 64;
	return t;
}

static struct taps *
mk_chain(const struct sl_tap *t, size_t n)
{
	struct sockaddr_in	sin;
	struct tap_info		info;
	struct taps		*tp;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	memset(&info, 0, sizeof(info));
	info.session = 7;
	info.listener = "fwd";
	info.proto = "tcp";
	info.client = (struct sockaddr *)&sin;
	info.target = "127.0.0.1:8080";
	tp = taps_new(t, n, &info);
	ck_assert_ptr_nonnull(tp);
	return tp;
}

/* A growing byte string. */
struct bytes {
	uint8_t	p[1 << 16];
	size_t	len;
};

/*
 * The loops below make many thousands of checks: Check writes a
 * checkpoint to a file on every ck_assert, so they test with plain ifs.
 */
static void
bytes_add(struct bytes *b, const uint8_t *p, size_t n)
{
	if (b->len + n > sizeof(b->p))
		ck_abort_msg("bytes_add: %zu + %zu", b->len, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The reference: one-shot, left to right, non-overlapping. */
static void
replace_ref(const uint8_t *in, size_t len, const char *s, const char *r,
    struct bytes *out)
{
	size_t	ns = strlen(s), i = 0;

	out->len = 0;
	while (i < len) {
		if (len - i >= ns && memcmp(in + i, s, ns) == 0) {
			bytes_add(out, (const uint8_t *)r, strlen(r));
			i += ns;
		} else
			bytes_add(out, in + i++, 1);
	}
}

/* Feed in as chunks cut at cuts[], then flush; all output in out. */
static void
feed(struct taps *tp, enum tap_dir dir, const uint8_t *in, size_t len,
    const size_t *cuts, size_t ncuts, struct bytes *out)
{
	const uint8_t	*o;
	size_t		 olen, i, from = 0, to;

	out->len = 0;
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (taps_stream(tp, dir, in + from, to - from, &o, &olen) != 0)
			ck_abort_msg("taps_stream: %s", taps_why(tp));
		bytes_add(out, o, olen);
		from = to;
	}
	if (taps_stream_flush(tp, dir, &o, &olen) != 0)
		ck_abort_msg("taps_stream_flush: %s", taps_why(tp));
	bytes_add(out, o, olen);
	if (taps_held(tp, dir) != 0)
		ck_abort_msg("held after a flush");
}

/* got is want, or fail naming the input and the cuts. */
static void
same(const struct bytes *got, const struct bytes *want, const uint8_t *in,
    size_t len, const size_t *cuts, size_t ncuts)
{
	char	c[64];
	size_t	i, o = 0;

	if (got->len == want->len && memcmp(got->p, want->p, want->len) == 0)
		return;
	for (i = 0; i < ncuts && o < sizeof(c) - 12; i++)
		o += (size_t)snprintf(c + o, sizeof(c) - o, " %zu", cuts[i]);
	c[o] = '\0';
	ck_abort_msg("\"%.*s\" cut at%s: got \"%.*s\", want \"%.*s\"",
	    (int)len, (const char *)in, c, (int)got->len,
	    (const char *)got->p, (int)want->len, (const char *)want->p);
}

static const char http_req[] = "GET /api/users HTTP/1.1\r\nHost: a/ap\r\n"
    "X: /a/ap/api//api/apii/ap\r\n\r\n/api";

/* transmitm's /api -> /forbidden, cut in two and in three everywhere. */
START_TEST(replace_every_split)
{
	struct sl_tap	t = mk_replace("/api", "/forbidden", 3);
	const uint8_t	*in = (const uint8_t *)http_req;
	size_t		 len = strlen(http_req), cuts[2];
	struct bytes	*want = malloc(sizeof(*want));
	struct bytes	*got = malloc(sizeof(*got));
	struct taps	*tp = mk_chain(&t, 1);

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	replace_ref(in, len, "/api", "/forbidden", want);
	ck_assert_ptr_nonnull(memmem(want->p, want->len, "GET /forbidden/users",
	    20));
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		feed(tp, TAP_UP, in, len, cuts, 1, got);
		same(got, want, in, len, cuts, 1);
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			feed(tp, TAP_DOWN, in, len, cuts, 2, got);
			same(got, want, in, len, cuts, 2);
		}
	}
	taps_free(tp);
	free(want);
	free(got);
}
END_TEST

/* Random streams over a small alphabet, self-overlapping patterns. */
START_TEST(replace_property)
{
	static const char *const pats[][2] = {
		{ "/api", "/forbidden" }, { "aab", "" }, { "aaa", "b" },
		{ "abab", "ba" }, { "a", "aa" }, { "ab", "abab" },
	};
	struct sl_tap	t = mk_replace(pats[_i][0], pats[_i][1], 3);
	struct bytes	*want = malloc(sizeof(*want));
	struct bytes	*got = malloc(sizeof(*got));
	struct taps	*tp = mk_chain(&t, 1);
	uint8_t		 in[200];
	size_t		 cuts[8], len, i, k, run;
	unsigned int	 seed = 1234 + (unsigned)_i;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	for (run = 0; run < 3000; run++) {
		len = (size_t)rand_r(&seed) % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)"ab/pi"[rand_r(&seed) % 5];
		k = (size_t)rand_r(&seed) % 8;
		for (i = 0; i < k; i++)
			cuts[i] = len > 0 ? (size_t)rand_r(&seed) % (len + 1) :
			    0;
		/* Sorted cuts (insertion sort, k < 8). */
		for (i = 1; i < k; i++) {
			size_t v = cuts[i], j = i;

			for (; j > 0 && cuts[j - 1] > v; j--)
				cuts[j] = cuts[j - 1];
			cuts[j] = v;
		}
		replace_ref(in, len, pats[_i][0], pats[_i][1], want);
		feed(tp, TAP_UP, in, len, cuts, k, got);
		same(got, want, in, len, cuts, k);
	}
	taps_free(tp);
	free(want);
	free(got);
}
END_TEST

/* A partial match is held, plain traffic is not, a flush lets go. */
START_TEST(replace_carry_flush)
{
	struct sl_tap	 t = mk_replace("/api", "/forbidden", SL_TAP_UP);
	struct taps	*tp = mk_chain(&t, 1);
	const uint8_t	*o;
	size_t		 olen;

	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"hello", 5,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 5);
	ck_assert_mem_eq(o, "hello", 5);
	ck_assert_uint_eq(taps_held(tp, TAP_UP), 0);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"GET /ap",
	    7, &o, &olen), 0);
	ck_assert_uint_eq(olen, 4);
	ck_assert_mem_eq(o, "GET ", 4);
	ck_assert_uint_eq(taps_held(tp, TAP_UP), 3);
	ck_assert_int_eq(taps_stream_flush(tp, TAP_UP, &o, &olen), 0);
	ck_assert_uint_eq(olen, 3);
	ck_assert_mem_eq(o, "/ap", 3);
	ck_assert_uint_eq(taps_held(tp, TAP_UP), 0);
	/* Flushed: the next "i" does not complete the old match. */
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"i", 1, &o,
	    &olen), 0);
	ck_assert_uint_eq(olen, 1);
	/* A held match completed by the next read. */
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"x/", 2, &o,
	    &olen), 0);
	ck_assert_uint_eq(olen, 1);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"api!", 4,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 11);
	ck_assert_mem_eq(o, "/forbidden!", 11);
	/* Not a direction of this tap: untouched, nothing held. */
	ck_assert_int_eq(taps_stream(tp, TAP_DOWN, (const uint8_t *)"/ap", 3,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 3);
	ck_assert_uint_eq(taps_held(tp, TAP_DOWN), 0);
	taps_free(tp);
	taps_free(NULL);
}
END_TEST

/* Two rewrites in a row: the second sees the first's output. */
START_TEST(chain_order)
{
	struct sl_tap	 t[3];
	struct taps	*tp;
	struct bytes	*got = malloc(sizeof(*got));
	size_t		 cut = 3;

	ck_assert_ptr_nonnull(got);
	t[0] = mk_replace("a", "bb", 3);
	t[1] = mk_replace("bbb", "c", 3);
	t[2] = mk_replace("cb", "[cb]", 3);
	tp = mk_chain(t, 3);
	feed(tp, TAP_UP, (const uint8_t *)"abab", 4, &cut, 1, got);
	/* abab -> bbbbbb -> cc... : bbbbbb holds "bbb" twice -> "cc" */
	ck_assert_uint_eq(got->len, 2);
	ck_assert_mem_eq(got->p, "cc", 2);
	feed(tp, TAP_UP, (const uint8_t *)"ab", 2, NULL, 0, got);
	/* ab -> bbb -> c -> c */
	ck_assert_uint_eq(got->len, 1);
	feed(tp, TAP_UP, (const uint8_t *)"aabx", 4, NULL, 0, got);
	/* aabx -> bbbbbx -> cbbx -> [cb]bx */
	ck_assert_uint_eq(got->len, 6);
	ck_assert_mem_eq(got->p, "[cb]bx", 6);
	taps_free(tp);
	free(got);
}
END_TEST

START_TEST(drop_direction)
{
	struct sl_tap	 t[2];
	struct taps	*tp;
	const uint8_t	*o;
	size_t		 olen;

	t[0] = mk_tap(SL_TAP_DROP, SL_TAP_DOWN);
	t[1] = mk_tap(SL_TAP_LOG, 3);
	tp = mk_chain(t, 2);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"up", 2, &o,
	    &olen), 0);
	ck_assert_uint_eq(olen, 2);
	ck_assert_int_eq(taps_stream(tp, TAP_DOWN, (const uint8_t *)"down", 4,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 0);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, (const uint8_t *)"dg", 2,
	    &o, &olen), 0);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, o, 0, &o, &olen), 0);
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, (const uint8_t *)"dg", 2,
	    &o, &olen), 1);
	ck_assert_uint_eq(olen, 2);
	taps_free(tp);
}
END_TEST

/* _i: where "DELETE " is cut (0: in one read). */
START_TEST(drop_match_across_reads)
{
	struct sl_tap	 t = mk_tap(SL_TAP_DROP, SL_TAP_UP);
	const char	*req = "xx DELETE /a";
	struct taps	*tp;
	const uint8_t	*o;
	size_t		 olen, cut = 3 + (size_t)_i;

	t.search = (uint8_t *)"DELETE ";
	t.nsearch = 7;
	tp = mk_chain(&t, 1);
	/* Harmless bytes, and the window does not hold them back. */
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"DELET",
	    5, &o, &olen), 0);
	ck_assert_uint_eq(olen, 5);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"Ex", 2, &o,
	    &olen), 0);
	ck_assert_uint_eq(olen, 2);
	ck_assert_uint_eq(taps_held(tp, TAP_UP), 0);
	if (_i == 0)
		ck_assert_int_eq(taps_stream(tp, TAP_UP,
		    (const uint8_t *)req, strlen(req), &o, &olen), -1);
	else {
		ck_assert_int_eq(taps_stream(tp, TAP_UP,
		    (const uint8_t *)req, cut, &o, &olen), 0);
		ck_assert_int_eq(taps_stream(tp, TAP_UP,
		    (const uint8_t *)req + cut, strlen(req) - cut, &o, &olen),
		    -1);
	}
	ck_assert_str_eq(taps_why(tp), "tap drop: matched \"DELETE \"");
	/* The other direction is not watched. */
	ck_assert_int_eq(taps_stream(tp, TAP_DOWN, (const uint8_t *)req,
	    strlen(req), &o, &olen), 0);
	taps_free(tp);
}
END_TEST

/* Datagrams stand alone: no carry, replace within, drop, throttle. */
START_TEST(datagram_mode)
{
	struct sl_tap	 t[3];
	struct taps	*tp;
	const uint8_t	*o;
	size_t		 olen;
	uint8_t		 big[600];

	t[0] = mk_replace("/api", "/forbidden", 3);
	t[1] = mk_tap(SL_TAP_DROP, 3);
	t[1].search = (uint8_t *)"\x00\x01";
	t[1].nsearch = 2;
	t[2] = mk_tap(SL_TAP_THROTTLE, SL_TAP_UP);
	t[2].rate = 1000;
	tp = mk_chain(t, 3);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, (const uint8_t *)"a/ap",
	    4, &o, &olen), 1);
	ck_assert_uint_eq(olen, 4);
	ck_assert_mem_eq(o, "a/ap", 4);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, (const uint8_t *)"i/api",
	    5, &o, &olen), 1);
	ck_assert_uint_eq(olen, 11);
	ck_assert_mem_eq(o, "i/forbidden", 11);
	ck_assert_uint_eq(taps_held(tp, TAP_DOWN), 0);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN,
	    (const uint8_t *)"ab\x00\x01z", 5, &o, &olen), 0);
	/* Throttle: a one-second burst of 1000 bytes, then drops. */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, big, sizeof(big), &o,
	    &olen), 1);
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, big, sizeof(big), &o,
	    &olen), 0);
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, big, 100, &o, &olen), 1);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, big, sizeof(big), &o,
	    &olen), 1);
	ck_assert_uint_eq(taps_rate(tp, TAP_UP), 1000);
	ck_assert_uint_eq(taps_rate(tp, TAP_DOWN), 0);
	taps_free(tp);
}
END_TEST

/* A tap that grows data past TAPS_OUT_MAX fails the session. */
START_TEST(output_cap)
{
	static uint8_t	 rep[65536];
	struct sl_tap	 t = mk_replace("a", "", 3);
	struct taps	*tp;
	const uint8_t	*o;
	size_t		 olen;
	uint8_t		 in[17];

	memset(rep, 'b', sizeof(rep));
	t.replace = rep;
	t.nreplace = sizeof(rep);
	tp = mk_chain(&t, 1);
	memset(in, 'a', sizeof(in));
	/* 16 x 64 KiB = 1 MiB exactly: fine. */
	ck_assert_int_eq(taps_stream(tp, TAP_UP, in, 16, &o, &olen), 0);
	ck_assert_uint_eq(olen, TAPS_OUT_MAX);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, in, 17, &o, &olen), -1);
	ck_assert_str_eq(taps_why(tp), "tap output over 1 MiB");
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, in, 17, &o, &olen), -1);
	taps_free(tp);
}
END_TEST

/* log and hexdump only look: the very bytes come back. */
START_TEST(observers_pass_bytes)
{
	struct sl_tap	 t[4];
	struct taps	*tp;
	const uint8_t	*o;
	uint8_t		 in[5000];
	size_t		 olen, i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	t[0] = mk_tap(SL_TAP_LOG, 3);
	t[1] = mk_tap(SL_TAP_HEXDUMP, 3);
	t[1].bytes = 40;
	t[2] = mk_tap(SL_TAP_THROTTLE, SL_TAP_DOWN);
	t[2].rate = 5000;
	t[3] = mk_tap(SL_TAP_THROTTLE, 3);
	t[3].rate = 9000;
	tp = mk_chain(t, 4);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, in, sizeof(in), &o, &olen),
	    0);
	ck_assert_ptr_eq(o, in);
	ck_assert_uint_eq(olen, sizeof(in));
	ck_assert_int_eq(taps_stream(tp, TAP_DOWN, in, 3, &o, &olen), 0);
	ck_assert_mem_eq(o, in, 3);
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, in, 100, &o, &olen), 1);
	ck_assert_mem_eq(o, in, 100);
	ck_assert_uint_eq(taps_rate(tp, TAP_DOWN), 5000);
	ck_assert_uint_eq(taps_rate(tp, TAP_UP), 9000);
	ck_assert_uint_eq(taps_rate(NULL, TAP_UP), 0);
	taps_free(tp);
}
END_TEST

/*
 * A real script in the chain: its output (the script's memory, shared by
 * every session) feeds the next tap and what is returned is the chain's.
 */
START_TEST(lua_in_chain)
{
	struct sl_conf	*conf;
	struct taps	*tp;
	const char	*src = getenv("SL_SRCDIR");
	const uint8_t	*o;
	size_t		 olen;
	char		 taps[1200], err[600];

	if (src == NULL || strlen(src) > 1000)
		return;		/* run by hand: nothing to load */
	snprintf(taps, sizeof(taps), "[{'type':'lua','script':"
	    "'%s/tests/data/lua/upper.lua'},{'type':'replace',"
	    "'search':'/API','replace':'/x'}]", src);
	conf = must_taps(taps);
	ck_assert_msg(taps_load(conf, err, sizeof(err)) == 0, "%s", err);
	tp = taps_new(conf->listeners[0].taps, 2, NULL);
	ck_assert_ptr_nonnull(tp);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"get /a", 6,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 4);
	ck_assert_mem_eq(o, "GET ", 4);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"pi ok", 5,
	    &o, &olen), 0);
	ck_assert_uint_eq(olen, 5);
	ck_assert_mem_eq(o, "/x OK", 5);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, (const uint8_t *)"abc", 3,
	    &o, &olen), 1);
	ck_assert_mem_eq(o, "ABC", 3);
	taps_free(tp);
	taps_unload(conf);
	conf_free(conf);
}
END_TEST

/* A lua tap that was never loaded fails the session, not the worker. */
START_TEST(lua_unloaded)
{
	struct sl_tap	 t = mk_tap(SL_TAP_LUA, 3);
	struct taps	*tp;
	const uint8_t	*o;
	size_t		 olen;

	t.script = "/x.lua";
	tp = mk_chain(&t, 1);
	ck_assert_int_eq(taps_stream(tp, TAP_UP, (const uint8_t *)"x", 1, &o,
	    &olen), -1);
	ck_assert_str_eq(taps_why(tp), "tap lua: /x.lua not loaded");
	taps_free(tp);
}
END_TEST

static Suite *
taps_suite(void)
{
	Suite	*s = suite_create("taps");
	TCase	*tch = tcase_create("chain");

	suite_add_tcase(s, taps_conf_tcase());
	tcase_set_timeout(tch, 60);
	tcase_add_test(tch, replace_every_split);
	tcase_add_loop_test(tch, replace_property, 0, 6);
	tcase_add_test(tch, replace_carry_flush);
	tcase_add_test(tch, chain_order);
	tcase_add_test(tch, drop_direction);
	tcase_add_loop_test(tch, drop_match_across_reads, 0, 7);
	tcase_add_test(tch, datagram_mode);
	tcase_add_test(tch, output_cap);
	tcase_add_test(tch, observers_pass_bytes);
	tcase_add_test(tch, lua_unloaded);
	tcase_add_test(tch, lua_in_chain);
	suite_add_tcase(s, tch);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nf;

	log_init("check_taps", SL_LOG_WARN);
	sr = srunner_create(taps_suite());
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
