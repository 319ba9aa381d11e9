/*
 * The name a plain HTTP/1.x request is for: the authority of an
 * absolute-form request target, which RFC 9112 section 3.2.2 says wins,
 * else the Host header field.  Used by `host` listeners to pick a
 * service before any byte is sent on; the bytes themselves go to the
 * backend unchanged.  Pure code, no I/O, no allocation.
 *
 * The head is found with http_scan_head() (same caps as the proxy:
 * HTTP_MAX_LINE, HTTP_MAX_HEAD); the request line must be
 * METHOD SP target SP HTTP/1.x with a token method and any target form.
 */
#ifndef SL_HOST_WIRE_H
#define SL_HOST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/sluice.h"
#include "http_wire.h"

enum host_rc {
	HOST_OK = 0,	/* host[] holds the name */
	HOST_MORE,	/* the head is not complete yet */
	HOST_NONE,	/* a complete head without a name: no or an empty
			   Host (HTTP/1.0, or 1.1 that left it out) */
	HOST_BAD,	/* status and why are set */
};

struct host_req {
	struct http_scan scan;		/* zero before the first call */
	/*
	 * Lower case, port stripped, one trailing dot dropped, IPv6 without
	 * brackets; a valid DNS host name or an IP literal.
	 */
	char		 host[SL_MAX_NAME + 1];
	uint16_t	 port;		/* the port written, 0 if none */
	size_t		 head_len;	/* through the empty line */
	int		 minor;		/* HTTP/1.minor */
	int		 status;	/* HOST_BAD: 400, 414, 431, 505 */
	const char	*why;		/* HOST_BAD: a static reason */
};

/*
 * buf[0..len) is what the client sent so far (it only grows).  Two Host
 * fields, a Host with a path, user info or a bad port, a request line
 * that is not HTTP/1.x: HOST_BAD 400 (505 for another version).
 */
enum host_rc host_parse(struct host_req *, const uint8_t *buf, size_t len);

#endif
