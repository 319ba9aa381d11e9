/*
 * Reverse tunnel frames: encode and decode one frame of the multiplexer
 * that runs on a tunnel's decrypted byte stream (README "Tunnels: frame
 * format").  Pure code: no I/O, no allocation, no globals.
 *
 * Every frame is an 8-byte header, network byte order, then Length bytes
 * of payload:
 *
 *	type (8) | flags (8, must be 0) | length (16) | stream id (32)
 *
 * The checks here are the ones that need no connection state: a known
 * type, zero flags, the stream id zero exactly for connection frames, the
 * exact payload length of each fixed-size type, a DATA length within the
 * receiver's announced maximum, the shape of an OPEN target and of a
 * HELLO.  The state checks (stream exists, credit, id order) are mux.c's.
 */
#ifndef SL_TUNNEL_FRAME_H
#define SL_TUNNEL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define MUX_VERSION		1
#define MUX_HDR_LEN		8
#define MUX_HELLO_LEN		16
#define MUX_PING_LEN		8
#define MUX_CODE_LEN		4	/* OPEN_FAIL, RST, GOAWAY, WINDOW */
#define MUX_TARGET_MIN		3	/* "a:1" */
#define MUX_TARGET_MAX		261	/* 255-byte host, ':', 5 digits */
#define MUX_HOST_MAX		255
#define MUX_FRAME_MAX		65535	/* the length field's reach */
#define MUX_FRAME_FLOOR		1024	/* smallest max payload a peer may
					   announce: no 1-byte DATA frames */
#define MUX_WINDOW_MAX		0x7fffffffU	/* 2^31 - 1, as HTTP/2 */

enum mux_frame_type {
	MUX_F_HELLO = 0,	/* id 0: version and limits, first each way */
	MUX_F_OPEN,		/* "host:port" */
	MUX_F_OPEN_OK,		/* empty */
	MUX_F_OPEN_FAIL,	/* code */
	MUX_F_DATA,		/* 1..max payload bytes */
	MUX_F_FIN,		/* empty: the sender sends no more DATA */
	MUX_F_RST,		/* code: the stream is gone both ways */
	MUX_F_WINDOW,		/* credit increment, 1..2^31-1 */
	MUX_F_PING,		/* id 0: 8 opaque bytes */
	MUX_F_PONG,		/* id 0: the PING's 8 bytes back */
	MUX_F_GOAWAY,		/* id 0: code; no new streams */
	MUX_F_MAX
};

/* The codes of OPEN_FAIL, RST and GOAWAY; an unknown one reads as OTHER. */
enum mux_code {
	MUX_C_OK = 0,		/* GOAWAY: a normal close */
	MUX_C_OTHER,		/* anything not below */
	MUX_C_POLICY,		/* the agent's allow list refuses the target */
	MUX_C_REFUSED,		/* connection refused */
	MUX_C_UNREACH,		/* network or host unreachable, no such name */
	MUX_C_TIMEOUT,		/* connect timed out */
	MUX_C_STREAMS,		/* too many streams */
	MUX_C_TARGET,		/* OPEN target malformed */
	MUX_C_PROTOCOL,		/* a frame wrong for the stream's state */
	MUX_C_FLOW,		/* DATA past credit, WINDOW past 2^31-1 */
	MUX_C_CLOSED,		/* DATA after FIN */
	MUX_C_CANCEL,		/* the application gave the stream up */
	MUX_C_SHUTDOWN,		/* GOAWAY sent, or the connection ends */
	MUX_C_DEAD,		/* keepalive: the peer went silent */
	MUX_C_OVERFLOW,		/* the peer does not read its frames */
	MUX_C_MAX
};

struct mux_frame {
	uint8_t		 type;		/* enum mux_frame_type */
	uint8_t		 flags;
	uint16_t	 len;		/* payload bytes */
	uint32_t	 id;		/* stream id, 0: the connection */
	const uint8_t	*payload;	/* len bytes, not owned */
};

/* The limits each side announces in its HELLO and enforces. */
struct mux_hello {
	uint16_t	 version;
	uint32_t	 max_streams;	/* streams the peer may open */
	uint32_t	 window;	/* initial credit of every stream */
	uint32_t	 max_frame;	/* largest DATA payload accepted */
};

/* frame.c */
uint16_t	 mux_get16(const uint8_t *);
uint32_t	 mux_get32(const uint8_t *);
void		 mux_put16(uint8_t *, uint16_t);
void		 mux_put32(uint8_t *, uint32_t);
/* A short upper-case name for logs, "DATA"; "?" for an unknown type. */
const char	*mux_frame_name(uint8_t type);
/* A short lower-case word for a code, "refused". */
const char	*mux_code_name(uint32_t code);

/*
 * The header at p (MUX_HDR_LEN bytes) into f, payload not set.  0 when it
 * is acceptable with a receiver's max_frame, -1 with *why a static string
 * otherwise (unknown type, flags, wrong id kind, wrong length).
 */
int		 mux_frame_decode_hdr(const uint8_t *p, uint32_t max_frame,
		    struct mux_frame *f, const char **why);
/* The header of a frame into p (MUX_HDR_LEN bytes). */
void		 mux_frame_encode_hdr(uint8_t *p, uint8_t type, uint16_t len,
		    uint32_t id);

/*
 * A target "host:port": host a DNS-style name (letters, digits, '-', '_',
 * '.'), a dotted IPv4 address or a bracketed IPv6 one ("[::1]:443"), port
 * 1-65535 without a leading zero.  0 when well formed, -1 otherwise.
 * Whether the target may be reached is the agent's policy, not this.
 */
int		 mux_target_check(const uint8_t *p, size_t len);

void		 mux_hello_encode(uint8_t p[MUX_HELLO_LEN],
		    const struct mux_hello *);
/* -1 with *why when the version is not ours or a limit is out of range. */
int		 mux_hello_decode(const uint8_t *p, size_t len,
		    struct mux_hello *, const char **why);

#endif
