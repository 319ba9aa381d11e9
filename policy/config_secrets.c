/*
 * The tunnel secrets in the config's text, before and after parsing.
 *
 * conf_tunnel_inline_secrets() is the one place in policy/ that reads
 * files: the master calls it before conf_parse(), so every "secret_file"
 * becomes a "secret" and the text it hands on is complete (a reload
 * reads the files again).  conf_tunnel_redact() gives the text the
 * processes that must not hold the secrets get: every agent secret and
 * service "clientsecret" replaced by SL_AGENT_REDACTED, which
 * conf_parse() refuses unless conf_parse_redacted is set, so a redacted
 * text can never be taken for the real one.
 *
 * The secrets live in: the root "agent", each tunnel listener's
 * "agents" entries, each service's "clientsecret"; and the same inside
 * every entry of "tenants".  Anything that is not where it should be
 * (not an object, a path that is not a string) is left for conf_parse()
 * to report, with one exception: "secret" and "secret_file" together.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"

int	conf_parse_redacted;

struct walk {
	int	 inline_files;		/* else redact */
	int	 changed;
	char	*err;
	size_t	 errlen;
};

static int
walk_fail(struct walk *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
walk_fail(struct walk *w, const char *path, const char *fmt, ...)
{
	char	problem[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (w->err != NULL && w->errlen > 0)
		snprintf(w->err, w->errlen, "%s: %s", path, problem);
	return -1;
}

/* A path in messages: printable, bounded. */
static void
printable(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 4 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0')
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
}

/*
 * The whole file at path into buf, size + 1 bytes (at most
 * SL_AGENT_SECRET_MAX once one trailing "\n" or "\r\n" is dropped);
 * its length, or -1.
 */
static ssize_t
read_secret(struct walk *w, const char *where, const char *path, char *buf,
    size_t size)
{
	struct stat	st;
	char		p[256];
	ssize_t		n;
	size_t		len = 0;
	int		fd, saved;

	printable(path, p, sizeof(p));
	if (path[0] != '/')
		return walk_fail(w, where, "%s is not an absolute path", p);
	/* Not a FIFO or a device: the master must not block on a read. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return walk_fail(w, where, "cannot read %s: %s", p,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return walk_fail(w, where, "%s is not a regular file", p);
	}
	while (len < size && (n = read(fd, buf + len, size - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			return walk_fail(w, where, "cannot read %s: %s", p,
			    strerror(saved));
		}
		len += (size_t)n;
	}
	close(fd);
	if (len < size && len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > SL_AGENT_SECRET_MAX)
		return walk_fail(w, where, "%s is longer than %d bytes", p,
		    SL_AGENT_SECRET_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return walk_fail(w, where, "%s holds a NUL byte", p);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* obj's "secret_file" (if any) becomes "secret". */
static int
inline_one(struct walk *w, cJSON *obj, const char *path)
{
	char	 where[600], buf[SL_AGENT_SECRET_MAX + 4];
	cJSON	*f, *s;
	int	 rc = 0;

	if ((f = cJSON_GetObjectItemCaseSensitive(obj, "secret_file")) == NULL)
		return 0;
	snprintf(where, sizeof(where), "%s%ssecret_file", path,
	    path[0] != '\0' ? "." : "");
	if (cJSON_GetObjectItemCaseSensitive(obj, "secret") != NULL)
		return walk_fail(w, where, "cannot be combined with secret");
	if (!cJSON_IsString(f))
		return walk_fail(w, where, "expected a string (a file's path)");
	/* MAX + "\r\n" + one byte: a file that fills it is too long. */
	if (read_secret(w, where, f->valuestring, buf, sizeof(buf) - 1) == -1)
		return -1;
	if ((s = cJSON_CreateString(buf)) == NULL)
		rc = walk_fail(w, where, "out of memory");
	else if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, "secret_file",
	    s)) {
		cJSON_Delete(s);
		rc = walk_fail(w, where, "out of memory");
	} else {
		/* The replacement keeps the key; rename it. */
		free(s->string);
		if ((s->string = strdup("secret")) == NULL)
			rc = walk_fail(w, where, "out of memory");
		w->changed = 1;
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* obj's `key`, a string, becomes SL_AGENT_REDACTED. */
static int
redact_one(struct walk *w, cJSON *obj, const char *key)
{
	cJSON	*s, *r;

	s = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(s))
		return 0;
	explicit_bzero(s->valuestring, strlen(s->valuestring));
	if ((r = cJSON_CreateString(SL_AGENT_REDACTED)) == NULL)
		return -1;
	if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, r)) {
		cJSON_Delete(r);
		return -1;
	}
	w->changed = 1;
	return 0;
}

static int
cred(struct walk *w, cJSON *obj, const char *path, const char *key)
{
	if (!cJSON_IsObject(obj))
		return 0;
	if (w->inline_files)
		return inline_one(w, obj, path);
	return redact_one(w, obj, key);
}

/* One document: the root, or a tenant (path "tenants[i]"). */
static int
doc(struct walk *w, cJSON *root, const char *base)
{
	cJSON	*l, *a, *svc;
	char	 path[600];
	size_t	 i, j;

	snprintf(path, sizeof(path), "%s%sagent", base, base[0] != '\0' ?
	    "." : "");
	if (cred(w, cJSON_GetObjectItemCaseSensitive(root, "agent"), path,
	    "secret") == -1)
		return -1;
	i = 0;
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root,
	    "listeners")) {
		j = 0;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(l,
		    "agents")) {
			snprintf(path, sizeof(path), "%s%slisteners[%zu]."
			    "agents[%zu]", base, base[0] != '\0' ? "." : "",
			    i, j++);
			if (cred(w, a, path, "secret") == -1)
				return -1;
		}
		i++;
	}
	if (w->inline_files)
		return 0;
	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(root,
	    "services"))
		if (cred(w, svc, "", "clientsecret") == -1)
			return -1;
	return 0;
}

static int
walk_all(struct walk *w, cJSON *root)
{
	cJSON	*t;
	char	 base[32];
	size_t	 i = 0;

	if (!cJSON_IsObject(root))
		return 0;
	if (doc(w, root, "") == -1)
		return -1;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root,
	    "tenants")) {
		snprintf(base, sizeof(base), "tenants[%zu]", i++);
		if (cJSON_IsObject(t) && doc(w, t, base) == -1)
			return -1;
	}
	return 0;
}

static char *
copy_text(const char *text, size_t len)
{
	char	*out;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(out, text, len);
	out[len] = '\0';
	return out;
}

/* The text as the walk left it; *out NULL when memory runs out. */
static int
rewrite(struct walk *w, const char *text, size_t len, char **out,
    size_t *outlen)
{
	cJSON	*root;
	int	 rc;

	*out = NULL;
	*outlen = 0;
	if (len > SL_MAX_CONF_BYTES ||
	    (root = cJSON_ParseWithLength(text, len)) == NULL) {
		/* conf_parse() says what is wrong with it. */
		if (w->inline_files && (*out = copy_text(text, len)) != NULL)
			*outlen = len;
		return w->inline_files && *out != NULL ? 0 : -1;
	}
	rc = walk_all(w, root);
	if (rc == 0 && w->changed)
		*out = cJSON_PrintUnformatted(root);
	else if (rc == 0)
		*out = copy_text(text, len);
	cJSON_Delete(root);
	if (rc == 0 && *out == NULL)
		return walk_fail(w, "config", "out of memory");
	if (rc == 0)
		*outlen = strlen(*out);
	return rc;
}

int
conf_tunnel_inline_secrets(const char *text, size_t len, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct walk	w = { 1, 0, err, errlen };

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return rewrite(&w, text, len, out, outlen);
}

int
conf_tunnel_redact(const char *text, size_t len, char **out,
    size_t *outlen)
{
	struct walk	w = { 0, 0, NULL, 0 };

	return rewrite(&w, text, len, out, outlen);
}
