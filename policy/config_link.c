/*
 * The configuration's links (balancer.links): each link's keys, its
 * health check, the rules that span a link's keys, unique names, and
 * "via" chains resolved once every link is known.  Part of the loader
 * (config.c, config_priv.h).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

struct link_state {
	const char	*via;		/* "via" name, inside the cJSON */
	uint64_t	 seen;		/* keys given, BIT(L_*) */
	uint16_t	 source_port;	/* applied once "source" is read */
};

static const char *const proto_names[] = {
	[SL_LINK_DIRECT] = "direct",
	[SL_LINK_SOCKS5] = "socks5",
	[SL_LINK_AGENT] = "agent",
};

/* Links. */

enum {
	L_PROTOCOL, L_DOMAIN, L_PORT, L_TIMEOUT, L_WEIGHT, L_INTERFACE,
	L_NAME, L_SOURCE, L_USERNAME, L_PASSWORD, L_VIA, L_MAXCONN,
	L_MATCHERS, L_MAXFAILS, L_COOLDOWN, L_CHECK, L_SELECTABLE,
	L_SOURCE_PORT, L_PROXY, L_AGENT
};

static int
l_protocol(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	int		 v;

	if (get_enum(c, it, proto_names, nitems(proto_names), 0, &v) == -1)
		return -1;
	l->proto = (enum sl_link_proto)v;
	return 0;
}

/* PythTRT writes "" for "no upstream"; only socks5 links need one. */
int
l_domain(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 0, SL_MAX_NAME, &s) == -1)
		return -1;
	if (*s != '\0' && !valid_host(s))
		return fail(c, "%s is not a host name or IP address",
		    quote(s, q, sizeof(q)));
	memcpy(l->host, s, strlen(s) + 1);
	return 0;
}

/* 0 is PythTRT's "no port"; link_check() decides whether that is fine. */
static int
l_port(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;

	if (cJSON_IsNumber(it) && it->valuedouble == 0) {
		l->port = 0;
		return 0;
	}
	return get_port(c, it, &l->port);
}

static int
l_interface(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 0, IF_NAMESIZE - 1, &s) == -1)
		return -1;
	if (!valid_ifname(s))
		return fail(c, "%s is not an interface name",
		    quote(s, q, sizeof(q)));
	memcpy(l->interface, s, strlen(s) + 1);
	return 0;
}

static int
l_name(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, sizeof(l->name) - 1, &s) == -1)
		return -1;
	if (!valid_word(s))
		return fail(c, "%s is not a link name ([A-Za-z0-9_.-])",
		    quote(s, q, sizeof(q)));
	memcpy(l->name, s, strlen(s) + 1);
	return 0;
}

int
l_source(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (parse_ip(s, 0, &l->source, &l->sourcelen) == -1)
		return fail(c, "%s is not an IP address literal",
		    quote(s, q, sizeof(q)));
	return 0;
}

/* Kept aside: "source" may come after it. */
static int
l_source_port(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port0(c, it, &c->ls[c->link].source_port);
}

static int
l_username(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;

	if (get_str(c, it, 1, sizeof(l->username) - 1, &s) == -1)
		return -1;
	memcpy(l->username, s, strlen(s) + 1);
	return 0;
}

static int
l_password(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;
	const char	*s;

	if (get_str(c, it, 1, sizeof(l->password) - 1, &s) == -1)
		return -1;
	memcpy(l->password, s, strlen(s) + 1);
	return 0;
}

/* Names are resolved once every link is known (resolve_via()). */
static int
l_via(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;

	return get_str(c, it, 1, sizeof(l->name) - 1, &c->ls[c->link].via);
}

/* The active health check: a TCP connect to target every interval. */
enum { C_TARGET, C_INTERVAL, C_TIMEOUT, C_FAILS, C_PASSES };

static int
c_target(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_check	*k = dst;

	return get_addr(c, it, 0, &k->target, &k->targetlen,
	    "an address and port (ip:port or [ipv6]:port)");
}

#define COFF(f)		offsetof(struct sl_check, f)
static const struct keydef check_keys[] = {
	[C_TARGET] = { "target", K_FN, c_target, 0, 0, 0 },
	[C_INTERVAL] = { "interval", K_MS, NULL, COFF(interval_ms), 0, 0 },
	[C_TIMEOUT] = { "timeout", K_MS, NULL, COFF(timeout_ms), 0, 0 },
	[C_FAILS] = { "fails", K_UINT, NULL, COFF(fails), 1, 1000 },
	[C_PASSES] = { "passes", K_UINT, NULL, COFF(passes), 1, 1000 },
};

static int
l_check(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_check	*k = &((struct sl_link *)dst)->check;
	uint64_t		 seen = 0;

	k->interval_ms = 5 * 1000;
	k->timeout_ms = 2 * 1000;
	k->fails = 2;
	k->passes = 1;
	if (walk(c, it, check_keys, nitems(check_keys), k, &seen) == -1)
		return -1;
	if (!(seen & BIT(C_TARGET)))
		return fail_key(c, "target", "required");
	/* One probe at a time: the next starts after this one timed out. */
	if (k->timeout_ms > k->interval_ms)
		return fail_key(c, "timeout", "longer than interval");
	k->enabled = 1;
	return 0;
}

static int
l_matchers(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = dst;

	return parse_matchers(c, it, &l->matchers, &l->nmatchers);
}

/* PROXY protocol header to the target: 0 (none), 1 or 2. */
static int
l_proxy(struct ctx *c, const cJSON *it, void *dst)
{
	if (!cJSON_IsNumber(it) || (it->valuedouble != 0 &&
	    it->valuedouble != 1 && it->valuedouble != 2))
		return fail(c, "expected 0 (none), 1 or 2 (PROXY protocol "
		    "version)");
	((struct sl_link *)dst)->proxy_protocol = (uint8_t)it->valueint;
	return 0;
}

#define LOFF(f)		offsetof(struct sl_link, f)
static const struct keydef link_keys[] = {
	[L_PROTOCOL] = { "protocol", K_FN, l_protocol, 0, 0, 0 },
	[L_DOMAIN] = { "domain", K_FN, l_domain, 0, 0, 0 },
	[L_PORT] = { "port", K_FN, l_port, 0, 0, 0 },
	[L_TIMEOUT] = { "timeout", K_MS, NULL, LOFF(timeout_ms), 0, 0 },
	[L_WEIGHT] = { "weight", K_UINT, NULL, LOFF(weight), 1,
	    CONF_MAX_COUNT },
	[L_INTERFACE] = { "interface", K_FN, l_interface, 0, 0, 0 },
	[L_NAME] = { "name", K_FN, l_name, 0, 0, 0 },
	[L_SOURCE] = { "source", K_FN, l_source, 0, 0, 0 },
	[L_USERNAME] = { "username", K_FN, l_username, 0, 0, 0 },
	[L_PASSWORD] = { "password", K_FN, l_password, 0, 0, 0 },
	[L_VIA] = { "via", K_FN, l_via, 0, 0, 0 },
	[L_MAXCONN] = { "max_connections", K_UINT, NULL,
	    LOFF(max_connections), 0, CONF_MAX_COUNT },
	[L_MATCHERS] = { "matchers", K_FN, l_matchers, 0, 0, 0 },
	[L_MAXFAILS] = { "max_fails", K_UINT, NULL, LOFF(max_fails), 0, 1000 },
	[L_COOLDOWN] = { "cooldown", K_MS, NULL, LOFF(cooldown_ms), 0, 0 },
	[L_CHECK] = { "check", K_FN, l_check, 0, 0, 0 },
	[L_SELECTABLE] = { "selectable", K_BOOL, NULL, LOFF(selectable), 0,
	    0 },
	[L_SOURCE_PORT] = { "source_port", K_FN, l_source_port, 0, 0, 0 },
	[L_PROXY] = { "proxy_protocol", K_FN, l_proxy, 0, 0, 0 },
	[L_AGENT] = { "agent", K_FN, l_agent, 0, 0, 0 },
};

static int
check_socks5(struct ctx *c, const struct sl_link *l, uint64_t seen)
{
	if (l->host[0] == '\0')
		return fail_key(c, "domain", "required for a socks5 link");
	if (!(seen & BIT(L_PORT)))
		return fail_key(c, "port", "required for a socks5 link");
	if (l->port == 0)
		return fail_key(c, "port", "0 is not a port (1-65535)");
	if ((seen & BIT(L_USERNAME)) && !(seen & BIT(L_PASSWORD)))
		return fail_key(c, "password", "required with username");
	if ((seen & BIT(L_PASSWORD)) && !(seen & BIT(L_USERNAME)))
		return fail_key(c, "username", "required with password");
	return 0;
}

/* Rules that tie several keys of one link together. */
static int
link_check(struct ctx *c, struct sl_link *l, uint64_t seen)
{
	if ((seen & BIT(L_SOURCE_PORT)) && !(seen & BIT(L_SOURCE)))
		return fail_key(c, "source", "required with source_port");
	if (l->proto == SL_LINK_AGENT || (seen & BIT(L_AGENT)))
		return link_agent_check(c, l, c->link_obj);
	source_port(&l->source, &l->sourcelen, c->ls[c->link].source_port);
	if (l->proto == SL_LINK_SOCKS5)
		return check_socks5(c, l, seen);
	if (l->host[0] != '\0')
		return fail_key(c, "domain",
		    "only socks5 links have an upstream host");
	if (l->port != 0)
		return fail_key(c, "port",
		    "only socks5 links have an upstream port");
	if (seen & BIT(L_USERNAME))
		return fail_key(c, "username",
		    "only socks5 links take credentials");
	if (seen & BIT(L_PASSWORD))
		return fail_key(c, "password",
		    "only socks5 links take credentials");
	if (seen & BIT(L_VIA))
		return fail_key(c, "via",
		    "only socks5 links can be chained");
	return 0;
}

void
link_defaults(struct sl_link *l, const char *name)
{
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->proto = SL_LINK_DIRECT;
	l->selectable = 1;
	l->via = -1;
	l->timeout_ms = 10 * 1000;
	l->weight = 1;
	l->max_fails = 3;
	l->cooldown_ms = 10 * 1000;
}

static int
link_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_link	*l = (struct sl_link *)arg + i;
	char		 name[32];

	snprintf(name, sizeof(name), "link%zu", i);
	link_defaults(l, name);
	c->link = i;
	c->link_obj = it;
	if (walk(c, it, link_keys, nitems(link_keys), l, &c->ls[i].seen) == -1)
		return -1;
	return link_check(c, l, c->ls[i].seen);
}

/* Names are how "via" and the counters refer to links: no two alike. */
static int
check_names(struct ctx *c)
{
	const struct sl_link	*l = c->conf->links;
	size_t			 i, j, old;
	char			 q[80];

	for (i = 1; i < c->conf->nlinks; i++) {
		for (j = 0; j < i && strcmp(l[i].name, l[j].name) != 0; j++)
			;
		if (j == i)
			continue;
		old = push_index(c, i);
		if (c->ls[i].seen & BIT(L_NAME))
			push_key(c, "name");
		fail(c, "%s %s is already taken",
		    c->ls[i].seen & BIT(L_NAME) ? "name" : "default name",
		    quote(l[i].name, q, sizeof(q)));
		pop(c, old);
		return -1;
	}
	return 0;
}

static int
find_link(const struct sl_conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nlinks; i++)
		if (strcmp(conf->links[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Follow the chain from link i: it must end, and not be too long. */
static int
check_chain(struct ctx *c, size_t i)
{
	const struct sl_link	*l = c->conf->links;
	uint8_t			 seen[SL_MAX_LINKS] = { 0 };
	size_t			 hops = 1;
	int			 j;
	char			 q[80];

	seen[i] = 1;
	for (j = l[i].via; j >= 0; j = l[j].via) {
		if (seen[j])
			return fail(c, "chain loops through link %s",
			    quote(l[j].name, q, sizeof(q)));
		seen[j] = 1;
		if (l[j].proto == SL_LINK_SOCKS5)
			hops++;
	}
	if (hops > SL_MAX_CHAIN)
		return fail(c, "chain of %zu socks5 hops is longer than %d",
		    hops, SL_MAX_CHAIN);
	return 0;
}

static int
via_item(struct ctx *c, size_t i, int pass)
{
	struct sl_link	*l = &c->conf->links[i];
	char		 q[80];
	int		 j;

	if (pass == 1)
		return check_chain(c, i);
	if ((j = find_link(c->conf, c->ls[i].via)) == -1)
		return fail(c, "no link named %s",
		    quote(c->ls[i].via, q, sizeof(q)));
	if ((size_t)j == i)
		return fail(c, "a link cannot go through itself");
	l->via = j;
	return 0;
}

/* Pass 0 turns "via" names into indexes, pass 1 walks the chains. */
static int
resolve_via(struct ctx *c)
{
	size_t	i, old;
	int	pass, rc;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < c->conf->nlinks; i++) {
			if (c->ls[i].via == NULL)
				continue;
			old = push_index(c, i);
			push_key(c, "via");
			rc = via_item(c, i, pass);
			pop(c, old);
			if (rc == -1)
				return -1;
		}
	}
	return 0;
}

int
conf_links_parse(struct ctx *c, const cJSON *it)
{
	struct sl_conf	*conf = c->conf;
	size_t		 n;

	if (get_array(c, it, SL_MAX_LINKS, &n) == -1)
		return -1;
	if (n == 0)
		return 0;	/* conf_finish() adds the direct link */
	if ((conf->links = alloc_array(c, n, sizeof(*conf->links))) == NULL)
		return -1;
	conf->nlinks = n;
	if ((c->ls = alloc_array(c, n, sizeof(*c->ls))) == NULL ||
	    each(c, it, link_item, conf->links) == -1 ||
	    check_names(c) == -1)
		return -1;
	return resolve_via(c);
}
