/*
 * The SOCKS5 front-end (RFC 1928): method selection, the request, and
 * the reply.  The wire format is proto/socks5_wire.c; this file decides.
 *
 * A listener with `users` takes username/password authentication (RFC
 * 1929) and nothing else: a greeting without method 0x02 gets 05 FF.
 *
 * A SOCKS4 or SOCKS4a client on the same port is told apart by its first
 * byte and handed to front/socks4.c.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "../proto/socks5_wire.h"
#include "auth.h"
#include "socks5.h"

#define RFC1929_VER		0x01

enum s5_phase {
	S5_GREETING = 0,
	S5_AUTH,		/* RFC 1929 username/password */
	S5_REQUEST,
};

/* Per session: no allocation, the phase lives in fstate's bits. */
#define S5_PHASE(s)		((enum s5_phase)(uintptr_t)(s)->fstate)
#define S5_SET_PHASE(s, p)	((s)->fstate = (void *)(uintptr_t)(p))

void
socks5_front_reply(struct session *s, uint8_t rep,
    const struct sockaddr *bound)
{
	uint8_t	buf[32];
	size_t	n = socks5_build_reply(buf, rep, bound);

	(void)session_send(s, buf, n);
	if (rep != S5_REP_OK) {
		snprintf(s->outbuf, sizeof(s->outbuf), "failed, reply 0x%02x",
		    rep);
		s->outcome = s->outbuf;
	}
}

static void
s5_reply_ok(struct session *s, const struct sockaddr *bound)
{
	socks5_front_reply(s, S5_REP_OK, bound);
}

static void
s5_reply_err(struct session *s, enum sl_conn_err err)
{
	socks5_front_reply(s, socks5_err_rep(err), NULL);
}

/* Refuse every method: VER 0xFF, then close. */
static void
s5_no_method(struct session *s, const char *why)
{
	static const uint8_t	noaccept[2] = { S5_VERSION, S5_AUTH_NOACCEPT };

	session_send_static(s, noaccept, sizeof(noaccept));
	session_finish(s, "failed, reply 0xff", "%s", why);
}

static void
s5_request(struct session *s)
{
	struct socks5_request	req;
	uint8_t			rep = S5_REP_FAIL;
	int			n;

	n = socks5_parse_request(s->in, s->inlen, &req, &rep);
	if (n == 0) {
		session_flush(s);	/* the method reply, if any */
		return;
	}
	if (n < 0) {
		session_detail(s, "bad request");
		socks5_front_reply(s, rep, NULL);
		s->hs->close_after_reply = 1;
		session_flush(s);
		return;
	}
	session_consume(s, (size_t)n);
	*s->target = req.t;
	s->target->proto = SL_L4_TCP;
	/* Over a limit: 0x02, whatever the command (BIND, UDP too). */
	if (req.cmd != S5_CMD_CONNECT && session_limited(s))
		return;
	switch (req.cmd) {
	case S5_CMD_CONNECT:
		session_connect(s);
		return;
	case S5_CMD_BIND:
		socks5_bind_start(s);
		return;
	case S5_CMD_UDP:
		s->target->proto = SL_L4_UDP;
		socks5_udp_start(s);
		return;
	default:
		session_detail(s, "command 0x%02x", req.cmd);
		socks5_front_reply(s, S5_REP_CMDUNSUPP, NULL);
		s->hs->close_after_reply = 1;
		session_flush(s);
	}
}

/* Does the (complete, parsed) greeting in buf offer method m? */
static int
s5_offers(const uint8_t *buf, uint8_t m)
{
	return memchr(buf + 2, m, buf[1]) != NULL;
}

/*
 * Which user name a failed attempt named, for the log only: the check
 * itself (auth_check) takes the same time either way.
 */
static const char *
s5_auth_why(const struct sl_listener *l, const char *user)
{
	size_t	i;

	for (i = 0; i < l->nusers; i++)
		if (strcmp(l->users[i].name, user) == 0)
			return "wrong password for user";
	return "unknown user";
}

/*
 * RFC 1929: VER ULEN UNAME PLEN PASSWD.  Success is 01 00; anything else
 * is 01 01 and the end (section 2: the server must close).
 */
static int
s5_auth(struct session *s)
{
	static const uint8_t	 ok[2] = { RFC1929_VER, 0x00 };
	static const uint8_t	 no[2] = { RFC1929_VER, 0x01 };
	const struct sl_user	*u;
	char			 user[SL_MAX_NAME + 1], pass[SL_MAX_NAME + 1];
	int			 n;

	n = socks5_parse_userpass(s->in, s->inlen, user, pass);
	if (n == 0)
		return 0;
	/* send, not send_static: the method reply may still be queued. */
	if (n < 0) {
		(void)session_send(s, no, sizeof(no));
		session_finish(s, "auth failed",
		    "bad username/password request");
		return -1;
	}
	u = auth_check(s->listener, user, strlen(user), pass, strlen(pass));
	explicit_bzero(pass, sizeof(pass));
	session_consume(s, (size_t)n);
	/* What consume left behind may hold the password: wipe it. */
	explicit_bzero(s->in + s->inlen, (size_t)n);
	if (u == NULL) {
		(void)session_send(s, no, sizeof(no));
		session_finish(s, "auth failed", "%s %s",
		    s5_auth_why(s->listener, user), user);
		return -1;
	}
	s->user = u->name;
	(void)session_send(s, ok, sizeof(ok));
	return 1;
}

/* Method selection; 1 when the next phase may go on, else 0 or -1. */
static int
s5_greeting(struct session *s)
{
	static const uint8_t	none[2] = { S5_VERSION, S5_AUTH_NONE };
	static const uint8_t	userpass[2] = { S5_VERSION, S5_AUTH_USERPASS };
	int			offers_none = 0, n;

	n = socks5_parse_greeting(s->in, s->inlen, &offers_none);
	if (n == 0)
		return 0;
	if (n < 0) {
		s5_no_method(s, "bad greeting");
		return -1;
	}
	if (s->listener->nusers > 0) {
		if (!s5_offers(s->in, S5_AUTH_USERPASS)) {
			s5_no_method(s, "no username/password method offered");
			return -1;
		}
		session_consume(s, (size_t)n);
		S5_SET_PHASE(s, S5_AUTH);
		(void)session_send(s, userpass, sizeof(userpass));
		return 1;
	}
	if (!offers_none) {
		s5_no_method(s, "no acceptable method");
		return -1;
	}
	session_consume(s, (size_t)n);
	S5_SET_PHASE(s, S5_REQUEST);
	(void)session_send(s, none, sizeof(none));
	return 1;
}

static void
s5_input(struct session *s)
{
	int	rv;

	if (S5_PHASE(s) == S5_GREETING && s->inlen > 0 && s->in[0] == 0x04) {
		s->front = &front_socks4;	/* SOCKS4 or 4a */
		s->front->input(s);
		return;
	}
	if (S5_PHASE(s) == S5_GREETING) {
		if ((rv = s5_greeting(s)) <= 0)
			return;
	}
	if (S5_PHASE(s) == S5_AUTH) {
		if ((rv = s5_auth(s)) < 0)
			return;
		if (rv == 0) {
			session_flush(s);	/* the method reply, if any */
			return;
		}
		S5_SET_PHASE(s, S5_REQUEST);
	}
	s5_request(s);
}

static void
s5_release(struct session *s)
{
	s->fstate = NULL;
}

const struct front_ops front_socks5 = {
	.name = "socks5",
	.input = s5_input,
	.reply_ok = s5_reply_ok,
	.reply_err = s5_reply_err,
	.release = s5_release,
};
