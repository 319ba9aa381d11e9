/*
 * Sandbox tests, privileges: privdir_prepare's checks, privdrop to
 * nobody (then the worker sandbox on top, the worker's real order), its
 * refusal to drop to root, and the master's reduced capability set.
 * The privdrop and capability tests need root and pass without running
 * otherwise.
 * Part of the check_sandbox executable (see check_sandbox.h).
 */
#include "check_sandbox.h"

/*
 * master/caps.c is linked only into sluiced; compile it in here so its
 * behaviour is tested too.  If the build ever puts it in a library that
 * this test links, drop this line.
 */
#include "../master/caps.c"

/* ---- privdir_prepare ---- */

static char tmpbase[64];

static void
tmp_setup(void)
{
	snprintf(tmpbase, sizeof(tmpbase), "/tmp/sl-sandbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpbase));
}

static void
tmp_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpbase);
	ck_assert_int_eq(system(cmd), 0);
}

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpbase, name);
}

static void
assert_prepare_fails(const char *dir, const char *why)
{
	char	err[256] = "";

	ck_assert_int_eq(privdir_prepare(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "%s: error '%s', want '%s'",
	    dir, err, why);
}

START_TEST(t_privdir_reject)
{
	char	d[128], f[160];
	int	fd;

	tmp_path(d, sizeof(d), "file");
	ck_assert_int_ge(fd = open(d, O_CREAT | O_WRONLY, 0644), 0);
	close(fd);
	assert_prepare_fails(d, "not a directory");
	assert_prepare_fails("relative/dir", "absolute");
	tmp_path(d, sizeof(d), "link");
	ck_assert_int_eq(symlink(tmpbase, d), 0);
	assert_prepare_fails(d, "symbolic link");
	tmp_path(d, sizeof(d), "noparent/dir");
	assert_prepare_fails(d, "mkdir");
	if (getuid() != 0)
		return;		/* the rest needs root-owned directories */
	tmp_path(d, sizeof(d), "world");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	ck_assert_int_eq(chmod(d, 0777), 0);
	assert_prepare_fails(d, "writable");
	ck_assert_int_eq(chmod(d, 0775), 0);
	assert_prepare_fails(d, "writable");
	tmp_path(d, sizeof(d), "full");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	snprintf(f, sizeof(f), "%s/x", d);
	ck_assert_int_ge(fd = open(f, O_CREAT | O_WRONLY, 0644), 0);
	close(fd);
	assert_prepare_fails(d, "not empty");
	tmp_path(d, sizeof(d), "notroot");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	ck_assert_int_eq(chown(d, 65534, 0), 0);
	assert_prepare_fails(d, "not root");
}
END_TEST

START_TEST(t_privdir_create)
{
	struct stat	st;
	char		d[128], err[256] = "";

	if (getuid() != 0)
		return;
	umask(077);
	tmp_path(d, sizeof(d), "empty");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(lstat(d, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_uid, 0);
	/* Existing and good: accepted again. */
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* ---- privdrop (root only) ---- */

static int
body_dropped(uid_t uid, gid_t gid)
{
	struct rlimit	 rl;
	cap_t		 cur, none;
	char		 cwd[64];
	gid_t		 groups[4];
	int		 fd;

	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || getuid() == 0)
		return 1;
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		return 2;
	if (getgroups(4, groups) != 1 || groups[0] != gid)
		return 3;
	cur = cap_get_proc();
	none = cap_init();
	if (cur == NULL || none == NULL || cap_compare(cur, none) != 0)
		return 4;
	cap_free(cur);
	cap_free(none);
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return 5;
	/* The chroot is effective: the host's files are out of reach. */
	fd = open("/etc/passwd", O_RDONLY);
	if (fd != -1 || errno != ENOENT)
		return 6;
	if (getrlimit(RLIMIT_NPROC, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 7;
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1 || rl.rlim_cur != 0)
		return 8;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 9;
	if (fork() != -1)	/* RLIMIT_NPROC */
		return 10;
	return 0;
}

START_TEST(t_privdrop_nobody)
{
	struct passwd	*pw;
	char		 d[128], err[256];
	pid_t		 pid;
	int		 st;

	if (getuid() != 0)
		return;
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	tmp_path(d, sizeof(d), "chroot");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		privdrop(pw->pw_uid, pw->pw_gid, d);
		_exit(body_dropped(pw->pw_uid, pw->pw_gid));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

/* Dropped, then sandboxed: the worker's real order. */
START_TEST(t_privdrop_then_sandbox)
{
	struct passwd	*pw;
	char		 d[128], err[256];
	pid_t		 pid;
	int		 st;

	if (getuid() != 0)
		return;
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	tmp_path(d, sizeof(d), "chroot2");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		fixtures();
		privdrop(pw->pw_uid, pw->pw_gid, d);
		load_worker();
		_exit(body_worker_ok());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

START_TEST(t_privdrop_refuses_root)
{
	char	d[128], err[256];
	pid_t	pid;
	int	st;

	if (getuid() != 0)
		return;
	tmp_path(d, sizeof(d), "chroot3");
	ck_assert_msg(privdir_prepare(d, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0) {
		privdrop(0, 0, d);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	if ((pid = fork()) == 0) {
		privdrop(65534, 0, d);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}
END_TEST

/* ---- master capabilities (root only) ---- */

static int
body_caps_reduced(void)
{
	static const cap_value_t keep[] = {
		CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_KILL,
	};
	cap_flag_value_t p, e, i;
	cap_value_t	 c;
	cap_t		 cur;
	char		 desc[256];
	size_t		 k;
	int		 want;

	caps_master_reduce(NULL, 0);	/* no config: no network caps */
	if ((cur = cap_get_proc()) == NULL)
		return 1;
	for (c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		for (want = 0, k = 0; k < NELEM(keep); k++)
			if (keep[k] == c)
				want = 1;
		if (cap_get_flag(cur, c, CAP_PERMITTED, &p) == -1 ||
		    cap_get_flag(cur, c, CAP_EFFECTIVE, &e) == -1 ||
		    cap_get_flag(cur, c, CAP_INHERITABLE, &i) == -1)
			return 2;
		if ((p == CAP_SET) != want || (e == CAP_SET) != want ||
		    i == CAP_SET)
			return 3;
		if (cap_get_bound(c) != want)
			return 4;
		if (cap_get_ambient(c) > 0)
			return 5;
	}
	cap_free(cur);
	caps_master_describe(desc, sizeof(desc));
	if (strcmp(desc, "cap_kill,cap_setgid,cap_setuid,cap_sys_chroot; "
	    "keeping no network capabilities") != 0)
		return 6;
	/* No CAP_DAC_OVERRIDE: a 0600 file of another owner is closed. */
	if (getuid() != 0 || geteuid() != 0)
		return 7;
	return 0;
}

START_TEST(t_caps_master)
{
	pid_t	pid;
	int	st;

	if (getuid() != 0)
		return;
	if ((pid = fork()) == 0)
		_exit(body_caps_reduced());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}
END_TEST

START_TEST(t_caps_describe)
{
	char	buf[512], tiny[4];

	caps_master_describe(buf, sizeof(buf));
	ck_assert(strlen(buf) > 0);
	caps_master_describe(tiny, sizeof(tiny));
	ck_assert(strlen(tiny) < sizeof(tiny));
}
END_TEST

TCase *
sandbox_privdir_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("privdir");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdir_reject);
	tcase_add_test(tc, t_privdir_create);
	return tc;
}

TCase *
sandbox_privdrop_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("privdrop");
	tcase_set_tags(tc, "root");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdrop_nobody);
	tcase_add_test(tc, t_privdrop_refuses_root);
	tcase_add_test(tc, t_caps_master);
	tcase_add_test(tc, t_caps_describe);
	return tc;
}

TCase *
sandbox_privdrop_sandbox_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("privdrop_sandbox");
	tcase_set_tags(tc, "root seccomp");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, t_privdrop_then_sandbox);
	return tc;
}
