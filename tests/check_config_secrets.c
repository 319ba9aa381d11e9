/*
 * Agents' secrets in the config (policy/config_secrets.c): secret_file
 * read by the master and put into the text, and the text the workers
 * get with every secret redacted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_config_tunnel.h"

/* A temporary file holding content; its path in path. */
static void
temp_file(char *path, size_t len, const char *content)
{
	FILE	*f;
	int	 fd;

	snprintf(path, len, "/tmp/check_config_tunnel.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(content, f);
	fclose(f);
}

static char *
inline_ok(const char *sq)
{
	char	*in = dq(sq), *out = NULL, err[512];
	size_t	 outlen = 0;

	ck_assert_msg(conf_tunnel_inline_secrets(in, strlen(in), &out,
	    &outlen, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(outlen, strlen(out));
	free(in);
	return out;
}

static void
inline_fails(const char *sq, const char *want)
{
	char	*in = dq(sq), *out = (char *)1, err[512];
	size_t	 outlen;

	ck_assert_int_eq(conf_tunnel_inline_secrets(in, strlen(in), &out,
	    &outlen, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	free(in);
}

START_TEST(inline_secrets)
{
	struct sl_conf	*conf;
	char		 p1[64], p2[64], p3[64], doc[2048], *out, err[512];
	char		 big[SL_AGENT_SECRET_MAX + 8];

	temp_file(p1, sizeof(p1), S16 "\n");
	temp_file(p2, sizeof(p2), S20 "\r\n");
	snprintf(doc, sizeof(doc), "{'agent': {'server': 'x.test:1', "
	    "'name': 'a', 'secret_file': '%s', 'local': 'l:1'}, 'listeners': "
	    "[" SOCKS ", {'kind': 'tunnel', 'listen': '127.0.0.1:2', "
	    "'agents': [" AG("b", S16) ", {'name': 'c', 'secret_file': "
	    "'%s'}]}]}", p1, p2);
	out = inline_ok(doc);
	ck_assert_ptr_null(strstr(out, "secret_file"));
	ck_assert_int_eq(conf_parse(out, strlen(out), &conf, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(conf->agent.cred.secret, S16);
	ck_assert_str_eq(conf_agent_find(&conf->listeners[1], "c")->secret,
	    S20);
	conf_free(conf);
	free(out);

	/* Nothing to read: the same text. */
	out = inline_ok("{'listen': ['127.0.0.1:1']}");
	ck_assert_str_eq(out, "{\"listen\": [\"127.0.0.1:1\"]}");
	free(out);
	/* Not JSON: as it is, for conf_parse to say why. */
	out = inline_ok("{nope");
	ck_assert_str_eq(out, "{nope");
	free(out);

	inline_fails("{'agent': {'secret_file': '/nonexistent/x'}}",
	    "agent.secret_file: cannot read /nonexistent/x: No such file or "
	    "directory");
	inline_fails("{'agent': {'secret_file': 'rel/x'}}",
	    "agent.secret_file: rel/x is not an absolute path");
	snprintf(doc, sizeof(doc), "{'listeners': [" SOCKS ", " SOCKS ", "
	    "{'agents': [" AG("a", S16) ", {'secret': 'x', 'secret_file': "
	    "'%s'}]}]}", p1);
	inline_fails(doc, "listeners[2].agents[1].secret_file: cannot be "
	    "combined with secret");
	inline_fails("{'tenants': [{'name': 'a'}, {'listeners': [{'agents': "
	    "[{'secret_file': '/nonexistent/y'}]}]}]}",
	    "tenants[1].listeners[0].agents[0].secret_file: cannot read "
	    "/nonexistent/y: No such file or directory");
	inline_fails("{'agent': {'secret_file': 7}}",
	    "agent.secret_file: expected a string (a file's path)");

	memset(big, 'k', SL_AGENT_SECRET_MAX + 1);
	big[SL_AGENT_SECRET_MAX + 1] = '\0';
	temp_file(p3, sizeof(p3), big);
	snprintf(doc, sizeof(doc), "{'agent': {'secret_file': '%s'}}", p3);
	snprintf(err, sizeof(err), "agent.secret_file: %s is longer than "
	    "1024 bytes", p3);
	inline_fails(doc, err);
	unlink(p3);
	big[SL_AGENT_SECRET_MAX] = '\n';
	temp_file(p3, sizeof(p3), big);
	snprintf(doc, sizeof(doc), "{'agent': {'secret_file': '%s'}}", p3);
	out = inline_ok(doc);
	ck_assert_uint_eq(strlen(out), strlen("{\"agent\":{\"secret\":\"\"}}") +
	    SL_AGENT_SECRET_MAX);
	free(out);
	unlink(p1);
	unlink(p2);
	unlink(p3);
}
END_TEST

START_TEST(redact)
{
	struct sl_conf	*conf;
	char		*in, *out = NULL, err[512];
	size_t		 outlen;

	in = dq("{'agent': {'server': 'x.test:1', 'name': 'a', 'secret': '"
	    S16 "', 'local': 'l:1'}, 'listeners': [{'kind': 'sni', 'listen': "
	    "'127.0.0.1:1'}, " TL(AG("b", S20)) "], 'services': {'s.test': "
	    "{'clientsecret': '" S16 "x'}}, 'tenants': [{'name': 't', "
	    "'listeners': [" TL(AG("c", S20 "y")) "]}]}");
	ck_assert_int_eq(conf_tunnel_redact(in, strlen(in), &out, &outlen),
	    0);
	ck_assert_uint_eq(outlen, strlen(out));
	ck_assert_ptr_null(strstr(out, S16));
	ck_assert_ptr_null(strstr(out, S20));
	ck_assert_ptr_nonnull(strstr(out, "\"clientsecret\":\""
	    SL_AGENT_REDACTED "\""));
	ck_assert_ptr_nonnull(strstr(out, "\"secret\":\"" SL_AGENT_REDACTED
	    "\""));
	free(out);
	free(in);
	ck_assert_int_eq(conf_tunnel_redact("{x", 2, &out, &outlen), -1);

	/* A whole config: the children parse it, nobody else. */
	in = dq("{'listeners': [{'kind': 'sni', 'listen': '127.0.0.1:1'}, "
	    TL(AG("b", S20)) "], 'balancer': {'links': [{'protocol': "
	    "'agent', 'agent': 'b'}]}, 'services': {'s.test': "
	    "{'clientsecret': '" S16 "'}}}");
	ck_assert_int_eq(conf_tunnel_redact(in, strlen(in), &out, &outlen),
	    0);
	ck_assert_int_eq(conf_parse(out, outlen, &conf, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "listeners[1].agents[0].secret: "
	    "\"sluice:redacted!\" stands for a secret removed from the text; "
	    "it is not one");
	conf_parse_redacted = 1;
	ck_assert_msg(conf_parse(out, outlen, &conf, err, sizeof(err)) == 0,
	    "%s", err);
	conf_parse_redacted = 0;
	ck_assert_str_eq(conf->listeners[1].agents[0].secret,
	    SL_AGENT_REDACTED);
	ck_assert_uint_eq(conf->listeners[1].nagents, 2);
	conf_free(conf);
	free(out);
	free(in);
}
END_TEST

TCase *
secrets_tcase(void)
{
	TCase	*tc = tcase_create("secrets");

	tcase_add_test(tc, inline_secrets);
	tcase_add_test(tc, redact);
	return tc;
}
