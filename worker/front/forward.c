/*
 * The `forward` front-end: every client of the listener goes to its
 * fixed `target` (transmitm's TCPProxy, socat TCP-LISTEN...TCP, HAProxy
 * `mode tcp` with one server).  Nothing is read first: the session
 * connects as soon as the client is accepted, so protocols whose server
 * speaks first (SSH, SMTP) work, and whatever the client sends meanwhile
 * waits in its socket.  With `proxy_protocol` the header is read first.
 *
 * The target still goes through routing: matchers see it, links,
 * chains and `deny_targets` apply, and a name is resolved per session.
 * A target that cannot be reached is answered the only way TCP can: the
 * client's connection is reset (RST), not closed, so it sees a failure
 * rather than an empty reply.
 */
#include <sys/socket.h>
#include <string.h>

#include "front.h"

/* s->target := the listener's target. */
void
front_fixed_target(struct session *s)
{
	const struct sl_listener	*l = s->listener;

	if (l->target_addrlen != 0)
		sl_target_set_addr(s->target, (const struct sockaddr *)
		    &l->target_addr, l->target_addrlen);
	else
		(void)sl_target_set_name(s->target, l->target_host,
		    strlen(l->target_host), l->target_port);
}

/* A failure TCP can only tell by a reset. */
void
front_reset_client(struct session *s)
{
	struct linger	lg = { 1, 0 };

	(void)setsockopt(s->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void
forward_start(struct session *s)
{
	front_fixed_target(s);
}

static void
forward_connect(struct session *s)
{
	session_connect(s);
}

static void
forward_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
forward_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)err;
	front_reset_client(s);
}

const struct front_ops front_forward = {
	.name = "forward",
	.ignores_bound = 1,
	.start = forward_start,
	.connect_first = forward_connect,
	.reply_ok = forward_reply_ok,
	.reply_err = forward_reply_err,
};
