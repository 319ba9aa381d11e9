/*
 * Log text escaping (common/util.c str_sanitize, common/log.c log_emit):
 * whatever bytes a client puts into a name, a log line stays one line of
 * printable ASCII, so the log is valid UTF-8 and carries no terminal,
 * C1 or bidi controls.  The same holds in JSON mode ("log_format":
 * "json"), where each line is one object (log_json_escape,
 * log_format_json).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

static void
expect(const char *in, size_t dlen, const char *want)
{
	char	out[256];

	ck_assert_uint_le(dlen, sizeof(out));
	memset(out, 'Z', sizeof(out));
	str_sanitize(out, dlen, in);
	ck_assert_str_eq(out, want);
}

START_TEST(t_sanitize_ascii)
{
	expect("example.com:443", 64, "example.com:443");
	expect("a b~!\\x", 64, "a b~!\\x");
	expect("", 64, "");
}
END_TEST

/* Control bytes: no forged second line, no terminal escapes. */
START_TEST(t_sanitize_controls)
{
	expect("a\nb\rc\td", 64, "a\\x0ab\\x0dc\\x09d");
	expect("\x1b[31mred", 64, "\\x1b[31mred");
	expect("del\x7f", 64, "del\\x7f");
	expect("\x01\x1f", 64, "\\x01\\x1f");
}
END_TEST

/* Every byte >= 0x80: invalid UTF-8, C1 controls and bidi overrides. */
START_TEST(t_sanitize_high)
{
	expect("\xff", 64, "\\xff");
	expect("a\xe2\x80\xae" "b", 64, "a\\xe2\\x80\\xaeb");	/* U+202E */
	expect("\xc2\x85", 64, "\\xc2\\x85");			/* U+0085 */
	expect("\x80\x9b", 64, "\\x80\\x9b");			/* raw C1 */
	expect("caf\xc3\xa9", 64, "caf\\xc3\\xa9");		/* even é */
}
END_TEST

/* Output never ends inside an escape, and always ends in NUL. */
START_TEST(t_sanitize_truncate)
{
	expect("abc", 3, "ab");
	expect("a\xff", 5, "a");
	expect("a\xff", 6, "a\\xff");
	expect("\xff\xff", 8, "\\xff");
	expect("abc", 1, "");
}
END_TEST

/* Escaped text escapes to itself: the master re-escapes children's lines. */
START_TEST(t_sanitize_idempotent)
{
	char	once[128], twice[128];

	str_sanitize(once, sizeof(once), "x\xff\xe2\x80\xae\n");
	str_sanitize(twice, sizeof(twice), once);
	ck_assert_str_eq(once, twice);
}
END_TEST

/* log_emit escapes every line it prints, the master's own included. */
START_TEST(t_emit_escapes)
{
	char	buf[512];
	FILE	*f;
	int	saved, fd;
	size_t	n, i;

	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	fd = fileno(f);
	ck_assert_int_eq(dup2(fd, 2), 2);
	log_emit(SL_LOG_INFO, "worker 1", "connect \xff\xe2\x80\xae.com\nfake");
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf,
	    "worker 1 info: connect \\xff\\xe2\\x80\\xae.com\\x0afake\n"));
	for (i = 0; i < n; i++)
		ck_assert((buf[i] >= 0x20 && buf[i] < 0x7f) ||
		    (buf[i] == '\n' && i == n - 1));
}
END_TEST

/* Run log_emit_fields with stderr captured; the output in buf. */
static size_t
capture_emit(char *buf, size_t len, int level, const char *origin,
    const char *line, const char *fields)
{
	FILE	*f;
	int	 saved, fd;
	size_t	 n;

	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	fd = fileno(f);
	ck_assert_int_eq(dup2(fd, 2), 2);
	log_emit_fields(level, origin, line, fields);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void
expect_json(const char *in, size_t dlen, const char *want)
{
	char	out[256];
	size_t	n;

	ck_assert_uint_le(dlen, sizeof(out));
	memset(out, 'Z', sizeof(out));
	n = log_json_escape(out, dlen, in);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(t_json_escape_plain)
{
	expect_json("example.com:443", 64, "example.com:443");
	expect_json("", 64, "");
	expect_json("a b~!/'", 64, "a b~!/'");
}
END_TEST

START_TEST(t_json_escape_quote_backslash)
{
	expect_json("say \"hi\"", 64, "say \\\"hi\\\"");
	expect_json("a\\xffb", 64, "a\\\\xffb");
	expect_json("\\", 64, "\\\\");
}
END_TEST

START_TEST(t_json_escape_controls)
{
	expect_json("a\nb\rc\td", 64, "a\\nb\\rc\\td");
	expect_json("\b\f", 64, "\\b\\f");
	expect_json("\x01\x1b[31m\x1f", 64, "\\u0001\\u001b[31m\\u001f");
	expect_json("del\x7f", 64, "del\\u007f");
}
END_TEST

/* Bytes >= 0x80, valid UTF-8 or not, become U+FFFD: never decoded. */
START_TEST(t_json_escape_high)
{
	expect_json("\xff", 64, "\\ufffd");
	expect_json("a\xe2\x80\xae" "b", 64, "a\\ufffd\\ufffd\\ufffdb");
	expect_json("\xc2\x85", 64, "\\ufffd\\ufffd");
}
END_TEST

/* Never cut inside an escape; always NUL-terminated. */
START_TEST(t_json_escape_truncate)
{
	expect_json("abc", 3, "ab");
	expect_json("a\"", 3, "a");
	expect_json("a\"", 4, "a\\\"");
	expect_json("a\x01", 7, "a");
	expect_json("a\x01", 8, "a\\u0001");
	expect_json("abc", 1, "");
}
END_TEST

/* Text mode: exactly today's line, fields left out. */
START_TEST(t_emit_text_unchanged)
{
	char	buf[512];
	size_t	n;

	log_set_json(0);
	n = capture_emit(buf, sizeof(buf), SL_LOG_WARN, "resolver",
	    "hello \"x\"", ",\"k\":1");
	ck_assert_uint_gt(n, 30);
	/* 2026-12-06T22:14:48.123Z */
	ck_assert_int_eq(buf[4], '-');
	ck_assert_int_eq(buf[10], 'T');
	ck_assert_int_eq(buf[19], '.');
	ck_assert_int_eq(buf[23], 'Z');
	ck_assert_str_eq(buf + 24, " resolver warn: hello \"x\"\n");
}
END_TEST

/* JSON mode: one object per line with the four fields, then extras. */
START_TEST(t_emit_json)
{
	char		 buf[1024];
	const char	*p;
	size_t		 n, i;

	log_set_json(1);
	n = capture_emit(buf, sizeof(buf), SL_LOG_INFO, "worker 1",
	    "q\"b\\s \xff\xe2\x80\xae\nfake", ",\"session\":7");
	log_set_json(0);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert(strncmp(buf, "{\"time\":\"", 9) == 0);
	ck_assert_int_eq(buf[9 + 23], 'Z');
	p = strstr(buf, "\",\"level\":\"info\",\"process\":\"worker 1\","
	    "\"msg\":\"q\\\"b\\\\s \\\\xff\\\\xe2\\\\x80\\\\xae\\\\x0afake\","
	    "\"session\":7}\n");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(p, buf + 9 + 24);
	for (i = 0; i < n - 1; i++)
		ck_assert(buf[i] >= 0x20 && buf[i] < 0x7f);
}
END_TEST

/* A line too long for its fields keeps the line, drops the fields. */
START_TEST(t_format_json_fit)
{
	char	buf[128];
	size_t	n;

	n = log_format_json(buf, sizeof(buf), SL_LOG_ERROR, "sluiced", "m",
	    "");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"level\":\"error\","
	    "\"process\":\"sluiced\",\"msg\":\"m\"}\n"));
	n = log_format_json(buf, 60, SL_LOG_ERROR, "sluiced", "m", "");
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("sanitize");

	tcase_add_test(tc, t_sanitize_ascii);
	tcase_add_test(tc, t_sanitize_controls);
	tcase_add_test(tc, t_sanitize_high);
	tcase_add_test(tc, t_sanitize_truncate);
	tcase_add_test(tc, t_sanitize_idempotent);
	tcase_add_test(tc, t_emit_escapes);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, t_json_escape_plain);
	tcase_add_test(tc, t_json_escape_quote_backslash);
	tcase_add_test(tc, t_json_escape_controls);
	tcase_add_test(tc, t_json_escape_high);
	tcase_add_test(tc, t_json_escape_truncate);
	tcase_add_test(tc, t_emit_text_unchanged);
	tcase_add_test(tc, t_emit_json);
	tcase_add_test(tc, t_format_json_fit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
