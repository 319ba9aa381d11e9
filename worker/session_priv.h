/*
 * What session.c shares with session_accept.c (accepting and admitting
 * clients) and nothing else.  Private to worker/.
 */
#ifndef SL_SESSION_PRIV_H
#define SL_SESSION_PRIV_H

#include <sys/socket.h>

#include "session.h"

/* A client passed admission: make its session and start its front-end. */
void	session_new(int fd, const struct sockaddr_storage *,
	    const struct sl_listener *);
/* The oldest session of this worker still in its handshake, or NULL. */
struct session *session_oldest_handshake(void);

#endif
