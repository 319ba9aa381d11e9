/*
 * The SOCKS4 and SOCKS4a front-end: one request, one 8-byte reply.  The
 * wire format is proto/socks4_wire.c; this file decides.
 *
 * Clients arrive here from the socks5 and mixed front-ends, which hand
 * over a session whose first byte is 0x04.  Only CONNECT is served.
 * SOCKS4 has no authentication (its USERID is a claim, not a secret), so
 * a listener that has `users` refuses SOCKS4 outright: accepting it would
 * let any client past the password check by speaking the older protocol.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "../proto/socks4_wire.h"
#include "front.h"

/* The longest request must fit the inline buffer: no buffer is lent. */
_Static_assert(S4_MAX_MSG <= SESSION_IN, "SOCKS4 request > SESSION_IN");
_Static_assert(S4_REPLY_LEN <= SESSION_OUT, "SOCKS4 reply > SESSION_OUT");

/* Queue the reply; a failure also names the outcome for the log. */
static void
s4_reply(struct session *s, uint8_t cd, const struct sockaddr *bound)
{
	uint8_t	buf[S4_REPLY_LEN];

	(void)socks4_build_reply(buf, cd, bound);
	(void)session_send(s, buf, sizeof(buf));
	if (cd != S4_REP_GRANTED) {
		snprintf(s->outbuf, sizeof(s->outbuf), "failed, reply 0x%02x",
		    cd);
		s->outcome = s->outbuf;
	}
}

/* Refuse the request (why goes to the log line), then close. */
static void
s4_reject(struct session *s, const char *why)
{
	session_detail(s, "%s", why);
	s4_reply(s, S4_REP_REJECTED, NULL);
	s->hs->close_after_reply = 1;
	session_flush(s);
}

static void
s4_input(struct session *s)
{
	struct socks4_request	req;
	char			why[32];
	int			n;

	n = socks4_parse_request(s->in, s->inlen, &req);
	if (n == 0)
		return;
	if (n < 0) {
		s4_reject(s, "bad SOCKS4 request");
		return;
	}
	/* Bytes after the request are the client's first data: kept. */
	session_consume(s, (size_t)n);
	*s->target = req.t;
	s->target->proto = SL_L4_TCP;
	if (s->listener->nusers > 0) {
		s4_reject(s, "SOCKS4 on a listener with users");
		return;
	}
	if (req.cmd != S4_CMD_CONNECT) {
		snprintf(why, sizeof(why), "%s 0x%02x unsupported",
		    req.cmd == S4_CMD_BIND ? "BIND" : "command", req.cmd);
		s4_reject(s, why);
		return;
	}
	session_connect(s);
}

static void
s4_reply_ok(struct session *s, const struct sockaddr *bound)
{
	s4_reply(s, S4_REP_GRANTED, bound);
}

static void
s4_reply_err(struct session *s, enum sl_conn_err err)
{
	/* SOCKS4 has one failure code: the cause is in the log only. */
	(void)err;
	s4_reply(s, S4_REP_REJECTED, NULL);
}

static void
s4_release(struct session *s)
{
	/* The socks5 front-end kept its phase here before handing over. */
	s->fstate = NULL;
}

const struct front_ops front_socks4 = {
	.name = "socks4",
	.input = s4_input,
	.reply_ok = s4_reply_ok,
	.reply_err = s4_reply_err,
	.release = s4_release,
};
