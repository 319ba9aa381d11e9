/*
 * The reverse tunnel's authenticated encryption: TLS 1.3 with an external
 * pre-shared key (RFC 8446 sections 2.2 and 4.2.11), psk_dhe_ke only, so
 * every connection also runs an X25519 exchange (forward secrecy).  No
 * certificates, no session tickets, no early data, no renegotiation.
 *
 * The key is never the configured secret itself:
 *
 *	PSK = HKDF-SHA256(ikm = secret, salt = "sluice tunnel v1",
 *	    info = agent name), 32 bytes
 *
 * and the PSK identity on the wire is the agent name, so the server learns
 * who connects and looks up that agent's secret.  A name the server does
 * not know gets a random key instead: the binder check then fails exactly
 * as it does for a wrong secret (see tun_tls_server()).
 *
 * Pure of sockets and of libev: the caller owns the socket and shuttles
 * bytes.  Ciphertext from the socket goes in with tun_tls_feed(), plaintext
 * comes out with tun_tls_read(); plaintext goes in with tun_tls_write(),
 * ciphertext for the socket comes out with tun_tls_take().  After each
 * feed, read, write or close, send what tun_tls_pending() reports.
 *
 * Every buffer is bounded: at most TUN_TLS_INBUF ciphertext bytes wait
 * unread (tun_tls_feed() takes fewer then: read plaintext first), at most
 * about TUN_TLS_OUTBUF wait to be taken (tun_tls_write() takes fewer
 * then), and a handshake may not send more than TUN_TLS_HANDSHAKE_MAX
 * bytes.  Garbage, an oversized record or a lying length ends in
 * TUN_TLS_FAILED; so does a connection that ends without close_notify.
 */
#ifndef SL_TUNNEL_TLS_PSK_H
#define SL_TUNNEL_TLS_PSK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TUN_TLS_NAME_MAX	64	/* agent name: [A-Za-z0-9._-], 1..64 */
#define TUN_TLS_SECRET_MAX	1024	/* configured secret bytes */
#define TUN_TLS_PSK_LEN		32
#define TUN_TLS_SALT		"sluice tunnel v1"
/* Ciphertext waiting in each direction (a record is at most 16 KiB + 261). */
#define TUN_TLS_INBUF		(64 * 1024)
#define TUN_TLS_OUTBUF		(64 * 1024)
/* Bytes a peer may send before its handshake completes (ours: < 1 KiB). */
#define TUN_TLS_HANDSHAKE_MAX	(16 * 1024)
/* Plaintext bytes sent under one key before a KeyUpdate (RFC 8446 5.5). */
#define TUN_TLS_REKEY_BYTES	(16ULL << 30)

enum tun_tls_state {
	TUN_TLS_HANDSHAKE = 0,	/* keep shuttling bytes */
	TUN_TLS_OPEN,		/* authenticated; read and write plaintext */
	TUN_TLS_CLOSED,		/* the peer sent close_notify, or we closed */
	TUN_TLS_FAILED,		/* any error: tun_tls_reason() says which */
};

struct tun_tls;
struct ssl_st;

/*
 * Server side: the secret of agent "name" (NUL-terminated, already checked
 * to be a valid agent name).  Copy at most *len bytes into secret, set
 * *len to the length and return 0; return -1 if there is no such agent.
 * The buffer is wiped after use.
 */
typedef int (*tun_tls_lookup_fn)(void *arg, const char *name,
    uint8_t *secret, size_t *len);

/*
 * Once per process, before the sandbox: OpenSSL initialised without
 * reading any configuration file, the random generator seeded, both
 * contexts (ciphers, group, KDF) built.  Returns 0, or -1 with OpenSSL's
 * error left in *why.  The constructors call it if nobody did.
 */
int		 tun_tls_global_init(const char **why);

/*
 * The PSK of agent "name" from its secret (the formula above), into out.
 * Returns 0, or -1 (bad name or secret length, OpenSSL error).  Exposed
 * so a test can hold it to an independent HKDF.
 */
int		 tun_tls_derive_psk(const char *name, const uint8_t *secret,
		    size_t secret_len, uint8_t out[TUN_TLS_PSK_LEN]);

/*
 * Agent side: the ClientHello is ready in tun_tls_pending() on return.
 * NULL if name is not a valid agent name, the secret is empty or longer
 * than TUN_TLS_SECRET_MAX, or memory ran out.  The secret is not kept:
 * only the derived PSK is, and it is wiped once the handshake ends.
 */
struct tun_tls	*tun_tls_client(const char *name, const uint8_t *secret,
		    size_t secret_len);

/*
 * Tunnel listener side.  lookup is called during the handshake with the
 * name the client claims.  An unknown or malformed name is answered with
 * a random key, so the client sees what a wrong secret gets: one
 * plaintext fatal alert record right after its ClientHello, and nothing
 * else.  With OpenSSL 3.0 it is illegal_parameter (15 03 03 00 02 02 2f;
 * the client's reason reads "handshake: sslv3 alert illegal parameter").
 * The server's reason tells the two apart for its own log ("unknown
 * agent" / "wrong secret"); the wire does not.
 */
struct tun_tls	*tun_tls_server(tun_tls_lookup_fn lookup, void *arg);

/*
 * Ciphertext from the socket.  Returns how many bytes were taken (fewer
 * than len when TUN_TLS_INBUF is full: read plaintext, then feed the
 * rest), or -1 once the state is CLOSED or FAILED.  Drives the handshake;
 * once OPEN, decrypting waits for tun_tls_read(), so call it after every
 * feed until it returns 0 (the bytes that completed a handshake may carry
 * application data behind them).
 */
ssize_t		 tun_tls_feed(struct tun_tls *, const uint8_t *in, size_t len);

/* The socket reached EOF: CLOSED after close_notify, FAILED otherwise. */
void		 tun_tls_eof(struct tun_tls *);

/*
 * Plaintext received: > 0 bytes copied, 0 nothing available now (feed
 * more), -1 the connection ended (tun_tls_state() says how).
 */
ssize_t		 tun_tls_read(struct tun_tls *, uint8_t *out, size_t cap);

/*
 * Plaintext to send, once OPEN: > 0 bytes taken (maybe fewer than len),
 * 0 nothing taken now (still in the handshake, or TUN_TLS_OUTBUF full:
 * take ciphertext first), -1 the connection ended.
 */
ssize_t		 tun_tls_write(struct tun_tls *, const uint8_t *in,
		    size_t len);

/* Send close_notify (then take it and close the socket). */
void		 tun_tls_close(struct tun_tls *);

size_t		 tun_tls_pending(struct tun_tls *);	/* ciphertext out */
size_t		 tun_tls_take(struct tun_tls *, uint8_t *out, size_t cap);

enum tun_tls_state tun_tls_state(const struct tun_tls *);
const char	*tun_tls_reason(const struct tun_tls *);	/* "" if none */

/* Server: the authenticated agent name once OPEN; NULL before. */
const char	*tun_tls_peer(const struct tun_tls *);

/* For the log line: "TLS_AES_128_GCM_SHA256", "X25519"; "" before OPEN. */
const char	*tun_tls_cipher(const struct tun_tls *);
const char	*tun_tls_group(const struct tun_tls *);

/* The OpenSSL object, for tests and diagnostics only. */
struct ssl_st	*tun_tls_ssl(struct tun_tls *);

/* Lower the KeyUpdate threshold (tests). */
void		 tun_tls_set_rekey(struct tun_tls *, unsigned long long bytes);

void		 tun_tls_free(struct tun_tls *);

#endif /* SL_TUNNEL_TLS_PSK_H */
