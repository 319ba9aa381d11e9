/*
 * Configuration loader: request matchers, the lists of policy, ports,
 * domain patterns, domains and CIDRs that both the balancer and each
 * link carry.  Patterns are compiled here, once, at load time.
 */
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "match.h"

#define CONF_MAX_RE		4096	/* bytes of one pattern */
#define CONF_MAX_RE_BYTES	(64u << 20)	/* all compiled patterns */

const char *const policy_names[] = {
	[SL_POLICY_ALLOW] = "allow",
	[SL_POLICY_FORBID] = "forbid",
	[SL_POLICY_PRIORITIZE] = "prioritize",
	[SL_POLICY_DEPRIORITIZE] = "deprioritize",
};

/* Request matchers. */

static int
m_policy(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;
	int			 v;

	if (get_enum(c, it, policy_names, nitems(policy_names), 0, &v) == -1)
		return -1;
	m->policy = (enum sl_policy)v;
	return 0;
}

/* Python re.search semantics: unanchored, case-sensitive, no options. */
static int
m_re_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_matcher	*m = arg;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	const char		*s;
	size_t			 size;
	int			 code;

	if (get_str(c, it, 0, CONF_MAX_RE, &s) == -1)
		return -1;
	m->domains_re[i] = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED,
	    0, &code, &off, NULL);
	if (m->domains_re[i] == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		return fail(c, "bad regular expression at offset %zu: %s",
		    (size_t)off, (const char *)msg);
	}
	/* A short pattern can compile big; bound what a file can cost. */
	if (pcre2_pattern_info(m->domains_re[i], PCRE2_INFO_SIZE, &size) != 0 ||
	    (c->re_bytes += size) > CONF_MAX_RE_BYTES)
		return fail(c, "regular expressions too large (max %u bytes "
		    "compiled)", CONF_MAX_RE_BYTES);
	if ((m->domains_re_src[i] = strdup(s)) == NULL)
		return fail(c, "out of memory");
	return 0;
}

static int
m_domains_re(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;
	size_t			 n;

	if (get_array(c, it, CONF_MAX_ITEMS, &n) == -1 ||
	    (m->domains_re_src = alloc_array(c, n, sizeof(char *))) == NULL ||
	    (m->domains_re = alloc_array(c, n, sizeof(pcre2_code *))) == NULL)
		return -1;
	m->ndomains_re = n;
	return each(c, it, m_re_item, m);
}

/* A port or "lo-hi" of a matcher's or an allow entry's ports. */
int
conf_port_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_port_range	*r = (struct sl_port_range *)arg + i;
	char			 q[80];

	if (cJSON_IsNumber(it)) {
		if (get_port(c, it, &r->lo) == -1)
			return -1;
		r->hi = r->lo;
		return 0;
	}
	if (!cJSON_IsString(it))
		return type_err(c, it, "a number or a string");
	if (parse_range(it->valuestring, r) == -1)
		return fail(c, "%s is not a port or port range (1-65535)",
		    quote(it->valuestring, q, sizeof(q)));
	return 0;
}

/* "port_ranges" is another name for "ports"; one matcher takes one. */
static int
m_ports(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	if (m->ports != NULL)
		return fail(c, "use either ports or port_ranges");
	m->ports = new_array(c, it, sizeof(*m->ports), &m->nports);
	if (m->ports == NULL)
		return -1;
	return each(c, it, conf_port_item, m->ports);
}

/*
 * "*.Example.COM." and ".example.com" both become "example.com" (also
 * the agent's allow entries, config_tunnel.c).
 */
int
conf_domain_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	char		**out = (char **)arg + i;
	char		 *d, q[80];
	const char	 *s;
	size_t		  n;

	if (get_str(c, it, 0, SIZE_MAX, &s) == -1)
		return -1;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	else if (s[0] == '.')
		s++;
	if ((d = *out = strdup(s)) == NULL)
		return fail(c, "out of memory");
	if ((n = strlen(d)) > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	for (; *d != '\0'; d++)
		if (*d >= 'A' && *d <= 'Z')
			*d += 'a' - 'A';
	/* valid_hostname() forgives a trailing dot; one was already cut. */
	if (n == 0 || !valid_hostname(*out) || (*out)[n - 1] == '.')
		return fail(c, "%s is not a domain name",
		    quote(it->valuestring, q, sizeof(q)));
	return 0;
}

static int
m_domains(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	m->domains = new_array(c, it, sizeof(char *), &m->ndomains);
	if (m->domains == NULL)
		return -1;
	return each(c, it, conf_domain_item, m->domains);
}

int
cidr_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	const char	*s;
	char		 q[80];

	if (get_str(c, it, 0, SIZE_MAX, &s) == -1)
		return -1;
	if (parse_cidr(s, (struct sl_cidr *)arg + i) == -1)
		return fail(c, "%s is not an address or CIDR prefix",
		    quote(s, q, sizeof(q)));
	return 0;
}

static int
m_cidrs(struct ctx *c, const cJSON *it, struct sl_cidr **v, size_t *n)
{
	if ((*v = new_array(c, it, sizeof(**v), n)) == NULL)
		return -1;
	return each(c, it, cidr_item, *v);
}

static int
m_ips(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	return m_cidrs(c, it, &m->ips, &m->nips);
}

static int
m_clients(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	return m_cidrs(c, it, &m->clients, &m->nclients);
}

/* Listener and user names; checked against the listeners at the end. */
static int
m_name_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	char		**out = (char **)arg + i;
	const char	 *s;

	if (get_str(c, it, 1, 255, &s) == -1)
		return -1;
	if ((*out = strdup(s)) == NULL)
		return fail(c, "out of memory");
	return 0;
}

static int
m_names(struct ctx *c, const cJSON *it, char ***v, size_t *n)
{
	if ((*v = new_array(c, it, sizeof(**v), n)) == NULL)
		return -1;
	return each(c, it, m_name_item, *v);
}

static int
m_listeners(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	return m_names(c, it, &m->listeners, &m->nlisteners);
}

static int
m_users(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;

	return m_names(c, it, &m->users, &m->nusers);
}

/* ALPN protocol names (RFC 7301): 1-255 bytes, any but NUL. */
static int
m_alpn(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_matcher	*m = dst;
	size_t			 i;

	if (m_names(c, it, &m->alpn, &m->nalpn) == -1)
		return -1;
	for (i = 0; i < m->nalpn; i++)
		if (strlen(m->alpn[i]) > 255)
			return fail(c, "an ALPN protocol name is 1-255 bytes");
	return 0;
}

static const struct keydef matcher_keys[] = {
	{ "policy", K_FN, m_policy, 0, 0, 0 },
	{ "domains_re", K_FN, m_domains_re, 0, 0, 0 },
	{ "ports", K_FN, m_ports, 0, 0, 0 },
	{ "port_ranges", K_FN, m_ports, 0, 0, 0 },
	{ "domains", K_FN, m_domains, 0, 0, 0 },
	{ "ips", K_FN, m_ips, 0, 0, 0 },
	{ "clients", K_FN, m_clients, 0, 0, 0 },
	{ "listeners", K_FN, m_listeners, 0, 0, 0 },
	{ "users", K_FN, m_users, 0, 0, 0 },
	{ "alpn", K_FN, m_alpn, 0, 0, 0 },
};

/* Each matcher is compiled as soon as it is read (match.c). */
static int
matcher_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_matcher	*m = (struct sl_matcher *)arg + i;

	if (walk(c, it, matcher_keys, nitems(matcher_keys), m, NULL) == -1)
		return -1;
	if (match_compile(m, &c->conf->re_mctx) == -1)
		return fail(c, "out of memory");
	return 0;
}

int
parse_matchers(struct ctx *c, const cJSON *it, struct sl_matcher **mp,
    size_t *np)
{
	size_t	i;

	if ((*mp = new_array(c, it, sizeof(**mp), np)) == NULL)
		return -1;
	for (i = 0; i < *np; i++)
		(*mp)[i].policy = SL_POLICY_FORBID;	/* as in PythTRT */
	return each(c, it, matcher_item, *mp);
}

void
matchers_free(struct sl_matcher *m, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		match_free(&m[i]);
		free(m[i].ports);
		for (j = 0; j < m[i].ndomains_re; j++) {
			free(m[i].domains_re_src[j]);
			pcre2_code_free(m[i].domains_re[j]);
		}
		free(m[i].domains_re_src);
		free(m[i].domains_re);
		for (j = 0; j < m[i].ndomains; j++)
			free(m[i].domains[j]);
		free(m[i].domains);
		free(m[i].ips);
		free(m[i].clients);
		for (j = 0; j < m[i].nlisteners; j++)
			free(m[i].listeners[j]);
		free(m[i].listeners);
		for (j = 0; j < m[i].nusers; j++)
			free(m[i].users[j]);
		free(m[i].users);
		for (j = 0; j < m[i].nalpn; j++)
			free(m[i].alpn[j]);
		free(m[i].alpn);
	}
	free(m);
}

static int
user_known(const struct sl_conf *conf, const char *name)
{
	size_t	i, j;

	for (i = 0; i < conf->nlisteners; i++)
		for (j = 0; j < conf->listeners[i].nusers; j++)
			if (strcmp(conf->listeners[i].users[j].name, name) == 0)
				return 1;
	return 0;
}

/* Every name a matcher gives must exist: a typo must not open or close. */
static int
matchers_names_check(struct ctx *c, const struct sl_matcher *m, size_t n)
{
	size_t	i, j, o1, o2, o3;
	char	q[80];
	int	rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		o1 = push_index(c, i);
		o2 = push_key(c, "listeners");
		for (j = 0; j < m[i].nlisteners && rc == 0; j++) {
			o3 = push_index(c, j);
			if (conf_listener_find(c->conf, m[i].listeners[j]) == -1)
				rc = fail(c, "no listener is named %s",
				    quote(m[i].listeners[j], q, sizeof(q)));
			pop(c, o3);
		}
		pop(c, o2);
		o2 = push_key(c, "users");
		for (j = 0; j < m[i].nusers && rc == 0; j++) {
			o3 = push_index(c, j);
			if (!user_known(c->conf, m[i].users[j]))
				rc = fail(c, "no listener has a user %s",
				    quote(m[i].users[j], q, sizeof(q)));
			pop(c, o3);
		}
		pop(c, o2);
		pop(c, o1);
	}
	return rc;
}

int
matchers_check_names(struct ctx *c)
{
	size_t	i, o1, o2, o3;
	int	rc;

	o1 = push_key(c, "balancer");
	o2 = push_key(c, "matchers");
	rc = matchers_names_check(c, c->conf->matchers, c->conf->nmatchers);
	pop(c, o2);
	o2 = push_key(c, "links");
	for (i = 0; i < c->conf->nlinks && rc == 0; i++) {
		size_t o4;

		o3 = push_index(c, i);
		o4 = push_key(c, "matchers");
		rc = matchers_names_check(c, c->conf->links[i].matchers,
		    c->conf->links[i].nmatchers);
		pop(c, o4);
		pop(c, o3);
	}
	pop(c, o2);
	pop(c, o1);
	return rc;
}
