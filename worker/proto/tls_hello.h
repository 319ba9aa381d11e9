/*
 * The TLS ClientHello, read far enough to route the connection without
 * terminating TLS: the server_name (RFC 6066 section 3) and ALPN
 * (RFC 7301) extensions.  Pure code over a byte buffer: no I/O, no
 * allocation, so every hostile input can be unit tested and fuzzed.
 *
 * The buffer holds what the client sent so far, from its first byte:
 * TLS records (RFC 8446 section 5.1) whose payloads, concatenated, carry
 * the handshake message (RFC 8446 section 4.1.2).  The hello may arrive
 * across several TCP segments and be fragmented across several records;
 * call again with the same buffer grown.  Nothing is modified: the
 * bytes go to the backend unchanged.
 */
#ifndef SL_TLS_HELLO_H
#define SL_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/sluice.h"

/* At most this many bytes are buffered: one full record and its header. */
#define TLS_HELLO_MAX		(16384 + 5)
#define TLS_ALPN_MAX		8	/* protocols kept; the rest ignored */
#define TLS_ALPN_NAME		255

enum tls_hello_rc {
	TLS_HELLO_OK = 0,	/* the hello is complete and parsed */
	TLS_HELLO_MORE,		/* a valid prefix: read more (if it fits) */
	TLS_HELLO_NOT_TLS,	/* not a TLS handshake record (or SSLv2) */
	TLS_HELLO_BAD,		/* TLS, but lengths or contents lie */
};

struct tls_hello {
	/* server_name host_name, lower case, trailing dot dropped; "" none */
	char		sni[SL_MAX_NAME + 1];
	/* ALPN protocol names in the client's order, NUL-terminated */
	char		alpn[TLS_ALPN_MAX][TLS_ALPN_NAME + 1];
	size_t		nalpn;
	uint16_t	version;	/* legacy_version, e.g. 0x0303 */
	size_t		len;		/* bytes of records the hello used */
	const char	*why;		/* NOT_TLS, BAD: a static reason */
};

/*
 * Parse buf[0..len).  TLS_HELLO_MORE with len >= TLS_HELLO_MAX never
 * happens: a hello that would not fit is TLS_HELLO_BAD.  A name in
 * server_name that is not a valid DNS host name (RFC 1123 labels, at
 * most 253 bytes) is TLS_HELLO_BAD; an IP literal there too (RFC 6066
 * forbids it).  Several server_name entries: the first host_name.
 */
enum tls_hello_rc tls_hello_parse(const uint8_t *buf, size_t len,
	    struct tls_hello *h);

/* A fatal alert record (RFC 8446 section 6), e.g. 112 unrecognized_name. */
#define TLS_ALERT_LEN		7
void	tls_alert(uint8_t out[TLS_ALERT_LEN], uint8_t description);

#endif
