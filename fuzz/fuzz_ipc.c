/*
 * libFuzzer harness for the IPC decoders: what a compromised child may
 * send its master or its peer.  The first input byte picks the path:
 *
 *   even: ipc_body_decode() on the rest, for the message type in the
 *         second byte.  The body sits in a heap block that ends where it
 *         does, so ASan sees any read past len.  A body that decodes is
 *         encoded again and must decode to the same message.
 *   odd:  ipc_frame_recv() on a real SOCK_SEQPACKET socketpair.  The
 *         second byte gives the peer role, whether the channel carries
 *         fds and how many fds ride on the frame (up to more than
 *         ipc/frame.c makes room for); the rest is the frame as sent.
 *         An accepted frame must agree with sl_msg_specs[] on sender and
 *         fd; no fd may be left open whatever the verdict.
 *
 * msgpack-c allocates per container header before it has seen the
 * elements (platform.md trap 6): the codec must scan first, and ASan's
 * allocation limit (-rss_limit_mb, -malloc_limit_mb) turns a miss into
 * a crash here.  This harness itself allocates only len bytes.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/target.h"
#include "ipc/codec.h"

/* More than FRAME_MAX_FDS in ipc/frame.c: the kernel truncates. */
#define FUZZ_MANY_FDS	10

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	sv[2] = { -1, -1 };
static int	devnull = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	return 0;
}

/* Strings the codec hands on must be NUL-terminated in their arrays. */
static void
check_strings(const struct sl_msg *m, unsigned type)
{
	if (type == SL_MSG_LOG && memchr(m->u.log.text, '\0',
	    sizeof(m->u.log.text)) == NULL)
		abort();
	if (type == SL_MSG_RES_QUERY && memchr(m->u.res_query.name, '\0',
	    sizeof(m->u.res_query.name)) == NULL)
		abort();
	if (type == SL_MSG_RES_ANSWER && m->u.res_answer.naddrs >
	    SL_MAX_ADDRS)
		abort();
}

static void
fuzz_target_text(const char *text)
{
	struct sl_target	t;
	char			back[SL_MAX_NAME + 16];

	if (sl_target_parse(&t, text) == -1)
		return;
	if (t.port == 0 || (t.host[0] == '\0' && t.addrlen == 0))
		abort();
	/* A name prints as given, then its port. */
	sl_target_fmt(&t, back, sizeof(back));
	if (t.host[0] != '\0' && (strncmp(back, text, strlen(t.host)) != 0 ||
	    back[strlen(t.host)] != ':'))
		abort();
}

static void
fuzz_body(unsigned type, const uint8_t *data, size_t len)
{
	struct sl_msg	 m, again;
	char		 out[SL_IPC_MAX_FRAME];
	char		*body;
	const char	*why = NULL;
	int		 n;

	if ((body = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(body, data, len);
	memset(&m, 0, sizeof(m));
	if (ipc_body_decode(&m, type, body, len, &why) == -1) {
		if (why == NULL)
			abort();
		free(body);
		return;
	}
	if (type == SL_MSG_NONE || type >= SL_MSG_MAX ||
	    len > sl_msg_specs[type].max_body)
		abort();
	check_strings(&m, type);
	/*
	 * A TUN_ message's target and peer texts go through the target
	 * parser on their receiver (worker/egress/agent_link.c, front/
	 * agent.c): whatever it accepts must print back to the same text.
	 */
	if (SL_MSG_IS_TUN(type))
		fuzz_target_text(m.u.tun.target), fuzz_target_text(m.u.tun.peer);
	/* What was accepted must be what we would have sent. */
	m.type = (uint16_t)type;
	n = ipc_body_encode(&m, out, sizeof(out));
	if (n <= 0 || (size_t)n > sl_msg_specs[type].max_body)
		abort();
	memset(&again, 0, sizeof(again));
	if (ipc_body_decode(&again, type, out, (size_t)n, &why) == -1 ||
	    memcmp(&again.u, &m.u, sizeof(m.u)) != 0)
		abort();
	free(body);
}

/* The lowest free descriptor: it moves if anything was left open. */
static int
lowest_free_fd(void)
{
	int	fd;

	if ((fd = fcntl(devnull, F_DUPFD_CLOEXEC, 0)) == -1)
		abort();
	close(fd);
	return fd;
}

/* One frame with nfds copies of /dev/null, all or nothing. */
static void
send_frame(const uint8_t *frame, size_t len, size_t nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * FUZZ_MANY_FDS)];
	}		 cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	size_t		 i;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)frame;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &devnull,
			    sizeof(int));
	}
	if (sendmsg(sv[1], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		abort();
}

static void
fuzz_frame(uint8_t ctl, const uint8_t *frame, size_t len)
{
	static const size_t	 fd_counts[4] = { 0, 1, 2, FUZZ_MANY_FDS };
	struct sl_frame_hdr	 hdr;
	const struct sl_msg_spec *spec;
	struct sl_msg		 m;
	const char		*why = NULL;
	unsigned		 peer = ctl & 3;	/* 3: no such role */
	int			 allow_fds = (ctl & 4) != 0;
	size_t			 nfds = fd_counts[(ctl >> 3) & 3];
	int			 base, rv;

	/* The socket buffer holds this easily; larger is just MSG_TRUNC. */
	if (len > 2 * SL_IPC_MAX_FRAME)
		return;
	base = lowest_free_fd();
	send_frame(frame, len, nfds);
	memset(&m, 0, sizeof(m));
	rv = ipc_frame_recv(sv[0], peer, allow_fds, &m, &why, MSG_DONTWAIT);
	switch (rv) {
	case SL_RECV_OK:
		memcpy(&hdr, frame, sizeof(hdr));
		spec = &sl_msg_specs[m.type];
		if (len < sizeof(hdr) || len > SL_IPC_MAX_FRAME ||
		    m.type != hdr.type || m.id != hdr.id ||
		    hdr.len != len - sizeof(hdr) || peer >= SL_PROC_MAX ||
		    !(spec->from & SL_FROM(peer)) || nfds > 1 ||
		    (m.fd >= 0) != (spec->fd == SL_FD_REQUIRED) ||
		    (m.fd >= 0 && !allow_fds))
			abort();
		check_strings(&m, m.type);
		if (m.fd >= 0)
			close(m.fd);
		break;
	case SL_RECV_BAD:
		if (why == NULL || m.fd != -1)
			abort();
		break;
	case SL_RECV_EOF:
	case SL_RECV_AGAIN:	/* an empty record may or may not queue */
		if (len != 0 || nfds != 0)
			abort();
		break;
	default:
		abort();
	}
	/* One frame in, one frame out: nothing may be left for the next. */
	if (recv(sv[0], &hdr, sizeof(hdr), MSG_DONTWAIT | MSG_PEEK) != -1 ||
	    errno != EAGAIN)
		abort();
	if (lowest_free_fd() != base)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if ((data[0] & 1) == 0)
		fuzz_body(data[1] % (SL_MSG_MAX + 1), data + 2, size - 2);
	else
		fuzz_frame(data[1], data + 2, size - 2);
	return 0;
}
