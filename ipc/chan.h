/*
 * A non-blocking IPC channel on a libev loop: receives frames, checks
 * them, calls a handler per message; queues outgoing frames (bounded)
 * when the socket is full.
 */
#ifndef SL_IPC_CHAN_H
#define SL_IPC_CHAN_H

#include <ev.h>

#include "ipc_msg.h"

struct ipc_chan;

/* Called once per valid message; the handler owns m->fd if >= 0. */
typedef void (*ipc_handler)(struct ipc_chan *, struct sl_msg *, void *arg);
/*
 * Called once when the peer closed the channel, a socket error occurred or
 * the peer sent a protocol violation (why != NULL).  The channel is
 * stopped; the callee frees it with ipc_chan_free().
 */
typedef void (*ipc_close_cb)(struct ipc_chan *, const char *why, void *arg);

#define IPC_CHAN_MAX_QUEUE	4096	/* frames waiting to be sent */

/* chan.c */
struct ipc_chan	*ipc_chan_new(struct ev_loop *, int fd, unsigned peer,
		    int allow_fds, ipc_handler, ipc_close_cb, void *arg);
/*
 * Queue m for sending (sent at once if the socket has room).  An fd on m
 * is duplicated: the caller keeps its own.  Returns 0, or -1 if the queue
 * is full or m does not encode.
 */
int		 ipc_chan_send(struct ipc_chan *, const struct sl_msg *m);
int		 ipc_chan_fd(const struct ipc_chan *);
size_t		 ipc_chan_queued(const struct ipc_chan *);
/* Try to send everything queued, blocking up to timeout_ms. */
void		 ipc_chan_flush(struct ipc_chan *, int timeout_ms);
/* Stop watchers, close the socket and queued fds, free. */
void		 ipc_chan_free(struct ipc_chan *);

#endif
