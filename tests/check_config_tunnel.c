/*
 * Reverse tunnels in the config (policy/config_tunnel.c,
 * config_secrets.c): the tunnel listener's agents, "protocol": "agent"
 * links, the root "agent", ProxyServer's keys, tcprouter's clientsecret
 * (JSON and router.toml) and the run-time "allow" check; secret files
 * and redaction are in check_config_secrets.c.  Documents are written
 * with ' for " as in check_config.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/config.h"
#include "policy/services.h"

#include "check_config_tunnel.h"

char *
dq(const char *sq)
{
	char	*s = strdup(sq);
	size_t	 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '\'')
			s[i] = '"';
	return s;
}

int
try_parse(const char *sq, struct sl_conf **conf, char *err, size_t errlen)
{
	char	*s = dq(sq);
	int	 rc;

	rc = conf_parse(s, strlen(s), conf, err, errlen);
	free(s);
	return rc;
}

struct sl_conf *
must_parse(const char *sq)
{
	struct sl_conf	*conf = NULL;
	char		 err[512];

	ck_assert_msg(try_parse(sq, &conf, err, sizeof(err)) == 0, "%s: %s",
	    sq, err);
	return conf;
}

void
must_fail(const char *sq, const char *want)
{
	struct sl_conf	*conf = (struct sl_conf *)1;
	char		 err[512];

	ck_assert_msg(try_parse(sq, &conf, err, sizeof(err)) == -1,
	    "parsed: %s", sq);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, want);
}

START_TEST(tunnel_listener)
{
	struct sl_conf			*conf;
	const struct sl_listener	*l;
	const struct sl_agent_cred	*a;

	conf = must_parse("{'listeners': [" SOCKS ", {'name': 't', 'kind': "
	    "'tunnel', 'listen': '0.0.0.0:8443', 'agents': [" AG("lab", S16)
	    ", " AG("edge-1.x_y", S20) "], 'max_streams': 64, 'keepalive': "
	    "5, 'dead_timeout': 12.5, 'clients': ['10.0.0.0/8']}], "
	    "'balancer': {'links': [{'name': 'lab', 'protocol': 'agent', "
	    "'agent': 'lab'}, {'name': 'd'}]}}");
	ck_assert_uint_eq(conf->nlisteners, 2);
	l = &conf->listeners[1];
	ck_assert_int_eq(l->kind, SL_LISTEN_TUNNEL);
	ck_assert_str_eq(conf_listen_kind_name(l->kind), "tunnel");
	ck_assert_uint_eq(l->nagents, 2);
	ck_assert_uint_eq(l->max_streams, 64);
	ck_assert_uint_eq(l->keepalive_ms, 5000);
	ck_assert_uint_eq(l->dead_ms, 12500);
	ck_assert_uint_eq(l->nclients, 1);
	a = conf_agent_find(l, "edge-1.x_y");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->secret, S20);
	ck_assert_uint_eq(a->secret_len, 20);
	ck_assert_ptr_null(conf_agent_find(l, "nope"));
	ck_assert_ptr_null(conf_agent_find(&conf->listeners[0], "lab"));
	ck_assert_int_eq(conf->links[0].proto, SL_LINK_AGENT);
	ck_assert_str_eq(conf->links[0].agent, "lab");
	ck_assert_int_eq(conf->links[1].proto, SL_LINK_DIRECT);
	ck_assert_int_eq(conf_has_tunnel(conf), 1);
	ck_assert_str_eq(conf->tunnel_user, "_sluice-tunnel");
	conf_free(conf);

	/* Defaults; the same agent on two listeners with one secret. */
	conf = must_parse("{'listeners': [" TL(AG("a", S16)) ", {'kind': "
	    "'tunnel', 'listen': '127.0.0.1:8444', 'agents': [" AG("a", S16)
	    "]}]}");
	ck_assert_uint_eq(conf->listeners[0].max_streams, 256);
	ck_assert_uint_eq(conf->listeners[0].keepalive_ms, 15000);
	ck_assert_uint_eq(conf->listeners[0].dead_ms, 45000);
	conf_free(conf);

	conf = must_parse("{'listen': ['127.0.0.1:1080']}");
	ck_assert_int_eq(conf_has_tunnel(conf), 0);
	conf_free(conf);
}
END_TEST

static const struct {
	const char	*doc, *err;
} bad[] = {
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:1'}]}",
	    "listeners[0].agents: required: the agents it accepts (or "
	    "services with a clientsecret)" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:1', "
	    "'agents': []}]}", "listeners[0].agents: empty: no agent could "
	    "connect" },
	{ "{'listeners': [" TL(AG("a", S16) ", " AG("a", S20)) "]}",
	    "listeners[0].agents[1].name: \"a\" is already agents[0]'s name" },
	{ "{'listeners': [" TL(AG("a b", S16)) "]}",
	    "listeners[0].agents[0].name: \"a b\" is not an agent name "
	    "([A-Za-z0-9._-], 1-64 bytes)" },
	{ "{'listeners': [" TL(AG("a", "short")) "]}",
	    "listeners[0].agents[0].secret: 5 bytes: a secret is 16-1024 "
	    "bytes" },
	{ "{'listeners': [" TL(AG("a", SL_AGENT_REDACTED)) "]}",
	    "listeners[0].agents[0].secret: \"sluice:redacted!\" stands for "
	    "a secret removed from the text; it is not one" },
	{ "{'listeners': [" TL("{'name': 'a'}") "]}",
	    "listeners[0].agents[0].secret: required (or secret_file)" },
	{ "{'listeners': [" TL("{'name': 'a', 'secret_file': '/x'}") "]}",
	    "listeners[0].agents[0].secret_file: read by the master at load, "
	    "which puts the file's content in \"secret\"; this text did not "
	    "come through it" },
	{ "{'listeners': [" TL(AG("a", S16)) ", {'kind': 'tunnel', "
	    "'listen': '127.0.0.1:2', 'agents': [" AG("a", S20) "]}]}",
	    "listeners[1].agents[0].secret: not the one listeners[0] gives "
	    "this agent: one name, one secret" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'taps': [{'type': 'log'}]}]}",
	    "listeners[0].taps: a tunnel listener relays no sessions itself" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'users': [{'username': 'u', "
	    "'password': 'p'}]}]}", "listeners[0].users: a listener of this "
	    "kind cannot ask for credentials" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'proxy_protocol': true, "
	    "'proxy_protocol_from': ['10.0.0.1']}]}",
	    "listeners[0].proxy_protocol: agents speak TLS from the first "
	    "byte" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'target': '1.2.3.4:5'}]}",
	    "listeners[0].target: only forward and udp_forward listeners have "
	    "a fixed target" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'keepalive': 45}]}",
	    "listeners[0].dead_timeout: not above keepalive" },
	{ "{'listeners': [{'kind': 'tunnel', 'listen': '127.0.0.1:8443', "
	    "'agents': [" AG("a", S16) "], 'max_streams': 70000}]}",
	    "listeners[0].max_streams: 70000 is out of range (1-65536)" },
	{ "{'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1', "
	    "'agents': [" AG("a", S16) "]}]}",
	    "listeners[0].agents: only for tunnel listeners" },
	{ "{'listeners': [{'kind': 'agent', 'listen': '127.0.0.1:1'}]}",
	    "listeners[0].kind: \"agent\" is not one of socks5, http, mixed, "
	    "sni, host, forward, udp_forward, redirect, tproxy, metrics, "
	    "tunnel" },
	/* Links. */
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'b'}]}}",
	    "balancer.links[0].agent: no tunnel listener accepts an agent "
	    "named \"b\"" },
	{ "{'balancer': {'links': [{'protocol': 'agent', 'agent': 'b'}]}}",
	    "balancer.links[0].agent: no tunnel listener accepts an agent "
	    "named \"b\"" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent'}]}}", "balancer.links[0].agent: required "
	    "(the name of the agents that carry it)" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'a', 'domain': 'x.test', "
	    "'port': 1}]}}", "balancer.links[0].domain: not for an agent "
	    "link: the agent connects to the target from its own network" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'a', 'via': 'x'}]}}",
	    "balancer.links[0].via: not for an agent link: the agent "
	    "connects to the target from its own network" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'a', 'source': '10.0.0.1'}]}}",
	    "balancer.links[0].source: not for an agent link: the agent "
	    "connects to the target from its own network" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'a', 'interface': 'eth0'}]}}",
	    "balancer.links[0].interface: not for an agent link: the agent "
	    "connects to the target from its own network" },
	{ "{'listeners': [" TL(AG("a", S16)) "], 'balancer': {'links': "
	    "[{'protocol': 'agent', 'agent': 'a', 'check': {'target': "
	    "'1.2.3.4:5'}}]}}", "balancer.links[0].check: not for an agent "
	    "link: the agent connects to the target from its own network" },
	{ "{'balancer': {'links': [{'agent': 'a'}]}}",
	    "balancer.links[0].agent: only for \"protocol\": \"agent\" links" },
	/* The root "agent". */
	{ "{'agent': {'server': 'x.test:443', 'name': 'a', 'secret': '" S16
	    "'}}", "agent: needs \"local\" or \"allow\": an agent without "
	    "either would be an open proxy into its network" },
	{ "{'agent': {'server': 'x.test:443', 'name': 'a', 'secret': '" S16
	    "', 'local': 'localhost:80', 'allow': [{'ips': ['10.0.0.0/8']}]}}",
	    "agent.allow: cannot be combined with local" },
	{ "{'agent': {'name': 'a', 'secret': '" S16 "', 'local': "
	    "'localhost:80'}}", "agent.server: required (host:port)" },
	{ "{'agent': {'server': 'x.test', 'name': 'a', 'secret': '" S16 "', "
	    "'local': 'localhost:80'}}", "agent.server: \"x.test\" is not a "
	    "host and port (name:port, ip:port or [ipv6]:port)" },
	{ "{'agent': {'server': '::1:443', 'name': 'a', 'secret': '" S16
	    "', 'local': 'localhost:80'}}", "agent.server: \"::1:443\" is not "
	    "a host and port (name:port, ip:port or [ipv6]:port)" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': 'x', "
	    "'local': 'localhost:80'}}", "agent.secret: 1 bytes: a secret is "
	    "16-1024 bytes" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'local': "
	    "'localhost:80'}}", "agent.secret: required (or secret_file)" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'allow': [{'ports': [80]}]}}", "agent.allow[0]: needs \"ips\" "
	    "or \"domains\": an entry with ports alone would admit every "
	    "host" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'allow': []}}", "agent.allow: empty: no stream could reach "
	    "anything" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'allow': [{'domains': ['a b']}]}}", "agent.allow[0].domains[0]"
	    ": \"a b\" is not a domain name" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'allow': [{'ips': ['10.0.0.0/8'], 'ports': ['9-8']}]}}",
	    "agent.allow[0].ports[0]: \"9-8\" is not a port or port range "
	    "(1-65535)" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'local': 'l:1', 'reconnect_min': 10, 'reconnect_max': 5}}",
	    "agent.reconnect_min: above reconnect_max" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'local': 'l:1', 'keepalive': 45}}",
	    "agent.dead_timeout: not above keepalive" },
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'local': 'l:1'}, 'listeners': [{'name': 'agent', 'kind': "
	    "'socks5', 'listen': '127.0.0.1:1'}]}", "agent: a listener is "
	    "named \"agent\", the name of the one the agent's streams arrive "
	    "on" },
	{ "{'tunnel_user': '_sluice-resolver'}", "tunnel_user: the same as "
	    "resolver_user: the tunnel process needs a uid of its own" },
	{ "{'tunnel_user': '_sluice'}", "tunnel_user: the same as user: the "
	    "tunnel process needs a uid of its own" },
	/* ProxyServer. */
	{ "{'controller_user': {}}", "controller_user: empty: no controller "
	    "could connect" },
	{ "{'controller_user': {'tom': 'x'}}", "controller_user.tom: \"x\" is "
	    "not an address or CIDR prefix" },
	{ "{'controller_user': {'tom': '1.2.3.4', 'ann': '1.2.3.4'}}",
	    "controller_user.ann: the same address as tom" },
	{ "{'proxy_client_whitelist': []}", "proxy_client_whitelist: empty: "
	    "no agent could connect" },
	/* tcprouter. */
	{ "{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}], "
	    "'services': {'x.test': {'clientsecret': '" S16 "'}}}",
	    "services.x.test.clientsecret: needs a tunnel listener (\"kind\": "
	    "\"tunnel\"; router.toml: server.clientsport) for its agent to "
	    "dial" },
	{ "{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}, "
	    TL(AG("x.test", S20)) "], 'services': {'x.test': {'clientsecret': "
	    "'" S16 "'}}}", "services.x.test.clientsecret: listeners[1] gives "
	    "agent \"x.test\" another secret" },
	{ "{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}, "
	    TL(AG("y", S20)) "], 'services': {'*.x.test': {'clientsecret': "
	    "'" S16 "'}}}", "services.*.x.test.clientsecret: \"*.x.test\" "
	    "cannot be an agent's name: a tunnel service's name is "
	    "[A-Za-z0-9._-], 1-57 bytes (no wildcard)" },
	{ "{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}, "
	    TL(AG("y", S20)) "], 'balancer': {'links': [{'name': 'd'}]}, "
	    "'services': {'x.test': {'clientsecret': '" S16 "', 'link': "
	    "'d'}}}", "services.x.test.link: a service with a clientsecret "
	    "goes through its agent only" },
	{ "{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}, "
	    TL(AG("y", S20)) "], 'services': {'x.test': {'clientsecret': "
	    "'" SL_AGENT_REDACTED "'}}}", "services.x.test.clientsecret: "
	    "\"sluice:redacted!\" stands for a secret removed from the text; "
	    "it is not one" },
	/* Tenants. */
	{ "{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '" S16
	    "', 'local': 'l:1'}, 'tenants': [{'name': 't', 'listen': "
	    "['127.0.0.1:1'], 'balancer': {'links': [{}]}}]}",
	    "agent: with tenants, each tenant has its own" },
	{ "{'tenants': [{'name': 't', 'tunnel_user': 'x', 'listen': "
	    "['127.0.0.1:1'], 'balancer': {'links': [{}]}}]}",
	    "tenants[0].tunnel_user: process-wide; set it on the root" },
	{ "{'tunnel_user': '_sluice-w-t', 'tenants': [{'name': 't', "
	    "'listen': ['127.0.0.1:1'], 'balancer': {'links': [{}]}}]}",
	    "tenants[0].tunnel_user: the same as user: the tunnel process "
	    "needs a uid of its own" },
};

START_TEST(test_bad)
{
	must_fail(bad[_i].doc, bad[_i].err);
}
END_TEST

START_TEST(root_agent)
{
	struct sl_conf		*conf;
	const struct sl_agent	*a;
	int			 i;

	conf = must_parse("{'agent': {'server': 'relay.example.com:8443', "
	    "'name': 'lab', 'secret': '" S16 "', 'local': '[::1]:8080', "
	    "'max_streams': 10, 'reconnect_min': 0.5, 'reconnect_max': 30, "
	    "'keepalive': 10, 'dead_timeout': 20}}");
	a = &conf->agent;
	ck_assert_int_eq(a->enabled, 1);
	ck_assert_str_eq(a->server_host, "relay.example.com");
	ck_assert_uint_eq(a->server_port, 8443);
	ck_assert_str_eq(a->cred.name, "lab");
	ck_assert_str_eq(a->cred.secret, S16);
	ck_assert_str_eq(a->local_host, "::1");
	ck_assert_uint_eq(a->local_port, 8080);
	ck_assert_uint_eq(a->max_streams, 10);
	ck_assert_uint_eq(a->reconnect_min_ms, 500);
	ck_assert_uint_eq(a->reconnect_max_ms, 30000);
	ck_assert_uint_eq(a->keepalive_ms, 10000);
	ck_assert_uint_eq(a->dead_ms, 20000);
	/* No implicit 0.0.0.0:1080: only the agent's listener. */
	ck_assert_uint_eq(conf->nlisteners, 1);
	ck_assert_str_eq(conf->listeners[0].name, "agent");
	ck_assert_int_eq(conf->listeners[0].kind, SL_LISTEN_AGENT);
	ck_assert_int_eq(conf->listeners[0].addrlen, 0);
	ck_assert_int_eq(conf_listener_find(conf, "agent"), 0);
	ck_assert_uint_eq(conf->nlinks, 1);
	ck_assert_str_eq(conf->links[0].name, "direct");
	ck_assert_int_eq(conf_has_tunnel(conf), 1);
	ck_assert_int_eq(conf_agent_needs_addresses(a), 0);
	conf_free(conf);

	/* Defaults; an IPv4 server; "port" keeps its listener; matchers. */
	conf = must_parse("{'port': 1081, 'agent': {'server': "
	    "'192.0.2.1:443', 'name': 'lab', 'secret': '" S16 "', 'allow': "
	    "[{'domains': ['example.com']}]}, 'balancer': {'matchers': "
	    "[{'listeners': ['agent'], 'policy': 'allow'}]}}");
	a = &conf->agent;
	ck_assert_str_eq(a->server_host, "192.0.2.1");
	ck_assert_uint_eq(a->max_streams, 256);
	ck_assert_uint_eq(a->reconnect_min_ms, 1000);
	ck_assert_uint_eq(a->reconnect_max_ms, 60000);
	ck_assert_uint_eq(a->keepalive_ms, 15000);
	ck_assert_uint_eq(a->dead_ms, 45000);
	ck_assert_uint_eq(conf->nlisteners, 2);
	ck_assert_str_eq(conf->listeners[0].name, "listen0");
	ck_assert_str_eq(conf->listeners[1].name, "agent");
	ck_assert_uint_eq(a->nallow, 1);
	ck_assert_str_eq(a->allow[0].domains[0], "example.com");
	ck_assert_int_eq(conf_agent_needs_addresses(a), 0);
	conf_free(conf);

	conf = must_parse("{'agent': {'server': '[2001:db8::1]:443', 'name': "
	    "'lab', 'secret': '" S16 "', 'allow': [{'ips': ['10.0.0.0/8'], "
	    "'domains': ['*.Corp.Example.'], 'ports': [22, '8000-8100']}]}}");
	a = &conf->agent;
	ck_assert_str_eq(a->server_host, "2001:db8::1");
	ck_assert_str_eq(a->allow[0].domains[0], "corp.example");
	ck_assert_uint_eq(a->allow[0].nports, 2);
	ck_assert_uint_eq(a->allow[0].ports[1].lo, 8000);
	ck_assert_uint_eq(a->allow[0].ports[1].hi, 8100);
	ck_assert_int_eq(conf_agent_needs_addresses(a), 1);
	conf_free(conf);

	/* A tenant may be only an agent; two agents do not overlap. */
	conf = must_parse("{'controller_user': {'tom': '10.0.0.1'}, "
	    "'tenants': [{'name': 't', 'agent': {'server': "
	    "'x.test:1', 'name': 'a', 'secret': '" S16 "', 'local': "
	    "'l.test:1'}, 'balancer': {'links': [{}]}}, {'name': 'u', "
	    "'agent': {'server': 'x.test:1', 'name': 'b', 'secret': '" S16
	    "', 'local': 'l.test:1'}, 'listen': ['127.0.0.1:1'], "
	    "'balancer': {'links': [{}]}}]}");
	ck_assert_uint_eq(conf->tenants[1].conf->nlisteners, 2);
	ck_assert_uint_eq(conf->tenants[1].conf->listeners[0].ncontrollers,
	    1);
	ck_assert_uint_eq(conf->tenants[1].conf->listeners[1].ncontrollers,
	    0);
	ck_assert_int_eq(conf_has_tunnel(conf), 1);
	i = (int)conf->tenants[0].conf->nlisteners;
	ck_assert_int_eq(i, 1);
	conf_free(conf);
}
END_TEST

static struct sockaddr_storage
sa(const char *ip)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct sl_res_addr
ra(const char *ip)
{
	struct sl_res_addr	r;

	memset(&r, 0, sizeof(r));
	if (inet_pton(AF_INET, ip, r.addr) == 1)
		r.family = 4;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, r.addr), 1);
		r.family = 6;
	}
	return r;
}

START_TEST(agent_allows)
{
	struct sl_conf			*conf;
	const struct sl_agent		*a;
	struct sockaddr_storage		 ss;
	struct sl_res_addr		 res[4];
	uint32_t			 n;

	conf = must_parse("{'agent': {'server': 'x.test:1', 'name': 'a', "
	    "'secret': '" S16 "', 'allow': [{'domains': ['example.com'], "
	    "'ports': [443]}, {'ips': ['10.0.0.0/8', '2001:db8::/32'], "
	    "'ports': ['8000-8100']}, {'ips': ['192.168.1.1']}]}}");
	a = &conf->agent;
	/* Domain and subdomain, with the entry's port. */
	ck_assert_int_eq(conf_agent_allows(a, "example.com", NULL, 443, NULL,
	    NULL), 1);
	ck_assert_int_eq(conf_agent_allows(a, "www.example.com", NULL, 443,
	    NULL, NULL), 1);
	ck_assert_int_eq(conf_agent_allows(a, "www.example.com.", NULL, 443,
	    NULL, NULL), 1);
	ck_assert_int_eq(conf_agent_allows(a, "badexample.com", NULL, 443,
	    NULL, NULL), 0);
	ck_assert_int_eq(conf_agent_allows(a, "example.com", NULL, 80, NULL,
	    NULL), 0);
	/* Addresses: CIDR and ports; any port for the last entry. */
	ss = sa("10.1.2.3");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 8080, NULL,
	    NULL), 1);
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 22, NULL,
	    NULL), 0);
	ss = sa("11.0.0.1");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 8080, NULL,
	    NULL), 0);
	ss = sa("192.168.1.1");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 1, NULL,
	    NULL), 1);
	ss = sa("::ffff:192.168.1.1");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 1, NULL,
	    NULL), 1);
	ss = sa("2001:db8:1::5");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 8000, NULL,
	    NULL), 1);
	ss = sa("2001:db9::5");
	ck_assert_int_eq(conf_agent_allows(a, NULL, (void *)&ss, 8000, NULL,
	    NULL), 0);
	/* A name no domain admits passes by its addresses, filtered. */
	ck_assert_int_eq(conf_agent_allows(a, "intranet.test", NULL, 8000,
	    NULL, NULL), 0);
	res[0] = ra("11.0.0.1");
	res[1] = ra("10.9.9.9");
	res[2] = ra("2001:db8::1");
	res[3] = ra("192.168.1.2");
	n = 4;
	ck_assert_int_eq(conf_agent_allows(a, "intranet.test", NULL, 8000,
	    res, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(res[0].family, 4);
	ck_assert_uint_eq(res[0].addr[0], 10);
	ck_assert_uint_eq(res[1].family, 6);
	res[0] = ra("11.0.0.1");
	n = 1;
	ck_assert_int_eq(conf_agent_allows(a, "intranet.test", NULL, 8000,
	    res, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(conf_agent_needs_addresses(a), 1);
	conf_free(conf);

	/* "local": everything, replaced by local. */
	conf = must_parse("{'agent': {'server': 'x.test:1', 'name': 'a', "
	    "'secret': '" S16 "', 'local': '127.0.0.1:8080'}}");
	ss = sa("8.8.8.8");
	ck_assert_int_eq(conf_agent_allows(&conf->agent, NULL, (void *)&ss,
	    53, NULL, NULL), 1);
	ck_assert_int_eq(conf_agent_allows(&conf->agent, "any.test", NULL,
	    1, NULL, NULL), 1);
	conf_free(conf);
}
END_TEST

START_TEST(proxyserver)
{
	struct sl_conf			*conf;
	const struct sl_listener	*l;
	char				 buf[64];

	/* ProxyServer's file as it is: the implicit listener gets them. */
	conf = must_parse("{'controller_user': {'tom': '192.168.1.1', "
	    "'ann': '10.0.0.0/24'}, 'proxy_client_whitelist': "
	    "['111.111.111.111']}");
	l = &conf->listeners[0];
	ck_assert_uint_eq(l->nclients, 2);
	ck_assert_uint_eq(l->ncontrollers, 2);
	ck_assert_str_eq(l->controllers[0].name, "tom");
	conf_cidr_fmt(&l->controllers[0].addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.168.1.1/32");
	conf_cidr_fmt(&l->clients[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.0/24");
	conf_free(conf);

	conf = must_parse("{'controller_user': {'tom': '192.168.1.1'}, "
	    "'proxy_client_whitelist': ['111.111.111.111', '10.0.0.0/8'], "
	    "'listeners': [" SOCKS ", {'kind': 'http', 'listen': "
	    "'127.0.0.1:3128', 'clients': ['127.0.0.1']}, {'kind': 'metrics', "
	    "'listen': '127.0.0.1:9100'}, " TL(AG("a", S16)) ", {'kind': "
	    "'tunnel', 'listen': '127.0.0.1:8444', 'clients': ['1.1.1.1'], "
	    "'agents': [" AG("a", S16) "]}, {'name': 'tp', 'kind': 'tproxy', "
	    "'listen': '127.0.0.1:1234', 'udp': true}]}");
	l = conf->listeners;
	ck_assert_uint_eq(l[0].nclients, 1);
	ck_assert_uint_eq(l[0].ncontrollers, 1);
	ck_assert_uint_eq(l[1].nclients, 1);	/* its own */
	ck_assert_uint_eq(l[1].ncontrollers, 0);
	ck_assert_uint_eq(l[2].nclients, 0);	/* metrics */
	ck_assert_uint_eq(l[3].nclients, 2);	/* the whitelist */
	ck_assert_uint_eq(l[3].ncontrollers, 0);
	conf_cidr_fmt(&l[3].clients[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "111.111.111.111/32");
	ck_assert_uint_eq(l[4].nclients, 1);	/* its own */
	ck_assert_uint_eq(l[5].ncontrollers, 1);
	ck_assert_str_eq(l[6].name, "tp.udp");
	ck_assert_ptr_eq(l[6].clients, l[5].clients);
	ck_assert_ptr_eq(l[6].controllers, l[5].controllers);
	conf_free(conf);
}
END_TEST

START_TEST(tcprouter_json)
{
	struct sl_conf			*conf;
	const struct sl_service		*s;
	const struct sl_link		*k;
	const struct sl_agent_cred	*a;

	conf = must_parse("{'listeners': [{'kind': 'sni', 'listen': "
	    "'127.0.0.1:443'}, {'kind': 'tunnel', 'listen': '0.0.0.0:18000', "
	    "'agents': [" AG("other", S20) "]}, {'kind': 'tunnel', 'listen': "
	    "'0.0.0.0:18001', 'agents': [" AG("mydomain.com", S16) "]}], "
	    "'services': {'MyDomain.com': {'clientsecret': '" S16 "'}, "
	    "'plain.test': {'addr': '10.0.0.1'}}}");
	ck_assert_uint_eq(conf->nlinks, 2);
	k = &conf->links[1];
	ck_assert_str_eq(k->name, "agent:mydomain.com");
	ck_assert_int_eq(k->proto, SL_LINK_AGENT);
	ck_assert_str_eq(k->agent, "mydomain.com");
	ck_assert_int_eq(k->selectable, 0);
	ck_assert_int_eq(conf->links[0].selectable, 1);
	s = services_find(conf->services, "mydomain.com");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->nlinks, 1);
	ck_assert_uint_eq(s->links[0], 1);
	s = services_find(conf->services, "plain.test");
	ck_assert_uint_eq(s->nlinks, 0);
	ck_assert_uint_eq(conf->listeners[1].nagents, 2);
	a = conf_agent_find(&conf->listeners[1], "mydomain.com");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->secret, S16);
	ck_assert_uint_eq(conf->listeners[2].nagents, 1);
	conf_free(conf);

	/* Agents from services alone are enough. */
	conf = must_parse("{'listeners': [{'kind': 'sni', 'listen': "
	    "'127.0.0.1:443'}, {'kind': 'tunnel', 'listen': '0.0.0.0:18000'}], "
	    "'services': {'a.test': {'clientsecret': '" S16 "'}}}");
	ck_assert_uint_eq(conf->listeners[1].nagents, 1);
	conf_free(conf);
}
END_TEST

static int
toml_parse(const char *text, struct sl_conf **conf, char **json, char *err,
    size_t errlen)
{
	return conf_parse_toml(text, strlen(text), conf, json, err, errlen);
}

START_TEST(tcprouter_toml)
{
	struct sl_conf	*conf = NULL;
	char		*json = NULL, err[512];

	ck_assert_msg(toml_parse("[server]\nclientsport = 18000\n"
	    "[server.services]\n  [server.services.\"mydomain.com\"]\n"
	    "    clientsecret = \"TB2pbZ5FR8GQZp9W2z97jBjxSgWgQKaQ\"\n", &conf,
	    &json, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(conf->nlisteners, 3);
	ck_assert_str_eq(conf->listeners[2].name, "clients");
	ck_assert_int_eq(conf->listeners[2].kind, SL_LISTEN_TUNNEL);
	ck_assert_uint_eq(conf->listeners[2].nagents, 1);
	ck_assert_str_eq(conf->listeners[2].agents[0].name, "mydomain.com");
	ck_assert_str_eq(conf->links[1].name, "agent:mydomain.com");
	ck_assert_ptr_nonnull(strstr(json, "\"clientsecret\""));
	conf_free(conf);
	free(json);

	ck_assert_int_eq(toml_parse("[server.services]\n"
	    "  [server.services.\"mydomain.com\"]\n"
	    "    clientsecret = \"TB2pbZ5FR8GQZp9W2z97jBjxSgWgQKaQ\"\n", &conf,
	    &json, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "server.services.\"mydomain.com\".clientsecret: "
	    "needs a tunnel listener (\"kind\": \"tunnel\"; router.toml: "
	    "server.clientsport) for its agent to dial");
	ck_assert_int_eq(toml_parse("[server]\nclientsport = 18000\n", &conf,
	    &json, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "server.clientsport: required: the agents it "
	    "accepts (or services with a clientsecret)");
	ck_assert_int_eq(toml_parse("[server]\nclientsport = 0\n", &conf,
	    &json, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "server.clientsport: 0 is not a port (1-65535)");
}
END_TEST

static Suite *
tunnel_suite(void)
{
	Suite	*s = suite_create("config_tunnel");
	TCase	*tc = tcase_create("tunnel");

	tcase_add_test(tc, tunnel_listener);
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) /
	    sizeof(bad[0])));
	tcase_add_test(tc, root_agent);
	tcase_add_test(tc, agent_allows);
	tcase_add_test(tc, proxyserver);
	tcase_add_test(tc, tcprouter_json);
	tcase_add_test(tc, tcprouter_toml);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, secrets_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tunnel_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
