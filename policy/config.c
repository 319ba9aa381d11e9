/*
 * Configuration loader: JSON text in, validated struct sl_conf out.
 *
 * Parsing is table driven.  Each kind of JSON object (root, balancer,
 * link, matcher) has a table of the keys it accepts and one walker
 * checks every member against it, so unknown and duplicate keys are
 * caught in one place and a typo cannot silently change routing.
 * Values are checked as they are read; rules that span several keys
 * (a socks5 link needs domain and port, "via" names another link) run
 * once the object or the whole link list is known.
 *
 * The context keeps the JSON path of the value being read, so every
 * error says where it is: "balancer.links[1].port: 70000 is not a port
 * (1-65535)".  Problems with the document itself use the path "config".
 *
 * This file holds the document and the root keys, listeners and the
 * balancer; its links are in config_link.c.  The generic JSON helpers
 * are in config_json.c, request matchers in config_match.c, TcpRoute's upstream
 * tree and the resolver keys in config_tcproute.c, and config_priv.h is
 * what they share.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"	/* enum sl_log_level only */
#include "config_priv.h"
#include "services.h"


static const char *const strategy_names[] = {
	[SL_STRAT_ROUND_ROBIN] = "round_robin",
	[SL_STRAT_RANDOM] = "random_link",
	[SL_STRAT_LEAST_CONN] = "least_connections",
	[SL_STRAT_FAILOVER] = "failover",
	[SL_STRAT_FASTEST] = "fastest",
};
static int
b_links(struct ctx *c, const cJSON *it, void *dst)
{
	return conf_links_parse(c, it);
}

static int
b_strategy(struct ctx *c, const cJSON *it, void *dst)
{
	int	v;

	if (get_enum(c, it, strategy_names, nitems(strategy_names), 0,
	    &v) == -1)
		return -1;
	c->conf->strategy = (enum sl_strategy)v;
	return 0;
}

static int
b_matchers(struct ctx *c, const cJSON *it, void *dst)
{
	return parse_matchers(c, it, &c->conf->matchers, &c->conf->nmatchers);
}

static const struct keydef balancer_keys[] = {
	{ "links", K_FN, b_links, 0, 0, 0 },
	{ "strategy", K_FN, b_strategy, 0, 0, 0 },
	{ "matchers", K_FN, b_matchers, 0, 0, 0 },
	{ "retries", K_UINT, NULL, offsetof(struct sl_conf, retries), 0, 16 },
};

/* The root object. */

enum {
	R_DOMAIN, R_PORT, R_TIMEOUT, R_MAX_THREADS, R_BALANCER, R_USER,
	R_RESOLVER_USER,
	R_WORKERS, R_CHROOT, R_SHUTDOWN, R_LOG_LEVEL, R_IDLE, R_SPLICE,
	R_RESOLVE, R_NAMESERVERS, R_LISTEN, R_NS_BACKUP, R_BLACKLIST,
	R_TCPROUTE_BLACKLIST, R_MIN_TTL, R_MAX_TTL, R_NEG_TTL, R_CACHE_SIZE,
	R_HIJACK_INTERVAL, R_HIJACK_PROBES, R_HAPPY_EYEBALLS, R_ROUTE_CACHE,
	R_UPSTREAM, R_LISTENERS, R_SERVICES, R_DBBACKEND, R_MAX_HANDSHAKES,
	R_DENY_TARGETS, R_CONTROL, R_CONTROL_GROUP, R_LOG_FORMAT,
	R_ACCESS_LOG, R_REGISTRY_USER, R_TENANTS, R_TENANT, R_USER_ID,
	R_UID_BASE, R_LIMITS, R_DNS_0X20, R_AGENT, R_TUNNEL_USER,
	R_CONTROLLER_USER, R_PROXY_CLIENT_WHITELIST
};

/* PythTRT's listen host; numeric only, DNS is not for the master. */
static int
r_domain(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*ls = &c->conf->listeners[0];
	const char		*s;
	char			 q[80];

	if (get_str(c, it, 1, sizeof(ls->host) - 1, &s) == -1)
		return -1;
	if (parse_ip(s, 0, &ls->addr, &ls->addrlen) == -1)
		return fail(c, "%s is not an IP address literal",
		    quote(s, q, sizeof(q)));
	memcpy(ls->host, s, strlen(s) + 1);
	return 0;
}

static int
r_port(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port(c, it, &c->port);
}

static int
b_walk(struct ctx *c, const cJSON *it, void *dst)
{
	return walk(c, it, balancer_keys, nitems(balancer_keys), dst, NULL);
}

#define ROFF(f)		offsetof(struct sl_conf, f)
static const struct keydef root_keys[] = {
	[R_DOMAIN] = { "domain", K_FN, r_domain, 0, 0, 0 },
	[R_PORT] = { "port", K_FN, r_port, 0, 0, 0 },
	[R_TIMEOUT] = { "timeout", K_MS, NULL, ROFF(handshake_timeout_ms),
	    0, 0 },
	[R_MAX_THREADS] = { "max_threads", K_UINT, NULL, ROFF(max_sessions),
	    1, CONF_MAX_COUNT },
	[R_BALANCER] = { "balancer", K_FN, b_walk, 0, 0, 0 },
	[R_USER] = { "user", K_FN, r_user, 0, 0, 0 },
	[R_RESOLVER_USER] = { "resolver_user", K_FN, r_resolver_user, 0, 0,
	    0 },
	[R_WORKERS] = { "workers", K_UINT, NULL, ROFF(workers), 0,
	    SL_MAX_WORKERS },
	[R_CHROOT] = { "chroot", K_FN, r_chroot, 0, 0, 0 },
	[R_SHUTDOWN] = { "shutdown_timeout", K_UINT, NULL,
	    ROFF(shutdown_timeout_s), 0, 3600 },
	[R_LOG_LEVEL] = { "log_level", K_FN, r_log_level, 0, 0, 0 },
	[R_IDLE] = { "idle_timeout", K_MS, NULL, ROFF(idle_timeout_ms), 0, 0 },
	[R_SPLICE] = { "splice", K_BOOL, NULL, ROFF(splice), 0, 0 },
	[R_RESOLVE] = { "resolve_timeout", K_MS, NULL,
	    ROFF(resolve_timeout_ms), 0, 0 },
	[R_NAMESERVERS] = { "nameservers", K_FN, r_nameservers, 0, 0, 0 },
	[R_LISTEN] = { "listen", K_FN, r_listen, 0, 0, 0 },
	[R_NS_BACKUP] = { "nameservers_backup", K_FN, r_nameservers_backup,
	    0, 0, 0 },
	[R_BLACKLIST] = { "ip_blacklist", K_FN, r_ip_blacklist, 0, 0, 0 },
	[R_TCPROUTE_BLACKLIST] = { "IpBlacklist", K_FN, r_ip_blacklist, 0,
	    0, 0 },
	[R_MIN_TTL] = { "dns_min_ttl", K_UINT, NULL, ROFF(dns_min_ttl_s), 0,
	    86400 },
	[R_MAX_TTL] = { "dns_max_ttl", K_UINT, NULL, ROFF(dns_max_ttl_s), 1,
	    604800 },
	[R_NEG_TTL] = { "dns_negative_ttl", K_UINT, NULL,
	    ROFF(dns_negative_ttl_s), 0, 86400 },
	[R_CACHE_SIZE] = { "dns_cache_size", K_UINT, NULL,
	    ROFF(dns_cache_size), 0, CONF_MAX_COUNT },
	[R_HIJACK_INTERVAL] = { "hijack_check_interval", K_UINT, NULL,
	    ROFF(hijack_interval_s), 0, 86400 },
	[R_HIJACK_PROBES] = { "hijack_probes", K_FN, r_hijack_probes, 0, 0,
	    0 },
	[R_HAPPY_EYEBALLS] = { "happy_eyeballs_delay", K_MS, NULL,
	    ROFF(happy_eyeballs_ms), 0, 0 },
	[R_ROUTE_CACHE] = { "route_cache_ttl", K_UINT, NULL,
	    ROFF(route_cache_ttl_s), 0, 86400 },
	[R_UPSTREAM] = { "upstream", K_FN, r_upstream, 0, 0, 0 },
	[R_LISTENERS] = { "listeners", K_FN, r_listeners, 0, 0, 0 },
	[R_SERVICES] = { "services", K_FN, r_services, 0, 0, 0 },
	[R_DBBACKEND] = { "dbbackend", K_FN, r_dbbackend, 0, 0, 0 },
	[R_MAX_HANDSHAKES] = { "max_handshakes", K_UINT, NULL,
	    ROFF(max_handshakes), 1, CONF_MAX_COUNT },
	[R_DENY_TARGETS] = { "deny_targets", K_FN, r_deny_targets, 0, 0, 0 },
	[R_CONTROL] = { "control", K_FN, r_control, 0, 0, 0 },
	[R_CONTROL_GROUP] = { "control_group", K_FN, r_control_group, 0, 0,
	    0 },
	[R_LOG_FORMAT] = { "log_format", K_FN, r_log_format, 0, 0, 0 },
	[R_ACCESS_LOG] = { "access_log", K_FN, r_access_log, 0, 0, 0 },
	[R_REGISTRY_USER] = { "registry_user", K_FN, r_registry_user, 0, 0,
	    0 },
	[R_TENANTS] = { "tenants", K_FN, r_tenants, 0, 0, 0 },
	[R_TENANT] = { "tenant", K_FN, r_tenant, 0, 0, 0 },
	[R_USER_ID] = { "user_id", K_UINT, NULL, ROFF(user_id), 1,
	    UINT32_MAX - 1 },
	[R_UID_BASE] = { "uid_base", K_UINT, NULL, ROFF(uid_base), 1,
	    UINT32_MAX - 1 - SL_MAX_TENANTS },
	[R_LIMITS] = { "limits", K_FN, r_limits, 0, 0, 0 },
	[R_DNS_0X20] = { "dns_0x20", K_BOOL, NULL, ROFF(dns_0x20), 0, 0 },
	[R_AGENT] = { "agent", K_FN, r_agent, 0, 0, 0 },
	[R_TUNNEL_USER] = { "tunnel_user", K_FN, r_tunnel_user, 0, 0, 0 },
	[R_CONTROLLER_USER] = { "controller_user", K_FN, r_controller_user,
	    0, 0, 0 },
	[R_PROXY_CLIENT_WHITELIST] = { "proxy_client_whitelist", K_FN,
	    r_proxy_client_whitelist, 0, 0, 0 },
};

static struct sl_conf *
conf_new(void)
{
	struct sl_conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	conf->handshake_timeout_ms = 5 * 1000;
	conf->idle_timeout_ms = 300 * 1000;
	conf->max_sessions = 200;
	snprintf(conf->user, sizeof(conf->user), "_sluice");
	snprintf(conf->resolver_user, sizeof(conf->resolver_user),
	    "_sluice-resolver");
	snprintf(conf->registry_user, sizeof(conf->registry_user),
	    "_sluice-registry");
	snprintf(conf->tunnel_user, sizeof(conf->tunnel_user),
	    "_sluice-tunnel");
	snprintf(conf->chroot, sizeof(conf->chroot), "/var/empty");
	snprintf(conf->tenant, sizeof(conf->tenant), "default");
	conf->shutdown_timeout_s = 10;
	conf->log_level = SL_LOG_INFO;
	conf->splice = 1;
	conf->resolve_timeout_ms = 5 * 1000;
	conf->nameservers_system = 1;
	conf->dns_min_ttl_s = 30;
	conf->dns_max_ttl_s = 3600;
	conf->dns_negative_ttl_s = 30;
	conf->dns_cache_size = 10000;
	conf->hijack_interval_s = 600;
	conf->dns_0x20 = 1;
	conf->happy_eyeballs_ms = 250;
	conf->route_cache_ttl_s = 600;
	conf->strategy = SL_STRAT_ROUND_ROBIN;
	conf->retries = 1;
	return conf;
}

/* Links only reachable as a "via" hop leave nothing to route to. */
static int
check_selectable(struct ctx *c)
{
	size_t	i, old;

	for (i = 0; i < c->conf->nlinks; i++)
		if (c->conf->links[i].selectable)
			return 0;
	old = push_key(c, "balancer");
	fail_key(c, "links", "no selectable link");
	pop(c, old);
	return -1;
}

/* Defaults that depend on which keys were given; the TcpRoute tree. */
static int
conf_finish(struct ctx *c, uint64_t seen)
{
	struct sl_conf		*conf = c->conf;

	if (seen & BIT(R_TENANTS))
		return tenants_finish(c, seen);
	if ((seen & BIT(R_UPSTREAM)) && (seen & BIT(R_BALANCER)))
		return fail_key(c, "upstream", "cannot be combined with "
		    "balancer");
	if (check_ttls(c, (seen & BIT(R_MAX_TTL)) != 0) == -1)
		return -1;
	if (!(seen & BIT(R_DENY_TARGETS)) && deny_targets_default(c) == -1)
		return -1;
	/*
	 * Half of max_threads: a handshake flood always leaves the other
	 * half to sessions past their handshake, and a burst of honest
	 * clients (a thousand opened at once under max_threads 3000) still
	 * has room.
	 */
	if (!(seen & BIT(R_MAX_HANDSHAKES))) {
		conf->max_handshakes = conf->max_sessions / 2;
		if (conf->max_handshakes == 0)
			conf->max_handshakes = 1;
	}
	if (c->upstream != NULL && tcproute_links(c, c->upstream) == -1)
		return -1;
	if ((seen & BIT(R_LISTEN)) && (seen & (BIT(R_DOMAIN) | BIT(R_PORT))))
		return fail_key(c, "listen",
		    "cannot be combined with domain/port");
	if ((seen & BIT(R_LISTENERS)) &&
	    (seen & (BIT(R_LISTEN) | BIT(R_DOMAIN) | BIT(R_PORT))))
		return fail_key(c, "listeners",
		    "cannot be combined with listen or domain/port");
	/* An agent needs no listener; with "port" it has one too. */
	if (!(seen & (BIT(R_LISTEN) | BIT(R_LISTENERS))) &&
	    (!conf->agent.enabled || (seen & (BIT(R_PORT) | BIT(R_DOMAIN)))))
		listener_implicit(conf, (seen & BIT(R_PORT)) ? c->port : 1080);
	if (listeners_check(c, (seen & BIT(R_LISTENERS)) ? "listeners" :
	    "listen") == -1 || tunnel_agent_listener(c) == -1 ||
	    matchers_check_names(c) == -1 || tunnel_check_agents(c) == -1)
		return -1;
	if (conf->nlinks == 0) {
		conf->links = alloc_array(c, 1, sizeof(*conf->links));
		if (conf->links == NULL)
			return -1;
		conf->nlinks = 1;
		link_defaults(&conf->links[0], "direct");
	}
	if (check_selectable(c) == -1 || services_read(c) == -1 ||
	    tunnel_finish(c) == -1)
		return -1;
	return listeners_check_routed(c, (seen & BIT(R_LISTENERS)) ?
	    "listeners" : "listen");
}

int
conf_parse(const char *text, size_t len, struct sl_conf **out, char *err,
    size_t errlen)
{
	struct ctx	 c;
	cJSON		*root;
	uint64_t	 seen = 0;
	int		 rc;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > SL_MAX_CONF_BYTES)
		return fail(&c, "larger than %u bytes", SL_MAX_CONF_BYTES);
	if ((root = json_load(&c, text, len)) == NULL)
		return -1;
	/* Decides how log_level reads, which may come first. */
	c.tcproute = cJSON_GetObjectItemCaseSensitive(root, "upstream") != NULL;
	c.root = root;
	if ((c.conf = conf_new()) == NULL) {
		cJSON_Delete(root);
		return fail(&c, "out of memory");
	}
	rc = walk(&c, root, root_keys, nitems(root_keys), c.conf, &seen);
	if (rc == 0)
		rc = conf_finish(&c, seen);
	cJSON_Delete(root);
	free(c.ls);
	free(c.ctl);
	free(c.wl);
	if (rc == -1) {
		conf_free(c.conf);
		return -1;
	}
	*out = c.conf;
	return 0;
}

void
conf_free(struct sl_conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nlinks; i++)
		matchers_free(conf->links[i].matchers,
		    conf->links[i].nmatchers);
	free(conf->links);
	matchers_free(conf->matchers, conf->nmatchers);
	free(conf->nameservers);
	free(conf->nameservers_backup);
	free(conf->ip_blacklist);
	free(conf->deny_targets);
	free(conf->hijack_probes);
	listeners_free(conf);
	agent_free(&conf->agent);
	tenants_free(conf);
	services_free(conf->services);
	pcre2_match_context_free(conf->re_mctx);
	free(conf);
}

const char *
conf_strategy_name(enum sl_strategy s)
{
	if ((size_t)s >= nitems(strategy_names))
		return "unknown";
	return strategy_names[s];
}

const char *
conf_policy_name(enum sl_policy p)
{
	if ((size_t)p >= nitems(policy_names))
		return "unknown";
	return policy_names[p];
}
