/*
 * Unit tests for worker/proto/proxy_wire.c: PROXY protocol v1 and v2
 * headers built and parsed back for every family mix, every prefix of a
 * valid header (must ask for more), the strict v1 syntax, the v2 length
 * and family rules, TLVs, early refusal of what is not a PROXY header,
 * and a seeded random loop.
 *
 * Every input is copied into a heap block of exactly its length (xdup),
 * so an ASan build catches any read past the end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/proxy_wire.h"
#include "check_wire.h"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static long
parse_len(const void *p, size_t len, struct proxy_hdr *h)
{
	uint8_t		*b = xdup(p, len);
	const char	*why = NULL;
	long		 n;

	n = proxy_parse(b, len, h, &why);
	REQUIRE(n >= -1 && n <= (long)len);
	REQUIRE((n == -1) == (why != NULL));
	free(b);
	return n;
}

static long
parse(const char *s)
{
	struct proxy_hdr	h;

	return parse_len(s, strlen(s), &h);
}

/* Every proper prefix of a valid header asks for more. */
static void
check_prefixes(const uint8_t *p, size_t len)
{
	struct proxy_hdr	h;
	size_t			i;

	for (i = 0; i < len; i++)
		REQUIRE(parse_len(p, i, &h) == 0);
	REQUIRE(parse_len(p, len, &h) == (long)len);
}

static struct sockaddr_storage
sa(const char *addr, uint16_t port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		REQUIRE(inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

/* An address as text (v4-mapped shown as IPv4) and its port. */
static void
show(const struct sockaddr_storage *ss, char *out, size_t cap, int *port)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)cap);
		*port = ntohs(sin->sin_port);
	} else {
		REQUIRE(ss->ss_family == AF_INET6);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, out,
			    (socklen_t)cap);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)cap);
		*port = ntohs(sin6->sin6_port);
	}
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	char	ta[INET6_ADDRSTRLEN], tb[INET6_ADDRSTRLEN];
	int	pa, pb;

	show(a, ta, sizeof(ta), &pa);
	show(b, tb, sizeof(tb), &pb);
	return strcmp(ta, tb) == 0 && pa == pb;
}

/* Build, check the prefixes, parse, compare; the family parsed back. */
static int
round_trip(int version, const char *s, uint16_t sp, const char *d,
    uint16_t dp)
{
	struct sockaddr_storage	 src = sa(s, sp), dst = sa(d, dp);
	struct proxy_hdr	 h;
	uint8_t			 out[PROXY_BUILD_MAX];
	char			 a[INET6_ADDRSTRLEN];
	size_t			 n;
	int			 port;

	n = proxy_build(version, (struct sockaddr *)&src,
	    (struct sockaddr *)&dst, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	check_prefixes(out, n);
	ck_assert_int_eq(parse_len(out, n, &h), (long)n);
	ck_assert_int_eq(h.version, version);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.src.ss_family, h.dst.ss_family);
	ck_assert_uint_eq(h.srclen, h.src.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	show(&h.src, a, sizeof(a), &port);
	ck_assert_str_eq(a, strncmp(s, "::ffff:", 7) == 0 ? s + 7 : s);
	ck_assert_int_eq(port, sp);
	show(&h.dst, a, sizeof(a), &port);
	ck_assert_str_eq(a, strncmp(d, "::ffff:", 7) == 0 ? d + 7 : d);
	ck_assert_int_eq(port, dp);
	return h.src.ss_family;
}

START_TEST(round_trips)
{
	int	v;

	for (v = 1; v <= 2; v++) {
		ck_assert_int_eq(round_trip(v, "192.0.2.1", 56324,
		    "198.51.100.7", 443), AF_INET);
		ck_assert_int_eq(round_trip(v, "2001:db8::1", 1, "2001:db8::2",
		    65535), AF_INET6);
		/* Mixed: both as IPv6, the IPv4 one mapped. */
		ck_assert_int_eq(round_trip(v, "192.0.2.1", 0, "2001:db8::2",
		    80), AF_INET6);
		ck_assert_int_eq(round_trip(v, "::1", 80, "10.0.0.1", 8080),
		    AF_INET6);
		/* v4-mapped on both sides counts as IPv4. */
		ck_assert_int_eq(round_trip(v, "::ffff:192.0.2.1", 5,
		    "::ffff:10.1.2.3", 6), AF_INET);
		ck_assert_int_eq(round_trip(v, "::ffff:192.0.2.1", 5,
		    "10.1.2.3", 6), AF_INET);
		ck_assert_int_eq(round_trip(v,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535),
		    AF_INET6);
	}
}
END_TEST

START_TEST(build_text)
{
	struct sockaddr_storage	 s = sa("192.0.2.1", 56324);
	struct sockaddr_storage	 d = sa("2001:db8::2", 443);
	struct sockaddr_un	 un;
	struct proxy_hdr	 h;
	uint8_t			 out[PROXY_BUILD_MAX];
	size_t			 n;

	n = proxy_build(1, (struct sockaddr *)&s, (struct sockaddr *)&d, out,
	    sizeof(out));
	ck_assert_uint_eq(n, strlen("PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 "
	    "56324 443\r\n"));
	ck_assert_int_eq(memcmp(out, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 "
	    "56324 443\r\n", n), 0);
	d = sa("198.51.100.7", 443);
	n = proxy_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d, out,
	    sizeof(out));
	ck_assert_uint_eq(n, 28);
	ck_assert_int_eq(memcmp(out, sig, 12), 0);
	ck_assert_int_eq(memcmp(out + 12, "\x21\x11\x00\x0c\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07\xdc\x04\x01\xbb", 16), 0);
	/* Too small, bad version. */
	ck_assert_uint_eq(proxy_build(2, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 27), 0);
	ck_assert_uint_eq(proxy_build(1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 10), 0);
	ck_assert_uint_eq(proxy_build(3, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, sizeof(out)), 0);
	ck_assert_uint_eq(proxy_build(0, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, sizeof(out)), 0);
	/* Another family: UNKNOWN, LOCAL. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	n = proxy_build(1, (struct sockaddr *)&un, (struct sockaddr *)&d, out,
	    sizeof(out));
	ck_assert_uint_eq(n, 15);
	ck_assert_int_eq(memcmp(out, "PROXY UNKNOWN\r\n", 15), 0);
	ck_assert_int_eq(parse_len(out, n, &h), 15);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.version, 1);
	n = proxy_build(2, (struct sockaddr *)&s, (struct sockaddr *)&un, out,
	    sizeof(out));
	ck_assert_uint_eq(n, 16);
	ck_assert_int_eq(memcmp(out + 12, "\x20\x00\x00\x00", 4), 0);
	check_prefixes(out, n);
	ck_assert_int_eq(parse_len(out, n, &h), 16);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.version, 2);
}
END_TEST

START_TEST(v1_valid)
{
	static const char *const ok[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n",
		"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
		"PROXY TCP6 ::1 2001:DB8::2 1 2\r\n",
		"PROXY TCP6 ::ffff:1.2.3.4 :: 10 20\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
	};
	struct proxy_hdr	h;
	size_t			i;
	char			t[200];

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		check_prefixes((const uint8_t *)ok[i], strlen(ok[i]));
	ck_assert_int_eq(parse_len(ok[0], strlen(ok[0]), &h),
	    (long)strlen(ok[0]));
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.src.ss_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&h.src)->sin_port),
	    56324);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&h.dst)->sin_port), 443);
	ck_assert_int_eq(parse_len(ok[5], strlen(ok[5]), &h),
	    (long)strlen(ok[5]));
	ck_assert_int_eq(h.local, 1);
	/* What follows the header is not the header's. */
	snprintf(t, sizeof(t), "%sGET / HTTP/1.1\r\n", ok[2]);
	ck_assert_int_eq(parse_len(t, strlen(t), &h), (long)strlen(ok[2]));
	ck_assert_int_eq(h.src.ss_family, AF_INET6);
}
END_TEST

START_TEST(v1_length)
{
	char	t[200];
	size_t	n;

	/* 107 bytes with CRLF: the longest allowed. */
	n = (size_t)snprintf(t, sizeof(t), "PROXY UNKNOWN %091d\r\n", 0);
	ck_assert_uint_eq(n, 107);
	ck_assert_int_eq(parse(t), 107);
	n = (size_t)snprintf(t, sizeof(t), "PROXY UNKNOWN %092d\r\n", 0);
	ck_assert_uint_eq(n, 108);
	ck_assert_int_eq(parse(t), -1);
	/* Refused once 106 bytes have no CR, without waiting for more. */
	t[106] = '\0';
	ck_assert_int_eq(parse(t), -1);
	t[105] = '\0';
	ck_assert_int_eq(parse(t), 0);
}
END_TEST

START_TEST(v1_invalid)
{
	static const char *const bad[] = {
		"PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY  TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 080 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 00\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 65536 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 655350\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 -1 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 \r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n",
		"PROXY TCP4 192.0.2.256 198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2 198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n",
		"PROXY TCP4 ::1 198.51.100.7 1 2\r\n",
		"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
		"PROXY TCP6 ::1 :::1 1 2\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
		"PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY tcp4 192.0.2.1 198.51.100.7 1 2\r\n",
		"proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 2\rX",
		"PROXY TCP4 192.0.2.1\t198.51.100.7 1 2\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOWN \x01\r\n",
		"PROXY UNKNOWN \n\r\n",
		"PROXY \r\n",
		"PROXY\r\n",
		"PROXY TCP4\r\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == -1, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(not_proxy)
{
	struct proxy_hdr	h;

	/* Refused at the first byte that cannot start a header. */
	ck_assert_int_eq(parse("G"), -1);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n"), -1);
	ck_assert_int_eq(parse_len("\x16\x03\x01", 1, &h), -1);
	ck_assert_int_eq(parse("PROXX"), -1);
	ck_assert_int_eq(parse("PROXY X"), -1);
	ck_assert_int_eq(parse("PROXY TCP4 x"), -1);
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 9 10 "), -1);
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 0"), 0);
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 01"), -1);
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 99999"), -1);
	ck_assert_int_eq(parse("PROXY TCP4 1234567890123456"), -1);
	ck_assert_int_eq(parse("PROXY \x16"), -1);
	ck_assert_int_eq(parse_len("\r\n\r\n\0\r\nQUIX", 12, &h), -1);
	ck_assert_int_eq(parse_len("\r\n\r\n\x01", 5, &h), -1);
	/* Still either version. */
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("PRO"), 0);
	ck_assert_int_eq(parse("\r"), 0);
	ck_assert_int_eq(parse_len("\r\n\r\n\0", 5, &h), 0);
}
END_TEST

/* sig, cmd, fam, then len bytes of body. */
static size_t
v2(uint8_t *out, uint8_t cmd, uint8_t fam, const void *body, size_t len)
{
	memcpy(out, sig, 12);
	out[12] = cmd;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 16, body, len);
	return 16 + len;
}

START_TEST(v2_families)
{
	struct proxy_hdr	 h;
	uint8_t			 b[PROXY_V2_MAX + 16], body[600];
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&h.src;
	size_t			 n;

	memset(body, 0x41, sizeof(body));
	/* TCP6 addresses. */
	memset(body, 0, 36);
	body[15] = 1;
	body[31] = 2;
	body[32] = 0x12;
	body[33] = 0x34;
	n = v2(b, 0x21, 0x21, body, 36);
	check_prefixes(b, n);
	ck_assert_int_eq(parse_len(b, n, &h), 52);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.src.ss_family, AF_INET6);
	ck_assert_int_eq(s6->sin6_addr.s6_addr[15], 1);
	ck_assert_int_eq(ntohs(s6->sin6_port), 0x1234);
	/* LOCAL, whatever follows. */
	n = v2(b, 0x20, 0x11, body, 12);
	ck_assert_int_eq(parse_len(b, n, &h), 28);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.version, 2);
	n = v2(b, 0x20, 0x00, body, 5);
	ck_assert_int_eq(parse_len(b, n, &h), 21);
	ck_assert_int_eq(h.local, 1);
	/* UDP, UNIX, UNSPEC: kept, the connection's own addresses used. */
	n = v2(b, 0x21, 0x12, body, 12);
	ck_assert_int_eq(parse_len(b, n, &h), 28);
	ck_assert_int_eq(h.local, 1);
	n = v2(b, 0x21, 0x22, body, 36);
	ck_assert_int_eq(parse_len(b, n, &h), 52);
	ck_assert_int_eq(h.local, 1);
	n = v2(b, 0x21, 0x31, body, 216);
	ck_assert_int_eq(parse_len(b, n, &h), 232);
	ck_assert_int_eq(h.local, 1);
	n = v2(b, 0x21, 0x00, body, 0);
	ck_assert_int_eq(parse_len(b, n, &h), 16);
	ck_assert_int_eq(h.local, 1);
	/* Undefined values, versions, commands. */
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x41, body, 12), &h), -1);
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x13, body, 12), &h), -1);
	ck_assert_int_eq(parse_len(b, v2(b, 0x22, 0x11, body, 12), &h), -1);
	ck_assert_int_eq(parse_len(b, v2(b, 0x11, 0x11, body, 12), &h), -1);
	ck_assert_int_eq(parse_len(b, 13, &h), -1);	/* at the byte */
	/* Address blocks too short for the family. */
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x11, body, 11), &h), -1);
	ck_assert_int_eq(parse_len(b, 16, &h), -1);	/* at once */
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x21, body, 35), &h), -1);
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x32, body, 215), &h), -1);
}
END_TEST

START_TEST(v2_length)
{
	struct proxy_hdr	h;
	uint8_t			b[PROXY_V2_MAX + 16], body[PROXY_V2_MAX];
	size_t			n;

	memset(body, 0, sizeof(body));
	/* 65535: refused from the 16-byte header alone. */
	v2(b, 0x21, 0x11, body, 0);
	b[14] = b[15] = 0xff;
	ck_assert_int_eq(parse_len(b, 16, &h), -1);
	/* PROXY_V2_MAX exactly (one TLV fills it), and one byte more. */
	n = v2(b, 0x21, 0x11, body, PROXY_V2_MAX - 16);
	b[16 + 12 + 1] = (uint8_t)((PROXY_V2_MAX - 16 - 12 - 3) >> 8);
	b[16 + 12 + 2] = (uint8_t)(PROXY_V2_MAX - 16 - 12 - 3);
	ck_assert_int_eq(parse_len(b, n, &h), PROXY_V2_MAX);
	ck_assert_int_eq(parse_len(b, n - 1, &h), 0);
	v2(b, 0x21, 0x11, body, 0);
	b[14] = (uint8_t)((PROXY_V2_MAX - 15) >> 8);
	b[15] = (uint8_t)(PROXY_V2_MAX - 15);
	ck_assert_int_eq(parse_len(b, 16, &h), -1);
}
END_TEST

START_TEST(v2_tlvs)
{
	struct proxy_hdr	 h;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&h.src;
	uint8_t			 b[128], body[64];
	size_t			 n;

	memset(body, 0, sizeof(body));
	body[0] = 192;
	body[3] = 1;
	body[9] = 80;
	/* ALPN "h2", then a NOOP of 3: both skipped, both counted. */
	memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x03xyz", 11);
	n = v2(b, 0x21, 0x11, body, 23);
	check_prefixes(b, n);
	ck_assert_int_eq(parse_len(b, n, &h), 39);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(s4->sin_addr.s_addr, htonl(0xc0000001));
	ck_assert_int_eq(ntohs(s4->sin_port), 80);
	/* A TLV of length 0 is fine. */
	memcpy(body + 12, "\x04\x00\x00", 3);
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x11, body, 15), &h), 31);
	/* Truncated header, value running past the end. */
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x11, body, 14), &h), -1);
	memcpy(body + 12, "\x04\x00\x04xyz", 6);
	ck_assert_int_eq(parse_len(b, v2(b, 0x21, 0x11, body, 18), &h), -1);
	/* After LOCAL nothing is read. */
	ck_assert_int_eq(parse_len(b, v2(b, 0x20, 0x11, body, 18), &h), 34);
}
END_TEST

/* Random mutations of valid headers and random bytes. */
START_TEST(fuzz)
{
	static const char *const seeds[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::1 1 65535\r\nGET",
		"PROXY UNKNOWN x\r\n",
	};
	struct sockaddr_storage	 s = sa("2001:db8::1", 7), d = sa("::1", 9);
	struct proxy_hdr	 h, h2;
	uint8_t			 buf[128], out[PROXY_BUILD_MAX];
	size_t			 len, i, k, n;
	long			 rv;
	int			 ok = 0;

	for (i = 0; i < 100000; i++) {
		srand(0x9e0c5eed + (unsigned)i);
		k = (size_t)rand() % 5;
		if (k < 3) {
			len = strlen(seeds[k]);
			memcpy(buf, seeds[k], len);
		} else {
			len = proxy_build(2, (struct sockaddr *)&s,
			    (struct sockaddr *)&d, buf, sizeof(buf));
			if (k == 4) {
				memcpy(buf + len, "\x04\x00\x02zz", 5);
				buf[15] += 5;
				len += 5;
			}
		}
		for (k = (size_t)rand() % 3; k > 0; k--)
			buf[rand() % (int)len] = (uint8_t)rand();
		len -= (size_t)rand() % 3;
		rv = parse_len(buf, len, &h);
		if (rv <= 0 || h.local)
			continue;
		ok++;
		n = proxy_build(h.version, (struct sockaddr *)&h.src,
		    (struct sockaddr *)&h.dst, out, sizeof(out));
		REQUIRE(n > 0);
		REQUIRE(parse_len(out, n, &h2) == (long)n);
		REQUIRE(h2.local == 0);
		REQUIRE(same_addr(&h.src, &h2.src));
		REQUIRE(same_addr(&h.dst, &h2.dst));
	}
	ck_assert_int_gt(ok, 10000);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite	*s = suite_create("proxy_proto");
	TCase	*tc;

	tc = tcase_create("build");
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, build_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("v1");
	tcase_add_test(tc, v1_valid);
	tcase_add_test(tc, v1_length);
	tcase_add_test(tc, v1_invalid);
	tcase_add_test(tc, not_proxy);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, v2_families);
	tcase_add_test(tc, v2_length);
	tcase_add_test(tc, v2_tlvs);
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
	SRunner	*sr = srunner_create(proxy_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
