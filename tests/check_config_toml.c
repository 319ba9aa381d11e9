/*
 * tcprouter's router.toml: the documented example loads unchanged into
 * an sni and a host listener, its services and its Redis backend; the
 * JSON the children get is what we expect; and every rejected file says
 * where, in TOML terms (a line and column for syntax, a TOML path for
 * the rest).  Also the generic TOML -> JSON step on its own.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "policy/services.h"
#include "policy/toml_json.h"

/* tcprouter's README example: the same keys and values. */
static const char example[] =
    "[server]\n"
    "addr = \"0.0.0.0\"  # both entry points\n"
    "port = 443\n"
    "httpport = 80\n"
    "\n"
    "[server.dbbackend]\n"
    "type \t = \"redis\"\n"
    "addr     = \"127.0.0.1\"\n"
    "port     = 6379\n"
    "refresh  = 10\n"
    "\n"
    "[server.services]\n"
    "    [server.services.\"mydomain.com\"]\n"
    "        addr = \"172.217.19.46\"\n"
    "        tlsport = 443\n"
    "        httpport = 80\n";

static const char example_json[] =
    "{\"listeners\":["
    "{\"name\":\"tls\",\"kind\":\"sni\",\"listen\":\"0.0.0.0:443\"},"
    "{\"name\":\"http\",\"kind\":\"host\",\"listen\":\"0.0.0.0:80\"}],"
    "\"dbbackend\":{\"addr\":\"127.0.0.1\",\"port\":6379,"
    "\"refresh\":10,\"type\":\"redis\"},"
    "\"services\":{\"mydomain.com\":{\"addr\":\"172.217.19.46\","
    "\"httpport\":80,\"tlsport\":443}}}";

/* Parses an exact-size copy, so ASan sees any read past len. */
static int
try_toml(const char *text, struct sl_conf **conf, char **json, char *err,
    size_t errlen)
{
	size_t	 len = strlen(text);
	char	*copy = malloc(len > 0 ? len : 1);
	int	 rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	rc = conf_parse_toml(copy, len, conf, json, err, errlen);
	free(copy);
	return rc;
}

static struct sl_conf *
must_load(const char *text, char **json)
{
	struct sl_conf	*conf = NULL;
	char		 err[512];

	ck_assert_msg(try_toml(text, &conf, json, err, sizeof(err)) == 0,
	    "%s: %s", text, err);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_nonnull(*json);
	return conf;
}

static void
must_fail(const char *text, const char *want)
{
	struct sl_conf	*conf = (struct sl_conf *)1;
	char		*json = (char *)1;
	char		 err[512];

	ck_assert_int_eq(try_toml(text, &conf, &json, err, sizeof(err)), -1);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_null(json);
	ck_assert_str_eq(err, want);
}

/* As must_fail, for messages whose tail is the JSON loader's. */
static void
must_fail_at(const char *text, const char *prefix)
{
	struct sl_conf	*conf = NULL;
	char		*json = NULL;
	char		 err[512];

	ck_assert_int_eq(try_toml(text, &conf, &json, err, sizeof(err)), -1);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_null(json);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "\"%s\" does not start with \"%s\"", err, prefix);
}

static void
check_listener(const struct sl_listener *l, const char *name,
    enum sl_listen_kind kind, int af, const char *ip, uint16_t port)
{
	char		 buf[INET6_ADDRSTRLEN];
	const void	*a;
	uint16_t	 p;

	ck_assert_str_eq(l->name, name);
	ck_assert_int_eq(l->kind, kind);
	ck_assert_int_eq(l->addr.ss_family, af);
	if (af == AF_INET) {
		a = &((const struct sockaddr_in *)&l->addr)->sin_addr;
		p = ((const struct sockaddr_in *)&l->addr)->sin_port;
	} else {
		a = &((const struct sockaddr_in6 *)&l->addr)->sin6_addr;
		p = ((const struct sockaddr_in6 *)&l->addr)->sin6_port;
	}
	ck_assert_ptr_nonnull(inet_ntop(af, a, buf, sizeof(buf)));
	ck_assert_str_eq(buf, ip);
	ck_assert_uint_eq(ntohs(p), port);
}

static void
check_example(const struct sl_conf *conf, const char *backend)
{
	const struct sl_service	*svc;
	char			 buf[INET_ADDRSTRLEN];

	ck_assert_uint_eq(conf->nlisteners, 2);
	check_listener(&conf->listeners[0], "tls", SL_LISTEN_SNI, AF_INET,
	    "0.0.0.0", 443);
	check_listener(&conf->listeners[1], "http", SL_LISTEN_HOST, AF_INET,
	    "0.0.0.0", 80);
	ck_assert_ptr_nonnull(conf->services);
	ck_assert_uint_eq(services_count(conf->services), 1);
	svc = services_find(conf->services, "mydomain.com");
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->tlsport, 443);
	ck_assert_uint_eq(svc->httpport, 80);
	ck_assert_uint_eq(svc->nbackends, 1);
	ck_assert_ptr_null(svc->backends[0].host);
	ck_assert_int_eq(svc->backends[0].addr.sa.sa_family, AF_INET);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET,
	    &svc->backends[0].addr.sin.sin_addr, buf, sizeof(buf)));
	ck_assert_str_eq(buf, backend);
	ck_assert_int_eq(conf->dbbackend.enabled, 1);
	ck_assert_str_eq(conf->dbbackend.host, "127.0.0.1");
	ck_assert_int_eq(conf->dbbackend.addr.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((const struct sockaddr_in *)
	    &conf->dbbackend.addr)->sin_port), 6379);
	ck_assert_uint_eq(conf->dbbackend.refresh_s, 10);
}

START_TEST(readme_example)
{
	struct sl_conf	*conf;
	char		*json = NULL;

	conf = must_load(example, &json);
	check_example(conf, "172.217.19.46");
	/* What the children get instead of the TOML. */
	ck_assert_str_eq(json, example_json);
	conf_free(conf);
	free(json);
}
END_TEST

START_TEST(data_file)
{
	struct sl_conf	*conf;
	const char	*dir = getenv("SL_SRCDIR");
	char		 path[4096], *json = NULL;
	static char	 text[65536];
	size_t		 n;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/tests/data/router.toml",
	    dir != NULL ? dir : ".");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	conf = must_load(text, &json);
	check_example(conf, "127.0.0.1");
	conf_free(conf);
	free(json);
}
END_TEST

/*
 * tcprouter's ports are 443 and 80 on every address unless [server]
 * says otherwise.  A file with nothing to route is refused (tcprouter
 * refuses it too: it needs a dbbackend).
 */
START_TEST(defaults)
{
	static const char *const empty[] = { "", "# nothing\n", "[server]\n",
	    "[server.services]\n" };
	struct sl_conf	*conf;
	char		*json = NULL;
	size_t		 i;

	conf = must_load("[server.services.\"x.test\"]\n", &json);
	ck_assert_uint_eq(conf->nlisteners, 2);
	check_listener(&conf->listeners[0], "tls", SL_LISTEN_SNI,
	    AF_INET, "0.0.0.0", 443);
	check_listener(&conf->listeners[1], "http", SL_LISTEN_HOST,
	    AF_INET, "0.0.0.0", 80);
	ck_assert_int_eq(conf->dbbackend.enabled, 0);
	ck_assert_str_eq(json, "{\"listeners\":["
	    "{\"name\":\"tls\",\"kind\":\"sni\",\"listen\":\"0.0.0.0:443\"},"
	    "{\"name\":\"http\",\"kind\":\"host\",\"listen\":\"0.0.0.0:80\"}],"
	    "\"services\":{\"x.test\":{}}}");
	conf_free(conf);
	free(json);
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
		must_fail_at(empty[i], "server: ");
}
END_TEST

START_TEST(addresses)
{
	struct sl_conf	*conf;
	char		*json = NULL;

	conf = must_load("[server]\naddr = \"::1\"\nport = 8443\n"
	    "httpport = 8080\n[server.services.\"x.test\"]\n", &json);
	check_listener(&conf->listeners[0], "tls", SL_LISTEN_SNI, AF_INET6,
	    "::1", 8443);
	check_listener(&conf->listeners[1], "http", SL_LISTEN_HOST,
	    AF_INET6, "::1", 8080);
	ck_assert_ptr_nonnull(strstr(json, "\"listen\":\"[::1]:8443\""));
	conf_free(conf);
	free(json);
	/* Go listens everywhere for an empty address. */
	conf = must_load("[server]\naddr = \"\"\n[server.services.x]\n",
	    &json);
	check_listener(&conf->listeners[0], "tls", SL_LISTEN_SNI, AF_INET,
	    "0.0.0.0", 443);
	conf_free(conf);
	free(json);
	/* An empty [server.services] is no services at all. */
	conf = must_load("[server.dbbackend]\ntype = \"redis\"\n"
	    "[server.services]\n", &json);
	ck_assert_ptr_null(conf->services);
	ck_assert_int_eq(conf->dbbackend.enabled, 1);
	conf_free(conf);
	free(json);
}
END_TEST

START_TEST(syntax_errors)
{
	must_fail_at("[server]\nport = 443\n[server\n",
	    "router.toml line 3 column ");
	must_fail_at("[server]\naddr = 0.0.0.0\n",
	    "router.toml line 2 column ");
	must_fail_at("[server]\nport = 1\nport = 2\n",
	    "router.toml line 3 column ");
	must_fail_at("[server]\naddr = \"a\\u0000b\"\n",
	    "router.toml line 2 column ");
	must_fail("[server]\naddr = \"a\\u0000b\"\n", "router.toml line 2 "
	    "column 8: a string or key holds U+0000 (NUL)");
	/* toml++ 3.3.0 asserts on these (upstream PR 301): no abort. */
	must_fail("[&x]\n", "router.toml: not valid TOML (a check of the "
	    "parser failed)");
	must_fail("[[[1]]]\n", "router.toml: not valid TOML (a check of the "
	    "parser failed)");
	/* ... and reach "unreachable" code (upstream issues 190, 295). */
	must_fail_at("[server]\naddr = \xc3\xa9\n",
	    "router.toml line 2 column 8: ");
	must_fail_at("\xcc\xaa", "router.toml line 1 column 1: ");
	must_fail_at("[server]\naddr =\xc2\xa0\"1.2.3.4\"\n",
	    "router.toml line 2 column 7: ");
	must_fail_at("[server]\naddr = \"\"\"\\\n\xc2\xa7\"\"\"\n",
	    "server.addr: ");
}
END_TEST

/* Loaded ones: check_config_tunnel.c. */
START_TEST(tunnels)
{
	must_fail("[server]\nclientsport = 18000\n[server.services]\n"
	    "  [server.services.\"mydomain.com\"]\n"
	    "    clientsecret = \"TB2pbZ5FR8GQ\"\n",
	    "server.services.\"mydomain.com\".clientsecret: 12 bytes: a "
	    "secret is 16-1024 bytes");
	must_fail("[server]\nclientsport = 18000\n",
	    "server.clientsport: required: the agents it accepts (or "
	    "services with a clientsecret)");
}
END_TEST

START_TEST(unknown_keys)
{
	must_fail("[server]\nprot = 443\n", "server.prot: unknown key");
	must_fail("[servers]\nport = 443\n",
	    "servers: unknown key (router.toml has only [server])");
	must_fail("title = \"x\"\n[server]\n",
	    "title: unknown key (router.toml has only [server])");
	must_fail("[server.dbbackend]\ntype = \"redis\"\npasword = \"x\"\n",
	    "server.dbbackend.pasword: unknown key");
	must_fail("[server.services.\"a.b\"]\naddr = \"127.0.0.1\"\n"
	    "tlsprot = 443\n", "server.services.\"a.b\".tlsprot: unknown key");
	must_fail("[server.services.\"a b\\\"\"]\nx = 1\n",
	    "server.services.\"a b\\\"\".x: unknown key");
	must_fail("[server.services.plain]\nx = 1\n",
	    "server.services.plain.x: unknown key");
	/* tcprouter's own, undocumented, not built. */
	must_fail("[server.dbbackend]\ntype = \"redis\"\nusername = \"u\"\n",
	    "server.dbbackend.username: not supported yet");
}
END_TEST

START_TEST(wrong_types)
{
	must_fail("[server]\nport = \"x\"\n",
	    "server.port: expected an integer, got a string");
	must_fail("[server]\nhttpport = 70000\n",
	    "server.httpport: 70000 is not a port (1-65535)");
	must_fail("[server]\nport = 0\n", "server.port: 0 is not a port "
	    "(1-65535)");
	must_fail("[server]\nport = 44.3\n",
	    "server.port: 44.3 is not a port (1-65535)");
	must_fail("[server]\naddr = 1\n",
	    "server.addr: expected a string, got a number");
	must_fail("[server]\naddr = \"localhost\"\n",
	    "server.addr: \"localhost\" is not an IP address");
	must_fail("[server]\naddr = \"\\u001b[31m\"\n",
	    "server.addr: \"?[31m\" is not an IP address");
	must_fail("server = 1\n", "server: expected a table, got a number");
	must_fail("[server]\nservices = [1]\n",
	    "server.services: expected a table, got an array");
	must_fail("[server]\ndbbackend = \"redis\"\n",
	    "server.dbbackend: expected a table, got a string");
	must_fail("[server.services]\n\"x.y\" = true\n",
	    "server.services.\"x.y\": expected a table, got a boolean");
}
END_TEST

/* What conf_parse() rejects comes back under the TOML path. */
START_TEST(loader_errors)
{
	must_fail_at("[server.services.\"a.b.c\"]\ntlsport = \"x\"\n",
	    "server.services.\"a.b.c\".tlsport: ");
	must_fail_at("[server.services.\"a.b\"]\naddr = \"1.2.3.4\"\n"
	    "[server.services.\"a.b.c\"]\nhttpport = 0\n",
	    "server.services.\"a.b.c\".httpport: ");
	must_fail_at("[server.services.\"not a name\"]\n",
	    "server.services.\"not a name\"");
	must_fail_at("[server.dbbackend]\ntype = \"etcd\"\n",
	    "server.dbbackend.type: ");
	must_fail_at("[server.dbbackend]\naddr = \"127.0.0.1\"\n",
	    "server.dbbackend");
	must_fail_at("[server]\nport = 80\nhttpport = 80\n"
	    "[server.services.x]\n", "server.httpport: ");
}
END_TEST

START_TEST(too_big)
{
	struct sl_conf	*conf = NULL;
	char		*json = NULL, err[512];
	size_t		 len = SL_MAX_CONF_BYTES + 1;
	char		*text = malloc(len);

	ck_assert_ptr_nonnull(text);
	memset(text, '\n', len);
	ck_assert_int_eq(conf_parse_toml(text, len, &conf, &json, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "router.toml: larger than 16777216 bytes");
	free(text);
}
END_TEST

/* toml++ recurses per level: deep documents fail, never crash. */
START_TEST(deep)
{
	char	*text, err[512];
	size_t	 i, n = 200000, len = 0;

	text = malloc(2 * n + 16);
	ck_assert_ptr_nonnull(text);
	text[len++] = '[';
	for (i = 0; i < n; i++) {
		text[len++] = 'a';
		text[len++] = '.';
	}
	text[len++] = 'a';
	text[len++] = ']';
	ck_assert_ptr_null(toml_to_json(text, len, err, sizeof(err)));
	ck_assert_str_eq(err, "router.toml line 1 column 1: more than 1000 "
	    "dots and braces on one line");
	len = (size_t)snprintf(text, 2 * n + 16, "a = %.*s", 300,
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	ck_assert_ptr_null(toml_to_json(text, len, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "router.toml line 1 column ", 26) == 0,
	    "%s", err);
	free(text);
}
END_TEST

/* The generic step: every TOML type has a JSON form. */
START_TEST(generic_json)
{
	static const char doc[] =
	    "s = \"q\\\"b\\\\t\\u0001\xc3\xa9\"\n"
	    "i = -9007199254740993\n"
	    "f = [1.5, 0.1, 1e300, nan, inf, -inf]\n"
	    "b = [true, false]\n"
	    "odt = 1979-05-27T07:32:00Z\n"
	    "ld = 1979-05-27\n"
	    "lt = 07:32:00.5\n"
	    "t = { x = [[1], []], y = {} }\n";
	char	*json, err[512];

	json = toml_to_json(doc, sizeof(doc) - 1, err, sizeof(err));
	ck_assert_msg(json != NULL, "%s", err);
	ck_assert_str_eq(json, "{\"b\":[true,false],"
	    "\"f\":[1.5,0.1,1e+300,\"nan\",\"inf\",\"-inf\"],"
	    "\"i\":-9007199254740993,\"ld\":\"1979-05-27\","
	    "\"lt\":\"07:32:00.5\",\"odt\":\"1979-05-27T07:32:00Z\","
	    "\"s\":\"q\\\"b\\\\t\\u0001\xc3\xa9\","
	    "\"t\":{\"x\":[[1],[]],\"y\":{}}}");
	free(json);
	/* Control bytes of a message never reach the terminal. */
	ck_assert_ptr_null(toml_to_json("a = \"\x1b[31m\"", 11, err,
	    sizeof(err)));
	ck_assert_ptr_null(strchr(err, '\x1b'));
}
END_TEST

static Suite *
toml_suite(void)
{
	Suite	*s = suite_create("config_toml");
	TCase	*tc = tcase_create("router.toml");

	tcase_add_test(tc, readme_example);
	tcase_add_test(tc, data_file);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, tunnels);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, loader_errors);
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, deep);
	tcase_add_test(tc, generic_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(toml_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
