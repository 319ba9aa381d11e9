/*
 * The HTTP proxy front-end: `CONNECT host:port` tunnels and absolute-form
 * requests (`GET http://host/path`), one request per client connection.
 * The wire format is proto/http_wire.c; this file decides.
 *
 * The head is read into a 16 KiB buffer lent to the session (the inline
 * one is sized for SOCKS).  For CONNECT, bytes after the head stay in
 * s->in and the relay sends them first.  For an absolute-form request
 * the origin gets a rewritten head (origin-form, hop-by-hop fields gone,
 * `Connection: close`) and the body bytes already read, as early bytes;
 * after that the relay copies both ways, so the origin's response and a
 * body of any length pass untouched.  Without keep-alive there is no
 * second request on the connection to parse, so none can be smuggled.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../proto/http_wire.h"
#include "auth.h"
#include "front.h"

struct http_state {
	struct http_scan	 scan;
	int			 line_ok;	/* request line checked */
	uint8_t			*out;		/* absolute-form: for the origin */
	size_t			 nout;
	uint8_t			 head[HTTP_MAX_HEAD];
};

/* Answer status (a constant response), log why, close. */
/*
 * http_response's, and 429 (the per-client `limits`), which only the
 * front-ends answer: tell the client when to try again.
 */
const char *
http_status_response(int status, size_t *len)
{
	static const char	too_many[] = "HTTP/1.1 429 Too Many Requests\r\n"
	    "Retry-After: 1\r\nConnection: close\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 22\r\n\r\n"
	    "429 Too Many Requests\n";

	if (status == 429) {
		*len = sizeof(too_many) - 1;
		return too_many;
	}
	return http_response(status, len);
}

void
http_fail(struct session *s, int status, const char *why)
{
	const char	*r;
	size_t		 len;

	r = http_response(status, &len);
	session_send_static(s, r, len);
	snprintf(s->outbuf, sizeof(s->outbuf), "failed, %d", status);
	session_finish(s, s->outbuf, "%s", why);
}

static void
http_start(struct session *s)
{
	struct http_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;		/* http_input answers 503 */
	}
	s->fstate = st;
	session_set_input(s, st->head, sizeof(st->head));
}

/* The URL's or CONNECT's host and port become the session's target. */
static int
http_set_target(struct session *s, const struct http_request *req)
{
	memset(s->target, 0, sizeof(*s->target));
	s->target->proto = SL_L4_TCP;
	s->target->port = req->port;
	if (sockaddr_from_ip(req->host, req->port, &s->target->addr,
	    &s->target->addrlen) == 0)
		return 0;
	if (sl_target_set_name(s->target, req->host, strlen(req->host),
	    req->port) == 0)
		return 0;
	http_fail(s, 400, "bad target host");
	return -1;
}

/* Why the credentials failed, for the log: as SOCKS5 says it. */
static void
http_auth_failed(struct session *s, const uint8_t *user, size_t ulen)
{
	char		 name[HTTP_MAX_CRED + 1], clean[64], why[96];
	const char	*known = "unknown user";
	size_t		 i;

	memcpy(name, user, ulen);
	name[ulen] = '\0';
	str_sanitize(clean, sizeof(clean), name);
	for (i = 0; i < s->listener->nusers; i++)
		if (strcmp(s->listener->users[i].name, name) == 0)
			known = "wrong password for user";
	snprintf(why, sizeof(why), "%s %s", known, clean);
	http_fail(s, 407, why);
}

/* Proxy-Authorization: Basic against the listener's users; 1 if good. */
static int
http_auth(struct session *s, const struct http_request *req)
{
	const struct http_header	*h;
	const struct sl_user		*u;
	uint8_t				 cred[2 * HTTP_MAX_CRED + 2];
	const uint8_t			*pass;
	size_t				 ulen, plen;
	int				 rv;

	if (http_header_find(req, "Proxy-Authorization", &h) == -1) {
		http_fail(s, 400, "Proxy-Authorization twice");
		return 0;
	}
	if (h == NULL) {
		http_fail(s, 407, "no credentials");
		return 0;
	}
	rv = http_basic_credentials(h->value, h->vlen, cred, &ulen, &pass,
	    &plen);
	if (rv <= 0) {
		explicit_bzero(cred, sizeof(cred));
		http_fail(s, rv == 0 ? 407 : 400, rv == 0 ?
		    "credentials not Basic" : "malformed Basic credentials");
		return 0;
	}
	u = auth_check(s->listener, (const char *)cred, ulen,
	    (const char *)pass, plen);
	if (u == NULL) {
		http_auth_failed(s, cred, ulen);
		explicit_bzero(cred, sizeof(cred));
		return 0;
	}
	explicit_bzero(cred, sizeof(cred));
	s->user = u->name;
	return 1;
}

/*
 * Absolute-form: the origin's request and the body bytes read so far,
 * sent by the relay before anything else.  The client's head goes.
 */
static int
http_rewrite(struct session *s, const struct http_request *req,
    size_t headlen)
{
	struct http_state	*st = s->fstate;
	size_t			 body = s->inlen - headlen;
	size_t			 cap = headlen + HTTP_REWRITE_SLACK + body;
	int			 n;

	if ((st->out = malloc(cap)) == NULL) {
		log_warn("%s: malloc", __func__);
		http_fail(s, 503, "no memory");
		return -1;
	}
	if ((n = http_build_origin_request(req, st->out, cap)) < 0) {
		http_fail(s, 431, "rewritten head too long");
		return -1;
	}
	memcpy(st->out + n, s->in + headlen, body);
	st->nout = (size_t)n + body;
	session_consume(s, s->inlen);
	/* The credentials in the client's head are not needed any more. */
	explicit_bzero(st->head, headlen);
	return 0;
}

static void
http_input(struct session *s)
{
	struct http_state	*st = s->fstate;
	struct http_request	 req;
	int			 n, status = 0;

	if (st == NULL) {
		http_fail(s, 503, "no memory for the request head");
		return;
	}
	n = http_scan_head(&st->scan, s->in, s->inlen, &status);
	if (n < 0) {
		http_fail(s, status, status == 414 ? "request line too long" :
		    "request head too long");
		return;
	}
	/* Garbage is refused at its first line, not after 16 KiB of it. */
	if (!st->line_ok && st->scan.line_len > 0) {
		memset(&req, 0, sizeof(req));
		if ((status = http_parse_line(s->in, st->scan.line_len,
		    &req)) != 0) {
			http_fail(s, status, req.why);
			return;
		}
		st->line_ok = 1;
	}
	if (n == 0)
		return;
	if ((status = http_parse_head(s->in, (size_t)n, &req)) != 0) {
		http_fail(s, status, req.why);
		return;
	}
	if (http_set_target(s, &req) == -1)
		return;
	if (s->listener->nusers > 0 && !http_auth(s, &req))
		return;
	if (req.form == HTTP_FORM_AUTHORITY) {
		/* Bytes after the head are the tunnel's first: kept. */
		session_consume(s, (size_t)n);
		explicit_bzero(s->in + s->inlen, (size_t)n);
		session_connect(s);
		return;
	}
	if (http_rewrite(s, &req, (size_t)n) == -1)
		return;
	session_connect(s);
}

static void
http_reply_ok(struct session *s, const struct sockaddr *bound)
{
	struct http_state	*st = s->fstate;

	(void)bound;
	if (st != NULL && st->out != NULL) {
		/* The origin answers the client itself. */
		s->hs->early = st->out;
		s->hs->nearly = st->nout;
		return;
	}
	session_send_static(s, http_connect_ok, http_connect_ok_len);
}

static void
http_reply_err(struct session *s, enum sl_conn_err err)
{
	const char	*r;
	size_t		 len;
	int		 status;

	switch (err) {
	case SL_CONN_NOT_ALLOWED:
		/* Over a limit: 429 for a client's own, 503 for everyone's. */
		status = s->lim.refused != LIM_OK ?
		    limits_http_status(&s->lim) : 403;
		break;
	case SL_CONN_TIMEOUT:
		status = 504;
		break;
	default:
		status = 502;
		break;
	}
	r = http_status_response(status, &len);
	session_send_static(s, r, len);
	snprintf(s->outbuf, sizeof(s->outbuf), "failed, %d", status);
	s->outcome = s->outbuf;
}

static void
http_release(struct session *s)
{
	struct http_state	*st = s->fstate;

	if (st == NULL)
		return;
	if (st->out != NULL) {
		explicit_bzero(st->out, st->nout);
		free(st->out);
	}
	explicit_bzero(st, sizeof(*st));
	free(st);
	s->fstate = NULL;
}

const struct front_ops front_http = {
	.name = "http",
	.ignores_bound = 1,
	.start = http_start,
	.input = http_input,
	.reply_ok = http_reply_ok,
	.reply_err = http_reply_err,
	.release = http_release,
};
