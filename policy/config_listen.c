/*
 * Listeners: where clients arrive and what they speak.
 *
 *   "listeners": [ { "name": "socks", "kind": "socks5",
 *                    "listen": "127.0.0.1:1080",
 *                    "users": [ { "username": "u", "password": "p" } ],
 *                    "clients": [ "127.0.0.0/8" ] } ]
 *
 * The older forms stay: PythTRT's root "domain"/"port" and sluice's
 * "listen" (a list of "ip:port") are socks5 listeners named "listen<i>"
 * without users or client limits.
 *
 * ProxyServer's config file is accepted at the root too: its
 * "controller_user" ({"tom": "192.168.1.1"}) is the clients of every
 * public listener without "clients" of its own, each address with the
 * name a session from it shows as its user, and its
 * "proxy_client_whitelist" is the clients of every tunnel listener
 * without "clients" (its agents' addresses).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "config_priv.h"

#define LISTENER_MAX_USERS	10000

static const char *const kind_names[SL_LISTEN_KIND_MAX] = {
	[SL_LISTEN_SOCKS5] = "socks5",
	[SL_LISTEN_HTTP] = "http",
	[SL_LISTEN_MIXED] = "mixed",
	[SL_LISTEN_SNI] = "sni",
	[SL_LISTEN_HOST] = "host",
	[SL_LISTEN_FORWARD] = "forward",
	[SL_LISTEN_UDP_FORWARD] = "udp_forward",
	[SL_LISTEN_REDIRECT] = "redirect",
	[SL_LISTEN_TPROXY] = "tproxy",
	[SL_LISTEN_TPROXY_UDP] = "tproxy_udp",
	[SL_LISTEN_METRICS] = "metrics",
	[SL_LISTEN_TUNNEL] = "tunnel",
	[SL_LISTEN_AGENT] = "agent",
};

const char *
conf_listen_kind_name(enum sl_listen_kind k)
{
	return (unsigned)k < SL_LISTEN_KIND_MAX ? kind_names[k] : "unknown";
}

int
conf_listener_find(const struct sl_conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nlisteners; i++)
		if (strcmp(conf->listeners[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
listener_defaults(struct sl_listener *l, size_t i)
{
	snprintf(l->name, sizeof(l->name), "listen%zu", i);
	l->kind = SL_LISTEN_SOCKS5;
	l->udp_timeout_ms = 60 * 1000;
	l->bind_timeout_ms = 60 * 1000;
	l->udp_idle_ms = 60 * 1000;
	l->max_flows = 4096;
	l->max_flows_per_client = 64;
	l->max_streams = 256;
	l->keepalive_ms = 15 * 1000;
	l->dead_ms = 45 * 1000;
}

/* "ip:port" or "[ipv6]:port"; numeric only, DNS is not for the master. */
static int
get_listen_addr(struct ctx *c, const cJSON *it, struct sl_listener *l)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (parse_hostport(s, 0, l->host, sizeof(l->host), &l->addr,
	    &l->addrlen) == -1)
		return fail(c, "%s is not an address and port (ip:port or "
		    "[ipv6]:port)", quote(s, q, sizeof(q)));
	return 0;
}

/* Entries of a listener array, 1 to SL_MAX_LISTENERS; 0 on error. */
static size_t
listeners_count(struct ctx *c, const cJSON *it)
{
	size_t	n;

	if (!cJSON_IsArray(it)) {
		type_err(c, it, "an array");
		return 0;
	}
	n = (size_t)cJSON_GetArraySize(it);
	if (n == 0 || n > SL_MAX_LISTENERS) {
		fail(c, "expected 1-%d entries, got %zu", SL_MAX_LISTENERS, n);
		return 0;
	}
	return n;
}

/* Sluice's "listen": a list of socks5 listeners. */
static int
listen_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_listener *l = (struct sl_listener *)arg + i;

	listener_defaults(l, i);
	return get_listen_addr(c, it, l);
}

int
r_listen(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	size_t		 n;

	if ((n = listeners_count(c, it)) == 0)
		return -1;
	conf->nlisteners = n;
	return each(c, it, listen_item, conf->listeners);
}

/* A listener's account. */
enum { U_USERNAME, U_PASSWORD };

static int
u_username(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_user	*u = dst;
	const char	*s;

	if (get_str(c, it, 1, sizeof(u->name) - 1, &s) == -1)
		return -1;
	memcpy(u->name, s, strlen(s) + 1);
	return 0;
}

/*
 * A password that starts with "$" is a crypt(3) hash (yescrypt "$y$",
 * SHA-512 "$6$", bcrypt "$2b$"...) and must be one libcrypt can check;
 * anything else is compared as it is.
 */
static int
u_password(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_user	*u = dst;
	const char	*s;

	if (get_str(c, it, 1, sizeof(u->password) - 1, &s) == -1)
		return -1;
	u->hashed = s[0] == '$';
	if (u->hashed && crypt_checksalt(s) != CRYPT_SALT_OK)
		return fail(c, "starts with \"$\" but is not a crypt(3) hash "
		    "this system supports (yescrypt $y$, SHA-512 $6$, ...)");
	memcpy(u->password, s, strlen(s) + 1);
	return 0;
}

static const struct keydef user_keys[] = {
	[U_USERNAME] = { "username", K_FN, u_username, 0, 0, 0 },
	[U_PASSWORD] = { "password", K_FN, u_password, 0, 0, 0 },
};

static int
user_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_user	*u = (struct sl_user *)arg;
	uint64_t	 seen = 0;
	size_t		 j;
	char		 q[80];

	if (walk(c, it, user_keys, nitems(user_keys), &u[i], &seen) == -1)
		return -1;
	if (!(seen & BIT(U_USERNAME)))
		return fail_key(c, "username", "required");
	if (!(seen & BIT(U_PASSWORD)))
		return fail_key(c, "password", "required");
	for (j = 0; j < i; j++)
		if (strcmp(u[j].name, u[i].name) == 0)
			return fail_key(c, "username", quote(u[i].name, q,
			    sizeof(q)));
	return 0;
}

enum {
	LS_NAME, LS_KIND, LS_LISTEN, LS_USERS, LS_CLIENTS, LS_UDP_TIMEOUT,
	LS_BIND_TIMEOUT, LS_TIMEOUT, LS_PROXY, LS_PROXY_FROM, LS_TARGET,
	LS_UDP_IDLE, LS_MAX_FLOWS, LS_MAX_FLOWS_CLIENT, LS_TAPS, LS_UDP,
	LS_LIMITS, LS_AGENTS, LS_MAX_STREAMS, LS_KEEPALIVE, LS_DEAD
};

static int
ls_name(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;
	const char		*s;
	char			 q[80];

	if (get_str(c, it, 1, sizeof(l->name) - 1, &s) == -1)
		return -1;
	if (!valid_word(s))
		return fail(c, "%s is not a name (letters, digits, . _ -)",
		    quote(s, q, sizeof(q)));
	memcpy(l->name, s, strlen(s) + 1);
	return 0;
}

static int
ls_kind(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;
	int			 v;

	/* From tproxy's UDP side on, the kinds are made, not named. */
	if (get_enum(c, it, kind_names, SL_LISTEN_TPROXY_UDP, 0, &v) == -1)
		return -1;
	l->kind = (enum sl_listen_kind)v;
	return 0;
}

static int
ls_listen(struct ctx *c, const cJSON *it, void *dst)
{
	return get_listen_addr(c, it, dst);
}

static int
ls_users(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;
	size_t			 n;

	if (get_array(c, it, LISTENER_MAX_USERS, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "empty: leave \"users\" out for no "
		    "authentication");
	if ((l->users = alloc_array(c, n, sizeof(*l->users))) == NULL)
		return -1;
	l->nusers = n;
	return each(c, it, user_item, l->users);
}

static int
ls_clients(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;

	if ((l->clients = new_array(c, it, sizeof(*l->clients),
	    &l->nclients)) == NULL)
		return -1;
	if (l->nclients == 0)
		return fail(c, "empty: no client could connect");
	return each(c, it, cidr_item, l->clients);
}

static int
ls_proxy_from(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;

	if ((l->proxy_from = new_array(c, it, sizeof(*l->proxy_from),
	    &l->nproxy_from)) == NULL)
		return -1;
	if (l->nproxy_from == 0)
		return fail(c, "empty: no balancer could connect");
	return each(c, it, cidr_item, l->proxy_from);
}

/* "name:port" into l's target; -1 when it is not one. */
static int
target_name(const char *s, struct sl_listener *l)
{
	const char	*colon = strrchr(s, ':');
	char		*end;
	unsigned long	 port;
	size_t		 hl;

	if (colon == NULL || (hl = (size_t)(colon - s)) == 0 ||
	    hl >= sizeof(l->target_host) || colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	memcpy(l->target_host, s, hl);
	l->target_host[hl] = '\0';
	if (!valid_hostname(l->target_host))
		return -1;
	l->target_port = (uint16_t)port;
	return 0;
}

/* forward/udp_forward: "host:port", a name or an address. */
static int
ls_target(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	const char		*s;
	char			 q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (parse_hostport(s, 0, l->target_host, sizeof(l->target_host),
	    &ss, &sl) == 0) {
		l->target_port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		l->target_addr = ss;
		l->target_addrlen = sl;
		if (l->target_port != 0)
			return 0;
	} else if (target_name(s, l) == 0)
		return 0;
	return fail(c, "%s is not a host and port (name:port, ip:port or "
	    "[ipv6]:port)", quote(s, q, sizeof(q)));
}

static int
ls_taps(struct ctx *c, const cJSON *it, void *dst)
{
	return r_taps(c, it, dst);
}

#define LSOFF(f)	offsetof(struct sl_listener, f)
static const struct keydef listener_keys[] = {
	[LS_NAME] = { "name", K_FN, ls_name, 0, 0, 0 },
	[LS_KIND] = { "kind", K_FN, ls_kind, 0, 0, 0 },
	[LS_LISTEN] = { "listen", K_FN, ls_listen, 0, 0, 0 },
	[LS_USERS] = { "users", K_FN, ls_users, 0, 0, 0 },
	[LS_CLIENTS] = { "clients", K_FN, ls_clients, 0, 0, 0 },
	[LS_UDP_TIMEOUT] = { "udp_timeout", K_MS, NULL,
	    LSOFF(udp_timeout_ms), 0, 0 },
	[LS_BIND_TIMEOUT] = { "bind_timeout", K_MS, NULL,
	    LSOFF(bind_timeout_ms), 0, 0 },
	[LS_TIMEOUT] = { "timeout", K_MS, NULL, LSOFF(timeout_ms), 0, 0 },
	[LS_PROXY] = { "proxy_protocol", K_BOOL, NULL, LSOFF(proxy_protocol),
	    0, 0 },
	[LS_PROXY_FROM] = { "proxy_protocol_from", K_FN, ls_proxy_from, 0, 0,
	    0 },
	[LS_TARGET] = { "target", K_FN, ls_target, 0, 0, 0 },
	[LS_UDP_IDLE] = { "udp_idle_timeout", K_MS, NULL, LSOFF(udp_idle_ms),
	    0, 0 },
	[LS_MAX_FLOWS] = { "max_flows", K_UINT, NULL, LSOFF(max_flows), 1,
	    1000000 },
	[LS_MAX_FLOWS_CLIENT] = { "max_flows_per_client", K_UINT, NULL,
	    LSOFF(max_flows_per_client), 1, 1000000 },
	[LS_TAPS] = { "taps", K_FN, ls_taps, 0, 0, 0 },
	[LS_UDP] = { "udp", K_BOOL, NULL, LSOFF(udp), 0, 0 },
	[LS_LIMITS] = { "limits", K_FN, ls_limits, 0, 0, 0 },
	[LS_AGENTS] = { "agents", K_FN, ls_agents, 0, 0, 0 },
	[LS_MAX_STREAMS] = { "max_streams", K_UINT, NULL, LSOFF(max_streams),
	    1, 65536 },
	[LS_KEEPALIVE] = { "keepalive", K_MS, NULL, LSOFF(keepalive_ms), 0,
	    0 },
	[LS_DEAD] = { "dead_timeout", K_MS, NULL, LSOFF(dead_ms), 0, 0 },
};

/*
 * Agents dial a tunnel listener and speak TLS from the first byte to
 * the tunnel process, which is not a worker: no taps, no limits, no
 * PROXY header (a balancer in front would hide the agents' addresses
 * that "clients" checks; not supported yet).
 */
static int
tunnel_kind_check(struct ctx *c, const struct sl_listener *l,
    uint64_t seen)
{
	static const struct { int key; const char *why; } refused[] = {
		{ LS_TAPS, "a tunnel listener relays no sessions itself" },
		{ LS_LIMITS, "a tunnel listener's agents have max_streams, "
		    "not limits" },
		{ LS_PROXY, "agents speak TLS from the first byte" },
		{ LS_PROXY_FROM, "agents speak TLS from the first byte" },
	};
	size_t	i;

	if (l->kind != SL_LISTEN_TUNNEL) {
		for (i = LS_AGENTS; i <= LS_DEAD; i++)
			if (seen & BIT(i))
				return fail_key(c, listener_keys[i].name,
				    "only for tunnel listeners");
		return 0;
	}
	for (i = 0; i < nitems(refused); i++)
		if (seen & BIT(refused[i].key))
			return fail_key(c, listener_keys[refused[i].key].name,
			    refused[i].why);
	if (l->dead_ms <= l->keepalive_ms)
		return fail_key(c, "dead_timeout", "not above keepalive");
	return 0;
}

/* What only some kinds take, and what some kinds need. */
static int
listener_kind_check(struct ctx *c, const struct sl_listener *l,
    uint64_t seen)
{
	int	fwd = l->kind == SL_LISTEN_FORWARD ||
		    l->kind == SL_LISTEN_UDP_FORWARD;

	if (fwd && !(seen & BIT(LS_TARGET)))
		return fail_key(c, "target", "required (host:port) for a "
		    "forward or udp_forward listener");
	if (!fwd && (seen & BIT(LS_TARGET)))
		return fail_key(c, "target", "only forward and udp_forward "
		    "listeners have a fixed target");
	if (l->kind != SL_LISTEN_UDP_FORWARD && !l->udp &&
	    (seen & (BIT(LS_UDP_IDLE) | BIT(LS_MAX_FLOWS) |
	    BIT(LS_MAX_FLOWS_CLIENT))))
		return fail_key(c, (seen & BIT(LS_UDP_IDLE)) ?
		    "udp_idle_timeout" : (seen & BIT(LS_MAX_FLOWS)) ?
		    "max_flows" : "max_flows_per_client", "only for "
		    "udp_forward listeners and tproxy with \"udp\": true");
	if (l->kind != SL_LISTEN_TPROXY && (seen & BIT(LS_UDP)))
		return fail_key(c, "udp", "only for tproxy listeners");
	if (l->kind >= SL_LISTEN_FORWARD && l->nusers > 0)
		return fail_key(c, "users", "a listener of this kind cannot "
		    "ask for credentials");
	if ((l->kind == SL_LISTEN_UDP_FORWARD || l->udp) &&
	    l->proxy_protocol)
		return fail_key(c, "proxy_protocol", "not for UDP");
	if ((l->kind == SL_LISTEN_TPROXY || l->kind == SL_LISTEN_REDIRECT) &&
	    l->proxy_protocol)
		return fail_key(c, "proxy_protocol", "a transparent listener "
		    "learns the destination from the kernel, not a header");
	if (l->max_flows_per_client > l->max_flows)
		return fail_key(c, "max_flows_per_client", "above max_flows");
	if (l->kind == SL_LISTEN_METRICS && (seen & BIT(LS_TAPS)))
		return fail_key(c, "taps", "a metrics listener relays nothing");
	return tunnel_kind_check(c, l, seen);
}

static int
listener_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_listener	*l = (struct sl_listener *)arg + i;
	uint64_t		 seen = 0;

	listener_defaults(l, i);
	if (walk(c, it, listener_keys, nitems(listener_keys), l, &seen) == -1)
		return -1;
	if (!(seen & BIT(LS_KIND)))
		return fail_key(c, "kind", "required (socks5, http, mixed, sni, "
		    "host, forward, udp_forward, redirect, tproxy, metrics "
		    "or tunnel)");
	if (!(seen & BIT(LS_LISTEN)))
		return fail_key(c, "listen", "required (ip:port)");
	if (l->proxy_protocol && l->nproxy_from == 0)
		return fail_key(c, "proxy_protocol_from", "required with "
		    "proxy_protocol: the balancers trusted to send it");
	if (!l->proxy_protocol && l->nproxy_from > 0)
		return fail_key(c, "proxy_protocol_from", "without "
		    "\"proxy_protocol\": true");
	if ((l->kind == SL_LISTEN_SNI || l->kind == SL_LISTEN_HOST) &&
	    l->nusers > 0)
		return fail_key(c, "users", "a listener of kind sni or host "
		    "cannot ask for credentials");
	return listener_kind_check(c, l, seen);
}

/*
 * A tproxy listener with "udp": true gets a UDP twin on the same address,
 * "NAME.udp", which borrows its arrays (clients, taps).
 */
static int
listeners_twins(struct ctx *c, struct sl_conf *conf)
{
	size_t	i, n = conf->nlisteners;

	for (i = 0; i < n; i++) {
		struct sl_listener *l = &conf->listeners[i], *u;

		if (l->kind != SL_LISTEN_TPROXY || !l->udp)
			continue;
		if (conf->nlisteners == SL_MAX_LISTENERS)
			return fail(c, "with the UDP side of tproxy listeners, "
			    "more than %d listeners", SL_MAX_LISTENERS);
		u = &conf->listeners[conf->nlisteners++];
		*u = *l;
		u->kind = SL_LISTEN_TPROXY_UDP;
		u->borrowed = 1;
		u->users = NULL;
		u->nusers = 0;
		u->proxy_from = NULL;
		u->nproxy_from = 0;
		if (strlen(l->name) + 4 >= sizeof(u->name))
			return fail(c, "listener name %s: too long for its "
			    "UDP side (\"%s.udp\")", l->name, l->name);
		snprintf(u->name, sizeof(u->name), "%s.udp", l->name);
	}
	return 0;
}

int
r_listeners(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	size_t		 n;

	if ((n = listeners_count(c, it)) == 0)
		return -1;
	conf->nlisteners = n;
	if (each(c, it, listener_item, conf->listeners) == -1)
		return -1;
	return listeners_twins(c, conf);
}

/* Every listener has its own name and its own address. */
int
listeners_check(struct ctx *c, const char *key)
{
	struct sl_conf	*conf = c->conf;
	size_t		 i, j, old;
	char		 q[SL_ADDRSTRLEN];
	int		 rc = 0;

	old = push_key(c, key);
	for (i = 0; i < conf->nlisteners && rc == 0; i++) {
		const struct sl_listener *l = &conf->listeners[i];

		for (j = 0; j < i && rc == 0; j++) {
			const struct sl_listener *o = &conf->listeners[j];
			size_t old2 = push_index(c, i);

			if (strcmp(o->name, l->name) == 0)
				rc = fail_key(c, "name", "used by another "
				    "listener");
			else if (o->addrlen == l->addrlen &&
			    SL_LISTENER_UDP(o) == SL_LISTENER_UDP(l) &&
			    memcmp(&o->addr, &l->addr, l->addrlen) == 0)
				rc = fail(c, "\"%s\" is already listed",
				    sockaddr_fmt((const void *)&l->addr, q,
				    sizeof(q)));
			pop(c, old2);
		}
	}
	pop(c, old);
	return rc;
}

/*
 * A listener routing by name needs names to route: services in config
 * or a dbbackend.  Its read timeout defaults to the root "timeout".
 */
int
listeners_check_routed(struct ctx *c, const char *key)
{
	struct sl_conf	*conf = c->conf;
	size_t		 i, old, old2;
	int		 rc = 0;

	old = push_key(c, key);
	for (i = 0; i < conf->nlisteners && rc == 0; i++) {
		struct sl_listener *l = &conf->listeners[i];

		if (l->timeout_ms == 0)
			l->timeout_ms = conf->handshake_timeout_ms;
		if (l->kind != SL_LISTEN_SNI && l->kind != SL_LISTEN_HOST)
			continue;
		old2 = push_index(c, i);
		if (conf->services == NULL && !conf->dbbackend.enabled)
			rc = fail_key(c, "kind", "sni and host listeners need "
			    "\"services\" or a \"dbbackend\"");
		pop(c, old2);
	}
	pop(c, old);
	return rc;
}

/* An implicit listener: PythTRT's domain/port, 0.0.0.0:1080 by default. */
void
listener_implicit(struct sl_conf *conf, uint16_t port)
{
	struct sl_listener	*l = &conf->listeners[0];

	listener_defaults(l, 0);	/* keeps what "domain" set */
	if (l->host[0] == '\0') {
		snprintf(l->host, sizeof(l->host), "0.0.0.0");
		parse_ip(l->host, 0, &l->addr, &l->addrlen);
	}
	set_port(&l->addr, port);
	conf->nlisteners = 1;
}

void
listeners_free(struct sl_conf *conf)
{
	size_t	i;

	for (i = 0; i < SL_MAX_LISTENERS; i++) {
		if (conf->listeners[i].borrowed)
			continue;
		if (conf->listeners[i].users != NULL)
			explicit_bzero(conf->listeners[i].users,
			    conf->listeners[i].nusers * sizeof(struct sl_user));
		free(conf->listeners[i].users);
		free(conf->listeners[i].clients);
		free(conf->listeners[i].proxy_from);
		taps_conf_free(conf->listeners[i].taps,
		    conf->listeners[i].ntaps);
		creds_free(conf->listeners[i].agents,
		    conf->listeners[i].nagents);
		free(conf->listeners[i].controllers);
	}
}

/* ProxyServer's keys: "controller_user" and "proxy_client_whitelist". */

static int
controller_name(struct ctx *c, const char *s, struct sl_controller *out)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n >= sizeof(out->name))
		return fail(c, "a controller's name is 1-%zu bytes",
		    sizeof(out->name) - 1);
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return fail(c, "a controller's name is printable "
			    "ASCII without spaces");
	memcpy(out->name, s, n + 1);
	return 0;
}

int
r_controller_user(struct ctx *c, const cJSON *it, void *dst)
{
	const cJSON		*v;
	struct sl_controller	*ctl;
	size_t			 n, i = 0, j, old;
	int			 rc = 0;

	(void)dst;
	if (!cJSON_IsObject(it))
		return type_err(c, it, "an object (name -> address)");
	if ((n = (size_t)cJSON_GetArraySize(it)) == 0)
		return fail(c, "empty: no controller could connect");
	if (n > CONF_MAX_ITEMS)
		return fail(c, "too many entries (max %d)", CONF_MAX_ITEMS);
	if ((ctl = c->ctl = alloc_array(c, n, sizeof(*ctl))) == NULL)
		return -1;
	c->nctl = n;
	cJSON_ArrayForEach(v, it) {
		old = push_key(c, v->string);
		if (controller_name(c, v->string, &ctl[i]) == -1 ||
		    cidr_item(c, v, &ctl[i].addr, 0) == -1)
			rc = -1;
		for (j = 0; rc == 0 && j < i; j++)
			if (ctl[j].addr.family == ctl[i].addr.family &&
			    ctl[j].addr.prefix == ctl[i].addr.prefix &&
			    memcmp(ctl[j].addr.addr, ctl[i].addr.addr,
			    sizeof(ctl[i].addr.addr)) == 0)
				rc = fail(c, "the same address as %s",
				    ctl[j].name);
		pop(c, old);
		if (rc == -1)
			return -1;
		i++;
	}
	return 0;
}

int
r_proxy_client_whitelist(struct ctx *c, const cJSON *it, void *dst)
{
	(void)dst;
	if ((c->wl = new_array(c, it, sizeof(*c->wl), &c->nwl)) == NULL)
		return -1;
	if (c->nwl == 0)
		return fail(c, "empty: no agent could connect");
	return each(c, it, cidr_item, c->wl);
}

static int
copy_cidrs(struct ctx *c, struct sl_cidr **dst, size_t *n,
    const struct sl_cidr *src, size_t nsrc)
{
	if ((*dst = alloc_array(c, nsrc, sizeof(**dst))) == NULL)
		return -1;
	memcpy(*dst, src, nsrc * sizeof(**dst));
	*n = nsrc;
	return 0;
}

/* ProxyServer's lists on the listeners without "clients" of their own. */
int
proxyserver_clients(struct ctx *c)
{
	struct sl_conf		*conf = c->conf;
	struct sl_listener	*l;
	size_t			 i, j;

	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		if (l->borrowed || l->nclients > 0)
			continue;
		if (l->kind == SL_LISTEN_TUNNEL && c->nwl > 0 &&
		    copy_cidrs(c, &l->clients, &l->nclients, c->wl,
		    c->nwl) == -1)
			return -1;
		if (l->kind == SL_LISTEN_TUNNEL || l->kind ==
		    SL_LISTEN_METRICS || l->kind == SL_LISTEN_AGENT ||
		    c->nctl == 0)
			continue;
		if ((l->controllers = alloc_array(c, c->nctl,
		    sizeof(*l->controllers))) == NULL ||
		    (l->clients = alloc_array(c, c->nctl,
		    sizeof(*l->clients))) == NULL)
			return -1;
		memcpy(l->controllers, c->ctl, c->nctl * sizeof(*c->ctl));
		l->ncontrollers = c->nctl;
		for (j = 0; j < c->nctl; j++)
			l->clients[j] = c->ctl[j].addr;
		l->nclients = c->nctl;
	}
	/* A tproxy's UDP side shares its listener's arrays. */
	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		for (j = 0; l->borrowed && j < conf->nlisteners; j++)
			if (!conf->listeners[j].borrowed &&
			    strlen(conf->listeners[j].name) + 4 ==
			    strlen(l->name) && strncmp(l->name,
			    conf->listeners[j].name, strlen(l->name) - 4) == 0) {
				l->clients = conf->listeners[j].clients;
				l->nclients = conf->listeners[j].nclients;
				l->controllers = conf->listeners[j].controllers;
				l->ncontrollers =
				    conf->listeners[j].ncontrollers;
			}
	}
	return 0;
}
