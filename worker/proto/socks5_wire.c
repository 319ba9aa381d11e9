/*
 * SOCKS5 (RFC 1928) and username/password (RFC 1929) wire formats.
 *
 * Every byte handed to a parser here comes from a client or an upstream
 * proxy and is hostile.  The parsers therefore follow one pattern: look
 * at a byte only after checking that len covers it, decide "invalid" as
 * early as the bytes seen allow (so a peer cannot hold a session open by
 * dribbling a message that is already known to be bad), and write to the
 * caller's output only once the whole message is known to be valid.
 *
 * Liberal choices, on purpose:
 *  - the RSV byte of a request or reply is accepted whatever its value
 *    (RFC 1928 says X'00'; some clients send garbage there and nothing
 *    depends on it);
 *  - commands are not judged here, the session decides what it supports.
 * Strict choices, on purpose:
 *  - a domain name (request DST.ADDR, reply BND.ADDR, RFC 1929 user and
 *    password) must be 1-255 bytes without NUL: names are passed on as C
 *    strings, and a NUL would make the checked name differ from the used
 *    one ("allowed.example\0.evil.example");
 *  - RFC 1929 messages must carry version 0x01 and a non-empty password,
 *    as the RFC's grammar says.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "socks5_wire.h"

/* Fixed part of a request or reply: VER CMD/REP RSV ATYP. */
#define S5_HDR		4
#define S5_RFC1929_VER	0x01

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/*
 * Length of a whole request/reply given its header, or -1 for an unknown
 * address type, 0 when the domain length byte has not arrived yet.
 */
static ssize_t
addr_msglen(const uint8_t *buf, size_t len)
{
	switch (buf[3]) {
	case S5_ATYP_IPV4:
		return S5_HDR + 4 + 2;
	case S5_ATYP_IPV6:
		return S5_HDR + 16 + 2;
	case S5_ATYP_DOMAIN:
		if (len < S5_HDR + 1)
			return 0;
		return S5_HDR + 1 + buf[S5_HDR] + 2;
	default:
		return -1;
	}
}

/*
 * A length-prefixed name at p (length byte first), of which avail bytes
 * are in the buffer: -1 if it is already known to be empty or to hold a
 * NUL, else 0.  Checking the prefix that has arrived rejects early.
 */
static int
name_bad(const uint8_t *p, size_t avail)
{
	size_t	n;

	if (avail < 1)
		return 0;
	if (p[0] == 0)
		return -1;
	n = avail - 1 < p[0] ? avail - 1 : p[0];
	return memchr(p + 1, '\0', n) != NULL ? -1 : 0;
}

/* Fill sa from a 4- or 16-byte address and a port in network order. */
static void
addr_fill(struct sockaddr_storage *ss, socklen_t *slen, uint8_t atyp,
    const uint8_t *a, const uint8_t *port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (atyp == S5_ATYP_IPV4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, port, 2);
		if (slen != NULL)
			*slen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, port, 2);
		if (slen != NULL)
			*slen = sizeof(*sin6);
	}
}

int
socks5_parse_greeting(const uint8_t *buf, size_t len, int *offers_none)
{
	size_t	need;

	if (len < 1)
		return 0;
	if (buf[0] != S5_VERSION)
		return -1;
	if (len < 2)
		return 0;
	if (buf[1] == 0)
		return -1;		/* NMETHODS must be >= 1 */
	need = 2 + (size_t)buf[1];
	if (len < need)
		return 0;
	if (offers_none != NULL)
		*offers_none = memchr(buf + 2, S5_AUTH_NONE, buf[1]) != NULL;
	return (int)need;
}

static void
request_fill(const uint8_t *buf, size_t need, struct socks5_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = buf[1];
	req->atyp = buf[3];
	req->t.port = get16(buf + need - 2);
	if (req->atyp == S5_ATYP_DOMAIN) {
		memcpy(req->t.host, buf + S5_HDR + 1, buf[S5_HDR]);
		req->t.host[buf[S5_HDR]] = '\0';
	} else
		addr_fill(&req->t.addr, &req->t.addrlen, req->atyp,
		    buf + S5_HDR, buf + need - 2);
}

int
socks5_parse_request(const uint8_t *buf, size_t len,
    struct socks5_request *req, uint8_t *rep)
{
	uint8_t	 dummy;
	ssize_t	 need;

	if (rep == NULL)
		rep = &dummy;
	*rep = S5_REP_FAIL;
	if (len < 1)
		return 0;
	if (buf[0] != S5_VERSION)
		return -1;
	if (len < S5_HDR)
		return 0;
	/* buf[2] is RSV: accepted whatever it holds, see the top comment. */
	if ((need = addr_msglen(buf, len)) == -1) {
		*rep = S5_REP_ATYPUNSUPP;
		return -1;
	}
	if (buf[3] == S5_ATYP_DOMAIN && name_bad(buf + S5_HDR,
	    len - S5_HDR) == -1)
		return -1;
	if (need == 0 || len < (size_t)need)
		return 0;
	request_fill(buf, (size_t)need, req);
	*rep = S5_REP_OK;
	return (int)need;
}

/* Write BND.ADDR for sa (NULL or unknown family: 0.0.0.0:0) at p. */
static uint8_t *
put_addr(uint8_t *p, const struct sockaddr *sa, int have_port, uint16_t port)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a6;

	if (sa != NULL && sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		a6 = sin6->sin6_addr.s6_addr;
		if (!have_port)
			port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* Clients expect the IPv4 form for IPv4 peers. */
			*p++ = S5_ATYP_IPV4;
			memcpy(p, a6 + 12, 4);
			return put16(p + 4, port);
		}
		*p++ = S5_ATYP_IPV6;
		memcpy(p, a6, 16);
		return put16(p + 16, port);
	}
	*p++ = S5_ATYP_IPV4;
	if (sa != NULL && sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		memcpy(p, &sin->sin_addr, 4);
		if (!have_port)
			port = ntohs(sin->sin_port);
	} else {
		memset(p, 0, 4);
		if (!have_port)
			port = 0;
	}
	return put16(p + 4, port);
}

size_t
socks5_build_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound)
{
	uint8_t	*p = out;

	*p++ = S5_VERSION;
	*p++ = rep;
	*p++ = 0x00;
	p = put_addr(p, bound, 0, 0);
	return (size_t)(p - out);
}

size_t
socks5_build_greeting(uint8_t *out, int with_userpass)
{
	out[0] = S5_VERSION;
	if (!with_userpass) {
		out[1] = 1;
		out[2] = S5_AUTH_NONE;
		return 3;
	}
	out[1] = 2;
	out[2] = S5_AUTH_NONE;
	out[3] = S5_AUTH_USERPASS;
	return 4;
}

/* A two-byte reply: a version byte, then the value the caller wants. */
static int
parse_two(const uint8_t *buf, size_t len, uint8_t version, uint8_t *value)
{
	if (len < 1)
		return 0;
	if (buf[0] != version)
		return -1;
	if (len < 2)
		return 0;
	if (value != NULL)
		*value = buf[1];
	return 2;
}

int
socks5_parse_method_reply(const uint8_t *buf, size_t len, uint8_t *method)
{
	return parse_two(buf, len, S5_VERSION, method);
}

int
socks5_build_userpass(uint8_t *out, size_t cap, const char *user,
    const char *pass)
{
	size_t	ulen, plen;
	uint8_t	*p = out;

	if (user == NULL || pass == NULL)
		return -1;
	/* strnlen: a caller's unterminated garbage must not run us off. */
	ulen = strnlen(user, 256);
	plen = strnlen(pass, 256);
	if (ulen < 1 || ulen > 255 || plen < 1 || plen > 255)
		return -1;
	if (cap < 3 + ulen + plen)
		return -1;
	*p++ = S5_RFC1929_VER;
	*p++ = (uint8_t)ulen;
	memcpy(p, user, ulen);
	p += ulen;
	*p++ = (uint8_t)plen;
	memcpy(p, pass, plen);
	p += plen;
	return (int)(p - out);
}

int
socks5_parse_userpass_reply(const uint8_t *buf, size_t len, uint8_t *status)
{
	return parse_two(buf, len, S5_RFC1929_VER, status);
}

int
socks5_build_connect(uint8_t *out, size_t cap, const char *host,
    const struct sockaddr *sa, uint16_t port)
{
	size_t	hlen, need;
	uint8_t	*p = out;

	if (host != NULL) {
		hlen = strnlen(host, 256);
		if (hlen < 1 || hlen > 255)
			return -1;
		need = S5_HDR + 1 + hlen + 2;
	} else if (sa != NULL && sa->sa_family == AF_INET)
		need = S5_HDR + 4 + 2;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		need = IN6_IS_ADDR_V4MAPPED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr) ?
		    S5_HDR + 4 + 2 : S5_HDR + 16 + 2;
	else
		return -1;
	if (cap < need)
		return -1;
	*p++ = S5_VERSION;
	*p++ = S5_CMD_CONNECT;
	*p++ = 0x00;
	if (host != NULL) {
		*p++ = S5_ATYP_DOMAIN;
		*p++ = (uint8_t)hlen;
		memcpy(p, host, hlen);
		p = put16(p + hlen, port);
	} else
		p = put_addr(p, sa, 1, port);	/* the port argument wins */
	return (int)(p - out);
}

int
socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep,
    struct sockaddr_storage *bound)
{
	ssize_t	need;

	if (len < 1)
		return 0;
	if (buf[0] != S5_VERSION)
		return -1;
	if (len < S5_HDR)
		return 0;
	if ((need = addr_msglen(buf, len)) == -1)
		return -1;
	if (buf[3] == S5_ATYP_DOMAIN && name_bad(buf + S5_HDR,
	    len - S5_HDR) == -1)
		return -1;
	if (need == 0 || len < (size_t)need)
		return 0;
	if (rep != NULL)
		*rep = buf[1];
	if (bound != NULL) {
		/* A domain BND.ADDR is skipped: bound stays AF_UNSPEC. */
		memset(bound, 0, sizeof(*bound));
		if (buf[3] != S5_ATYP_DOMAIN)
			addr_fill(bound, NULL, buf[3], buf + S5_HDR,
			    buf + need - 2);
	}
	return (int)need;
}

/*
 * user and pass must each hold 256 bytes (SL_MAX_NAME + 1); both come back
 * NUL-terminated.
 */
int
socks5_parse_userpass(const uint8_t *buf, size_t len, char *user, char *pass)
{
	size_t	ulen, plen;

	if (len < 1)
		return 0;
	if (buf[0] != S5_RFC1929_VER)
		return -1;
	if (name_bad(buf + 1, len - 1) == -1)
		return -1;
	if (len < 2 || len < 2 + (size_t)buf[1])
		return 0;
	ulen = buf[1];
	if (name_bad(buf + 2 + ulen, len - 2 - ulen) == -1)
		return -1;
	if (len < 3 + ulen || len < 3 + ulen + buf[2 + ulen])
		return 0;
	plen = buf[2 + ulen];
	memcpy(user, buf + 2, ulen);
	user[ulen] = '\0';
	memcpy(pass, buf + 3 + ulen, plen);
	pass[plen] = '\0';
	return (int)(3 + ulen + plen);
}

/*
 * RFC 1928 section 6 codes and the neutral errors map one to one, but
 * for the errors SOCKS5 has no word for: those are "general failure",
 * and a timeout is "host unreachable" as Dante and OpenSSH answer it.
 */
static const uint8_t err_rep[SL_CONN_MAX] = {
	[SL_CONN_OK]		= S5_REP_OK,
	[SL_CONN_FAIL]		= S5_REP_FAIL,
	[SL_CONN_NOT_ALLOWED]	= S5_REP_NOTALLOWED,
	[SL_CONN_NET_UNREACH]	= S5_REP_NETUNREACH,
	[SL_CONN_HOST_UNREACH]	= S5_REP_HOSTUNREACH,
	[SL_CONN_REFUSED]	= S5_REP_REFUSED,
	[SL_CONN_TIMEOUT]	= S5_REP_HOSTUNREACH,
	[SL_CONN_TTL_EXPIRED]	= S5_REP_TTLEXPIRED,
	[SL_CONN_UNSUPPORTED]	= S5_REP_CMDUNSUPP,
	[SL_CONN_ADDR_UNSUPP]	= S5_REP_ATYPUNSUPP,
	[SL_CONN_NO_LINK]	= S5_REP_FAIL,
};

uint8_t
socks5_err_rep(enum sl_conn_err e)
{
	return (unsigned)e < SL_CONN_MAX ? err_rep[e] : S5_REP_FAIL;
}

enum sl_conn_err
socks5_rep_err(uint8_t rep)
{
	switch (rep) {
	case S5_REP_OK:		 return SL_CONN_OK;
	case S5_REP_NOTALLOWED:	 return SL_CONN_NOT_ALLOWED;
	case S5_REP_NETUNREACH:	 return SL_CONN_NET_UNREACH;
	case S5_REP_HOSTUNREACH: return SL_CONN_HOST_UNREACH;
	case S5_REP_REFUSED:	 return SL_CONN_REFUSED;
	case S5_REP_TTLEXPIRED:	 return SL_CONN_TTL_EXPIRED;
	case S5_REP_CMDUNSUPP:	 return SL_CONN_UNSUPPORTED;
	case S5_REP_ATYPUNSUPP:	 return SL_CONN_ADDR_UNSUPP;
	default:		 return SL_CONN_FAIL;
	}
}

/*
 * UDP ASSOCIATE datagrams (RFC 1928 section 7).  The header is the
 * request's with VER CMD RSV replaced by RSV RSV FRAG, so the same
 * address helpers apply at an offset of zero: bytes 0-2 are the caller's
 * to judge (FRAG), byte 3 is ATYP.
 */
int
socks5_parse_udp(const uint8_t *buf, size_t len, uint8_t *frag,
    struct sl_target *t)
{
	ssize_t	need;

	if (len < S5_HDR)
		return -1;
	if ((need = addr_msglen(buf, len)) <= 0)
		return -1;		/* unknown ATYP, or no length byte */
	if (buf[3] == S5_ATYP_DOMAIN && name_bad(buf + S5_HDR,
	    len - S5_HDR) == -1)
		return -1;
	if (len < (size_t)need)
		return -1;
	if (frag != NULL)
		*frag = buf[2];
	if (t != NULL) {
		memset(t, 0, sizeof(*t));
		t->port = get16(buf + need - 2);
		if (buf[3] == S5_ATYP_DOMAIN) {
			memcpy(t->host, buf + S5_HDR + 1, buf[S5_HDR]);
			t->host[buf[S5_HDR]] = '\0';
		} else
			addr_fill(&t->addr, &t->addrlen, buf[3],
			    buf + S5_HDR, buf + need - 2);
	}
	return (int)need;
}

int
socks5_udp_hdrlen(const char *host, const struct sockaddr *sa)
{
	size_t	hlen;

	if (host != NULL) {
		hlen = strnlen(host, 256);
		if (hlen < 1 || hlen > 255)
			return -1;
		return (int)(S5_HDR + 1 + hlen + 2);
	}
	if (sa != NULL && sa->sa_family == AF_INET)
		return S5_HDR + 4 + 2;
	if (sa != NULL && sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_V4MAPPED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr) ?
		    S5_HDR + 4 + 2 : S5_HDR + 16 + 2;
	return -1;
}

int
socks5_build_udp(uint8_t *out, size_t cap, const char *host, uint16_t port,
    const struct sockaddr *sa)
{
	int	need = socks5_udp_hdrlen(host, sa);
	uint8_t	*p = out;

	if (need < 0 || cap < (size_t)need)
		return -1;
	*p++ = 0x00;
	*p++ = 0x00;
	*p++ = 0x00;			/* FRAG: a whole datagram */
	if (host != NULL) {
		*p++ = S5_ATYP_DOMAIN;
		*p++ = (uint8_t)(need - S5_HDR - 1 - 2);
		memcpy(p, host, (size_t)(need - S5_HDR - 1 - 2));
		p += need - S5_HDR - 1 - 2;
		p = put16(p, port);
	} else
		p = put_addr(p, sa, 0, 0);
	return (int)(p - out);
}

int
socks5_build_udp_associate(uint8_t *out, size_t cap,
    const struct sockaddr *sa)
{
	struct sockaddr_in	zero;
	uint16_t		port = 0;
	int			n;

	if (sa == NULL) {
		memset(&zero, 0, sizeof(zero));
		zero.sin_family = AF_INET;
		sa = (const struct sockaddr *)&zero;
	}
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	n = socks5_build_connect(out, cap, NULL, sa, port);
	if (n > 0)
		out[1] = S5_CMD_UDP;
	return n;
}
