/*
 * Unit tests for tunnel/tls_psk.c: an agent and a server in one
 * process, ciphertext shuttled between them in memory.  Handshake and data
 * both ways; a wrong secret and an unknown name, compared byte for byte on
 * the wire; a recorded handshake replayed into a fresh server; garbage,
 * oversized and truncated records; the same handshakes in a child under
 * the worker's seccomp allowlist.  check_tls_psk_raw.c has the hand-built
 * OpenSSL client that tries early data, other ciphers and other groups.
 */
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "tunnel/tls_psk.h"
#include "check_tls_psk.h"

/* The server's agents: name -> secret. */
static const char *const agents[][2] = {
	{ "office-1", SECRET },
	{ "lab.2", "another secret of some length" },
};

int lookups;

static int
lookup(void *arg, const char *name, uint8_t *secret, size_t *len)
{
	size_t	i, n;

	lookups++;
	for (i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		if (strcmp(agents[i][0], name) != 0)
			continue;
		n = strlen(agents[i][1]);
		ck_assert_uint_le(n, *len);
		memcpy(secret, agents[i][1], n);
		*len = n;
		return 0;
	}
	return -1;
}

void
record(struct wire *w, const uint8_t *b, size_t n)
{
	if (w != NULL && w->n + n <= sizeof(w->b)) {
		memcpy(w->b + w->n, b, n);
		w->n += n;
	}
}

/*
 * Where move() puts plaintext when the receiver's input is full: the
 * receiver of a transfer() reads as it goes, everyone else must not fill
 * it (a NULL sink fails the test).
 */
struct sink {
	struct tun_tls	*t;
	uint8_t		*b;
	size_t		 n, cap;
};
static struct sink	*sink;

static void
drain(struct tun_tls *b)
{
	uint8_t	buf[16384];
	ssize_t	r;

	ck_assert_msg(sink != NULL && sink->t == b, "receiver full");
	while ((r = tun_tls_read(b, buf, sizeof(buf))) > 0) {
		ck_assert_uint_le(sink->n + (size_t)r, sink->cap);
		memcpy(sink->b + sink->n, buf, (size_t)r);
		sink->n += (size_t)r;
	}
	ck_assert_msg(r == 0, "read: %s", tun_tls_reason(b));
}

/* Move a's ciphertext into b; record it if w is set. */
static void
move(struct tun_tls *a, struct tun_tls *b, struct wire *w)
{
	uint8_t	buf[4096];
	size_t	n, off;
	ssize_t	r;

	while ((n = tun_tls_take(a, buf, sizeof(buf))) > 0) {
		record(w, buf, n);
		for (off = 0; off < n; off += (size_t)r) {
			if ((r = tun_tls_feed(b, buf + off, n - off)) < 0)
				break;
			if (r == 0)
				drain(b);
		}
	}
}

/* Shuttle both ways until neither has anything to send. */
void
shuttle(struct tun_tls *c, struct tun_tls *s, struct wire *cw,
    struct wire *sw)
{
	int	i;

	for (i = 0; i < 16; i++) {
		if (tun_tls_pending(c) == 0 && tun_tls_pending(s) == 0)
			break;
		move(c, s, cw);
		move(s, c, sw);
	}
}

struct tun_tls *
client(const char *name, const char *secret)
{
	struct tun_tls	*c;

	c = tun_tls_client(name, (const uint8_t *)secret, strlen(secret));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_HANDSHAKE);
	ck_assert_uint_gt(tun_tls_pending(c), 0);	/* the ClientHello */
	return c;
}

struct tun_tls *
server(void)
{
	struct tun_tls	*s = tun_tls_server(lookup, NULL);

	ck_assert_ptr_nonnull(s);
	return s;
}

static void
open_pair(struct tun_tls **c, struct tun_tls **s)
{
	*c = client("office-1", SECRET);
	*s = server();
	shuttle(*c, *s, NULL, NULL);
	ck_assert_msg(tun_tls_state(*c) == TUN_TLS_OPEN, "client: %s",
	    tun_tls_reason(*c));
	ck_assert_msg(tun_tls_state(*s) == TUN_TLS_OPEN, "server: %s",
	    tun_tls_reason(*s));
}

/* Send len bytes from a to b in pieces of at most step; compare. */
static void
transfer(struct tun_tls *a, struct tun_tls *b, size_t len, size_t step)
{
	uint8_t		*src = malloc(len);
	struct sink	 in = { b, malloc(len), 0, len };
	size_t		 sent = 0, i, n;
	ssize_t		 r;
	int		 idle = 0;

	ck_assert(src != NULL && in.b != NULL);
	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	sink = &in;
	while (in.n < len && idle < 4) {
		n = len - sent < step ? len - sent : step;
		r = n > 0 ? tun_tls_write(a, src + sent, n) : 0;
		ck_assert_msg(r >= 0, "write: %s", tun_tls_reason(a));
		sent += (size_t)r;
		move(a, b, NULL);
		move(b, a, NULL);	/* KeyUpdate answers, if any */
		i = in.n;
		drain(b);
		idle = r == 0 && in.n == i ? idle + 1 : 0;
	}
	sink = NULL;
	ck_assert_uint_eq(in.n, len);
	ck_assert(memcmp(src, in.b, len) == 0);
	free(src);
	free(in.b);
}

START_TEST(derive_vector)
{
	/* HKDF-SHA256 computed independently (Python hmac). */
	static const uint8_t want[TUN_TLS_PSK_LEN] = {
		0x18, 0x24, 0x38, 0x5c, 0x9c, 0xfa, 0xdf, 0x67,
		0x7e, 0x74, 0x3c, 0x2b, 0xf8, 0xa8, 0x4c, 0xca,
		0x74, 0xf4, 0xe7, 0x0e, 0x8e, 0x35, 0x2d, 0x66,
		0xaf, 0xdf, 0xc3, 0xd5, 0xbf, 0x5c, 0x9d, 0x3f,
	};
	static const char *const bad[] = { "", "a b", "a/b", "x\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	uint8_t		 got[TUN_TLS_PSK_LEN], big[TUN_TLS_SECRET_MAX + 1];
	const char	*why;
	size_t		 i;

	ck_assert_int_eq(tun_tls_global_init(&why), 0);
	ck_assert_int_eq(tun_tls_derive_psk("office-1",
	    (const uint8_t *)SECRET, strlen(SECRET), got), 0);
	ck_assert(memcmp(got, want, sizeof(want)) == 0);
	/* The name is bound in: another name, another key. */
	ck_assert_int_eq(tun_tls_derive_psk("office-2",
	    (const uint8_t *)SECRET, strlen(SECRET), got), 0);
	ck_assert(memcmp(got, want, sizeof(want)) != 0);
	/* Names: [A-Za-z0-9._-], 1 to 64; secrets: 1 to 1024 bytes. */
	memset(big, 'k', sizeof(big));
	ck_assert_uint_eq(strlen(bad[4]), TUN_TLS_NAME_MAX + 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(tun_tls_derive_psk(bad[i], big, 8, got), -1);
		ck_assert_ptr_null(tun_tls_client(bad[i], big, 8));
	}
	ck_assert_int_eq(tun_tls_derive_psk(bad[4] + 1, big, 8, got), 0);
	ck_assert_int_eq(tun_tls_derive_psk("ok", big, 0, got), -1);
	ck_assert_int_eq(tun_tls_derive_psk("ok", big, sizeof(big), got), -1);
	ck_assert_int_eq(tun_tls_derive_psk("ok", big, sizeof(big) - 1, got),
	    0);
	ck_assert_ptr_null(tun_tls_client("ok", big, 0));
}
END_TEST

static int
small_bio(BIO *b)
{
	BUF_MEM	*m = NULL;

	BIO_get_mem_ptr(b, &m);
	return m != NULL && m->max <= 4096;
}

START_TEST(handshake_and_data)
{
	struct tun_tls	*c, *s;
	SSL		*ssl;

	s = server();
	ck_assert_ptr_null(tun_tls_peer(s));
	tun_tls_free(s);
	open_pair(&c, &s);
	ck_assert_str_eq(tun_tls_peer(s), "office-1");
	ck_assert_str_eq(tun_tls_cipher(s), "TLS_AES_128_GCM_SHA256");
	ck_assert_str_eq(tun_tls_cipher(c), "TLS_AES_128_GCM_SHA256");
	ck_assert_str_eq(tun_tls_group(s), "X25519");
	ck_assert_str_eq(tun_tls_group(c), "X25519");
	ck_assert_str_eq(tun_tls_reason(s), "");
	/* Asked of OpenSSL directly, both ends. */
	ssl = tun_tls_ssl(s);
	ck_assert_int_eq(SSL_version(ssl), TLS1_3_VERSION);
	ck_assert_int_eq(SSL_session_reused(ssl), 1);	/* the PSK */
	ck_assert_int_eq(SSL_get_negotiated_group(ssl), NID_X25519);
	ck_assert_ptr_null(SSL_get0_peer_certificate(tun_tls_ssl(c)));
	ck_assert_int_ne(SSL_get_early_data_status(ssl),
	    SSL_EARLY_DATA_ACCEPTED);

	transfer(c, s, 1, 1);
	transfer(s, c, 1, 1);
	transfer(c, s, 16384, 16384);
	transfer(s, c, 16384, 1000);
	transfer(c, s, 1 << 20, 7777);
	transfer(s, c, 1 << 20, 1 << 20);	/* write takes <= OUTBUF */
	/* Idle again: no memory BIO kept its burst size. */
	ck_assert(small_bio(SSL_get_rbio(tun_tls_ssl(c))));
	ck_assert(small_bio(SSL_get_wbio(tun_tls_ssl(c))));
	ck_assert(small_bio(SSL_get_rbio(tun_tls_ssl(s))));
	ck_assert(small_bio(SSL_get_wbio(tun_tls_ssl(s))));

	/* close_notify: the peer sees CLOSED, not FAILED. */
	tun_tls_close(c);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_CLOSED);
	move(c, s, NULL);
	ck_assert_int_eq(tun_tls_read(s, (uint8_t[8]){ 0 }, 8), -1);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_CLOSED);
	ck_assert_int_eq(tun_tls_write(s, (const uint8_t *)"x", 1), -1);
	tun_tls_eof(s);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_CLOSED);
	tun_tls_free(c);
	tun_tls_free(s);
}
END_TEST

static int key_updates;

static void
count_key_updates(int write_p, int version, int type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	if (!write_p && type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const uint8_t *)buf)[0] == SSL3_MT_KEY_UPDATE)
		key_updates++;
}

START_TEST(rekey)
{
	struct tun_tls	*c, *s;

	open_pair(&c, &s);
	tun_tls_set_rekey(c, 3000);
	tun_tls_set_rekey(s, 5000);
	SSL_set_msg_callback(tun_tls_ssl(s), count_key_updates);
	transfer(c, s, 200000, 1024);
	ck_assert_int_ge(key_updates, 200000 / 3000 - 1);	/* received */
	transfer(s, c, 200000, 4096);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_OPEN);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_OPEN);
	tun_tls_free(c);
	tun_tls_free(s);
}
END_TEST

static struct wire	wrong_wire, unknown_wire;

/* What the server sends for a bad binder: a fatal illegal_parameter. */
const uint8_t	refusal[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02,
			    0x2f };

void
feed_all(struct tun_tls *t, const uint8_t *b, size_t n)
{
	ssize_t	r = 0;
	size_t	off;

	for (off = 0; off < n; off += (size_t)r)
		if ((r = tun_tls_feed(t, b + off, n - off)) <= 0)
			break;
}

/* Run a failing handshake; return what the server sent the client. */
static void
refused(const char *name, const char *secret, struct wire *sw,
    const char *server_reason)
{
	struct tun_tls	*c = client(name, secret), *s = server();
	uint8_t		 buf[64];

	lookups = 0;
	memset(sw, 0, sizeof(*sw));
	shuttle(c, s, NULL, sw);
	ck_assert_int_eq(lookups, 1);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_FAILED);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	ck_assert_str_eq(tun_tls_reason(c),
	    "handshake: sslv3 alert illegal parameter");
	ck_assert_str_eq(tun_tls_reason(s), server_reason);
	ck_assert_ptr_null(tun_tls_peer(s));
	ck_assert_int_eq(tun_tls_read(s, buf, sizeof(buf)), -1);
	ck_assert_int_eq(tun_tls_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(tun_tls_write(c, buf, 1), -1);
	ck_assert_int_eq(tun_tls_feed(s, buf, 1), -1);
	tun_tls_free(c);
	tun_tls_free(s);
}

START_TEST(wrong_secret_and_unknown_name)
{
	refused("office-1", "not the secret", &wrong_wire,
	    "wrong secret for agent \"office-1\"");
	refused("stranger", "not the secret", &unknown_wire,
	    "unknown agent \"stranger\"");
	/* The client cannot tell them apart: same bytes, nothing more. */
	ck_assert_uint_eq(wrong_wire.n, sizeof(refusal));
	ck_assert(memcmp(wrong_wire.b, refusal, sizeof(refusal)) == 0);
	ck_assert_uint_eq(unknown_wire.n, wrong_wire.n);
	ck_assert(memcmp(unknown_wire.b, wrong_wire.b, wrong_wire.n) == 0);
	/* Another agent's secret is a wrong secret too. */
	refused("office-1", agents[1][1], &wrong_wire,
	    "wrong secret for agent \"office-1\"");
	ck_assert(memcmp(wrong_wire.b, refusal, sizeof(refusal)) == 0);
}
END_TEST

START_TEST(replay)
{
	struct tun_tls	*c, *s, *fresh;
	static struct wire cw;
	uint8_t		 buf[4096], *p;
	size_t		 first;
	int		 round;

	/* Record a good session: the client's two flights and some data. */
	memset(&cw, 0, sizeof(cw));
	c = client("office-1", SECRET);
	s = server();
	move(c, s, &cw);
	first = cw.n;				/* the ClientHello flight */
	shuttle(c, s, &cw, NULL);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_OPEN);
	ck_assert_int_eq(tun_tls_write(c, (const uint8_t *)"secret data",
	    11), 11);
	move(c, s, &cw);
	ck_assert_uint_gt(cw.n, first);
	tun_tls_free(c);
	tun_tls_free(s);

	/* Replayed into fresh servers: whole, and flight by flight. */
	for (round = 0; round < 2; round++) {
		fresh = server();
		p = cw.b;
		if (round == 1) {
			ck_assert_int_eq(tun_tls_feed(fresh, p, first),
			    (ssize_t)first);
			ck_assert_int_eq(tun_tls_state(fresh),
			    TUN_TLS_HANDSHAKE);
			ck_assert_uint_gt(tun_tls_pending(fresh), 0);
			p += first;
		}
		feed_all(fresh, p, (size_t)(cw.b + cw.n - p));
		ck_assert_int_eq(tun_tls_state(fresh), TUN_TLS_FAILED);
		ck_assert_ptr_null(tun_tls_peer(fresh));
		ck_assert_int_eq(tun_tls_read(fresh, buf, sizeof(buf)), -1);
		tun_tls_free(fresh);
	}
}
END_TEST

START_TEST(garbage)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tun_tls	*s = server(), *c = client("office-1", SECRET);
	uint8_t		 junk[3000];
	size_t		 i;

	feed_all(s, (const uint8_t *)http, sizeof(http) - 1);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	ck_assert_ptr_null(tun_tls_peer(s));
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 17);
	feed_all(c, junk, sizeof(junk));
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_FAILED);
	tun_tls_free(s);
	tun_tls_free(c);
}
END_TEST

START_TEST(oversized_records)
{
	/* A record longer than TLS 1.3 allows (2^14 + 256), in both states. */
	static const uint8_t hs_big[] = { 0x16, 0x03, 0x01, 0xff, 0xff };
	static const uint8_t app_big[] = { 0x17, 0x03, 0x03, 0x48, 0x01 };
	static uint8_t	 body[0x4801 + sizeof(app_big)];
	struct tun_tls	*s = server(), *c;

	memset(body, 0x41, sizeof(body));
	feed_all(s, hs_big, sizeof(hs_big));
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	tun_tls_free(s);

	open_pair(&c, &s);
	memcpy(body, app_big, sizeof(app_big));
	feed_all(s, body, sizeof(body));
	ck_assert_int_eq(tun_tls_read(s, body, sizeof(body)), -1);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	move(s, c, NULL);			/* the alert */
	ck_assert_int_eq(tun_tls_read(c, body, sizeof(body)), -1);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_FAILED);
	tun_tls_free(c);
	tun_tls_free(s);
}
END_TEST

START_TEST(huge_handshake)
{
	/*
	 * A ClientHello that claims 100 KiB (OpenSSL would wait for up to
	 * 128 KiB), sent in 8 KiB records: TUN_TLS_HANDSHAKE_MAX stops it.
	 */
	static uint8_t	 rec[5 + 8192] = { 0x16, 0x03, 0x01, 0x20, 0x00,
			    0x01, 0x01, 0x90, 0x00, 0x03, 0x03 };
	struct tun_tls	*s = server();
	int		 i;

	for (i = 0; i < 8 && tun_tls_feed(s, rec, sizeof(rec)) > 0; i++)
		memset(rec + 5, 0, 6);		/* more of the body */
	ck_assert_int_eq(i, 1);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	ck_assert_str_eq(tun_tls_reason(s), "handshake too large");
	tun_tls_free(s);
}
END_TEST

START_TEST(bounded_input)
{
	struct tun_tls	*c, *s;
	static uint8_t	 big[1 << 20], out[4096];
	size_t		 n = 0, off = 0, fed = 0;
	ssize_t		 r, taken = 0;

	open_pair(&c, &s);
	/* Output side: write takes at most TUN_TLS_OUTBUF, then nothing. */
	r = tun_tls_write(c, big, sizeof(big));
	ck_assert_int_gt(r, 0);
	ck_assert_int_le(r, TUN_TLS_OUTBUF);
	while ((r = tun_tls_write(c, big, sizeof(big))) > 0)
		;
	ck_assert_int_eq(r, 0);
	ck_assert_uint_le(tun_tls_pending(c), TUN_TLS_OUTBUF + 5 * 300);
	/* A reader that does not read: feed takes at most TUN_TLS_INBUF. */
	for (;;) {
		if (off == n) {
			n = tun_tls_take(c, out, sizeof(out));
			off = 0;
			ck_assert_uint_gt(n, 0);
		}
		if ((r = tun_tls_feed(s, out + off, n - off)) == 0)
			break;
		ck_assert_int_gt(r, 0);
		off += (size_t)r;
		fed += (size_t)r;
	}
	ck_assert_uint_eq(fed, TUN_TLS_INBUF);
	ck_assert_int_eq(tun_tls_feed(s, out, 1), 0);
	while ((r = tun_tls_read(s, big, sizeof(big))) > 0)
		taken += r;
	ck_assert_int_eq(r, 0);
	ck_assert_int_ge(taken, TUN_TLS_INBUF - 16384 - 300);
	ck_assert_int_gt(tun_tls_feed(s, out + off, n - off), 0);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_OPEN);
	tun_tls_free(c);
	tun_tls_free(s);
}
END_TEST

START_TEST(truncated)
{
	struct tun_tls	*c, *s;
	uint8_t		 buf[4096];
	size_t		 n;

	open_pair(&c, &s);
	ck_assert_int_eq(tun_tls_write(c, (const uint8_t *)"hello", 5), 5);
	n = tun_tls_take(c, buf, sizeof(buf));
	ck_assert_uint_gt(n, 10);
	feed_all(s, buf, n - 3);		/* the record, cut short */
	ck_assert_int_eq(tun_tls_read(s, buf, sizeof(buf)), 0);
	tun_tls_eof(s);
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	ck_assert_str_eq(tun_tls_reason(s),
	    "connection closed without close_notify");
	ck_assert_int_eq(tun_tls_read(s, buf, sizeof(buf)), -1);
	tun_tls_free(c);
	tun_tls_free(s);

	/* Mid-handshake EOF. */
	c = client("office-1", SECRET);
	tun_tls_eof(c);
	ck_assert_int_eq(tun_tls_state(c), TUN_TLS_FAILED);
	tun_tls_free(c);
}
END_TEST

/*
 * In a child under the worker's seccomp allowlist, after
 * tun_tls_global_init(): handshakes, data, refusals and a reseed of the
 * random generator.  A failed ck_assert in there exits non-zero too.
 */
static int
sandboxed_body(void)
{
	static const char *const tries[][2] = {
		{ "office-1", SECRET }, { "office-1", "nope" },
		{ "stranger", SECRET },
	};
	struct tun_tls	*c, *s;
	uint8_t		 buf[32];
	int		 i;

	for (i = 0; i < 3; i++) {
		c = client(tries[i][0], tries[i][1]);
		s = server();
		shuttle(c, s, NULL, NULL);
		if ((i == 0) != (tun_tls_state(s) == TUN_TLS_OPEN))
			return 20 + i;
		if (i == 0) {
			tun_tls_set_rekey(c, 100000);	/* KeyUpdates too */
			transfer(c, s, 1 << 20, 40000);
			transfer(s, c, 100000, 16384);
		}
		tun_tls_free(c);
		tun_tls_free(s);
	}
	/* What the generator does every hour or so: getrandom(2). */
	if (RAND_poll() != 1 || RAND_priv_bytes(buf, sizeof(buf)) != 1)
		return 40;
	return 0;
}

START_TEST(sandboxed)
{
	struct sandbox_opts	 o;
	const char		*why;
	pid_t			 pid;
	int			 st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (tun_tls_global_init(&why) == -1)
			_exit(1);
		memset(&o, 0, sizeof(o));
		sandbox_worker(&o);
		_exit(sandboxed_body());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		ck_abort_msg("child killed by signal %d%s", WTERMSIG(st),
		    WTERMSIG(st) == SIGSYS ? " (sandbox violation)" : "");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "child failed at step %d", WEXITSTATUS(st));
}
END_TEST

static Suite *
tls_psk_suite(void)
{
	Suite	*s = suite_create("tls_psk");
	TCase	*tc;

	tc = tcase_create("tls_psk");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, derive_vector);
	tcase_add_test(tc, handshake_and_data);
	tcase_add_test(tc, rekey);
	tcase_add_test(tc, wrong_secret_and_unknown_name);
	tcase_add_test(tc, replay);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, oversized_records);
	tcase_add_test(tc, huge_handshake);
	tcase_add_test(tc, bounded_input);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, sandboxed);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tls_psk_raw_tcase());
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tls_psk_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
