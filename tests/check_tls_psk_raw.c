/*
 * Unit tests for tunnel/tls_psk.c, continued: a hand-built OpenSSL
 * client with the same PSK tries what ours never does (early data, other
 * suites and groups, malformed names) against our server.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "tunnel/tls_psk.h"
#include "check_tls_psk.h"

/*
 * A plain OpenSSL client with the same PSK, configured to try what ours
 * never does: early data, other suites, other groups, bad names.
 */
struct raw {
	SSL_CTX		*ctx;
	SSL		*ssl;
	char		 name[128];
	uint8_t		 psk[TUN_TLS_PSK_LEN];
	unsigned char	 suite[2];	/* the PSK's cipher */
	int		 opts;
};
#define RAW_EARLY	1	/* offer early data */
#define RAW_NO_DHE	2	/* offer psk_ke (no key exchange) too */
static struct raw	raw;

static int
raw_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	const SSL_CIPHER	*c = SSL_CIPHER_find(ssl, raw.suite);
	SSL_SESSION		*s = SSL_SESSION_new();

	ck_assert(c != NULL && s != NULL);
	ck_assert(SSL_SESSION_set1_master_key(s, raw.psk, sizeof(raw.psk)));
	ck_assert(SSL_SESSION_set_cipher(s, c));
	ck_assert(SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION));
	if (raw.opts & RAW_EARLY)
		ck_assert(SSL_SESSION_set_max_early_data(s, 1024));
	*sess = s;
	*id = (const unsigned char *)raw.name;
	*idlen = strlen(raw.name);
	return 1;
}

static SSL *
raw_client(const char *name, const char *ciphers, const char *groups,
    unsigned suite, int opts)
{
	BIO	*rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());

	memset(&raw, 0, sizeof(raw));
	snprintf(raw.name, sizeof(raw.name), "%s", name);
	raw.suite[0] = 0x13;
	raw.suite[1] = (unsigned char)suite;
	raw.opts = opts;
	if (tun_tls_derive_psk(name, (const uint8_t *)SECRET,
	    strlen(SECRET), raw.psk) == -1)
		memset(raw.psk, 0x5a, sizeof(raw.psk));
	raw.ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(raw.ctx);
	ck_assert(SSL_CTX_set_min_proto_version(raw.ctx, TLS1_3_VERSION));
	ck_assert(SSL_CTX_set_ciphersuites(raw.ctx, ciphers));
	ck_assert(SSL_CTX_set1_groups_list(raw.ctx, groups));
	if (opts & RAW_NO_DHE)
		SSL_CTX_set_options(raw.ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	raw.ssl = SSL_new(raw.ctx);
	ck_assert(raw.ssl != NULL && rb != NULL && wb != NULL);
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(raw.ssl, rb, wb);
	SSL_set_connect_state(raw.ssl);
	SSL_set_psk_use_session_callback(raw.ssl, raw_psk_cb);
	return raw.ssl;
}

static void
raw_free(void)
{
	SSL_free(raw.ssl);
	SSL_CTX_free(raw.ctx);
	ERR_clear_error();
}

/* Run the raw client against s; return its handshake result. */
static int
raw_shuttle(struct tun_tls *s, struct wire *sw)
{
	uint8_t	buf[4096];
	int	i, n, rc = 0;

	for (i = 0; i < 8; i++) {
		rc = SSL_do_handshake(raw.ssl);
		while ((n = BIO_read(SSL_get_wbio(raw.ssl), buf,
		    sizeof(buf))) > 0)
			feed_all(s, buf, (size_t)n);
		while ((n = (int)tun_tls_take(s, buf, sizeof(buf))) > 0) {
			record(sw, buf, (size_t)n);
			BIO_write(SSL_get_rbio(raw.ssl), buf, n);
		}
	}
	ERR_clear_error();
	return rc;
}

START_TEST(early_data)
{
	struct tun_tls	*s = server();
	uint8_t		 buf[256];
	size_t		 w;
	ssize_t		 n;

	raw_client("office-1", "TLS_AES_128_GCM_SHA256", "X25519", 1,
	    RAW_EARLY);
	ck_assert_int_eq(SSL_write_early_data(raw.ssl, "EARLY", 5, &w), 1);
	ck_assert_uint_eq(w, 5);
	(void)raw_shuttle(s, NULL);
	ck_assert_int_ne(SSL_get_early_data_status(tun_tls_ssl(s)),
	    SSL_EARLY_DATA_ACCEPTED);
	/*
	 * The server's PSK allows no early data, so it rejects it, and with
	 * recv_max_early_data 0 it will not even skip it: the handshake ends.
	 */
	ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	ck_assert_str_eq(tun_tls_reason(s), "handshake: too much early data");
	ck_assert_int_eq(SSL_get_early_data_status(raw.ssl),
	    SSL_EARLY_DATA_REJECTED);
	while ((n = tun_tls_read(s, buf, sizeof(buf))) > 0)
		ck_assert(memmem(buf, (size_t)n, "EARLY", 5) == NULL);
	ck_assert_int_eq(n, -1);
	raw_free();
	tun_tls_free(s);
}
END_TEST

/* What a client offers, and what our server makes of it. */
static const struct offer {
	const char	*ciphers, *groups;
	unsigned	 suite;		/* the PSK's: 0x13, suite */
	int		 opts;
	const char	*cipher;	/* chosen; NULL: refused */
	int		 lookups;	/* 2 after a HelloRetryRequest */
} offers[] = {
	{ "TLS_CHACHA20_POLY1305_SHA256", "X25519", 0x03, 0,
	    "TLS_CHACHA20_POLY1305_SHA256", 1 },
	{ "TLS_AES_256_GCM_SHA384", "X25519", 0x02, 0, NULL, 0 },
	{ "TLS_AES_128_GCM_SHA256", "P-256", 0x01, 0, NULL, 0 },
	{ "TLS_AES_128_GCM_SHA256", "P-256:X25519", 0x01, 0,
	    "TLS_AES_128_GCM_SHA256", 2 },
	/* psk_ke offered: the server still insists on X25519. */
	{ "TLS_AES_128_GCM_SHA256", "X25519", 0x01, RAW_NO_DHE,
	    "TLS_AES_128_GCM_SHA256", 1 },
};

START_TEST(ciphers_and_groups)
{
	const struct offer	*o = &offers[_i];
	struct tun_tls		*s = server();

	lookups = 0;
	raw_client("office-1", o->ciphers, o->groups, o->suite, o->opts);
	ck_assert_int_eq(raw_shuttle(s, NULL) == 1, o->cipher != NULL);
	if (o->cipher != NULL) {
		ck_assert_int_eq(tun_tls_state(s), TUN_TLS_OPEN);
		ck_assert_str_eq(tun_tls_cipher(s), o->cipher);
		ck_assert_str_eq(tun_tls_group(s), "X25519");
		ck_assert_str_eq(tun_tls_peer(s), "office-1");
		ck_assert_int_eq(lookups, o->lookups);
	} else
		ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
	raw_free();
	tun_tls_free(s);
}
END_TEST

START_TEST(malformed_name)
{
	static const char *const names[] = { "bad name", "x\n", "a/b", "" };
	static struct wire sw;
	struct tun_tls	*s;
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s = server();
		lookups = 0;
		memset(&sw, 0, sizeof(sw));
		raw_client(names[i], "TLS_AES_128_GCM_SHA256", "X25519", 1, 0);
		ck_assert_int_ne(raw_shuttle(s, &sw), 1);
		ck_assert_int_eq(tun_tls_state(s), TUN_TLS_FAILED);
		ck_assert_int_eq(lookups, 0);
		if (names[i][0] != '\0') {
			ck_assert_str_eq(tun_tls_reason(s),
			    "malformed agent name");
			ck_assert_uint_eq(sw.n, sizeof(refusal));
			ck_assert(memcmp(sw.b, refusal, sizeof(refusal)) == 0);
		}
		raw_free();
		tun_tls_free(s);
	}
}
END_TEST

TCase *
tls_psk_raw_tcase(void)
{
	TCase	*tc = tcase_create("tls_psk_raw");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, early_data);
	tcase_add_loop_test(tc, ciphers_and_groups, 0,
	    sizeof(offers) / sizeof(offers[0]));
	tcase_add_test(tc, malformed_name);
	return tc;
}
