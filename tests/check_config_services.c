/*
 * tcprouter's model in sluice's config: "services", "dbbackend", the sni
 * and host listener kinds, the PROXY protocol keys, and the service
 * table itself (lookups, wildcards, CATCH_ALL, the registry's lenient
 * load).
 */
#include "check_config.h"
#include "policy/services.h"

#define SNI_LISTENER \
	"'listeners': [{'name': 'tls', 'kind': 'sni', " \
	"'listen': '127.0.0.1:8443'}]"

START_TEST(test_services_tcprouter_record)
{
	struct sl_conf			*conf;
	const struct sl_service		*s;
	const struct sockaddr_in	*sin;

	conf = must_parse("{" SNI_LISTENER ", 'services': {"
	    "'MyDomain.com.': {'addr': '172.217.19.46', 'tlsport': 443, "
	    "'httpport': 80}}}");
	ck_assert_int_eq(conf->listeners[0].kind, SL_LISTEN_SNI);
	ck_assert_str_eq(conf_listen_kind_name(SL_LISTEN_SNI), "sni");
	/* The listener's timeout defaults to the root "timeout" (5 s). */
	ck_assert_uint_eq(conf->listeners[0].timeout_ms, 5000);
	ck_assert_uint_eq(services_count(conf->services), 1);
	s = services_find(conf->services, "mydomain.com");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->name, "mydomain.com");
	ck_assert_uint_eq(s->nbackends, 1);
	ck_assert_ptr_null(s->backends[0].host);
	sin = &s->backends[0].addr.sin;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0xacd9132e);
	ck_assert_uint_eq(s->tlsport, 443);
	ck_assert_uint_eq(s->httpport, 80);
	ck_assert_uint_eq(s->proxy_protocol, 0);
	ck_assert_ptr_null(services_find(conf->services, "other.com"));
	ck_assert_ptr_null(services_catch_all(conf->services));
	conf_free(conf);
}
END_TEST

START_TEST(test_services_wildcard_catch_all)
{
	struct sl_conf			*conf;
	const struct sl_service		*s;

	conf = must_parse("{" SNI_LISTENER ", 'services': {"
	    "'*.example.com': {'addr': ['10.0.0.1', '10.0.0.2:8443', "
	    "'[::1]:9443', 'backend.internal'], 'strategy': 'failover', "
	    "'proxy_protocol': 2},"
	    "'a.example.com': {'addr': '10.0.0.9'},"
	    "'CATCH_ALL': {'addr': '127.0.0.1', 'httpport': 8080}}}");
	s = services_find(conf->services, "b.example.com");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->name, "*.example.com");
	ck_assert_uint_eq(s->nbackends, 4);
	ck_assert_uint_eq(s->backends[0].port, 0);
	ck_assert_uint_eq(s->backends[1].port, 8443);
	ck_assert_int_eq(s->backends[2].addr.sa.sa_family, AF_INET6);
	ck_assert_uint_eq(s->backends[2].port, 9443);
	ck_assert_str_eq(s->backends[3].host, "backend.internal");
	ck_assert_uint_eq(s->strategy, SL_STRAT_FAILOVER);
	ck_assert_uint_eq(s->proxy_protocol, 2);
	/* Exact beats the wildcard; a wildcard covers one label only. */
	ck_assert_str_eq(services_find(conf->services,
	    "a.example.com")->name, "a.example.com");
	ck_assert_ptr_null(services_find(conf->services, "x.b.example.com"));
	ck_assert_ptr_null(services_find(conf->services, "example.com"));
	ck_assert_ptr_null(services_find(conf->services, ".example.com"));
	/* CATCH_ALL is never found by name, only asked for. */
	ck_assert_ptr_null(services_find(conf->services, "CATCH_ALL"));
	s = services_catch_all(conf->services);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->httpport, 8080);
	ck_assert_uint_eq(s->tlsport, 443);
	conf_free(conf);
}
END_TEST

START_TEST(test_services_links)
{
	struct sl_conf			*conf;
	const struct sl_service		*s;

	conf = must_parse("{" SNI_LISTENER ", 'balancer': {'links': ["
	    "{'name': 'direct'}, {'name': 'up', 'protocol': 'socks5', "
	    "'domain': '127.0.0.1', 'port': 1081, 'proxy_protocol': 1}]},"
	    "'services': {'egress.test': {'link': 'up'},"
	    "'two.test': {'links': ['up', 'direct']}}}");
	ck_assert_uint_eq(conf->links[1].proxy_protocol, 1);
	s = services_find(conf->services, "egress.test");
	ck_assert_uint_eq(s->nbackends, 0);
	ck_assert_uint_eq(s->nlinks, 1);
	ck_assert_uint_eq(s->links[0], 1);
	s = services_find(conf->services, "two.test");
	ck_assert_uint_eq(s->nlinks, 2);
	ck_assert_uint_eq(s->links[0], 1);
	ck_assert_uint_eq(s->links[1], 0);
	conf_free(conf);
}
END_TEST

START_TEST(test_dbbackend_proxy_listener)
{
	struct sl_conf			*conf;
	const struct sl_listener	*l;

	conf = must_parse("{'listeners': [{'name': 'web', 'kind': 'host', "
	    "'listen': '127.0.0.1:8080', 'timeout': 2.5, "
	    "'proxy_protocol': true, 'proxy_protocol_from': ['10.0.0.0/8']}],"
	    "'dbbackend': {'type': 'redis', 'addr': '127.0.0.1', "
	    "'port': 6380, 'password': 'pw', 'refresh': 3}}");
	l = &conf->listeners[0];
	ck_assert_int_eq(l->kind, SL_LISTEN_HOST);
	ck_assert_uint_eq(l->timeout_ms, 2500);
	ck_assert_int_eq(l->proxy_protocol, 1);
	ck_assert_uint_eq(l->nproxy_from, 1);
	ck_assert_int_eq(conf->dbbackend.enabled, 1);
	check_addr(&conf->dbbackend.addr, conf->dbbackend.addrlen, AF_INET,
	    "127.0.0.1", 6380);
	ck_assert_str_eq(conf->dbbackend.password, "pw");
	ck_assert_uint_eq(conf->dbbackend.refresh_s, 3);
	ck_assert_ptr_null(conf->services);
	conf_free(conf);
	conf = must_parse("{" SNI_LISTENER ", 'dbbackend': {'type': "
	    "'redis'}}");
	check_addr(&conf->dbbackend.addr, conf->dbbackend.addrlen, AF_INET,
	    "127.0.0.1", 6379);
	ck_assert_uint_eq(conf->dbbackend.refresh_s, 10);
	conf_free(conf);
}
END_TEST

static const struct {
	const char	*json, *err;
} bad[] = {
	{ "{" SNI_LISTENER "}", "listeners[0].kind: sni and host listeners "
	    "need \"services\" or a \"dbbackend\"" },
	{ "{" SNI_LISTENER ", 'services': []}",
	    "services: expected an object (name -> service), got array" },
	{ "{" SNI_LISTENER ", 'services': {'a b': {}}}",
	    "services.a b: \"a b\" is not a host name, \"*.domain\" or "
	    "CATCH_ALL" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'addr': '0.0.0.0'}}}",
	    "services.x.test.addr: \"0.0.0.0\" is not an address to connect "
	    "to" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'addr': "
	    "'1.2.3.4:0'}}}", "services.x.test.addr: \"0\": bad port" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'tlsport': 70000}}}",
	    "services.x.test.tlsport: 70000 is not a port (1-65535)" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'link': 'nope'}}}",
	    "services.x.test.link: no link is called \"nope\"" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'clientsecret': "
	    "'s'}}}", "services.x.test.clientsecret: 1 bytes: a secret is "
	    "16-1024 bytes" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'clientsecret': "
	    "'0123456789abcdef'}}}", "services.x.test.clientsecret: needs a "
	    "tunnel listener (\"kind\": \"tunnel\"; router.toml: "
	    "server.clientsport) for its agent to dial" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'port': 1}}}",
	    "services.x.test.port: unknown key" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {}, 'X.test': {}}}",
	    "services.X.test: the same name as another service" },
	{ "{" SNI_LISTENER ", 'services': {'x.test': {'proxy_protocol': "
	    "3}}}", "services.x.test.proxy_protocol: expected 0 (none), 1 or "
	    "2 (PROXY protocol version)" },
	{ "{" SNI_LISTENER ", 'dbbackend': {'type': 'etcd'}}",
	    "dbbackend.type: \"etcd\" is not one of redis" },
	{ "{" SNI_LISTENER ", 'dbbackend': {'type': 'redis', 'addr': "
	    "'redis.local'}}", "dbbackend.addr: \"redis.local\" is not an IP "
	    "address (the master does not resolve names)" },
	{ "{" SNI_LISTENER ", 'dbbackend': {'addr': '127.0.0.1'}}",
	    "dbbackend.type: required (\"redis\")" },
	{ "{'listeners': [{'kind': 'socks5', 'listen': '127.0.0.1:1', "
	    "'proxy_protocol': true}]}",
	    "listeners[0].proxy_protocol_from: required with proxy_protocol: "
	    "the balancers trusted to send it" },
	{ "{'listeners': [{'kind': 'host', 'listen': '127.0.0.1:1', "
	    "'users': [{'username': 'u', 'password': 'p'}]}], "
	    "'services': {}}", "listeners[0].users: a listener of kind sni or "
	    "host cannot ask for credentials" },
};

START_TEST(test_services_bad)
{
	must_fail(bad[_i].json, bad[_i].err);
}
END_TEST

static unsigned	nskipped;
static char	last_skip[512];

static void
count_skip(const char *why, void *arg)
{
	(void)arg;
	nskipped++;
	snprintf(last_skip, sizeof(last_skip), "%s", why);
}

START_TEST(test_services_load_lenient)
{
	static const char json[] = "{\"a.test\": {\"addr\": \"10.0.0.1\"},"
	    "\"bad.test\": {\"addr\": \"0.0.0.0\"},"
	    "\"l.test\": {\"link\": \"x\"},"
	    "\"*.w.test\": {\"addr\": \"10.0.0.2:81\"},"
	    "\"a.test\": {\"addr\": \"10.0.0.3\"}}";
	struct sl_services	*t;

	nskipped = 0;
	ck_assert_int_eq(services_load(json, sizeof(json) - 1, &t,
	    count_skip, NULL), 0);
	ck_assert_uint_eq(services_count(t), 2);
	ck_assert_uint_eq(nskipped, 3);
	ck_assert_str_eq(last_skip, "a.test: the same name as another "
	    "service");
	ck_assert_ptr_nonnull(services_find(t, "x.w.test"));
	services_free(t);
	ck_assert_int_eq(services_load("[1]", 3, &t, NULL, NULL), -1);
	ck_assert_int_eq(services_load("{", 1, &t, NULL, NULL), -1);
	ck_assert_int_eq(services_load("{}", 2, &t, NULL, NULL), 0);
	ck_assert_uint_eq(services_count(t), 0);
	ck_assert_ptr_null(services_find(t, "a.test"));
	services_free(t);
	/* A Lua script is compiled at start: Redis cannot name one. */
	nskipped = 0;
	ck_assert_int_eq(services_load("{\"t.test\": {\"addr\": \"10.0.0.1\", "
	    "\"taps\": [{\"type\": \"log\"}]}}", 59, &t, count_skip, NULL), 0);
	ck_assert_uint_eq(services_count(t), 0);
	ck_assert_uint_eq(nskipped, 1);
	ck_assert_ptr_nonnull(strstr(last_skip, "taps are not allowed in the "
	    "registry's table"));
	services_free(t);
}
END_TEST

/* 20,000 names: every one found, growth of the index included. */
START_TEST(test_services_many)
{
	struct sl_services	*t;
	struct buf		 b = { NULL, 0, 0 };
	char			 item[96], name[64];
	int			 i;

	add(&b, "{");
	for (i = 0; i < 20000; i++) {
		snprintf(item, sizeof(item), "%s\"s%d.example.net\": "
		    "{\"addr\": \"10.%d.%d.1\"}", i ? "," : "", i,
		    (i >> 8) & 255, i & 255);
		add(&b, item);
	}
	add(&b, "}");
	ck_assert_int_eq(services_load(b.s, b.len, &t, NULL, NULL), 0);
	ck_assert_uint_eq(services_count(t), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "s%d.example.net", i);
		ck_assert_ptr_nonnull(services_find(t, name));
	}
	ck_assert_ptr_null(services_find(t, "s20000.example.net"));
	services_free(t);
	free(b.s);
}
END_TEST

TCase *
config_services_tcase(void)
{
	TCase	*tc = tcase_create("services");

	tcase_add_test(tc, test_services_tcprouter_record);
	tcase_add_test(tc, test_services_wildcard_catch_all);
	tcase_add_test(tc, test_services_links);
	tcase_add_test(tc, test_dbbackend_proxy_listener);
	tcase_add_loop_test(tc, test_services_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_services_load_lenient);
	tcase_add_test(tc, test_services_many);
	return tc;
}
