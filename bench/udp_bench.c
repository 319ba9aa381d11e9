/*
 * udp_bench: datagrams per second through a SOCKS5 UDP ASSOCIATE versus
 * straight to the echo server, on loopback; or to any address that echoes.
 *
 *   udp_bench [-n COUNT] [-T SECS] [-s SIZE] [-w WINDOW] [PROXYPORT]
 *   udp_bench -E PORTFILE [-T SECS]
 *   udp_bench -t [127.x.y.z:]PORT [-L LABEL] [-n COUNT] [-T SECS] [-s SIZE]
 *	[-w WINDOW]
 *
 * A forked echo server on 127.0.0.1 (recvmmsg/sendmmsg batches) sends
 * every datagram back.  The client keeps WINDOW datagrams of SIZE bytes
 * (default 32 of 1400) in flight and counts the echoes; a window with no
 * echo for 100 ms is counted lost and sent again fresh.  Each run stops
 * after COUNT echoes (default 200000) or SECS seconds (default 10),
 * whichever comes first.  With PROXYPORT (a sluiced on 127.0.0.1, no
 * authentication) the same run goes through it: the client does UDP
 * ASSOCIATE and puts the 10-byte SOCKS5 header in front of each payload.
 *
 * -E runs only the echo server, for a proxy whose target is fixed before
 * the run (bench/forward_bench.sh's udp_forward and socat): it writes its
 * port to PORTFILE and serves until its parent exits or SECS (default
 * 3600) have passed.  -t sends plain datagrams to that address, a
 * forwarder in front of such an echo server, and counts what comes back,
 * reported as mode LABEL (default "target").
 *
 * Output: a human line per run and one line
 *   RESULT mode=direct|sluiced|LABEL dgrams=N secs=S dps=D mbps=M lost=L
 *	size=B
 * where mbps is payload megabits per second each way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXSIZE		65000
#define BATCH		64
#define ECHO_SLOT	2048

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static int
udp_on(struct sockaddr_in *sa)
{
	socklen_t	len = sizeof(*sa);
	int		fd = socket(AF_INET, SOCK_DGRAM, 0);
	int		sz = 4 << 20;

	if (fd == -1)
		die("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) == -1)
		die("bind");
	return fd;
}

/* The echo server: batches in, the same batch out.  Killed by the parent. */
static void
echo_loop(int fd)
{
	static uint8_t		bufs[BATCH][ECHO_SLOT];
	struct mmsghdr		m[BATCH];
	struct iovec		iov[BATCH];
	struct sockaddr_in	from[BATCH];
	int			i, n;

	for (;;) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = ECHO_SLOT;
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		(void)sendmmsg(fd, m, (unsigned)n, 0);
	}
}

/* UDP ASSOCIATE on the proxy; returns the control fd, fills relay. */
static int
associate(int port, const struct sockaddr_in *me, struct sockaddr_in *relay)
{
	struct sockaddr_in	sa;
	uint8_t			b[32];
	int			fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("connect to the proxy");
	memcpy(b, "\x05\x01\x00\x05\x03\x00\x01", 7);
	memcpy(b + 7, &me->sin_addr, 4);
	memcpy(b + 11, &me->sin_port, 2);
	if (write(fd, b, 13) != 13)
		die("write");
	if (recv(fd, b, 12, MSG_WAITALL) != 12 || b[0] != 5 || b[1] != 0 ||
	    b[3] != 0 || b[5] != 1) {
		fprintf(stderr, "udp_bench: the proxy refused UDP ASSOCIATE\n");
		exit(1);
	}
	memset(relay, 0, sizeof(*relay));
	relay->sin_family = AF_INET;
	memcpy(&relay->sin_addr, b + 6, 4);
	memcpy(&relay->sin_port, b + 10, 2);
	return fd;
}

struct result {
	long	echoed, lost;
	double	secs;
};

/* Keep `window` datagrams in flight to the connected fd. */
static void
run(int fd, const uint8_t *msg, size_t len, long count, double tmax,
    int window, struct result *r)
{
	static uint8_t	in[MAXSIZE + 64];
	struct pollfd	p = { .fd = fd, .events = POLLIN };
	double		t0 = now(), last = t0;
	long		inflight = 0;
	ssize_t		n;

	memset(r, 0, sizeof(*r));
	while (r->echoed < count && now() - t0 < tmax) {
		while (inflight < window && r->echoed + inflight < count) {
			if (send(fd, msg, len, 0) != (ssize_t)len)
				break;
			inflight++;
		}
		if (poll(&p, 1, 100) == 0) {
			r->lost += inflight;	/* the window died */
			inflight = 0;
			continue;
		}
		while ((n = recv(fd, in, sizeof(in), MSG_DONTWAIT)) >= 0) {
			if ((size_t)n == len) {
				r->echoed++;
				inflight--;
			}
		}
		last = now();
	}
	r->secs = last - t0;
}

static void
report(const char *mode, const struct result *r, size_t payload)
{
	double	dps = r->secs > 0 ? r->echoed / r->secs : 0;
	double	mbps = dps * payload * 8 / 1e6;

	printf("%-8s %8ld datagrams of %zu bytes in %.2f s: %9.0f datagrams/s, "
	    "%7.1f Mbit/s each way, %ld lost\n", mode, r->echoed, payload,
	    r->secs, dps, mbps, r->lost);
	printf("RESULT mode=%s dgrams=%ld secs=%.3f dps=%.0f mbps=%.1f "
	    "lost=%ld size=%zu\n", mode, r->echoed, r->secs, dps, mbps,
	    r->lost, payload);
}

/* "PORT" (127.0.0.1) or "127.x.y.z:PORT": loopback only, as slbench. */
static void
parse_target(const char *s, struct sockaddr_in *sa)
{
	char		 host[64] = "127.0.0.1";
	const char	*colon = strrchr(s, ':'), *port = s;
	long		 p;
	char		*end;

	if (colon != NULL) {
		if ((size_t)(colon - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	p = strtol(port, &end, 10);
	if (end == port || *end != '\0' || p < 1 || p > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    (ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		goto bad;
	sa->sin_port = htons((uint16_t)p);
	return;
bad:
	fprintf(stderr, "udp_bench: -t %s: not PORT or 127.x.y.z:PORT\n", s);
	exit(2);
}

/*
 * -E: the echo server alone.  The port goes to a temporary file renamed
 * into place, so a reader never sees half of it.  SIGKILL when the parent
 * goes, SIGALRM's default action after tmax: it never outlives the run.
 */
static void
echo_only(const char *portfile, double tmax)
{
	struct sockaddr_in	 esa;
	char			 tmp[4096];
	FILE			*f;
	int			 efd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		die("prctl");
	if (getppid() == 1)
		exit(1);
	efd = udp_on(&esa);
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	fprintf(f, "%d\n", ntohs(esa.sin_port));
	if (fclose(f) != 0 || rename(tmp, portfile) == -1)
		die(portfile);
	alarm((unsigned)tmax + 1);
	echo_loop(efd);
}

/* -t: plain datagrams to a forwarder, the echoes counted. */
static void
to_target(const char *target, const char *label, const uint8_t *msg,
    size_t size, long count, double tmax, int window)
{
	struct sockaddr_in	csa, tsa;
	struct result		r;
	int			cfd;

	parse_target(target, &tsa);
	cfd = udp_on(&csa);
	if (connect(cfd, (struct sockaddr *)&tsa, sizeof(tsa)) == -1)
		die("connect");
	run(cfd, msg, size, count, tmax, window, &r);
	report(label, &r, size);
	close(cfd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: udp_bench [-n COUNT] [-T SECS] [-s SIZE] "
	    "[-w WINDOW] [PROXYPORT]\n"
	    "       udp_bench -E PORTFILE [-T SECS]\n"
	    "       udp_bench -t [127.x.y.z:]PORT [-L LABEL] [-n COUNT] "
	    "[-T SECS] [-s SIZE] [-w WINDOW]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static uint8_t		msg[MAXSIZE + 10];
	struct sockaddr_in	esa, csa, relay;
	struct result		r;
	const char		*portfile = NULL, *target = NULL;
	const char		*label = "target";
	long			count = 200000;
	double			tmax = -1;
	size_t			size = 1400;
	int			window = 32, ch, efd, cfd, ctl, port = 0;
	pid_t			echo;

	while ((ch = getopt(argc, argv, "n:T:s:w:E:t:L:")) != -1) {
		switch (ch) {
		case 'n': count = atol(optarg); break;
		case 'T': tmax = atof(optarg); break;
		case 's': size = (size_t)atol(optarg); break;
		case 'w': window = atoi(optarg); break;
		case 'E': portfile = optarg; break;
		case 't': target = optarg; break;
		case 'L': label = optarg; break;
		default:
			usage();
		}
	}
	if (tmax < 0)
		tmax = portfile != NULL ? 3600 : 10;
	if (portfile != NULL && tmax > 0 && tmax <= 86400)
		echo_only(portfile, tmax);
	if (optind < argc)
		port = atoi(argv[optind]);
	if (count < 1 || count > 100000000 || tmax <= 0 || tmax > 600 ||
	    size > ECHO_SLOT - 10 || window < 1 || window > 4096 ||
	    port < 0 || port > 65535) {
		fprintf(stderr, "udp_bench: argument out of range\n");
		return 2;
	}
	memset(msg, 0xa5, sizeof(msg));
	if (target != NULL) {
		to_target(target, label, msg, size, count, tmax, window);
		return 0;
	}
	efd = udp_on(&esa);
	if ((echo = fork()) == -1)
		die("fork");
	if (echo == 0)
		echo_loop(efd);
	close(efd);

	cfd = udp_on(&csa);
	if (connect(cfd, (struct sockaddr *)&esa, sizeof(esa)) == -1)
		die("connect");
	run(cfd, msg, size, count, tmax, window, &r);
	report("direct", &r, size);
	close(cfd);

	if (port != 0) {
		cfd = udp_on(&csa);
		ctl = associate(port, &csa, &relay);
		if (connect(cfd, (struct sockaddr *)&relay,
		    sizeof(relay)) == -1)
			die("connect to the relay");
		/* RSV RSV FRAG ATYP(1) the echo server's address and port */
		memcpy(msg, "\0\0\0\1", 4);
		memcpy(msg + 4, &esa.sin_addr, 4);
		memcpy(msg + 8, &esa.sin_port, 2);
		run(cfd, msg, size + 10, count, tmax, window, &r);
		report("sluiced", &r, size);
		close(cfd);
		close(ctl);
	}
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	return 0;
}
