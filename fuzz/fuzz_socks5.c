/*
 * libFuzzer harness for every SOCKS5 parser in worker/proto/socks5_wire.h:
 * the client's greeting, request and RFC 1929 request (server side) and
 * an upstream's method reply, RFC 1929 reply and CONNECT reply (client
 * side), and the UDP ASSOCIATE datagram header (both sides).  The first
 * input byte picks the parser, the rest is the wire.
 *
 * Each parser sees every prefix of the input the session could hand it
 * while a message arrives, copied so that it ends exactly where the
 * heap allocation ends: a read past the bytes that have arrived is an
 * ASan report, not a silent look at the next prefix's byte.  Checked:
 * the result is -1, 0 or a length within the prefix; once decided, more
 * bytes never change it; no message is still "incomplete" once the
 * largest legal one would have arrived; and whatever parses, built back
 * by the matching builder, parses to the same thing.  A UDP datagram is
 * always whole, so its parser sees only the whole input, in an exact
 * copy, and must never answer "more".
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/socks5_wire.h"

/* Past the largest message (S5_MAX_AUTH) every verdict is final. */
#define PREFIX_MAX	(S5_MAX_AUTH + 8)

enum which {
	P_GREETING = 0,
	P_REQUEST,
	P_USERPASS,
	P_METHOD_REPLY,
	P_USERPASS_REPLY,
	P_REPLY,
	P_UDP,
	P_MAX
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	check_request(const uint8_t *, int,
		    const struct socks5_request *);
static void	check_userpass(const uint8_t *, int, const char *,
		    const char *);
static void	check_reply(const uint8_t *, int, uint8_t,
		    const struct sockaddr_storage *);
static int	parse_one(enum which, const uint8_t *, size_t, int);
static void	fuzz_udp(const uint8_t *, size_t);

/* The largest message each parser may wait for. */
static size_t
max_msg(enum which w)
{
	switch (w) {
	case P_GREETING:
		return 2 + 255;
	case P_REQUEST:
	case P_REPLY:
		return S5_MAX_MSG;
	case P_USERPASS:
		return S5_MAX_AUTH;
	default:
		return 2;
	}
}

/* A parsed request built back as our CONNECT must parse the same. */
static void
check_request(const uint8_t *buf, int rv, const struct socks5_request *req)
{
	struct socks5_request	 again;
	uint8_t			 out[S5_MAX_MSG], rep;
	const struct sockaddr	*sa = (const struct sockaddr *)&req->t.addr;
	int			 n;

	if (req->atyp == S5_ATYP_DOMAIN) {
		if (req->t.host[0] == '\0' ||
		    strlen(req->t.host) != buf[4] ||
		    memcmp(req->t.host, buf + 5, buf[4]) != 0)
			abort();
		n = socks5_build_connect(out, sizeof(out), req->t.host,
		    NULL, req->t.port);
	} else {
		if (req->t.host[0] != '\0' ||
		    (req->atyp != S5_ATYP_IPV4 && req->atyp != S5_ATYP_IPV6))
			abort();
		n = socks5_build_connect(out, sizeof(out), NULL, sa,
		    req->t.port);
	}
	if (n <= 0 || n > (int)sizeof(out))
		abort();
	if (socks5_parse_request(out, (size_t)n, &again, &rep) != n ||
	    rep != S5_REP_OK || again.t.port != req->t.port ||
	    strcmp(again.t.host, req->t.host) != 0)
		abort();
	/* A v4-mapped v6 address goes out as IPv4: skip the byte compare. */
	if (req->atyp == S5_ATYP_IPV6 && IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr))
		return;
	if (n != rv || memcmp(out + 3, buf + 3, (size_t)n - 3) != 0)
		abort();
}

/* user and pass built back into an RFC 1929 request give the same bytes. */
static void
check_userpass(const uint8_t *buf, int rv, const char *user,
    const char *pass)
{
	uint8_t	out[S5_MAX_AUTH];
	int	n;

	n = socks5_build_userpass(out, sizeof(out), user, pass);
	if (n != rv || memcmp(out, buf, (size_t)n) != 0)
		abort();
}

/*
 * An address reply built back by socks5_build_reply parses the same; a
 * v4-mapped IPv6 address goes out in its IPv4 form.
 */
static void
check_reply(const uint8_t *buf, int rv, uint8_t rep,
    const struct sockaddr_storage *bound)
{
	const struct sockaddr_in6	*sin6;
	struct sockaddr_storage		 again;
	uint8_t				 out[32], rep2 = 0;
	size_t				 n;

	if (buf[3] == S5_ATYP_DOMAIN) {
		if (bound->ss_family != AF_UNSPEC)
			abort();
		return;
	}
	n = socks5_build_reply(out, rep, (const struct sockaddr *)bound);
	if (n > 22 || socks5_parse_reply(out, n, &rep2, &again) != (int)n ||
	    rep2 != rep)
		abort();
	sin6 = (const struct sockaddr_in6 *)bound;
	if (bound->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	if (again.ss_family != bound->ss_family || (int)n != rv ||
	    memcmp(out + 3, buf + 3, n - 3) != 0)
		abort();
}

/*
 * Run parser w over len bytes at buf; `full` is set for the last prefix
 * only, where the round trips are checked (once per input is enough).
 */
static int
parse_one(enum which w, const uint8_t *buf, size_t len, int full)
{
	struct socks5_request	req;
	struct sockaddr_storage	bound;
	char			user[SL_MAX_NAME + 1], pass[SL_MAX_NAME + 1];
	uint8_t			v = 0xee;
	int			rv, none = -1;

	switch (w) {
	case P_GREETING:
		rv = socks5_parse_greeting(buf, len, &none);
		if (rv > 0 && none != (memchr(buf + 2, S5_AUTH_NONE,
		    (size_t)rv - 2) != NULL))
			abort();
		break;
	case P_REQUEST:
		rv = socks5_parse_request(buf, len, &req, &v);
		if ((rv > 0) != (v == S5_REP_OK))
			abort();
		if (rv > 0 && full)
			check_request(buf, rv, &req);
		break;
	case P_USERPASS:
		rv = socks5_parse_userpass(buf, len, user, pass);
		if (rv > 0 && full)
			check_userpass(buf, rv, user, pass);
		break;
	case P_METHOD_REPLY:
		rv = socks5_parse_method_reply(buf, len, &v);
		if (rv > 0 && v != buf[1])
			abort();
		break;
	case P_USERPASS_REPLY:
		rv = socks5_parse_userpass_reply(buf, len, &v);
		if (rv > 0 && v != buf[1])
			abort();
		break;
	default:
		rv = socks5_parse_reply(buf, len, &v, &bound);
		if (rv > 0 && full)
			check_reply(buf, rv, v, &bound);
		break;
	}
	if (rv < -1 || rv > (int)len || (rv > 0 && (size_t)rv > max_msg(w)))
		abort();
	if (rv == 0 && len >= max_msg(w))
		abort();
	return rv;
}

/* A datagram header built back by socks5_build_udp parses the same. */
static void
fuzz_udp(const uint8_t *data, size_t n)
{
	const struct sockaddr_in6	*sin6;
	struct sl_target		 t, again;
	uint8_t				*buf, out[S5_UDP_HDR_MAX];
	uint8_t				 frag = 0xee, frag2 = 0xee;
	int				 rv, len;

	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(buf, data, n);
	rv = socks5_parse_udp(buf, n, &frag, &t);
	if (rv == 0 || rv < -1 || rv > (int)n || rv > S5_UDP_HDR_MAX)
		abort();
	if (rv == -1) {
		free(buf);
		return;
	}
	if (frag != buf[2])
		abort();
	if (buf[3] == S5_ATYP_DOMAIN) {
		if (t.host[0] == '\0' || strlen(t.host) != buf[4])
			abort();
		len = socks5_build_udp(out, sizeof(out), t.host, t.port, NULL);
	} else {
		if (t.host[0] != '\0')
			abort();
		len = socks5_build_udp(out, sizeof(out), NULL, 0,
		    (const struct sockaddr *)&t.addr);
	}
	if (len <= 0 || socks5_parse_udp(out, (size_t)len, &frag2,
	    &again) != len || frag2 != 0 || again.port != t.port ||
	    strcmp(again.host, t.host) != 0)
		abort();
	sin6 = (const struct sockaddr_in6 *)&t.addr;
	if (!(buf[3] == S5_ATYP_IPV6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) &&
	    (len != rv || memcmp(out + 3, buf + 3, (size_t)len - 3) != 0))
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum which	 w;
	uint8_t		*buf, *p;
	size_t		 n, k, last_k;
	int		 rv, last = 0;

	if (size < 1)
		return 0;
	w = (enum which)(data[0] % P_MAX);
	data++;
	n = size - 1;
	if (w == P_UDP) {
		fuzz_udp(data, n);
		return 0;
	}
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	last_k = n < PREFIX_MAX ? n : PREFIX_MAX;
	for (k = 0; k <= last_k; k++) {
		/* The prefix ends where the allocation does. */
		p = buf + n - k;
		memcpy(p, data, k);
		rv = parse_one(w, p, k, k == n);
		if (last != 0 && rv != last)
			abort();
		last = rv;
	}
	if (last_k < n) {
		memcpy(buf, data, n);
		if (parse_one(w, buf, n, 1) != last)
			abort();
	}
	free(buf);
	return 0;
}
