/*
 * Configuration loader: TcpRoute's document, and the resolver keys its
 * DNS defences brought (nameservers, backup servers, the IP blacklist,
 * hijack probes, cache TTLs).
 *
 * A document with an "upstream" key is TcpRoute's.  It loads unchanged:
 * its root keys are sluice's (port, log_level, nameservers,
 * nameservers_backup, and IpBlacklist beside ip_blacklist), and the
 * upstream tree becomes links and a strategy:
 *
 *   multipath	At the top: strategy fastest, each entry of "list" one
 *		selectable link.  A multipath inside a list is flattened
 *		into the same race; under a socks5 entry it has no meaning
 *		(a hop is one link) and is refused.
 *   direct	A direct link bound to source_ip:source_port; 0.0.0.0 (or
 *		::) with port 0 binds nothing, as in TcpRoute.
 *   socks5	A socks5 link to host:port whose "via" is the link made
 *		from its own "upstream", which is not selectable: it is
 *		only a hop of this chain.  No upstream: a plain connect.
 *
 * Any other top-level entry is the single selectable link.  Links take
 * the order of the document, each before its hops.
 *
 * Generated link names are the entries' JSON paths, brackets included
 * ("upstream.list[1].upstream"), so that a log line points into the
 * file; a name the user writes cannot contain '[', so none can clash.
 * A path longer than a name keeps its first 16 bytes and the keys that
 * fit from its end around the link's index
 * ("upstream.list[1]..#12..upstream.upstream"); a path never holds
 * "..", so that form is unique too.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"	/* enum sl_log_level only */
#include "config_priv.h"

#define NAME_HEAD	16	/* path bytes kept before an elision */

enum tr_type { T_MULTIPATH, T_DIRECT, T_SOCKS5 };
enum tr_where { W_TOP, W_LIST, W_HOP };

static const char *const type_names[] = {
	[T_MULTIPATH] = "multipath",
	[T_DIRECT] = "direct",
	[T_SOCKS5] = "socks5",
};
static const char *const level_names[] = {
	"error", "warn", "warning", "info", "debug"
};
static const int level_values[] = {
	SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG
};

/* Log level. */

/*
 * TcpRoute takes Python's level names and its README ships "INDO": in
 * its documents a name sluice does not know means info, and CRITICAL,
 * the one Python level above error, means error.
 */
static int
tcproute_level(const char *s)
{
	size_t	i;

	for (i = 0; i < nitems(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return level_values[i];
	return strcasecmp(s, "critical") == 0 ? SL_LOG_ERROR : SL_LOG_INFO;
}

int
r_log_level(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	int		 v;

	if (c->tcproute && cJSON_IsString(it)) {
		conf->log_level = tcproute_level(it->valuestring);
		return 0;
	}
	if (get_enum(c, it, level_names, nitems(level_names), 1, &v) == -1)
		return -1;
	conf->log_level = level_values[v];
	return 0;
}

/* Resolver keys. */

static int
ns_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_nameserver	*ns = (struct sl_nameserver *)arg + i;

	return get_addr(c, it, 53, &ns->addr, &ns->addrlen,
	    "a nameserver (ip, ip:port or [ipv6]:port)");
}

static int
probe_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_nameserver	*ns = (struct sl_nameserver *)arg + i;

	return get_addr(c, it, 53, &ns->addr, &ns->addrlen,
	    "an address (ip, ip:port or [ipv6]:port)");
}

/* One address or an array of min-16; *np is set once *v is there. */
static int
addr_list(struct ctx *c, const cJSON *it, size_t min, item_fn fn,
    struct sl_nameserver **v, size_t *np)
{
	size_t	n = 1;

	if (!cJSON_IsString(it) && !cJSON_IsArray(it))
		return type_err(c, it, "a string or an array");
	if (cJSON_IsArray(it))
		n = (size_t)cJSON_GetArraySize(it);
	if (n < min || n > CONF_MAX_NS)
		return fail(c, "expected %zu-%d entries, got %zu", min,
		    CONF_MAX_NS, n);
	if ((*v = alloc_array(c, n, sizeof(**v))) == NULL)
		return -1;
	*np = n;
	if (cJSON_IsString(it))
		return fn(c, it, *v, 0);
	return each(c, it, fn, *v);
}

int
r_nameservers(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	if (cJSON_IsString(it) && strcmp(it->valuestring, "system") == 0) {
		conf->nameservers_system = 1;
		return 0;
	}
	conf->nameservers_system = 0;
	return addr_list(c, it, 1, ns_item, &conf->nameservers,
	    &conf->nnameservers);
}

/* Not "system": asked when the primaries fail, time out or lie. */
int
r_nameservers_backup(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return addr_list(c, it, 0, ns_item, &conf->nameservers_backup,
	    &conf->nnameservers_backup);
}

/* Addresses that are no DNS server: whatever answers there is a liar. */
int
r_hijack_probes(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	if (!cJSON_IsArray(it))
		return type_err(c, it, "an array");
	return addr_list(c, it, 0, probe_item, &conf->hijack_probes,
	    &conf->nhijack_probes);
}

/* ip_blacklist and TcpRoute's IpBlacklist fill one list. */
int
r_ip_blacklist(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;
	struct sl_cidr	*v;
	size_t		 n;

	if (get_array(c, it, CONF_MAX_ITEMS, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	v = reallocarray(conf->ip_blacklist, conf->nip_blacklist + n,
	    sizeof(*v));
	if (v == NULL)
		return fail(c, "out of memory");
	conf->ip_blacklist = v;
	v += conf->nip_blacklist;
	memset(v, 0, n * sizeof(*v));
	conf->nip_blacklist += n;
	return each(c, it, cidr_item, v);
}

/*
 * deny_targets replaces the default list, so [] allows link-local
 * targets again.
 */
int
r_deny_targets(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	if ((conf->deny_targets = new_array(c, it, sizeof(struct sl_cidr),
	    &conf->ndeny_targets)) == NULL)
		return -1;
	return each(c, it, cidr_item, conf->deny_targets);
}

/*
 * Link-local addresses hold the cloud metadata service (169.254.169.254,
 * with the host's credentials) and neighbours that a proxy's clients have
 * no business reaching through it.
 */
int
deny_targets_default(struct ctx *c)
{
	static const char *const def[] = { "169.254.0.0/16", "fe80::/10" };
	struct sl_conf	*conf = c->conf;
	size_t		 i;

	if ((conf->deny_targets = alloc_array(c, nitems(def),
	    sizeof(*conf->deny_targets))) == NULL)
		return -1;
	conf->ndeny_targets = nitems(def);
	for (i = 0; i < nitems(def); i++)
		if (parse_cidr(def[i], &conf->deny_targets[i]) == -1)
			return fail(c, "bad built-in deny_targets");
	return 0;
}

/* The cache ceiling may not undercut its floor; blame the key given. */
int
check_ttls(struct ctx *c, int max_given)
{
	const struct sl_conf	*conf = c->conf;
	size_t			 old;

	if (conf->dns_max_ttl_s >= conf->dns_min_ttl_s)
		return 0;
	if (max_given) {
		old = push_key(c, "dns_max_ttl");
		fail(c, "%u is less than dns_min_ttl (%u)",
		    conf->dns_max_ttl_s, conf->dns_min_ttl_s);
	} else {
		old = push_key(c, "dns_min_ttl");
		fail(c, "%u is more than dns_max_ttl (%u)",
		    conf->dns_min_ttl_s, conf->dns_max_ttl_s);
	}
	pop(c, old);
	return -1;
}

/* The upstream tree. */

/* One entry of the tree while its keys are read. */
struct tr_node {
	size_t		 link;		/* the link it makes */
	uint16_t	 source_port;
	const cJSON	*list;		/* multipath "list" */
	const cJSON	*up;		/* socks5 "upstream" */
};

static int	tr_entry(struct ctx *, const cJSON *it, enum tr_where where,
		    size_t hops, int *linkp);

/* Translated once the whole root is read (conf_finish()). */
int
r_upstream(struct ctx *c, const cJSON *it, void *dst)
{
	c->upstream = it;
	return 0;
}

/* Read before the walk: it decides which keys the entry takes. */
static int
tr_type(struct ctx *c, const cJSON *it, void *dst)
{
	return 0;
}

static int
tr_list(struct ctx *c, const cJSON *it, void *dst)
{
	((struct tr_node *)dst)->list = it;
	return 0;
}

static int
tr_upstream(struct ctx *c, const cJSON *it, void *dst)
{
	((struct tr_node *)dst)->up = it;
	return 0;
}

static int
tr_source_ip(struct ctx *c, const cJSON *it, void *dst)
{
	return l_source(c, it, &c->conf->links[((struct tr_node *)dst)->link]);
}

static int
tr_source_port(struct ctx *c, const cJSON *it, void *dst)
{
	return get_port0(c, it, &((struct tr_node *)dst)->source_port);
}

static int
tr_host(struct ctx *c, const cJSON *it, void *dst)
{
	return l_domain(c, it, &c->conf->links[((struct tr_node *)dst)->link]);
}

static int
tr_port(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_link	*l = &c->conf->links[((struct tr_node *)dst)->link];

	return get_port(c, it, &l->port);
}

static const struct keydef multipath_keys[] = {
	{ "type", K_FN, tr_type, 0, 0, 0 },
	{ "list", K_FN, tr_list, 0, 0, 0 },
};
static const struct keydef direct_keys[] = {
	{ "type", K_FN, tr_type, 0, 0, 0 },
	{ "source_ip", K_FN, tr_source_ip, 0, 0, 0 },
	{ "source_port", K_FN, tr_source_port, 0, 0, 0 },
};
static const struct keydef socks5_keys[] = {
	{ "type", K_FN, tr_type, 0, 0, 0 },
	{ "host", K_FN, tr_host, 0, 0, 0 },
	{ "port", K_FN, tr_port, 0, 0, 0 },
	{ "upstream", K_FN, tr_upstream, 0, 0, 0 },
};
static const struct {
	const struct keydef	*keys;
	size_t			 n;
} tables[] = {
	[T_MULTIPATH] = { multipath_keys, nitems(multipath_keys) },
	[T_DIRECT] = { direct_keys, nitems(direct_keys) },
	[T_SOCKS5] = { socks5_keys, nitems(socks5_keys) },
};

/*
 * The entry's JSON path, or its head and the whole keys at its tail
 * around the index.
 */
static void
tr_name(struct ctx *c, struct sl_link *l, size_t i)
{
	char		 mid[32];
	const char	*tail, *dot;

	if (c->plen < sizeof(l->name)) {
		memcpy(l->name, c->path, c->plen + 1);
		return;
	}
	snprintf(mid, sizeof(mid), "..#%zu..", i);
	tail = c->path + c->plen - (sizeof(l->name) - 1 - NAME_HEAD -
	    strlen(mid));
	if ((dot = strchr(tail, '.')) != NULL)
		tail = dot + 1;
	snprintf(l->name, sizeof(l->name), "%.*s%s%s", NAME_HEAD, c->path,
	    mid, tail);
}

/* A new link with the defaults, named after the current path. */
static int
tr_link(struct ctx *c, int selectable, size_t *ip)
{
	struct sl_conf	*conf = c->conf;
	struct sl_link	*v;
	size_t		 cap;

	if (conf->nlinks == SL_MAX_LINKS)
		return fail(c, "more than %d links", SL_MAX_LINKS);
	if (conf->nlinks == c->linkcap) {
		cap = c->linkcap == 0 ? 4 : c->linkcap * 2;
		if ((v = reallocarray(conf->links, cap, sizeof(*v))) == NULL)
			return fail(c, "out of memory");
		conf->links = v;
		c->linkcap = cap;
	}
	*ip = conf->nlinks++;
	v = &conf->links[*ip];
	memset(v, 0, sizeof(*v));
	link_defaults(v, "");
	tr_name(c, v, *ip);
	v->selectable = selectable;
	return 0;
}

static int
tr_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	int	link;

	return tr_entry(c, it, W_LIST, 0, &link);
}

static int
tr_multipath(struct ctx *c, const struct tr_node *n, enum tr_where where)
{
	size_t	old, count;
	int	rc;

	if (where == W_HOP)
		return fail_key(c, "type", "a socks5 upstream cannot be "
		    "multipath");
	if (n->list == NULL)
		return fail_key(c, "list", "required");
	old = push_key(c, "list");
	if ((rc = get_array(c, n->list, SL_MAX_LINKS, &count)) == 0 &&
	    count == 0)
		rc = fail(c, "must not be empty");
	if (rc == 0)
		rc = each(c, n->list, tr_item, NULL);
	pop(c, old);
	if (rc == 0 && where == W_TOP)
		c->conf->strategy = SL_STRAT_FASTEST;
	return rc;
}

/* A socks5 entry: the hop it goes through is made from "upstream". */
static int
tr_socks5(struct ctx *c, const struct tr_node *n, size_t hops)
{
	size_t	old;
	int	via, rc;

	if (hops > SL_MAX_CHAIN)
		return fail(c, "chain of %zu socks5 hops is longer than %d",
		    hops, SL_MAX_CHAIN);
	if (c->conf->links[n->link].host[0] == '\0')
		return fail_key(c, "host", "required");
	if (c->conf->links[n->link].port == 0)
		return fail_key(c, "port", "required");
	if (n->up == NULL)
		return 0;
	old = push_key(c, "upstream");
	rc = tr_entry(c, n->up, W_HOP, hops, &via);
	pop(c, old);
	c->conf->links[n->link].via = via;
	return rc;
}

/*
 * Read one entry of the tree at the current path.  *linkp is the link
 * it made, -1 for a multipath; hops counts the socks5 entries above.
 */
static int
tr_entry(struct ctx *c, const cJSON *it, enum tr_where where, size_t hops,
    int *linkp)
{
	struct tr_node	 n = { 0, 0, NULL, NULL };
	const cJSON	*t;
	size_t		 old;
	int		 type, rc;

	*linkp = -1;
	if (!cJSON_IsObject(it))
		return type_err(c, it, "an object");
	if ((t = cJSON_GetObjectItemCaseSensitive(it, "type")) == NULL)
		return fail_key(c, "type", "required");
	old = push_key(c, "type");
	rc = get_enum(c, t, type_names, nitems(type_names), 0, &type);
	pop(c, old);
	if (rc == -1 || (type != T_MULTIPATH &&
	    tr_link(c, where != W_HOP, &n.link) == -1))
		return -1;
	if (walk(c, it, tables[type].keys, tables[type].n, &n, NULL) == -1)
		return -1;
	if (type == T_MULTIPATH)
		return tr_multipath(c, &n, where);
	*linkp = (int)n.link;
	if (type == T_SOCKS5) {
		c->conf->links[n.link].proto = SL_LINK_SOCKS5;
		return tr_socks5(c, &n, hops + 1);
	}
	source_port(&c->conf->links[n.link].source,
	    &c->conf->links[n.link].sourcelen, n.source_port);
	return 0;
}

int
tcproute_links(struct ctx *c, const cJSON *up)
{
	size_t	old = push_key(c, "upstream");
	int	link, rc;

	rc = tr_entry(c, up, W_TOP, 0, &link);
	pop(c, old);
	return rc;
}
