/*
 * Unit tests for worker/socks5.c: every parser with valid, incremental
 * and invalid input, the builders' exact bytes, and a seeded random loop.
 *
 * Every parser input is copied into a heap block of exactly its length
 * (xdup) and every builder writes into a heap block of exactly its
 * documented capacity, so an ASan build catches any read or write past
 * the end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/socks5_wire.h"
#include "check_wire.h"

/* Parser adapters so one incremental driver covers them all. */
typedef int (*parse_fn)(const uint8_t *, size_t);

static int
p_greeting(const uint8_t *b, size_t l)
{
	int	none = -1;
	int	rv = socks5_parse_greeting(b, l, &none);

	if (rv <= 0)
		REQUIRE(none == -1);	/* untouched until complete */
	return rv;
}

static int
p_request(const uint8_t *b, size_t l)
{
	struct socks5_request	req;
	uint8_t			rep = 0xee;
	int			rv = socks5_parse_request(b, l, &req, &rep);

	if (rv > 0) {
		REQUIRE(rep == S5_REP_OK);
		if (req.atyp == S5_ATYP_DOMAIN)
			REQUIRE(strlen(req.t.host) >= 1 &&
			    strlen(req.t.host) <= 255 &&
			    strlen(req.t.host) + 7 == (size_t)rv);
	} else if (rv < 0)
		REQUIRE(rep == S5_REP_FAIL || rep == S5_REP_ATYPUNSUPP);
	return rv;
}

static int
p_method(const uint8_t *b, size_t l)
{
	uint8_t	m;

	return socks5_parse_method_reply(b, l, &m);
}

static int
p_upreply(const uint8_t *b, size_t l)
{
	uint8_t	st;

	return socks5_parse_userpass_reply(b, l, &st);
}

static int
p_reply(const uint8_t *b, size_t l)
{
	struct sockaddr_storage	ss;
	uint8_t			rep;

	return socks5_parse_reply(b, l, &rep, &ss);
}

static int
p_userpass(const uint8_t *b, size_t l)
{
	char	user[256], pass[256];
	int	rv = socks5_parse_userpass(b, l, user, pass);

	if (rv > 0)
		REQUIRE(strlen(user) >= 1 && strlen(pass) >= 1 &&
		    strlen(user) + strlen(pass) + 3 == (size_t)rv);
	return rv;
}

static int
run(parse_fn fn, const uint8_t *msg, size_t len)
{
	uint8_t	*b = xdup(msg, len);
	int	 rv = fn(b, len);

	free(b);
	REQUIRE(rv >= -1 && rv <= (int)len);
	return rv;
}

/* Every proper prefix needs more bytes; the whole message parses. */
static void
feed_valid(parse_fn fn, const uint8_t *msg, size_t len)
{
	size_t	k;

	for (k = 0; k < len; k++)
		ck_assert_msg(run(fn, msg, k) == 0, "prefix %zu of %zu", k,
		    len);
	ck_assert_int_eq(run(fn, msg, len), (int)len);
}

/* Prefixes shorter than bad_at need more bytes; from bad_at on, -1. */
static void
feed_invalid(parse_fn fn, const uint8_t *msg, size_t len, size_t bad_at)
{
	size_t	k;

	for (k = 0; k <= len; k++)
		ck_assert_msg(run(fn, msg, k) == (k < bad_at ? 0 : -1),
		    "prefix %zu of %zu (bad at %zu)", k, len, bad_at);
}

/* ------------------------------------------------------------------ */

START_TEST(greeting_valid)
{
	const uint8_t	g1[] = { 5, 1, 0 };
	const uint8_t	g2[] = { 5, 2, 1, 2 };
	const uint8_t	g3[] = { 5, 3, 2, 1, 0, 0xaa, 0xbb };	/* + extra */
	int		none;

	ck_assert_int_eq(socks5_parse_greeting(g1, sizeof(g1), &none), 3);
	ck_assert_int_eq(none, 1);
	ck_assert_int_eq(socks5_parse_greeting(g2, sizeof(g2), &none), 4);
	ck_assert_int_eq(none, 0);
	ck_assert_int_eq(socks5_parse_greeting(g3, sizeof(g3), &none), 5);
	ck_assert_int_eq(none, 1);
	ck_assert_int_eq(socks5_parse_greeting(g1, sizeof(g1), NULL), 3);
	feed_valid(p_greeting, g1, sizeof(g1));
	feed_valid(p_greeting, g2, sizeof(g2));
}
END_TEST

START_TEST(greeting_all_methods)
{
	uint8_t	g[2 + 255];
	int	i, none;

	g[0] = 5;
	g[1] = 255;
	for (i = 0; i < 255; i++)
		g[2 + i] = (uint8_t)(i + 1);	/* 1..255: no "none" */
	feed_valid(p_greeting, g, sizeof(g));
	ck_assert_int_eq(socks5_parse_greeting(g, sizeof(g), &none), 257);
	ck_assert_int_eq(none, 0);
	g[2 + 254] = 0;
	ck_assert_int_eq(socks5_parse_greeting(g, sizeof(g), &none), 257);
	ck_assert_int_eq(none, 1);
}
END_TEST

START_TEST(greeting_invalid)
{
	const uint8_t	v4[] = { 4, 1, 0 };
	const uint8_t	zero[] = { 5, 0 };
	const uint8_t	http[] = "GET / HTTP/1.1\r\n";

	feed_invalid(p_greeting, v4, sizeof(v4), 1);
	feed_invalid(p_greeting, zero, sizeof(zero), 2);
	feed_invalid(p_greeting, http, sizeof(http) - 1, 1);
}
END_TEST

/* ------------------------------------------------------------------ */

static size_t
mk_req(uint8_t *b, uint8_t cmd, uint8_t atyp, const void *a, size_t alen,
    uint16_t port)
{
	size_t	n = 0;

	b[n++] = 5;
	b[n++] = cmd;
	b[n++] = 0;
	b[n++] = atyp;
	if (atyp == S5_ATYP_DOMAIN)
		b[n++] = (uint8_t)alen;
	memcpy(b + n, a, alen);
	n += alen;
	b[n++] = (uint8_t)(port >> 8);
	b[n++] = (uint8_t)port;
	return n;
}

START_TEST(request_ipv4)
{
	const uint8_t		a[] = { 192, 0, 2, 7 };
	uint8_t			b[S5_MAX_MSG], rep;
	struct socks5_request	req;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&req.t.addr;
	size_t			n;

	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_IPV4, a, 4, 8080);
	ck_assert_uint_eq(n, 10);
	feed_valid(p_request, b, n);
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), 10);
	ck_assert_int_eq(rep, S5_REP_OK);
	ck_assert_int_eq(req.cmd, S5_CMD_CONNECT);
	ck_assert_int_eq(req.atyp, S5_ATYP_IPV4);
	ck_assert_int_eq(req.t.port, 8080);
	ck_assert_int_eq(req.t.addrlen, sizeof(struct sockaddr_in));
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 8080);
	ck_assert_int_eq(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	ck_assert_str_eq(req.t.host, "");
}
END_TEST

START_TEST(request_ipv6)
{
	struct in6_addr		a;
	uint8_t			b[S5_MAX_MSG], rep;
	struct socks5_request	req;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&req.t.addr;
	size_t			n;

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &a), 1);
	n = mk_req(b, S5_CMD_UDP, S5_ATYP_IPV6, &a, 16, 443);
	ck_assert_uint_eq(n, 22);
	feed_valid(p_request, b, n);
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), 22);
	ck_assert_int_eq(req.cmd, S5_CMD_UDP);	/* commands not judged */
	ck_assert_int_eq(req.atyp, S5_ATYP_IPV6);
	ck_assert_int_eq(req.t.port, 443);
	ck_assert_int_eq(req.t.addrlen, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 443);
	ck_assert_mem_eq(&sin6->sin6_addr, &a, 16);
}
END_TEST

START_TEST(request_domain)
{
	char			name[256];
	uint8_t			b[S5_MAX_MSG + 8], rep;
	struct socks5_request	req;
	size_t			n, l;

	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, "example.org", 11, 80);
	ck_assert_uint_eq(n, 18);
	feed_valid(p_request, b, n);
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), 18);
	ck_assert_int_eq(req.atyp, S5_ATYP_DOMAIN);
	ck_assert_str_eq(req.t.host, "example.org");
	ck_assert_int_eq(req.t.port, 80);
	ck_assert_int_eq(req.t.addrlen, 0);

	/* 1 and 255 bytes are the limits; the 255 one is S5_MAX_MSG. */
	for (l = 1; l <= 255; l += 254) {
		memset(name, 'a' + (int)(l % 26), l);
		name[l] = '\0';
		n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, name, l, 65535);
		feed_valid(p_request, b, n);
		ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep),
		    (int)n);
		ck_assert_str_eq(req.t.host, name);
		ck_assert_int_eq(req.t.port, 65535);
	}
	ck_assert_uint_eq(n, S5_MAX_MSG);
}
END_TEST

START_TEST(request_rsv_ignored)
{
	const uint8_t		a[] = { 10, 0, 0, 1 };
	uint8_t			b[S5_MAX_MSG], rep;
	struct socks5_request	req;
	size_t			n;

	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_IPV4, a, 4, 1);
	b[2] = 0xff;	/* RSV: accepted whatever it holds */
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), 10);
	ck_assert_int_eq(rep, S5_REP_OK);
	/* Trailing bytes (early data) are not consumed. */
	memcpy(b + n, "GET", 3);
	ck_assert_int_eq(socks5_parse_request(b, n + 3, &req, &rep), 10);
}
END_TEST

START_TEST(request_invalid)
{
	const uint8_t		a[] = { 10, 0, 0, 1 };
	uint8_t			b[S5_MAX_MSG], rep;
	struct socks5_request	req;
	size_t			n;

	/* Bad version: known bad from the first byte. */
	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_IPV4, a, 4, 1);
	b[0] = 4;
	feed_invalid(p_request, b, n, 1);
	rep = 0;
	ck_assert_int_eq(socks5_parse_request(b, 1, &req, &rep), -1);
	ck_assert_int_eq(rep, S5_REP_FAIL);

	/* Unknown ATYPs give "address type not supported". */
	for (int at = 0; at < 256; at++) {
		if (at == 1 || at == 3 || at == 4)
			continue;
		n = mk_req(b, S5_CMD_CONNECT, (uint8_t)at, a, 4, 1);
		feed_invalid(p_request, b, n, 4);
		ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), -1);
		ck_assert_int_eq(rep, S5_REP_ATYPUNSUPP);
	}

	/* Zero-length domain: bad once its length byte is seen. */
	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, "", 0, 80);
	feed_invalid(p_request, b, n, 5);
	rep = 0;
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), -1);
	ck_assert_int_eq(rep, S5_REP_FAIL);

	/* Embedded NUL: bad as soon as the NUL arrives. */
	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, "good\0evil", 9, 80);
	feed_invalid(p_request, b, n, 5 + 4 + 1);
	rep = 0;
	ck_assert_int_eq(socks5_parse_request(b, n, &req, &rep), -1);
	ck_assert_int_eq(rep, S5_REP_FAIL);
	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, "\0", 1, 80);
	feed_invalid(p_request, b, n, 6);
	n = mk_req(b, S5_CMD_CONNECT, S5_ATYP_DOMAIN, "abc\0", 4, 80);
	feed_invalid(p_request, b, n, 9);

	/* A NULL rep pointer is tolerated. */
	ck_assert_int_eq(socks5_parse_request(b, n, &req, NULL), -1);
}
END_TEST

/* ------------------------------------------------------------------ */

static void
sin_make(struct sockaddr_in *sin, const char *a, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin->sin_addr), 1);
}

static void
sin6_make(struct sockaddr_in6 *sin6, const char *a, uint16_t port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
}

/* Build a reply into an exact 22-byte heap block and compare. */
static void
reply_is(uint8_t rep, const struct sockaddr *sa, const uint8_t *want,
    size_t wlen)
{
	uint8_t	*out = malloc(22);
	size_t	 n;

	ck_assert_ptr_nonnull(out);
	n = socks5_build_reply(out, rep, sa);
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(out, want, wlen);
	free(out);
}

START_TEST(build_reply)
{
	const uint8_t		w0[] = { 5, 1, 0, 1, 0, 0, 0, 0, 0, 0 };
	const uint8_t		w4[] = { 5, 0, 0, 1, 203, 0, 113, 9,
				    0x1f, 0x90 };
	const uint8_t		w6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a,
				    0xc3, 0x50 };
	const uint8_t		wm[] = { 5, 0, 0, 1, 10, 1, 2, 3, 0, 22 };
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct sockaddr_un_like { sa_family_t f; char p[20]; } un;

	reply_is(S5_REP_FAIL, NULL, w0, sizeof(w0));
	sin_make(&sin, "203.0.113.9", 8080);
	reply_is(S5_REP_OK, (struct sockaddr *)&sin, w4, sizeof(w4));
	sin6_make(&sin6, "2001:db8::2a", 50000);
	reply_is(S5_REP_OK, (struct sockaddr *)&sin6, w6, sizeof(w6));
	sin6_make(&sin6, "::ffff:10.1.2.3", 22);
	reply_is(S5_REP_OK, (struct sockaddr *)&sin6, wm, sizeof(wm));
	/* An unknown family is reported as 0.0.0.0:0. */
	memset(&un, 0, sizeof(un));
	un.f = AF_UNIX;
	reply_is(S5_REP_FAIL, (struct sockaddr *)&un, w0, sizeof(w0));
}
END_TEST

START_TEST(build_greeting)
{
	const uint8_t	w1[] = { 5, 1, 0 };
	const uint8_t	w2[] = { 5, 2, 0, 2 };
	uint8_t		*out = malloc(4);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(socks5_build_greeting(out, 0), 3);
	ck_assert_mem_eq(out, w1, 3);
	ck_assert_uint_eq(socks5_build_greeting(out, 1), 4);
	ck_assert_mem_eq(out, w2, 4);
	/* Our own greeting parses as a greeting. */
	ck_assert_int_eq(run(p_greeting, out, 4), 4);
	free(out);
}
END_TEST

START_TEST(method_reply)
{
	const uint8_t	ok[] = { 5, 2 };
	const uint8_t	no[] = { 5, 0xff };
	const uint8_t	bad[] = { 1, 0 };
	uint8_t		m = 0;

	feed_valid(p_method, ok, 2);
	ck_assert_int_eq(socks5_parse_method_reply(ok, 2, &m), 2);
	ck_assert_int_eq(m, S5_AUTH_USERPASS);
	ck_assert_int_eq(socks5_parse_method_reply(no, 2, &m), 2);
	ck_assert_int_eq(m, S5_AUTH_NOACCEPT);
	feed_invalid(p_method, bad, 2, 1);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Build with an exact-capacity heap block, then parse it back. */
static void
userpass_roundtrip(const char *user, const char *pass)
{
	size_t	 need = 3 + strlen(user) + strlen(pass);
	uint8_t	*out = malloc(need);
	char	 u[256], p[256];

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(socks5_build_userpass(out, need - 1, user, pass),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, need, user, pass),
	    (int)need);
	ck_assert_int_eq(out[0], 1);
	ck_assert_int_eq(out[1], strlen(user));
	ck_assert_mem_eq(out + 2, user, strlen(user));
	feed_valid(p_userpass, out, need);
	ck_assert_int_eq(socks5_parse_userpass(out, need, u, p), (int)need);
	ck_assert_str_eq(u, user);
	ck_assert_str_eq(p, pass);
	free(out);
}

START_TEST(userpass_ok)
{
	char	l255[256], l256[257];
	uint8_t	out[S5_MAX_AUTH + 8];

	memset(l255, 'u', 255);
	l255[255] = '\0';
	memset(l256, 'v', 256);
	l256[256] = '\0';
	userpass_roundtrip("a", "b");
	userpass_roundtrip("alice", "s3cr3t with spaces");
	userpass_roundtrip(l255, "p");
	userpass_roundtrip("u", l255);
	userpass_roundtrip(l255, l255);	/* S5_MAX_AUTH bytes */
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), l255,
	    l255), S5_MAX_AUTH);

	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), l256, "p"),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), "u", l256),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), "", "p"),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), "u", ""),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), NULL, "p"),
	    -1);
	ck_assert_int_eq(socks5_build_userpass(out, sizeof(out), "u", NULL),
	    -1);
}
END_TEST

START_TEST(userpass_invalid)
{
	const uint8_t	v5[] = { 5, 1, 'u', 1, 'p' };
	const uint8_t	u0[] = { 1, 0, 1, 'p' };
	const uint8_t	p0[] = { 1, 1, 'u', 0 };
	const uint8_t	unul[] = { 1, 3, 'a', 0, 'b', 1, 'p' };
	const uint8_t	pnul[] = { 1, 1, 'u', 3, 'x', 'y', 0 };

	feed_invalid(p_userpass, v5, sizeof(v5), 1);
	feed_invalid(p_userpass, u0, sizeof(u0), 2);
	feed_invalid(p_userpass, p0, sizeof(p0), 4);
	feed_invalid(p_userpass, unul, sizeof(unul), 4);
	feed_invalid(p_userpass, pnul, sizeof(pnul), 7);
}
END_TEST

START_TEST(userpass_reply)
{
	const uint8_t	ok[] = { 1, 0 };
	const uint8_t	no[] = { 1, 1 };
	const uint8_t	v5[] = { 5, 0 };
	uint8_t		st = 0xee;

	feed_valid(p_upreply, ok, 2);
	ck_assert_int_eq(socks5_parse_userpass_reply(ok, 2, &st), 2);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(socks5_parse_userpass_reply(no, 2, &st), 2);
	ck_assert_int_eq(st, 1);
	feed_invalid(p_upreply, v5, 2, 1);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Build a CONNECT into an exact-size block; it must parse as a request. */
static void
connect_is(const char *host, const struct sockaddr *sa, uint16_t port,
    const uint8_t *want, size_t wlen)
{
	uint8_t			*out = malloc(wlen), rep;
	struct socks5_request	 req;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(socks5_build_connect(out, wlen - 1, host, sa, port),
	    -1);
	ck_assert_int_eq(socks5_build_connect(out, wlen, host, sa, port),
	    (int)wlen);
	ck_assert_mem_eq(out, want, wlen);
	ck_assert_int_eq(socks5_parse_request(out, wlen, &req, &rep),
	    (int)wlen);
	ck_assert_int_eq(req.cmd, S5_CMD_CONNECT);
	ck_assert_int_eq(req.t.port, port);
	if (host != NULL)
		ck_assert_str_eq(req.t.host, host);
	free(out);
}

START_TEST(build_connect)
{
	const uint8_t		wd[] = { 5, 1, 0, 3, 5, 'h', '.', 'e', 'x',
				    'y', 0x01, 0xbb };
	const uint8_t		w4[] = { 5, 1, 0, 1, 198, 51, 100, 1, 0, 80 };
	const uint8_t		w6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				    0x12, 0x34 };
	const uint8_t		wm[] = { 5, 1, 0, 1, 192, 0, 2, 1, 0, 25 };
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	uint8_t			w255[7 + 255], out[300];
	char			h[257];

	connect_is("h.exy", NULL, 443, wd, sizeof(wd));
	/* The port argument wins over the one in sa. */
	sin_make(&sin, "198.51.100.1", 9999);
	connect_is(NULL, (struct sockaddr *)&sin, 80, w4, sizeof(w4));
	sin6_make(&sin6, "2001:db8::1", 1);
	connect_is(NULL, (struct sockaddr *)&sin6, 0x1234, w6, sizeof(w6));
	sin6_make(&sin6, "::ffff:192.0.2.1", 1);
	connect_is(NULL, (struct sockaddr *)&sin6, 25, wm, sizeof(wm));
	/* A name wins over sa. */
	connect_is("h.exy", (struct sockaddr *)&sin, 443, wd, sizeof(wd));

	memset(h, 'x', 256);
	h[255] = '\0';
	memcpy(w255, "\x05\x01\x00\x03\xff", 5);
	memset(w255 + 5, 'x', 255);
	w255[260] = 0;
	w255[261] = 7;
	connect_is(h, NULL, 7, w255, sizeof(w255));
	h[255] = 'x';
	h[256] = '\0';
	ck_assert_int_eq(socks5_build_connect(out, sizeof(out), h, NULL, 7),
	    -1);
	ck_assert_int_eq(socks5_build_connect(out, sizeof(out), "", NULL, 7),
	    -1);
	ck_assert_int_eq(socks5_build_connect(out, sizeof(out), NULL, NULL,
	    7), -1);
	sin.sin_family = AF_UNIX;
	ck_assert_int_eq(socks5_build_connect(out, sizeof(out), NULL,
	    (struct sockaddr *)&sin, 7), -1);
}
END_TEST

START_TEST(reply_parse)
{
	uint8_t			 b[S5_MAX_MSG + 4], rep;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin, *psin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	 sin6, *psin6 = (struct sockaddr_in6 *)&ss;
	size_t			 n;

	sin_make(&sin, "192.0.2.77", 1080);
	n = socks5_build_reply(b, S5_REP_REFUSED, (struct sockaddr *)&sin);
	feed_valid(p_reply, b, n);
	ck_assert_int_eq(socks5_parse_reply(b, n, &rep, &ss), 10);
	ck_assert_int_eq(rep, S5_REP_REFUSED);
	ck_assert_int_eq(psin->sin_family, AF_INET);
	ck_assert_int_eq(psin->sin_port, sin.sin_port);
	ck_assert_int_eq(psin->sin_addr.s_addr, sin.sin_addr.s_addr);

	sin6_make(&sin6, "2001:db8::99", 65000);
	n = socks5_build_reply(b, S5_REP_OK, (struct sockaddr *)&sin6);
	feed_valid(p_reply, b, n);
	ck_assert_int_eq(socks5_parse_reply(b, n, &rep, &ss), 22);
	ck_assert_int_eq(rep, S5_REP_OK);
	ck_assert_int_eq(psin6->sin6_family, AF_INET6);
	ck_assert_int_eq(psin6->sin6_port, sin6.sin6_port);
	ck_assert_mem_eq(&psin6->sin6_addr, &sin6.sin6_addr, 16);
	ck_assert_int_eq(socks5_parse_reply(b, n, NULL, NULL), 22);

	/* A domain BND.ADDR is skipped and bound left zeroed. */
	n = mk_req(b, S5_REP_OK, S5_ATYP_DOMAIN, "proxy.example", 13, 1080);
	feed_valid(p_reply, b, n);
	memset(&ss, 0xa5, sizeof(ss));
	ck_assert_int_eq(socks5_parse_reply(b, n, &rep, &ss), (int)n);
	ck_assert_int_eq(ss.ss_family, AF_UNSPEC);
	ck_assert_int_eq(psin->sin_port, 0);
}
END_TEST

START_TEST(reply_invalid)
{
	uint8_t		b[S5_MAX_MSG];
	const uint8_t	a[] = { 1, 2, 3, 4 };
	size_t		n;

	n = mk_req(b, 0, S5_ATYP_IPV4, a, 4, 1);
	b[0] = 4;
	feed_invalid(p_reply, b, n, 1);
	n = mk_req(b, 0, 0x02, a, 4, 1);
	feed_invalid(p_reply, b, n, 4);
	n = mk_req(b, 0, S5_ATYP_DOMAIN, "", 0, 1);
	feed_invalid(p_reply, b, n, 5);
	n = mk_req(b, 0, S5_ATYP_DOMAIN, "a\0b", 3, 1);
	feed_invalid(p_reply, b, n, 7);
}
END_TEST

/* ------------------------------------------------------------------ */

static uint64_t	rng_state;

static uint64_t
rng(void)
{
	uint64_t	x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static const parse_fn	all_parsers[] = {
	p_greeting, p_request, p_method, p_upreply, p_reply, p_userpass,
};

/*
 * Random buffers of random lengths, biased towards plausible headers so
 * the deeper paths are reached.  Every call must stay inside the exact
 * heap block (ASan) and return -1, 0 or at most len.
 */
START_TEST(fuzz)
{
	uint8_t	buf[600], *b;
	size_t	len, i, j;
	int	rv;
	long	nok[6] = { 0 }, nbad[6] = { 0 }, nmore[6] = { 0 };

	rng_state = 0x5eed5eed12345678ULL;
	for (i = 0; i < 100000; i++) {
		len = rng() % sizeof(buf);
		if (rng() % 4 == 0)
			len %= 24;
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rng();
		if (len > 0 && rng() % 2)
			buf[0] = rng() % 2 ? 5 : 1;
		if (len > 3 && rng() % 2)
			buf[3] = (uint8_t)(1 + rng() % 4);
		if (len > 4 && rng() % 2)
			buf[4] = (uint8_t)(rng() % 32);
		if (len > 1 && rng() % 3 == 0)
			buf[1] = (uint8_t)(rng() % 16);
		b = xdup(buf, len);
		for (j = 0; j < sizeof(all_parsers) / sizeof(all_parsers[0]);
		    j++) {
			rv = all_parsers[j](b, len);
			REQUIRE(rv >= -1 && rv <= (int)len);
			REQUIRE(rv != 0 || len < S5_MAX_AUTH);
			if (rv > 0)
				nok[j]++;
			else if (rv < 0)
				nbad[j]++;
			else
				nmore[j]++;
		}
		free(b);
	}
	/* Every outcome of every parser was reached. */
	ck_assert_uint_eq(sizeof(all_parsers) / sizeof(all_parsers[0]), 6);
	for (j = 0; j < 6; j++) {
		ck_assert_msg(nok[j] > 100 && nbad[j] > 100 && nmore[j] > 100,
		    "parser %zu: %ld ok, %ld bad, %ld more", j, nok[j],
		    nbad[j], nmore[j]);
	}
}
END_TEST

static Suite *
socks5_suite(void)
{
	Suite	*s = suite_create("socks5");
	TCase	*tc = tcase_create("server");

	tcase_add_test(tc, greeting_valid);
	tcase_add_test(tc, greeting_all_methods);
	tcase_add_test(tc, greeting_invalid);
	tcase_add_test(tc, request_ipv4);
	tcase_add_test(tc, request_ipv6);
	tcase_add_test(tc, request_domain);
	tcase_add_test(tc, request_rsv_ignored);
	tcase_add_test(tc, request_invalid);
	tcase_add_test(tc, build_reply);
	tcase_add_test(tc, userpass_ok);
	tcase_add_test(tc, userpass_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_test(tc, build_greeting);
	tcase_add_test(tc, method_reply);
	tcase_add_test(tc, userpass_reply);
	tcase_add_test(tc, build_connect);
	tcase_add_test(tc, reply_parse);
	tcase_add_test(tc, reply_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(socks5_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
