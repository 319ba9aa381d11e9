/*
 * msgpack encoding and decoding of every message in ipc_msg.h, and the
 * framing that carries them over SOCK_SEQPACKET channels.
 */
#ifndef SL_IPC_CODEC_H
#define SL_IPC_CODEC_H

#include <stddef.h>

#include "ipc_msg.h"

/* codec.c */

/*
 * Encode m's payload (per m->type) as a msgpack body into buf.
 * Returns the body length, or -1 if the payload is out of range or does
 * not fit (both are bugs in the caller).
 */
int	ipc_body_encode(const struct sl_msg *m, char *buf, size_t cap);

/*
 * Decode a body of type `type` into m->u.  Rejects bodies larger than the
 * type's cap, malformed msgpack, wrong shapes, out-of-range values,
 * strings that are too long or contain NUL, and trailing bytes.  Returns
 * 0, or -1 with a short reason in *why (static string).
 */
int	ipc_body_decode(struct sl_msg *m, unsigned type, const char *body,
	    size_t len, const char **why);

/* frame.c */

/*
 * Send one frame carrying m (and m->fd when the type's spec requires an
 * fd).  The fd is not closed.  flags are extra send flags (MSG_DONTWAIT).
 * Returns 0, -1 with errno (EAGAIN when a non-blocking send would block).
 */
int	ipc_frame_send(int sock, const struct sl_msg *m, int flags);

/*
 * Build the whole frame for m (header, body, SL_FRAME_FD when the type
 * requires an fd) into buf; at most SL_IPC_MAX_FRAME bytes are used.
 * Returns the frame length, or -1 with errno EINVAL (m does not encode
 * or a request type has id 0) or EBADF (a required fd is missing).
 * ipc_chan encodes once with this and queues the bytes.
 */
int	ipc_frame_build(const struct sl_msg *m, char *buf, size_t cap);

/*
 * Send len bytes of an already built frame in one sendmsg(), with fd as
 * SCM_RIGHTS if fd >= 0.  Nothing is checked: pass an fd exactly when the
 * header has SL_FRAME_FD.  The fd is not closed.  Returns 0, -1 with
 * errno.
 */
int	ipc_frame_send_raw(int sock, const void *frame, size_t len, int fd,
	    int flags);

enum sl_recv_result {
	SL_RECV_OK = 1,
	SL_RECV_EOF = 0,
	SL_RECV_AGAIN = -1,	/* nothing to read (non-blocking) */
	SL_RECV_ERROR = -2,	/* socket error, errno set */
	SL_RECV_BAD = -3,	/* protocol violation; *why says which */
};

/*
 * Receive one frame from sock and decode it into m.  `peer` is the role
 * at the other end (SL_PROC_*): its messages must be allowed from that
 * sender.  `allow_fds` is 0 on channels that never carry fds; then any
 * received fd is closed and the frame rejected.  Surplus fds are always
 * closed.  On SL_RECV_OK, m->fd is the received fd or -1 and the caller
 * owns it.  flags are extra recv flags (MSG_DONTWAIT).
 */
int	ipc_frame_recv(int sock, unsigned peer, int allow_fds,
	    struct sl_msg *m, const char **why, int flags);

/*
 * Close an fd received from a peer so that close() cannot block: a TCP
 * socket with SO_LINGER {1, t} and unsent data would hold us up to t
 * seconds.  Turns lingering off first (setsockopt SOL_SOCKET SO_LINGER,
 * allowed in every sandbox); errno is preserved.  fd < 0 is ignored.
 */
void	ipc_close_received(int fd);

#endif
