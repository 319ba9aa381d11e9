/*
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2):
 * the header a load balancer puts before a connection's first byte to
 * say who the client really is.  sluice writes it to backends (services
 * and links with "proxy_protocol": 1 or 2) and reads it from trusted
 * balancers (listeners with "proxy_protocol": true).  Pure code, no I/O.
 */
#ifndef SL_PROXY_WIRE_H
#define SL_PROXY_WIRE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX		107	/* the spec's bound, CRLF included */
/* v2: 16-byte header + addresses + TLVs; longer ones are refused. */
#define PROXY_V2_MAX		(16 + 512)
#define PROXY_MAX		PROXY_V2_MAX
/* What proxy_build() writes at most (v2 IPv6, no TLVs; v1 TCP6). */
#define PROXY_BUILD_MAX		PROXY_V1_MAX

struct proxy_hdr {
	int			version;	/* 1 or 2 */
	/*
	 * 0: src/dst hold the addresses (TCP over IPv4/IPv6 only).
	 * 1: v1 "UNKNOWN", v2 LOCAL or an unsupported family/protocol:
	 *    keep the connection's own addresses.
	 */
	int			local;
	struct sockaddr_storage	src, dst;	/* ports set */
	socklen_t		srclen, dstlen;
};

/*
 * Parse a header at the start of buf[0..len).  Returns its length (> 0)
 * with *h filled, 0 when more bytes are needed (a valid prefix that is
 * still short of the header's end), or -1 with *why a static reason
 * (not a PROXY header, bad syntax, too long, bad addresses).
 */
long	proxy_parse(const uint8_t *buf, size_t len, struct proxy_hdr *h,
	    const char **why);

/*
 * Write a version 1 or 2 header for a TCP connection from src to dst
 * into out (cap >= PROXY_BUILD_MAX).  IPv4-mapped IPv6 addresses count
 * as IPv4; when the two families still differ both are written as IPv6
 * (IPv4-mapped).  Another family: v1 "UNKNOWN" / v2 LOCAL.  Returns the
 * length, or 0 if cap is too small or version is not 1 or 2.
 */
size_t	proxy_build(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, uint8_t *out, size_t cap);

#endif
