/*
 * The SOCKS4 and SOCKS4a front-end (placeholder until it is written):
 * every request is rejected with 0x5B.
 */
#include "front.h"

static void
s4_input(struct session *s)
{
	static const uint8_t	rejected[8] = { 0, 0x5b };

	session_send_static(s, rejected, sizeof(rejected));
	session_finish(s, "failed, reply 0x5b", "SOCKS4 not yet supported");
}

static void
s4_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
s4_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)s;
	(void)err;
}

const struct front_ops front_socks4 = {
	.name = "socks4",
	.input = s4_input,
	.reply_ok = s4_reply_ok,
	.reply_err = s4_reply_err,
};
