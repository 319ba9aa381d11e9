/*
 * slbench: load generator and test server for sluice's baseline numbers.
 *
 *   slbench server -p PORT [-P PORTFILE] [-T MAXSECS] [-K]
 *	A multi-mode TCP server on 127.0.0.1.  The first byte a client
 *	sends picks the mode of that connection:
 *	  'U'  sink: count every byte; at EOF reply with the count (8 bytes,
 *	       big endian) and close.  Upload throughput.
 *	  'D'  source: send bytes as fast as possible until the peer goes.
 *	       Download throughput.
 *	  else echo everything back (the request/response of the cps test).
 *	A connection that sends nothing is simply held (idle sessions).
 *	-K: exit when the parent (the driver script) exits.
 *
 *   slbench tput [-s PROXY] -t TARGET -n STREAMS -T SECS -d up|down
 *   slbench cps  [-s PROXY] -t TARGET -c CONCURRENCY -n COUNT [-T SECS]
 *	[-b BYTES]
 *   slbench hold  -s PROXY  -t TARGET -n SESSIONS -m MASTERPID [-c CONC] [-e]
 *   slbench probe [-s PROXY] -t TARGET [-T SECS]
 *   slbench mem -m MASTERPID
 *
 * With -s the client speaks SOCKS5 (no auth, CONNECT to the IPv4 target,
 * or to the name in $SLBENCH_HOST with the target's port) to the proxy;
 * without it, it connects to the target directly.
 * cps -b sets the size of its request and echo (1..REQ_MAX, default 32).
 * hold opens the sessions and keeps them idle; with -e each first does one
 * 32-byte echo through the tunnel (so the relay has moved data once).
 * -m MASTERPID (sluiced) and -S SERVERPID add the CPU time those processes
 * (master and all its descendants) used during the measurement.
 *
 * Every client loop is bounded in count and time and stops by itself.
 * Only loopback addresses (127.0.0.0/8) are accepted.
 *
 * Each client prints human-readable lines and one line
 *   RESULT key=value ...
 * for bench/run.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slbench.h"

volatile sig_atomic_t	stop_flag;
char			bulk[CHUNK];

/* ------------------------------------------------------------------ */
/* Utilities */

void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "slbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sleep_s(double s)
{
	struct timespec	ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop_flag)
		;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
setup_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

long
nofile_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return 1024;
	return (long)rl.rlim_cur;
}

static long
parse_long(const char *s, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s: \"%s\" is not a number in %ld..%ld", what, s, lo, hi);
	return v;
}

static double
parse_double(const char *s, double lo, double hi, const char *what)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
		die("%s: \"%s\" is not a number in %g..%g", what, s, lo, hi);
	return v;
}

/* "IP:PORT" or "PORT" (127.0.0.1); loopback only. */
void
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char		 host[64];
	const char	*colon = strrchr(s, ':');
	long		 port;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (colon == NULL) {
		snprintf(host, sizeof(host), "127.0.0.1");
		port = parse_long(s, 1, 65535, "port");
	} else {
		if ((size_t)(colon - s) >= sizeof(host))
			die("%s: bad address", s);
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = parse_long(colon + 1, 1, 65535, "port");
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("%s: not an IPv4 address", host);
	if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		die("%s: only loopback (127.0.0.0/8) addresses are allowed",
		    host);
	sin->sin_port = htons((uint16_t)port);
}

/* Non-blocking connect; returns the fd or -1 (errno). */
int
start_connect(const struct sockaddr_in *sin)
{
	int	fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
ep_set(int ep, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		die("epoll_ctl(%d): %s", fd, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Common options */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: slbench server -p PORT [-P PORTFILE] [-T MAXSECS] [-K]\n"
	    "       slbench tput  [-s PROXY] -t TARGET [-n STREAMS] [-T SECS]"
	    " [-d up|down]\n"
	    "       slbench cps   [-s PROXY] -t TARGET [-c CONC] [-n COUNT]"
	    " [-T MAXSECS] [-b BYTES]\n"
	    "       slbench hold  -s PROXY -t TARGET -m MASTERPID [-n N]"
	    " [-c CONC] [-e]\n"
	    "       slbench probe [-s PROXY] -t TARGET [-T SECS]\n"
	    "       slbench mem   -m MASTERPID\n"
	    "common: -m MASTERPID (sluiced, CPU/memory of its tree), "
	    "-S SERVERPID, -L LABEL\n"
	    "addresses: PORT or 127.x.y.z:PORT (loopback only)\n");
	exit(2);
}

void
parse_opts(int argc, char **argv, struct opts *o)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	o->n = -1;
	o->conc = -1;
	o->secs = -1;
	o->settle = 2;
	o->label = "-";
	optind = 1;
	while ((ch = getopt(argc, argv,
	    "s:t:n:c:T:d:m:S:L:p:P:w:b:Keh")) != -1) {
		switch (ch) {
		case 's': o->proxy = optarg; break;
		case 't': o->target = optarg; break;
		case 'n': o->n = parse_long(optarg, 1, 1000000, "-n"); break;
		case 'c': o->conc = parse_long(optarg, 1, 10000, "-c"); break;
		case 'T': o->secs = parse_double(optarg, 0.01, 86400, "-T");
			break;
		case 'w': o->settle = parse_double(optarg, 0, 600, "-w");
			break;
		case 'd':
			if (strcmp(optarg, "up") == 0)
				o->down = 0;
			else if (strcmp(optarg, "down") == 0)
				o->down = 1;
			else
				die("-d: up or down");
			break;
		case 'm': o->master = (pid_t)parse_long(optarg, 1, INT_MAX,
			    "-m"); break;
		case 'S': o->server = (pid_t)parse_long(optarg, 1, INT_MAX,
			    "-S"); break;
		case 'L': o->label = optarg; break;
		case 'b': o->reqsize = parse_long(optarg, 1, REQ_MAX, "-b");
			break;
		case 'p': o->port = parse_long(optarg, 0, 65535, "-p"); break;
		case 'P': o->portfile = optarg; break;
		case 'K': o->pdeath = 1; break;
		case 'e': o->echo_once = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(int, char **);
	} cmds[] = {
		{ "server", cmd_server },
		{ "tput", cmd_tput },
		{ "cps", cmd_cps },
		{ "hold", cmd_hold },
		{ "probe", cmd_probe },
		{ "mem", cmd_mem },
	};
	size_t	i;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup_signals();
	raise_nofile();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	usage();
}
