/*
 * HTTP/1.x proxy request heads: see http_wire.h.  Every byte of the head
 * is classified; anything RFC 9112 lets a recipient reject (obs-fold,
 * bare CR or LF, whitespace before a colon, conflicting framing) is
 * rejected, because a proxy that is lenient where the origin is strict
 * (or the reverse) is how requests get smuggled.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "http_wire.h"

#define ERR(req, st, msg)	((req)->why = (msg), (st))

/* RFC 9110 tchar */
static int
is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A host name: unreserved characters only (no pct-encoding, no '%'). */
static int
is_hostchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Path and query: visible ASCII without '#' (no fragment on the wire). */
static int
is_pathchar(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

int
http_scan_head(struct http_scan *sc, const uint8_t *buf, size_t len,
    int *status)
{
	size_t	i, end = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	size_t	ll;

	for (i = sc->off; i < end; i++) {
		if (buf[i] != '\n')
			continue;
		ll = i + 1 - sc->line;
		if (sc->line_len == 0) {
			sc->line_len = i + 1;
			if (sc->line_len > HTTP_MAX_LINE) {
				*status = 414;
				return -1;
			}
		} else if (ll == 1 || (ll == 2 && buf[i - 1] == '\r')) {
			sc->off = i + 1;
			return (int)(i + 1);
		}
		sc->line = i + 1;
	}
	sc->off = end;
	if (sc->line_len == 0 && end >= HTTP_MAX_LINE) {
		*status = 414;
		return -1;
	}
	if (end >= HTTP_MAX_HEAD) {
		*status = 431;
		return -1;
	}
	return 0;
}

int
http_parse_port(const char *p, size_t n, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit((uint8_t)p[i]))
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]" at a: the address into req->host; the bytes used, or -1. */
static int
parse_ip6(const char *a, size_t alen, struct http_request *req)
{
	struct in6_addr	in6;
	const char	*rb = memchr(a, ']', alen);
	size_t		 n, i;

	if (rb == NULL)
		return -1;
	n = (size_t)(rb - a) - 1;
	if (n < 2 || n > 45)
		return -1;
	for (i = 1; i <= n; i++)
		if (!is_digit((uint8_t)a[i]) && a[i] != ':' && a[i] != '.' &&
		    !((a[i] | 0x20) >= 'a' && (a[i] | 0x20) <= 'f'))
			return -1;	/* a zone ("%25eth0") included */
	memcpy(req->host, a + 1, n);
	req->host[n] = '\0';
	if (inet_pton(AF_INET6, req->host, &in6) != 1)
		return -1;
	req->host_ip6 = 1;
	return (int)n + 2;
}

/* host[:port] or [v6][:port]; port required for CONNECT. */
static int
parse_authority(const char *a, size_t alen, int need_port,
    struct http_request *req)
{
	size_t	n;
	int	rv;

	req->authority = a;
	req->alen = alen;
	req->port = 80;
	if (alen == 0)
		return ERR(req, 400, "empty authority");
	if (memchr(a, '@', alen) != NULL)
		return ERR(req, 400, "userinfo in the authority");
	if (a[0] == '[') {
		if ((rv = parse_ip6(a, alen, req)) < 0)
			return ERR(req, 400, "bad IPv6 literal");
		n = (size_t)rv;
	} else {
		for (n = 0; n < alen && a[n] != ':'; n++)
			if (!is_hostchar((uint8_t)a[n]))
				return ERR(req, 400, "bad character in host");
		if (n == 0 || n > SL_MAX_NAME)
			return ERR(req, 400, "bad host length");
		memcpy(req->host, a, n);
		req->host[n] = '\0';
	}
	if (n == alen) {
		if (need_port)
			return ERR(req, 400, "no port in CONNECT target");
		return 0;
	}
	if (a[n] != ':' || http_parse_port(a + n + 1, alen - n - 1,
	    &req->port) == -1)
		return ERR(req, 400, "bad port");
	return 0;
}

/* scheme://authority[path] */
static int
parse_absolute(const char *t, size_t tlen, struct http_request *req)
{
	size_t	i, a;

	if (t[0] == '/')
		return ERR(req, 400, "origin-form: not a proxy request");
	for (i = 0; i < tlen && t[i] != ':'; i++) {
		if (!((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') &&
		    (i == 0 || (!is_digit((uint8_t)t[i]) &&
		    strchr("+-.", t[i]) == NULL)))
			return ERR(req, 400, "bad request-target");
	}
	if (i == 0 || i + 3 > tlen || t[i + 1] != '/' || t[i + 2] != '/')
		return ERR(req, 400, "bad request-target");
	if (!ieq(t, i, "http"))
		return ERR(req, 501, "scheme not supported");
	a = i + 3;
	for (i = a; i < tlen && t[i] != '/' && t[i] != '?' && t[i] != '#';
	    i++)
		;
	if (parse_authority(t + a, i - a, 0, req) != 0)
		return 400;
	req->form = HTTP_FORM_ABSOLUTE;
	req->path = t + i;
	req->plen = tlen - i;
	for (; i < tlen; i++)
		if (!is_pathchar((uint8_t)t[i]))
			return ERR(req, 400, "bad character in path");
	return 0;
}

/* "HTTP/1.1": 0, or a status. */
static int
parse_version(const char *v, size_t n, struct http_request *req)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit((uint8_t)v[5]) ||
	    v[6] != '.' || !is_digit((uint8_t)v[7]))
		return ERR(req, 400, "bad HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return ERR(req, 505, "HTTP version not supported");
	req->minor = v[7] - '0';
	return 0;
}

int
http_parse_line(const uint8_t *buf, size_t len, struct http_request *req)
{
	const char	*l = (const char *)buf, *t;
	size_t		 n, i, m, tlen;
	int		 rv;

	req->why = NULL;
	if (len > HTTP_MAX_LINE)
		return ERR(req, 414, "request line too long");
	if (len < 2 || buf[len - 1] != '\n' || buf[len - 2] != '\r')
		return ERR(req, 400, "request line without CRLF");
	n = len - 2;
	for (m = 0; m < n && is_tchar(buf[m]); m++)
		;
	if (m == 0 || m == n || buf[m] != ' ')
		return ERR(req, 400, "bad method");
	req->method = l;
	req->mlen = m;
	t = l + m + 1;
	for (i = m + 1; i < n && buf[i] != ' '; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			return ERR(req, 400, "bad byte in request-target");
	tlen = (size_t)(l + i - t);
	if (tlen == 0)
		return ERR(req, 400, "empty request-target");
	if (i == n)
		return ERR(req, 400, "no HTTP version");
	if ((rv = parse_version(l + i + 1, n - i - 1, req)) != 0)
		return rv;
	req->line_len = len;
	/* Methods are case-sensitive: "connect" is some other method. */
	if (m == 7 && memcmp(l, "CONNECT", 7) == 0) {
		req->form = HTTP_FORM_AUTHORITY;
		return parse_authority(t, tlen, 1, req);
	}
	if (t[0] == '*')
		return ERR(req, 400, "asterisk-form: not a proxy request");
	return parse_absolute(t, tlen, req);
}

/* One field line without its CRLF. */
static int
parse_field(const char *f, size_t n, struct http_request *req)
{
	struct http_header	*h;
	size_t			 i, colon, v, e;
	uint8_t			 c;

	if (n > 0 && (f[0] == ' ' || f[0] == '\t'))
		return ERR(req, 400, "obs-fold (line folding)");
	for (colon = 0; colon < n && is_tchar((uint8_t)f[colon]); colon++)
		;
	if (colon < n && (f[colon] == ' ' || f[colon] == '\t'))
		return ERR(req, 400, "whitespace before a colon");
	if (colon == 0 || colon == n || f[colon] != ':')
		return ERR(req, 400, "bad field name");
	for (v = colon + 1; v < n && (f[v] == ' ' || f[v] == '\t'); v++)
		;
	for (e = n; e > v && (f[e - 1] == ' ' || f[e - 1] == '\t'); e--)
		;
	/* Visible, obs-text, or SP/HTAB inside the value. */
	for (i = v; i < e; i++) {
		c = (uint8_t)f[i];
		if (c == '\0')
			return ERR(req, 400, "NUL in a field value");
		if (c == '\r')
			return ERR(req, 400, "bare CR");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ERR(req, 400, "control byte in a field value");
	}
	if (req->nheaders == HTTP_MAX_HEADERS)
		return ERR(req, 431, "too many header fields");
	h = &req->headers[req->nheaders++];
	h->name = f;
	h->nlen = colon;
	h->value = f + v;
	h->vlen = e - v;
	return 0;
}

/* Content-Length: digits only; repeats must agree. */
static int
check_length(const struct http_header *h, struct http_request *req)
{
	int64_t	v = 0;
	size_t	i;

	if (h->vlen == 0 || h->vlen > 18)
		return ERR(req, 400, "bad Content-Length");
	for (i = 0; i < h->vlen; i++) {
		if (!is_digit((uint8_t)h->value[i]))
			return ERR(req, 400, "bad Content-Length");
		v = v * 10 + (h->value[i] - '0');
	}
	if (req->content_length >= 0 && req->content_length != v)
		return ERR(req, 400, "differing Content-Length fields");
	req->content_length = v;
	return 0;
}

/* Framing and Host: the fields two parsers could read two ways. */
static int
check_fields(struct http_request *req)
{
	const struct http_header	*h;
	size_t				 i, nte = 0, nhost = 0;
	int				 rv;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (ieq(h->name, h->nlen, "Content-Length")) {
			if ((rv = check_length(h, req)) != 0)
				return rv;
		} else if (ieq(h->name, h->nlen, "Transfer-Encoding")) {
			if (++nte > 1)
				return ERR(req, 400, "Transfer-Encoding twice");
			if (!ieq(h->value, h->vlen, "chunked"))
				return ERR(req, 501, "transfer coding not "
				    "supported");
			req->chunked = 1;
		} else if (ieq(h->name, h->nlen, "Host")) {
			if (++nhost > 1)
				return ERR(req, 400, "Host twice");
		} else if (ieq(h->name, h->nlen, "Connection") &&
		    (http_list_has(h->value, h->vlen, "Content-Length", 14) ||
		    http_list_has(h->value, h->vlen, "Transfer-Encoding", 17) ||
		    http_list_has(h->value, h->vlen, "Host", 4)))
			/* Stripping one would change the framing. */
			return ERR(req, 400, "Connection names a framing field");
	}
	if (req->chunked && req->content_length >= 0)
		return ERR(req, 400, "Transfer-Encoding with Content-Length");
	if (req->chunked && req->minor == 0)
		return ERR(req, 400, "Transfer-Encoding in HTTP/1.0");
	return 0;
}

int
http_parse_head(const uint8_t *buf, size_t len, struct http_request *req)
{
	const uint8_t	*lf;
	size_t		 p, q;
	int		 rv;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	if (len > HTTP_MAX_HEAD)
		return ERR(req, 431, "head too long");
	if ((lf = memchr(buf, '\n', len)) == NULL)
		return ERR(req, 400, "no request line");
	if ((rv = http_parse_line(buf, (size_t)(lf - buf) + 1, req)) != 0)
		return rv;
	for (p = req->line_len; p < len; p = q + 1) {
		if ((lf = memchr(buf + p, '\n', len - p)) == NULL)
			return ERR(req, 400, "head without an empty line");
		q = (size_t)(lf - buf);
		if (q == p || buf[q - 1] != '\r')
			return ERR(req, 400, "bare LF");
		if (q == p + 1)		/* the empty line */
			return q + 1 == len ? check_fields(req) :
			    ERR(req, 400, "bytes after the head");
		if ((rv = parse_field((const char *)buf + p, q - 1 - p,
		    req)) != 0)
			return rv;
	}
	return ERR(req, 400, "head without an empty line");
}

int
http_header_find(const struct http_request *req, const char *name,
    const struct http_header **out)
{
	size_t	i;

	*out = NULL;
	for (i = 0; i < req->nheaders; i++) {
		if (!ieq(req->headers[i].name, req->headers[i].nlen, name))
			continue;
		if (*out != NULL)
			return -1;
		*out = &req->headers[i];
	}
	return 0;
}

int
http_list_has(const char *list, size_t llen, const char *tok, size_t tlen)
{
	size_t	s = 0, e, a, b;

	while (s <= llen) {
		for (e = s; e < llen && list[e] != ','; e++)
			;
		for (a = s; a < e && (list[a] == ' ' || list[a] == '\t'); a++)
			;
		for (b = e; b > a && (list[b - 1] == ' ' ||
		    list[b - 1] == '\t'); b--)
			;
		if (b - a == tlen && strncasecmp(list + a, tok, tlen) == 0)
			return 1;
		s = e + 1;
	}
	return 0;
}

static int
b64_value(uint8_t c)
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

int
http_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t		i, j, pad = 0, n;
	uint32_t	acc;
	int		v;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n > cap || n > (size_t)INT32_MAX)
		return -1;
	for (i = 0, j = 0; i < len; i += 4) {
		acc = 0;
		for (v = 0; v < 4; v++) {
			int	d = b64_value((uint8_t)in[i + (size_t)v]);

			if (d < 0 && !(in[i + (size_t)v] == '=' &&
			    i + (size_t)v >= len - pad))
				return -1;
			acc = acc << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		/* Bits the padding drops must be zero: one encoding only. */
		if ((pad == 1 && i + 4 == len && (acc & 0xff) != 0) ||
		    (pad == 2 && i + 4 == len && (acc & 0xffff) != 0))
			return -1;
		out[j++] = (uint8_t)(acc >> 16);
		if (j < n)
			out[j++] = (uint8_t)(acc >> 8);
		if (j < n)
			out[j++] = (uint8_t)acc;
	}
	return (int)n;
}

int
http_basic_credentials(const char *value, size_t vlen, uint8_t *out,
    size_t *ulen, const uint8_t **pass, size_t *plen)
{
	const uint8_t	*colon;
	size_t		 s, i;
	int		 n;

	for (s = 0; s < vlen && value[s] != ' '; s++)
		;
	if (!ieq(value, s, "Basic"))
		return 0;
	while (s < vlen && value[s] == ' ')
		s++;
	n = http_base64_decode(value + s, vlen - s, out, 2 * HTTP_MAX_CRED + 1);
	if (n <= 0)
		return -1;
	if ((colon = memchr(out, ':', (size_t)n)) == NULL)
		return -1;
	*ulen = (size_t)(colon - out);
	*pass = colon + 1;
	*plen = (size_t)n - *ulen - 1;
	if (*ulen > HTTP_MAX_CRED || *plen > HTTP_MAX_CRED)
		return -1;
	/* RFC 7617: no control characters in either. */
	for (i = 0; i < (size_t)n; i++)
		if (out[i] < 0x20 || out[i] == 0x7f)
			return -1;
	return 1;
}

/* Fields a proxy never forwards (RFC 9110 section 7.6.1), and Host. */
static int
hop_by_hop(const struct http_request *req, const struct http_header *h)
{
	static const char *const	 names[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Proxy-Authorization", "TE", "Trailer",
	    "Upgrade", "Host" };
	size_t				 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ieq(h->name, h->nlen, names[i]))
			return 1;
	for (i = 0; i < req->nheaders; i++)
		if (ieq(req->headers[i].name, req->headers[i].nlen,
		    "Connection") && http_list_has(req->headers[i].value,
		    req->headers[i].vlen, h->name, h->nlen))
			return 1;
	return 0;
}

struct obuf {
	uint8_t	*p;
	size_t	 len, cap;
	int	 full;
};

static void
put(struct obuf *o, const void *p, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
puts_(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

int
http_build_origin_request(const struct http_request *req, uint8_t *out,
    size_t cap)
{
	struct obuf			 o = { out, 0, cap, 0 };
	const struct http_header	*h;
	size_t				 i;

	put(&o, req->method, req->mlen);
	puts_(&o, " ");
	if (req->plen == 0 || req->path[0] != '/')
		puts_(&o, "/");
	put(&o, req->path, req->plen);
	puts_(&o, req->minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (hop_by_hop(req, h))
			continue;
		put(&o, h->name, h->nlen);
		puts_(&o, ": ");
		put(&o, h->value, h->vlen);
		puts_(&o, "\r\n");
	}
	/* The URL's authority: an origin must not route by another. */
	puts_(&o, "Host: ");
	put(&o, req->authority, req->alen);
	puts_(&o, "\r\nConnection: close\r\n\r\n");
	if (o.full || o.len > INT32_MAX)
		return -1;
	return (int)o.len;
}

#define RESPONSE(code, reason, extra, clen)				\
	"HTTP/1.1 " code " " reason "\r\n" extra			\
	"Connection: close\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: " clen "\r\n\r\n" code " " reason "\n"
#define R(status, reason, extra, clen)					\
	{ status, RESPONSE(#status, reason, extra, clen),		\
	  sizeof(RESPONSE(#status, reason, extra, clen)) - 1 }

static const struct {
	int		 status;
	const char	*text;
	size_t		 len;
} responses[] = {
	R(500, "Internal Server Error", "", "26"),	/* the default */
	R(400, "Bad Request", "", "16"),
	R(403, "Forbidden", "", "14"),
	R(407, "Proxy Authentication Required",
	    "Proxy-Authenticate: Basic realm=\"sluice\"\r\n", "34"),
	R(414, "URI Too Long", "", "17"),
	R(431, "Request Header Fields Too Large", "", "36"),
	R(501, "Not Implemented", "", "20"),
	R(502, "Bad Gateway", "", "16"),
	R(503, "Service Unavailable", "", "24"),
	R(504, "Gateway Timeout", "", "20"),
	R(505, "HTTP Version Not Supported", "", "31"),
};

const char *
http_response(int status, size_t *len)
{
	size_t	i;

	for (i = 0; i < sizeof(responses) / sizeof(responses[0]); i++)
		if (responses[i].status == status)
			break;
	if (i == sizeof(responses) / sizeof(responses[0]))
		i = 0;
	*len = responses[i].len;
	return responses[i].text;
}

const char http_connect_ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
const size_t http_connect_ok_len = sizeof(http_connect_ok) - 1;
