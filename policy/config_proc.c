/*
 * Who the confined children run as and where: "user" (the workers and
 * the registry), "resolver_user" (a uid of its own) and "chroot".  The
 * names are only checked for form here; the master looks them up
 * (getpwnam) and checks the directory, at start-up and for -t.
 */
#include <string.h>

#include "config_priv.h"

/* A system user name into out[size]; getpwnam() is the master's job. */
static int
get_user(struct ctx *c, const cJSON *it, char *out, size_t size)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, size - 1, &s) == -1)
		return -1;
	if (!valid_word(s))
		return fail(c, "%s is not a user name", quote(s, q, sizeof(q)));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
r_user(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_user(c, it, conf->user, sizeof(conf->user));
}

int
r_resolver_user(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_user(c, it, conf->resolver_user,
	    sizeof(conf->resolver_user));
}

int
r_chroot(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, sizeof(conf->chroot) - 1, &s) == -1)
		return -1;
	if (s[0] != '/')
		return fail(c, "%s is not an absolute path",
		    quote(s, q, sizeof(q)));
	memcpy(conf->chroot, s, strlen(s) + 1);
	return 0;
}
