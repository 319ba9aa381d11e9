/*
 * Configuration loader tests: PythTRT's documented format loads as is,
 * sluice's own keys land in the right fields, and every rejected input
 * names the JSON path and the problem exactly as the user will see it.
 *
 * Most documents are written with single quotes to keep them readable;
 * dq() turns them into JSON.  None of the test documents needs a single
 * quote of its own.
 *
 * This file holds the helpers the other parts share and main(); the
 * tests are in check_config_valid.c, check_config_tcproute.c,
 * check_config_errors.c and check_config_limits.c.
 */
#include "check_config.h"

/* Single quotes to double quotes, in a buffer of exactly len bytes. */
static char *
dq(const char *sq, size_t *len)
{
	char	*s;
	size_t	 i;

	*len = strlen(sq);
	s = malloc(*len > 0 ? *len : 1);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < *len; i++)
		s[i] = sq[i] == '\'' ? '"' : sq[i];
	return s;
}

int
try_parse(const char *sq, struct sl_conf **conf, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	/* Not NUL-terminated: ASan catches any read past len. */
	text = dq(sq, &len);
	rc = conf_parse(text, len, conf, err, errlen);
	free(text);
	return rc;
}

struct sl_conf *
must_parse(const char *sq)
{
	struct sl_conf	*conf = NULL;
	char		 err[512];

	ck_assert_msg(try_parse(sq, &conf, err, sizeof(err)) == 0,
	    "%s: %s", sq, err);
	ck_assert_ptr_nonnull(conf);
	return conf;
}

void
must_fail(const char *sq, const char *want)
{
	struct sl_conf	*conf = (struct sl_conf *)1;
	char		 err[512];

	ck_assert_int_eq(try_parse(sq, &conf, err, sizeof(err)), -1);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, want);
}

void
add(struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		ck_assert_ptr_nonnull(b->s);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

void
add_repeat(struct buf *b, const char *item, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			add(b, ",");
		add(b, item);
	}
}

static uint16_t
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

void
check_addr(const struct sockaddr_storage *ss, socklen_t len, int af,
    const char *ip, uint16_t port)
{
	char		 buf[INET6_ADDRSTRLEN];
	const void	*a;

	ck_assert_int_eq(ss->ss_family, af);
	if (af == AF_INET) {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	} else {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	}
	ck_assert_ptr_nonnull(inet_ntop(af, a, buf, sizeof(buf)));
	ck_assert_str_eq(buf, ip);
	ck_assert_uint_eq(sa_port(ss), port);
}

void
check_cidr(const struct sl_cidr *c, int af, const char *ip, int prefix)
{
	char	buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(c->family, af);
	ck_assert_ptr_nonnull(inet_ntop(af, c->addr, buf, sizeof(buf)));
	ck_assert_str_eq(buf, ip);
	ck_assert_int_eq(c->prefix, prefix);
}

int
re_matches(pcre2_code *re, const char *subject)
{
	pcre2_match_data	*md;
	int			 rc;

	md = pcre2_match_data_create_from_pattern(re, NULL);
	ck_assert_ptr_nonnull(md);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
	    NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* Defaults for everything but the listener and the links. */
void
check_defaults(const struct sl_conf *conf)
{
	ck_assert_uint_eq(conf->handshake_timeout_ms, 5000);
	ck_assert_uint_eq(conf->idle_timeout_ms, 300000);
	ck_assert_uint_eq(conf->max_sessions, 200);
	ck_assert_str_eq(conf->user, "_sluice");
	ck_assert_str_eq(conf->resolver_user, "_sluice-resolver");
	ck_assert_uint_eq(conf->workers, 0);
	ck_assert_str_eq(conf->chroot, "/var/empty");
	ck_assert_uint_eq(conf->shutdown_timeout_s, 10);
	ck_assert_int_eq(conf->log_level, SL_LOG_INFO);
	ck_assert_int_eq(conf->splice, 1);
	ck_assert_uint_eq(conf->resolve_timeout_ms, 5000);
	ck_assert_int_eq(conf->nameservers_system, 1);
	ck_assert_uint_eq(conf->nnameservers, 0);
	ck_assert_uint_eq(conf->nnameservers_backup, 0);
	ck_assert_uint_eq(conf->nip_blacklist, 0);
	ck_assert_uint_eq(conf->dns_min_ttl_s, 30);
	ck_assert_uint_eq(conf->dns_max_ttl_s, 3600);
	ck_assert_uint_eq(conf->dns_negative_ttl_s, 30);
	ck_assert_uint_eq(conf->dns_cache_size, 10000);
	ck_assert_uint_eq(conf->hijack_interval_s, 600);
	ck_assert_uint_eq(conf->nhijack_probes, 0);
	ck_assert_uint_eq(conf->happy_eyeballs_ms, 250);
	ck_assert_uint_eq(conf->route_cache_ttl_s, 600);
	ck_assert_int_eq(conf->strategy, SL_STRAT_ROUND_ROBIN);
	ck_assert_uint_eq(conf->retries, 1);
}

void
check_direct_default(const struct sl_link *l, const char *name)
{
	ck_assert_str_eq(l->name, name);
	ck_assert_int_eq(l->proto, SL_LINK_DIRECT);
	ck_assert_int_eq(l->selectable, 1);
	ck_assert_str_eq(l->interface, "");
	ck_assert_uint_eq(l->sourcelen, 0);
	ck_assert_str_eq(l->host, "");
	ck_assert_uint_eq(l->port, 0);
	ck_assert_str_eq(l->username, "");
	ck_assert_str_eq(l->password, "");
	ck_assert_int_eq(l->via, -1);
	ck_assert_uint_eq(l->timeout_ms, 10000);
	ck_assert_uint_eq(l->weight, 1);
	ck_assert_uint_eq(l->max_connections, 0);
	ck_assert_uint_eq(l->max_fails, 3);
	ck_assert_uint_eq(l->cooldown_ms, 10000);
	ck_assert_int_eq(l->check.enabled, 0);
}

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");

	suite_add_tcase(s, config_valid_tcase());
	suite_add_tcase(s, config_tcproute_tcase());
	suite_add_tcase(s, config_errors_tcase());
	suite_add_tcase(s, config_links_tcase());
	suite_add_tcase(s, config_limits_tcase());
	suite_add_tcase(s, config_services_tcase());
	suite_add_tcase(s, config_tenants_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
