/*
 * sluice's configuration model and its loader.
 *
 * The loader is pure: it takes JSON text and returns a validated
 * struct sl_conf or an error naming the JSON path and the problem,
 * e.g. "balancer.links[1].port: 70000 is not a port (1-65535)".
 * It accepts PythTRT's and TcpRoute's documented formats unchanged,
 * with sluice's own keys beside them (a TcpRoute "upstream" tree becomes
 * links, see config_tcproute.c).  Unknown keys are errors: a typo must
 * not silently change routing.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../common/sluice.h"

enum sl_policy {
	SL_POLICY_ALLOW = 0,
	SL_POLICY_FORBID,
	SL_POLICY_PRIORITIZE,
	SL_POLICY_DEPRIORITIZE,
};

enum sl_strategy {
	SL_STRAT_ROUND_ROBIN = 0,
	SL_STRAT_RANDOM,
	SL_STRAT_LEAST_CONN,
	SL_STRAT_FAILOVER,
	SL_STRAT_FASTEST,
};

#define SL_AGENT_REDACTED	"sluice:redacted!"	/* 16 bytes */
#define SL_AGENT_NAME_MAX	64
#define SL_AGENT_SECRET_MIN	16
#define SL_AGENT_SECRET_MAX	1024
#define SL_MAX_AGENTS		256	/* per tunnel listener */

enum sl_link_proto {
	SL_LINK_DIRECT = 0,
	SL_LINK_SOCKS5,
	SL_LINK_AGENT,		/* a stream through an agent's tunnel */
};

struct sl_port_range {
	uint16_t	lo, hi;			/* inclusive */
};

struct sl_cidr {
	int		family;			/* AF_INET or AF_INET6 */
	uint8_t		addr[16];		/* network address, masked */
	uint8_t		prefix;
};

struct sl_match_idx;		/* match.h, private to policy/ */

/* A matcher matches when every key it has matches (empty keys ignored). */
struct sl_matcher {
	enum sl_policy		 policy;		/* default forbid */
	struct sl_port_range	*ports;
	size_t			 nports;
	char			**domains_re_src;
	pcre2_code		**domains_re;		/* compiled at load */
	size_t			 ndomains_re;
	char			**domains;		/* lower case, no dot */
	size_t			 ndomains;
	struct sl_cidr		*ips;			/* target addresses */
	size_t			 nips;
	struct sl_cidr		*clients;		/* client addresses */
	size_t			 nclients;
	char			**listeners;		/* listener names */
	size_t			 nlisteners;
	char			**users;		/* authenticated users */
	size_t			 nusers;
	char			**alpn;			/* TLS ALPN offered */
	size_t			 nalpn;
	struct sl_match_idx	*idx;			/* compiled at load;
							   NULL: no keys */
};

/* Active health check of a link ("check"); the worker runs it. */
struct sl_check {
	int			 enabled;		/* "check" given */
	struct sockaddr_storage	 target;		/* TCP connect here */
	socklen_t		 targetlen;
	uint32_t		 interval_ms;		/* 5 s */
	uint32_t		 timeout_ms;		/* 2 s */
	uint32_t		 fails;			/* down after 2 */
	uint32_t		 passes;		/* up after 1 */
};

struct sl_link {
	char			 name[64];		/* default "link<i>" */
	enum sl_link_proto	 proto;
	char			 interface[IF_NAMESIZE];	/* "" = none */
	struct sockaddr_storage	 source;		/* bind before connect */
	socklen_t		 sourcelen;		/* 0 = none */
	char			 host[SL_MAX_NAME + 1];	/* socks5 upstream */
	uint16_t		 port;
	char			 username[256];		/* RFC 1929; "" = none */
	char			 password[256];
	int			 via;			/* link index, -1 = none */
	uint32_t		 timeout_ms;		/* connect; default 10 s */
	uint32_t		 weight;		/* default 1 */
	uint32_t		 max_connections;	/* 0 = unlimited */
	uint32_t		 max_fails;		/* 3; 0 = no passive
							   health */
	uint32_t		 cooldown_ms;		/* 10 s */
	struct sl_check	 check;
	int			 selectable;		/* 1; 0 = only a `via` hop
							   (TcpRoute nesting) */
	uint8_t			 proxy_protocol;	/* 0, or PROXY v1/v2 to
							   the target */
	struct sl_matcher	*matchers;
	size_t			 nmatchers;
	/* protocol agent: the agents of this name carry it (a pool) */
	char			 agent[SL_AGENT_NAME_MAX + 1];
};

/* What a listener speaks; the worker has one front-end per kind. */
enum sl_listen_kind {
	SL_LISTEN_SOCKS5 = 0,	/* SOCKS5, and SOCKS4/4a by the version byte */
	SL_LISTEN_HTTP,		/* HTTP proxy: CONNECT and absolute-form */
	SL_LISTEN_MIXED,	/* all of the above, told by the first byte */
	SL_LISTEN_SNI,		/* TLS, routed by the ClientHello's server name */
	SL_LISTEN_HOST,		/* plain HTTP/1.x, routed by its Host */
	SL_LISTEN_FORWARD,	/* TCP to a fixed "target" */
	SL_LISTEN_UDP_FORWARD,	/* UDP flows to a fixed "target" */
	SL_LISTEN_REDIRECT,	/* TCP from netfilter REDIRECT/DNAT */
	SL_LISTEN_TPROXY,	/* TCP from netfilter TPROXY */
	SL_LISTEN_METRICS,	/* Prometheus text on GET /metrics */
	SL_LISTEN_TUNNEL,	/* agents dial in (the tunnel process's) */
	SL_LISTEN_TPROXY_UDP,	/* UDP from TPROXY: a tproxy listener's
				   "udp": true adds one, "NAME.udp"; from
				   here on no config names a kind */
	SL_LISTEN_AGENT,	/* an agent's streams: no socket; the config
				   adds one, "agent", with an "agent" key */
	SL_LISTEN_KIND_MAX
};

/*
 * Reverse tunnels (config_tunnel.c).  An agent's name is its TLS PSK
 * identity: [A-Za-z0-9._-], 1-64 bytes.  Secrets are 16-1024 bytes;
 * "secret_file" is read by the master and put in the text as "secret"
 * (conf_tunnel_inline_secrets) before the config is parsed, and the
 * text the workers get has every secret replaced by SL_AGENT_REDACTED
 * (conf_tunnel_redact).  The loader refuses that string as a secret
 * unless conf_parse_redacted is set (the children but the tunnel
 * process), so a redacted text can never authenticate an agent.
 */
/* SL_AGENT_*: see "Reverse tunnels" below (struct sl_link needs them). */

struct sl_agent_cred {
	char			 name[SL_AGENT_NAME_MAX + 1];
	char			*secret;		/* NUL-terminated */
	size_t			 secret_len;
};

/* The root "agent" key: this sluiced is an agent and dials a server. */
struct sl_agent {
	int			 enabled;
	char			 server_host[SL_MAX_NAME + 1];	/* name or IP */
	uint16_t		 server_port;
	struct sl_agent_cred	 cred;			/* name, secret */
	/* "local" (tcprouter's trc -local): every stream goes here */
	char			 local_host[SL_MAX_NAME + 1];	/* "": none */
	uint16_t		 local_port;
	/* "allow" (ProxyServer's form): what streams may reach */
	struct sl_agent_allow	*allow;
	size_t			 nallow;
	uint32_t		 max_streams;		/* 256 */
	uint32_t		 reconnect_min_ms;	/* 1 s */
	uint32_t		 reconnect_max_ms;	/* 60 s */
	uint32_t		 keepalive_ms;		/* 15 s: PING after */
	uint32_t		 dead_ms;		/* 45 s: peer dead */
};

/*
 * One "allow" entry: a target passes when every key the entry has
 * matches (ports, and a domain or an address), and some entry passes.
 */
struct sl_agent_allow {
	struct sl_port_range	*ports;			/* none: any */
	size_t			 nports;
	char			**domains;		/* "example.com" matches it
							   and its subdomains; lower
							   case, no trailing dot */
	size_t			 ndomains;
	struct sl_cidr		*ips;
	size_t			 nips;
};

/* A client account of a listener (RFC 1929, Proxy-Authorization). */
struct sl_user {
	char			 name[256];		/* 1-255 bytes */
	char			 password[256];		/* plain, or crypt(3) */
	int			 hashed;		/* password is "$id$..." */
};

/*
 * Taps: what a listener's payload passes through, in order, each
 * direction (config_taps.c; run by worker/relay/taps.c).
 */
enum sl_tap_type {
	SL_TAP_LOG = 0,		/* sizes and endpoints */
	SL_TAP_HEXDUMP,		/* the first `bytes` of each chunk */
	SL_TAP_REPLACE,		/* search -> replace */
	SL_TAP_DROP,		/* a direction, or what matches `match` */
	SL_TAP_THROTTLE,	/* `rate` bytes/s per session */
	SL_TAP_LUA,		/* a script's handle(data, info) */
	SL_TAP_PCAP,		/* both directions to a pcap `file` */
	SL_TAP_TYPE_MAX
};
#define SL_TAP_UP		0x1	/* client -> target */
#define SL_TAP_DOWN		0x2	/* target -> client */
#define SL_MAX_TAPS		16	/* per listener */

struct sl_tap {
	enum sl_tap_type	 type;
	uint8_t			 dirs;			/* SL_TAP_UP|DOWN */
	uint8_t			*search;		/* replace; drop's match */
	size_t			 nsearch;
	uint8_t			*replace;		/* may be empty */
	size_t			 nreplace;
	uint32_t		 bytes;			/* hexdump, 64 */
	uint64_t		 rate;			/* throttle, bytes/s */
	char			*script;		/* lua: path */
	uint32_t		 max_instructions;	/* lua: per call */
	uint32_t		 max_memory;		/* lua: bytes, state */
	void			*rt;			/* worker: loaded script */
	char			*file;			/* pcap: absolute path */
	uint64_t		 max_bytes;		/* pcap: file size cap */
	uint32_t		 pcap_index;		/* pcap: among every pcap
							   tap, listener order
							   then tap order */
};

/*
 * Limits (config_limits.c), on a config's root (the whole tenant, across
 * all its workers) and on each listener.  0: no limit.  Bandwidth is in
 * bytes per second, up = client -> target, down = target -> client.
 */
struct sl_limits {
	uint32_t		 max_sessions;		/* concurrent */
	uint32_t		 max_sessions_per_client; /* IPv4 address or
							   IPv6 /64 */
	uint32_t		 new_per_second_per_client; /* token bucket */
	uint32_t		 session_bw_up;		/* one session */
	uint32_t		 session_bw_down;
	uint32_t		 bw_up;			/* the scope, shared */
	uint32_t		 bw_down;
	uint32_t		 max_udp_flows;		/* concurrent */
};

struct sl_controller {
	char			 name[64];
	struct sl_cidr		 addr;
};

struct sl_listener {
	char			 name[64];		/* "listen<i>" */
	enum sl_listen_kind	 kind;
	char			 host[SL_MAX_NAME + 1];	/* as written */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct sl_user		*users;			/* none: no auth */
	size_t			 nusers;
	struct sl_cidr		*clients;		/* none: everyone */
	size_t			 nclients;
	uint32_t		 udp_timeout_ms;	/* UDP association idle,
							   60 s */
	uint32_t		 bind_timeout_ms;	/* BIND's peer, 60 s */
	uint32_t		 timeout_ms;		/* sni/host: the hello or
							   head, default the
							   root "timeout" */
	int			 proxy_protocol;	/* PROXY v1/v2 expected */
	struct sl_cidr		*proxy_from;		/* "proxy_protocol_from" */
	size_t			 nproxy_from;
	/* forward, udp_forward: "target" (a name is resolved per session) */
	char			 target_host[SL_MAX_NAME + 1];
	uint16_t		 target_port;
	struct sockaddr_storage	 target_addr;		/* an address target */
	socklen_t		 target_addrlen;	/* 0: a name */
	/* UDP flows (udp_forward) */
	uint32_t		 udp_idle_ms;		/* "udp_idle_timeout", 60 s */
	uint32_t		 max_flows;		/* per listener, 4096 */
	uint32_t		 max_flows_per_client;	/* per address, 64 */
	struct sl_tap		*taps;			/* none: splice relay */
	size_t			 ntaps;
	int			 udp;			/* tproxy: UDP too */
	struct sl_limits	 limits;
	/* tunnel: the agents it accepts; keepalive and stream cap */
	struct sl_agent_cred	*agents;
	size_t			 nagents;
	uint32_t		 max_streams;		/* per agent, 256 */
	uint32_t		 keepalive_ms;		/* 15 s */
	uint32_t		 dead_ms;		/* 45 s */
	/*
	 * ProxyServer's controller_user: client address -> the controller's
	 * name, shown as the session's user (none: no names)
	 */
	struct sl_controller	*controllers;
	size_t			 ncontrollers;
	int			 borrowed;		/* a tproxy's UDP twin:
							   its arrays are the
							   TCP listener's */
};

/* A listener on a UDP socket (udp_forward, the UDP side of tproxy). */
#define SL_LISTENER_UDP(l)	((l)->kind == SL_LISTEN_UDP_FORWARD || \
				    (l)->kind == SL_LISTEN_TPROXY_UDP)

/* tcprouter's key-value store of services (only Redis exists). */
struct sl_dbbackend {
	int			 enabled;		/* "dbbackend" given */
	char			 host[64];		/* IP literal as written */
	struct sockaddr_storage	 addr;			/* port set */
	socklen_t		 addrlen;
	uint16_t		 port;			/* 6379 */
	char			 password[256];		/* AUTH; "" = none */
	uint32_t		 refresh_s;		/* SCAN poll, 10 s */
	uint32_t		 db;			/* SELECT, 0 */
};

struct sl_services;		/* services.h */

struct sl_nameserver {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

/*
 * A tenant (config_tenants.c): a config of its own, made of the root's
 * keys with the tenant's object over them, run by its own worker pool.
 */
#define SL_MAX_TENANTS		16
#define SL_TENANT_NAME_MAX	31
struct sl_tenant {
	char			 name[SL_TENANT_NAME_MAX + 1];
	struct sl_conf		*conf;		/* as conf_parse(text) gives */
	char			*text;		/* its JSON, for its children */
	size_t			 len;
};

struct sl_conf {
	struct sl_listener	 listeners[SL_MAX_LISTENERS];
	size_t			 nlisteners;
	uint32_t		 handshake_timeout_ms;	/* "timeout", 5 s */
	uint32_t		 idle_timeout_ms;	/* 300 s */
	uint32_t		 max_sessions;		/* "max_threads", 200 */
	uint32_t		 max_handshakes;	/* max_threads / 2 */
	char			 user[64];		/* "_sluice": workers */
	char			 resolver_user[64];	/* "_sluice-resolver" */
	char			 registry_user[64];	/* "_sluice-registry" */
	uint32_t		 workers;		/* 0 = online CPUs */
	char			 chroot[256];		/* "/var/empty" */
	uint32_t		 shutdown_timeout_s;	/* 10 */
	int			 log_level;		/* SL_LOG_INFO */
	/* Operations (master/control.c, master/accesslog.c). */
	char			 control[108];		/* socket path; "": none */
	char			 control_group[64];	/* may use it; "": root */
	int			 log_json;		/* "log_format": "json" */
	char			 access_log[256];	/* file; "": main log */
	int			 splice;		/* 1 */
	uint32_t		 resolve_timeout_ms;	/* 5 s */
	int			 nameservers_system;	/* 1 */
	struct sl_nameserver	*nameservers;
	size_t			 nnameservers;
	/* Resolver (TcpRoute's DNS defences). */
	struct sl_nameserver	*nameservers_backup;	/* none */
	size_t			 nnameservers_backup;
	struct sl_cidr		*ip_blacklist;		/* + TcpRoute IpBlacklist */
	size_t			 nip_blacklist;
	/*
	 * Targets never connected to directly (an address asked for, or any
	 * address a name resolved to); default link-local and the cloud
	 * metadata address: 169.254.0.0/16, fe80::/10.
	 */
	struct sl_cidr		*deny_targets;
	size_t			 ndeny_targets;
	uint32_t		 dns_min_ttl_s;		/* 30: cache floor */
	uint32_t		 dns_max_ttl_s;		/* 3600: cache ceiling */
	uint32_t		 dns_negative_ttl_s;	/* 30 */
	uint32_t		 dns_cache_size;	/* 10000 names */
	int			 dns_0x20;		/* 1: random case, checked
							   in answers */
	uint32_t		 hijack_interval_s;	/* 600; 0 = never */
	struct sl_nameserver	*hijack_probes;		/* not DNS servers */
	size_t			 nhijack_probes;
	/* Connecting. */
	uint32_t		 happy_eyeballs_ms;	/* 250: RFC 8305 delay */
	uint32_t		 route_cache_ttl_s;	/* 600: fastest winners */
	enum sl_strategy	 strategy;		/* round_robin */
	uint32_t		 retries;		/* 1: links after the
							   first */
	struct sl_matcher	*matchers;		/* balancer admission */
	size_t			 nmatchers;
	struct sl_link		*links;
	size_t			 nlinks;
	pcre2_match_context	*re_mctx;		/* limits, all patterns */
	/* tcprouter: routing by name (sni/host listeners). */
	struct sl_services	*services;		/* NULL: none in config */
	struct sl_dbbackend	 dbbackend;
	/* Limits across every worker of this config (its tenant). */
	struct sl_limits	 limits;
	/*
	 * Tenants: "tenant" names this config's (default "default"); with
	 * "tenants" the root holds only process-wide keys and each tenant
	 * is a config of its own.  "user_id": the workers' numeric uid
	 * (and gid), no passwd entry (0: "user" by name); "uid_base": a
	 * tenant without "user" runs as uid_base + 1 + its index.
	 */
	char			 tenant[SL_TENANT_NAME_MAX + 1];
	struct sl_tenant	*tenants;
	size_t			 ntenants;
	uint32_t		 user_id;
	uint32_t		 uid_base;
	/* Reverse tunnels: this sluiced as an agent; the tunnel process's
	   user ("tunnel_user", "_sluice-tunnel") */
	struct sl_agent		 agent;
	char			 tunnel_user[64];
};

/* config.c */

/*
 * Parse and validate a configuration.  On success returns 0 and *out owns
 * a new struct sl_conf.  On failure returns -1 and err holds
 * "PATH: problem" (PATH "config" for the document itself).
 */
int	conf_parse(const char *text, size_t len, struct sl_conf **out,
	    char *err, size_t errlen);
void	conf_free(struct sl_conf *);
/*
 * tcprouter's router.toml (config_tcprouter.c, toml_json.cc): the TOML
 * is turned into sluice's JSON, which is then parsed as conf_parse()
 * does.  On success *json owns that JSON text (the children get it, not
 * the TOML).  Errors name TOML paths ("server.services.\"x\".addr: ...").
 */
int	conf_parse_toml(const char *text, size_t len, struct sl_conf **out,
	    char **json, char *err, size_t errlen);
const char *conf_strategy_name(enum sl_strategy);
const char *conf_listen_kind_name(enum sl_listen_kind);
/* config_json.c: "addr/prefix" or an address (host bits masked off). */
int	conf_cidr_parse(const char *, struct sl_cidr *);
void	conf_cidr_fmt(const struct sl_cidr *, char *buf, size_t len);
/* The listener's index by name, or -1. */
int	conf_listener_find(const struct sl_conf *, const char *name);
/*
 * config_taps.c: call fn for every tap chain (a listener's, a service's)
 * with its JSON path ("listeners[0].taps"); the first non-zero return
 * stops the walk and is returned.
 */
typedef int (*conf_taps_fn)(struct sl_tap *, size_t n, const char *path,
    void *arg);
int	conf_each_taps(const struct sl_conf *, conf_taps_fn, void *arg);
/* Free a tap chain's config (not a worker's loaded scripts). */
void	taps_conf_free(struct sl_tap *, size_t n);
const char *conf_policy_name(enum sl_policy);

/* config_tunnel.c */
/* The tunnel process runs: a tunnel listener or an agent. */
int	conf_has_tunnel(const struct sl_conf *);
/* A tunnel listener's agent by name, or NULL. */
const struct sl_agent_cred *conf_agent_find(const struct sl_listener *,
	    const char *name);
/*
 * The agent's "allow"/"local" for a stream's target, lower-case host
 * (NULL for an address) or addr, and port: 1 admitted, 0 refused.  With
 * "local" every target is admitted (it is replaced by local).  A name no
 * domain entry admits passes only by its addresses: res/nres (what it
 * resolved to) are filtered in place to those an ips entry admits
 * (with the port), and it passes when one is left; with res NULL it is
 * refused.
 */
int	conf_agent_allows(const struct sl_agent *, const char *host,
	    const struct sockaddr *addr, uint16_t port,
	    struct sl_res_addr *res, uint32_t *nres);
/* True when some allow entry has ips (names must be resolved first). */
int	conf_agent_needs_addresses(const struct sl_agent *);
/*
 * Master, before conf_parse: every "secret_file" (agent, tunnel
 * listeners' agents, in tenants too) read and replaced by "secret"
 * (one trailing newline dropped).  0 with *out (malloc'd text, the
 * same when nothing changed) or -1 with err "PATH: problem".
 */
int	conf_tunnel_inline_secrets(const char *text, size_t len, char **out,
	    size_t *outlen, char *err, size_t errlen);
/*
 * The same text with every agent secret replaced by SL_AGENT_REDACTED
 * (for the processes that must not hold them: workers, resolver,
 * registry).  0 with *out (malloc'd) or -1.
 */
extern int conf_parse_redacted;	/* accept SL_AGENT_REDACTED; default 0 */
int	conf_tunnel_redact(const char *text, size_t len, char **out,
	    size_t *outlen);

#endif
