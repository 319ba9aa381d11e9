/*
 * tcprouter's router.toml, loaded unchanged:
 *
 *   [server]
 *   addr = "0.0.0.0"		# listening address of both entry points
 *   port = 443			# TLS, routed by SNI
 *   httpport = 80		# plain HTTP, routed by Host
 *   [server.dbbackend]		# services kept in Redis
 *   type = "redis"
 *   addr = "127.0.0.1"
 *   port = 6379
 *   refresh = 10
 *   [server.services."mydomain.com"]
 *   addr = "172.217.19.46"
 *   tlsport = 443
 *   httpport = 80
 *
 * and the reverse tunnels: "clientsport" is a "tunnel" listener on addr
 * for trc agents, and a service with a "clientsecret" is reached through
 * the agent named after it (config_service.c).
 *
 * toml_json.cc turns the TOML into generic JSON; this file maps that
 * onto sluice's own JSON (an "sni" and a "host" listener, "services",
 * "dbbackend") and hands it to conf_parse(), so there is one validator.
 * Only tcprouter's keys are accepted, each checked here for where it
 * may appear: a typo must not silently change routing.  Values are
 * checked by conf_parse(), whose JSON paths are rewritten back into
 * TOML paths ("services.a.b.tlsport" -> server.services."a.b".tlsport).
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "toml_json.h"

#define TR_KEY_MAX	64	/* key bytes shown in a message */

struct tr {
	char	*err;
	size_t	 errlen;
};

static int
tr_fail(struct tr *t, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
tr_fail(struct tr *t, const char *path, const char *fmt, ...)
{
	char	problem[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (t->err != NULL && t->errlen > 0)
		snprintf(t->err, t->errlen, "%s: %s", path, problem);
	return -1;
}

/*
 * A key as TOML writes it: bare when it can be, else quoted.  Printable
 * ASCII only, bounded, like the JSON loader's paths.
 */
static void
toml_key(const char *key, char *buf, size_t len)
{
	size_t	i, o = 0;
	int	bare = key[0] != '\0';

	for (i = 0; key[i] != '\0'; i++)
		if (!(key[i] == '-' || key[i] == '_' ||
		    (key[i] >= '0' && key[i] <= '9') ||
		    (key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= 'A' && key[i] <= 'Z')))
			bare = 0;
	if (!bare)
		buf[o++] = '"';
	for (i = 0; key[i] != '\0' && o + 8 < len; i++) {
		if (i == TR_KEY_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (key[i] == '"' || key[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
	}
	if (!bare)
		buf[o++] = '"';
	buf[o] = '\0';
}

/* "server.services" + key -> "server.services.\"a.b\"" */
static const char *
toml_path(const char *parent, const char *key, char *buf, size_t len)
{
	char	k[TR_KEY_MAX * 2 + 16];
	int	n;

	toml_key(key, k, sizeof(k));
	n = snprintf(buf, len, "%s%s%s", parent, parent[0] != '\0' ? "." :
	    "", k);
	if (n < 0 || (size_t)n >= len)	/* never with our buffers */
		snprintf(buf, len, "%s", parent);
	return buf;
}

static const char *
toml_type(const cJSON *it)
{
	if (cJSON_IsBool(it))
		return "a boolean";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsArray(it))
		return "an array";
	return "a table";
}

static int
tr_table(struct tr *t, const char *path, const cJSON *it)
{
	if (cJSON_IsObject(it))
		return 0;
	return tr_fail(t, path, "expected a table, got %s", toml_type(it));
}

/* An integer port, 1-65535; absent: def. */
static int
tr_port(struct tr *t, const char *path, const cJSON *it, int def, int *out)
{
	double	d;

	*out = def;
	if (it == NULL)
		return 0;
	if (!cJSON_IsNumber(it))
		return tr_fail(t, path, "expected an integer, got %s",
		    toml_type(it));
	d = it->valuedouble;
	if (d != floor(d) || d < 1 || d > 65535)
		return tr_fail(t, path, "%.15g is not a port (1-65535)", d);
	*out = (int)d;
	return 0;
}

/* User text in a message: printable ASCII, at most 64 bytes. */
static const char *
tr_printable(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i < len - 4; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0')
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

/* An IP literal: the master binds before any resolver exists. */
static int
tr_addr(struct tr *t, const cJSON *it, char *buf, size_t len)
{
	unsigned char	a[16];
	char		q[68];

	snprintf(buf, len, "%s", "0.0.0.0");
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it))
		return tr_fail(t, "server.addr", "expected a string, got %s",
		    toml_type(it));
	/* Go listens on every address for "" (":443"). */
	if (it->valuestring[0] == '\0')
		return 0;
	if (strchr(it->valuestring, ':') != NULL ?
	    inet_pton(AF_INET6, it->valuestring, a) != 1 :
	    inet_pton(AF_INET, it->valuestring, a) != 1)
		return tr_fail(t, "server.addr", "\"%s\" is not an IP "
		    "address", tr_printable(it->valuestring, q, sizeof(q)));
	snprintf(buf, len, strchr(it->valuestring, ':') != NULL ? "[%s]" :
	    "%s", it->valuestring);
	return 0;
}

static int
tr_listener(cJSON *arr, const char *name, const char *kind,
    const char *addr, int port)
{
	cJSON	*l;
	char	 listen[128];

	snprintf(listen, sizeof(listen), "%s:%d", addr, port);
	if ((l = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(arr, l);
	if (cJSON_AddStringToObject(l, "name", name) == NULL ||
	    cJSON_AddStringToObject(l, "kind", kind) == NULL ||
	    cJSON_AddStringToObject(l, "listen", listen) == NULL)
		return -1;
	return 0;
}

/* [server]'s addr, port, httpport: the "tls" and "http" listeners. */
static int
tr_listeners(struct tr *t, const cJSON *server, cJSON *out)
{
	const cJSON	*cp;
	cJSON		*arr;
	char		 addr[64];
	int		 port, httpport, clientsport;

	if (tr_addr(t, cJSON_GetObjectItemCaseSensitive(server, "addr"),
	    addr, sizeof(addr)) == -1 ||
	    tr_port(t, "server.port",
	    cJSON_GetObjectItemCaseSensitive(server, "port"), 443,
	    &port) == -1 ||
	    tr_port(t, "server.httpport",
	    cJSON_GetObjectItemCaseSensitive(server, "httpport"), 80,
	    &httpport) == -1)
		return -1;
	if ((arr = cJSON_AddArrayToObject(out, "listeners")) == NULL ||
	    tr_listener(arr, "tls", "sni", addr, port) == -1 ||
	    tr_listener(arr, "http", "host", addr, httpport) == -1)
		return tr_fail(t, "router.toml", "out of memory");
	/* The trc agents' port: a tunnel listener, listeners[2]. */
	cp = cJSON_GetObjectItemCaseSensitive(server, "clientsport");
	if (cp == NULL)
		return 0;
	if (tr_port(t, "server.clientsport", cp, 0, &clientsport) == -1)
		return -1;
	if (tr_listener(arr, "clients", "tunnel", addr, clientsport) == -1)
		return tr_fail(t, "router.toml", "out of memory");
	return 0;
}

/*
 * Copies the members of table `in` named in keys[] to `out`; any other
 * member is an error at parent.KEY.
 */
static int
tr_copy(struct tr *t, const char *parent, const cJSON *in, cJSON *out,
    const char *const *keys, const char *const *unsupported)
{
	const cJSON	*it;
	cJSON		*dup;
	char		 path[256];
	size_t		 i;

	cJSON_ArrayForEach(it, in) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(it->string, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			toml_path(parent, it->string, path, sizeof(path));
			for (i = 0; unsupported[i] != NULL; i++)
				if (strcmp(it->string, unsupported[i]) == 0)
					return tr_fail(t, path,
					    "not supported yet");
			return tr_fail(t, path, "unknown key");
		}
		if ((dup = cJSON_Duplicate(it, 1)) == NULL ||
		    !cJSON_AddItemToObject(out, it->string, dup)) {
			cJSON_Delete(dup);
			return tr_fail(t, "router.toml", "out of memory");
		}
	}
	return 0;
}

static int
tr_dbbackend(struct tr *t, const cJSON *in, cJSON *out)
{
	static const char *const keys[] = {
		"type", "addr", "port", "password", "refresh", NULL
	};
	/* tcprouter's, for etcd and Redis ACLs; its README omits them. */
	static const char *const unsupported[] = { "username", "token", NULL };
	cJSON	*db;

	if (tr_table(t, "server.dbbackend", in) == -1)
		return -1;
	if ((db = cJSON_AddObjectToObject(out, "dbbackend")) == NULL)
		return tr_fail(t, "router.toml", "out of memory");
	return tr_copy(t, "server.dbbackend", in, db, keys, unsupported);
}

/* [server.services."NAME"] tables: the static services. */
static int
tr_services(struct tr *t, const cJSON *in, cJSON *out)
{
	static const char *const keys[] = {
		"addr", "tlsport", "httpport", "clientsecret", NULL
	};
	static const char *const none[] = { NULL };
	const cJSON	*svc;
	cJSON		*all = NULL, *one;
	char		 path[256];

	if (tr_table(t, "server.services", in) == -1)
		return -1;
	cJSON_ArrayForEach(svc, in) {
		toml_path("server.services", svc->string, path, sizeof(path));
		if (tr_table(t, path, svc) == -1)
			return -1;
		/* No "services" at all for an empty [server.services]. */
		if ((all == NULL &&
		    (all = cJSON_AddObjectToObject(out, "services")) == NULL) ||
		    (one = cJSON_AddObjectToObject(all, svc->string)) == NULL)
			return tr_fail(t, "router.toml", "out of memory");
		if (tr_copy(t, path, svc, one, keys, none) == -1)
			return -1;
	}
	return 0;
}

static int
tr_server(struct tr *t, const cJSON *server, cJSON *out)
{
	static const char *const keys[] = {
		"addr", "port", "httpport", "dbbackend", "services",
		"clientsport", NULL
	};
	const cJSON	*it;
	char		 path[256];
	size_t		 i;

	if (server != NULL && tr_table(t, "server", server) == -1)
		return -1;
	cJSON_ArrayForEach(it, server) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(it->string, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return tr_fail(t, toml_path("server", it->string, path,
			    sizeof(path)), "unknown key");
	}
	if (tr_listeners(t, server, out) == -1)
		return -1;
	if ((it = cJSON_GetObjectItemCaseSensitive(server, "dbbackend")) !=
	    NULL && tr_dbbackend(t, it, out) == -1)
		return -1;
	if ((it = cJSON_GetObjectItemCaseSensitive(server, "services")) !=
	    NULL && tr_services(t, it, out) == -1)
		return -1;
	return 0;
}

/* The generic JSON of a router.toml to sluice's JSON document. */
static cJSON *
tr_document(struct tr *t, const cJSON *in)
{
	const cJSON	*it;
	cJSON		*out;
	char		 path[256];

	cJSON_ArrayForEach(it, in)
		if (strcmp(it->string, "server") != 0) {
			tr_fail(t, toml_path("", it->string, path,
			    sizeof(path)), "unknown key (router.toml has "
			    "only [server])");
			return NULL;
		}
	if ((out = cJSON_CreateObject()) == NULL) {
		tr_fail(t, "router.toml", "out of memory");
		return NULL;
	}
	if (tr_server(t, cJSON_GetObjectItemCaseSensitive(in, "server"),
	    out) == -1) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* Where a problem of "listeners[I]..." is in [server]. */
static const char *
tr_listener_key(const char *err)
{
	static const char *const keys[] = {
		".port", ".httpport", ".clientsport"
	};
	const char	*p = err + 10;		/* after "listeners[" */

	if (p[0] < '0' || p[0] > '2' || p[1] != ']')
		return "";
	/* The tunnel listener's agents are the services' clientsecrets. */
	if (p[0] == '2' || p[2] == ':' || strncmp(p + 2, ".listen:", 8) == 0)
		return keys[p[0] - '0'];
	return "";
}

/*
 * The JSON loader's path of a problem back in router.toml's terms, in
 * place.  Service names hold dots, so "services.a.b.tlsport" is split by
 * the names the document has.
 */
static void
tr_rewrite(char *err, size_t errlen, const cJSON *doc)
{
	const cJSON	*svc, *best = NULL;
	const char	*rest;
	char		 buf[1024], key[TR_KEY_MAX * 2 + 16];
	size_t		 n;

	/* Our listeners: 0 is port, 1 httpport, the rest is [server]. */
	if (strncmp(err, "listeners[", 10) == 0 &&
	    (rest = strstr(err, ": ")) != NULL)
		snprintf(buf, sizeof(buf), "server%s%s",
		    tr_listener_key(err), rest);
	else if (strncmp(err, "dbbackend", 9) == 0 &&
	    (err[9] == '.' || err[9] == ':'))
		snprintf(buf, sizeof(buf), "server.%s", err);
	else if (strncmp(err, "services.", 9) == 0) {
		cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(doc,
		    "services")) {
			n = strlen(svc->string);
			if (strncmp(err + 9, svc->string, n) == 0 &&
			    strchr(".:[", err[9 + n]) != NULL &&
			    err[9 + n] != '\0' && (best == NULL ||
			    n > strlen(best->string)))
				best = svc;
		}
		if (best == NULL)
			snprintf(buf, sizeof(buf), "server.%s", err);
		else {
			toml_key(best->string, key, sizeof(key));
			snprintf(buf, sizeof(buf), "server.services.%s%s",
			    key, err + 9 + strlen(best->string));
		}
	} else if (strncmp(err, "services:", 9) == 0)
		snprintf(buf, sizeof(buf), "server.%s", err);
	else
		return;
	snprintf(err, errlen, "%s", buf);
}

/* TOML text to sluice's JSON text; NULL with err set. */
static char *
tr_json(const char *text, size_t len, char *err, size_t errlen,
    cJSON **docp)
{
	struct tr	 t = { err, errlen };
	cJSON		*in, *doc;
	char		*gen, *json;

	*docp = NULL;
	if ((gen = toml_to_json(text, len, err, errlen)) == NULL)
		return NULL;
	in = cJSON_Parse(gen);
	/* It may hold the Redis password. */
	explicit_bzero(gen, strlen(gen));
	free(gen);
	if (in == NULL) {
		tr_fail(&t, "router.toml", "cannot convert to JSON (out of "
		    "memory?)");
		return NULL;
	}
	doc = tr_document(&t, in);
	cJSON_Delete(in);
	if (doc == NULL)
		return NULL;
	if ((json = cJSON_PrintUnformatted(doc)) == NULL) {
		cJSON_Delete(doc);
		tr_fail(&t, "router.toml", "out of memory");
		return NULL;
	}
	*docp = doc;
	return json;
}

int
conf_parse_toml(const char *text, size_t len, struct sl_conf **out,
    char **json, char *err, size_t errlen)
{
	struct tr	 t = { err, errlen };
	cJSON		*doc;
	char		*j;

	*out = NULL;
	*json = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > SL_MAX_CONF_BYTES)
		return tr_fail(&t, "router.toml", "larger than %u bytes",
		    SL_MAX_CONF_BYTES);
	if ((j = tr_json(text, len, err, errlen, &doc)) == NULL)
		return -1;
	if (conf_parse(j, strlen(j), out, err, errlen) == -1) {
		if (err != NULL && errlen > 0)
			tr_rewrite(err, errlen, doc);
		cJSON_Delete(doc);
		explicit_bzero(j, strlen(j));
		free(j);
		return -1;
	}
	cJSON_Delete(doc);
	*json = j;
	return 0;
}
