/*
 * Unit tests for worker/proto/socks4_wire.c: the request parser with
 * valid, incremental and invalid input (every field), the reply builder's
 * exact bytes, and a seeded random loop.
 *
 * Every parser input is copied into a heap block of exactly its length
 * (xdup), and the reply is built into a heap block of exactly
 * S4_REPLY_LEN bytes, so an ASan build catches any access past the end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/socks4_wire.h"
#include "check_wire.h"

/*
 * Parse an exact copy of msg[0..len); req must be left alone unless the
 * request parsed, and a parsed request's strings must fit its length.
 */
static int
run(const uint8_t *msg, size_t len, struct socks4_request *out)
{
	struct socks4_request	req, blank;
	uint8_t			*b = xdup(msg, len);
	int			 rv;

	memset(&req, 0xa5, sizeof(req));
	memset(&blank, 0xa5, sizeof(blank));
	rv = socks4_parse_request(b, len, &req);
	free(b);
	REQUIRE(rv >= -1 && rv <= (int)len && rv <= S4_MAX_MSG);
	if (rv <= 0)
		REQUIRE(memcmp(&req, &blank, sizeof(req)) == 0);
	else {
		REQUIRE(rv >= S4_HDR + 1);
		REQUIRE(req.t.proto == SL_L4_TCP);
		if (req.is4a)
			REQUIRE(strlen(req.t.host) >= 1 &&
			    strlen(req.t.host) <= S4_MAX_HOST &&
			    req.t.addrlen == 0);
		else
			REQUIRE(req.t.host[0] == '\0' &&
			    req.t.addrlen == sizeof(struct sockaddr_in));
	}
	if (out != NULL)
		*out = req;
	return rv;
}

/* Every proper prefix needs more bytes; the whole request parses. */
static void
feed_valid(const uint8_t *msg, size_t len, struct socks4_request *req)
{
	size_t	k;

	for (k = 0; k < len; k++)
		ck_assert_msg(run(msg, k, NULL) == 0, "prefix %zu of %zu", k,
		    len);
	ck_assert_int_eq(run(msg, len, req), (int)len);
}

/* Prefixes shorter than bad_at need more bytes; from bad_at on, -1. */
static void
feed_invalid(const uint8_t *msg, size_t len, size_t bad_at)
{
	size_t	k;

	for (k = 0; k <= len; k++)
		ck_assert_msg(run(msg, k, NULL) == (k < bad_at ? 0 : -1),
		    "prefix %zu of %zu (bad at %zu)", k, len, bad_at);
}

/*
 * Build a request into buf: header, userid (ulen bytes of 'u'), NUL, and
 * when host is not NULL, hlen bytes of host (repeated) and a NUL.
 */
static size_t
mkreq(uint8_t *buf, uint8_t cd, uint16_t port, const uint8_t ip[4],
    size_t ulen, const char *host, size_t hlen)
{
	size_t	n = 0, i;

	buf[n++] = S4_VERSION;
	buf[n++] = cd;
	buf[n++] = (uint8_t)(port >> 8);
	buf[n++] = (uint8_t)port;
	memcpy(buf + n, ip, 4);
	n += 4;
	memset(buf + n, 'u', ulen);
	n += ulen;
	buf[n++] = 0;
	if (host != NULL) {
		for (i = 0; i < hlen; i++)
			buf[n++] = (uint8_t)host[i % strlen(host)];
		buf[n++] = 0;
	}
	return n;
}

static const uint8_t	ip_lo[4] = { 127, 0, 0, 1 };
static const uint8_t	ip_4a[4] = { 0, 0, 0, 1 };

/* ------------------------------------------------------------------ */

START_TEST(request_ipv4)
{
	const uint8_t		 m[] = { 4, 1, 0x1f, 0x90, 192, 0, 2, 7,
	    'b', 'o', 'b', 0 };
	struct socks4_request	 req;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&req.t.addr;
	char			 a[INET_ADDRSTRLEN];

	feed_valid(m, sizeof(m), &req);
	ck_assert_uint_eq(req.cmd, S4_CMD_CONNECT);
	ck_assert_int_eq(req.is4a, 0);
	ck_assert_str_eq(req.t.host, "");
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
	ck_assert_uint_eq(req.t.port, 8080);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
	    "192.0.2.7");
}
END_TEST

START_TEST(request_empty_userid)
{
	uint8_t			buf[S4_MAX_MSG];
	struct socks4_request	req;
	size_t			n = mkreq(buf, 1, 1, ip_lo, 0, NULL, 0);

	ck_assert_uint_eq(n, 9);
	feed_valid(buf, n, &req);
	ck_assert_uint_eq(req.t.port, 1);
}
END_TEST

START_TEST(request_userid_255)
{
	uint8_t			buf[S4_MAX_MSG];
	struct socks4_request	req;
	size_t			n = mkreq(buf, 1, 65535, ip_lo, 255, NULL, 0);

	feed_valid(buf, n, &req);
	ck_assert_uint_eq(req.t.port, 65535);
}
END_TEST

START_TEST(request_4a)
{
	const uint8_t		m[] = { 4, 1, 0x01, 0xbb, 0, 0, 0, 42,
	    'u', 0, 'E', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0 };
	struct socks4_request	req;

	feed_valid(m, sizeof(m), &req);
	ck_assert_int_eq(req.is4a, 1);
	ck_assert_uint_eq(req.cmd, S4_CMD_CONNECT);
	ck_assert_str_eq(req.t.host, "Example.org");	/* as given */
	ck_assert_uint_eq(req.t.port, 443);
	ck_assert_uint_eq(req.t.addrlen, 0);
}
END_TEST

/* The largest request: 255-byte userid and 255-byte host. */
START_TEST(request_4a_max)
{
	uint8_t			buf[S4_MAX_MSG];
	struct socks4_request	req;
	size_t			n;

	ck_assert_uint_eq(S4_MAX_MSG, 520);
	n = mkreq(buf, 1, 80, (const uint8_t[]){ 0, 0, 0, 255 }, 255,
	    "abc.", 255);
	ck_assert_uint_eq(n, S4_MAX_MSG);
	feed_valid(buf, n, &req);
	ck_assert_uint_eq(strlen(req.t.host), 255);
	/* One-byte host, empty userid. */
	n = mkreq(buf, 1, 80, ip_4a, 0, "x", 1);
	feed_valid(buf, n, &req);
	ck_assert_str_eq(req.t.host, "x");
}
END_TEST

/* The command byte is passed on whatever it is: the front-end decides. */
START_TEST(request_commands)
{
	uint8_t			buf[S4_MAX_MSG];
	struct socks4_request	req;
	size_t			n;
	unsigned		cd;

	for (cd = 0; cd < 256; cd += 17) {
		n = mkreq(buf, (uint8_t)cd, 21, ip_lo, 3, NULL, 0);
		ck_assert_int_eq(run(buf, n, &req), (int)n);
		ck_assert_uint_eq(req.cmd, cd);
	}
	n = mkreq(buf, S4_CMD_BIND, 21, ip_4a, 3, "h", 1);
	ck_assert_int_eq(run(buf, n, &req), (int)n);
	ck_assert_uint_eq(req.cmd, S4_CMD_BIND);
}
END_TEST

/* Bytes after the request are the client's data, not the parser's. */
START_TEST(request_trailing)
{
	uint8_t			buf[S4_MAX_MSG + 16];
	struct socks4_request	req;
	size_t			n = mkreq(buf, 1, 80, ip_lo, 2, NULL, 0);

	memcpy(buf + n, "GET / HTTP/1.0\r\n", 16);
	ck_assert_int_eq(run(buf, n + 16, &req), (int)n);
	n = mkreq(buf, 1, 80, ip_4a, 2, "host", 4);
	memcpy(buf + n, "\0\0\0\0", 4);
	ck_assert_int_eq(run(buf, n + 4, &req), (int)n);
	ck_assert_str_eq(req.t.host, "host");
}
END_TEST

START_TEST(invalid_version)
{
	const uint8_t	v5[] = { 5, 1, 0, 80, 127, 0, 0, 1, 0 };
	const uint8_t	v0[] = { 0, 1, 0, 80, 127, 0, 0, 1, 0 };
	const uint8_t	vh[] = { 'G', 'E', 'T', ' ', '/', ' ', 'H', 0, 0 };

	feed_invalid(v5, sizeof(v5), 1);
	feed_invalid(v0, sizeof(v0), 1);
	feed_invalid(vh, sizeof(vh), 1);
}
END_TEST

/* DSTIP 0.0.0.0: known bad once the fourth address byte arrives. */
START_TEST(invalid_dstip_zero)
{
	uint8_t	buf[S4_MAX_MSG];
	size_t	n = mkreq(buf, 1, 80, (const uint8_t[]){ 0, 0, 0, 0 }, 3,
	    "host", 4);

	feed_invalid(buf, n, S4_HDR);
}
END_TEST

/* A userid that reaches 256 bytes without its NUL. */
START_TEST(invalid_userid_256)
{
	uint8_t	buf[S4_MAX_MSG + 8];
	size_t	n = mkreq(buf, 1, 80, ip_lo, 256, NULL, 0);

	ck_assert_uint_eq(n, S4_HDR + 256 + 1);
	feed_invalid(buf, n, S4_HDR + 256);
	n = mkreq(buf, 1, 80, ip_4a, 300, NULL, 0);
	feed_invalid(buf, n, S4_HDR + 256);
}
END_TEST

/* No NUL yet: a request of up to 255 userid bytes only needs more. */
START_TEST(missing_nul)
{
	uint8_t	buf[S4_MAX_MSG];
	size_t	n = mkreq(buf, 1, 80, ip_lo, 255, NULL, 0);
	size_t	k;

	for (k = 0; k < n; k++)
		ck_assert_int_eq(run(buf, k, NULL), 0);
	/* 4a: the userid ended, the host has no NUL yet. */
	n = mkreq(buf, 1, 80, ip_4a, 0, "h.example", 255);
	for (k = 0; k < n; k++)
		ck_assert_int_eq(run(buf, k, NULL), 0);
	ck_assert_int_eq(run(buf, n, NULL), (int)n);
}
END_TEST

START_TEST(invalid_4a_host_empty)
{
	uint8_t	buf[S4_MAX_MSG];
	size_t	n = mkreq(buf, 1, 80, ip_4a, 5, "", 0);

	/* Header, 5-byte userid and NUL: the next byte ends the host. */
	ck_assert_uint_eq(n, S4_HDR + 5 + 1 + 1);
	feed_invalid(buf, n, n);
}
END_TEST

START_TEST(invalid_4a_host_256)
{
	uint8_t	buf[S4_MAX_MSG + 8];
	size_t	n = mkreq(buf, 1, 80, ip_4a, 7, "abcdefgh", 256);
	size_t	hoff = S4_HDR + 7 + 1;

	feed_invalid(buf, n, hoff + 256);
	/* With the largest userid too: still rejected, never past 520. */
	n = mkreq(buf, 1, 80, ip_4a, 255, "abcdefgh", 256);
	feed_invalid(buf, n, S4_HDR + 255 + 1 + 256);
}
END_TEST

/* 0x04 then bytes without a NUL: rejected at the userid bound. */
START_TEST(invalid_nul_free_garbage)
{
	uint8_t	buf[600];
	size_t	i;

	buf[0] = S4_VERSION;
	for (i = 1; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(1 + (i * 7919) % 255);
	feed_invalid(buf, sizeof(buf), S4_HDR + 256);
}
END_TEST

START_TEST(reply_granted_ipv4)
{
	struct sockaddr_in	 sin;
	uint8_t			*out = malloc(S4_REPLY_LEN);
	const uint8_t		 want[] = { 0, 0x5a, 0x30, 0x39, 10, 1, 2, 3 };

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(12345);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	ck_assert_uint_eq(socks4_build_reply(out, S4_REP_GRANTED,
	    (struct sockaddr *)&sin), S4_REPLY_LEN);
	ck_assert_mem_eq(out, want, sizeof(want));
	free(out);
}
END_TEST

START_TEST(reply_zeros)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	uint8_t			*out = malloc(S4_REPLY_LEN);
	const uint8_t		 ok0[] = { 0, 0x5a, 0, 0, 0, 0, 0, 0 };
	const uint8_t		 rej[] = { 0, 0x5b, 0, 0, 0, 0, 0, 0 };

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	/* An IPv6 bound address does not fit: zeros. */
	socks4_build_reply(out, S4_REP_GRANTED, (struct sockaddr *)&sin6);
	ck_assert_mem_eq(out, ok0, 8);
	socks4_build_reply(out, S4_REP_GRANTED, NULL);
	ck_assert_mem_eq(out, ok0, 8);
	/* A rejection never carries an address. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	memset(out, 0xff, S4_REPLY_LEN);
	socks4_build_reply(out, S4_REP_REJECTED, (struct sockaddr *)&sin);
	ck_assert_mem_eq(out, rej, 8);
	socks4_build_reply(out, S4_REP_REJECTED, NULL);
	ck_assert_mem_eq(out, rej, 8);
	free(out);
}
END_TEST

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

/*
 * Random buffers of random lengths, biased towards plausible requests
 * (version 4, few NULs, the 4a marker) so every path is reached.  Every
 * call must stay inside the exact heap block (ASan), return -1, 0 or at
 * most len, and never ask for more once S4_MAX_MSG bytes are in.
 */
START_TEST(fuzz)
{
	uint8_t	buf[700];
	size_t	len, j;
	long	i, nok = 0, nbad = 0, nmore = 0, n4a = 0;
	int	rv;
	struct socks4_request req;

	rng_state = 0x50c4500c4a123457ULL;
	for (i = 0; i < 200000; i++) {
		len = rng() % sizeof(buf);
		if (rng() % 4 == 0)
			len %= 32;
		for (j = 0; j < len; j++)
			buf[j] = rng() % 3 ? (uint8_t)(1 + rng() % 255) : 0;
		if (rng() % 8 == 0)	/* rare NULs: long strings */
			for (j = S4_HDR; j < len; j++)
				if (buf[j] == 0 && rng() % 16)
					buf[j] = 'a';
		if (len > 0 && rng() % 8)
			buf[0] = S4_VERSION;
		if (len > 7 && rng() % 2) {
			buf[4] = buf[5] = buf[6] = 0;
			if (rng() % 8)
				buf[7] = (uint8_t)(rng() % 4);
		}
		rv = run(buf, len, &req);
		REQUIRE(rv != 0 || len < S4_MAX_MSG);
		if (rv > 0) {
			nok++;
			n4a += req.is4a;
		} else if (rv < 0)
			nbad++;
		else
			nmore++;
	}
	ck_assert_msg(nok > 1000 && nbad > 1000 && nmore > 1000 && n4a > 100,
	    "%ld ok (%ld 4a), %ld bad, %ld more", nok, n4a, nbad, nmore);
}
END_TEST

static Suite *
socks4_suite(void)
{
	Suite	*s = suite_create("socks4");
	TCase	*tc = tcase_create("request");

	tcase_add_test(tc, request_ipv4);
	tcase_add_test(tc, request_empty_userid);
	tcase_add_test(tc, request_userid_255);
	tcase_add_test(tc, request_4a);
	tcase_add_test(tc, request_4a_max);
	tcase_add_test(tc, request_commands);
	tcase_add_test(tc, request_trailing);
	tcase_add_test(tc, invalid_version);
	tcase_add_test(tc, invalid_dstip_zero);
	tcase_add_test(tc, invalid_userid_256);
	tcase_add_test(tc, missing_nul);
	tcase_add_test(tc, invalid_4a_host_empty);
	tcase_add_test(tc, invalid_4a_host_256);
	tcase_add_test(tc, invalid_nul_free_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, reply_granted_ipv4);
	tcase_add_test(tc, reply_zeros);
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
	SRunner	*sr = srunner_create(socks4_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
