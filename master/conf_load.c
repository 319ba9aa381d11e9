/*
 * Reading a configuration file into what a generation runs with: the
 * parsed config, its text (JSON) for the children's memfd, the users'
 * ids and the worker count.  At start-up a failure exits 1; at a reload
 * it refuses the reload and the running generation keeps serving.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../policy/services.h"
#include "master.h"
#include "scripts.h"

static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SL_MAX_CONF_BYTES) {
		snprintf(err, errlen, "not a regular file of at most %u bytes",
		    SL_MAX_CONF_BYTES);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return NULL;
}

/*
 * JSON, or tcprouter's router.toml when the name ends in ".toml".  The
 * TOML becomes sluice's JSON, and from then on conf_text holds that JSON
 * (malloc'd, kept for the master's life like read_file()'s text): it is
 * what the children get in their memfd.
 */
static int
conf_load_parse(const char *path, struct conf_load *cl, char *err,
    size_t errlen)
{
	size_t	 n = strlen(path);
	char	*json;

	if (n < 5 || strcasecmp(path + n - 5, ".toml") != 0)
		return conf_parse(cl->text, cl->len, &cl->conf, err, errlen);
	if (conf_parse_toml(cl->text, cl->len, &cl->conf, &json, err,
	    errlen) == -1)
		return -1;
	explicit_bzero(cl->text, cl->len);	/* Redis password */
	free(cl->text);
	cl->text = json;
	cl->len = strlen(json);
	return 0;
}

/*
 * The uid and gid of a configured user (key names it), never root's;
 * -1 with the problem: the default users come from the install step.
 */
static int
conf_load_user(const char *key, const char *name, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd	*pw;

	if ((pw = getpwnam(name)) == NULL) {
		if (strcmp(name, "_sluice") == 0 ||
		    strcmp(name, "_sluice-resolver") == 0 ||
		    strcmp(name, "_sluice-registry") == 0)
			snprintf(err, errlen, "%s: unknown user \"%s\" (the "
			    "install step, contrib/deps.sh, creates it: "
			    "useradd --system --no-create-home --shell "
			    "/usr/sbin/nologin %s)", key, name, name);
		else
			snprintf(err, errlen, "%s: unknown user \"%s\"", key,
			    name);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "%s: \"%s\" has uid or gid 0; children "
		    "must not run as root", key, name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * The registry (only with a "dbbackend") parses what Redis sends: a uid
 * of its own, so that a registry taken over by a hostile Redis can
 * signal, ptrace or read /proc of no worker and not the resolver.
 */
static int
conf_load_registry(struct conf_load *cl, char *err, size_t errlen)
{
	if (!cl->conf->dbbackend.enabled)
		return 0;
	if (conf_load_user("registry_user", cl->conf->registry_user,
	    &cl->registry_uid, &cl->registry_gid, err, errlen) == -1)
		return -1;
	if (cl->registry_uid == cl->uid || cl->registry_uid ==
	    cl->resolver_uid) {
		snprintf(err, errlen, "registry_user: \"%s\" has the uid of "
		    "%s; the registry needs a uid of its own",
		    cl->conf->registry_user, cl->registry_uid == cl->uid ?
		    "user" : "resolver_user");
		return -1;
	}
	return 0;
}

int
master_config_load(const char *path, struct conf_load *cl, char *err,
    size_t errlen)
{
	long	n;

	memset(cl, 0, sizeof(*cl));
	if ((cl->text = read_file(path, &cl->len, err, errlen)) == NULL)
		return -1;
	if (conf_load_parse(path, cl, err, errlen) == -1 ||
	    scripts_check(cl->conf, err, errlen) == -1 ||
	    conf_load_user("user", cl->conf->user, &cl->uid, &cl->gid, err,
	    errlen) == -1 ||
	    conf_load_user("resolver_user", cl->conf->resolver_user,
	    &cl->resolver_uid, &cl->resolver_gid, err, errlen) == -1)
		goto fail;
	/*
	 * One uid for both would let a worker that got code execution
	 * signal, ptrace or read /proc of the resolver that answers every
	 * worker's lookups.
	 */
	if (cl->resolver_uid == cl->uid) {
		snprintf(err, errlen, "resolver_user: \"%s\" has the uid of "
		    "user \"%s\" (%u); the resolver needs a uid of its own",
		    cl->conf->resolver_user, cl->conf->user,
		    (unsigned)cl->uid);
		goto fail;
	}
	if (conf_load_registry(cl, err, errlen) == -1)
		goto fail;
	cl->nworkers = cl->conf->workers;
	if (cl->nworkers == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		cl->nworkers = n < 1 ? 1 : n > SL_MAX_WORKERS ? SL_MAX_WORKERS :
		    (uint32_t)n;
	}
	/* The master routes nothing: the workers parse their own table. */
	services_free(cl->conf->services);
	cl->conf->services = NULL;
	return 0;
fail:
	master_config_unload(cl);
	return -1;
}

void
master_config_unload(struct conf_load *cl)
{
	if (cl->conf != NULL)
		conf_free(cl->conf);
	if (cl->text != NULL) {
		explicit_bzero(cl->text, cl->len);
		free(cl->text);
	}
	memset(cl, 0, sizeof(*cl));
}
