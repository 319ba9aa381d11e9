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
#include <stdint.h>
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
 * TOML becomes sluice's JSON, and from then on *text holds that JSON: it
 * is what the children get in their memfd.
 */
static int
conf_load_parse(const char *path, char **text, size_t *len,
    struct sl_conf **conf, char *err, size_t errlen)
{
	size_t	 n = strlen(path);
	char	*json;

	if (n < 5 || strcasecmp(path + n - 5, ".toml") != 0) {
		/* secret_file: read now, as root, into the text */
		if (conf_tunnel_inline_secrets(*text, *len, &json, &n, err,
		    errlen) == -1)
			return -1;
		if (json != *text) {
			explicit_bzero(*text, *len);
			free(*text);
			*text = json;
			*len = n;
		}
		return conf_parse(*text, *len, conf, err, errlen);
	}
	if (conf_parse_toml(*text, *len, conf, &json, err, errlen) == -1)
		return -1;
	explicit_bzero(*text, *len);	/* Redis password */
	free(*text);
	*text = json;
	*len = strlen(json);
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
		    strcmp(name, "_sluice-registry") == 0 ||
		    strcmp(name, "_sluice-tunnel") == 0)
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
conf_load_registry(struct gen *g, const char *key, char *err,
    size_t errlen)
{
	if (!g->conf->dbbackend.enabled)
		return 0;
	if (conf_load_user(key, g->conf->registry_user, &g->registry_uid,
	    &g->registry_gid, err, errlen) == -1)
		return -1;
	if (g->registry_uid == g->uid || g->registry_uid == g->resolver_uid) {
		snprintf(err, errlen, "%s: \"%s\" has the uid of %s; the "
		    "registry needs a uid of its own", key,
		    g->conf->registry_user, g->registry_uid == g->uid ?
		    "user" : "resolver_user");
		return -1;
	}
	return 0;
}

/*
 * The tunnel process (only with tunnel listeners or an "agent") holds
 * the agents' secrets, which the workers never get: a uid of its own.
 */
static int
conf_load_tunnel(struct gen *g, char *err, size_t errlen)
{
	if (!conf_has_tunnel(g->conf))
		return 0;
	if (conf_load_user("tunnel_user", g->conf->tunnel_user,
	    &g->tunnel_uid, &g->tunnel_gid, err, errlen) == -1)
		return -1;
	if (g->tunnel_uid == g->uid || g->tunnel_uid == g->resolver_uid ||
	    (g->conf->dbbackend.enabled && g->tunnel_uid == g->registry_uid)) {
		snprintf(err, errlen, "tunnel_user: \"%s\" has the uid of "
		    "another of sluice's users; the tunnel process needs a "
		    "uid of its own", g->conf->tunnel_user);
		return -1;
	}
	return 0;
}

/*
 * A generation's users: the workers' ("user", or "user_id" with no
 * passwd entry), the resolver's and the registry's.  at is "" or
 * "tenants[i]." for the messages.
 */
static int
conf_load_ids(struct gen *g, const char *at, char *err, size_t errlen)
{
	char	key[64];

	if (g->conf->user_id != 0) {
		g->uid = g->gid = g->conf->user_id;
	} else {
		snprintf(key, sizeof(key), "%suser", at);
		if (conf_load_user(key, g->conf->user, &g->uid, &g->gid, err,
		    errlen) == -1)
			return -1;
	}
	if (conf_load_user("resolver_user", g->conf->resolver_user,
	    &g->resolver_uid, &g->resolver_gid, err, errlen) == -1)
		return -1;
	/*
	 * One uid for both would let a worker that got code execution
	 * signal, ptrace or read /proc of the resolver that answers every
	 * worker's lookups.
	 */
	if (g->resolver_uid == g->uid) {
		snprintf(err, errlen, "resolver_user: \"%s\" has the uid of "
		    "%s%s%s%s%s (%u); the resolver needs a uid of its own",
		    g->conf->resolver_user, at, g->conf->user_id != 0 ?
		    "user_id" : "user", g->conf->user_id != 0 ? "" : " \"",
		    g->conf->user_id != 0 ? "" : g->conf->user,
		    g->conf->user_id != 0 ? "" : "\"", (unsigned)g->uid);
		return -1;
	}
	if (conf_load_registry(g, "registry_user", err, errlen) == -1)
		return -1;
	return conf_load_tunnel(g, err, errlen);
}

/* A generation for conf (taken) and its text (copied). */
static struct gen *
conf_load_gen(struct sl_conf *conf, const char *text, size_t len,
    const char *at, char *err, size_t errlen)
{
	struct gen	*g;
	long		 n;

	if ((g = gen_new()) == NULL || (g->conf_text = malloc(len + 1)) ==
	    NULL) {
		free(g);
		conf_free(conf);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->conf = conf;
	memcpy(g->conf_text, text, len);
	g->conf_text[len] = '\0';
	g->conf_len = len;
	if (conf_tunnel_redact(text, len, &g->pub_text, &g->pub_len) == -1) {
		gen_free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(g->tenant, sizeof(g->tenant), "%s", conf->tenant);
	if (scripts_check(conf, err, errlen) == -1 ||
	    conf_load_ids(g, at, err, errlen) == -1) {
		gen_free(g);
		return NULL;
	}
	g->nworkers = conf->workers;
	if (g->nworkers == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		g->nworkers = n < 1 ? 1 : n > SL_MAX_WORKERS ? SL_MAX_WORKERS :
		    (uint32_t)n;
	}
	/* The master routes nothing: the workers parse their own table. */
	services_free(conf->services);
	conf->services = NULL;
	return g;
}

/* pcap taps write through the master's files, which are not per tenant. */
static int
conf_load_no_pcap(struct sl_tap *taps, size_t n, const char *path,
    void *arg)
{
	char	*err = ((char **)arg)[0];
	size_t	 errlen = (size_t)(uintptr_t)((char **)arg)[1], i;

	for (i = 0; i < n; i++)
		if (taps[i].type == SL_TAP_PCAP) {
			snprintf(err, errlen, "%s[%zu]: pcap taps are not "
			    "available inside tenants", path, i);
			return -1;
		}
	return 0;
}

/* Each tenant's generation; their uids distinct from each other's. */
static int
conf_load_tenants(struct conf_load *cl, char *err, size_t errlen)
{
	struct sl_tenant	*t;
	struct sl_conf		*conf;
	char			 at[64], e[512];
	void			*arg[2] = { e, (void *)(uintptr_t)sizeof(e) };
	size_t			 i, j;

	for (i = 0; i < cl->root->ntenants; i++) {
		t = &cl->root->tenants[i];
		snprintf(at, sizeof(at), "tenants[%zu].", i);
		if (conf_each_taps(t->conf, conf_load_no_pcap, arg) != 0) {
			snprintf(err, errlen, "tenants[%zu].%s", i, e);
			return -1;
		}
		conf = t->conf;
		t->conf = NULL;		/* the generation owns it now */
		if ((cl->gens[i] = conf_load_gen(conf, t->text, t->len, at,
		    err, errlen)) == NULL)
			return -1;
		cl->ngens = i + 1;
		for (j = 0; j < i; j++)
			if (cl->gens[j]->uid == cl->gens[i]->uid) {
				snprintf(err, errlen, "tenants[%zu].user: uid "
				    "%u is tenants[%zu]'s; each tenant needs "
				    "a uid of its own", i,
				    (unsigned)cl->gens[i]->uid, j);
				return -1;
			}
	}
	return 0;
}

int
master_config_load(const char *path, struct conf_load *cl, char *err,
    size_t errlen)
{
	struct sl_conf	*conf;
	char		*text = NULL;
	size_t		 len = 0;

	memset(cl, 0, sizeof(*cl));
	if ((text = read_file(path, &len, err, errlen)) == NULL)
		return -1;
	if (conf_load_parse(path, &text, &len, &cl->root, err, errlen) == -1)
		goto fail;
	if (cl->root->ntenants > 0) {
		if (conf_load_tenants(cl, err, errlen) == -1)
			goto fail;
	} else {
		/* The one implicit tenant: the same text, parsed again for
		   its generation (which frees it on its own schedule). */
		if (conf_parse(text, len, &conf, err, errlen) == -1)
			goto fail;
		if ((cl->gens[0] = conf_load_gen(conf, text, len, "", err,
		    errlen)) == NULL)
			goto fail;
		cl->ngens = 1;
	}
	explicit_bzero(text, len);
	free(text);
	return 0;
fail:
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	master_config_unload(cl);
	return -1;
}

void
master_config_unload(struct conf_load *cl)
{
	size_t	i;

	for (i = 0; i < cl->ngens; i++)
		if (cl->gens[i] != NULL)
			gen_free(cl->gens[i]);
	if (cl->root != NULL)
		conf_free(cl->root);
	memset(cl, 0, sizeof(*cl));
}
