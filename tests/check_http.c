/*
 * Unit tests for worker/proto/http_wire.c: the head scanner and its
 * limits, the request line and fields with every malformed variant, the
 * smuggling defences, strict base64 and Basic credentials, the head the
 * origin gets, the constant responses, and a seeded random loop.
 *
 * Every parser input is copied into a heap block of exactly its length
 * (xdup), so an ASan build catches any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/http_wire.h"
#include "check_wire.h"

/*
 * What the front-end does: scan, check the first line early, parse the
 * head.  Returns 0 (a complete valid head), 1 (needs more), or the status.
 */
static int
parse_len(const void *text, size_t len, struct http_request *req)
{
	static uint8_t		*b;	/* req points into it: kept */
	struct http_scan	 sc = { 0, 0, 0 };
	int			 n, status = 0, rv;

	free(b);
	b = xdup(text, len);

	memset(req, 0, sizeof(*req));
	n = http_scan_head(&sc, b, len, &status);
	if (n < 0) {
		REQUIRE(status == 414 || status == 431);
		rv = status;
	} else if (sc.line_len > 0 &&
	    (rv = http_parse_line(b, sc.line_len, req)) != 0) {
		REQUIRE(req->why != NULL);
	} else if (n == 0) {
		rv = 1;
	} else {
		rv = http_parse_head(b, (size_t)n, req);
		REQUIRE(rv == 0 || req->why != NULL);
	}
	return rv;
}

static int
parse(const char *text, struct http_request *req)
{
	return parse_len(text, strlen(text), req);
}

static int
status_of(const char *text)
{
	struct http_request	req;

	return parse(text, &req);
}

START_TEST(connect_forms)
{
	struct http_request	req;

	ck_assert_int_eq(parse("CONNECT example.com:443 HTTP/1.1\r\n"
	    "Host: example.com:443\r\n\r\n", &req), 0);
	ck_assert_int_eq(req.form, HTTP_FORM_AUTHORITY);
	ck_assert_str_eq(req.host, "example.com");
	ck_assert_uint_eq(req.port, 443);
	ck_assert_int_eq(req.minor, 1);
	ck_assert_uint_eq(req.nheaders, 1);

	ck_assert_int_eq(parse("CONNECT [::1]:8080 HTTP/1.0\r\n\r\n", &req),
	    0);
	ck_assert_str_eq(req.host, "::1");
	ck_assert_int_eq(req.host_ip6, 1);
	ck_assert_uint_eq(req.port, 8080);
	ck_assert_int_eq(req.minor, 0);

	ck_assert_int_eq(parse("CONNECT [2001:db8::1.2.3.4]:1 HTTP/1.1\r\n\r\n",
	    &req), 0);
	ck_assert_str_eq(req.host, "2001:db8::1.2.3.4");
	ck_assert_int_eq(parse("CONNECT 10.0.0.1:65535 HTTP/1.1\r\n\r\n",
	    &req), 0);
	ck_assert_str_eq(req.host, "10.0.0.1");
	ck_assert_uint_eq(req.port, 65535);
}
END_TEST

START_TEST(absolute_forms)
{
	struct http_request	req;

	ck_assert_int_eq(parse("GET http://Example.COM/a/b?c=d HTTP/1.1\r\n"
	    "User-Agent: t\r\nAccept:*/*\r\n\r\n", &req), 0);
	ck_assert_int_eq(req.form, HTTP_FORM_ABSOLUTE);
	ck_assert_str_eq(req.host, "Example.COM");
	ck_assert_uint_eq(req.port, 80);
	ck_assert_uint_eq(req.plen, 8);
	ck_assert(memcmp(req.path, "/a/b?c=d", 8) == 0);
	ck_assert_uint_eq(req.nheaders, 2);
	ck_assert(memcmp(req.headers[1].value, "*/*", 3) == 0);
	ck_assert_uint_eq(req.headers[1].vlen, 3);

	ck_assert_int_eq(parse("HEAD HTTP://h:8080 HTTP/1.0\r\n\r\n", &req),
	    0);
	ck_assert_str_eq(req.host, "h");
	ck_assert_uint_eq(req.port, 8080);
	ck_assert_uint_eq(req.plen, 0);
	ck_assert_int_eq(parse("POST http://[::1]:81/up HTTP/1.1\r\n"
	    "Content-Length: 5\r\n\r\n", &req), 0);
	ck_assert_str_eq(req.host, "::1");
	ck_assert_uint_eq(req.port, 81);
	ck_assert_int_eq(req.content_length, 5);
	ck_assert_int_eq(parse("PUT http://h/?q HTTP/1.1\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n", &req), 0);
	ck_assert_int_eq(req.chunked, 1);
	/* Same Content-Length twice is one length. */
	ck_assert_int_eq(parse("POST http://h/ HTTP/1.1\r\nContent-Length: 3"
	    "\r\ncontent-length:3\r\n\r\n", &req), 0);
	ck_assert_int_eq(req.content_length, 3);
	/* Field values may carry obs-text and inner whitespace. */
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nX-A: \xe9t\xe9  "
	    "x\t\r\n\r\n", &req), 0);
	ck_assert_uint_eq(req.headers[0].vlen, 6);
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nX-Empty:\r\n\r\n",
	    &req), 0);
	ck_assert_uint_eq(req.headers[0].vlen, 0);
}
END_TEST

static const struct {
	const char	*text;
	int		 status;
} bad[] = {
	/* request line */
	{ "G(T http://h/ HTTP/1.1\r\n\r\n", 400 },
	{ "G\x80T http://h/ HTTP/1.1\r\n\r\n", 400 },
	{ " GET http://h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET  http://h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h/  HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1 \r\n\r\n", 400 },
	{ "GET http://h/\r\n\r\n", 400 },
	{ "GET http://h/ \r\n\r\n", 400 },
	{ "GET\r\n\r\n", 400 },
	{ "\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/2.0\r\n\r\n", 505 },
	{ "GET http://h/ HTTP/0.9\r\n\r\n", 505 },
	{ "GET http://h/ HTTP/1.2\r\n\r\n", 505 },
	{ "GET http://h/ HTTP/1.10\r\n\r\n", 400 },
	{ "GET http://h/ http/1.1\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\rX\r\n\r\n", 400 },
	{ "GET http://h/\x01 HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h/\x7f HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h/\xc3\xa9 HTTP/1.1\r\n\r\n", 400 },
	/* target forms */
	{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "OPTIONS * HTTP/1.1\r\n\r\n", 400 },
	{ "GET https://h/ HTTP/1.1\r\n\r\n", 501 },
	{ "GET ftp://h/ HTTP/1.1\r\n\r\n", 501 },
	{ "GET http:/h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http:h HTTP/1.1\r\n\r\n", 400 },
	{ "GET 1http://h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET h:80 HTTP/1.1\r\n\r\n", 400 },
	{ "GET http:// HTTP/1.1\r\n\r\n", 400 },
	{ "GET http:///x HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://user:pw@h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://@h/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h%2f/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h!/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h/#frag HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h#frag HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:0/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:65536/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:080080/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:8a/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:-1/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://h:80:80/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[::1/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[::g]/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[1.2.3.4]/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[]/ HTTP/1.1\r\n\r\n", 400 },
	{ "GET http://[::1]x/ HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT h HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT h: HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT :443 HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT [::1] HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT u@h:443 HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT http://h:443/ HTTP/1.1\r\n\r\n", 400 },
	{ "CONNECT h:99999 HTTP/1.1\r\n\r\n", 400 },
	{ "connect h:443 HTTP/1.1\r\n\r\n", 400 },
	/* fields */
	{ "GET http://h/ HTTP/1.1\r\n Folded: x\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\r\n  c\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA : b\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA\t: b\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\n: b\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA(b: c\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\r\n\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\rc\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\x01\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nA: \x1b[31m\r\n\r\n", 400 },
	/* framing */
	{ "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	  "Content-Length: 3\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\n"
	  "Content-Length: 4\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: +3\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length:\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nContent-Length: "
	  "9999999999999999999999\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
	  "\r\n", 501 },
	{ "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
	  501 },
	{ "POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "GET http://h/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nConnection: close, Content-Length\r\n"
	  "Content-Length: 0\r\n\r\n", 400 },
	{ "GET http://h/ HTTP/1.1\r\nConnection: transfer-encoding\r\n\r\n",
	  400 },
	{ "GET http://h/ HTTP/1.1\r\nConnection: host\r\n\r\n", 400 },
};

START_TEST(malformed)
{
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = status_of(bad[i].text);
		ck_assert_msg(got == bad[i].status, "case %zu %s: got %d, "
		    "want %d", i, bad[i].text, got, bad[i].status);
	}
}
END_TEST

/* NUL can only be tested with explicit lengths. */
START_TEST(nul_bytes)
{
	static const char	a[] = "GET http://h/ HTTP/1.1\r\nA: b\0c\r\n\r\n";
	static const char	b[] = "GET http://h\0/ HTTP/1.1\r\n\r\n";
	static const char	c[] = "GE\0 http://h/ HTTP/1.1\r\n\r\n";
	static const char	d[] = "GET http://h/ HTTP/1.1\r\nA\0: b\r\n\r\n";
	struct http_request	req;

	ck_assert_int_eq(parse_len(a, sizeof(a) - 1, &req), 400);
	ck_assert_str_eq(req.why, "NUL in a field value");
	ck_assert_int_eq(parse_len(b, sizeof(b) - 1, &req), 400);
	ck_assert_int_eq(parse_len(c, sizeof(c) - 1, &req), 400);
	ck_assert_int_eq(parse_len(d, sizeof(d) - 1, &req), 400);
}
END_TEST

START_TEST(bare_lf_reasons)
{
	struct http_request	req;

	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nA: b\n\n", &req),
	    400);
	ck_assert_str_eq(req.why, "bare LF");
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\n x\r\n\r\n", &req),
	    400);
	ck_assert_str_eq(req.why, "obs-fold (line folding)");
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nA : b\r\n\r\n",
	    &req), 400);
	ck_assert_str_eq(req.why, "whitespace before a colon");
	ck_assert_int_eq(parse("POST http://h/ HTTP/1.1\r\nContent-Length: 1"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n", &req), 400);
	ck_assert_str_eq(req.why, "Transfer-Encoding with Content-Length");
	ck_assert_int_eq(parse("GET http://a:b@h/ HTTP/1.1\r\n\r\n", &req),
	    400);
	ck_assert_str_eq(req.why, "userinfo in the authority");
}
END_TEST

/* A request line of n bytes (CRLF included), then the empty line. */
static char *
long_line(size_t n)
{
	char	*p = malloc(n + 3);
	size_t	 pre = strlen("GET http://h/");

	REQUIRE(p != NULL && n >= pre + 11);
	memcpy(p, "GET http://h/", pre);
	memset(p + pre, 'a', n - pre - 11);
	memcpy(p + n - 11, " HTTP/1.1\r\n\r\n", 14);
	return p;
}

START_TEST(line_limit)
{
	char	*p;

	p = long_line(HTTP_MAX_LINE);
	ck_assert_int_eq(status_of(p), 0);
	free(p);
	p = long_line(HTTP_MAX_LINE + 1);
	ck_assert_int_eq(status_of(p), 414);
	free(p);
	/* No LF at all: 414 as soon as 8 KiB are in, not later. */
	p = malloc(HTTP_MAX_LINE + 1);
	REQUIRE(p != NULL);
	memset(p, 'A', HTTP_MAX_LINE);
	p[HTTP_MAX_LINE] = '\0';
	ck_assert_int_eq(status_of(p), 414);
	p[HTTP_MAX_LINE - 1] = '\0';
	ck_assert_int_eq(status_of(p), 1);	/* could still end */
	free(p);
}
END_TEST

/* A head of exactly n bytes made of one long field. */
static char *
long_head(size_t n)
{
	static const char	l[] = "GET http://h/ HTTP/1.1\r\nX: ";
	char			*p = malloc(n + 1);

	REQUIRE(p != NULL && n > sizeof(l) + 4);
	memcpy(p, l, sizeof(l) - 1);
	memset(p + sizeof(l) - 1, 'v', n - (sizeof(l) - 1) - 4);
	memcpy(p + n - 4, "\r\n\r\n", 5);
	return p;
}

START_TEST(head_limit)
{
	char	*p;

	p = long_head(HTTP_MAX_HEAD);
	ck_assert_int_eq(status_of(p), 0);
	free(p);
	p = long_head(HTTP_MAX_HEAD + 1);
	ck_assert_int_eq(status_of(p), 431);
	free(p);
}
END_TEST

static char *
many_headers(size_t n)
{
	char	*p = malloc(64 + n * 16), *q = p;
	size_t	 i;

	REQUIRE(p != NULL);
	q += sprintf(q, "GET http://h/ HTTP/1.1\r\n");
	for (i = 0; i < n; i++)
		q += sprintf(q, "X-%zu: v\r\n", i);
	sprintf(q, "\r\n");
	return p;
}

START_TEST(header_count)
{
	char	*p;

	p = many_headers(HTTP_MAX_HEADERS);
	ck_assert_int_eq(status_of(p), 0);
	free(p);
	p = many_headers(HTTP_MAX_HEADERS + 1);
	ck_assert_int_eq(status_of(p), 431);
	free(p);
	p = many_headers(200);
	ck_assert_int_eq(status_of(p), 431);
	free(p);
}
END_TEST

/* Byte by byte: 0 until the empty line, then the head's length. */
START_TEST(scan_incremental)
{
	static const char	h[] = "CONNECT h:1 HTTP/1.1\r\nA: b\r\n\r\nDATA";
	struct http_scan	sc = { 0, 0, 0 };
	uint8_t			*b = xdup(h, sizeof(h) - 1);
	size_t			 i, end = sizeof(h) - 1 - 4;
	int			 st = 0, n = 0;

	for (i = 1; i <= sizeof(h) - 1; i++) {
		n = http_scan_head(&sc, b, i, &st);
		if (i < end)
			ck_assert_int_eq(n, 0);
		else
			break;
	}
	ck_assert_int_eq(n, (int)end);
	ck_assert_uint_eq(sc.line_len, 22);
	free(b);
	/* A bare-LF head still ends, so the parser can say 400. */
	memset(&sc, 0, sizeof(sc));
	b = xdup("GET http://h/ HTTP/1.1\nA: b\n\nX", 30);
	ck_assert_int_eq(http_scan_head(&sc, b, 30, &st), 29);
	free(b);
}
END_TEST

START_TEST(base64)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" },
		{ "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
		{ "+/+/", "\xfb\xff\xbf" },
	};
	static const char *const no[] = {
		"Zg=", "Zg", "Z", "Zh==", "Zm9=", "=Zg=", "Zg==Zg==",
		"Z===", "====", "Zm9v\n", "Zm-v", "Zm_v", " Zm9v", "Zm9v ",
		"Zm=v", "Zm\0v",
	};
	uint8_t		out[16], *in;
	size_t		i;
	int		n;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		in = xdup(ok[i].in, strlen(ok[i].in));
		n = http_base64_decode((char *)in, strlen(ok[i].in), out,
		    sizeof(out));
		ck_assert_int_eq(n, (int)strlen(ok[i].out));
		ck_assert(memcmp(out, ok[i].out, (size_t)n) == 0);
		free(in);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		size_t	len = strlen(no[i]) + (i == sizeof(no) /
		    sizeof(no[0]) - 1 ? 2 : 0);

		in = xdup(no[i], len);
		ck_assert_msg(http_base64_decode((char *)in, len, out,
		    sizeof(out)) == -1, "accepted %s", no[i]);
		free(in);
	}
	/* The output capacity is respected. */
	ck_assert_int_eq(http_base64_decode("Zm9vYmFy", 8, out, 5), -1);
	ck_assert_int_eq(http_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}
END_TEST

static int
creds(const char *v, char *user, char *pass)
{
	uint8_t		 out[2 * HTTP_MAX_CRED + 2], *in;
	const uint8_t	*p;
	size_t		 ulen, plen;
	int		 rv;

	in = xdup(v, strlen(v));
	rv = http_basic_credentials((char *)in, strlen(v), out, &ulen, &p,
	    &plen);
	free(in);
	if (rv == 1) {
		memcpy(user, out, ulen);
		user[ulen] = '\0';
		memcpy(pass, p, plen);
		pass[plen] = '\0';
	}
	return rv;
}

START_TEST(basic_credentials)
{
	char	u[300], p[300], v[1024], raw[600];
	int	n;

	ck_assert_int_eq(creds("Basic dXNlcjpwYXNz", u, p), 1);
	ck_assert_str_eq(u, "user");
	ck_assert_str_eq(p, "pass");
	ck_assert_int_eq(creds("bAsIc   YTpiOmM=", u, p), 1);
	ck_assert_str_eq(u, "a");
	ck_assert_str_eq(p, "b:c");
	ck_assert_int_eq(creds("Basic Og==", u, p), 1);	/* ":" */
	ck_assert_str_eq(u, "");
	ck_assert_str_eq(p, "");
	ck_assert_int_eq(creds("Bearer abc", u, p), 0);
	ck_assert_int_eq(creds("Basicx dXNlcjpwYXNz", u, p), 0);
	ck_assert_int_eq(creds("Digest a=b", u, p), 0);
	ck_assert_int_eq(creds("Basic", u, p), -1);
	ck_assert_int_eq(creds("Basic ", u, p), -1);
	ck_assert_int_eq(creds("Basic dXNlcjpwYXNz=", u, p), -1);
	ck_assert_int_eq(creds("Basic dXNlcg==", u, p), -1);	/* no colon */
	ck_assert_int_eq(creds("Basic dXNlcjpwYXNz dXNl", u, p), -1);
	ck_assert_int_eq(creds("Basic dTpwCg==", u, p), -1);	/* "u:p\n" */
	ck_assert_int_eq(creds("Basic AHU6cA==", u, p), -1);	/* NUL */
	/* 255 bytes each is the most (254 + 1 + 255: whole groups). */
	memset(raw, 'x', 254);
	raw[254] = ':';
	memset(raw + 255, 'y', 255);
	memcpy(v, "Basic ", 6);
	n = 6;
	{
		static const char	a[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/";
		size_t			i;
		uint32_t		x;

		for (i = 0; i + 3 <= 510; i += 3) {
			x = (uint32_t)(uint8_t)raw[i] << 16 |
			    (uint32_t)(uint8_t)raw[i + 1] << 8 |
			    (uint8_t)raw[i + 2];
			v[n++] = a[x >> 18];
			v[n++] = a[(x >> 12) & 63];
			v[n++] = a[(x >> 6) & 63];
			v[n++] = a[x & 63];
		}
		v[n] = '\0';
	}
	ck_assert_int_eq(creds(v, u, p), 1);
	ck_assert_uint_eq(strlen(u), 254);
	ck_assert_uint_eq(strlen(p), 255);
	/* One more byte of password: too long. */
	strcpy(v + n, "eXk=");
	ck_assert_int_eq(creds(v, u, p), -1);
}
END_TEST

START_TEST(lists_and_find)
{
	struct http_request		 req;
	const struct http_header	*h;

	ck_assert(http_list_has("close", 5, "close", 5));
	ck_assert(http_list_has(" a ,X-Foo\t, b", 13, "x-foo", 5));
	ck_assert(!http_list_has("x-foobar", 8, "x-foo", 5));
	ck_assert(!http_list_has("", 0, "a", 1));
	ck_assert(http_list_has(",,a", 3, "a", 1));
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nProxy-Authorization:"
	    " a\r\nproxy-authorization: b\r\n\r\n", &req), 0);
	ck_assert_int_eq(http_header_find(&req, "Proxy-Authorization", &h),
	    -1);
	ck_assert_int_eq(http_header_find(&req, "Host", &h), 0);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(parse("GET http://h/ HTTP/1.1\r\nHOST: x\r\n\r\n",
	    &req), 0);
	ck_assert_int_eq(http_header_find(&req, "Host", &h), 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->vlen, 1);
}
END_TEST

static void
rewrite_is(const char *in, const char *want)
{
	struct http_request	 req;
	uint8_t			*b = xdup(in, strlen(in));
	size_t			 cap = strlen(in) + HTTP_REWRITE_SLACK;
	uint8_t			*out = malloc(cap);
	int			 n;

	ck_assert_int_eq(http_parse_head(b, strlen(in), &req), 0);
	n = http_build_origin_request(&req, out, cap);
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_msg(memcmp(out, want, (size_t)n) == 0, "got %.*s", n, out);
	/* Too small by one byte: refused, not truncated. */
	ck_assert_int_eq(http_build_origin_request(&req, out, (size_t)n - 1),
	    -1);
	free(out);
	free(b);
}

START_TEST(origin_request)
{
	rewrite_is("GET http://Example.com:8080/a?b HTTP/1.1\r\n"
	    "Host: evil.example\r\n"
	    "User-Agent: curl/7.88\r\n"
	    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
	    "Proxy-Connection: Keep-Alive\r\n"
	    "Connection: keep-alive, X-Secret\r\n"
	    "X-Secret: 1\r\n"
	    "Keep-Alive: 300\r\n"
	    "TE: trailers\r\n"
	    "Trailer: X\r\n"
	    "Upgrade: websocket\r\n"
	    "Accept:*/*  \r\n"
	    "\r\n",
	    "GET /a?b HTTP/1.1\r\n"
	    "User-Agent: curl/7.88\r\n"
	    "Accept: */*\r\n"
	    "Host: Example.com:8080\r\n"
	    "Connection: close\r\n"
	    "\r\n");
	rewrite_is("HEAD http://[::1] HTTP/1.0\r\n\r\n",
	    "HEAD / HTTP/1.0\r\nHost: [::1]\r\nConnection: close\r\n\r\n");
	rewrite_is("POST http://h?x=1 HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
	    "POST /?x=1 HTTP/1.1\r\nContent-Length: 4\r\nHost: h\r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

/* The rewritten head fits HTTP_MAX_HEAD + HTTP_REWRITE_SLACK at worst. */
START_TEST(origin_request_worst)
{
	struct http_request	 req;
	char			*p, *q;
	uint8_t			*out;
	size_t			 cap = HTTP_MAX_HEAD + HTTP_REWRITE_SLACK, i;
	char			 host[256];
	int			 n;

	memset(host, 'a', 255);
	host[255] = '\0';
	p = malloc(HTTP_MAX_HEAD + 1);
	REQUIRE(p != NULL);
	q = p + sprintf(p, "GET http://%s:65535 HTTP/1.1\r\n", host);
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		q += sprintf(q, "X%zu:v\r\n", i);
	/* Pad the last field until the head is exactly the limit. */
	q -= 2;
	while ((size_t)(q - p) < HTTP_MAX_HEAD - 4)
		*q++ = 'v';
	memcpy(q, "\r\n\r\n", 5);
	ck_assert_uint_eq(strlen(p), HTTP_MAX_HEAD);
	ck_assert_int_eq(parse(p, &req), 0);
	REQUIRE(http_parse_head((uint8_t *)p, strlen(p), &req) == 0);
	out = malloc(cap);
	n = http_build_origin_request(&req, out, cap);
	ck_assert_int_gt(n, 0);
	free(out);
	free(p);
}
END_TEST

START_TEST(responses)
{
	static const int	codes[] = { 400, 403, 407, 414, 431, 500, 501,
	    502, 503, 504, 505 };
	const char		*r, *body, *cl;
	size_t			 i, len;
	char			 want[16];

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		r = http_response(codes[i], &len);
		ck_assert_uint_eq(strlen(r), len);
		snprintf(want, sizeof(want), "HTTP/1.1 %d ", codes[i]);
		ck_assert(strncmp(r, want, strlen(want)) == 0);
		ck_assert_ptr_nonnull(strstr(r, "\r\nConnection: close\r\n"));
		body = strstr(r, "\r\n\r\n");
		ck_assert_ptr_nonnull(body);
		body += 4;
		cl = strstr(r, "\r\nContent-Length: ");
		ck_assert_ptr_nonnull(cl);
		ck_assert_int_eq(atoi(cl + 18), (int)strlen(body));
		ck_assert_int_eq(atoi(body), codes[i]);
		ck_assert_int_eq(strstr(r, "Proxy-Authenticate: Basic realm="
		    "\"sluice\"\r\n") != NULL, codes[i] == 407);
	}
	r = http_response(299, &len);
	ck_assert(strncmp(r, "HTTP/1.1 500 ", 13) == 0);
	ck_assert_uint_eq(http_connect_ok_len, strlen(http_connect_ok));
	ck_assert_str_eq(http_connect_ok,
	    "HTTP/1.1 200 Connection established\r\n\r\n");
}
END_TEST

static const char *const seeds[] = {
	"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
	"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
	"GET http://h:8080/a?b HTTP/1.1\r\nHost: h\r\nConnection: x, y\r\n"
	"X: 1\r\nY: 2\r\nContent-Length: 0\r\n\r\n",
	"POST http://[::1]:81/up HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
	"PUT http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
};

/* Random mutations and random bytes: never a crash, invariants hold. */
START_TEST(fuzz)
{
	struct http_request	 req;
	struct http_scan	 sc;
	uint8_t			 buf[512], *b, *out;
	size_t			 len, i, k, cap;
	unsigned int		 seed = 0x5eed;
	int			 n, st, ok = 0;

	for (i = 0; i < 200000; i++) {
		srand(seed + (unsigned)i);
		if (rand() % 4 == 0) {
			len = (size_t)rand() % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)"GET http://h:/ \r\n:[]@"
				    "\x01\x00aZ\t"[rand() % 22];
		} else {
			const char *sd = seeds[rand() % 4];

			len = strlen(sd);
			memcpy(buf, sd, len);
			for (k = (size_t)rand() % 4; k > 0; k--)
				buf[rand() % (int)len] = (uint8_t)rand();
			len -= (size_t)rand() % 3;
		}
		b = xdup(buf, len);
		memset(&sc, 0, sizeof(sc));
		st = 0;
		n = http_scan_head(&sc, b, len, &st);
		REQUIRE(n >= -1 && n <= (int)len);
		if (n > 0 && http_parse_head(b, (size_t)n, &req) == 0) {
			ok++;
			REQUIRE(req.host[0] != '\0' && req.port != 0);
			REQUIRE(req.nheaders <= HTTP_MAX_HEADERS);
			cap = (size_t)n + HTTP_REWRITE_SLACK;
			out = malloc(cap);
			REQUIRE(out != NULL);
			if (req.form == HTTP_FORM_ABSOLUTE)
				REQUIRE(http_build_origin_request(&req, out,
				    cap) > 0);
			free(out);
		} else if (n > 0)
			REQUIRE(req.why != NULL);
		free(b);
	}
	ck_assert_int_gt(ok, 1000);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, connect_forms);
	tcase_add_test(tc, absolute_forms);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, bare_lf_reasons);
	tcase_add_test(tc, line_limit);
	tcase_add_test(tc, head_limit);
	tcase_add_test(tc, header_count);
	tcase_add_test(tc, scan_incremental);
	suite_add_tcase(s, tc);

	tc = tcase_create("auth");
	tcase_add_test(tc, base64);
	tcase_add_test(tc, basic_credentials);
	tcase_add_test(tc, lists_and_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, origin_request);
	tcase_add_test(tc, origin_request_worst);
	tcase_add_test(tc, responses);
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
	SRunner	*sr = srunner_create(http_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
