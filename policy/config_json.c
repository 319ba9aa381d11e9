/*
 * Configuration loader, generic part: walking cJSON values for the
 * table-driven parsers in config.c and config_match.c.
 *
 * The context keeps the JSON path of the value being read, and every
 * error is reported through fail() so that it says where it is.  The
 * walker checks each member of an object against a table of accepted
 * keys, the getters check a scalar's type and range, the text helpers
 * parse the address, port and name literals the format allows, and
 * json_load() reads the document itself.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

#define CONF_MAX_SECONDS	86400.0	/* longest duration */

/* Paths and errors. */

/* Keys are user text: keep the message printable and short. */
static void
path_add(struct ctx *c, const char *s, size_t max)
{
	size_t	n;

	for (n = 0; s[n] != '\0' && c->plen < sizeof(c->path) - 4; n++) {
		if (n == max) {
			memcpy(c->path + c->plen, "...", 3);
			c->plen += 3;
			break;
		}
		c->path[c->plen++] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
	}
	c->path[c->plen] = '\0';
}

size_t
push_key(struct ctx *c, const char *key)
{
	size_t	old = c->plen;

	if (c->plen > 0)
		path_add(c, ".", 1);
	path_add(c, key, 64);
	return old;
}

size_t
push_index(struct ctx *c, size_t i)
{
	char	buf[32];
	size_t	old = c->plen;

	snprintf(buf, sizeof(buf), "[%zu]", i);
	path_add(c, buf, sizeof(buf));
	return old;
}

void
pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

int
fail(struct ctx *c, const char *fmt, ...)
{
	char	problem[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s",
		    c->plen > 0 ? c->path : "config", problem);
	return -1;
}

/* An error about a key that is absent or conflicts with another one. */
int
fail_key(struct ctx *c, const char *key, const char *problem)
{
	size_t	old = push_key(c, key);

	fail(c, "%s", problem);
	pop(c, old);
	return -1;
}

/* User text inside a message: quoted, printable, bounded. */
const char *
quote(const char *s, char *buf, size_t len)
{
	size_t	i = 0;

	buf[i++] = '"';
	for (; *s != '\0' && i < len - 5; s++)
		buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}

/* Numbers as the user probably wrote them: 70000, 80.5, 1e+20. */
static void
fmtnum(double d, char *buf, size_t len)
{
	int	prec;

	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(buf, len, "%.0f", d);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
	snprintf(buf, len, "%.17g", d);
}

int
type_err(struct ctx *c, const cJSON *it, const char *want)
{
	const char	*got = "null";

	if (cJSON_IsBool(it))
		got = "boolean";
	else if (cJSON_IsNumber(it))
		got = "number";
	else if (cJSON_IsString(it))
		got = "string";
	else if (cJSON_IsArray(it))
		got = "array";
	else if (cJSON_IsObject(it))
		got = "object";
	return fail(c, "expected %s, got %s", want, got);
}

/* Scalars. */

static int
get_int(struct ctx *c, const cJSON *it, uint32_t lo, uint32_t hi,
    int isport, uint32_t *out)
{
	char	n[48];
	double	d;

	if (!cJSON_IsNumber(it))
		return type_err(c, it, "a number");
	d = it->valuedouble;
	fmtnum(d, n, sizeof(n));
	if (isfinite(d) && d != floor(d))
		return fail(c, "%s is not an integer", n);
	if (!(d >= lo && d <= hi))
		return fail(c, "%s is %s (%u-%u)", n,
		    isport ? "not a port" : "out of range", lo, hi);
	*out = (uint32_t)d;
	return 0;
}

static int
port_from(struct ctx *c, const cJSON *it, uint32_t lo, uint16_t *out)
{
	uint32_t	v = 0;

	if (get_int(c, it, lo, 65535, 1, &v) == -1)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int
get_port(struct ctx *c, const cJSON *it, uint16_t *out)
{
	return port_from(c, it, 1, out);
}

/* A port to bind to: 0 lets the kernel pick. */
int
get_port0(struct ctx *c, const cJSON *it, uint16_t *out)
{
	return port_from(c, it, 0, out);
}

/* Seconds (fractions allowed, as in PythTRT) to milliseconds. */
static int
get_ms(struct ctx *c, const cJSON *it, uint32_t *out)
{
	char	n[48];
	double	d;

	if (!cJSON_IsNumber(it))
		return type_err(c, it, "a number");
	d = it->valuedouble;
	if (!(d > 0 && d <= CONF_MAX_SECONDS)) {
		fmtnum(d, n, sizeof(n));
		return fail(c, "%s is out of range (0 < seconds <= %.0f)",
		    n, CONF_MAX_SECONDS);
	}
	*out = d * 1000 < 1 ? 1 : (uint32_t)llround(d * 1000);
	return 0;
}

int
get_str(struct ctx *c, const cJSON *it, size_t min, size_t max,
    const char **out)
{
	size_t	len;

	if (!cJSON_IsString(it))
		return type_err(c, it, "a string");
	len = strlen(it->valuestring);
	if (len < min)
		return fail(c, "must not be empty");
	if (len > max)
		return fail(c, "longer than %zu bytes", max);
	*out = it->valuestring;
	return 0;
}

/* PythTRT's names are case-sensitive; caseless is for log levels. */
int
get_enum(struct ctx *c, const cJSON *it, const char *const *names,
    size_t n, int caseless, int *out)
{
	char		 list[128], q[80];
	const char	*s;
	size_t		 i, off = 0;

	if (get_str(c, it, 0, SIZE_MAX, &s) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((caseless ? strcasecmp(s, names[i]) :
		    strcmp(s, names[i])) == 0) {
			*out = (int)i;
			return 0;
		}
		off += snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", names[i]);
	}
	return fail(c, "%s is not one of %s", quote(s, q, sizeof(q)), list);
}

/* Addresses, names and ports in text. */

int
parse_ip(const char *s, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Digits of a port, 1-65535; returns the end or NULL. */
static const char *
scan_port(const char *s, uint16_t *out)
{
	uint32_t	v = 0;
	size_t		n;

	for (n = 0; s[n] >= '0' && s[n] <= '9' && n < 6; n++)
		v = v * 10 + (uint32_t)(s[n] - '0');
	if (n == 0 || n > 5 || v < 1 || v > 65535)
		return NULL;
	*out = (uint16_t)v;
	return s + n;
}

int
parse_range(const char *s, struct sl_port_range *r)
{
	const char	*e;

	if ((e = scan_port(s, &r->lo)) == NULL)
		return -1;
	r->hi = r->lo;
	if (*e == '-' && (e = scan_port(e + 1, &r->hi)) == NULL)
		return -1;
	return *e == '\0' && r->lo <= r->hi ? 0 : -1;
}

/*
 * "ip", "ip:port", "[v6]" or "[v6]:port"; a bare IPv6 address takes no
 * port, since "::1:53" is itself an address.  defport 0: port required.
 */
int
parse_hostport(const char *s, uint16_t defport, char *host, size_t hostlen,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*h = s, *p = NULL, *e;
	size_t		 hl = strlen(s);
	uint16_t	 port = defport;

	if (s[0] == '[') {
		if ((e = strchr(s, ']')) == NULL ||
		    (e[1] != '\0' && e[1] != ':'))
			return -1;
		h = s + 1;
		hl = (size_t)(e - h);
		p = e[1] == ':' ? e + 2 : NULL;
	} else if ((e = strchr(s, ':')) != NULL && strchr(e + 1, ':') == NULL) {
		hl = (size_t)(e - s);
		p = e + 1;
	}
	if (hl == 0 || hl >= sizeof(buf) || hl >= hostlen)
		return -1;
	memcpy(buf, h, hl);
	buf[hl] = '\0';
	if (p != NULL && ((e = scan_port(p, &port)) == NULL || *e != '\0'))
		return -1;
	if (port == 0 || parse_ip(buf, port, ss, sslen) == -1)
		return -1;
	if (s[0] == '[' && ss->ss_family != AF_INET6)
		return -1;
	memcpy(host, buf, hl + 1);
	return 0;
}

/*
 * The port of a link's bind address.  No address means TcpRoute's
 * default, 0.0.0.0; the unspecified address with port 0 binds nothing
 * (TcpRoute writes it for "no source"), so *len becomes 0: binding it
 * would only pin the link to one address family.
 */
void
source_port(struct sockaddr_storage *ss, socklen_t *len, uint16_t port)
{
	const struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	int				 any;

	if (*len == 0 && port == 0)
		return;
	if (*len == 0)
		parse_ip("0.0.0.0", 0, ss, len);
	set_port(ss, port);
	any = ss->ss_family == AF_INET ? sin->sin_addr.s_addr == INADDR_ANY :
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	if (any && port == 0) {
		memset(ss, 0, sizeof(*ss));
		*len = 0;
	}
}

/* A string parse_hostport() takes; what names it in the error. */
int
get_addr(struct ctx *c, const cJSON *it, uint16_t defport,
    struct sockaddr_storage *ss, socklen_t *len, const char *what)
{
	const char	*s;
	char		 host[INET6_ADDRSTRLEN], q[80];

	if (get_str(c, it, 1, SIZE_MAX, &s) == -1)
		return -1;
	if (parse_hostport(s, defport, host, sizeof(host), ss, len) == -1)
		return fail(c, "%s is not %s", quote(s, q, sizeof(q)), what);
	return 0;
}

/* "addr/prefix" or a bare address; host bits are masked off. */
int
parse_cidr(const char *s, struct sl_cidr *out)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/'), *d;
	size_t		 hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned	 bits, prefix, i;

	if (hl == 0 || hl >= sizeof(buf))
		return -1;
	memcpy(buf, s, hl);
	buf[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET, bits = 32;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6, bits = 128;
	else
		return -1;
	prefix = bits;
	if (slash != NULL) {
		prefix = 0;
		for (d = slash + 1; *d >= '0' && *d <= '9' &&
		    d - slash <= 3; d++)
			prefix = prefix * 10 + (unsigned)(*d - '0');
		if (d == slash + 1 || *d != '\0' || prefix > bits)
			return -1;
	}
	out->prefix = (uint8_t)prefix;
	for (i = 0; i < bits / 8; i++) {
		if (prefix <= i * 8)
			out->addr[i] = 0;
		else if (prefix < (i + 1) * 8)
			out->addr[i] &= (uint8_t)(0xff <<
			    ((i + 1) * 8 - prefix));
	}
	return 0;
}

static int
is_namechar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Dot-separated labels of 1-63 [A-Za-z0-9_-]; one trailing dot is fine. */
int
valid_hostname(const char *s)
{
	size_t	i, n = strlen(s), label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > SL_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (!is_namechar(s[i]) || ++label > 63)
			return 0;
	}
	return label > 0;
}

/* An upstream proxy: a host name or an IP literal (IPv4 is a name). */
int
valid_host(const char *s)
{
	struct in6_addr	a;

	return valid_hostname(s) || inet_pton(AF_INET6, s, &a) == 1;
}

/* Link names, user names: [A-Za-z0-9_.-], not starting with '-'. */
int
valid_word(const char *s)
{
	if (*s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_namechar(*s) && *s != '.')
			return 0;
	return 1;
}

/* What Linux accepts as a device name (dev_valid_name()). */
int
valid_ifname(const char *s)
{
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '/' || *s == ':')
			return 0;
	return 1;
}

/* Objects and arrays. */

static int
apply(struct ctx *c, const struct keydef *d, const cJSON *it, void *dst)
{
	void	*p = (char *)dst + d->off;

	switch (d->kind) {
	case K_UINT:
		return get_int(c, it, d->lo, d->hi, 0, p);
	case K_MS:
		return get_ms(c, it, p);
	case K_BOOL:
		if (!cJSON_IsBool(it))
			return type_err(c, it, "a boolean");
		*(int *)p = cJSON_IsTrue(it);
		return 0;
	default:
		return d->fn(c, it, dst);
	}
}

/* Check every member of obj against defs and apply it to dst. */
int
walk(struct ctx *c, const cJSON *obj, const struct keydef *defs,
    size_t ndefs, void *dst, uint64_t *seenp)
{
	const cJSON	*it;
	uint64_t	 seen = 0;
	size_t		 i, old;
	int		 rc;

	if (!cJSON_IsObject(obj))
		return type_err(c, obj, "an object");
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; i < ndefs; i++)
			if (strcmp(it->string, defs[i].name) == 0)
				break;
		old = push_key(c, it->string);
		if (i == ndefs)
			rc = fail(c, "unknown key");
		else if (seen & BIT(i))
			rc = fail(c, "duplicate key");	/* cJSON kept both */
		else {
			seen |= BIT(i);
			rc = apply(c, &defs[i], it, dst);
		}
		pop(c, old);
		if (rc == -1)
			return -1;
	}
	if (seenp != NULL)
		*seenp = seen;
	return 0;
}

int
get_array(struct ctx *c, const cJSON *it, size_t max, size_t *np)
{
	size_t	n;

	if (!cJSON_IsArray(it))
		return type_err(c, it, "an array");
	if ((n = (size_t)cJSON_GetArraySize(it)) > max)
		return fail(c, "too many entries (max %zu)", max);
	*np = n;
	return 0;
}

/* A zeroed array of n elements; not NULL for n 0, so "given" shows. */
void *
alloc_array(struct ctx *c, size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n > 0 ? n : 1, size)) == NULL)
		fail(c, "out of memory");
	return p;
}

/*
 * Room for the elements of array value it.  *np is set only once the
 * memory is there, so conf_free() never walks an array that is not.
 */
void *
new_array(struct ctx *c, const cJSON *it, size_t size, size_t *np)
{
	size_t	 n;
	void	*p;

	if (get_array(c, it, CONF_MAX_ITEMS, &n) == -1)
		return NULL;
	if ((p = alloc_array(c, n, size)) != NULL)
		*np = n;
	return p;
}

int
each(struct ctx *c, const cJSON *arr, item_fn fn, void *arg)
{
	const cJSON	*it;
	size_t		 i = 0, old;
	int		 rc;

	cJSON_ArrayForEach(it, arr) {
		old = push_index(c, i);
		rc = fn(c, it, arg, i);
		pop(c, old);
		if (rc == -1)
			return -1;
		i++;
	}
	return 0;
}

/* cJSON stops at the end of the value; only whitespace may follow. */
cJSON *
json_load(struct ctx *c, const char *text, size_t len)
{
	const char	*end = text;
	cJSON		*root;
	size_t		 off;

	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	off = end != NULL && end >= text ? (size_t)(end - text) : 0;
	while (root != NULL && off < len && (text[off] == ' ' ||
	    text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
		off++;
	if (root != NULL && off < len) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (root == NULL)
		fail(c, "invalid JSON near byte %zu", off);
	return root;
}

int
conf_cidr_parse(const char *s, struct sl_cidr *out)
{
	return parse_cidr(s, out);
}

void
conf_cidr_fmt(const struct sl_cidr *c, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
}
