/*
 * Frames over SOCK_SEQPACKET: one sendmsg() carries a header, the msgpack
 * body and at most one SCM_RIGHTS fd, so an fd can only ever belong to
 * the frame it arrived with.
 *
 * The receiver trusts nothing: a compromised child may send any bytes,
 * any header and any number of fds.  Every check in frame_check() runs
 * before the body is decoded, and every fd that arrived is closed unless
 * the whole frame is accepted.
 *
 * Closing a peer's fd must not block us: close() of the last reference to
 * a TCP socket with SO_LINGER {1, t} and unsent data waits up to t
 * seconds, O_NONBLOCK or not.  So every fd we drop goes through
 * ipc_close_received(), and the kernel is never left to drop fds for us
 * (it would release them in our task, with the same wait).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"

/*
 * Control space for every fd one message can carry (the kernel's
 * SCM_MAX_FD) and some room for other control messages: fds that do not
 * fit would be released by the kernel in our task, where a lingering
 * socket blocks (see above).  Only one is ever kept.
 */
#define FRAME_MAX_FDS	253
#define FRAME_CTL_SLACK	64

union frame_buf {
	struct sl_frame_hdr	hdr;
	char			buf[SL_IPC_MAX_FRAME];
};

static int	frame_id_ok(unsigned, uint32_t);
static size_t	frame_collect_fds(struct msghdr *, int *, size_t);
static void	frame_close_fds(int *, size_t);
static int	frame_check_fd(const struct sl_frame_hdr *,
		    const struct sl_msg_spec *, size_t, int, const char **);
static int	frame_check_kind(int, unsigned, unsigned, const char **);
static int	frame_check(const union frame_buf *, size_t, int, size_t,
		    unsigned, int, const char **);

/* Requests and answers are matched by id; 0 would match nothing. */
static int
frame_id_ok(unsigned type, uint32_t id)
{
	if (type == SL_MSG_RES_QUERY || type == SL_MSG_RES_ANSWER ||
	    type == SL_MSG_SOCK_REQ || type == SL_MSG_SOCK_FD ||
	    type == SL_MSG_SOCK_FAIL || type == SL_MSG_TPROXY_REQ)
		return id != 0;
	return 1;
}

/*
 * Build header and body for m.  Used by ipc_frame_send() and by
 * ipc_chan_send(), which queues the bytes when the socket is full.
 */
int
ipc_frame_build(const struct sl_msg *m, char *buf, size_t cap)
{
	const struct sl_msg_spec	*spec;
	struct sl_frame_hdr		 hdr;
	int				 blen;

	if (m == NULL || buf == NULL || cap < sizeof(hdr) ||
	    m->type == SL_MSG_NONE || m->type >= SL_MSG_MAX ||
	    !frame_id_ok(m->type, m->id)) {
		errno = EINVAL;
		return -1;
	}
	spec = &sl_msg_specs[m->type];
	if (spec->fd == SL_FD_REQUIRED && m->fd < 0) {
		errno = EBADF;
		return -1;
	}
	/* A longer frame would arrive truncated and be rejected. */
	if (cap > SL_IPC_MAX_FRAME)
		cap = SL_IPC_MAX_FRAME;
	blen = ipc_body_encode(m, buf + sizeof(hdr), cap - sizeof(hdr));
	if (blen == -1) {
		errno = EINVAL;
		return -1;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.len = (uint32_t)blen;
	hdr.type = m->type;
	hdr.flags = spec->fd == SL_FD_REQUIRED ? SL_FRAME_FD : 0;
	hdr.id = m->id;
	memcpy(buf, &hdr, sizeof(hdr));
	return (int)(sizeof(hdr) + blen);
}

/* One sendmsg() with an optional fd; SEQPACKET sends all or nothing. */
int
ipc_frame_send_raw(int sock, const void *frame, size_t len, int fd,
    int flags)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)frame;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/*
 * Send m as one frame.  Called directly where blocking is fine (start-up,
 * log lines with MSG_DONTWAIT) and through ipc_chan otherwise.
 */
int
ipc_frame_send(int sock, const struct sl_msg *m, int flags)
{
	union frame_buf	f;
	int		len;

	if ((len = ipc_frame_build(m, f.buf, sizeof(f.buf))) == -1)
		return -1;
	return ipc_frame_send_raw(sock, f.buf, (size_t)len,
	    (f.hdr.flags & SL_FRAME_FD) ? m->fd : -1, flags);
}

/*
 * Take every fd out of the control messages; those beyond max (cannot
 * happen with our buffer size, but the kernel is not our contract) are
 * closed at once.
 */
static size_t
frame_collect_fds(struct msghdr *msg, int *fds, size_t max)
{
	struct cmsghdr	*cmsg;
	const char	*end = (char *)msg->msg_control + msg->msg_controllen;
	size_t		 n = 0, i, cnt, room;
	int		 fd;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		cnt = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		room = (size_t)(end - (char *)CMSG_DATA(cmsg)) / sizeof(int);
		if (cnt > room)
			cnt = room;
		for (i = 0; i < cnt; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				ipc_close_received(fd);
		}
	}
	return n;
}

static void
frame_close_fds(int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		ipc_close_received(fds[i]);
}

/*
 * Close an fd a peer sent us without waiting for it.  Lingering off
 * (l_onoff 0) makes close() return at once and leaves unsent data to the
 * kernel.  Not a socket: ENOTSOCK, nothing to do.  A sender that kept a
 * copy can turn lingering on again, but then our close() is not the last
 * reference unless it closes its copy in the instant between these two
 * calls, and one bad frame costs a child its channel.
 */
void
ipc_close_received(int fd)
{
	static const struct linger	off = { 0, 0 };
	int				saved = errno;

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof(off));
	(void)close(fd);
	errno = saved;
}

/*
 * What a child may hand the master is a memfd (the registry's service
 * table), never a socket: whoever ends up closing it, a plain close() of
 * a regular file cannot block.  fds from the master are trusted.
 *
 * Between a worker and the tunnel process, the TUN_ messages carry
 * sockets by design (streams, a dialed connection).  Lingering is turned
 * off on arrival, so our eventual close() cannot block (see
 * ipc_close_received); setsockopt fails on anything that is not a
 * socket, which is refused.
 */
static int
frame_check_kind(int fd, unsigned peer, unsigned type, const char **why)
{
	static const struct linger	off = { 0, 0 };
	struct stat			st;

	if (peer == SL_PROC_MASTER)
		return 0;
	if (SL_MSG_IS_TUN(type) &&
	    (peer == SL_PROC_WORKER || peer == SL_PROC_TUNNEL)) {
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &off,
		    sizeof(off)) == -1) {
			*why = "fd from a peer is not a socket";
			return -1;
		}
		return 0;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "fd from a child is not a regular file";
		return -1;
	}
	return 0;
}

/* The header's fd flag, the spec and what actually arrived must agree. */
static int
frame_check_fd(const struct sl_frame_hdr *hdr,
    const struct sl_msg_spec *spec, size_t nfds, int allow_fds,
    const char **why)
{
	if (nfds > 1)
		*why = "more than one fd on a frame";
	else if (nfds > 0 && !allow_fds)
		*why = "fd on a channel that carries none";
	else if (spec->fd == SL_FD_FORBIDDEN && (hdr->flags & SL_FRAME_FD))
		*why = "fd flag on a type that carries no fd";
	else if (spec->fd == SL_FD_FORBIDDEN && nfds > 0)
		*why = "fd on a type that carries no fd";
	else if (spec->fd == SL_FD_REQUIRED && !(hdr->flags & SL_FRAME_FD))
		*why = "fd flag missing on a type that needs an fd";
	else if (spec->fd == SL_FD_REQUIRED && nfds == 0)
		*why = "fd missing";
	else
		return 0;
	return -1;
}

/* Everything about a frame except its body. */
static int
frame_check(const union frame_buf *f, size_t n, int mflags, size_t nfds,
    unsigned peer, int allow_fds, const char **why)
{
	const struct sl_msg_spec	*spec;

	if (mflags & MSG_TRUNC)
		*why = "frame larger than SL_IPC_MAX_FRAME";
	else if (mflags & MSG_CTRUNC)
		*why = "too many fds or control messages";
	else if (n < sizeof(f->hdr))
		*why = "frame shorter than its header";
	else if (f->hdr.len != n - sizeof(f->hdr))
		*why = "header length does not match frame";
	else if (f->hdr.type == SL_MSG_NONE || f->hdr.type >= SL_MSG_MAX)
		*why = "unknown message type";
	else if (peer >= SL_PROC_MAX ||
	    !(sl_msg_specs[f->hdr.type].from & SL_FROM(peer)))
		*why = "message not allowed from this peer";
	else if (f->hdr.flags & ~SL_FRAME_FD)
		*why = "unknown frame flags";
	else if (!frame_id_ok(f->hdr.type, f->hdr.id))
		*why = "request id missing";
	else {
		spec = &sl_msg_specs[f->hdr.type];
		return frame_check_fd(&f->hdr, spec, nfds, allow_fds, why);
	}
	return -1;
}

/*
 * Receive and check one frame.  Called by ipc_chan's read watcher and by
 * children reading their start-up configuration (blocking).  On any
 * result but SL_RECV_OK no fd is left open and m->fd is -1.
 */
int
ipc_frame_recv(int sock, unsigned peer, int allow_fds, struct sl_msg *m,
    const char **why, int flags)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) *
			    FRAME_MAX_FDS) + FRAME_CTL_SLACK];
	}		 cm;
	union frame_buf	 f;
	struct msghdr	 msg;
	struct iovec	 iov;
	const char	*dummy;
	int		 fds[FRAME_MAX_FDS];
	size_t		 nfds;
	ssize_t		 n;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	m->fd = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = f.buf;
	iov.iov_len = sizeof(f.buf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return SL_RECV_AGAIN;
		*why = "recvmsg failed";
		return SL_RECV_ERROR;
	}
	nfds = frame_collect_fds(&msg, fds, FRAME_MAX_FDS);
	/* SEQPACKET reports EOF as 0 bytes; so is an empty record. */
	if (n == 0 && nfds == 0 && !(msg.msg_flags & MSG_CTRUNC))
		return SL_RECV_EOF;
	if (frame_check(&f, (size_t)n, msg.msg_flags, nfds, peer, allow_fds,
	    why) == -1 || (nfds > 0 && frame_check_kind(fds[0], peer,
	    f.hdr.type, why) == -1) || ipc_body_decode(m, f.hdr.type,
	    f.buf + sizeof(f.hdr), f.hdr.len, why) == -1) {
		frame_close_fds(fds, nfds);
		return SL_RECV_BAD;
	}
	m->type = f.hdr.type;
	m->id = f.hdr.id;
	m->fd = nfds > 0 ? fds[0] : -1;
	return SL_RECV_OK;
}
