/*
 * The PROXY protocol, versions 1 and 2: see proxy_wire.h.
 *
 * A header is only believed from a trusted balancer, but it is still
 * parsed as hostile input: a strict reading (single spaces, ports
 * without leading zeros, addresses that parse for their family, every
 * length checked before use) leaves no two ways to read one header.
 * Both parsers decide as early as the bytes allow, so a client that is
 * not a balancer at all is refused at its first impossible byte rather
 * than after a timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxy_wire.h"

#define ERR(why, msg)	(*(why) = (msg), -1)

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_HDR		16
#define V2_LOCAL	0x20
#define V2_PROXY	0x21
#define V2_TCP4		0x11
#define V2_TCP6		0x21

/* The bytes an address family's block takes in v2. */
static const size_t v2_addr_len[4] = { 0, 12, 36, 216 };

/* One end of a connection: 4 or 16 address bytes. */
struct endpoint {
	int		family;		/* AF_INET, AF_INET6, 0: other */
	uint8_t		addr[16];
	uint16_t	port;
};

/* v1's fields after "PROXY ", in order. */
enum v1_field { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_END };

/* What v1's fields say, as they are read. */
struct v1_state {
	int		family;		/* AF_INET, AF_INET6, 0: UNKNOWN */
	struct endpoint	src, dst;
};

static int
is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' &&
	    (c | 0x20) <= 'f');
}

/* Is t[0..n) a start of word (the whole word if complete)? */
static int
word_prefix(const uint8_t *t, size_t n, int complete, const char *word)
{
	size_t	wl = strlen(word);

	if (n > wl || (complete && n != wl))
		return 0;
	return memcmp(t, word, n) == 0;
}

static int
v1_proto(const uint8_t *t, size_t n, int complete, struct v1_state *st,
    const char **why)
{
	if (word_prefix(t, n, complete, "TCP4"))
		st->family = AF_INET;
	else if (word_prefix(t, n, complete, "TCP6"))
		st->family = AF_INET6;
	else if (word_prefix(t, n, complete, "UNKNOWN"))
		st->family = 0;
	else
		return ERR(why, "bad PROXY v1 protocol");
	return 0;
}

/* An address of st->family: its characters as they come, then inet_pton. */
static int
v1_addr(const uint8_t *t, size_t n, int complete, struct v1_state *st,
    struct endpoint *ep, const char **why)
{
	char	tmp[INET6_ADDRSTRLEN];
	size_t	i, max = st->family == AF_INET ? INET_ADDRSTRLEN - 1 :
		    INET6_ADDRSTRLEN - 1;

	if (n > max)
		return ERR(why, "bad PROXY v1 address");
	for (i = 0; i < n; i++)
		if (!(t[i] >= '0' && t[i] <= '9') && t[i] != '.' &&
		    (st->family == AF_INET || (!is_hex(t[i]) && t[i] != ':')))
			return ERR(why, "bad PROXY v1 address");
	if (!complete)
		return 0;
	memcpy(tmp, t, n);
	tmp[n] = '\0';
	if (inet_pton(st->family, tmp, ep->addr) != 1)
		return ERR(why, "bad PROXY v1 address");
	ep->family = st->family;
	return 0;
}

/* 0-65535 in decimal, "0" the only number starting with a zero. */
static int
v1_port(const uint8_t *t, size_t n, int complete, struct endpoint *ep,
    const char **why)
{
	unsigned long	v = 0;
	size_t		i;

	if (n > 5 || (n > 1 && t[0] == '0') || (complete && n == 0))
		return ERR(why, "bad PROXY v1 port");
	for (i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return ERR(why, "bad PROXY v1 port");
		v = v * 10 + (unsigned long)(t[i] - '0');
	}
	if (v > 65535)
		return ERR(why, "bad PROXY v1 port");
	ep->port = (uint16_t)v;
	return 0;
}

static int
v1_field(enum v1_field f, const uint8_t *t, size_t n, int complete,
    struct v1_state *st, const char **why)
{
	switch (f) {
	case F_PROTO:
		return v1_proto(t, n, complete, st, why);
	case F_SRC:
		return v1_addr(t, n, complete, st, &st->src, why);
	case F_DST:
		return v1_addr(t, n, complete, st, &st->dst, why);
	case F_SPORT:
		return v1_port(t, n, complete, &st->src, why);
	case F_DPORT:
		return v1_port(t, n, complete, &st->dst, why);
	default:
		return ERR(why, "too many PROXY v1 fields");
	}
}

/* Printable ASCII: what may follow "UNKNOWN", which is ignored. */
static int
v1_rest(const uint8_t *t, size_t n, const char **why)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return ERR(why, "bad byte in PROXY v1 line");
	return 0;
}

static void
to_sockaddr(const struct endpoint *ep, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	memset(ss, 0, sizeof(*ss));
	if (ep->family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(ep->port);
		memcpy(&sin.sin_addr, ep->addr, 4);
		memcpy(ss, &sin, sizeof(sin));
		*len = sizeof(sin);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(ep->port);
		memcpy(&sin6.sin6_addr, ep->addr, 16);
		memcpy(ss, &sin6, sizeof(sin6));
		*len = sizeof(sin6);
	}
}

/*
 * "PROXY" SP proto SP src SP dst SP sport SP dport CRLF, at most
 * PROXY_V1_MAX bytes; "PROXY UNKNOWN" then anything up to the CRLF.
 */
static long
v1_parse(const uint8_t *b, size_t len, struct proxy_hdr *h, const char **why)
{
	struct v1_state	 st;
	const uint8_t	*cr;
	size_t		 lim, end, p, q;
	enum v1_field	 f = F_PROTO;

	memset(&st, 0, sizeof(st));
	/* The CR may sit at PROXY_V1_MAX - 2 at the latest. */
	lim = len < PROXY_V1_MAX - 1 ? len : PROXY_V1_MAX - 1;
	cr = memchr(b, '\r', lim);
	end = cr != NULL ? (size_t)(cr - b) : lim;
	if (memcmp(b, "PROXY ", end < 6 ? end : 6) != 0 ||
	    (end < 6 && cr != NULL))
		return ERR(why, "not a PROXY header");
	for (p = 6; p <= end; p = q + 1, f++) {
		for (q = p; q < end && b[q] != ' '; q++)
			;
		if (v1_field(f, b + p, q - p, q < end || cr != NULL, &st,
		    why) == -1)
			return -1;
		if (f == F_PROTO && st.family == 0 && q < end) {
			if (v1_rest(b + q, end - q, why) == -1)
				return -1;
			f = F_END;
			break;
		}
	}
	if (cr == NULL)
		return len < PROXY_V1_MAX - 1 ? 0 :
		    ERR(why, "PROXY v1 line too long");
	if (st.family != 0 && f != F_END)
		return ERR(why, "too few PROXY v1 fields");
	if (end + 1 == len)
		return 0;
	if (b[end + 1] != '\n')
		return ERR(why, "CR without LF in PROXY v1 line");
	h->version = 1;
	h->local = st.family == 0;
	if (!h->local) {
		to_sockaddr(&st.src, &h->src, &h->srclen);
		to_sockaddr(&st.dst, &h->dst, &h->dstlen);
	}
	return (long)end + 2;
}

/* TLVs in b[p..end): skipped, but each must lie inside the header. */
static int
v2_tlvs(const uint8_t *b, size_t p, size_t end, const char **why)
{
	size_t	tl;

	while (p < end) {
		if (end - p < 3)
			return ERR(why, "truncated PROXY v2 TLV");
		tl = (size_t)b[p + 1] << 8 | b[p + 2];
		if (tl > end - p - 3)
			return ERR(why, "PROXY v2 TLV overruns the header");
		p += 3 + tl;
	}
	return 0;
}

static void
v2_endpoints(const uint8_t *a, int family, struct proxy_hdr *h)
{
	struct endpoint	s, d;
	size_t		al = family == AF_INET ? 4 : 16;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.family = d.family = family;
	memcpy(s.addr, a, al);
	memcpy(d.addr, a + al, al);
	s.port = (uint16_t)(a[2 * al] << 8 | a[2 * al + 1]);
	d.port = (uint16_t)(a[2 * al + 2] << 8 | a[2 * al + 3]);
	to_sockaddr(&s, &h->src, &h->srclen);
	to_sockaddr(&d, &h->dst, &h->dstlen);
}

/*
 * Signature, version and command, family and protocol, length (big
 * endian), then the addresses and TLVs.  LOCAL (a balancer's own health
 * check), UDP, UNIX and UNSPEC keep the connection's own addresses.
 */
static long
v2_parse(const uint8_t *b, size_t len, struct proxy_hdr *h, const char **why)
{
	size_t	dlen, need;
	uint8_t	cmd, fam;

	if (memcmp(b, v2_sig, len < 12 ? len : 12) != 0)
		return ERR(why, "not a PROXY header");
	if (len < 13)
		return 0;
	if ((cmd = b[12]) != V2_LOCAL && cmd != V2_PROXY)
		return ERR(why, "bad PROXY v2 version or command");
	if (len < 14)
		return 0;
	/* The spec: other values must be rejected by receivers. */
	if ((fam = b[13]) >> 4 > 3 || (fam & 0x0f) > 2)
		return ERR(why, "bad PROXY v2 family or protocol");
	if (len < V2_HDR)
		return 0;
	dlen = (size_t)b[14] << 8 | b[15];
	if (V2_HDR + dlen > PROXY_V2_MAX)
		return ERR(why, "PROXY v2 header too long");
	need = cmd == V2_PROXY ? v2_addr_len[fam >> 4] : 0;
	if (dlen < need)
		return ERR(why, "PROXY v2 addresses truncated");
	if (len < V2_HDR + dlen)
		return 0;
	/* After LOCAL or UNSPEC nothing is defined: ignored whole. */
	if (need > 0 && v2_tlvs(b, V2_HDR + need, V2_HDR + dlen, why) == -1)
		return -1;
	h->version = 2;
	h->local = 1;
	if (cmd == V2_PROXY && (fam == V2_TCP4 || fam == V2_TCP6)) {
		h->local = 0;
		v2_endpoints(b + V2_HDR, fam == V2_TCP4 ? AF_INET : AF_INET6,
		    h);
	}
	return (long)(V2_HDR + dlen);
}

long
proxy_parse(const uint8_t *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	if (buf[0] == 'P')
		return v1_parse(buf, len, h, why);
	if (buf[0] == v2_sig[0])
		return v2_parse(buf, len, h, why);
	return ERR(why, "not a PROXY header");
}

/* An IPv4-mapped IPv6 address counts as IPv4; another family as none. */
static void
from_sockaddr(const struct sockaddr *sa, struct endpoint *ep)
{
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	memset(ep, 0, sizeof(*ep));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		ep->family = AF_INET;
		memcpy(ep->addr, &sin.sin_addr, 4);
		ep->port = ntohs(sin.sin_port);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		ep->port = ntohs(sin6.sin6_port);
		if (memcmp(&sin6.sin6_addr, mapped, 12) == 0) {
			ep->family = AF_INET;
			memcpy(ep->addr, (uint8_t *)&sin6.sin6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &sin6.sin6_addr, 16);
		}
	}
}

static void
map_v6(struct endpoint *ep)
{
	if (ep->family != AF_INET)
		return;
	memmove(ep->addr + 12, ep->addr, 4);
	memset(ep->addr, 0, 10);
	ep->addr[10] = ep->addr[11] = 0xff;
	ep->family = AF_INET6;
}

static size_t
build_v1(const struct endpoint *s, const struct endpoint *d, uint8_t *out,
    size_t cap)
{
	char	line[PROXY_V1_MAX + 1];
	char	sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int	n;

	if (s->family == 0)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else {
		if (inet_ntop(s->family, s->addr, sa, sizeof(sa)) == NULL ||
		    inet_ntop(d->family, d->addr, da, sizeof(da)) == NULL)
			return 0;
		n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
		    s->family == AF_INET ? '4' : '6', sa, da,
		    (unsigned)s->port, (unsigned)d->port);
	}
	if (n <= 0 || (size_t)n >= sizeof(line) || (size_t)n > cap)
		return 0;
	memcpy(out, line, (size_t)n);
	return (size_t)n;
}

static size_t
build_v2(const struct endpoint *s, const struct endpoint *d, uint8_t *out,
    size_t cap)
{
	size_t	al = s->family == AF_INET ? 4 : 16;
	size_t	dlen = s->family == 0 ? 0 : 2 * al + 4;
	uint8_t	*a = out + V2_HDR;

	if (cap < V2_HDR + dlen)
		return 0;
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = s->family == 0 ? V2_LOCAL : V2_PROXY;
	out[13] = s->family == 0 ? 0 : s->family == AF_INET ? V2_TCP4 :
	    V2_TCP6;
	out[14] = (uint8_t)(dlen >> 8);
	out[15] = (uint8_t)dlen;
	if (dlen > 0) {
		memcpy(a, s->addr, al);
		memcpy(a + al, d->addr, al);
		a[2 * al] = (uint8_t)(s->port >> 8);
		a[2 * al + 1] = (uint8_t)s->port;
		a[2 * al + 2] = (uint8_t)(d->port >> 8);
		a[2 * al + 3] = (uint8_t)d->port;
	}
	return V2_HDR + dlen;
}

size_t
proxy_build(int version, const struct sockaddr *src,
    const struct sockaddr *dst, uint8_t *out, size_t cap)
{
	struct endpoint	s, d;

	if (version != 1 && version != 2)
		return 0;
	from_sockaddr(src, &s);
	from_sockaddr(dst, &d);
	if (s.family == 0 || d.family == 0)
		s.family = d.family = 0;
	else if (s.family != d.family) {
		map_v6(&s);
		map_v6(&d);
	}
	return version == 1 ? build_v1(&s, &d, out, cap) :
	    build_v2(&s, &d, out, cap);
}
