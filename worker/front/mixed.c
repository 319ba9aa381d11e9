/*
 * The mixed front-end: SOCKS5, SOCKS4/4a and HTTP proxy clients on one
 * port, told apart by the first byte as mihomo and gost do: 0x05 is
 * SOCKS5, 0x04 SOCKS4, anything else must be an HTTP method's first
 * letter.  The session then belongs to that front-end alone.
 */
#include "front.h"

static void
mixed_input(struct session *s)
{
	if (s->inlen == 0)
		return;
	switch (s->in[0]) {
	case 0x05:
		s->front = &front_socks5;
		break;
	case 0x04:
		s->front = &front_socks4;
		break;
	default:
		s->front = &front_http;
		break;
	}
	if (s->front->start != NULL)
		s->front->start(s);
	s->front->input(s);
}

static void
mixed_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)s;
	(void)err;		/* never: no request was made yet */
}

const struct front_ops front_mixed = {
	.name = "mixed",
	.input = mixed_input,
	.reply_err = mixed_reply_err,
};
