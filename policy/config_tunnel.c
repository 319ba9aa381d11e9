/*
 * Reverse tunnels in the config (README "Reverse tunnels"):
 *
 *   "listeners": [ { "kind": "tunnel", "listen": "0.0.0.0:8443",
 *                    "agents": [ { "name": "lab", "secret": "..." } ] } ],
 *   "balancer": { "links": [ { "name": "lab", "protocol": "agent",
 *                              "agent": "lab" } ] }
 *
 * on the server, and on the agent's side the root "agent" key, which
 * dials a server and lets streams reach "local" or what "allow" admits.
 * ProxyServer's "controller_user" and "proxy_client_whitelist" become
 * the listeners' client lists here too, and tcprouter's services with a
 * "clientsecret" become agents with a link of their own.
 *
 * An agent's name may be on several tunnel listeners, always with the
 * same secret: links name agents, not listeners, so one name is one
 * principal, whichever address it dials.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "select.h"

#define AGENT_MAX_STREAMS	65536
#define AGENT_MAX_ALLOW		1024	/* entries of "allow" */

/* [A-Za-z0-9._-], 1-64 bytes: the TLS PSK identity. */
int
valid_agent_name(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return i > 0 && i <= SL_AGENT_NAME_MAX;
}

static int
agent_name(struct ctx *c, const cJSON *it, char *out)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (!valid_agent_name(s))
		return fail(c, "%s is not an agent name ([A-Za-z0-9._-], "
		    "1-%d bytes)", quote(s, q, sizeof(q)), SL_AGENT_NAME_MAX);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* A secret's text into cred (16-1024 bytes, never the placeholder). */
int
agent_secret(struct ctx *c, const cJSON *it, struct sl_agent_cred *cred)
{
	const char	*s;
	size_t		 n;

	if (!cJSON_IsString(it))
		return type_err(c, it, "a string");
	s = it->valuestring;
	if ((n = strlen(s)) < SL_AGENT_SECRET_MIN ||
	    n > SL_AGENT_SECRET_MAX)
		return fail(c, "%zu bytes: a secret is %d-%d bytes", n,
		    SL_AGENT_SECRET_MIN, SL_AGENT_SECRET_MAX);
	if (!conf_parse_redacted && strcmp(s, SL_AGENT_REDACTED) == 0)
		return fail(c, "\"%s\" stands for a secret removed from the "
		    "text; it is not one", SL_AGENT_REDACTED);
	if (cred->secret != NULL) {
		explicit_bzero(cred->secret, cred->secret_len);
		free(cred->secret);
	}
	if ((cred->secret = strdup(s)) == NULL)
		return fail(c, "out of memory");
	cred->secret_len = n;
	return 0;
}

static int
secret_file(struct ctx *c, const cJSON *it, void *dst)
{
	(void)it;
	(void)dst;
	return fail(c, "read by the master at load, which puts the file's "
	    "content in \"secret\"; this text did not come through it");
}

void
creds_free(struct sl_agent_cred *v, size_t n)
{
	size_t	i;

	for (i = 0; v != NULL && i < n; i++)
		if (v[i].secret != NULL) {
			explicit_bzero(v[i].secret, v[i].secret_len);
			free(v[i].secret);
		}
	free(v);
}

/* A tunnel listener's "agents". */

enum { AG_NAME, AG_SECRET, AG_SECRET_FILE };

static int
ag_name(struct ctx *c, const cJSON *it, void *dst)
{
	return agent_name(c, it, ((struct sl_agent_cred *)dst)->name);
}

static int
ag_secret(struct ctx *c, const cJSON *it, void *dst)
{
	return agent_secret(c, it, dst);
}

static const struct keydef cred_keys[] = {
	[AG_NAME] = { "name", K_FN, ag_name, 0, 0, 0 },
	[AG_SECRET] = { "secret", K_FN, ag_secret, 0, 0, 0 },
	[AG_SECRET_FILE] = { "secret_file", K_FN, secret_file, 0, 0, 0 },
};

static int
cred_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_agent_cred	*a = arg;
	uint64_t		 seen = 0;
	size_t			 j;
	char			 q[80];

	if (walk(c, it, cred_keys, nitems(cred_keys), &a[i], &seen) == -1)
		return -1;
	if (!(seen & BIT(AG_NAME)))
		return fail_key(c, "name", "required");
	if (!(seen & BIT(AG_SECRET)))
		return fail_key(c, "secret", "required (or secret_file)");
	for (j = 0; j < i; j++)
		if (strcmp(a[j].name, a[i].name) == 0) {
			size_t old = push_key(c, "name");

			fail(c, "%s is already agents[%zu]'s name",
			    quote(a[i].name, q, sizeof(q)), j);
			pop(c, old);
			return -1;
		}
	return 0;
}

int
ls_agents(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;
	size_t			 n;

	if (get_array(c, it, SL_MAX_AGENTS, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "empty: no agent could connect");
	if ((l->agents = alloc_array(c, n, sizeof(*l->agents))) == NULL)
		return -1;
	l->nagents = n;
	return each(c, it, cred_item, l->agents);
}

const struct sl_agent_cred *
conf_agent_find(const struct sl_listener *l, const char *name)
{
	size_t	i;

	for (i = 0; i < l->nagents; i++)
		if (strcmp(l->agents[i].name, name) == 0)
			return &l->agents[i];
	return NULL;
}

int
conf_has_tunnel(const struct sl_conf *conf)
{
	size_t	i;

	if (conf->agent.enabled)
		return 1;
	for (i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].kind == SL_LISTEN_TUNNEL)
			return 1;
	for (i = 0; i < conf->ntenants; i++)
		if (conf->tenants[i].conf != NULL &&
		    conf_has_tunnel(conf->tenants[i].conf))
			return 1;
	return 0;
}

/*
 * "host:port": a name or an IPv4 literal, or "[ipv6]:port"; the host
 * goes to host without brackets.  -1 when s is not one.
 */
static int
split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char	*colon, *e;
	struct in6_addr	 a6;
	size_t		 hl;
	unsigned long	 p;
	char		*end;

	if (s[0] == '[') {
		if ((e = strchr(s, ']')) == NULL || e[1] != ':')
			return -1;
		hl = (size_t)(e - s - 1);
		colon = e + 1;
		if (hl == 0 || hl >= hostlen)
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
	} else {
		if ((colon = strchr(s, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= hostlen)
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (!valid_hostname(host))
			return -1;
	}
	if (colon[1] < '1' || colon[1] > '9')
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

static int
get_hostport(struct ctx *c, const cJSON *it, char *host, size_t hostlen,
    uint16_t *port)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (split_hostport(s, host, hostlen, port) == -1)
		return fail(c, "%s is not a host and port (name:port, ip:port "
		    "or [ipv6]:port)", quote(s, q, sizeof(q)));
	return 0;
}

/* The root "agent": its "allow" entries. */

enum { AL_IPS, AL_DOMAINS, AL_PORTS };

static int
al_ips(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent_allow	*a = dst;

	if ((a->ips = new_array(c, it, sizeof(*a->ips), &a->nips)) == NULL)
		return -1;
	if (a->nips == 0)
		return fail(c, "empty: leave \"ips\" out");
	return each(c, it, cidr_item, a->ips);
}

static int
al_domains(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent_allow	*a = dst;

	a->domains = new_array(c, it, sizeof(char *), &a->ndomains);
	if (a->domains == NULL)
		return -1;
	if (a->ndomains == 0)
		return fail(c, "empty: leave \"domains\" out");
	return each(c, it, conf_domain_item, a->domains);
}

static int
al_ports(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent_allow	*a = dst;

	if ((a->ports = new_array(c, it, sizeof(*a->ports),
	    &a->nports)) == NULL)
		return -1;
	if (a->nports == 0)
		return fail(c, "empty: leave \"ports\" out for any port");
	return each(c, it, conf_port_item, a->ports);
}

static const struct keydef allow_keys[] = {
	[AL_IPS] = { "ips", K_FN, al_ips, 0, 0, 0 },
	[AL_DOMAINS] = { "domains", K_FN, al_domains, 0, 0, 0 },
	[AL_PORTS] = { "ports", K_FN, al_ports, 0, 0, 0 },
};

static int
allow_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_agent_allow	*a = (struct sl_agent_allow *)arg + i;
	uint64_t		 seen = 0;

	if (walk(c, it, allow_keys, nitems(allow_keys), a, &seen) == -1)
		return -1;
	if (!(seen & (BIT(AL_IPS) | BIT(AL_DOMAINS))))
		return fail(c, "needs \"ips\" or \"domains\": an entry with "
		    "ports alone would admit every host");
	return 0;
}

static void
allow_free(struct sl_agent_allow *a, size_t n)
{
	size_t	i, j;

	for (i = 0; a != NULL && i < n; i++) {
		free(a[i].ports);
		for (j = 0; j < a[i].ndomains; j++)
			free(a[i].domains[j]);
		free(a[i].domains);
		free(a[i].ips);
	}
	free(a);
}

void
agent_free(struct sl_agent *a)
{
	if (a->cred.secret != NULL) {
		explicit_bzero(a->cred.secret, a->cred.secret_len);
		free(a->cred.secret);
		a->cred.secret = NULL;
	}
	allow_free(a->allow, a->nallow);
	a->allow = NULL;
	a->nallow = 0;
}

/* The root "agent" itself. */

enum {
	A_SERVER, A_NAME, A_SECRET, A_SECRET_FILE, A_LOCAL, A_ALLOW,
	A_MAX_STREAMS, A_RECONNECT_MIN, A_RECONNECT_MAX, A_KEEPALIVE, A_DEAD
};

static int
a_server(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent	*a = dst;

	return get_hostport(c, it, a->server_host, sizeof(a->server_host),
	    &a->server_port);
}

static int
a_name(struct ctx *c, const cJSON *it, void *dst)
{
	return agent_name(c, it, ((struct sl_agent *)dst)->cred.name);
}

static int
a_secret(struct ctx *c, const cJSON *it, void *dst)
{
	return agent_secret(c, it, &((struct sl_agent *)dst)->cred);
}

static int
a_local(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent	*a = dst;

	return get_hostport(c, it, a->local_host, sizeof(a->local_host),
	    &a->local_port);
}

static int
a_allow(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent	*a = dst;
	size_t		 n;

	if (get_array(c, it, AGENT_MAX_ALLOW, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "empty: no stream could reach anything");
	if ((a->allow = alloc_array(c, n, sizeof(*a->allow))) == NULL)
		return -1;
	a->nallow = n;
	return each(c, it, allow_item, a->allow);
}

#define AOFF(f)		offsetof(struct sl_agent, f)
static const struct keydef agent_keys[] = {
	[A_SERVER] = { "server", K_FN, a_server, 0, 0, 0 },
	[A_NAME] = { "name", K_FN, a_name, 0, 0, 0 },
	[A_SECRET] = { "secret", K_FN, a_secret, 0, 0, 0 },
	[A_SECRET_FILE] = { "secret_file", K_FN, secret_file, 0, 0, 0 },
	[A_LOCAL] = { "local", K_FN, a_local, 0, 0, 0 },
	[A_ALLOW] = { "allow", K_FN, a_allow, 0, 0, 0 },
	[A_MAX_STREAMS] = { "max_streams", K_UINT, NULL, AOFF(max_streams),
	    1, AGENT_MAX_STREAMS },
	[A_RECONNECT_MIN] = { "reconnect_min", K_MS, NULL,
	    AOFF(reconnect_min_ms), 0, 0 },
	[A_RECONNECT_MAX] = { "reconnect_max", K_MS, NULL,
	    AOFF(reconnect_max_ms), 0, 0 },
	[A_KEEPALIVE] = { "keepalive", K_MS, NULL, AOFF(keepalive_ms), 0, 0 },
	[A_DEAD] = { "dead_timeout", K_MS, NULL, AOFF(dead_ms), 0, 0 },
};

int
r_agent(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_agent	*a = &((struct sl_conf *)dst)->agent;
	uint64_t	 seen = 0;

	a->max_streams = 256;
	a->reconnect_min_ms = 1000;
	a->reconnect_max_ms = 60 * 1000;
	a->keepalive_ms = 15 * 1000;
	a->dead_ms = 45 * 1000;
	if (walk(c, it, agent_keys, nitems(agent_keys), a, &seen) == -1)
		return -1;
	if (!(seen & BIT(A_SERVER)))
		return fail_key(c, "server", "required (host:port)");
	if (!(seen & BIT(A_NAME)))
		return fail_key(c, "name", "required");
	if (!(seen & BIT(A_SECRET)))
		return fail_key(c, "secret", "required (or secret_file)");
	if ((seen & BIT(A_LOCAL)) && (seen & BIT(A_ALLOW)))
		return fail_key(c, "allow", "cannot be combined with local");
	if (!(seen & (BIT(A_LOCAL) | BIT(A_ALLOW))))
		return fail(c, "needs \"local\" or \"allow\": an agent without "
		    "either would be an open proxy into its network");
	if (a->reconnect_min_ms > a->reconnect_max_ms)
		return fail_key(c, "reconnect_min", "above reconnect_max");
	if (a->dead_ms <= a->keepalive_ms)
		return fail_key(c, "dead_timeout", "not above keepalive");
	a->enabled = 1;
	return 0;
}


/* A link's "agent": the agents of this name; a tunnel listener's, later. */
int
l_agent(struct ctx *c, const cJSON *it, void *dst)
{
	return agent_name(c, it, ((struct sl_link *)dst)->agent);
}

/* The agent dials the target from its own network: nothing to do here. */
int
link_agent_check(struct ctx *c, const struct sl_link *l, const cJSON *obj)
{
	static const char *const local[] = { "domain", "port", "via",
	    "source", "source_port", "interface", "check", "username",
	    "password" };
	size_t			 i;

	if (l->proto != SL_LINK_AGENT)
		return fail_key(c, "agent", "only for \"protocol\": \"agent\" "
		    "links");
	if (l->agent[0] == '\0')
		return fail_key(c, "agent", "required (the name of the agents "
		    "that carry it)");
	for (i = 0; i < nitems(local); i++)
		if (cJSON_GetObjectItemCaseSensitive(obj, local[i]) != NULL)
			return fail_key(c, local[i], "not for an agent link: "
			    "the agent connects to the target from its own "
			    "network");
	return 0;
}

/* After the listeners, before the services. */

/* One agent name, one secret, on every tunnel listener. */
int
tunnel_check_agents(struct ctx *c)
{
	const struct sl_conf		*conf = c->conf;
	const struct sl_listener	*l, *o;
	const struct sl_agent_cred	*a, *b;
	size_t				 i, j, k, old;

	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		for (j = 0; l->kind == SL_LISTEN_TUNNEL && j < l->nagents;
		    j++) {
			a = &l->agents[j];
			for (k = 0; k < i; k++) {
				o = &conf->listeners[k];
				if (o->kind != SL_LISTEN_TUNNEL ||
				    (b = conf_agent_find(o, a->name)) == NULL)
					continue;
				if (b->secret_len == a->secret_len &&
				    memcmp(b->secret, a->secret,
				    a->secret_len) == 0)
					continue;
				old = push_key(c, "listeners");
				push_index(c, i);
				push_key(c, "agents");
				push_index(c, j);
				push_key(c, "secret");
				fail(c, "not the one listeners[%zu] gives this "
				    "agent: one name, one secret", k);
				pop(c, old);
				return -1;
			}
		}
	}
	return 0;
}

/* After the services. */

static int
tunnel_listeners(struct ctx *c)
{
	const struct sl_conf	*conf = c->conf;
	size_t			 i, old;
	int			 rc = 0;

	for (i = 0; i < conf->nlisteners && rc == 0; i++) {
		if (conf->listeners[i].kind != SL_LISTEN_TUNNEL ||
		    conf->listeners[i].nagents > 0)
			continue;
		old = push_key(c, "listeners");
		push_index(c, i);
		rc = fail_key(c, "agents", "required: the agents it accepts "
		    "(or services with a clientsecret)");
		pop(c, old);
	}
	return rc;
}

static int
agent_known(const struct sl_conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].kind == SL_LISTEN_TUNNEL &&
		    conf_agent_find(&conf->listeners[i], name) != NULL)
			return 1;
	return 0;
}

/* Every "protocol": "agent" link names an agent some listener takes. */
static int
tunnel_links(struct ctx *c)
{
	const struct sl_conf	*conf = c->conf;
	size_t			 i, old;
	char			 q[80];
	int			 rc = 0;

	for (i = 0; i < conf->nlinks && rc == 0; i++) {
		if (conf->links[i].proto != SL_LINK_AGENT ||
		    agent_known(conf, conf->links[i].agent))
			continue;
		old = push_key(c, "balancer");
		push_key(c, "links");
		push_index(c, i);
		push_key(c, "agent");
		rc = fail(c, "no tunnel listener accepts an agent named %s",
		    quote(conf->links[i].agent, q, sizeof(q)));
		pop(c, old);
	}
	return rc;
}

/* With "agent": the listener its streams hang on, "agent", unbound. */
int
tunnel_agent_listener(struct ctx *c)
{
	struct sl_conf		*conf = c->conf;
	struct sl_listener	*l;

	if (!conf->agent.enabled)
		return 0;
	if (conf_listener_find(conf, "agent") != -1)
		return fail_key(c, "agent", "a listener is named \"agent\", "
		    "the name of the one the agent's streams arrive on");
	if (conf->nlisteners == SL_MAX_LISTENERS)
		return fail(c, "no room for the agent's listener (%d "
		    "listeners at most)", SL_MAX_LISTENERS);
	l = &conf->listeners[conf->nlisteners++];
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "agent");
	l->kind = SL_LISTEN_AGENT;
	l->timeout_ms = conf->handshake_timeout_ms;
	l->max_streams = conf->agent.max_streams;
	l->keepalive_ms = conf->agent.keepalive_ms;
	l->dead_ms = conf->agent.dead_ms;
	return 0;
}


int
tunnel_finish(struct ctx *c)
{
	if (tunnel_user_check(c) == -1 || tunnel_listeners(c) == -1 ||
	    tunnel_links(c) == -1)
		return -1;
	return proxyserver_clients(c);
}

/* The agent's side at run time: what a stream may reach. */

static int
port_in(const struct sl_agent_allow *a, uint16_t port)
{
	size_t	i;

	if (a->nports == 0)
		return 1;
	for (i = 0; i < a->nports; i++)
		if (port >= a->ports[i].lo && port <= a->ports[i].hi)
			return 1;
	return 0;
}

/* host is name or one of its subdomains (host lower case). */
static int
domain_in(const struct sl_agent_allow *a, const char *host)
{
	size_t	i, hl = strlen(host), dl;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (i = 0; i < a->ndomains; i++) {
		dl = strlen(a->domains[i]);
		if (dl > hl || memcmp(host + hl - dl, a->domains[i], dl) != 0)
			continue;
		if (dl == hl || host[hl - dl - 1] == '.')
			return 1;
	}
	return 0;
}

/* An address some entry admits with the port (its ips, as matchers'). */
static int
ip_allowed(const struct sl_agent *ag, const struct sockaddr *sa,
    uint16_t port)
{
	size_t	i;

	for (i = 0; i < ag->nallow; i++)
		if (port_in(&ag->allow[i], port) &&
		    policy_cidrs_match(ag->allow[i].ips, ag->allow[i].nips, sa))
			return 1;
	return 0;
}

/* A resolved address as a socket address (the port is not looked at). */
static void
res_sockaddr(const struct sl_res_addr *r, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (r->family == 4) {
		ss->ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, r->addr, 4);
	} else {
		ss->ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, r->addr, 16);
	}
}

int
conf_agent_allows(const struct sl_agent *ag, const char *host,
    const struct sockaddr *addr, uint16_t port, struct sl_res_addr *res,
    uint32_t *nres)
{
	struct sockaddr_storage	ss;
	uint32_t		i, kept = 0;
	size_t			j;

	if (ag->local_host[0] != '\0')
		return 1;
	if (host == NULL)
		return addr != NULL && ip_allowed(ag, addr, port);
	for (j = 0; j < ag->nallow; j++)
		if (port_in(&ag->allow[j], port) &&
		    domain_in(&ag->allow[j], host))
			return 1;
	if (res == NULL || nres == NULL)
		return 0;
	for (i = 0; i < *nres; i++) {
		res_sockaddr(&res[i], &ss);
		if (ip_allowed(ag, (const struct sockaddr *)&ss, port))
			res[kept++] = res[i];
	}
	*nres = kept;
	return kept > 0;
}

int
conf_agent_needs_addresses(const struct sl_agent *ag)
{
	size_t	i;

	if (ag->local_host[0] != '\0')
		return 0;
	for (i = 0; i < ag->nallow; i++)
		if (ag->allow[i].nips > 0)
			return 1;
	return 0;
}
