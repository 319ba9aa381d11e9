/*
 * Unit tests for worker/proto/tls_hello.c: a browser-like ClientHello
 * built here byte by byte, cut at every byte and fragmented into records
 * of every small size; lengths that lie, at every level; the limits
 * (extension count, TLS_HELLO_MAX); server names that are not host
 * names; ALPN; other protocols; and a seeded mutation loop.
 *
 * Every input is parsed from a heap block of exactly its length (xdup),
 * so an ASan build catches any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/tls_hello.h"
#include "check_tls_hello.h"
#include "check_wire.h"

/* Parses an exact-size copy and checks what must always hold. */
static enum tls_hello_rc
parse(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	uint8_t			*b = xdup(buf, len);
	enum tls_hello_rc	 rc;

	rc = tls_hello_parse(b, len, h);
	free(b);
	REQUIRE(rc >= TLS_HELLO_OK && rc <= TLS_HELLO_BAD);
	if (rc == TLS_HELLO_MORE)
		REQUIRE(len < TLS_HELLO_MAX);
	if (rc == TLS_HELLO_OK)
		REQUIRE(h->len > 0 && h->len <= len && h->why == NULL &&
		    strlen(h->sni) <= 253 && h->nalpn <= TLS_ALPN_MAX);
	if (rc == TLS_HELLO_NOT_TLS || rc == TLS_HELLO_BAD)
		REQUIRE(h->why != NULL);
	return rc;
}

static uint8_t	rec[HB_CAP + 8192];
static struct hb m;

/* The default hello's result, whatever records carry it. */
static void
is_default(const struct tls_hello *h, size_t len)
{
	ck_assert_str_eq(h->sni, "example.com");
	ck_assert_uint_eq(h->nalpn, 2);
	ck_assert_str_eq(h->alpn[0], "h2");
	ck_assert_str_eq(h->alpn[1], "http/1.1");
	ck_assert_uint_eq(h->version, 0x0303);
	ck_assert_uint_eq(h->len, len);
}

static const struct hopt def = { .sni = "Example.COM." };

/* The last result of rc_of(). */
static struct tls_hello	H;

static enum tls_hello_rc
rc_of(const void *p, size_t len)
{
	return parse(p, len, &H);
}

/* The hello o describes, in one record. */
static enum tls_hello_rc
rc_opt(const struct hopt *o, struct tls_hello *h)
{
	hello(&m, o);
	return parse(rec, wrap1(&m, rec), h);
}

START_TEST(real_hello)
{
	struct tls_hello	h;
	size_t			n;

	hello(&m, &def);
	n = wrap1(&m, rec);
	ck_assert_uint_eq(n, m.n + 5);
	ck_assert_int_eq(parse(rec, n, &h), TLS_HELLO_OK);
	is_default(&h, n);

	/* What follows the hello's record is not the hello's. */
	memcpy(rec + n, "\x14\x03\x03\x00\x01\x01", 6);
	ck_assert_int_eq(parse(rec, n + 6, &h), TLS_HELLO_OK);
	is_default(&h, n);
}
END_TEST

/*
 * Every prefix is MORE, the whole is OK: in one record (_i 8), in records
 * of 1..7 bytes, in three uneven records (_i 0).
 */
START_TEST(fragmented)
{
	static const size_t	 uneven[] = { 3, 150, 16384 };
	struct tls_hello	 h;
	size_t			 n, i, size = (size_t)_i;

	hello(&m, &def);
	if (size == 8)
		size = 16384;
	if (size == 0)
		n = wrap(m.b, m.n, uneven, 3, rec);
	else
		n = wrap(m.b, m.n, &size, 1, rec);
	ck_assert_uint_eq(n, m.n + 5 * (size ? (m.n + size - 1) / size : 3));
	for (i = 0; i < n; i++)
		REQUIRE(parse(rec, i, &h) == TLS_HELLO_MORE);
	ck_assert_int_eq(parse(rec, n, &h), TLS_HELLO_OK);
	is_default(&h, n);
}
END_TEST

START_TEST(no_sni)
{
	struct tls_hello	h;
	struct hopt		o = { .no_alpn = 1 };

	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_str_eq(h.sni, "");
	ck_assert_uint_eq(h.nalpn, 0);
	ck_assert_uint_eq(h.len, m.n + 5);
	/* SSLv3 style: nothing at all after compression_methods. */
	o.noext = 1;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_str_eq(h.sni, "");
	ck_assert_uint_eq(h.len, m.n + 5);
	/* An empty extensions block is fine as well. */
	o.noext = 0;
	hello(&m, &o);
	m.n = m.extlen + 2;
	putv(&m, m.extlen, 2, 0);
	putv(&m, m.hslen, 3, m.n - 4);
	ck_assert_int_eq(rc_of(rec, wrap1(&m, rec)), TLS_HELLO_OK);
}
END_TEST

START_TEST(not_tls)
{
	static const struct {
		const char		*in;
		size_t			 len;
		enum tls_hello_rc	 rc;
	} t[] = {
		{ "\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10", 11,
		    TLS_HELLO_NOT_TLS },		/* SSLv2 */
		{ "\x80", 1, TLS_HELLO_NOT_TLS },
		{ "GET / HTTP/1.1\r\n", 16, TLS_HELLO_NOT_TLS },
		{ "G", 1, TLS_HELLO_NOT_TLS },
		{ "\x15\x03\x03\x00\x02\x02\x28", 7, TLS_HELLO_NOT_TLS },
		{ "\x16\x02", 2, TLS_HELLO_NOT_TLS },
		{ "", 0, TLS_HELLO_MORE },
		{ "\x16", 1, TLS_HELLO_MORE },
		{ "\x16\x03\x00\x00", 4, TLS_HELLO_MORE },
		/* TLS, but not a hello we accept. */
		{ "\x16\x03\x05", 3, TLS_HELLO_BAD },
		{ "\x16\x03\x01\x00\x00", 5, TLS_HELLO_BAD },
		{ "\x16\x03\x01\x40\x01", 5, TLS_HELLO_BAD },
		{ "\x16\x03\x01\x00\x04\x02", 6, TLS_HELLO_BAD },
		/* A second record that is not handshake, or not 3.x. */
		{ "\x16\x03\x01\x00\x01\x01\x15", 7, TLS_HELLO_BAD },
		{ "\x16\x03\x01\x00\x01\x01\x16\x04", 8, TLS_HELLO_BAD },
	};
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (rc_of(t[i].in, t[i].len) != t[i].rc)
			ck_abort_msg("case %zu: %s", i, H.why);
	ck_assert_int_eq(rc_of(t[0].in, t[0].len), TLS_HELLO_NOT_TLS);
	ck_assert_str_eq(H.why, "SSLv2 hello");
	ck_assert_int_eq(rc_of(t[2].in, t[2].len), TLS_HELLO_NOT_TLS);
	ck_assert_str_ne(H.why, "SSLv2 hello");
	ck_assert_int_eq(rc_of(t[12].in, t[12].len), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "not a client hello");
}
END_TEST

START_TEST(alert)
{
	uint8_t	out[TLS_ALERT_LEN];

	tls_alert(out, 112);
	ck_assert(memcmp(out, "\x15\x03\x03\x00\x02\x02\x70", 7) == 0);
}
END_TEST

/* Adds d to the lb-byte big-endian length at m.b[at]. */
static void
bump(size_t at, size_t lb, long d)
{
	size_t	v = 0, i;

	for (i = 0; i < lb; i++)
		v = v << 8 | m.b[at + i];
	putv(&m, at, lb, (size_t)((long)v + d));
}

/* The default hello with one length changed, in records of rsize. */
static enum tls_hello_rc
rc_bumped(size_t at, size_t lb, long d, size_t rsize)
{
	hello(&m, &def);
	bump(at, lb, d);
	return rc_of(rec, wrap(m.b, m.n, &rsize, 1, rec));
}

START_TEST(lying_lengths)
{
	static const struct {
		size_t	*at;		/* the field, in m */
		size_t	 plus, lb;	/* bytes after it; its size */
		long	 d;
	} t[] = {
		{ &m.hslen, 0, 3, -1 }, { &m.hslen, 0, 3, -100 },
		{ &m.extlen, 0, 2, 1 }, { &m.extlen, 0, 2, -1 },
		{ &m.sni_ext, 0, 2, 1 }, { &m.sni_ext, 0, 2, -1 },
		{ &m.sni_ext, 0, 2, 30000 }, { &m.sni_list, 0, 2, 1 },
		{ &m.sni_list, 0, 2, -1 }, { &m.sni_name, 0, 2, 1 },
		{ &m.sni_name, 0, 2, -1 }, { &m.alpn_list, 0, 2, 1 },
		{ &m.alpn_list, 0, 2, -1 }, { &m.alpn_list, 2, 1, 1 },
	};
	size_t		 n, i, k;

	hello(&m, &def);
	/* Handshake longer than its extensions: two stray bytes. */
	bump(m.hslen, 3, 2);
	put16(&m, 0);
	n = wrap1(&m, rec);
	ck_assert_int_eq(rc_of(rec, n), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "bytes after extensions");
	/* Longer than the records: more is needed, then it lies. */
	ck_assert_int_eq(rc_bumped(m.hslen, 3, 1, 16384), TLS_HELLO_MORE);
	n = wrap1(&m, rec);
	memcpy(rec + n, "\x16\x03\x03\x00\x01\x00", 6);
	ck_assert_int_eq(rc_of(rec, n + 6), TLS_HELLO_BAD);
	/* Each lie in one record, and one byte per record. */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (k = 1; k <= 16384; k += 16383)
			if (rc_bumped(*t[i].at + t[i].plus, t[i].lb, t[i].d,
			    k) != TLS_HELLO_BAD)
				ck_abort_msg("case %zu, records of %zu", i, k);
	ck_assert_int_eq(rc_bumped(m.sni_list, 2, 1, 16384), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "bad server_name list");
}
END_TEST

START_TEST(bad_vectors)
{
	static const struct {
		int			 dsid, dciph, dcomp;
		enum tls_hello_rc	 rc;
		const char		*why;
	} t[] = {
		{ 1, 0, 0, TLS_HELLO_BAD, "bad session id" },
		{ -32, 0, 0, TLS_HELLO_OK, NULL },
		{ 0, -1, 0, TLS_HELLO_BAD, "bad cipher suites" },
		{ 0, -14, 0, TLS_HELLO_BAD, "bad cipher suites" },
		{ 0, -12, 0, TLS_HELLO_OK, NULL },
		{ 0, 0, -1, TLS_HELLO_BAD, "bad compression methods" },
		{ 0, 0, 1, TLS_HELLO_OK, NULL },
	};
	struct tls_hello	h;
	struct hopt		o = def;
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		o.dsid = t[i].dsid;
		o.dciph = t[i].dciph;
		o.dcomp = t[i].dcomp;
		ck_assert_int_eq(rc_opt(&o, &h), t[i].rc);
		if (t[i].why != NULL)
			ck_assert_str_eq(h.why, t[i].why);
	}
	/* A hello cut inside its random. */
	hello(&m, &def);
	m.n = 20;
	putv(&m, m.hslen, 3, 16);
	ck_assert_int_eq(parse(rec, wrap1(&m, rec), &h), TLS_HELLO_BAD);
}
END_TEST

START_TEST(extension_limits)
{
	struct tls_hello	 h;
	struct hopt		 o = def;

	o.extra = 100;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_BAD);
	ck_assert_str_eq(h.why, "too many extensions");
	/* Exactly the cap, then one more. */
	o.extra = 0;
	hello(&m, &o);
	o.extra = EXT_CAP - m.next;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(m.next, EXT_CAP);
	o.extra++;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_BAD);
	ck_assert_str_eq(h.why, "too many extensions");
	o = def;
	o.dup = 1;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_BAD);
	ck_assert_str_eq(h.why, "duplicate extension");
	/* A type made the same as a later one's. */
	hello(&m, &def);
	m.b[m.sni_ext - 1] = 23;
	ck_assert_int_eq(rc_of(rec, wrap1(&m, rec)), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "duplicate extension");
	/* GREASE types carry nothing: the same one twice is ignored. */
	hello(&m, &def);
	m.b[m.extlen + 2] = 0xfa;
	m.b[m.extlen + 3] = 0xfa;
	ck_assert_int_eq(rc_of(rec, wrap1(&m, rec)), TLS_HELLO_OK);
}
END_TEST

/* A hello whose handshake message is exactly hs bytes long. */
static void
hello_sized(size_t hs)
{
	struct hopt	o = def;

	o.pad = 0;
	hello(&m, &o);
	o.pad = hs - m.n - 4;
	hello(&m, &o);
	REQUIRE(m.n == hs);
}

START_TEST(too_long)
{
	static const size_t	 halves[] = { 8192 };
	struct tls_hello	 h;
	size_t			 n, i, one = 1;
	enum tls_hello_rc	 rc, last = TLS_HELLO_MORE;

	/* The largest that fits: one full record. */
	hello_sized(16384);
	n = wrap1(&m, rec);
	ck_assert_uint_eq(n, TLS_HELLO_MAX);
	ck_assert_int_eq(parse(rec, n, &h), TLS_HELLO_OK);
	ck_assert_str_eq(h.sni, "example.com");
	/* One byte more: known BAD from the handshake header on. */
	hello_sized(16385);
	n = wrap1(&m, rec);
	ck_assert_int_eq(rc_of(rec, 8), TLS_HELLO_MORE);
	ck_assert_int_eq(rc_of(rec, 9), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "hello too long");
	ck_assert_int_eq(rc_of(rec, n), TLS_HELLO_BAD);
	/* Fits one record, not two. */
	hello_sized(16384);
	n = wrap(m.b, m.n, halves, 1, rec);
	ck_assert_int_eq(rc_of(rec, 9), TLS_HELLO_BAD);
	/*
	 * A small hello in one-byte records needs 6 bytes per byte: BAD
	 * once that is certain, and never MORE with a full buffer.
	 */
	hello_sized(3000);
	n = wrap(m.b, m.n, &one, 1, rec);
	for (i = 0; i <= n; i++) {
		rc = parse(rec, i, &h);
		REQUIRE(rc == TLS_HELLO_MORE || rc == TLS_HELLO_BAD);
		REQUIRE(last == TLS_HELLO_MORE || rc == TLS_HELLO_BAD);
		last = rc;
	}
	ck_assert_int_eq(last, TLS_HELLO_BAD);
	ck_assert_str_eq(h.why, "hello too long");
}
END_TEST

static enum tls_hello_rc
sni_rc(const char *name, size_t len, struct tls_hello *h)
{
	struct hopt	o = { .sni = name, .snilen = len, .no_alpn = 1 };

	return rc_opt(&o, h);
}

START_TEST(server_names)
{
	static const char *const bad[] = { "10.0.0.1", "10.0.0.1.", "1",
	    "a b.com", "", ".", "::1", "[::1]", "-a.com", "a-.com", "a..com",
	    ".a.com", "a.com..", "a.com/", "a.com:443", "caf\xc3\xa9.fr",
	    "a*.com", "a.-", "a.b-" };
	static const char *const good[][2] = {
		{ "Example.COM.", "example.com" }, { "localhost", "localhost" },
		{ "_dmarc.Ex-Ample.com", "_dmarc.ex-ample.com" },
		{ "123.com", "123.com" }, { "a.1", "a.1" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" } };
	struct tls_hello	 h;
	char			 name[400];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sni_rc(bad[i], 0, &h) != TLS_HELLO_BAD)
			ck_abort_msg("accepted \"%s\"", bad[i]);
		ck_assert_str_eq(h.sni, "");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (sni_rc(good[i][0], 0, &h) != TLS_HELLO_OK)
			ck_abort_msg("rejected \"%s\": %s", good[i][0], h.why);
		ck_assert_str_eq(h.sni, good[i][1]);
	}
	ck_assert_int_eq(sni_rc("a\0b.com", 7, &h), TLS_HELLO_BAD);
	/* 300 bytes; 253 (and a dot); 254; a 63 and a 64 byte label. */
	memset(name, 'a', sizeof(name));
	for (i = 1; i < 300; i += 50)
		name[i] = '.';
	ck_assert_int_eq(sni_rc(name, 300, &h), TLS_HELLO_BAD);
	name[253] = '.';
	ck_assert_int_eq(sni_rc(name, 253, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(strlen(h.sni), 253);
	ck_assert_int_eq(sni_rc(name, 254, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(strlen(h.sni), 253);
	name[253] = 'a';
	ck_assert_int_eq(sni_rc(name, 254, &h), TLS_HELLO_BAD);
	memset(name, 'b', 63);
	memcpy(name + 63, ".com", 5);
	ck_assert_int_eq(sni_rc(name, 0, &h), TLS_HELLO_OK);
	ck_assert_int_eq(sni_rc("b", 0, &h), TLS_HELLO_OK);
	memset(name, 'b', 64);
	memcpy(name + 64, ".com", 5);
	ck_assert_int_eq(sni_rc(name, 0, &h), TLS_HELLO_BAD);
}
END_TEST

START_TEST(two_names)
{
	struct tls_hello	 h;
	struct hopt		 o = def;

	o.sni2 = "other.example";
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_str_eq(h.sni, "example.com");
	/* Later ones are not read as names: any bytes do. */
	o.sni2 = "not a name";
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	/* An unknown name_type first is skipped. */
	o.sni2 = NULL;
	o.sni_other = 1;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_str_eq(h.sni, "example.com");
}
END_TEST

START_TEST(alpn)
{
	static const char *const many[] = { "a", "\x0a\x0a", "b", "c", "d",
	    "e", "f", "g", "h", "i", "j" };
	static const char *const grease_only[] = { "\xfa\xfa" };
	static const char *const nul[] = { "h2", "xNy" };
	struct tls_hello	 h;
	struct hopt		 o = def;
	uint8_t			*p;
	char			 big[256];
	const char		*bigp[1] = { big };

	o.alpn = many;
	o.nalpn = 11;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(h.nalpn, TLS_ALPN_MAX);
	ck_assert_str_eq(h.alpn[0], "a");
	ck_assert_str_eq(h.alpn[1], "b");
	ck_assert_str_eq(h.alpn[7], "h");
	o.alpn = grease_only;
	o.nalpn = 1;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(h.nalpn, 0);
	memset(big, 'p', 255);
	big[255] = '\0';
	o.alpn = bigp;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_OK);
	ck_assert_uint_eq(strlen(h.alpn[0]), 255);
	o.alpn = nul;
	o.nalpn = 2;
	hello(&m, &o);
	p = memchr(m.b, 'N', m.n);
	*p = '\0';
	ck_assert_int_eq(rc_of(rec, wrap1(&m, rec)), TLS_HELLO_BAD);
	ck_assert_str_eq(H.why, "NUL in ALPN name");
	/* An empty name; an empty list. */
	o = def;
	hello(&m, &o);
	m.b[m.alpn_list + 2] = 0;
	ck_assert_int_eq(rc_of(rec, wrap1(&m, rec)), TLS_HELLO_BAD);
	o.alpn = many;
	o.nalpn = 0;
	ck_assert_int_eq(rc_opt(&o, &h), TLS_HELLO_BAD);
}
END_TEST

/*
 * Mutated hellos in random fragments: the invariants in parse() hold,
 * and a prefix never disagrees with the whole (MORE aside).
 */
START_TEST(mutations)
{
	static uint8_t		 buf[4096];
	struct tls_hello	 h, hp;
	size_t			 n, i, k, sizes[3];
	enum tls_hello_rc	 rc, rp;
	int			 ok = 0;

	hello(&m, &def);
	srand(0x7e55);
	for (i = 0; i < 20000; i++) {
		for (k = 0; k < 3; k++)
			sizes[k] = 1 + (size_t)rand() % (k == 2 ? 600 : 40);
		n = wrap(m.b, m.n, sizes, 3, buf);
		for (k = (size_t)rand() % 4; k > 0; k--)
			buf[(size_t)rand() % n] ^= (uint8_t)(1 + rand() % 255);
		n -= (size_t)rand() % 3;
		if ((rc = parse(buf, n, &h)) == TLS_HELLO_OK)
			ok++;
		k = (size_t)rand() % (n + 1);
		rp = parse(buf, k, &hp);
		if (rp != TLS_HELLO_MORE)
			REQUIRE(rp == rc);
		if (rc == TLS_HELLO_OK && k < h.len)
			REQUIRE(rp == TLS_HELLO_MORE);
		if (rp == TLS_HELLO_OK)
			REQUIRE(hp.len == h.len && strcmp(hp.sni, h.sni) == 0);
	}
	ck_assert_int_gt(ok, 2000);
}
END_TEST

static Suite *
tls_hello_suite(void)
{
	Suite	*s = suite_create("tls_hello");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, real_hello);
	tcase_add_loop_test(tc, fragmented, 0, 9);
	tcase_add_test(tc, no_sni);
	tcase_add_test(tc, not_tls);
	tcase_add_test(tc, alert);
	tcase_add_test(tc, lying_lengths);
	tcase_add_test(tc, bad_vectors);
	tcase_add_test(tc, extension_limits);
	tcase_add_test(tc, too_long);
	tcase_add_test(tc, server_names);
	tcase_add_test(tc, two_names);
	tcase_add_test(tc, alpn);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tls_hello_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
