/*
 * Who the confined children run as and where: "user" (the workers and
 * the registry), "resolver_user" (a uid of its own) and "chroot".  The
 * names are only checked for form here; the master looks them up
 * (getpwnam) and checks the directory, at start-up and for -t.
 *
 * And how the daemon is operated: "control" (the control socket's
 * path), "control_group", "log_format" and "access_log".
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
r_registry_user(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_user(c, it, conf->registry_user,
	    sizeof(conf->registry_user));
}

/* An absolute path of at most size - 1 bytes into out. */
static int
get_path(struct ctx *c, const cJSON *it, char *out, size_t size)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, size - 1, &s) == -1)
		return -1;
	if (s[0] != '/')
		return fail(c, "%s is not an absolute path",
		    quote(s, q, sizeof(q)));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
r_chroot(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_path(c, it, conf->chroot, sizeof(conf->chroot));
}

/* sun_path holds 108 bytes with the NUL. */
int
r_control(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_path(c, it, conf->control, sizeof(conf->control));
}

int
r_control_group(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_user(c, it, conf->control_group,
	    sizeof(conf->control_group));
}

int
r_log_format(struct ctx *c, const cJSON *it, void *dst)
{
	static const char *const names[] = { "text", "json" };
	struct sl_conf	*conf = dst;
	int		 v;

	if (get_enum(c, it, names, nitems(names), 1, &v) == -1)
		return -1;
	conf->log_json = v == 1;
	return 0;
}

int
r_access_log(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_path(c, it, conf->access_log, sizeof(conf->access_log));
}
