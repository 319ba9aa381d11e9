/*
 * Tenants: "tenants" (one config per tenant), "tenant" (this config's
 * name) and the users tenants run as ("user_id", "uid_base").
 *
 *   "tenants": [ { "name": "shop", "listen": ["127.0.0.1:1080"],
 *                  "balancer": { "links": [ { "name": "out" } ] } } ]
 *
 * The root's keys fall into three classes.  Process-wide keys (the
 * control socket, logging, the resolver's and registry's users) are the
 * master's and stay on the root.  Tenant keys (what a tenant serves, to
 * whom, through which links, as which user) belong to one tenant only and
 * are refused on a root that has tenants.  Every other key is a default
 * the root sets and a tenant may override.
 *
 * Each tenant becomes a standalone document: the root without "tenants"
 * and "uid_base", the tenant's keys over it (a key replaces the root's
 * wholesale), its name as "tenant" and a user of its own.  That text is
 * parsed like any config, and kept: the master hands it to the tenant's
 * children, which parse it again and get the same result.  Errors in it
 * are reported under "tenants[i]".
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "config_priv.h"

#define TENANT_USER_PREFIX	"_sluice-w-"

/* The master's; a tenant that sets one is refused. */
static const char *const process_keys[] = {
	"control", "control_group", "log_format", "log_level", "access_log",
	"resolver_user", "registry_user", "uid_base", "tenants", "tenant",
	"tunnel_user",
};

/* One tenant's; with "tenants", never a default on the root. */
static const char *const tenant_keys[] = {
	"listeners", "listen", "domain", "port", "balancer", "upstream",
	"services", "dbbackend", "user", "user_id", "limits", "agent",
};

static int
in_list(const char *key, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return 1;
	return 0;
}

static int
has(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

/* ^[a-z0-9][a-z0-9_-]{0,30}$: a label in metrics, a part of a user name. */
static int
valid_tenant_name(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i == 0 || (s[i] != '_' && s[i] != '-'))
			return 0;
	}
	return i > 0 && i <= SL_TENANT_NAME_MAX;
}

static int
get_tenant_name(struct ctx *c, const cJSON *it, char *out)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, SL_TENANT_NAME_MAX, &s) == -1)
		return -1;
	if (!valid_tenant_name(s))
		return fail(c, "%s is not a tenant name ([a-z0-9] then "
		    "[a-z0-9_-])", quote(s, q, sizeof(q)));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
r_tenant(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_tenant_name(c, it, conf->tenant);
}

static int
tenant_shape(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	(void)arg;
	(void)i;
	if (!cJSON_IsObject(it))
		return type_err(c, it, "an object");
	return 0;
}

/* Read once the whole root is (tenants_finish()); the shape now. */
int
r_tenants(struct ctx *c, const cJSON *it, void *dst)
{
	size_t	n;

	(void)dst;
	if (get_array(c, it, SL_MAX_TENANTS, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "must not be empty");
	if (each(c, it, tenant_shape, NULL) == -1)
		return -1;
	c->tenants = it;
	return 0;
}

/* A root with tenants holds defaults and the master's keys only. */
static int
root_check(struct ctx *c)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, c->root) {
		if (in_list(it->string, tenant_keys, nitems(tenant_keys)))
			return fail_key(c, it->string,
			    "with tenants, each tenant has its own");
		if (strcmp(it->string, "tenant") == 0)
			return fail_key(c, it->string,
			    "with tenants, each tenant's \"name\" names it");
	}
	return 0;
}

/* Keys a tenant may not have; "config" would read as the document. */
static int
tenant_keys_check(struct ctx *c, const cJSON *obj)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, obj) {
		if (strcmp(it->string, "tenant") == 0)
			return fail_key(c, it->string,
			    "a tenant's \"name\" names it");
		if (in_list(it->string, process_keys, nitems(process_keys)))
			return fail_key(c, it->string,
			    "process-wide; set it on the root");
		if (strcmp(it->string, "config") == 0)
			return fail_key(c, it->string, "unknown key");
	}
	return 0;
}

/* "name": required, well formed, unique; into conf->tenants[i].name. */
static int
tenant_name(struct ctx *c, const cJSON *obj, size_t i)
{
	struct sl_tenant	*t = c->conf->tenants;
	const cJSON		*it;
	size_t			 j, old;
	char			 q[80];
	int			 rc = 0;

	if ((it = cJSON_GetObjectItemCaseSensitive(obj, "name")) == NULL)
		return fail_key(c, "name", "required");
	old = push_key(c, "name");
	if (get_tenant_name(c, it, t[i].name) == 0) {
		for (j = 0; j < i; j++)
			if (strcmp(t[j].name, t[i].name) == 0)
				break;
		if (j < i)
			rc = fail(c, "%s is already tenants[%zu]'s name",
			    quote(t[i].name, q, sizeof(q)), j);
		/* The implicit tenant's: its metrics carry no label. */
		else if (strcmp(t[i].name, "default") == 0)
			rc = fail(c, "\"default\" is the name of the one "
			    "tenant of a config without tenants");
	} else
		rc = -1;
	pop(c, old);
	return rc;
}

/* Root aliases: TcpRoute's IpBlacklist is ip_blacklist. */
static int
overridden(const cJSON *obj, const char *key)
{
	if (strcmp(key, "ip_blacklist") == 0 || strcmp(key, "IpBlacklist") == 0)
		return has(obj, "ip_blacklist") || has(obj, "IpBlacklist");
	return has(obj, key);
}

static int
add_copy(cJSON *doc, const cJSON *it)
{
	cJSON	*dup;

	if ((dup = cJSON_Duplicate(it, 1)) == NULL)
		return -1;
	if (!cJSON_AddItemToObject(doc, it->string, dup)) {
		cJSON_Delete(dup);
		return -1;
	}
	return 0;
}

/*
 * The user tenant i runs as when it names none: uid_base + 1 + i, or
 * a user of its own name; never one another tenant has by default.
 */
static int
add_user(cJSON *doc, const struct sl_conf *root, const char *name, size_t i)
{
	char	user[sizeof(TENANT_USER_PREFIX) + SL_TENANT_NAME_MAX];

	if (root->uid_base != 0)
		return cJSON_AddNumberToObject(doc, "user_id",
		    (double)root->uid_base + 1 + (double)i) == NULL ? -1 : 0;
	snprintf(user, sizeof(user), TENANT_USER_PREFIX "%s", name);
	return cJSON_AddStringToObject(doc, "user", user) == NULL ? -1 : 0;
}

/* Tenant i's document: root defaults, its own keys, name and user. */
static cJSON *
tenant_doc(struct ctx *c, const cJSON *obj, size_t i)
{
	const char	*name = c->conf->tenants[i].name;
	const cJSON	*it;
	cJSON		*doc;
	int		 rc = 0;

	if ((doc = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_ArrayForEach(it, c->root) {
		if (strcmp(it->string, "tenants") == 0 ||
		    strcmp(it->string, "uid_base") == 0 ||
		    overridden(obj, it->string))
			continue;
		if ((rc = add_copy(doc, it)) == -1)
			break;
	}
	cJSON_ArrayForEach(it, obj) {
		if (rc == -1)
			break;
		if (strcmp(it->string, "name") != 0)
			rc = add_copy(doc, it);
	}
	if (rc == 0 && cJSON_AddStringToObject(doc, "tenant", name) == NULL)
		rc = -1;
	if (rc == 0 && !has(obj, "user") && !has(obj, "user_id"))
		rc = add_user(doc, c->conf, name, i);
	if (rc == -1) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* A tenant's error under its path: "config: x" is "tenants[i]: x". */
static int
fail_tenant(struct ctx *c, size_t i, const char *err)
{
	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (strncmp(err, "config: ", 8) == 0)
		snprintf(c->err, c->errlen, "tenants[%zu]: %s", i, err + 8);
	else
		snprintf(c->err, c->errlen, "tenants[%zu].%s", i, err);
	return -1;
}

/* Never the implicit 0.0.0.0:1080 and direct link a plain root gets. */
static int
tenant_serves(struct ctx *c, const cJSON *obj)
{
	const cJSON	*b, *links;

	if (!has(obj, "listeners") && !has(obj, "listen") &&
	    !has(obj, "port") && !has(obj, "agent"))
		return fail(c, "no listeners (listeners, listen or port)");
	b = cJSON_GetObjectItemCaseSensitive(obj, "balancer");
	links = cJSON_GetObjectItemCaseSensitive(b, "links");
	if (cJSON_GetArraySize(links) == 0 && !has(obj, "upstream"))
		return fail(c, "no links (balancer.links or upstream)");
	return 0;
}

static int
tenant_read(struct ctx *c, const cJSON *obj, size_t i)
{
	struct sl_tenant	*t = &c->conf->tenants[i];
	cJSON			*doc;
	char			 err[1024];

	if (tenant_keys_check(c, obj) == -1 || tenant_name(c, obj, i) == -1)
		return -1;
	if ((doc = tenant_doc(c, obj, i)) == NULL)
		return fail(c, "out of memory");
	t->text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (t->text == NULL)
		return fail(c, "out of memory");
	t->len = strlen(t->text);
	if (conf_parse(t->text, t->len, &t->conf, err, sizeof(err)) == -1)
		return fail_tenant(c, i, err);
	return tenant_serves(c, obj);
}

/* Which key of tenant obj made its listeners, for error paths. */
static const char *
listeners_key(const cJSON *obj)
{
	if (has(obj, "listeners"))
		return "listeners";
	return has(obj, "listen") ? "listen" : "port";
}

/* Listener i's index in its JSON array (a tproxy's UDP side: its own). */
static size_t
json_index(const struct sl_conf *conf, size_t i)
{
	const struct sl_listener	*l = &conf->listeners[i];
	size_t				 j, n;

	if (!l->borrowed)
		return i;
	n = strlen(l->name) - 4;	/* "NAME.udp" */
	for (j = 0; j < conf->nlisteners; j++)
		if (!conf->listeners[j].borrowed &&
		    strncmp(conf->listeners[j].name, l->name, n) == 0 &&
		    conf->listeners[j].name[n] == '\0')
			return j;
	return i;
}

/* Push the path of tenant t's listener i: "listeners[i]", "port". */
static void
push_listener(struct ctx *c, size_t t, size_t i)
{
	const cJSON	*obj = cJSON_GetArrayItem(c->tenants, (int)t);
	const char	*key = listeners_key(obj);

	push_key(c, key);
	if (strcmp(key, "port") != 0)
		push_index(c, json_index(c->conf->tenants[t].conf, i));
}

/* An address as IPv4 if it is one (v4-mapped); 1 if unspecified. */
static int
addr_norm(const struct sockaddr_storage *ss, int *af, uint8_t a[16])
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	static const uint8_t		 zero[16];

	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		*af = AF_INET;
		memcpy(a, &sin->sin_addr, 4);
		return memcmp(a, zero, 4) == 0;
	}
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		*af = AF_INET;
		memcpy(a, sin6->sin6_addr.s6_addr + 12, 4);
		return memcmp(a, zero, 4) == 0;
	}
	*af = AF_INET6;
	memcpy(a, &sin6->sin6_addr, 16);
	return memcmp(a, zero, 16) == 0;
}

/*
 * Could both bind at once and share traffic?  Same transport and port,
 * and the same address or a wildcard on either side.  :: does not take
 * IPv4: the master sets IPV6_V6ONLY on every IPv6 listener
 * (master/listen.c), so [::]:N and 0.0.0.0:N are apart.
 */
static int
listeners_overlap(const struct sl_listener *a, const struct sl_listener *b)
{
	uint8_t	aa[16], ba[16];
	int	af_a, af_b, any_a, any_b;

	/* The agent's listener binds nothing. */
	if (a->addrlen == 0 || b->addrlen == 0)
		return 0;
	if (SL_LISTENER_UDP(a) != SL_LISTENER_UDP(b) ||
	    sockaddr_port((const void *)&a->addr) !=
	    sockaddr_port((const void *)&b->addr))
		return 0;
	any_a = addr_norm(&a->addr, &af_a, aa);
	any_b = addr_norm(&b->addr, &af_b, ba);
	if (af_a != af_b)
		return 0;
	return any_a || any_b || memcmp(aa, ba, sizeof(aa)) == 0;
}

/* Tenant t's listeners against every earlier tenant's. */
static int
tenant_overlaps(struct ctx *c, size_t t)
{
	const struct sl_conf	*ct = c->conf->tenants[t].conf, *cu;
	size_t			 u, i, j, old;
	char			 there[512], a[SL_ADDRSTRLEN];

	for (u = 0; u < t; u++) {
		cu = c->conf->tenants[u].conf;
		for (i = 0; i < ct->nlisteners; i++)
			for (j = 0; j < cu->nlisteners; j++) {
				if (!listeners_overlap(&ct->listeners[i],
				    &cu->listeners[j]))
					continue;
				old = push_index(c, u);
				push_listener(c, u, j);
				snprintf(there, sizeof(there), "%s", c->path);
				pop(c, old);
				push_index(c, t);
				push_listener(c, t, i);
				fail(c, "overlaps %s (%s)", there, sockaddr_fmt(
				    (const void *)&ct->listeners[i].addr, a,
				    sizeof(a)));
				pop(c, old);
				return -1;
			}
	}
	return 0;
}

/* Which key gives tenant t its user: user_id if it has one. */
static const char *
user_key(const struct sl_conf *tc)
{
	return tc->user_id != 0 ? "user_id" : "user";
}

/* Tenant t's user against the root's children and earlier tenants. */
static int
tenant_user(struct ctx *c, size_t t)
{
	const struct sl_tenant	*ts = c->conf->tenants;
	const struct sl_conf	*tc = ts[t].conf, *uc;
	size_t			 u;
	char			 q[80];

	if (tc->user_id == 0 && strcmp(tc->user, c->conf->resolver_user) == 0)
		return fail(c, "%s is the resolver_user; each tenant needs a "
		    "uid of its own", quote(tc->user, q, sizeof(q)));
	if (tc->user_id == 0 && strcmp(tc->user, c->conf->registry_user) == 0)
		return fail(c, "%s is the registry_user; each tenant needs a "
		    "uid of its own", quote(tc->user, q, sizeof(q)));
	for (u = 0; u < t; u++) {
		uc = ts[u].conf;
		if (tc->user_id != 0 && uc->user_id == tc->user_id)
			return fail(c, "%u is tenants[%zu]'s user_id; each "
			    "tenant needs a uid of its own", tc->user_id, u);
		if (tc->user_id == 0 && uc->user_id == 0 &&
		    strcmp(tc->user, uc->user) == 0)
			return fail(c, "%s is tenants[%zu]'s user; each tenant "
			    "needs a uid of its own",
			    quote(tc->user, q, sizeof(q)), u);
	}
	return 0;
}

static int
tenants_cross(struct ctx *c)
{
	size_t	t, old, old2;
	int	rc = 0;

	old = push_key(c, "tenants");
	for (t = 1; t < c->conf->ntenants && rc == 0; t++)
		rc = tenant_overlaps(c, t);
	for (t = 0; t < c->conf->ntenants && rc == 0; t++) {
		old2 = push_index(c, t);
		push_key(c, user_key(c->conf->tenants[t].conf));
		rc = tenant_user(c, t);
		pop(c, old2);
	}
	pop(c, old);
	return rc;
}

/*
 * The root keeps only process-wide keys and defaults; each tenant is
 * parsed into a config of its own.  The root's resolver settings get
 * the checks and defaults a plain config gets: the resolver is shared.
 */
int
tenants_finish(struct ctx *c, uint64_t seen)
{
	struct sl_conf	*conf = c->conf;
	const cJSON	*it;
	size_t		 i = 0, old;
	int		 rc = 0;

	(void)seen;
	if (root_check(c) == -1 || tunnel_finish(c) == -1 ||
	    check_ttls(c, has(c->root, "dns_max_ttl")) == -1)
		return -1;
	if (!has(c->root, "deny_targets") && deny_targets_default(c) == -1)
		return -1;
	conf->tenants = alloc_array(c, (size_t)cJSON_GetArraySize(c->tenants),
	    sizeof(*conf->tenants));
	if (conf->tenants == NULL)
		return -1;
	conf->ntenants = (size_t)cJSON_GetArraySize(c->tenants);
	old = push_key(c, "tenants");
	cJSON_ArrayForEach(it, c->tenants) {
		size_t old2 = push_index(c, i);

		rc = tenant_read(c, it, i++);
		pop(c, old2);
		if (rc == -1)
			break;
	}
	pop(c, old);
	if (rc == -1)
		return -1;
	return tenants_cross(c);
}

void
tenants_free(struct sl_conf *conf)
{
	size_t	i;

	for (i = 0; i < conf->ntenants; i++) {
		conf_free(conf->tenants[i].conf);
		if (conf->tenants[i].text != NULL) {
			explicit_bzero(conf->tenants[i].text,
			    conf->tenants[i].len);
			free(conf->tenants[i].text);
		}
	}
	free(conf->tenants);
	conf->tenants = NULL;
	conf->ntenants = 0;
}

/* "tunnel_user": the tunnel process's, process-wide. */
int
r_tunnel_user(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, sizeof(conf->tunnel_user) - 1, &s) == -1)
		return -1;
	if (!valid_word(s))
		return fail(c, "%s is not a user name", quote(s, q, sizeof(q)));
	memcpy(conf->tunnel_user, s, strlen(s) + 1);
	return 0;
}

/* tunnel_user is a uid of its own: no other child's user by name. */
int
tunnel_user_check(struct ctx *c)
{
	const struct sl_conf	*conf = c->conf;
	const char		*u = conf->tunnel_user, *other = NULL;
	size_t			 old;

	if (conf->user_id == 0 && conf->ntenants == 0 &&
	    strcmp(u, conf->user) == 0)
		other = "user";
	else if (strcmp(u, conf->resolver_user) == 0)
		other = "resolver_user";
	else if (strcmp(u, conf->registry_user) == 0)
		other = "registry_user";
	if (other == NULL)
		return 0;
	old = push_key(c, "tunnel_user");
	fail(c, "the same as %s: the tunnel process needs a uid of its own",
	    other);
	pop(c, old);
	return -1;
}
