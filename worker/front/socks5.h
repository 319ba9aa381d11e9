/*
 * What the SOCKS5 front-end's files share: socks5.c (method selection,
 * authentication, CONNECT), socks5_bind.c (BIND) and socks5_udp.c (UDP
 * ASSOCIATE).  Private to them.
 */
#ifndef SL_FRONT_SOCKS5_H
#define SL_FRONT_SOCKS5_H

#include <sys/socket.h>
#include <stdint.h>

#include "front.h"

/* socks5.c */
/*
 * Queue a reply with code rep and bound address (NULL: 0.0.0.0:0); a
 * failure also names the session's outcome.  The caller flushes.
 */
void	socks5_front_reply(struct session *, uint8_t rep,
	    const struct sockaddr *bound);

/* socks5_bind.c: s->target is the peer the client expects (RFC 1928). */
void	socks5_bind_start(struct session *);

/* socks5_udp.c: s->target is where the client will send from, or 0s. */
void	socks5_udp_start(struct session *);

#endif
