/*
 * SOCKS5 BIND (placeholder until it is written): refused with 0x07.
 */
#include <stdio.h>

#include "../proto/socks5_wire.h"
#include "socks5.h"

void
socks5_bind_start(struct session *s)
{
	session_quiet(s);
	session_detail(s, "BIND not yet supported");
	socks5_front_reply(s, S5_REP_CMDUNSUPP, NULL);
	s->close_after_reply = 1;
	session_flush(s);
}
