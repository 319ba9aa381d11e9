/*
 * HTTP/1.x proxy requests (RFC 9110, 9112): the head a proxy client
 * sends, parsed strictly, and the request an origin gets in its place.
 * Pure functions over byte buffers: no I/O, no allocation, so every
 * hostile input can be unit tested and fuzzed.
 *
 * Neither llhttp nor picohttpparser is packaged in Debian 12, and a
 * proxy needs less than either: one head, bounded, no body parsing
 * (the relay copies bytes).  What it needs more of is refusal: every
 * ambiguity a request smuggler or a header injector could use is a 400.
 *
 * Errors are HTTP status codes the client should get (400, 414, 431,
 * 501, 505) with a short static reason for the log line.
 */
#ifndef SL_HTTP_WIRE_H
#define SL_HTTP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/sluice.h"

#define HTTP_MAX_LINE		8192	/* request line, CRLF included */
#define HTTP_MAX_HEAD		16384	/* request line to the empty line */
#define HTTP_MAX_HEADERS	64
#define HTTP_MAX_CRED		255	/* user name, password: as RFC 1929 */

enum http_form {
	HTTP_FORM_AUTHORITY = 1,	/* CONNECT host:port */
	HTTP_FORM_ABSOLUTE,		/* GET http://host[:port]/path */
};

/* Spans point into the buffer that was parsed. */
struct http_header {
	const char	*name, *value;	/* value without surrounding OWS */
	size_t		 nlen, vlen;
};

struct http_request {
	const char		*method;
	size_t			 mlen;
	enum http_form		 form;
	/* The authority as sent ("host:port", "[::1]", "h"), and parsed. */
	const char		*authority;
	size_t			 alen;
	char			 host[SL_MAX_NAME + 1];	/* no brackets */
	int			 host_ip6;		/* was [v6] */
	uint16_t		 port;			/* 80 by default */
	/* Absolute-form: path and query, "" when the URL had none. */
	const char		*path;
	size_t			 plen;
	int			 minor;			/* HTTP/1.minor */
	size_t			 line_len;		/* with CRLF */
	struct http_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	int64_t			 content_length;	/* -1: none */
	int			 chunked;
	const char		*why;			/* on error */
};

/*
 * Where the head ends.  Call with the same scan state as bytes arrive
 * (buf grows, its start stays): each byte is looked at once.  Returns
 * the head's length (through the empty line) when it is complete, 0 if
 * more bytes are needed, -1 with *status 414 (no line end within
 * HTTP_MAX_LINE) or 431 (no empty line within HTTP_MAX_HEAD).
 * *line_len is set once the request line is complete (0 before).
 */
struct http_scan {
	size_t	off;		/* bytes looked at */
	size_t	line;		/* start of the current line */
	size_t	line_len;	/* request line's length, CRLF included */
};
int	http_scan_head(struct http_scan *, const uint8_t *buf, size_t len,
	    int *status);

/*
 * The request line alone (len bytes through its LF): method, target,
 * version.  Returns 0, or the status to answer with req->why set.
 */
int	http_parse_line(const uint8_t *buf, size_t len,
	    struct http_request *req);

/*
 * A whole head (len from http_scan_head): the request line and every
 * header field.  Returns 0, or the status with req->why set.
 */
int	http_parse_head(const uint8_t *buf, size_t len,
	    struct http_request *req);

/* The value of the one header called name, NULL if none; -1 if twice. */
int	http_header_find(const struct http_request *, const char *name,
	    const struct http_header **out);

/* A port, 1-65535, in n decimal digits (no sign, no spaces): 0 or -1. */
int	http_parse_port(const char *p, size_t n, uint16_t *port);

/* Is tok (case-insensitive) an element of the comma-separated list? */
int	http_list_has(const char *list, size_t llen, const char *tok,
	    size_t tlen);

/*
 * Strict base64 (RFC 4648 section 4): the standard alphabet, length a
 * multiple of 4, padding only at the end, zero bits in the padding.
 * Returns the decoded length, or -1.
 */
int	http_base64_decode(const char *in, size_t len, uint8_t *out,
	    size_t cap);

/*
 * Proxy-Authorization's value.  Returns 1 with the user in
 * out[0..*ulen) and the password in *pass, *plen (inside out) for
 * `Basic` credentials; 0 for another scheme; -1 for a malformed value.
 * out must hold 2 * HTTP_MAX_CRED + 2 bytes.
 */
int	http_basic_credentials(const char *value, size_t vlen, uint8_t *out,
	    size_t *ulen, const uint8_t **pass, size_t *plen);

/*
 * The request the origin gets for an absolute-form request: the
 * origin-form request line, the client's fields minus hop-by-hop ones
 * (Connection and what it names, Keep-Alive, Proxy-Connection,
 * Proxy-Authorization, TE, Trailer, Upgrade) and minus Host, then Host
 * from the URL and `Connection: close`.  Returns the length or -1 if
 * cap is too small (HTTP_MAX_HEAD + HTTP_REWRITE_SLACK always fits).
 */
#define HTTP_REWRITE_SLACK	(SL_MAX_NAME + 64)
int	http_build_origin_request(const struct http_request *, uint8_t *out,
	    size_t cap);

/*
 * The constant response for a status sluice sends itself (with
 * `Connection: close`, a Content-Length and, for 407, the
 * Proxy-Authenticate challenge), and its length.  An unknown status
 * gives 500's.
 */
const char *http_response(int status, size_t *len);

/* "HTTP/1.1 200 Connection established\r\n\r\n" */
extern const char http_connect_ok[];
extern const size_t http_connect_ok_len;

#endif
