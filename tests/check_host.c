/*
 * Unit tests for worker/proto/host_wire.c: the name a plain HTTP/1.x
 * request is for.  Target forms and Host, name normalisation, the
 * smuggling refusals, the limits, early refusal of what is not HTTP, and
 * the rule that how the bytes were split into reads never changes the
 * verdict (checked for every split of every sample, and in a seeded
 * random loop).
 *
 * Every input is copied into a heap block of exactly its length (xdup),
 * so an ASan build catches any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/host_wire.h"
#include "check_wire.h"

/* One parse of text[0..len) in a fresh state. */
static enum host_rc
parse_len(const void *text, size_t len, struct host_req *r)
{
	uint8_t		*b = xdup(text, len);
	enum host_rc	 rc;

	memset(r, 0, sizeof(*r));
	rc = host_parse(r, b, len);
	free(b);
	return rc;
}

static enum host_rc
parse(const char *text, struct host_req *r)
{
	return parse_len(text, strlen(text), r);
}

/* HOST_BAD's status, or -1 for another verdict. */
static int
status_of(const char *text)
{
	struct host_req	r;

	return parse(text, &r) == HOST_BAD ? r.status : -1;
}

static void
same_verdict(enum host_rc a, const struct host_req *ra, enum host_rc b,
    const struct host_req *rb)
{
	REQUIRE(a == b);
	if (a == HOST_BAD)
		REQUIRE(ra->status == rb->status);
	if (a == HOST_OK || a == HOST_NONE) {
		REQUIRE(strcmp(ra->host, rb->host) == 0);
		REQUIRE(ra->port == rb->port);
		REQUIRE(ra->head_len == rb->head_len);
		REQUIRE(ra->minor == rb->minor);
	}
}

/*
 * The buffer grows (each call sees all of it so far, as the front end
 * passes it): the verdict must be the one-shot verdict, and every call
 * before the last must be HOST_MORE.
 */
static void
check_splits(const char *text, size_t len)
{
	struct host_req	 whole, inc;
	enum host_rc	 rw, ri;
	uint8_t		*b;
	size_t		 at, step;

	rw = parse_len(text, len, &whole);
	b = xdup(text, len);
	for (at = 0; at <= len; at++) {
		memset(&inc, 0, sizeof(inc));
		ri = host_parse(&inc, b, at);
		if (ri == HOST_MORE)
			ri = host_parse(&inc, b, len);
		same_verdict(rw, &whole, ri, &inc);
	}
	memset(&inc, 0, sizeof(inc));
	for (step = 1, ri = HOST_MORE; step <= len && ri == HOST_MORE; step++)
		ri = host_parse(&inc, b, step);
	if (len == 0)
		ri = host_parse(&inc, b, 0);
	same_verdict(rw, &whole, ri, &inc);
	free(b);
}

static const char *const samples[] = {
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"GET /x?y HTTP/1.1\r\nUser-Agent: t\r\nhOsT:  Example.COM.:8080 \r\n"
	    "Accept: */*\r\n\r\nbody",
	"GET http://a.example:81/p HTTP/1.1\r\nHost: b.example\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	"SSH-2.0-OpenSSH_9.2\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\n\r\n",
	"get / http/1.1\r\n\r\n",
	"GET  / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\r\n\r\n",
	"",
};

START_TEST(every_split)
{
	size_t	i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		check_splits(samples[i], strlen(samples[i]));
}
END_TEST

START_TEST(origin_form)
{
	struct host_req	r;
	const char	*t = "GET /index.html HTTP/1.1\r\nHost: example.com"
			    "\r\nAccept: */*\r\n\r\nbody bytes";

	ck_assert_int_eq(parse(t, &r), HOST_OK);
	ck_assert_str_eq(r.host, "example.com");
	ck_assert_uint_eq(r.port, 0);
	ck_assert_int_eq(r.minor, 1);
	ck_assert_uint_eq(r.head_len, strlen(t) - strlen("body bytes"));
	ck_assert_ptr_null(r.why);

	/* Header names are case-insensitive. */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nhOsT: a.example\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "a.example");
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHOST:a\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_str_eq(r.host, "a");
	/* Not Host: similar names. */
	ck_assert_int_eq(parse("GET / HTTP/1.0\r\nHosts: a\r\nX-Host: b\r\n"
	    "\r\n", &r), HOST_NONE);
	/* HTTP/1.x with a later minor version is HTTP/1.1's business. */
	ck_assert_int_eq(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_int_eq(r.minor, 2);
}
END_TEST

START_TEST(absolute_wins)
{
	struct host_req	r;

	ck_assert_int_eq(parse("GET http://a.example:8080/x HTTP/1.1\r\n"
	    "Host: b.example\r\n\r\n", &r), HOST_OK);
	ck_assert_str_eq(r.host, "a.example");
	ck_assert_uint_eq(r.port, 8080);
	ck_assert_int_eq(parse("GET HTTPS://A.Example?q HTTP/1.1\r\n"
	    "Host: b.example:99\r\n\r\n", &r), HOST_OK);
	ck_assert_str_eq(r.host, "a.example");
	ck_assert_uint_eq(r.port, 0);
	/* No Host at all, or an empty one: the URL still names it. */
	ck_assert_int_eq(parse("GET http://[::1]/ HTTP/1.1\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_str_eq(r.host, "::1");
	ck_assert_int_eq(parse("GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_str_eq(r.host, "a");
	/* A bad Host is a 400 even though the URL wins. */
	ck_assert_int_eq(status_of("GET http://a/ HTTP/1.1\r\nHost: u@b\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET http://a/ HTTP/1.1\r\nHost: b\r\n"
	    "Host: c\r\n\r\n"), 400);
	/* Bad URLs. */
	ck_assert_int_eq(status_of("GET ftp://a/ HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET http:/a/ HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET http:///x HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET http://u:p@a/ HTTP/1.1\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET http://a:0/ HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET http://a:/ HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET http://a/#f HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET 1http://a/ HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET a HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(other_forms)
{
	struct host_req	r;

	ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_str_eq(r.host, "a");
	ck_assert_int_eq(status_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    400);
	/* CONNECT: authority-form only, routed by Host like the rest. */
	ck_assert_int_eq(parse("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "a");
	ck_assert_uint_eq(r.port, 443);
	ck_assert_int_eq(status_of("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    400);
}
END_TEST

START_TEST(host_port)
{
	struct host_req	r;

	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: example.com:8443\r\n"
	    "\r\n", &r), HOST_OK);
	ck_assert_str_eq(r.host, "example.com");
	ck_assert_uint_eq(r.port, 8443);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_uint_eq(r.port, 65535);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a:1\r\n\r\n", &r),
	    HOST_OK);
	ck_assert_uint_eq(r.port, 1);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"),
	    400);
}
END_TEST

START_TEST(names)
{
	struct host_req	r;
	char		t[600], name[300];

	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: Example.COM.\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "example.com");
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a_b-c.d9\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "a_b-c.d9");
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "192.0.2.1");
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: 1.2.3.4.example\r\n"
	    "\r\n", &r), HOST_OK);
	/* One trailing dot, no more; no empty labels. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a..\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: .\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: .a\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"),
	    400);
	/* Numeric names other than a dotted quad mean different things. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: 2130706433\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: 999.1.1.1\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: 0x7f.1\r\n\r\n"),
	    400);
	/* Characters outside [a-z0-9-_.]. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a~b\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: \xc3\xa9.a\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), 400);
	/* Label of 63 fine, 64 not; 253 in all fine, 254 not. */
	memset(name, 'a', 63);
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nHost: %.63s.b\r\n\r\n", name);
	ck_assert_int_eq(parse(t, &r), HOST_OK);
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nHost: %.63sa.b\r\n\r\n",
	    name);
	ck_assert_int_eq(status_of(t), 400);
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nHost: %.253s.\r\n\r\n",
	    name);
	ck_assert_int_eq(parse(t, &r), HOST_OK);
	ck_assert_uint_eq(strlen(r.host), 253);
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nHost: %.254s\r\n\r\n", name);
	ck_assert_int_eq(status_of(t), 400);
}
END_TEST

START_TEST(ipv6)
{
	struct host_req	r;

	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	    &r), HOST_OK);
	ck_assert_str_eq(r.host, "::1");
	ck_assert_uint_eq(r.port, 8080);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: [2001:DB8::0001]\r\n"
	    "\r\n", &r), HOST_OK);
	ck_assert_str_eq(r.host, "2001:db8::1");
	ck_assert_uint_eq(r.port, 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]\r\n"
	    "\r\n", &r), HOST_OK);
	ck_assert_str_eq(r.host, "::ffff:1.2.3.4");
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]"
	    "\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [1:2:3]\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: []\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: ::1\r\n\r\n"), 400);
}
END_TEST

START_TEST(no_name)
{
	struct host_req	r;

	ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &r), HOST_NONE);
	ck_assert_str_eq(r.host, "");
	ck_assert_uint_eq(r.port, 0);
	ck_assert_int_eq(r.minor, 0);
	ck_assert_uint_eq(r.head_len, 18);
	/* HTTP/1.1 without Host: the catch-all decides (see host_wire.c). */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", &r),
	    HOST_NONE);
	ck_assert_int_eq(r.minor, 1);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost:   \r\n\r\n", &r),
	    HOST_NONE);
	ck_assert_str_eq(r.host, "");
}
END_TEST

START_TEST(smuggling)
{
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost:\r\nHost: a\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: u:p@a:80\r\n\r\n"),
	    400);
	/* Folding, and whitespace before the colon. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: 1\r\n\tHost: b\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
	/* Bare LF, bare CR, NUL, controls, bad names. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(parse_len("GET / HTTP/1.1\r\nX: a\0b\r\nHost: a\r\n"
	    "\r\n", 35, &(struct host_req){ 0 }), HOST_BAD);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: a\x01\r\nHost: a\r\n"
	    "\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX\r\nHost: a\r\n\r\n"),
	    400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX(: a\r\nHost: a\r\n"
	    "\r\n"), 400);
}
END_TEST

START_TEST(request_line)
{
	ck_assert_int_eq(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
	ck_assert_int_eq(status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
	ck_assert_int_eq(status_of("GET / HTTP/0.9\r\n\r\n"), 505);
	ck_assert_int_eq(status_of("GET / HTTP/3"), 505);	/* at once */
	ck_assert_int_eq(status_of("GET / HTTP/1.10\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/10.0\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / http/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.x\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET /\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET\r\n\r\n"), 400);
	ck_assert_int_eq(status_of(" GET / HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("\r\nGET / HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET  / HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET /  HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1 \r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET /\x7f HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET /\t HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("G(T / HTTP/1.1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\r\n\r\n"), 400);
}
END_TEST

/* What is not HTTP is refused at its first impossible byte. */
START_TEST(not_http_at_once)
{
	struct host_req	r;
	static const uint8_t	tls[] = { 0x16, 0x03, 0x01, 0x00, 0xa5 };

	ck_assert_int_eq(parse_len(tls, 1, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(r.why);
	ck_assert_int_eq(parse_len(tls, sizeof(tls), &r), HOST_BAD);
	ck_assert_int_eq(r.status, 400);
	ck_assert_int_eq(status_of("\x80"), 400);
	ck_assert_int_eq(parse_len("\0", 1, &r), HOST_BAD);
	ck_assert_int_eq(status_of("SSH-2.0-x\r"), 400);
	ck_assert_int_eq(status_of("GET /\x16"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\x16"), 400);
	ck_assert_int_eq(status_of("GET / HX"), 400);
	/* Valid prefixes wait. */
	ck_assert_int_eq(parse("", &r), HOST_MORE);
	ck_assert_int_eq(parse("G", &r), HOST_MORE);
	ck_assert_int_eq(parse("GET / HTTP/1.", &r), HOST_MORE);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a", &r), HOST_MORE);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n\r", &r),
	    HOST_MORE);
}
END_TEST

START_TEST(line_limit)
{
	struct host_req	 r;
	size_t		 n = HTTP_MAX_LINE + 100, i;
	char		*t = malloc(n + 64);

	ck_assert_ptr_nonnull(t);
	memcpy(t, "GET /", 5);
	memset(t + 5, 'a', n - 5);
	/* No line end within HTTP_MAX_LINE: 414, not MORE. */
	ck_assert_int_eq(parse_len(t, HTTP_MAX_LINE - 1, &r), HOST_MORE);
	ck_assert_int_eq(parse_len(t, n, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 414);
	memcpy(t + n, " HTTP/1.1\r\n\r\n", 13);
	ck_assert_int_eq(parse_len(t, n + 13, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 414);
	/* A bad byte early in it is a 400 all the same. */
	t[10] = '\x01';
	ck_assert_int_eq(parse_len(t, n + 13, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 400);
	/* Exactly HTTP_MAX_LINE with its CRLF is fine. */
	i = HTTP_MAX_LINE - 11;		/* "GET " + target + " HTTP/1.1\r\n" */
	memcpy(t, "GET /", 5);
	memset(t + 5, 'a', i - 5);
	memcpy(t + i, " HTTP/1.1\r\n\r\n", 13);
	ck_assert_int_eq(parse_len(t, i + 13, &r), HOST_NONE);
	memmove(t + 5, t + 4, i + 13 - 4);	/* one byte more */
	ck_assert_int_eq(parse_len(t, i + 14, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 414);
	free(t);
}
END_TEST

START_TEST(head_limit)
{
	struct host_req	 r;
	size_t		 cap = 64 * 1024, n, len, step;
	char		*t = malloc(cap);
	enum host_rc	 rc = HOST_MORE;

	ck_assert_ptr_nonnull(t);
	n = (size_t)snprintf(t, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
	while (n + 40 < cap)
		n += (size_t)snprintf(t + n, cap - n,
		    "X-Pad: %030d\r\n", (int)n);
	ck_assert_int_eq(parse_len(t, n, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 431);
	/* Fed 1 KiB at a time: never MORE past the cap. */
	memset(&r, 0, sizeof(r));
	for (len = 1024, step = 0; len <= n && rc == HOST_MORE; len += 1024) {
		rc = host_parse(&r, (const uint8_t *)t, len);
		step++;
	}
	ck_assert_int_eq(rc, HOST_BAD);
	ck_assert_int_eq(r.status, 431);
	ck_assert_uint_le(step, HTTP_MAX_HEAD / 1024);
	free(t);
}
END_TEST

START_TEST(header_count)
{
	struct host_req	r;
	char		t[4096];
	size_t		n;
	int		i;

	n = (size_t)snprintf(t, sizeof(t), "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS - 1; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, "X%d: y\r\n", i);
	memcpy(t + n, "Host: a\r\n\r\n", 12);
	ck_assert_int_eq(parse(t, &r), HOST_OK);
	memcpy(t + n, "X: y\r\nHost: a\r\n\r\n", 18);
	ck_assert_int_eq(parse(t, &r), HOST_BAD);
	ck_assert_int_eq(r.status, 431);
}
END_TEST

/* Random mutations and random bytes: invariants, split-independence. */
START_TEST(fuzz)
{
	struct host_req	 r;
	uint8_t		 buf[256];
	size_t		 len, i, k;
	enum host_rc	 rc;
	int		 ok = 0;

	for (i = 0; i < 20000; i++) {
		srand(0x40575eed + (unsigned)i);
		if (rand() % 4 == 0) {
			len = (size_t)rand() % 64;
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)"GET / HTTP/1.1\r\n"
				    "Host: a:[]@.\x01\x00Z\t"[rand() % 32];
		} else {
			const char *sd = samples[rand() % 5];

			len = strlen(sd);
			memcpy(buf, sd, len);
			for (k = (size_t)rand() % 3; k > 0; k--)
				buf[rand() % (int)len] = (uint8_t)rand();
		}
		rc = parse_len(buf, len, &r);
		REQUIRE(rc >= HOST_OK && rc <= HOST_BAD);
		if (rc == HOST_BAD)
			REQUIRE(r.why != NULL && (r.status == 400 ||
			    r.status == 414 || r.status == 431 ||
			    r.status == 505));
		if (rc == HOST_OK) {
			ok++;
			REQUIRE(r.host[0] != '\0' && r.head_len <= len);
			for (k = 0; r.host[k] != '\0'; k++)
				REQUIRE(r.host[k] < 'A' || r.host[k] > 'Z');
			REQUIRE(r.host[k - 1] != '.');
		}
		if (rc == HOST_NONE)
			REQUIRE(r.host[0] == '\0');
		if (i % 8 == 0)
			check_splits((const char *)buf, len);
	}
	ck_assert_int_gt(ok, 1000);
}
END_TEST

static Suite *
host_suite(void)
{
	Suite	*s = suite_create("host");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, origin_form);
	tcase_add_test(tc, absolute_wins);
	tcase_add_test(tc, other_forms);
	tcase_add_test(tc, host_port);
	tcase_add_test(tc, names);
	tcase_add_test(tc, ipv6);
	tcase_add_test(tc, no_name);
	tcase_add_test(tc, smuggling);
	tcase_add_test(tc, request_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("incremental");
	tcase_add_test(tc, every_split);
	tcase_add_test(tc, not_http_at_once);
	tcase_add_test(tc, line_limit);
	tcase_add_test(tc, head_limit);
	tcase_add_test(tc, header_count);
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
	SRunner	*sr = srunner_create(host_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
