/*
 * The name a plain HTTP/1.x request is for: see host_wire.h.
 *
 * A `host` listener routes on this name before sending any byte on, and
 * the backend then reads the same bytes with its own parser.  So this
 * parser is strict where two readers could disagree (obs-fold, space
 * before a colon, two Host fields, bare CR or LF): such a request is
 * refused rather than routed one way and served another.
 *
 * The request line is checked byte by byte in order, so that a client
 * speaking something else (TLS, SSH, HTTP/2's preface) is refused as
 * soon as its first impossible byte arrives, and so that the verdict on
 * any input does not depend on how it was split into reads: every
 * decision is made at one byte and depends only on the bytes before it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "host_wire.h"

#define BAD(r, st, msg)	((r)->why = (msg), (r)->status = (st), HOST_BAD)
#define ERR(why, msg)	(*(why) = (msg), -1)

/* What the complete request line says. */
struct line {
	const uint8_t	*method, *target;
	size_t		 mlen, tlen;
	int		 minor;
	int		 done;		/* its LF has been seen */
};

/* RFC 9110 tchar */
static int
is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int
is_hex(uint8_t c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/*
 * "[v6]" at a: the address in its canonical text form (so that
 * "[::0001]" and "[::1]" route alike) into out.  Returns the bytes used.
 */
static int
norm_ip6(const char *a, size_t alen, char *out, const char **why)
{
	struct in6_addr	 in6;
	char		 tmp[INET6_ADDRSTRLEN];
	const char	*rb = memchr(a, ']', alen);
	size_t		 n, i;

	if (rb == NULL)
		return ERR(why, "unterminated IPv6 literal");
	n = (size_t)(rb - a) - 1;
	if (n < 2 || n >= sizeof(tmp))
		return ERR(why, "bad IPv6 literal");
	for (i = 1; i <= n; i++)
		if (!is_hex((uint8_t)a[i]) && a[i] != ':' && a[i] != '.')
			return ERR(why, "bad IPv6 literal");	/* or a zone */
	memcpy(tmp, a + 1, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, &in6) != 1 ||
	    inet_ntop(AF_INET6, &in6, out, SL_MAX_NAME + 1) == NULL)
		return ERR(why, "bad IPv6 literal");
	return (int)n + 2;
}

/*
 * A host name at a (n bytes, trailing dot already dropped), lower-cased
 * into out: labels of [a-z0-9-_], 1 to 63 bytes, 253 in all.  A name
 * whose last label is numeric must be a dotted-quad IPv4 address: the
 * other spellings ("127.1", "0x7f.1", "2130706433") mean different
 * things to different resolvers.
 */
static int
norm_name(const char *a, size_t n, char *out, const char **why)
{
	struct in_addr	in4;
	size_t		i, label = 0;
	int		numeric = 1;
	char		c;

	if (n == 0)
		return ERR(why, "empty host");
	if (n > 253)
		return ERR(why, "host name too long");
	for (i = 0; i < n; i++) {
		c = a[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
		if (c == '.') {
			if (label == 0)
				return ERR(why, "empty label in host");
			label = 0;
			numeric = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || is_digit((uint8_t)c) ||
		    c == '-' || c == '_'))
			return ERR(why, "bad character in host");
		if (!is_digit((uint8_t)c))
			numeric = 0;
		if (++label > 63)
			return ERR(why, "host label too long");
	}
	out[n] = '\0';
	if (label == 0)
		return ERR(why, "empty label in host");
	if (numeric && inet_pton(AF_INET, out, &in4) != 1)
		return ERR(why, "bad IPv4 address");
	return 0;
}

/*
 * uri-host [ ":" port ] (a Host value, an authority): the name into
 * out (SL_MAX_NAME + 1 bytes), the port into *port (0 if none).  No
 * user info, no path, no empty port.
 */
static int
norm_authority(const char *a, size_t alen, int need_port, char *out,
    uint16_t *port, const char **why)
{
	const char	*colon;
	size_t		 n;
	int		 rv;

	*port = 0;
	if (memchr(a, '@', alen) != NULL)
		return ERR(why, "user info in the host");
	if (alen > 0 && a[0] == '[') {
		if ((rv = norm_ip6(a, alen, out, why)) < 0)
			return -1;
		n = (size_t)rv;
	} else {
		colon = memchr(a, ':', alen);
		n = colon != NULL ? (size_t)(colon - a) : alen;
		if (norm_name(a, n > 0 && a[n - 1] == '.' ? n - 1 : n, out,
		    why) == -1)
			return -1;
	}
	if (n == alen)
		return need_port ? ERR(why, "no port in CONNECT target") : 0;
	if (a[n] != ':' || http_parse_port(a + n + 1, alen - n - 1, port) == -1)
		return ERR(why, "bad port");
	return 0;
}

/*
 * The version after the second SP, one byte at a time: "HTTP/1." DIGIT
 * CR LF.  Another major version is known to be one at its digit.
 */
static int
version_byte(size_t at, uint8_t c, const char **why)
{
	static const char	lit[] = "HTTP/1.";

	if (at == 5 && is_digit(c) && c != '1')
		return *why = "HTTP version not supported", 505;
	if (at < 7 && c != (uint8_t)lit[at])
		return *why = "bad HTTP version", 400;
	if (at == 7 && !is_digit(c))
		return *why = "bad HTTP version", 400;
	if (at == 8 && c != '\r')
		return *why = c == '\n' ? "bare LF" : "bad HTTP version", 400;
	if (at == 9 && c != '\n')
		return *why = "bare CR", 400;
	return 0;
}

/*
 * The request line's first n bytes, in order: 0 while they can start a
 * valid line (ln->done once its LF is among them), or a status.  The
 * target's form is judged once the whole line is there.
 */
static int
scan_line(const uint8_t *b, size_t n, struct line *ln, const char **why)
{
	size_t	i, vs = 0;
	int	part = 0, st;

	memset(ln, 0, sizeof(*ln));
	for (i = 0; i < n; i++) {
		if (part == 0 && is_tchar(b[i]))
			continue;
		if (part == 0) {
			if (b[i] != ' ' || i == 0)
				return *why = "not an HTTP request", 400;
			ln->method = b;
			ln->mlen = i;
			ln->target = b + i + 1;
			part = 1;
		} else if (part == 1 && b[i] > 0x20 && b[i] < 0x7f) {
			continue;
		} else if (part == 1) {
			if (b[i] != ' ' || b + i == ln->target)
				return *why = "bad request-target", 400;
			ln->tlen = (size_t)(b + i - ln->target);
			vs = i + 1;
			part = 2;
		} else if ((st = version_byte(i - vs, b[i], why)) != 0) {
			return st;
		} else if (i - vs == 7) {
			ln->minor = b[i] - '0';
		} else if (i - vs == 9) {
			ln->done = 1;	/* n is just past it */
			return 0;
		}
	}
	return 0;
}

/*
 * scheme "://" authority [ path-abempty ] [ "?" query ], http or https.
 * The authority into *a, *alen.
 */
static int
split_absolute(const char *t, size_t tlen, const char **a, size_t *alen,
    const char **why)
{
	size_t	i, s;

	for (i = 0; i < tlen && t[i] != ':'; i++)
		if (!is_alpha((uint8_t)t[i]) && (i == 0 ||
		    (!is_digit((uint8_t)t[i]) && strchr("+-.", t[i]) == NULL)))
			return ERR(why, "bad request-target");
	if (i == 0 || i + 3 > tlen || t[i + 1] != '/' || t[i + 2] != '/')
		return ERR(why, "bad request-target");
	if (!((i == 4 && strncasecmp(t, "http", 4) == 0) ||
	    (i == 5 && strncasecmp(t, "https", 5) == 0)))
		return ERR(why, "scheme not http or https");
	s = i + 3;
	for (i = s; i < tlen && t[i] != '/' && t[i] != '?'; i++)
		;
	*a = t + s;
	*alen = i - s;
	return 0;
}

/*
 * The target's form against the method (RFC 9112 section 3.2).  For
 * absolute-form, the URL's name goes to r->host: it wins over Host.
 */
static int
check_target(struct host_req *r, const struct line *ln, int *absolute)
{
	const char	*t = (const char *)ln->target, *a;
	char		 scratch[SL_MAX_NAME + 1];
	size_t		 alen;
	uint16_t	 port;

	*absolute = 0;
	if (memchr(t, '#', ln->tlen) != NULL)
		return ERR(&r->why, "fragment in request-target");
	if (ln->mlen == 7 && memcmp(ln->method, "CONNECT", 7) == 0)
		/* Routed by Host like the others; the target must parse. */
		return norm_authority(t, ln->tlen, 1, scratch, &port, &r->why);
	if (t[0] == '*') {
		if (ln->tlen != 1 || ln->mlen != 7 ||
		    memcmp(ln->method, "OPTIONS", 7) != 0)
			return ERR(&r->why, "asterisk-form without OPTIONS");
		return 0;
	}
	if (t[0] == '/')
		return 0;
	if (split_absolute(t, ln->tlen, &a, &alen, &r->why) == -1 ||
	    norm_authority(a, alen, 0, r->host, &r->port, &r->why) == -1)
		return -1;
	*absolute = 1;
	return 0;
}

/*
 * One field line without its CRLF, as RFC 9112 section 5 has it and
 * without the leniency it allows: a recipient that folded or trimmed
 * where the backend does not would see different fields.
 */
static int
check_field(const char *f, size_t n, size_t *colon, size_t *v, size_t *e,
    const char **why)
{
	size_t	i;
	uint8_t	c;

	if (n > 0 && (f[0] == ' ' || f[0] == '\t'))
		return ERR(why, "obs-fold (line folding)");
	for (i = 0; i < n && is_tchar((uint8_t)f[i]); i++)
		;
	if (i < n && (f[i] == ' ' || f[i] == '\t'))
		return ERR(why, "whitespace before a colon");
	if (i == 0 || i == n || f[i] != ':')
		return ERR(why, "bad field name");
	*colon = i;
	for (*v = i + 1; *v < n && (f[*v] == ' ' || f[*v] == '\t'); (*v)++)
		;
	for (*e = n; *e > *v && (f[*e - 1] == ' ' || f[*e - 1] == '\t');
	    (*e)--)
		;
	for (i = *v; i < *e; i++) {
		c = (uint8_t)f[i];
		if (c == '\0')
			return ERR(why, "NUL in a field value");
		if (c == '\r')
			return ERR(why, "bare CR");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ERR(why, "control byte in a field value");
	}
	return 0;
}

/*
 * The fields in buf[p..end), end just past the empty line: the one Host
 * value into *hv, *hvlen (NULL if none).  0, or the status.
 */
static int
scan_fields(struct host_req *r, const uint8_t *buf, size_t p, size_t end,
    const char **hv, size_t *hvlen)
{
	const uint8_t	*lf;
	const char	*f;
	size_t		 q, nfields = 0, colon, v, e;

	*hv = NULL;
	*hvlen = 0;
	for (; p < end; p = q + 1) {
		lf = memchr(buf + p, '\n', end - p);	/* end - 1 is one */
		q = (size_t)(lf - buf);
		if (q == p || buf[q - 1] != '\r')
			return r->why = "bare LF", 400;
		if (q == p + 1)
			return 0;	/* the empty line, at end */
		f = (const char *)buf + p;
		if (check_field(f, q - 1 - p, &colon, &v, &e, &r->why) == -1)
			return 400;
		if (++nfields > HTTP_MAX_HEADERS)
			return r->why = "too many header fields", 431;
		if (colon != 4 || strncasecmp(f, "Host", 4) != 0)
			continue;
		if (*hv != NULL)
			return r->why = "Host twice", 400;
		*hv = f + v;
		*hvlen = e - v;
	}
	return r->why = "head without an empty line", 400;
}

/* The complete head buf[0..n): its name, or why not. */
static enum host_rc
parse_head(struct host_req *r, const uint8_t *buf, size_t n,
    const struct line *ln)
{
	const char	*hv;
	char		 scratch[SL_MAX_NAME + 1];
	size_t		 hvlen;
	uint16_t	 port;
	int		 absolute, st;

	r->head_len = n;
	r->minor = ln->minor;
	r->host[0] = '\0';
	r->port = 0;
	if (check_target(r, ln, &absolute) == -1)
		return BAD(r, 400, r->why);
	if ((st = scan_fields(r, buf, r->scan.line_len, n, &hv, &hvlen)) != 0)
		return BAD(r, st, r->why);
	/* RFC 9112 section 3.2: an invalid Host is a 400 whatever wins. */
	if (hv != NULL && hvlen > 0 && norm_authority(hv, hvlen, 0,
	    absolute ? scratch : r->host, absolute ? &port : &r->port,
	    &r->why) == -1)
		return BAD(r, 400, r->why);
	if (absolute)
		return HOST_OK;
	/*
	 * No Host, or an empty one (RFC 9110 section 7.2: a target without
	 * an authority).  RFC 9112 section 3.2 makes a missing Host in
	 * HTTP/1.1 a 400, but that is the backend's answer to give: a
	 * router passes such a request to its catch-all, which decides.
	 */
	if (hv == NULL || hvlen == 0)
		return HOST_NONE;
	return HOST_OK;
}

enum host_rc
host_parse(struct host_req *r, const uint8_t *buf, size_t len)
{
	struct line	ln;
	size_t		had_line = r->scan.line_len, ll, lim;
	int		n, st = 0, lst;

	memset(&ln, 0, sizeof(ln));
	r->why = NULL;
	r->status = 0;
	n = http_scan_head(&r->scan, buf, len, &st);
	ll = r->scan.line_len;
	/*
	 * The request line, or as much as has come of it, before the
	 * scanner's verdict: a 400 for the first impossible byte beats a
	 * 414 for the length.  At most HTTP_MAX_LINE bytes per call, and
	 * not again while only fields arrive.
	 */
	if (ll == 0 || had_line == 0 || n != 0) {
		lim = len < HTTP_MAX_LINE ? len : HTTP_MAX_LINE;
		if (ll != 0 && ll < lim)
			lim = ll;
		if ((lst = scan_line(buf, lim, &ln, &r->why)) != 0)
			return BAD(r, lst, r->why);
	}
	if (n < 0)
		return BAD(r, st, st == 414 ? "request line too long" :
		    "header section too long");
	if (n == 0)
		return HOST_MORE;
	return parse_head(r, buf, (size_t)n, &ln);
}
