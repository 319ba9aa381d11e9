/*
 * TLS 1.3 external-PSK sessions over memory BIOs (see tls_psk.h).
 *
 * Why OpenSSL and TLS 1.3 rather than a Noise pattern over libsodium:
 * Debian ships no Noise library, so Noise means writing the handshake
 * state machine ourselves; TLS 1.3 PSK-DHE gives the same properties
 * (mutual authentication from the secret, forward secrecy, replay-safe
 * handshake) from a reviewed, packaged implementation, and its record
 * layer already bounds record sizes and handles key updates.
 *
 * Two process-wide SSL_CTXs, built once before the sandbox; one SSL per
 * tunnel.  The PSK reaches OpenSSL as an SSL_SESSION made in the psk
 * callbacks, which OpenSSL owns and wipes when it frees it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "tls_psk.h"

#define TUN_TLS_CIPHERS	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define TUN_TLS_GROUPS	"X25519"
/* An empty memory BIO bigger than this is replaced (see bio_shrink()). */
#define TUN_TLS_IDLE_BUF	4096

struct tun_tls {
	SSL			*ssl;
	BIO			*rbio;		/* ciphertext in; owned by ssl */
	BIO			*wbio;		/* ciphertext out; owned by ssl */
	enum tun_tls_state	 state;
	int			 is_server;
	/* client: our name; server: the name claimed, if well formed */
	char			 name[TUN_TLS_NAME_MAX + 1];
	int			 name_known;	/* server: lookup found it */
	uint8_t			 psk[TUN_TLS_PSK_LEN];	/* client, until OPEN */
	tun_tls_lookup_fn	 lookup;
	void			*lookup_arg;
	size_t			 fed;		/* ciphertext bytes taken */
	unsigned long long	 sent;		/* plaintext under this key */
	unsigned long long	 rekey;
	char			 cipher[48];
	char			 group[24];
	char			 reason[160];
};

static SSL_CTX	*client_ctx;
static SSL_CTX	*server_ctx;
static EVP_KDF	*hkdf;

static int	 selftest(void);

static int
name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > TUN_TLS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/* The first OpenSSL error as text, and a clean queue for the next call. */
static void
fail(struct tun_tls *t, const char *what)
{
	unsigned long	 e = ERR_get_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (t->state != TUN_TLS_FAILED) {
		if (r != NULL)
			snprintf(t->reason, sizeof(t->reason), "%s: %s",
			    what, r);
		else
			snprintf(t->reason, sizeof(t->reason), "%s", what);
	}
	ERR_clear_error();
	t->state = TUN_TLS_FAILED;
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
}

static SSL_CTX *
ctx_new(int server)
{
	SSL_CTX	*ctx;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		return NULL;
	/*
	 * No SSL_OP_ALLOW_NO_DHE_KEX: psk_dhe_ke only, so a leaked secret
	 * does not decrypt recorded tunnels.  Middlebox compatibility mode
	 * stays on (the default): it helps TLS 1.3 through inspecting
	 * firewalls between agent and server.
	 */
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* A hostile server's certificate chain is refused, and small. */
	SSL_CTX_set_max_cert_list(ctx, 4096);
	SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
	    NULL);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, TUN_TLS_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, TUN_TLS_GROUPS) ||
	    !SSL_CTX_set_num_tickets(ctx, 0) ||
	    !SSL_CTX_set_max_early_data(ctx, 0) ||
	    !SSL_CTX_set_recv_max_early_data(ctx, 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tun_tls_global_init(const char **why)
{
	uint8_t	b[1];

	if (hkdf != NULL)
		return 0;
	*why = "OpenSSL init";
	if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		goto err;
	/* Seed both generators now: the sandbox has no /dev/urandom. */
	*why = "random generator";
	if (RAND_bytes(b, sizeof(b)) != 1 || RAND_priv_bytes(b, 1) != 1)
		goto err;
	*why = "TLS contexts";
	if ((client_ctx = ctx_new(0)) == NULL ||
	    (server_ctx = ctx_new(1)) == NULL)
		goto err;
	*why = "HKDF";
	if ((hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		goto err;
	/* One handshake in memory fetches every algorithm before lockdown. */
	*why = "self-test handshake";
	if (selftest() == -1)
		goto err;
	*why = NULL;
	return 0;
err:
	ERR_clear_error();
	SSL_CTX_free(client_ctx);
	SSL_CTX_free(server_ctx);
	EVP_KDF_free(hkdf);
	client_ctx = server_ctx = NULL;
	hkdf = NULL;
	return -1;
}

int
tun_tls_derive_psk(const char *name, const uint8_t *secret,
    size_t secret_len, uint8_t out[TUN_TLS_PSK_LEN])
{
	static char	 salt[] = TUN_TLS_SALT;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 p[5];
	int		 ok;

	if (!name_ok(name, strlen(name)) || secret_len == 0 ||
	    secret_len > TUN_TLS_SECRET_MAX || hkdf == NULL)
		return -1;
	if ((kctx = EVP_KDF_CTX_new(hkdf)) == NULL)
		return -1;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)secret, secret_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
	    sizeof(salt) - 1);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)(uintptr_t)name, strlen(name));
	p[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, TUN_TLS_PSK_LEN, p);
	EVP_KDF_CTX_free(kctx);		/* wipes its copy of the key */
	if (!ok) {
		OPENSSL_cleanse(out, TUN_TLS_PSK_LEN);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* A session carrying the PSK; its hash (SHA-256) fits both ciphers. */
static SSL_SESSION *
psk_session(SSL *ssl, const uint8_t *psk)
{
	static const unsigned char	 aes128gcm[] = { 0x13, 0x01 };
	const SSL_CIPHER		*c;
	SSL_SESSION			*s;

	if ((c = SSL_CIPHER_find(ssl, aes128gcm)) == NULL ||
	    (s = SSL_SESSION_new()) == NULL)
		return NULL;
	if (!SSL_SESSION_set1_master_key(s, psk, TUN_TLS_PSK_LEN) ||
	    !SSL_SESSION_set_cipher(s, c) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

static int
client_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	struct tun_tls	*t = SSL_get_app_data(ssl);

	*sess = NULL;
	/* After a HelloRetryRequest: only a SHA-256 suite can use it. */
	if (md != NULL && !EVP_MD_is_a(md, "SHA256"))
		return 1;
	if ((*sess = psk_session(ssl, t->psk)) == NULL)
		return 0;
	*id = (const unsigned char *)t->name;
	*idlen = strlen(t->name);
	return 1;
}

/*
 * The key for the name the client claims.  A random key is drawn every
 * time, and used when the name is malformed or unknown, so the binder
 * check fails the same way, at the same cost, as for a wrong secret.
 */
static int
server_psk_cb(SSL *ssl, const unsigned char *identity, size_t idlen,
    SSL_SESSION **sess)
{
	struct tun_tls	*t = SSL_get_app_data(ssl);
	uint8_t		 secret[TUN_TLS_SECRET_MAX], dummy[TUN_TLS_PSK_LEN];
	uint8_t		 psk[TUN_TLS_PSK_LEN];
	size_t		 len = sizeof(secret);
	int		 known = 0;

	*sess = NULL;
	t->name[0] = '\0';
	t->name_known = 0;
	if (RAND_bytes(dummy, sizeof(dummy)) != 1)
		return 0;
	if (name_ok((const char *)identity, idlen)) {
		memcpy(t->name, identity, idlen);
		t->name[idlen] = '\0';
		known = t->lookup(t->lookup_arg, t->name, secret, &len) == 0 &&
		    len > 0 && len <= sizeof(secret);
	}
	if (!known) {
		memcpy(secret, dummy, sizeof(dummy));
		len = sizeof(dummy);
	}
	if (tun_tls_derive_psk(name_ok(t->name, strlen(t->name)) ?
	    t->name : "-", secret, len, psk) == 0)
		*sess = psk_session(ssl, psk);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(dummy, sizeof(dummy));
	OPENSSL_cleanse(psk, sizeof(psk));
	t->name_known = known;
	return *sess != NULL;
}

static struct tun_tls *
tun_new(int server)
{
	struct tun_tls	*t;
	const char	*why;

	if (tun_tls_global_init(&why) == -1)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->is_server = server;
	t->rekey = TUN_TLS_REKEY_BYTES;
	t->ssl = SSL_new(server ? server_ctx : client_ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	/* An empty input BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_app_data(t->ssl, t);
	if (server) {
		SSL_set_accept_state(t->ssl);
		SSL_set_psk_find_session_callback(t->ssl, server_psk_cb);
	} else {
		SSL_set_connect_state(t->ssl);
		SSL_set_psk_use_session_callback(t->ssl, client_psk_cb);
	}
	return t;
}

/* The handshake just completed: hold it to what we configured. */
static void
opened(struct tun_tls *t)
{
	const SSL_CIPHER	*c = SSL_get_current_cipher(t->ssl);
	int			 nid = SSL_get_negotiated_group(t->ssl);
	const char		*g = nid > 0 ? OBJ_nid2sn(nid) : NULL;

	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	if (SSL_version(t->ssl) != TLS1_3_VERSION ||
	    !SSL_session_reused(t->ssl) || c == NULL || nid != NID_X25519 ||
	    g == NULL || (t->is_server && !t->name_known)) {
		fail(t, "handshake did not use PSK with X25519");
		return;
	}
	snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_CIPHER_get_name(c));
	snprintf(t->group, sizeof(t->group), "%s", g);
	t->state = TUN_TLS_OPEN;
}

static void
handshake_fail(struct tun_tls *t)
{
	unsigned long	e = ERR_peek_error();

	if (t->is_server && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_BINDER_DOES_NOT_VERIFY) {
		ERR_clear_error();
		snprintf(t->reason, sizeof(t->reason), t->name_known ?
		    "wrong secret for agent \"%s\"" : t->name[0] != '\0' ?
		    "unknown agent \"%s\"" : "malformed agent name%s",
		    t->name);
		t->state = TUN_TLS_FAILED;
		return;
	}
	fail(t, "handshake");
}

static void
handshake(struct tun_tls *t)
{
	int	rc;

	ERR_clear_error();
	if ((rc = SSL_do_handshake(t->ssl)) == 1) {
		opened(t);
		return;
	}
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:	/* never with memory BIOs */
		break;
	default:
		handshake_fail(t);
		break;
	}
	/* Count what the handshake consumed, not what waits behind it. */
	if (t->state == TUN_TLS_HANDSHAKE &&
	    t->fed - BIO_ctrl_pending(t->rbio) > TUN_TLS_HANDSHAKE_MAX) {
		snprintf(t->reason, sizeof(t->reason), "handshake too large");
		t->state = TUN_TLS_FAILED;
	}
}

struct tun_tls *
tun_tls_client(const char *name, const uint8_t *secret, size_t secret_len)
{
	struct tun_tls	*t;

	if (name == NULL || !name_ok(name, strlen(name)) ||
	    secret_len == 0 || secret_len > TUN_TLS_SECRET_MAX)
		return NULL;
	if ((t = tun_new(0)) == NULL)
		return NULL;
	memcpy(t->name, name, strlen(name) + 1);
	if (tun_tls_derive_psk(name, secret, secret_len, t->psk) == -1) {
		tun_tls_free(t);
		return NULL;
	}
	handshake(t);		/* the ClientHello */
	if (t->state == TUN_TLS_FAILED) {
		tun_tls_free(t);
		return NULL;
	}
	return t;
}

struct tun_tls *
tun_tls_server(tun_tls_lookup_fn lookup, void *arg)
{
	struct tun_tls	*t;

	if (lookup == NULL || (t = tun_new(1)) == NULL)
		return NULL;
	t->lookup = lookup;
	t->lookup_arg = arg;
	return t;
}

ssize_t
tun_tls_feed(struct tun_tls *t, const uint8_t *in, size_t len)
{
	size_t	waiting, n;

	if (t->state != TUN_TLS_HANDSHAKE && t->state != TUN_TLS_OPEN)
		return -1;
	waiting = BIO_ctrl_pending(t->rbio);
	n = waiting >= TUN_TLS_INBUF ? 0 : TUN_TLS_INBUF - waiting;
	if (n > len)
		n = len;
	if (n > 0 && BIO_write(t->rbio, in, (int)n) != (int)n) {
		fail(t, "input buffer");
		return -1;
	}
	t->fed += n;
	if (t->state == TUN_TLS_HANDSHAKE)
		handshake(t);
	return t->state == TUN_TLS_FAILED ? -1 : (ssize_t)n;
}

void
tun_tls_eof(struct tun_tls *t)
{
	if (t->state == TUN_TLS_HANDSHAKE || t->state == TUN_TLS_OPEN) {
		snprintf(t->reason, sizeof(t->reason),
		    "connection closed without close_notify");
		t->state = TUN_TLS_FAILED;
		OPENSSL_cleanse(t->psk, sizeof(t->psk));
	}
}

/*
 * A memory BIO keeps the largest size it ever grew to: after a burst,
 * swap an empty one for a fresh BIO so an idle tunnel stays small.  On
 * allocation failure the old one stays, which is harmless.
 */
static void
bio_shrink(struct tun_tls *t, int input)
{
	BIO	*old = input ? t->rbio : t->wbio, *b;
	BUF_MEM	*m = NULL;

	if (BIO_ctrl_pending(old) != 0)
		return;
	BIO_get_mem_ptr(old, &m);
	if (m == NULL || m->max <= TUN_TLS_IDLE_BUF ||
	    (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (input) {
		BIO_set_mem_eof_return(b, -1);
		SSL_set0_rbio(t->ssl, b);	/* frees the old one */
		t->rbio = b;
	} else {
		SSL_set0_wbio(t->ssl, b);
		t->wbio = b;
	}
}

ssize_t
tun_tls_read(struct tun_tls *t, uint8_t *out, size_t cap)
{
	size_t	n;
	int	rc;

	if (t->state == TUN_TLS_HANDSHAKE)
		return 0;
	if (t->state != TUN_TLS_OPEN)
		return -1;
	if (cap == 0)
		return 0;
	ERR_clear_error();
	if ((rc = SSL_read_ex(t->ssl, out, cap, &n)) == 1)
		return (ssize_t)n;
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		bio_shrink(t, 1);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		/* Answer close_notify with ours; the caller sends it. */
		t->state = TUN_TLS_CLOSED;
		snprintf(t->reason, sizeof(t->reason), "closed by peer");
		(void)SSL_shutdown(t->ssl);
		ERR_clear_error();
		return -1;
	default:
		fail(t, "read");
		return -1;
	}
}

ssize_t
tun_tls_write(struct tun_tls *t, const uint8_t *in, size_t len)
{
	size_t	waiting, n;

	if (t->state == TUN_TLS_HANDSHAKE)
		return 0;
	if (t->state != TUN_TLS_OPEN)
		return -1;
	waiting = BIO_ctrl_pending(t->wbio);
	if (waiting >= TUN_TLS_OUTBUF || len == 0)
		return 0;
	if (len > TUN_TLS_OUTBUF - waiting)
		len = TUN_TLS_OUTBUF - waiting;
	ERR_clear_error();
	if (t->sent >= t->rekey) {
		/* Rekey our sending direction; the peer follows. */
		if (!SSL_key_update(t->ssl, SSL_KEY_UPDATE_NOT_REQUESTED)) {
			fail(t, "key update");
			return -1;
		}
		t->sent = 0;
	}
	if (!SSL_write_ex(t->ssl, in, len, &n)) {
		fail(t, "write");
		return -1;
	}
	t->sent += n;
	return (ssize_t)n;
}

void
tun_tls_close(struct tun_tls *t)
{
	if (t->state == TUN_TLS_OPEN) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
	if (t->state == TUN_TLS_OPEN || t->state == TUN_TLS_HANDSHAKE) {
		t->state = TUN_TLS_CLOSED;
		snprintf(t->reason, sizeof(t->reason), "closed locally");
	}
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
}

size_t
tun_tls_pending(struct tun_tls *t)
{
	return BIO_ctrl_pending(t->wbio);
}

size_t
tun_tls_take(struct tun_tls *t, uint8_t *out, size_t cap)
{
	int	n;

	if (cap > INT_MAX)
		cap = INT_MAX;
	if (cap == 0 || (n = BIO_read(t->wbio, out, (int)cap)) <= 0)
		return 0;
	bio_shrink(t, 0);
	return (size_t)n;
}

enum tun_tls_state
tun_tls_state(const struct tun_tls *t)
{
	return t->state;
}

const char *
tun_tls_reason(const struct tun_tls *t)
{
	return t->reason;
}

const char *
tun_tls_peer(const struct tun_tls *t)
{
	return t->state == TUN_TLS_OPEN || (t->state == TUN_TLS_CLOSED &&
	    t->cipher[0] != '\0') ? t->name : NULL;
}

const char *
tun_tls_cipher(const struct tun_tls *t)
{
	return t->cipher;
}

const char *
tun_tls_group(const struct tun_tls *t)
{
	return t->group;
}

struct ssl_st *
tun_tls_ssl(struct tun_tls *t)
{
	return t->ssl;
}

void
tun_tls_set_rekey(struct tun_tls *t, unsigned long long bytes)
{
	t->rekey = bytes;
}

void
tun_tls_free(struct tun_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);		/* frees both BIOs */
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

static int
selftest_lookup(void *arg, const char *name, uint8_t *secret, size_t *len)
{
	memcpy(secret, arg, 32);
	*len = 32;
	return 0;
}

/* Shuttle until both are OPEN, then one byte each way. */
static int
selftest(void)
{
	struct tun_tls	*c, *s;
	uint8_t		 secret[32], buf[2048];
	size_t		 n;
	int		 i, ok = 0;

	if (RAND_bytes(secret, sizeof(secret)) != 1)
		return -1;
	c = tun_tls_client("selftest", secret, sizeof(secret));
	s = tun_tls_server(selftest_lookup, secret);
	for (i = 0; c != NULL && s != NULL && i < 8; i++) {
		while ((n = tun_tls_take(c, buf, sizeof(buf))) > 0)
			(void)tun_tls_feed(s, buf, n);
		while ((n = tun_tls_take(s, buf, sizeof(buf))) > 0)
			(void)tun_tls_feed(c, buf, n);
		if (tun_tls_state(c) == TUN_TLS_OPEN &&
		    tun_tls_state(s) == TUN_TLS_OPEN)
			break;
	}
	if (c != NULL && s != NULL && tun_tls_write(c, (const uint8_t *)"x",
	    1) == 1) {
		while ((n = tun_tls_take(c, buf, sizeof(buf))) > 0)
			(void)tun_tls_feed(s, buf, n);
		ok = tun_tls_read(s, buf, sizeof(buf)) == 1 && buf[0] == 'x';
	}
	tun_tls_free(c);
	tun_tls_free(s);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok ? 0 : -1;
}
