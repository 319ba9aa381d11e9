/*
 * "services" and "dbbackend": tcprouter's model in sluice's config (see
 * services.h for the form), and the same service entries in the table
 * the Redis registry sends the workers at run time (services_load).
 *
 * One entry parser serves both: from the config file a bad entry is a
 * config error with its JSON path; from the registry it is one log line
 * and the entry is skipped, never the whole table.
 *
 * A service with tcprouter's "clientsecret" is reached through a reverse
 * tunnel: its name becomes an agent's on every tunnel listener, and it
 * gets a link of its own, "agent:NAME", that only it may take.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "services_priv.h"

#define AGENT_LINK_PREFIX	"agent:"	/* a tunnel service's link */

/* Strategies over a service's addresses (`fastest` races links only). */
static const char *const svc_strategy_names[] = {
	[SL_STRAT_ROUND_ROBIN] = "round_robin",
	[SL_STRAT_RANDOM] = "random",
	[SL_STRAT_LEAST_CONN] = "least_conn",
	[SL_STRAT_FAILOVER] = "failover",
};

enum {
	SV_ADDR, SV_TLSPORT, SV_HTTPPORT, SV_LINK, SV_LINKS, SV_STRATEGY,
	SV_PROXY, SV_CLIENTSECRET, SV_TAPS
};

struct svc_build {
	struct sl_service	s;
	uint16_t		links[SL_SVC_MAX_LINKS];
};

/*
 * A backend address nobody should be sent to: the unspecified address
 * (tcprouter records with "0.0.0.0" would reach this host), broadcast,
 * multicast.
 */
static int
bad_backend_ip(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	uint32_t			 a;

	if (sa->sa_family == AF_INET) {
		a = ntohl(sin->sin_addr.s_addr);
		return a == 0 || a == 0xffffffffu || (a >> 28) == 0xe;
	}
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);
}

/* "ip", "ip:port", "[v6]", "[v6]:port", "v6", "name", "name:port". */
static int
backend_parse(struct ctx *c, const char *s, struct sl_backend *b)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[SL_MAX_NAME + 1], q[80];
	const char		*e, *p = NULL;
	size_t			 hl = strlen(s);
	unsigned long		 port = 0;
	char			*end;

	if (s[0] == '[') {
		if ((e = strchr(s, ']')) == NULL || (e[1] != '\0' &&
		    e[1] != ':'))
			return fail(c, "%s is not an address", quote(s, q,
			    sizeof(q)));
		hl = (size_t)(e - s - 1);
		p = e[1] == ':' ? e + 2 : NULL;
		s++;
	} else if ((e = strchr(s, ':')) != NULL && strchr(e + 1, ':') == NULL) {
		hl = (size_t)(e - s);
		p = e + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return fail(c, "%s is not an address", quote(s, q, sizeof(q)));
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (p != NULL) {
		if (*p < '1' || *p > '9' || (port = strtoul(p, &end, 10)) >
		    65535 || *end != '\0')
			return fail(c, "%s: bad port", quote(p, q, sizeof(q)));
		b->port = (uint16_t)port;
	}
	if (parse_ip(host, 0, &ss, &sslen) == 0) {
		if (bad_backend_ip((const struct sockaddr *)&ss))
			return fail(c, "%s is not an address to connect to",
			    quote(host, q, sizeof(q)));
		memcpy(&b->addr, &ss, sslen);
		return 0;
	}
	if (!valid_hostname(host))
		return fail(c, "%s is not an IP address or host name",
		    quote(host, q, sizeof(q)));
	if ((b->host = strdup(host)) == NULL)
		return fail(c, "out of memory");
	return 0;
}

static int
sv_addr_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_service	*s = arg;
	const char		*str;

	if (get_str(c, it, 1, SL_MAX_NAME + 8, &str) == -1)
		return -1;
	s->nbackends = (uint16_t)(i + 1);	/* freed from here on */
	return backend_parse(c, str, &s->backends[i]);
}

static int
sv_addr(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_service	*s = dst;
	size_t			 n = 1;

	if (cJSON_IsArray(it)) {
		if (get_array(c, it, SL_SVC_MAX_BACKENDS, &n) == -1)
			return -1;
		if (n == 0)
			return fail(c, "empty");
	}
	if ((s->backends = alloc_array(c, n, sizeof(*s->backends))) == NULL)
		return -1;
	if (cJSON_IsArray(it))
		return each(c, it, sv_addr_item, s);
	return sv_addr_item(c, it, s, 0);
}

static int
sv_tlsport(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port(c, it, &((struct sl_service *)dst)->tlsport);
}

static int
sv_httpport(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port(c, it, &((struct sl_service *)dst)->httpport);
}

static int
link_by_name(struct ctx *c, const cJSON *it, struct svc_build *b)
{
	const char	*name;
	char		 q[80];
	size_t		 i;

	if (get_str(c, it, 1, SIZE_MAX, &name) == -1)
		return -1;
	if (c->conf == NULL)
		return fail(c, "links are not allowed in the registry's table");
	for (i = 0; i < c->conf->nlinks; i++)
		if (strcmp(c->conf->links[i].name, name) == 0)
			break;
	if (i == c->conf->nlinks)
		return fail(c, "no link is called %s", quote(name, q,
		    sizeof(q)));
	if (!c->conf->links[i].selectable)
		return fail(c, "link %s is only a \"via\" hop", quote(name, q,
		    sizeof(q)));
	if (b->s.nlinks >= SL_SVC_MAX_LINKS)
		return fail(c, "more than %d links", SL_SVC_MAX_LINKS);
	b->links[b->s.nlinks++] = (uint16_t)i;
	return 0;
}

static int
sv_link(struct ctx *c, const cJSON *it, void *dst)
{
	return link_by_name(c, it, dst);
}

static int
sv_links_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	(void)i;
	return link_by_name(c, it, arg);
}

static int
sv_links(struct ctx *c, const cJSON *it, void *dst)
{
	size_t	n;

	if (get_array(c, it, SL_SVC_MAX_LINKS, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "empty: leave \"links\" out for any link");
	return each(c, it, sv_links_item, dst);
}

static int
sv_strategy(struct ctx *c, const cJSON *it, void *dst)
{
	int	v;

	if (get_enum(c, it, svc_strategy_names, nitems(svc_strategy_names),
	    0, &v) == -1)
		return -1;
	((struct sl_service *)dst)->strategy = (uint8_t)v;
	return 0;
}

static int
sv_proxy(struct ctx *c, const cJSON *it, void *dst)
{
	if (!cJSON_IsNumber(it) || (it->valuedouble != 0 &&
	    it->valuedouble != 1 && it->valuedouble != 2))
		return fail(c, "expected 0 (none), 1 or 2 (PROXY protocol "
		    "version)");
	((struct sl_service *)dst)->proxy_protocol = (uint8_t)it->valueint;
	return 0;
}

/*
 * tcprouter's reverse tunnel: the service is reached through the agent
 * named after it (trc), which dials a tunnel listener with this secret.
 * Config only: the registry's table cannot add agents.
 */
static int
sv_clientsecret(struct ctx *c, const cJSON *it, void *dst)
{
	struct svc_build	*b = dst;

	if (c->conf == NULL)
		return fail(c, "tunnels are not allowed in the registry's "
		    "table (agents are the config's)");
	if (b->s.nlinks >= SL_SVC_MAX_LINKS)
		return fail(c, "more than %d links", SL_SVC_MAX_LINKS);
	return tunnel_service(c, b->s.name, it, &b->links[b->s.nlinks++]);
}

/* Agent a on tunnel listener l: added, or already there with its secret. */
static int
listener_add_agent(struct ctx *c, struct sl_listener *l, size_t li,
    const struct sl_agent_cred *a)
{
	const struct sl_agent_cred	*b;
	struct sl_agent_cred		*v;

	if ((b = conf_agent_find(l, a->name)) != NULL) {
		if (b->secret_len == a->secret_len &&
		    memcmp(b->secret, a->secret, a->secret_len) == 0)
			return 0;
		return fail(c, "listeners[%zu] gives agent \"%s\" another "
		    "secret", li, a->name);
	}
	if (l->nagents == SL_MAX_AGENTS)
		return fail(c, "listeners[%zu] has %d agents already", li,
		    SL_MAX_AGENTS);
	if ((v = realloc(l->agents, (l->nagents + 1) * sizeof(*v))) == NULL)
		return fail(c, "out of memory");
	l->agents = v;
	v += l->nagents;
	*v = *a;
	if ((v->secret = strdup(a->secret)) == NULL)
		return fail(c, "out of memory");
	l->nagents++;
	return 0;
}

/* The service's link, "agent:NAME", which no other traffic takes. */
static int
service_link(struct ctx *c, const char *name, uint16_t *li)
{
	struct sl_conf	*conf = c->conf;
	struct sl_link	*v;

	if (conf->nlinks >= SL_MAX_LINKS)
		return fail(c, "with the link of this service, more than %d "
		    "links", SL_MAX_LINKS);
	if ((v = realloc(conf->links, (conf->nlinks + 1) *
	    sizeof(*v))) == NULL)
		return fail(c, "out of memory");
	conf->links = v;
	v += conf->nlinks;
	memset(v, 0, sizeof(*v));
	link_defaults(v, "");
	snprintf(v->name, sizeof(v->name), AGENT_LINK_PREFIX "%s", name);
	v->proto = SL_LINK_AGENT;
	v->selectable = 0;
	snprintf(v->agent, sizeof(v->agent), "%s", name);
	*li = (uint16_t)conf->nlinks++;
	return 0;
}

/*
 * tcprouter's "clientsecret": the service's name is an agent's on every
 * tunnel listener, and the service goes through that agent only.
 */
int
tunnel_service(struct ctx *c, const char *name, const cJSON *it,
    uint16_t *li)
{
	struct sl_conf		*conf = c->conf;
	struct sl_agent_cred	 a;
	size_t			 i, n = 0;
	char			 q[80];
	int			 rc;

	if (!valid_agent_name(name) || strlen(name) + strlen(
	    AGENT_LINK_PREFIX) >= sizeof(conf->links[0].name))
		return fail(c, "%s cannot be an agent's name: a tunnel "
		    "service's name is [A-Za-z0-9._-], 1-%zu bytes (no "
		    "wildcard)", quote(name, q, sizeof(q)),
		    sizeof(conf->links[0].name) - 1 -
		    strlen(AGENT_LINK_PREFIX));
	memset(&a, 0, sizeof(a));
	if (agent_secret(c, it, &a) == -1)
		return -1;
	snprintf(a.name, sizeof(a.name), "%s", name);
	rc = 0;
	for (i = 0; i < conf->nlisteners && rc == 0; i++)
		if (conf->listeners[i].kind == SL_LISTEN_TUNNEL) {
			rc = listener_add_agent(c, &conf->listeners[i], i, &a);
			n++;
		}
	explicit_bzero(a.secret, a.secret_len);
	free(a.secret);
	if (rc == -1)
		return -1;
	if (n == 0)
		return fail(c, "needs a tunnel listener (\"kind\": \"tunnel\"; "
		    "router.toml: server.clientsport) for its agent to dial");
	return service_link(c, name, li);
}

/*
 * The service's own tap chain, used instead of the listener's.  Only in
 * the config: a Lua script is compiled at start, so the registry's table
 * cannot name one; a pcap file is opened at start, by listener.
 */
static int
sv_taps(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_service	*s = dst;
	size_t			 n = 0, i, old;
	int			 rc;

	if (c->conf == NULL)
		return fail(c, "taps are not allowed in the registry's table");
	rc = taps_read(c, it, &s->taps, &n);
	s->ntaps = (uint16_t)n;
	for (i = 0; rc == 0 && i < n; i++)
		if (s->taps[i].type == SL_TAP_PCAP) {
			old = push_index(c, i);
			rc = fail_key(c, "type", "pcap taps belong to "
			    "listeners");
			pop(c, old);
		}
	return rc;
}

static const struct keydef service_keys[] = {
	[SV_ADDR] = { "addr", K_FN, sv_addr, 0, 0, 0 },
	[SV_TLSPORT] = { "tlsport", K_FN, sv_tlsport, 0, 0, 0 },
	[SV_HTTPPORT] = { "httpport", K_FN, sv_httpport, 0, 0, 0 },
	[SV_LINK] = { "link", K_FN, sv_link, 0, 0, 0 },
	[SV_LINKS] = { "links", K_FN, sv_links, 0, 0, 0 },
	[SV_STRATEGY] = { "strategy", K_FN, sv_strategy, 0, 0, 0 },
	[SV_PROXY] = { "proxy_protocol", K_FN, sv_proxy, 0, 0, 0 },
	[SV_CLIENTSECRET] = { "clientsecret", K_FN, sv_clientsecret, 0, 0, 0 },
	[SV_TAPS] = { "taps", K_FN, sv_taps, 0, 0, 0 },
};

/* "CATCH_ALL", "*.domain" or a host name; lower case, no trailing dot. */
static char *
service_name(struct ctx *c, const char *key)
{
	char		 q[80], *n;
	size_t		 i, len;
	const char	*rest = key;

	if (strcmp(key, SL_SVC_CATCH_ALL) == 0)
		return strdup(key);
	if (strncmp(key, "*.", 2) == 0)
		rest = key + 2;
	if (!valid_host(rest)) {
		fail(c, "%s is not a host name, \"*.domain\" or CATCH_ALL",
		    quote(key, q, sizeof(q)));
		return NULL;
	}
	if ((n = strdup(key)) == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	len = strlen(n);
	if (len > 1 && n[len - 1] == '.')
		n[--len] = '\0';
	for (i = 0; i < len; i++)
		n[i] = (char)tolower((unsigned char)n[i]);
	return n;
}

/* One entry; on failure *out holds nothing to free. */
static int
service_entry(struct ctx *c, const cJSON *it, struct sl_service *out)
{
	struct svc_build	 b;
	uint64_t		 seen = 0;

	memset(&b, 0, sizeof(b));
	b.s.tlsport = 443;
	b.s.httpport = 80;
	b.s.strategy = SL_STRAT_ROUND_ROBIN;
	if ((b.s.name = service_name(c, it->string)) == NULL)
		return -1;
	if (walk(c, it, service_keys, nitems(service_keys), &b.s, &seen) == -1)
		goto bad;
	if ((seen & BIT(SV_LINK)) && (seen & BIT(SV_LINKS))) {
		fail_key(c, "link", "cannot be combined with links");
		goto bad;
	}
	if ((seen & BIT(SV_CLIENTSECRET)) &&
	    (seen & (BIT(SV_LINK) | BIT(SV_LINKS)))) {
		fail_key(c, (seen & BIT(SV_LINK)) ? "link" : "links", "a "
		    "service with a clientsecret goes through its agent only");
		goto bad;
	}
	if (b.s.nlinks > 0) {
		if ((b.s.links = alloc_array(c, b.s.nlinks,
		    sizeof(*b.s.links))) == NULL)
			goto bad;
		memcpy(b.s.links, b.links, b.s.nlinks * sizeof(*b.s.links));
	}
	*out = b.s;
	return 0;
bad:
	svc_entry_free(&b.s);
	return -1;
}

/* The key handler only checks the type: links must be read first. */
int
r_services(struct ctx *c, const cJSON *it, void *dst)
{
	(void)dst;
	if (!cJSON_IsObject(it))
		return type_err(c, it, "an object (name -> service)");
	c->services = it;
	return 0;
}

int
services_read(struct ctx *c)
{
	struct sl_services	*t;
	struct sl_service	 s;
	const cJSON		*it;
	size_t			 old, n;
	int			 rc;

	if (c->services == NULL)
		return 0;
	old = push_key(c, "services");
	if ((n = (size_t)cJSON_GetArraySize(c->services)) > SL_SVC_MAX) {
		fail(c, "more than %d services", SL_SVC_MAX);
		pop(c, old);
		return -1;
	}
	if ((t = svc_table_new(n)) == NULL) {
		pop(c, old);
		return fail(c, "out of memory");
	}
	c->conf->services = t;
	cJSON_ArrayForEach(it, c->services) {
		size_t old2 = push_key(c, it->string);

		rc = service_entry(c, it, &s);
		if (rc == 0 && (rc = svc_table_add(t, &s)) != 0)
			fail(c, rc == 1 ? "the same name as another service" :
			    "out of memory");
		pop(c, old2);
		if (rc != 0) {
			pop(c, old);
			return -1;
		}
	}
	pop(c, old);
	return 0;
}

int
services_load(const char *json, size_t len, struct sl_services **out,
    services_skip_fn skip, void *arg)
{
	struct sl_services	*t;
	struct sl_service	 s;
	struct ctx		 c;
	const cJSON		*it;
	cJSON			*root;
	char			 err[512];
	size_t			 n;
	int			 rc;

	*out = NULL;
	if (len > SL_MAX_CONF_BYTES ||
	    (root = cJSON_ParseWithLength(json, len)) == NULL)
		return -1;
	if (!cJSON_IsObject(root) ||
	    (n = (size_t)cJSON_GetArraySize(root)) > SL_SVC_MAX ||
	    (t = svc_table_new(n)) == NULL) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach(it, root) {
		memset(&c, 0, sizeof(c));
		c.err = err;
		c.errlen = sizeof(err);
		(void)push_key(&c, it->string);
		rc = service_entry(&c, it, &s);
		if (rc == 0 && (rc = svc_table_add(t, &s)) != 0)
			fail(&c, rc == 1 ? "the same name as another "
			    "service" : "out of memory");
		if (rc != 0 && skip != NULL)
			skip(err, arg);
	}
	cJSON_Delete(root);
	*out = t;
	return 0;
}

/* "dbbackend": where tcprouter's services live (Redis). */
enum { DB_TYPE, DB_ADDR, DB_PORT, DB_PASSWORD, DB_REFRESH, DB_DB };

static int
db_type(struct ctx *c, const cJSON *it, void *dst)
{
	static const char *const types[] = { "redis" };
	int			 v;

	(void)dst;
	return get_enum(c, it, types, nitems(types), 1, &v);
}

/* An IP literal: the master connects to it and must not resolve names. */
static int
db_addr(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_dbbackend	*db = dst;
	const char		*s;
	char			 q[80];

	if (get_str(c, it, 1, sizeof(db->host) - 1, &s) == -1)
		return -1;
	if (strcmp(s, "localhost") == 0)
		s = "127.0.0.1";
	if (parse_ip(s, 0, &db->addr, &db->addrlen) == -1)
		return fail(c, "%s is not an IP address (the master does not "
		    "resolve names)", quote(s, q, sizeof(q)));
	snprintf(db->host, sizeof(db->host), "%s", s);
	return 0;
}

static int
db_port(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port(c, it, &((struct sl_dbbackend *)dst)->port);
}

static int
db_password(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_dbbackend	*db = dst;
	const char		*s;

	if (get_str(c, it, 0, sizeof(db->password) - 1, &s) == -1)
		return -1;
	snprintf(db->password, sizeof(db->password), "%s", s);
	return 0;
}

#define DBOFF(f)	offsetof(struct sl_dbbackend, f)
static const struct keydef db_keys[] = {
	[DB_TYPE] = { "type", K_FN, db_type, 0, 0, 0 },
	[DB_ADDR] = { "addr", K_FN, db_addr, 0, 0, 0 },
	[DB_PORT] = { "port", K_FN, db_port, 0, 0, 0 },
	[DB_PASSWORD] = { "password", K_FN, db_password, 0, 0, 0 },
	[DB_REFRESH] = { "refresh", K_UINT, NULL, DBOFF(refresh_s), 1, 86400 },
	[DB_DB] = { "db", K_UINT, NULL, DBOFF(db), 0, 65535 },
};

int
r_dbbackend(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_dbbackend	*db = &((struct sl_conf *)dst)->dbbackend;
	uint64_t		 seen = 0;

	db->port = 6379;
	db->refresh_s = 10;
	if (walk(c, it, db_keys, nitems(db_keys), db, &seen) == -1)
		return -1;
	if (!(seen & BIT(DB_TYPE)))
		return fail_key(c, "type", "required (\"redis\")");
	if (!(seen & BIT(DB_ADDR))) {
		snprintf(db->host, sizeof(db->host), "127.0.0.1");
		(void)parse_ip(db->host, 0, &db->addr, &db->addrlen);
	}
	set_port(&db->addr, db->port);
	db->enabled = 1;
	return 0;
}
