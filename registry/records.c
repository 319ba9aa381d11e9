/*
 * tcprouter's records in Redis: checks and the table (records.h).
 *
 * Everything here reads bytes a Redis server handed over, and that
 * server is shared with other programs: lengths are checked before
 * anything is copied, JSON is parsed with explicit lengths and must end
 * where the value ends, and a record is either entirely valid or
 * skipped with one reason.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "records.h"

#define RG_MAX_NAME	253

const char *const rg_prefixes[RG_NPREFIXES] = {
	"/tcprouter/services/",
	"/tcprouter/service/",
	"tcprouter/services/",
	"tcprouter/service/",
};

/* The fields of a record we know; anything else is ignored. */
enum { F_ADDR, F_TLSPORT, F_HTTPPORT, F_SNI, F_NAME, F_MAX };
static const char *const rg_fields[F_MAX] = {
	"addr", "tlsport", "httpport", "sni", "name",
};

struct rg_inner {
	const cJSON	*f[F_MAX];
};

/* At most 40 printable bytes of s for a message; "..." when cut. */
static const char *
rg_quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t	i, n = len < 40 ? len : 40;

	if (dstlen < 48)
		return "";
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)s[i]) && s[i] != '"' ?
		    s[i] : '?';
	if (n < len)
		memcpy(dst + n, "...", 3), n += 3;
	dst[n] = '\0';
	return dst;
}

int
rg_key_prefix(const char *key, size_t len)
{
	size_t	i, plen;

	for (i = 0; i < RG_NPREFIXES; i++) {
		plen = strlen(rg_prefixes[i]);
		if (len >= plen && memcmp(key, rg_prefixes[i], plen) == 0)
			return (int)i;
	}
	return -1;
}

/* Letters, digits, '-' and '_' (as the config loader takes them). */
static int
rg_label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

int
rg_name_check(const char *in, size_t len, char *out, size_t outlen,
    const char **why)
{
	size_t	i, label = 0;

	if (len == strlen("CATCH_ALL") && memcmp(in, "CATCH_ALL", len) == 0) {
		if (outlen <= len)
			return *why = "name too long", -1;
		memcpy(out, in, len);
		out[len] = '\0';
		return 0;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return *why = "empty name", -1;
	if (len > RG_MAX_NAME || outlen <= len)
		return *why = "name longer than 253 bytes", -1;
	i = 0;
	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		i = 2;
	}
	for (; i < len; i++) {
		if (in[i] == '.') {
			if (label == 0)
				return *why = "name has an empty label", -1;
			label = 0;
		} else if (!rg_label_char(in[i]))
			return *why = "name is not a host name, \"*.domain\" "
			    "or CATCH_ALL", -1;
		else if (++label > 63)
			return *why = "name has a label over 63 bytes", -1;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	if (label == 0)
		return *why = "name has an empty label", -1;
	out[len] = '\0';
	return 0;
}

/* Unspecified, broadcast, multicast, IPv4-mapped: not a backend. */
static int
rg_bad_ip(int family, const void *a)
{
	const struct in6_addr	*a6 = a;
	uint32_t		 v4;

	if (family == AF_INET) {
		memcpy(&v4, a, sizeof(v4));
		v4 = ntohl(v4);
		return (v4 >> 24) == 0 || v4 == 0xffffffffu || (v4 >> 28) == 0xe;
	}
	return IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6) ||
	    IN6_IS_ADDR_V4MAPPED(a6);
}

/* Decimal 1..65535, digits only, no leading zero. */
static int
rg_port_str(const char *p, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (*p < '1' || *p > '9')
		return -1;
	for (i = 0; p[i] != '\0'; i++) {
		if (i == 5 || !isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
rg_addr_check(const char *in, char *out, const char **why)
{
	char		 host[RG_ADDR_MAX], txt[INET6_ADDRSTRLEN];
	const char	*e, *p = NULL;
	size_t		 hl = strlen(in);
	unsigned char	 a[16];
	uint16_t	 port = 0;
	int		 family, bracket = in[0] == '[';

	if (bracket) {
		if ((e = strchr(in, ']')) == NULL ||
		    (e[1] != '\0' && e[1] != ':'))
			return *why = "addr is not an IP address", -1;
		hl = (size_t)(e - in - 1);
		p = e[1] == ':' ? e + 2 : NULL;
		in++;
	} else if ((e = strchr(in, ':')) != NULL && strchr(e + 1, ':') ==
	    NULL) {
		hl = (size_t)(e - in);
		p = e + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return *why = "addr is not an IP address", -1;
	memcpy(host, in, hl);
	host[hl] = '\0';
	if (p != NULL && rg_port_str(p, &port) == -1)
		return *why = "addr has a bad port", -1;
	family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	/* A bracketed IPv4 address is no address form anyone writes. */
	if (inet_pton(family, host, a) != 1 || (bracket &&
	    family != AF_INET6))
		return *why = "addr is not an IP address (names are not "
		    "resolved)", -1;
	if (rg_bad_ip(family, a))
		return *why = "addr is not an address to connect to "
		    "(unspecified, broadcast, multicast or v4-mapped)", -1;
	inet_ntop(family, a, txt, sizeof(txt));
	if (port == 0)
		snprintf(out, RG_ADDR_MAX, "%s", txt);
	else if (family == AF_INET6)
		snprintf(out, RG_ADDR_MAX, "[%s]:%u", txt, port);
	else
		snprintf(out, RG_ADDR_MAX, "%s:%u", txt, port);
	return 0;
}

static int
rg_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
rg_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t outlen)
{
	size_t		i, k, n = 0, pad = 0;
	unsigned long	acc;
	int		v;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > outlen)
		return -1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (k = 0; k < 4; k++) {
			if (i + k >= len - pad) {
				acc <<= 6;
				continue;
			}
			if ((v = rg_b64_value((unsigned char)in[i + k])) < 0)
				return -1;
			acc = acc << 6 | (unsigned long)v;
		}
		/* Non-zero bits under the padding: not what an encoder makes. */
		if ((pad == 1 && i + 4 == len && (acc & 0xff) != 0) ||
		    (pad == 2 && i + 4 == len && (acc & 0xffff) != 0))
			return -1;
		for (k = 0; k < 3 && n < len / 4 * 3 - pad; k++)
			out[n++] = (unsigned char)(acc >> (16 - 8 * k));
	}
	return (long)n;
}

/*
 * One JSON document that is all of p[0..len): no NUL inside, nothing
 * but whitespace after it.
 */
static cJSON *
rg_json(const char *p, size_t len)
{
	const char	*end = NULL;
	cJSON		*j;

	if (len == 0 || memchr(p, '\0', len) != NULL)
		return NULL;
	if ((j = cJSON_ParseWithLengthOpts(p, len, &end, 0)) == NULL)
		return NULL;
	while (end != NULL && end < p + len && isspace((unsigned char)*end))
		end++;
	if (end != p + len) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A port field: absent, null or 0 (Go's zero value) mean "not given". */
static int
rg_port_field(const cJSON *it, uint16_t *port)
{
	double	d;

	*port = 0;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return -1;
	d = it->valuedouble;
	if (d < 0 || d > 65535 || d != (double)(long)d)
		return -1;
	*port = (uint16_t)d;
	return 0;
}

/* A string field: absent or null mean not given; "" too (Go's zero). */
static int
rg_str_field(const cJSON *it, const char **s)
{
	*s = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return -1;
	if (it->valuestring[0] != '\0')
		*s = it->valuestring;
	return 0;
}

/* Collect the known fields of the record object; a repeat is refused. */
static int
rg_inner_fields(const cJSON *obj, struct rg_inner *in, char *why,
    size_t whylen)
{
	const cJSON	*it;
	size_t		 i;

	memset(in, 0, sizeof(*in));
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; i < F_MAX; i++) {
			if (it->string == NULL ||
			    strcmp(it->string, rg_fields[i]) != 0)
				continue;
			if (in->f[i] != NULL) {
				snprintf(why, whylen, "field \"%s\" given twice",
				    rg_fields[i]);
				return -1;
			}
			in->f[i] = it;
		}
	}
	return 0;
}

/* The record object's fields into r (name and key not yet set). */
static int
rg_inner(const cJSON *obj, struct rg_record *r, const char **sni, char *why,
    size_t whylen)
{
	struct rg_inner	 in;
	const char	*addr, *name, *msg;
	char		 q[64];

	if (!cJSON_IsObject(obj))
		return snprintf(why, whylen, "record is not a JSON object"), -1;
	if (rg_inner_fields(obj, &in, why, whylen) == -1)
		return -1;
	if (rg_str_field(in.f[F_ADDR], &addr) == -1)
		return snprintf(why, whylen, "addr is not a string"), -1;
	if (addr == NULL)
		return snprintf(why, whylen, "addr missing"), -1;
	if (rg_str_field(in.f[F_SNI], sni) == -1)
		return snprintf(why, whylen, "sni is not a string"), -1;
	if (rg_str_field(in.f[F_NAME], &name) == -1)
		return snprintf(why, whylen, "name is not a string"), -1;
	if (rg_port_field(in.f[F_TLSPORT], &r->tlsport) == -1)
		return snprintf(why, whylen, "tlsport is not a port number"), -1;
	if (rg_port_field(in.f[F_HTTPPORT], &r->httpport) == -1)
		return snprintf(why, whylen, "httpport is not a port number"),
		    -1;
	if (rg_addr_check(addr, r->addr, &msg) == -1)
		return snprintf(why, whylen, "%s: \"%s\"", msg,
		    rg_quote(q, sizeof(q), addr, strlen(addr))), -1;
	return 0;
}

/*
 * valkeyrie's wrapper: "Value" holds the record, base64-encoded because
 * Go marshals []byte that way.  *inner is the parsed record.
 */
static int
rg_unwrap(const cJSON *root, cJSON **inner, char *why, size_t whylen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(root, "Value");
	const cJSON	*k = cJSON_GetObjectItemCaseSensitive(root, "Key");
	const cJSON	*li = cJSON_GetObjectItemCaseSensitive(root,
			    "LastIndex");
	unsigned char	*buf;
	size_t		 len;
	long		 n;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return snprintf(why, whylen, "Value is not a string"), -1;
	if (k != NULL && !cJSON_IsString(k))
		return snprintf(why, whylen, "Key is not a string"), -1;
	if (li != NULL && !cJSON_IsNumber(li))
		return snprintf(why, whylen, "LastIndex is not a number"), -1;
	len = strlen(v->valuestring);
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	n = rg_base64_decode(v->valuestring, len, buf, len / 4 * 3);
	if (n < 0) {
		free(buf);
		return snprintf(why, whylen, "Value is not base64"), -1;
	}
	*inner = rg_json((const char *)buf, (size_t)n);
	free(buf);
	if (*inner == NULL)
		return snprintf(why, whylen, "Value does not hold JSON"), -1;
	return 0;
}

/* The value's record, unwrapped when it is valkeyrie's wrapper. */
static int
rg_value(const char *val, size_t vallen, struct rg_record *r, char *name,
    size_t namelen, char *why, size_t whylen)
{
	cJSON		*root, *inner = NULL;
	const char	*sni = NULL;
	int		 rc = -1;

	if (vallen > RG_MAX_VALUE)
		return snprintf(why, whylen, "value over %d bytes",
		    RG_MAX_VALUE), -1;
	if ((root = rg_json(val, vallen)) == NULL)
		return snprintf(why, whylen, "value is not JSON"), -1;
	if (cJSON_IsObject(root) &&
	    cJSON_GetObjectItemCaseSensitive(root, "Value") != NULL) {
		if (rg_unwrap(root, &inner, why, whylen) == -1)
			goto out;
	}
	if (rg_inner(inner != NULL ? inner : root, r, &sni, why, whylen) == -1)
		goto out;
	name[0] = '\0';
	if (sni != NULL)
		snprintf(name, namelen, "%s", sni);
	if (sni != NULL && strlen(sni) >= namelen)
		snprintf(why, whylen, "sni longer than 253 bytes");
	else
		rc = 0;
out:
	cJSON_Delete(inner);
	cJSON_Delete(root);
	return rc;
}

int
rg_record_parse(const char *key, size_t keylen, const char *val,
    size_t vallen, struct rg_record *r, char *why, size_t whylen)
{
	struct rg_record	 rec;
	char			 sni[RG_MAX_NAME + 2], name[RG_MAX_NAME + 2];
	char			 q[64];
	const char		*seg, *msg;
	size_t			 seglen;

	memset(&rec, 0, sizeof(rec));
	if (keylen > RG_MAX_KEY)
		return snprintf(why, whylen, "key longer than %d bytes",
		    RG_MAX_KEY), -1;
	if (memchr(key, '\0', keylen) != NULL)
		return snprintf(why, whylen, "key contains NUL"), -1;
	if (rg_key_prefix(key, keylen) == -1)
		return snprintf(why, whylen, "key is not under a tcprouter "
		    "prefix"), -1;
	if (rg_value(val, vallen, &rec, sni, sizeof(sni), why, whylen) == -1)
		return -1;
	if (sni[0] != '\0') {
		seg = sni;
		seglen = strlen(sni);
	} else {
		for (seg = key + keylen; seg > key && seg[-1] != '/'; seg--)
			;
		seglen = (size_t)(key + keylen - seg);
	}
	if (rg_name_check(seg, seglen, name, sizeof(name), &msg) == -1)
		return snprintf(why, whylen, "%s%s: \"%s\" (%zu bytes)", msg,
		    sni[0] != '\0' ? " (sni)" : "",
		    rg_quote(q, sizeof(q), seg, seglen), seglen), -1;
	rec.name = strdup(name);
	rec.key = strndup(key, keylen);
	if (rec.name == NULL || rec.key == NULL) {
		rg_record_free(&rec);
		return snprintf(why, whylen, "out of memory"), -1;
	}
	*r = rec;
	return 0;
}

void
rg_record_free(struct rg_record *r)
{
	free(r->name);
	free(r->key);
	r->name = r->key = NULL;
}

void
rg_table_init(struct rg_table *t)
{
	memset(t, 0, sizeof(*t));
}

int
rg_table_add(struct rg_table *t, struct rg_record *r)
{
	struct rg_record	*v;
	size_t			 cap;

	if (t->n == t->cap) {
		cap = t->cap == 0 ? 64 : t->cap * 2;
		if ((v = reallocarray(t->v, cap, sizeof(*v))) == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *r;
	r->name = r->key = NULL;
	return 0;
}

void
rg_table_free(struct rg_table *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		rg_record_free(&t->v[i]);
	free(t->v);
	rg_table_init(t);
}

static int
rg_cmp_key(const void *a, const void *b)
{
	const struct rg_record	*x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* By name; of the same name, the smallest key first (it wins). */
static int
rg_cmp_name(const void *a, const void *b)
{
	const struct rg_record	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->key, y->key);
}

/* Drop every record equal to the one before it under cmp; n left. */
static size_t
rg_uniq(struct rg_table *t, int (*same)(const struct rg_record *,
    const struct rg_record *), rg_dup_fn dup, void *arg)
{
	size_t	i, k = 0;

	for (i = 0; i < t->n; i++) {
		if (k > 0 && same(&t->v[k - 1], &t->v[i])) {
			if (dup != NULL)
				dup(&t->v[k - 1], &t->v[i], arg);
			rg_record_free(&t->v[i]);
			continue;
		}
		t->v[k++] = t->v[i];
	}
	return t->n = k;
}

static int
rg_same_key(const struct rg_record *a, const struct rg_record *b)
{
	return strcmp(a->key, b->key) == 0;
}

static int
rg_same_name(const struct rg_record *a, const struct rg_record *b)
{
	return strcmp(a->name, b->name) == 0;
}

static cJSON *
rg_entry(const struct rg_record *r)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "addr", r->addr) == NULL ||
	    (r->tlsport != 0 && cJSON_AddNumberToObject(o, "tlsport",
	    r->tlsport) == NULL) || (r->httpport != 0 &&
	    cJSON_AddNumberToObject(o, "httpport", r->httpport) == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *
rg_table_json(struct rg_table *t, size_t *len, size_t *count, rg_dup_fn dup,
    void *arg)
{
	cJSON	*root, *o;
	char	*text;
	size_t	 i;

	if (t->n > 0) {
		qsort(t->v, t->n, sizeof(*t->v), rg_cmp_key);
		rg_uniq(t, rg_same_key, NULL, NULL);
		qsort(t->v, t->n, sizeof(*t->v), rg_cmp_name);
		rg_uniq(t, rg_same_name, dup, arg);
	}
	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	for (i = 0; i < t->n; i++) {
		if ((o = rg_entry(&t->v[i])) == NULL) {
			cJSON_Delete(root);
			return NULL;
		}
		cJSON_AddItemToObject(root, t->v[i].name, o);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		return NULL;
	*len = strlen(text);
	*count = t->n;
	return text;
}
