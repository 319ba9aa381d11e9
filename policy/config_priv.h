/*
 * What the parts of the configuration loader share: config.c (the
 * document, listeners, balancer, links), config_json.c (paths, errors,
 * typed getters, the key-table walker, text literals), config_match.c
 * (request matchers), config_tcproute.c (TcpRoute's upstream tree and
 * the resolver keys: nameservers, blacklist, hijack probes) and
 * config_tunnel.c (reverse tunnels).  Private to
 * those files; the API is config.h.
 */
#ifndef SL_CONFIG_PRIV_H
#define SL_CONFIG_PRIV_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

#define nitems(a)		(sizeof(a) / sizeof((a)[0]))
#define CONF_MAX_ITEMS		100000	/* entries of a matcher array */
#define BIT(i)			(UINT64_C(1) << (i))
#define CONF_MAX_NS		16	/* nameservers, hijack probes */

#define CONF_MAX_COUNT		1000000	/* weight, sessions, conns */

struct link_state;		/* config_link.c */

struct ctx {
	char			 path[512];	/* JSON path being read */
	size_t			 plen;
	char			*err;
	size_t			 errlen;
	struct sl_conf		*conf;
	struct link_state	*ls;		/* one per link */
	size_t			 link;		/* link being read */
	const cJSON		*link_obj;	/* its JSON */
	uint16_t		 port;		/* root "port" */
	size_t			 re_bytes;	/* compiled patterns so far */
	int			 tcproute;	/* document has "upstream" */
	const cJSON		*upstream;	/* read once the root is */
	size_t			 linkcap;	/* links allocated (TcpRoute) */
	const cJSON		*services;	/* read once links are */
	const cJSON		*root;		/* the document */
	const cJSON		*tenants;	/* read once the root is */
	/* ProxyServer's lists, put on the listeners at the end */
	struct sl_controller	*ctl;		/* "controller_user" */
	size_t			 nctl;
	struct sl_cidr		*wl;		/* "proxy_client_whitelist" */
	size_t			 nwl;
};

typedef int (*key_fn)(struct ctx *, const cJSON *, void *);
typedef int (*item_fn)(struct ctx *, const cJSON *, void *, size_t);

enum key_kind { K_FN, K_UINT, K_MS, K_BOOL };

/* One accepted key: a handler, or a scalar stored at dst + off. */
struct keydef {
	const char	*name;
	enum key_kind	 kind;
	key_fn		 fn;
	size_t		 off;
	uint32_t	 lo, hi;
};

/* config_json.c */

/* Paths and errors. */
size_t	push_key(struct ctx *, const char *key);
size_t	push_index(struct ctx *, size_t i);
void	pop(struct ctx *, size_t old);
int	fail(struct ctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	fail_key(struct ctx *, const char *key, const char *problem);
const char *quote(const char *s, char *buf, size_t len);
int	type_err(struct ctx *, const cJSON *it, const char *want);

/* Scalars. */
int	get_port(struct ctx *, const cJSON *it, uint16_t *out);
int	get_port0(struct ctx *, const cJSON *it, uint16_t *out);
int	get_str(struct ctx *, const cJSON *it, size_t min, size_t max,
	    const char **out);
int	get_enum(struct ctx *, const cJSON *it, const char *const *names,
	    size_t n, int caseless, int *out);

/* Addresses, names and ports in text. */
int	parse_ip(const char *s, uint16_t port, struct sockaddr_storage *ss,
	    socklen_t *len);
void	set_port(struct sockaddr_storage *ss, uint16_t port);
int	parse_range(const char *s, struct sl_port_range *r);
int	parse_hostport(const char *s, uint16_t defport, char *host,
	    size_t hostlen, struct sockaddr_storage *ss, socklen_t *sslen);
int	get_addr(struct ctx *, const cJSON *it, uint16_t defport,
	    struct sockaddr_storage *ss, socklen_t *len, const char *what);
int	parse_cidr(const char *s, struct sl_cidr *out);
void	source_port(struct sockaddr_storage *ss, socklen_t *len,
	    uint16_t port);
int	valid_hostname(const char *s);
int	valid_host(const char *s);
int	valid_word(const char *s);
int	valid_ifname(const char *s);

/* Objects and arrays. */
int	walk(struct ctx *, const cJSON *obj, const struct keydef *defs,
	    size_t ndefs, void *dst, uint64_t *seenp);
int	get_array(struct ctx *, const cJSON *it, size_t max, size_t *np);
void	*alloc_array(struct ctx *, size_t n, size_t size);
void	*new_array(struct ctx *, const cJSON *it, size_t size, size_t *np);
int	each(struct ctx *, const cJSON *arr, item_fn fn, void *arg);
cJSON	*json_load(struct ctx *, const char *text, size_t len);

/* config.c */

void	link_defaults(struct sl_link *l, const char *name);
/* config_link.c: balancer.links (every link, checked and chained) */
int	conf_links_parse(struct ctx *, const cJSON *);
int	l_domain(struct ctx *, const cJSON *it, void *link);
int	l_source(struct ctx *, const cJSON *it, void *link);

/* config_tenants.c: "tenants", "tenant", "uid_base" */

int	r_tenants(struct ctx *, const cJSON *it, void *conf);
int	r_tenant(struct ctx *, const cJSON *it, void *conf);
/*
 * With "tenants" (seen holds the root keys read): refuse the keys that
 * belong in a tenant, then parse each tenant into conf->tenants.
 */
int	tenants_finish(struct ctx *, uint64_t seen);
void	tenants_free(struct sl_conf *);
/* "tunnel_user", and that it is no other child's user by name. */
int	r_tunnel_user(struct ctx *, const cJSON *it, void *conf);
int	tunnel_user_check(struct ctx *);

/* config_limits.c: "limits" on the root and on a listener */

int	r_limits(struct ctx *, const cJSON *it, void *conf);
int	ls_limits(struct ctx *, const cJSON *it, void *listener);

/* config_proc.c: "user", "resolver_user", "chroot" */

int	r_user(struct ctx *, const cJSON *it, void *conf);
int	r_resolver_user(struct ctx *, const cJSON *it, void *conf);
int	r_registry_user(struct ctx *, const cJSON *it, void *conf);
int	r_chroot(struct ctx *, const cJSON *it, void *conf);
/* config_proc.c: "control", "control_group", "log_format", "access_log" */
int	r_control(struct ctx *, const cJSON *it, void *conf);
int	r_control_group(struct ctx *, const cJSON *it, void *conf);
int	r_log_format(struct ctx *, const cJSON *it, void *conf);
int	r_access_log(struct ctx *, const cJSON *it, void *conf);

/* config_listen.c */

int	r_listen(struct ctx *, const cJSON *it, void *conf);
int	r_listeners(struct ctx *, const cJSON *it, void *conf);
int	listeners_check(struct ctx *, const char *key);
/* sni/host listeners have something to route to; after services. */
int	listeners_check_routed(struct ctx *, const char *key);
void	listener_implicit(struct sl_conf *, uint16_t port);
void	listeners_free(struct sl_conf *);

/* config_taps.c: a listener's "taps" */

int	r_taps(struct ctx *, const cJSON *it, void *listener);
/* A "taps" array into *tp, *np (freed by taps_conf_free even on error). */
int	taps_read(struct ctx *, const cJSON *it, struct sl_tap **tp,
	    size_t *np);

/* config_match.c */

extern const char *const policy_names[SL_POLICY_DEPRIORITIZE + 1];

int	parse_matchers(struct ctx *, const cJSON *it, struct sl_matcher **mp,
	    size_t *np);
void	matchers_free(struct sl_matcher *m, size_t n);
int	cidr_item(struct ctx *, const cJSON *it, void *arg, size_t i);
/* Names in `listeners` and `users` matchers exist; after listeners. */
int	matchers_check_names(struct ctx *);

/* config_service.c: "services" and "dbbackend" (tcprouter's model) */

int	r_services(struct ctx *, const cJSON *it, void *conf);
int	r_dbbackend(struct ctx *, const cJSON *it, void *conf);
/* The services c->services points to; after the links are read. */
int	services_read(struct ctx *);

/* config_tcproute.c */

int	r_log_level(struct ctx *, const cJSON *it, void *conf);
int	r_upstream(struct ctx *, const cJSON *it, void *conf);
int	r_nameservers(struct ctx *, const cJSON *it, void *conf);
int	r_nameservers_backup(struct ctx *, const cJSON *it, void *conf);
int	r_ip_blacklist(struct ctx *, const cJSON *it, void *conf);
int	r_deny_targets(struct ctx *, const cJSON *it, void *conf);
/* deny_targets absent: link-local and cloud metadata addresses. */
int	deny_targets_default(struct ctx *);
int	r_hijack_probes(struct ctx *, const cJSON *it, void *conf);
int	check_ttls(struct ctx *, int max_given);
int	tcproute_links(struct ctx *, const cJSON *upstream);

/* config_tunnel.c: "agent", tunnel listeners' "agents", "tunnel_user" */

int	valid_agent_name(const char *);
/* A secret (16-1024 bytes, not SL_AGENT_REDACTED) into cred->secret. */
int	agent_secret(struct ctx *, const cJSON *it, struct sl_agent_cred *);
int	ls_agents(struct ctx *, const cJSON *it, void *listener);
int	l_agent(struct ctx *, const cJSON *it, void *link);
/* A link with "protocol": "agent" or "agent" (obj: its JSON). */
int	link_agent_check(struct ctx *, const struct sl_link *,
	    const cJSON *obj);
int	r_agent(struct ctx *, const cJSON *it, void *conf);
void	agent_free(struct sl_agent *);
void	creds_free(struct sl_agent_cred *, size_t n);
/* With "agent": its listener, "agent", with no address, appended. */
int	tunnel_agent_listener(struct ctx *);
/* After the listeners: an agent's name has one secret everywhere. */
int	tunnel_check_agents(struct ctx *);
/*
 * After the services: tunnel listeners have agents, agent links name
 * one, tunnel_user is a user of its own, ProxyServer's lists applied.
 */
int	tunnel_finish(struct ctx *);

/* config_listen.c: ProxyServer's "controller_user", "proxy_client_whitelist" */

int	r_controller_user(struct ctx *, const cJSON *it, void *conf);
int	r_proxy_client_whitelist(struct ctx *, const cJSON *it, void *conf);
int	proxyserver_clients(struct ctx *);

/* config_service.c: a service's "clientsecret" (tcprouter's tunnels) */

/*
 * Service name's agent (secret it) on every tunnel listener and its
 * link, "agent:NAME", not selectable; *li is the link's index.
 */
int	tunnel_service(struct ctx *, const char *name, const cJSON *it,
	    uint16_t *li);

/* config_match.c: a domain of a matcher or an allow entry, normalised */
int	conf_domain_item(struct ctx *, const cJSON *, void *arg, size_t i);
/* config_match.c: a port or "lo-hi" range of ports or allow entries */
int	conf_port_item(struct ctx *, const cJSON *, void *arg, size_t i);

#endif
