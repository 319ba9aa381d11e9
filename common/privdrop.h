/*
 * Dropping privileges for good, and checking that it happened.
 */
#ifndef SL_PRIVDROP_H
#define SL_PRIVDROP_H

#include <sys/types.h>
#include <stddef.h>

/* privdrop.c */

/*
 * Master, at start-up: check that every directory above dir is owned by
 * root and not writable by group or others (sticky excepted), with no
 * symbolic link on the way; make sure dir exists (created 0755 root:root if
 * missing), is a directory owned by root, not writable by group or others,
 * and empty.  Returns 0, or -1 with the problem in err.
 */
int	privdir_prepare(const char *dir, char *err, size_t errlen);

/*
 * The first part of privdir_prepare() alone, which changes nothing:
 * every directory above dir (which must be absolute) is owned by root and
 * not writable by group or others unless sticky, with no symbolic link
 * on the way.  A missing one ends the walk with 0 (mkdir says the rest).
 * Returns 0, or -1 with the offending path in err.
 */
int	privdir_parents(const char *dir, char *err, size_t errlen);

/*
 * Child, before it reads a byte from outside: chroot(root) and chdir("/"),
 * setgroups to gid alone, setresgid, setresuid, then verify: all ids equal
 * the targets, root cannot be regained, the capability sets are empty.
 * Sets RLIMIT_NPROC and RLIMIT_FSIZE to 0 and PR_SET_NO_NEW_PRIVS.  Any
 * failure is fatal: a child never runs half-confined.
 */
void	privdrop(uid_t uid, gid_t gid, const char *root);

/* fatalx unless the permitted, effective and inheritable sets are empty. */
void	caps_assert_empty(void);

#endif
