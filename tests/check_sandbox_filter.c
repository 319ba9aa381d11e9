/*
 * Sandbox tests, the filter itself: the worker filter exported as pfc
 * with and without its options, the golden file tests/data/worker.pfc
 * (found through SL_TEST_DATA, SL_SRCDIR or next to this file), and
 * every rule carrying its reason.
 * Part of the check_sandbox executable (see check_sandbox.h).
 */
#include "check_sandbox.h"

/* ---- pfc export and golden file ---- */

static char *
pfc_text(const struct sandbox_opts *o)
{
	struct sandbox	*sb;
	char		*buf;
	size_t		 len;
	FILE		*f;

	sb = sandbox_worker_build(o);
	ck_assert_ptr_nonnull(f = tmpfile());
	ck_assert_int_eq(sandbox_export_pfc(sb, fileno(f)), 0);
	sandbox_free(sb);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = (size_t)ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(buf = calloc(1, len + 1));
	ck_assert_uint_eq(fread(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

/*
 * The tgkill rule carries the builder's pid: replace it with "PID" so
 * the text is the same in every run.
 */
static void
pfc_normalize(char *text, char *out, size_t outlen)
{
	char	 pid[32], *p, *q, *end;
	size_t	 n = 0, plen;

	snprintf(pid, sizeof(pid), "== %ld)", (long)getpid());
	plen = strlen(pid);
	p = strstr(text, "\"tgkill\"");
	end = p != NULL ? strstr(p + 1, "# filter for syscall") : NULL;
	for (q = text; *q != '\0' && n + 8 < outlen; ) {
		if (p != NULL && q > p && (end == NULL || q < end) &&
		    strncmp(q, pid, plen) == 0) {
			memcpy(out + n, "== PID)", 7);
			n += 7;
			q += plen;
		} else
			out[n++] = *q++;
	}
	out[n] = '\0';
}

static char *
golden_path(char *buf, size_t len)
{
	char	exe[PATH_MAX], *slash;
	ssize_t	n;

	if (getenv("SL_TEST_DATA") != NULL) {
		n = snprintf(buf, len, "%s/worker.pfc", getenv("SL_TEST_DATA"));
		return n < 0 || (size_t)n >= len ? NULL : buf;
	}
	if (getenv("SL_SRCDIR") != NULL) {	/* set by tests/meson.build */
		n = snprintf(buf, len, "%s/tests/data/worker.pfc",
		    getenv("SL_SRCDIR"));
		return n < 0 || (size_t)n >= len ? NULL : buf;
	}
	/* __FILE__ is relative to the build root, two levels above us. */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	n = snprintf(buf, len, "%s/%s", __FILE__[0] == '/' ? "" : exe,
	    __FILE__);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	snprintf(slash, len - (size_t)(slash - buf), "/data/worker.pfc");
	return buf;
}

START_TEST(t_pfc_export)
{
	static const struct sandbox_opts minimal = { 0, 0, 0, 0 };
	char	*full, *min;

	full = pfc_text(&worker_opts);
	min = pfc_text(&minimal);
	ck_assert_ptr_nonnull(strstr(full, "ALLOW"));
	ck_assert_ptr_nonnull(strstr(full, "\"splice\""));
	ck_assert_ptr_nonnull(strstr(full, "\"bind\""));
	ck_assert_ptr_null(strstr(min, "\"splice\""));
	ck_assert_ptr_null(strstr(min, "\"pipe2\""));
	ck_assert_ptr_null(strstr(min, "\"bind\""));
	ck_assert_ptr_nonnull(strstr(full, "\"listen\""));
	ck_assert_ptr_null(strstr(min, "\"listen\""));
	ck_assert_ptr_null(strstr(min, "\"recvmmsg\""));
	ck_assert_ptr_null(strstr(full, "\"getppid\""));
	ck_assert_ptr_null(strstr(full, "\"execve\""));
	ck_assert_ptr_null(strstr(full, "\"openat\""));
	free(full);
	free(min);
}
END_TEST

/*
 * SO_ORIGINAL_DST (80) is asked for at level SOL_IP (0) and SOL_IPV6
 * (41) only when a redirect listener exists; SO_ERROR stays either way.
 */
START_TEST(t_pfc_redirect)
{
	static const struct sandbox_opts plain = { 1, 0, 1, 0 };
	static const struct sandbox_opts redir = { 1, 0, 1, 1 };
	char	*p, *r;

	p = pfc_text(&plain);
	r = pfc_text(&redir);
	ck_assert_ptr_null(strstr(p, "if ($a2.lo32 == 80)"));
	ck_assert_ptr_nonnull(strstr(r, "if ($a2.lo32 == 80)"));
	ck_assert_ptr_nonnull(strstr(r, "if ($a1.lo32 == 41)"));
	ck_assert_ptr_nonnull(strstr(p, "if ($a2.lo32 == 4)"));
	free(p);
	free(r);
}
END_TEST

/*
 * The golden file is the default worker filter (splice on, no source
 * address, a SOCKS listener) of
 * a plain kill-mode build with libseccomp 2.5.4; other builds print
 * different (equally valid) text and skip the comparison.
 */
START_TEST(t_pfc_golden)
{
	static const struct sandbox_opts dflt = { 1, 0, 1, 0 };
	const struct scmp_version *v = seccomp_version();
	char	 path[PATH_MAX], *text, *norm, *want;
	size_t	 len;
	FILE	*f;

	text = pfc_text(&dflt);
	len = strlen(text) + 64;	/* "PID" may be longer than the pid */
	ck_assert_ptr_nonnull(norm = malloc(len));
	pfc_normalize(text, norm, len);
	if (getenv("SL_PFC_WRITE") != NULL) {
		ck_assert_ptr_nonnull(f = fopen(getenv("SL_PFC_WRITE"), "w"));
		fputs(norm, f);
		fclose(f);
	}
	if (!sanitized && SL_SECCOMP_MODE == SL_SANDBOX_KILL && v->major == 2 &&
	    v->minor == 5 && v->micro == 4 && seccomp_api_get() >= 3 &&
	    golden_path(path, sizeof(path)) != NULL &&
	    (f = fopen(path, "r")) != NULL) {
		ck_assert_ptr_nonnull(want = calloc(1, len + 4096));
		ck_assert_uint_gt(fread(want, 1, len + 4095, f), 0);
		fclose(f);
		ck_assert_msg(strcmp(want, norm) == 0,
		    "worker filter differs from %s: review the change and "
		    "regenerate with SL_PFC_WRITE=%s", path, path);
		free(want);
	}
	free(norm);
	free(text);
}
END_TEST

START_TEST(t_rule_reasons)
{
	struct sandbox	*sb;

	sb = sandbox_worker_build(&worker_opts);
	ck_assert_uint_gt(sandbox_nrules(sb), 40);
	sandbox_free(sb);
	ck_assert_str_eq(sandbox_mode_name(), SL_SECCOMP_MODE == 0 ? "kill" :
	    SL_SECCOMP_MODE == 1 ? "trap" : "log");
}
END_TEST

/* A rule without a why is a build error at run time: fatal. */
static int
body_noreason(void)
{
	struct sandbox	*sb = sandbox_begin("test");

	sandbox_allow(sb, SCMP_SYS(read), "");
	return 0;
}

START_TEST(t_rule_needs_reason)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) == 0)
		_exit(body_noreason());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}
END_TEST

TCase *
sandbox_filter_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("filter");
	tcase_add_test(tc, t_pfc_export);
	tcase_add_test(tc, t_pfc_redirect);
	tcase_add_test(tc, t_pfc_golden);
	tcase_add_test(tc, t_rule_reasons);
	tcase_add_test(tc, t_rule_needs_reason);
	return tc;
}
