/*
 * Dropping privileges for good, and checking that it happened.
 *
 * A child is exec'd as root by the master and keeps root only long enough
 * to chroot into an empty directory and change ids.  Every step is
 * checked and every failure is fatal: a child never runs half-confined.
 * Debug builds change the seccomp action, never this.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "sandbox.h"

static int	privdir_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	privdir_check(int, const char *, char *, size_t);
static int	privdir_empty(int, const char *, char *, size_t);
static int	privdir_parent_ok(int, const char *, char *, size_t);
static void	privdrop_ids(uid_t, gid_t);
static void	privdrop_verify(uid_t, gid_t);
static void	privdrop_limits(void);
static void	caps_clear(void);

static int
privdir_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * The checks on the open directory (fstat of the fd, so what is checked
 * is what was opened, not a name that could change in between).
 */
static int
privdir_check(int fd, const char *dir, char *err, size_t errlen)
{
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return privdir_fail(err, errlen, "%s: %s", dir,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return privdir_fail(err, errlen, "%s: not a directory", dir);
	/* Children chroot here: nobody but root may plant files in it. */
	if (st.st_uid != 0)
		return privdir_fail(err, errlen, "%s: owner uid %u, not root",
		    dir, (unsigned)st.st_uid);
	if ((st.st_mode & 022) != 0)
		return privdir_fail(err, errlen,
		    "%s: mode %04o is group or world writable", dir,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Empty means only "." and "..".  Takes over fd. */
static int
privdir_empty(int fd, const char *dir, char *err, size_t errlen)
{
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return privdir_fail(err, errlen, "%s: %s", dir,
		    strerror(errno));
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			rc = privdir_fail(err, errlen, "%s: not empty", dir);
			break;
		}
	}
	if (de == NULL && errno != 0)
		rc = privdir_fail(err, errlen, "%s: readdir: %s", dir,
		    strerror(errno));
	closedir(d);
	return rc;
}

/*
 * One directory above the chroot directory.  Only root may own it, and
 * nobody else may write to it: whoever can rename an entry in it can
 * swap the chroot directory for one of their own between this check and
 * a child's chroot().  A sticky directory (/tmp) is the exception: in it
 * only an entry's owner may rename or remove the entry, and the entry
 * below is itself checked to be root's.
 */
static int
privdir_parent_ok(int fd, const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return privdir_fail(err, errlen, "%s: %s", path,
		    strerror(errno));
	if (st.st_uid != 0)
		return privdir_fail(err, errlen, "%s: owner uid %u, not root "
		    "(a parent of the chroot directory)", path,
		    (unsigned)st.st_uid);
	if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)
		return privdir_fail(err, errlen, "%s: mode %04o is group or "
		    "world writable (a parent of the chroot directory)", path,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * Every directory from "/" down to dir's parent, opened one component
 * at a time below the last (O_NOFOLLOW), so what is checked is what the
 * path leads to.  A symbolic link on the way is refused rather than
 * followed: its target's parents would need the same checks.
 */
int
privdir_parents(const char *dir, char *err, size_t errlen)
{
	char	 path[PATH_MAX], *p, *slash;
	int	 fd, next;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path))
		return privdir_fail(err, errlen, "%s: path too long", dir);
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return privdir_fail(err, errlen, "/: %s", strerror(errno));
	if (privdir_parent_ok(fd, "/", err, errlen) == -1)
		goto fail;
	for (p = path + 1; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		*slash = '\0';		/* path is now this parent's name */
		if (*p == '\0' || strcmp(p, ".") == 0) {
			*slash = '/';
			continue;
		}
		if (strcmp(p, "..") == 0) {
			privdir_fail(err, errlen, "%s: \"..\" in the chroot "
			    "path", dir);
			goto fail;
		}
		next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (next == -1 && errno == ENOENT) {
			/* mkdir below fails and says so. */
			close(fd);
			return 0;
		}
		if (next == -1) {
			privdir_fail(err, errlen, "%s: %s", path,
			    errno == ELOOP ? "is a symbolic link (give the "
			    "real path)" : strerror(errno));
			goto fail;
		}
		close(fd);
		fd = next;
		if (privdir_parent_ok(fd, path, err, errlen) == -1)
			goto fail;
		*slash = '/';
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * Master, at start-up.  The parent directory must exist and, like every
 * directory above it, be safe (privdir_parents()); only the last
 * component is created, and only when it is missing (ENOENT).
 */
int
privdir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, created = 0;

	if (dir == NULL || *dir != '/')
		return privdir_fail(err, errlen, "%s: not an absolute path",
		    dir == NULL ? "(null)" : dir);
	if (privdir_parents(dir, err, errlen) == -1)
		return -1;
	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT)
			return privdir_fail(err, errlen, "%s: %s", dir,
			    strerror(errno));
		/* EEXIST: another instance made it first; check it below. */
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return privdir_fail(err, errlen, "mkdir %s: %s", dir,
			    strerror(errno));
		created = errno != EEXIST;
	} else if (S_ISLNK(st.st_mode))
		return privdir_fail(err, errlen, "%s: is a symbolic link", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOTDIR)
			return privdir_fail(err, errlen, "%s: not a directory",
			    dir);
		return privdir_fail(err, errlen, "%s: %s", dir,
		    strerror(errno));
	}
	/* The umask may have taken bits away; give exactly 0755. */
	if (created && fchmod(fd, 0755) == -1) {
		close(fd);
		return privdir_fail(err, errlen, "chmod %s: %s", dir,
		    strerror(errno));
	}
	if (privdir_check(fd, dir, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return privdir_empty(fd, dir, err, errlen);
}

static void
privdrop_ids(uid_t uid, gid_t gid)
{
	/* Groups first: after setresuid we could no longer change them. */
	if (setgroups(1, &gid) == -1)
		fatal("%s: setgroups %u", __func__, (unsigned)gid);
	if (setresgid(gid, gid, gid) == -1)
		fatal("%s: setresgid %u", __func__, (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("%s: setresuid %u", __func__, (unsigned)uid);
}

/* OpenSSH's paranoia: check the result, then try to undo it. */
static void
privdrop_verify(uid_t uid, gid_t gid)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg, groups[2];
	int	ng;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("%s: getresuid/getresgid", __func__);
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid)
		fatalx("%s: ids not dropped: uid %u/%u/%u gid %u/%u/%u",
		    __func__, (unsigned)ru, (unsigned)eu, (unsigned)su,
		    (unsigned)rg, (unsigned)eg, (unsigned)sg);
	ng = getgroups(2, groups);
	if (ng != 1 || groups[0] != gid)
		fatalx("%s: supplementary groups not dropped", __func__);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("%s: was able to regain root uid", __func__);
	if (setgid(0) != -1 || setegid(0) != -1)
		fatalx("%s: was able to regain root gid", __func__);
}

/*
 * No processes (children never fork; the limit is per uid, which the
 * children share, so 0 only stops new ones) and no file growth (a child
 * writes to sockets only).  Lowering needs no privilege.
 */
static void
privdrop_limits(void)
{
	struct rlimit	rl = { 0, 0 };

	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("%s: RLIMIT_NPROC", __func__);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		fatal("%s: RLIMIT_FSIZE", __func__);
}

/*
 * setresuid() away from 0 clears the permitted, effective and ambient
 * sets but leaves the inheritable one: clear everything explicitly, then
 * caps_assert_empty() checks the outcome.  Dropping needs no privilege.
 */
static void
caps_clear(void)
{
	cap_t	caps;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("%s: PR_CAP_AMBIENT_CLEAR_ALL", __func__);
	if ((caps = cap_init()) == NULL)
		fatal("%s: cap_init", __func__);
	if (cap_set_proc(caps) == -1)
		fatal("%s: cap_set_proc", __func__);
	cap_free(caps);
}

void
caps_assert_empty(void)
{
	cap_t		cur, none;
	cap_value_t	c;
	int		rc, amb;

	if ((cur = cap_get_proc()) == NULL)
		fatal("%s: cap_get_proc", __func__);
	if ((none = cap_init()) == NULL)
		fatal("%s: cap_init", __func__);
	rc = cap_compare(cur, none);
	cap_free(none);
	cap_free(cur);
	if (rc != 0)
		fatalx("%s: capabilities left after the drop", __func__);
	for (c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		amb = cap_get_ambient(c);
		if (amb > 0)
			fatalx("%s: ambient capability %d left", __func__, c);
	}
}

/*
 * Child, before it reads a byte from outside.  Order matters: chroot
 * needs CAP_SYS_CHROOT, setgroups/setresgid need CAP_SETGID, and both
 * are gone once setresuid has run.
 */
void
privdrop(uid_t uid, gid_t gid, const char *root)
{
	if (uid == 0 || gid == 0)
		fatalx("%s: refusing to run children as root", __func__);
	if (root == NULL || *root != '/')
		fatalx("%s: chroot directory must be an absolute path",
		    __func__);
	sandbox_sanitizer_warmup();	/* needs /proc: before chroot */
	if (chroot(root) == -1)
		fatal("%s: chroot %s", __func__, root);
	if (chdir("/") == -1)
		fatal("%s: chdir /", __func__);
	privdrop_ids(uid, gid);
	privdrop_verify(uid, gid);
	caps_clear();
	caps_assert_empty();
	privdrop_limits();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);
}
