/*
 * IPC tests, frames over real SOCK_SEQPACKET socketpairs: every type with
 * its fd, and every way a compromised peer can lie in a header or with
 * SCM_RIGHTS, checking that no received fd is ever left open.
 * Part of the check_codec executable (see check_codec.h).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <poll.h>

#include "check_codec.h"

/* Send arbitrary bytes with nfds copies of fd as SCM_RIGHTS. */
static void
send_with_fds(int sock, const void *p, size_t len, int fd, int nfds)
{
	char		 cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 i;

	ck_assert_int_le(nfds, 64);
	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd,
			    sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send a raw frame (+ fds), expect SL_RECV_BAD and no fd left behind. */
static const char *
expect_bad_frame(const char *frame, size_t len, int nfds, unsigned peer,
    int allow)
{
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 sv[2], p[2], before, nbefore;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = lowest_free_fd();
	nbefore = count_fds();
	send_with_fds(sv[0], frame, len, p[1], nfds);
	ck_assert_int_eq(ipc_frame_recv(sv[1], peer, allow, &m, &why, 0),
	    SL_RECV_BAD);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(m.fd, -1);
	/* Every received fd was closed: nothing new at the lowest slot. */
	ck_assert_int_eq(lowest_free_fd(), before);
	errno = 0;
	ck_assert_int_eq(fcntl(before, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(count_fds(), nbefore);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	return why;
}

#define BAD_FRAME_WHY(frame, len, nfds, peer, allow, frag) do {		\
	const char *w_ = expect_bad_frame((frame), (len), (nfds),	\
	    (peer), (allow));						\
	ck_assert_msg(strstr(w_, (frag)) != NULL,			\
	    "why \"%s\" lacks \"%s\" (line %d)", w_, (frag), __LINE__);	\
} while (0)

/* A sender allowed to send type, as seen by the receiver. */
static unsigned
sender_of(unsigned type)
{
	unsigned	p;

	for (p = 0; p < SL_PROC_MAX; p++)
		if (sl_msg_specs[type].from & SL_FROM(p))
			return p;
	ck_abort_msg("%s has no sender", ipc_msg_name(type));
	return 0;
}


/* Every type over a real socketpair; fd types carry a working pipe. */
START_TEST(t_frame_roundtrip)
{
	struct sl_msg	 m, d;
	const char	*why = NULL;
	char		 c;
	unsigned	 t;
	int		 sv[2], p[2], big, nfds;

	seqpair(sv);
	nfds = count_fds();
	for (t = 1; t < SL_MSG_MAX; t++)
		for (big = 0; big < 2; big++) {
			fill(&m, t, big);
			/* Between worker and tunnel only sockets may go. */
			if (SL_MSG_IS_TUN(t))
				ck_assert_int_eq(socketpair(AF_UNIX,
				    SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
			else
				ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
			if (sl_msg_specs[t].fd == SL_FD_REQUIRED)
				m.fd = p[1];
			ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
			ck_assert_int_eq(ipc_frame_recv(sv[1], sender_of(t), 1,
			    &d, &why, 0), SL_RECV_OK);
			ck_assert_ptr_null(why);
			assert_same(&m, &d);
			ck_assert_uint_eq(d.id, m.id);
			if (sl_msg_specs[t].fd == SL_FD_REQUIRED) {
				ck_assert_int_ge(d.fd, 0);
				ck_assert_int_ne(d.fd, p[1]);
				ck_assert_int_ne(fcntl(d.fd, F_GETFD), -1);
				ck_assert(fcntl(d.fd, F_GETFD) & FD_CLOEXEC);
				close(p[1]);	/* only d.fd writes now */
				ck_assert_int_eq(write(d.fd, "z", 1), 1);
				ck_assert_int_eq(read(p[0], &c, 1), 1);
				ck_assert_int_eq(c, 'z');
				close(d.fd);
				/* The pipe is closed for good: EOF. */
				ck_assert_int_eq(read(p[0], &c, 1), 0);
			} else {
				ck_assert_int_eq(d.fd, -1);
				close(p[1]);
			}
			close(p[0]);
		}
	ck_assert_int_eq(count_fds(), nfds);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* An fd on m for a type without fds is simply not sent. */
START_TEST(t_frame_send_ignores_fd)
{
	struct sl_msg	 m, d;
	const char	*why;
	int		 sv[2], n;

	seqpair(sv);
	fill(&m, SL_MSG_READY, 0);
	m.fd = 0;
	n = count_fds();
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_WORKER, 1, &d, &why,
	    0), SL_RECV_OK);
	ck_assert_int_eq(d.fd, -1);
	ck_assert_int_eq(count_fds(), n);
	/* Required fd missing, request without id: refused at the source. */
	fill(&m, SL_MSG_CFG_CONF, 0);
	errno = 0;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	fill(&m, SL_MSG_RES_QUERY, 0);
	m.id = 0;
	errno = 0;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	fill(&m, SL_MSG_LOG, 0);
	m.u.log.level = 9;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(t_frame_unknown_type)
{
	char	f[64];
	size_t	n;

	n = mkframe(f, 1, SL_MSG_NONE, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown message type");
	n = mkframe(f, 1, SL_MSG_MAX, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown message type");
	n = mkframe(f, 1, 0xffff, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "unknown message type");
	/* With an fd riding on it, which must be closed. */
	n = mkframe(f, 1, 200, SL_FRAME_FD, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 1, "unknown message type");
}
END_TEST

START_TEST(t_frame_sender)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_RES_QUERY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	ck_assert_int_gt(n, 0);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_RESOLVER, 0, "not allowed");
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 0, "not allowed");
	fill(&m, SL_MSG_CFG_CONF, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 1, "not allowed");
	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	fill(&m, SL_MSG_READY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MAX, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 0, 1000, 1, "not allowed");
	fill(&m, SL_MSG_DRAIN, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "not allowed");
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_RESOLVER, 0, "not allowed");
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
}
END_TEST

START_TEST(t_frame_fd_forbidden)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_READY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "carries no fd");
	/* Same with the header owning up to the fd. */
	((struct sl_frame_hdr *)(void *)f)->flags = SL_FRAME_FD;
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "carries no fd");
	/* The flag without an fd. */
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "carries no fd");
	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 1, "carries no fd");
}
END_TEST

START_TEST(t_frame_fd_missing)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_SHM, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "fd missing");
	((struct sl_frame_hdr *)(void *)f)->flags = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "fd flag missing");
	/* An fd without the flag is not good enough either. */
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 1, "fd flag missing");
}
END_TEST

START_TEST(t_frame_surplus_fds)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_CONF, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 2, SL_PROC_MASTER, 1, "more than one fd");
	BAD_FRAME_WHY(f, n, 8, SL_PROC_MASTER, 1, "more than one fd");
	/*
	 * The control buffer holds as many fds as the kernel passes in one
	 * message: it never drops (and releases in our task) any of them.
	 */
	BAD_FRAME_WHY(f, n, 20, SL_PROC_MASTER, 1, "more than one fd");
	BAD_FRAME_WHY(f, n, 64, SL_PROC_MASTER, 1, "more than one fd");
}
END_TEST

START_TEST(t_frame_allow_fds)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 0, "channel that carries none");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 0,
	    "channel that carries none");
}
END_TEST

START_TEST(t_frame_len_mismatch)
{
	struct sl_msg		 m;
	struct sl_frame_hdr	*h;
	char			 f[SL_IPC_MAX_FRAME];
	int			 n;

	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h = (struct sl_frame_hdr *)(void *)f;
	h->len++;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len -= 2;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len = UINT32_MAX;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	/* Shorter than a header, with and without an fd. */
	BAD_FRAME_WHY(f, 5, 0, SL_PROC_WORKER, 1, "shorter");
	BAD_FRAME_WHY(f, HDRSZ - 1, 1, SL_PROC_WORKER, 1, "shorter");
	/* An empty record with an fd is not an EOF. */
	BAD_FRAME_WHY(f, 0, 1, SL_PROC_WORKER, 1, "shorter");
	/* A header alone for a type that needs a body. */
	h->len = 0;
	BAD_FRAME_WHY(f, HDRSZ, 0, SL_PROC_WORKER, 1, "empty body");
}
END_TEST

START_TEST(t_frame_too_long)
{
	static char		 f[SL_IPC_MAX_FRAME + 64];
	struct sl_frame_hdr	*h = (struct sl_frame_hdr *)(void *)f;

	memset(f, 0, sizeof(f));
	h->type = SL_MSG_LOG;
	h->len = SL_IPC_MAX_FRAME + 1 - HDRSZ;
	f[HDRSZ] = (char)0x92;
	BAD_FRAME_WHY(f, SL_IPC_MAX_FRAME + 1, 0, SL_PROC_WORKER, 1,
	    "larger than SL_IPC_MAX_FRAME");
	h->len = sizeof(f) - HDRSZ;
	BAD_FRAME_WHY(f, sizeof(f), 1, SL_PROC_WORKER, 1,
	    "larger than SL_IPC_MAX_FRAME");
	/* Exactly the frame size fits, but not the LOG body cap. */
	h->len = SL_IPC_MAX_FRAME - HDRSZ;
	BAD_FRAME_WHY(f, SL_IPC_MAX_FRAME, 0, SL_PROC_WORKER, 1,
	    "too large");
}
END_TEST

START_TEST(t_frame_flags_id)
{
	struct sl_msg		 m;
	struct sl_frame_hdr	*h;
	char			 f[SL_IPC_MAX_FRAME];
	int			 n;

	fill(&m, SL_MSG_DRAIN, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h = (struct sl_frame_hdr *)(void *)f;
	h->flags = 0x8000;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown frame flags");
	fill(&m, SL_MSG_RES_QUERY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h->id = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 0, "request id");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h->id = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_RESOLVER, 0, "request id");
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h->id = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 0, "request id");
	m.id = 0;
	ck_assert_int_eq(ipc_frame_build(&m, f, sizeof(f)), -1);
	/* A bad body behind a good header. */
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	f[HDRSZ + 1] = 9;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "log level");
}
END_TEST

START_TEST(t_frame_eof_again)
{
	struct sl_msg	 m;
	const char	*why;
	int		 sv[2];

	seqpair(sv);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT), SL_RECV_AGAIN);
	close(sv[0]);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT), SL_RECV_EOF);
	ck_assert_int_eq(m.fd, -1);
	close(sv[1]);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    0), SL_RECV_ERROR);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/*
 * A TCP socket whose last close() blocks: connected to a listener that
 * never accepts nor reads, send queue full, SO_LINGER {1, 10}.  This is
 * what a compromised worker passes to stall its receiver.  *lsn is the
 * listener, to be closed after the test.
 */
static int
linger_sock(int *lsn)
{
	struct sockaddr_in	 sin;
	struct linger		 lg = { 1, 10 };
	struct pollfd		 pfd;
	socklen_t		 len = sizeof(sin);
	static char		 buf[65536];
	int			 l, s, small = 4096, queued = 0;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		ck_assert_int_eq(errno, EINPROGRESS);
	pfd.fd = s;
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	/* Until the peer's window and our send buffer are both full. */
	while (send(s, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	ck_assert_int_eq(ioctl(s, SIOCOUTQ, &queued), 0);
	ck_assert_int_gt(queued, 0);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	*lsn = l;
	return s;
}

static long long
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A worker sends a lingering socket where none may go, then drops its
 * own copy: rejecting the frame must not wait for the linger time.
 */
static void
linger_reject(const char *frame, size_t len, int ncopies, unsigned peer,
    int allow, const char *frag)
{
	struct timespec	 t0;
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 sv[2], s, l, nbefore;

	seqpair(sv);
	nbefore = count_fds();
	s = linger_sock(&l);
	send_with_fds(sv[0], frame, len, s, ncopies);
	close(s);		/* the receiver holds the last reference */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ipc_frame_recv(sv[1], peer, allow, &m, &why, 0),
	    SL_RECV_BAD);
	ck_assert_msg(ms_since(&t0) < 1000, "receiver blocked %lld ms",
	    ms_since(&t0));
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, frag) != NULL, "why \"%s\" lacks \"%s\"",
	    why, frag);
	ck_assert_int_eq(m.fd, -1);
	close(l);
	ck_assert_int_eq(count_fds(), nbefore);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(t_frame_linger_rejected)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_SOCK_REQ, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	/* The master's side of a worker channel, and the resolver's. */
	linger_reject(f, n, 1, SL_PROC_WORKER, 1, "carries no fd");
	linger_reject(f, n, 1, SL_PROC_WORKER, 0, "carries none");
	linger_reject(f, n, 2, SL_PROC_WORKER, 1, "more than one fd");
	/* Once beyond the control buffer: the kernel dropped the excess. */
	linger_reject(f, n, 64, SL_PROC_WORKER, 1, "more than one fd");
	/* A child's fd on a type that carries one: memfds only. */
	fill(&m, SL_MSG_SVC_TABLE, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	linger_reject(f, n, 1, SL_PROC_REGISTRY, 1, "not a regular file");
}
END_TEST

/* The registry's service table (a memfd) still gets through. */
START_TEST(t_frame_child_memfd)
{
	struct sl_msg	 m, d;
	const char	*why = NULL;
	int		 sv[2], p[2], mfd;

	seqpair(sv);
	fill(&m, SL_MSG_SVC_TABLE, 0);
	mfd = memfd_create("t", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	m.fd = mfd;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_REGISTRY, 1, &d, &why,
	    0), SL_RECV_OK);
	ck_assert_int_ge(d.fd, 0);
	close(d.fd);
	/* A pipe is no table. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	m.fd = p[1];
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_REGISTRY, 1, &d, &why,
	    0), SL_RECV_BAD);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
	ck_assert_int_eq(d.fd, -1);
	close(p[0]);
	close(p[1]);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

struct linger_ctx {
	struct ipc_chan	*chan;
	int		 nclose;
};

static void
linger_handler(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (m->fd != -1)
		close(m->fd);
}

/* What the resolver does with a worker that broke the protocol. */
static void
linger_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct linger_ctx	*x = arg;

	(void)why;
	x->nclose++;
	ipc_chan_free(c);
	x->chan = NULL;
}

/*
 * A channel that carries no fds (the resolver's from a worker), fed a
 * bad frame with a lingering socket, an empty record (which reads as
 * EOF) and more lingering sockets queued behind it: neither rejecting
 * the first nor freeing the channel with the rest unread may block.
 */
START_TEST(t_chan_linger_free)
{
	struct ev_loop		*loop = ev_loop_new(0);
	struct linger_ctx	 x = { NULL, 0 };
	struct timespec		 t0;
	struct sl_msg		 m;
	char			 f[SL_IPC_MAX_FRAME];
	int			 sv[2], s[3], l[3], i, n, nbefore;

	seqpair(sv);
	nbefore = count_fds();
	fill(&m, SL_MSG_RES_QUERY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	for (i = 0; i < 3; i++)
		s[i] = linger_sock(&l[i]);
	x.chan = ipc_chan_new(loop, sv[1], SL_PROC_WORKER, 0, linger_handler,
	    linger_closed, &x);
	send_with_fds(sv[0], f, n, s[0], 1);
	send_with_fds(sv[0], f, 0, -1, 0);
	send_with_fds(sv[0], f, n, s[1], 1);
	send_with_fds(sv[0], f, n, s[2], 1);
	for (i = 0; i < 3; i++)
		close(s[i]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100 && x.nclose == 0; i++)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_ptr_null(x.chan);
	ck_assert_msg(ms_since(&t0) < 1000, "receiver blocked %lld ms",
	    ms_since(&t0));
	/* The peer cannot queue more: the channel was shut down. */
	errno = 0;
	ck_assert_int_eq(send(sv[0], f, n, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
	for (i = 0; i < 3; i++)
		close(l[i]);
	ck_assert_int_eq(count_fds(), nbefore - 2);	/* both ends gone */
	ev_loop_destroy(loop);
}
END_TEST

/* Freed without reading a thing: the queued fds are still no threat. */
START_TEST(t_chan_linger_unread)
{
	struct ev_loop		*loop = ev_loop_new(0);
	struct linger_ctx	 x = { NULL, 0 };
	struct ipc_chan		*c;
	struct timespec		 t0;
	struct sl_msg		 m;
	char			 f[SL_IPC_MAX_FRAME];
	int			 sv[2], s, l, n;

	seqpair(sv);
	c = ipc_chan_new(loop, sv[1], SL_PROC_WORKER, 1, linger_handler,
	    linger_closed, &x);
	fill(&m, SL_MSG_SOCK_REQ, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	s = linger_sock(&l);
	send_with_fds(sv[0], f, n, s, 1);
	close(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ipc_chan_free(c);
	ck_assert_msg(ms_since(&t0) < 1000, "free blocked %lld ms",
	    ms_since(&t0));
	ck_assert_int_eq(x.nclose, 0);
	close(sv[0]);
	close(l);
	ev_loop_destroy(loop);
}
END_TEST


TCase *
codec_frame_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("frame");
	tcase_add_test(tc, t_frame_roundtrip);
	tcase_add_test(tc, t_frame_send_ignores_fd);
	tcase_add_test(tc, t_frame_unknown_type);
	tcase_add_test(tc, t_frame_sender);
	tcase_add_test(tc, t_frame_fd_forbidden);
	tcase_add_test(tc, t_frame_fd_missing);
	tcase_add_test(tc, t_frame_surplus_fds);
	tcase_add_test(tc, t_frame_allow_fds);
	tcase_add_test(tc, t_frame_len_mismatch);
	tcase_add_test(tc, t_frame_too_long);
	tcase_add_test(tc, t_frame_flags_id);
	tcase_add_test(tc, t_frame_eof_again);
	tcase_add_test(tc, t_frame_linger_rejected);
	tcase_add_test(tc, t_frame_child_memfd);
	tcase_add_test(tc, t_chan_linger_free);
	tcase_add_test(tc, t_chan_linger_unread);
	return tc;
}
