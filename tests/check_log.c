/*
 * Log text escaping (common/util.c str_sanitize, common/log.c log_emit):
 * whatever bytes a client puts into a name, a log line stays one line of
 * printable ASCII, so the log is valid UTF-8 and carries no terminal,
 * C1 or bidi controls.
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
