/*
 * What session.c shares with session_accept.c (accepting and admitting
 * clients) and nothing else.  Private to worker/.
 */
#ifndef SL_SESSION_PRIV_H
#define SL_SESSION_PRIV_H

#include <sys/socket.h>
#include <stdarg.h>

#include "session.h"

/* A client passed admission: make its session and start its front-end. */
void	session_new(int fd, const struct sockaddr_storage *,
	    const struct sl_listener *);
/* The same with the front-end's state set before it starts. */
void	session_new_with(int fd, const struct sockaddr_storage *,
	    const struct sl_listener *, void *fstate);
/* access.c: set the detail text (made on first use) from a va_list. */
void	session_vdetail(struct session *, const char *fmt, va_list ap);
/* access.c: the relay has started; only the target's text is kept. */
void	session_target_keep_text(struct session *);
/* session.c: this worker's row in the shared region, a listener's. */
struct sl_worker_ctr *session_row(void);
struct sl_listener_ctr *session_listener_ctr(const struct session *);
/* The oldest session of this worker still in its handshake, or NULL. */
struct session *session_oldest_handshake(void);

#endif
