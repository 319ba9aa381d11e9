/*
 * Sandbox tests, the tunnel process's allowlist (tunnel/sandbox.c): what
 * the tunnel process does after lockdown works (the libev loop, IPC with
 * an fd riding on a frame, accept4 on a listener bound before lockdown,
 * a stream socketpair, send and recv, half-close, the options it sets,
 * getpeername, big mallocs, and a whole TLS 1.3 PSK handshake with data
 * in both directions, a KeyUpdate, a refused agent and close_notify, so
 * OpenSSL needs nothing more once tun_tls_global_init() ran), and what
 * would let it reach anything but the sockets it was handed is fatal:
 * socket, socketpair other than AF_UNIX stream, connect, bind, listen,
 * open, exec, fork, signals to other processes, ptrace, other socket
 * options.
 * Part of the check_sandbox executable (see check_sandbox.h).
 */
#include "check_sandbox.h"
#include "tunnel/tls_psk.h"
#include "tunnel/tn_sandbox.h"

#define TX_SECRET	"correct horse battery staple"
#define TX_AGENT	"office-1"

/* Made before lockdown, like what the master hands the tunnel process. */
static struct {
	int	cli;		/* TCP, connect under way to fx.lsn */
	int	spare;		/* TCP, never connected */
	pid_t	ppid;		/* another process */
} tx;

static void
load_tunnel(void)
{
	const char	*why;

	if (tun_tls_global_init(&why) == -1)
		_exit(95);
	tx.cli = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	tx.spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tx.cli == -1 || tx.spare == -1 || (connect(tx.cli,
	    (struct sockaddr *)&fx.lsn_addr, sizeof(fx.lsn_addr)) == -1 &&
	    errno != EINPROGRESS))
		_exit(96);
	tx.ppid = getppid();
	sandbox_tunnel();
}

/* ---- the allowed path ---- */

/* An agent dials in: accept4, the connect result, options, bytes. */
static int
t_accept(int *ap)
{
	struct linger		lg = { 0, 0 };
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(int);
	char			buf[16];
	int			a, on = 1, err = -1, fl;

	if (wait_fd(fx.lsn, EPOLLIN) == -1)
		return 1;
	len = sizeof(ss);
	if ((a = accept4(fx.lsn, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return 2;
	len = sizeof(err);
	if (wait_fd(tx.cli, EPOLLOUT) == -1 || getsockopt(tx.cli, SOL_SOCKET,
	    SO_ERROR, &err, &len) == -1 || err != 0)
		return 3;
	if (setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1 ||
	    setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		return 4;
	len = sizeof(ss);
	if (getpeername(a, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != AF_INET)
		return 5;
	if ((fl = fcntl(a, F_GETFL)) == -1 ||
	    fcntl(a, F_SETFL, fl | O_NONBLOCK) == -1)
		return 6;
	if (send(tx.cli, "hello", 5, MSG_NOSIGNAL) != 5 ||
	    wait_fd(a, EPOLLIN) == -1 || recv(a, buf, sizeof(buf), 0) != 5 ||
	    memcmp(buf, "hello", 5) != 0)
		return 7;
	if (send(a, "back", 4, MSG_NOSIGNAL) != 4 ||
	    wait_fd(tx.cli, EPOLLIN) == -1 ||
	    recv(tx.cli, buf, sizeof(buf), MSG_DONTWAIT) != 4)
		return 8;
	*ap = a;
	return 0;
}

/* Send fd over the SEQPACKET pair as a frame; the received copy. */
static int
t_fdpass(int fd, int *got)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	char		 b = 'x';

	memset(&msg, 0, sizeof(msg));
	iov = (struct iovec){ &b, 1 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(fx.sp[0], &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		return 1;
	msg.msg_controllen = sizeof(cm.buf);
	if (recvmsg(fx.sp[1], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) != 1 ||
	    (msg.msg_flags & MSG_CTRUNC) != 0)
		return 2;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
		return 3;
	memcpy(got, CMSG_DATA(cmsg), sizeof(int));
	return fcntl(*got, F_GETFD) == FD_CLOEXEC ? 0 : 4;
}

/* A stream: socketpair, one end passed on, bytes, half-close, linger. */
static int
t_stream(void)
{
	struct linger	lg = { 0, 0 };
	char		buf[16];
	int		sv[2], got, dup;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		return 10;
	if (t_fdpass(sv[1], &got) != 0 || close(sv[1]) == -1)
		return 11;
	if (send(got, "stream", 6, MSG_NOSIGNAL) != 6 ||
	    recv(sv[0], buf, sizeof(buf), 0) != 6 ||
	    memcmp(buf, "stream", 6) != 0)
		return 12;
	if (shutdown(sv[0], SHUT_WR) == -1 || recv(got, buf, 1, 0) != 0)
		return 13;
	/* IPC keeps a queued fd by dup; lingering off before closing. */
	if ((dup = fcntl(got, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    fcntl(dup, F_GETFD) != FD_CLOEXEC || close(dup) == -1)
		return 14;
	if (setsockopt(got, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1 ||
	    close(got) == -1 || close(sv[0]) == -1)
		return 15;
	/* An IPC frame without an fd, both ways. */
	if (write(fx.sp[1], "frame", 5) != 5 ||
	    read(fx.sp[0], buf, sizeof(buf)) != 5)
		return 16;
	return 0;
}

static void
t_ev_io(struct ev_loop *loop, ev_io *w, int revents)
{
	char	c;

	(void)revents;
	if (recv(w->fd, &c, 1, 0) == 1)
		*(int *)w->data = 1;
	ev_io_stop(loop, w);
}

static void
t_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* The loop: an io watcher on the agent's socket and a timer. */
static int
t_libev(int a)
{
	ev_io		io;
	ev_timer	tm;
	int		got = 0;

	ev_io_init(&io, t_ev_io, a, EV_READ);
	io.data = &got;
	ev_io_start(fx.loop, &io);
	ev_timer_init(&tm, t_ev_timer, 0.05, 0.);
	ev_timer_start(fx.loop, &tm);
	if (send(tx.cli, "e", 1, MSG_NOSIGNAL) != 1)
		return 20;
	ev_run(fx.loop, 0);
	ev_io_stop(fx.loop, &io);
	ev_timer_stop(fx.loop, &tm);
	ev_now_update(fx.loop);
	return got ? 0 : 21;
}

/* The agent's connection ends: half-close each way, then close. */
static int
t_close(int a)
{
	char	buf[8];

	if (shutdown(tx.cli, SHUT_WR) == -1 || wait_fd(a, EPOLLIN) == -1 ||
	    recv(a, buf, sizeof(buf), 0) != 0)
		return 25;
	if (shutdown(a, SHUT_RDWR) == -1 || close(a) == -1 ||
	    close(tx.cli) == -1)
		return 26;
	return 0;
}

/* Mux buffers and frames: malloc in every size, realloc growth. */
static int
t_memory(void)
{
	struct timespec	 ts;
	unsigned char	 rnd[16];
	char		*big, *p;
	void		*many[64];
	int		 i;

	for (i = 0; i < 64; i++)
		if ((many[i] = malloc(32 + i * 1000)) == NULL)
			return 30;
	for (i = 0; i < 64; i++)
		free(many[i]);
	if ((big = malloc(1 << 20)) == NULL)
		return 31;
	memset(big, 1, 1 << 20);
	if ((p = realloc(big, 8 << 20)) == NULL)
		return 32;
	memset(p, 2, 8 << 20);
	free(p);
	if ((p = calloc(1, 200 * 1024)) == NULL)
		return 33;
	free(p);
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		return 34;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 || getpid() <= 0)
		return 35;
	return 0;
}

/* ---- TLS 1.3 PSK in memory ---- */

static int
tx_lookup(void *arg, const char *name, uint8_t *secret, size_t *len)
{
	size_t	n = strlen(TX_SECRET);

	(void)arg;
	if (strcmp(name, TX_AGENT) != 0 || n > *len)
		return -1;
	memcpy(secret, TX_SECRET, n);
	*len = n;
	return 0;
}

/* Plaintext received, checked against the sender's pattern. */
struct tx_sink {
	size_t	n;
	int	bad;
};

static uint8_t
tx_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static int
tx_drain(struct tun_tls *t, struct tx_sink *k)
{
	uint8_t	buf[16384];
	ssize_t	r, i;

	while ((r = tun_tls_read(t, buf, sizeof(buf))) > 0) {
		for (i = 0; i < r; i++)
			if (buf[i] != tx_byte(k->n + (size_t)i))
				k->bad = 1;
		k->n += (size_t)r;
	}
	return r == 0 ? 0 : -1;
}

/* Move from's ciphertext into to; drain to's plaintext when it is full. */
static int
tx_move(struct tun_tls *from, struct tun_tls *to, struct tx_sink *k)
{
	uint8_t	buf[4096];
	size_t	n, off;
	ssize_t	r;

	while ((n = tun_tls_take(from, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += (size_t)r) {
			if ((r = tun_tls_feed(to, buf + off, n - off)) < 0)
				return -1;
			if (r == 0 && (k == NULL || tx_drain(to, k) == -1))
				return -1;
		}
	}
	return 0;
}

/* Shuttle both ways until neither side has anything to send. */
static void
tx_shuttle(struct tun_tls *c, struct tun_tls *s)
{
	int	i;

	for (i = 0; i < 16; i++) {
		if (tun_tls_pending(c) == 0 && tun_tls_pending(s) == 0)
			break;
		/* A failed side still has its alert to send: go on. */
		(void)tx_move(c, s, NULL);
		(void)tx_move(s, c, NULL);
	}
}

/* len bytes from a to b in pieces of at most step, KeyUpdates answered. */
static int
tx_transfer(struct tun_tls *a, struct tun_tls *b, size_t len, size_t step)
{
	uint8_t		*src;
	struct tx_sink	 in = { 0, 0 }, back = { 0, 0 };
	size_t		 sent = 0, i, n, had;
	ssize_t		 r = 0;
	int		 idle = 0;

	if ((src = malloc(len)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		src[i] = tx_byte(i);
	while (in.n < len && idle < 4) {
		n = len - sent < step ? len - sent : step;
		if (n > 0 && (r = tun_tls_write(a, src + sent, n)) < 0)
			break;
		sent += n > 0 ? (size_t)r : 0;
		had = in.n;
		if (tx_move(a, b, &in) == -1 || tx_move(b, a, &back) == -1 ||
		    tx_drain(b, &in) == -1)
			break;
		idle = (n == 0 || r == 0) && in.n == had ? idle + 1 : 0;
	}
	free(src);
	return in.n == len && !in.bad && back.n == 0 ? 0 : -1;
}

/* The agent and the tunnel listener's ends of one connection. */
static int
tx_open(const char *secret, struct tun_tls **c, struct tun_tls **s)
{
	*c = tun_tls_client(TX_AGENT, (const uint8_t *)secret,
	    strlen(secret));
	*s = tun_tls_server(tx_lookup, NULL);
	if (*c == NULL || *s == NULL)
		return -1;
	tx_shuttle(*c, *s);
	return 0;
}

static int
t_tls(void)
{
	struct tun_tls	*c, *s;
	uint8_t		 b[16];

	if (tx_open(TX_SECRET, &c, &s) == -1)
		return 40;
	if (tun_tls_state(c) != TUN_TLS_OPEN ||
	    tun_tls_state(s) != TUN_TLS_OPEN ||
	    tun_tls_peer(s) == NULL || strcmp(tun_tls_peer(s), TX_AGENT) != 0)
		return 41;
	tun_tls_set_rekey(c, 100000);	/* KeyUpdates too */
	if (tx_transfer(c, s, 512 * 1024, 40000) == -1)
		return 42;
	if (tx_transfer(s, c, 100000, 16384) == -1)
		return 43;
	tun_tls_close(c);
	if (tx_move(c, s, NULL) == -1 || tun_tls_read(s, b, sizeof(b)) != -1 ||
	    tun_tls_state(s) != TUN_TLS_CLOSED)
		return 44;
	tun_tls_free(c);
	tun_tls_free(s);
	/* A wrong secret: the server's random-key path, then a refusal. */
	if (tx_open("not the secret", &c, &s) == -1)
		return 45;
	if (tun_tls_state(c) != TUN_TLS_FAILED ||
	    tun_tls_state(s) != TUN_TLS_FAILED)
		return 46;
	tun_tls_free(c);
	tun_tls_free(s);
	return 0;
}

static int
body_tunnel_ok(void)
{
	int	a, rc;

	if ((rc = t_accept(&a)) != 0 || (rc = t_stream()) != 0 ||
	    (rc = t_libev(a)) != 0 || (rc = t_close(a)) != 0 ||
	    (rc = t_memory()) != 0 || (rc = t_tls()) != 0)
		return rc;
	return 0;
}

/* ---- forbidden ---- */

static int
f_socket_inet(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) == -1;
}

static int
f_socket_inet6_udp(void)
{
	return socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0) == -1;
}

static int
f_socket_unix(void)
{
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) == -1;
}

static int
f_socketpair_inet(void)
{
	int	sv[2];

	return socketpair(AF_INET, SOCK_STREAM, 0, sv);
}

static int
f_socketpair_dgram(void)
{
	int	sv[2];

	return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv);
}

static int
f_socketpair_seqpacket(void)
{
	int	sv[2];

	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static int
f_connect(void)
{
	return connect(tx.spare, (struct sockaddr *)&fx.lsn_addr,
	    sizeof(fx.lsn_addr)) == 0;
}

static int
f_bind(void)
{
	struct sockaddr_in	sin = fx.lsn_addr;

	sin.sin_port = 0;
	return bind(tx.spare, (struct sockaddr *)&sin, sizeof(sin));
}

static int
f_listen(void)
{
	return listen(tx.spare, 8);
}

static int
f_accept(void)
{
	return (int)syscall(SYS_accept, fx.lsn, NULL, NULL);
}

static int
f_openat(void)
{
	return open("/etc/passwd", O_RDONLY);
}

static int
f_execve(void)
{
	char	*argv[] = { "/bin/true", NULL };

	return execve(argv[0], argv, NULL);
}

static int
f_fork(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	return 0;
}

static int
f_clone(void)
{
	return (int)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
}

static int
f_kill(void)
{
	return kill(tx.ppid, 0);
}

static int
f_tgkill(void)
{
	return (int)syscall(SYS_tgkill, tx.ppid, tx.ppid, SIGABRT);
}

static int
f_ptrace(void)
{
	return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static int
f_peercred(void)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);

	return getsockopt(fx.sp[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
}

static int
f_reuseaddr(void)
{
	int	on = 1;

	return setsockopt(tx.spare, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on));
}

static int
f_mmap_exec(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0) == MAP_FAILED;
}

static const struct {
	const char	*name;
	body_fn		 fn;
} tunnel_forbidden[] = {
	{ "socket(AF_INET, SOCK_STREAM)", f_socket_inet },
	{ "socket(AF_INET6, SOCK_DGRAM)", f_socket_inet6_udp },
	{ "socket(AF_UNIX)", f_socket_unix },
	{ "socketpair(AF_INET)", f_socketpair_inet },
	{ "socketpair(AF_UNIX, SOCK_DGRAM)", f_socketpair_dgram },
	{ "socketpair(AF_UNIX, SOCK_SEQPACKET)", f_socketpair_seqpacket },
	{ "connect", f_connect },
	{ "bind", f_bind },
	{ "listen", f_listen },
	{ "accept", f_accept },
	{ "openat", f_openat },
	{ "execve", f_execve },
	{ "fork", f_fork },
	{ "clone", f_clone },
	{ "kill(other pid)", f_kill },
	{ "tgkill(other pid, SIGABRT)", f_tgkill },
	{ "ptrace", f_ptrace },
	{ "getsockopt(SO_PEERCRED)", f_peercred },
	{ "setsockopt(SO_REUSEADDR)", f_reuseaddr },
	{ "mmap(PROT_EXEC)", f_mmap_exec },
};

START_TEST(t_tunnel_allowed)
{
	assert_exit0(run_sandboxed(load_tunnel, body_tunnel_ok));
}
END_TEST

START_TEST(t_tunnel_forbidden)
{
	if (SL_SECCOMP_MODE == SL_SANDBOX_LOG)
		return;
	assert_violation(run_sandboxed(load_tunnel,
	    tunnel_forbidden[_i].fn), tunnel_forbidden[_i].name);
}
END_TEST

TCase *
sandbox_tunnel_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("tunnel");
	tcase_set_tags(tc, "seccomp");
	tcase_add_test(tc, t_tunnel_allowed);
	tcase_add_loop_test(tc, t_tunnel_forbidden, 0,
	    (int)NELEM(tunnel_forbidden));
	return tc;
}
