/*
 * SOCKS5 (RFC 1928) and username/password authentication (RFC 1929)
 * wire formats, both the server side sluice speaks to clients and the
 * client side it speaks to upstream proxies.  Pure functions over byte
 * buffers: no I/O, no allocation, so every hostile input can be unit
 * tested.
 *
 * Parsers return the number of bytes consumed (> 0) when a complete
 * message is in buf, 0 when more bytes are needed, and -1 when the bytes
 * can never become a valid message.
 */
#ifndef SL_SOCKS5_H
#define SL_SOCKS5_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/sluice.h"
#include "../../common/target.h"

#define S5_VERSION		0x05
#define S5_AUTH_NONE		0x00
#define S5_AUTH_USERPASS	0x02
#define S5_AUTH_NOACCEPT	0xff

#define S5_CMD_CONNECT		0x01
#define S5_CMD_BIND		0x02
#define S5_CMD_UDP		0x03

#define S5_ATYP_IPV4		0x01
#define S5_ATYP_DOMAIN		0x03
#define S5_ATYP_IPV6		0x04

/* Reply codes, RFC 1928 section 6. */
#define S5_REP_OK		0x00
#define S5_REP_FAIL		0x01	/* general failure */
#define S5_REP_NOTALLOWED	0x02	/* connection not allowed by ruleset */
#define S5_REP_NETUNREACH	0x03
#define S5_REP_HOSTUNREACH	0x04
#define S5_REP_REFUSED		0x05
#define S5_REP_TTLEXPIRED	0x06
#define S5_REP_CMDUNSUPP	0x07
#define S5_REP_ATYPUNSUPP	0x08

#define S5_MAX_MSG		(4 + 1 + 255 + 2)	/* largest request */
#define S5_MAX_AUTH		(3 + 255 + 255)		/* largest RFC 1929 */

/* A request: the command and, neutrally, what it names. */
struct socks5_request {
	uint8_t			cmd;
	uint8_t			atyp;
	struct sl_target	t;	/* host "" unless ATYP_DOMAIN */
};

/* socks5.c: server side */

/*
 * Method selection: VER NMETHODS METHODS.  *offers_none is set when the
 * client offers "no authentication".
 */
int	socks5_parse_greeting(const uint8_t *buf, size_t len,
	    int *offers_none);
/*
 * Request: VER CMD RSV ATYP DST.ADDR DST.PORT.  On -1, *rep is the reply
 * code the client should get (ATYPUNSUPP for an unknown address type,
 * FAIL for garbage).  Commands are not judged here.  A domain name must be
 * 1-255 bytes without NUL; it is returned as given.
 */
int	socks5_parse_request(const uint8_t *buf, size_t len,
	    struct socks5_request *req, uint8_t *rep);
/*
 * Build a reply with code rep and bound address (NULL: 0.0.0.0:0).
 * out must hold 22 bytes.  Returns the length.
 */
size_t	socks5_build_reply(uint8_t *out, uint8_t rep,
	    const struct sockaddr *bound);

/* socks5.c: client side, towards an upstream proxy */

/* Greeting offering none, or none and username/password.  <= 4 bytes. */
size_t	socks5_build_greeting(uint8_t *out, int with_userpass);
/* Method reply: VER METHOD; *method is the server's choice. */
int	socks5_parse_method_reply(const uint8_t *buf, size_t len,
	    uint8_t *method);
/* RFC 1929 request; user and pass 1-255 bytes.  -1 if too long. */
int	socks5_build_userpass(uint8_t *out, size_t cap, const char *user,
	    const char *pass);
/* RFC 1929 reply: VER STATUS; *status 0 means success. */
int	socks5_parse_userpass_reply(const uint8_t *buf, size_t len,
	    uint8_t *status);
/*
 * CONNECT to a name (host != NULL) or to an address (sa).  Returns the
 * length, or -1 if the name is empty or longer than 255 bytes.
 */
int	socks5_build_connect(uint8_t *out, size_t cap, const char *host,
	    const struct sockaddr *sa, uint16_t port);
/*
 * Reply to our CONNECT: VER REP RSV ATYP BND.ADDR BND.PORT.  *rep is the
 * code; bound (may be NULL) receives BND when the type is an address.
 */
int	socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep,
	    struct sockaddr_storage *bound);

/* Server side: RFC 1929 request from a client (for later issues). */
int	socks5_parse_userpass(const uint8_t *buf, size_t len, char *user,
	    char *pass);

/* The neutral error for an upstream's reply code, and back. */
enum sl_conn_err socks5_rep_err(uint8_t rep);
uint8_t	socks5_err_rep(enum sl_conn_err);

/* socks5_wire.c: UDP ASSOCIATE (RFC 1928 section 7), both sides */

/* Largest UDP request header: RSV RSV FRAG ATYP, a 255-byte name, port. */
#define S5_UDP_HDR_MAX		(4 + 1 + 255 + 2)

/*
 * The header of a UDP datagram: RSV RSV FRAG ATYP DST.ADDR DST.PORT, then
 * DATA.  A datagram is complete, so unlike the stream parsers this never
 * answers "more": it returns the header length (DATA follows, possibly
 * empty), or -1 when the header is truncated, names an unknown address
 * type, or has an empty name or one holding a NUL.  *frag gets FRAG
 * (judged by the caller: sluice does not reassemble); t is filled as in
 * a request (host "" unless ATYP_DOMAIN).  RSV is not judged.
 */
int	socks5_parse_udp(const uint8_t *buf, size_t len, uint8_t *frag,
	    struct sl_target *t);
/*
 * Length of the header socks5_build_udp() writes for a name (host not
 * NULL) or an address, or -1 (empty or too long name, unknown family).
 */
int	socks5_udp_hdrlen(const char *host, const struct sockaddr *sa);
/*
 * Write that header (FRAG 0) to out: a name with port, or the address sa
 * with its own port (an IPv4-mapped IPv6 address as IPv4).  Returns the
 * length, or -1 if it does not fit cap.
 */
int	socks5_build_udp(uint8_t *out, size_t cap, const char *host,
	    uint16_t port, const struct sockaddr *sa);
/*
 * Client side: a UDP ASSOCIATE request announcing sa (NULL: 0.0.0.0:0)
 * as where our datagrams will come from.  Returns the length or -1.
 */
int	socks5_build_udp_associate(uint8_t *out, size_t cap,
	    const struct sockaddr *sa);

#endif
