/*
 * SOCKS4 and SOCKS4a wire formats (the de facto protocol of NEC's
 * SOCKS 4 document, and Ying-Da Lee's 4A extension).  Pure functions over
 * byte buffers: no I/O, no allocation, so every hostile input can be unit
 * tested.
 *
 * The parser returns the number of bytes consumed (> 0) when a complete
 * request is in buf, 0 when more bytes are needed, and -1 when the bytes
 * can never become a valid request.
 */
#ifndef SL_SOCKS4_WIRE_H
#define SL_SOCKS4_WIRE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/sluice.h"
#include "../../common/target.h"

#define S4_VERSION		0x04
#define S4_REPLY_VERSION	0x00	/* VN of a reply: not 4 */

#define S4_CMD_CONNECT		0x01
#define S4_CMD_BIND		0x02

/* Reply codes (CD of a reply). */
#define S4_REP_GRANTED		0x5a
#define S4_REP_REJECTED		0x5b	/* rejected or failed */
#define S4_REP_NO_IDENTD	0x5c	/* never sent: no identd check */
#define S4_REP_IDENT_MISMATCH	0x5d	/* never sent */

#define S4_HDR			8	/* VN CD DSTPORT(2) DSTIP(4) */
#define S4_MAX_USERID		255
#define S4_MAX_HOST		255
/* Largest request: header, USERID NUL, and the 4a HOST NUL. */
#define S4_MAX_MSG		(S4_HDR + S4_MAX_USERID + 1 + S4_MAX_HOST + 1)
#define S4_REPLY_LEN		8

/* A request: the command and, neutrally, what it names. */
struct socks4_request {
	uint8_t			cmd;
	int			is4a;	/* t.host is set, t.addr is not */
	struct sl_target	t;
};

/*
 * Request: VN CD DSTPORT DSTIP USERID NUL, and for SOCKS4a (DSTIP
 * 0.0.0.x, x != 0) HOST NUL after it.  USERID may be empty and at most
 * 255 bytes; HOST must be 1-255 bytes.  DSTIP 0.0.0.0 is refused.
 * Commands are not judged here.  req is written only on success.
 */
int	socks4_parse_request(const uint8_t *buf, size_t len,
	    struct socks4_request *req);
/*
 * Build the 8-byte reply: VN 0, CD, and DSTPORT/DSTIP the bound address
 * when cd is S4_REP_GRANTED and bound is IPv4, zeros otherwise.  out must
 * hold S4_REPLY_LEN bytes.  Returns S4_REPLY_LEN.
 */
size_t	socks4_build_reply(uint8_t *out, uint8_t cd,
	    const struct sockaddr *bound);

#endif
