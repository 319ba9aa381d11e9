/*
 * The `host` front-end: plain HTTP/1.x routed by the name of its first
 * request (tcprouter's HTTP entrypoint): the absolute-form target's
 * authority, else the Host field (proto/host_wire.c).  The head is read
 * into a 16 KiB buffer lent to the session, for at most the listener's
 * `timeout`; all of it goes to the backend first, unchanged, and the
 * rest of the connection is relayed as it is: later requests on a
 * kept-alive connection go to the same backend, as with tcprouter.
 *
 * sluice answers only when no backend does: 400/414/431/505 for a head
 * it cannot read, 503 when no service serves the name, 502 or 504 when
 * the backend cannot be reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../proto/host_wire.h"
#include "../proto/http_wire.h"
#include "front.h"

struct host_state {
	struct host_req	 req;
	uint8_t		 buf[HTTP_MAX_HEAD];
};

static void
host_start(struct session *s)
{
	struct host_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;		/* host_input answers 503 */
	}
	s->fstate = st;
	session_set_input(s, st->buf, sizeof(st->buf));
}

static void
host_input(struct session *s)
{
	struct host_state	*st = s->fstate;

	if (st == NULL) {
		http_fail(s, 503, "no memory");
		return;
	}
	switch (host_parse(&st->req, s->in, s->inlen)) {
	case HOST_MORE:
		return;
	case HOST_BAD:
		http_fail(s, st->req.status, st->req.why);
		return;
	case HOST_NONE:
		st->req.host[0] = '\0';
		/* FALLTHROUGH */
	case HOST_OK:
		if (session_connect_service(s, st->req.host) == -1) {
			char	why[SL_MAX_NAME + 32];

			snprintf(why, sizeof(why), "%s%s", st->req.host[0] ?
			    "no service for " : "no Host and no CATCH_ALL",
			    st->req.host);
			http_fail(s, 503, why);
		}
		return;
	}
}

static void
host_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
host_reply_err(struct session *s, enum sl_conn_err err)
{
	const char	*r;
	size_t		 len;
	int		 status;

	status = err == SL_CONN_TIMEOUT ? 504 : err == SL_CONN_NOT_ALLOWED ?
	    403 : 502;
	if (s->lim.refused != LIM_OK)
		status = limits_http_status(&s->lim);
	r = http_status_response(status, &len);
	session_send_static(s, r, len);
	snprintf(s->outbuf, sizeof(s->outbuf), "failed, %d", status);
	s->outcome = s->outbuf;
}

static void
host_release(struct session *s)
{
	free(s->fstate);
	s->fstate = NULL;
}

const struct front_ops front_host = {
	.name = "host",
	.ignores_bound = 1,
	.start = host_start,
	.input = host_input,
	.reply_ok = host_reply_ok,
	.reply_err = host_reply_err,
	.release = host_release,
};
