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
 *   slbench hold  -s PROXY  -t TARGET -n SESSIONS -m MASTERPID [-c CONC] [-e]
 *   slbench probe [-s PROXY] -t TARGET [-T SECS]
 *   slbench mem -m MASTERPID
 *
 * With -s the client speaks SOCKS5 (no auth, CONNECT to the IPv4 target)
 * to the proxy; without it, it connects to the target directly.
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		(256 * 1024)	/* bulk read/write size */
#define MAX_BURST	16		/* bulk calls per event, for fairness */
#define MAX_EVENTS	512
#define MAX_PROCS	256
#define REQ_SIZE	32		/* cps request == response size */
#define CONN_TIMEOUT	10.0		/* per connection, seconds */

static volatile sig_atomic_t	stop_flag;
static char			bulk[CHUNK];

/* ------------------------------------------------------------------ */
/* Utilities */

static void __attribute__((noreturn, format(printf, 1, 2)))
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

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
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

static long
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
static void
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
static int
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

static void
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
/* Process accounting: CPU time and memory of a process tree */

struct proctree {
	pid_t	pids[MAX_PROCS];
	char	names[MAX_PROCS][20];
	int	n;
};

/* Fields of /proc/PID/stat after the ")" of comm. */
static int
read_stat(pid_t pid, char *comm, size_t commlen, pid_t *ppid,
    double *cpu)
{
	char		 path[64], buf[1024], *p, *q;
	FILE		*f;
	size_t		 n;
	unsigned long	 ut = 0, st = 0;
	int		 pp = 0, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strchr(buf, '(')) == NULL || (q = strrchr(buf, ')')) == NULL)
		return -1;
	if (comm != NULL) {
		size_t l = (size_t)(q - p - 1);

		if (l >= commlen)
			l = commlen - 1;
		memcpy(comm, p + 1, l);
		comm[l] = '\0';
	}
	/* q+2 is field 3 (state). ppid is 4, utime 14, stime 15. */
	p = q + 2;
	for (field = 3; field <= 15 && *p != '\0'; field++) {
		if (field == 4)
			pp = atoi(p);
		else if (field == 14)
			ut = strtoul(p, NULL, 10);
		else if (field == 15)
			st = strtoul(p, NULL, 10);
		while (*p != '\0' && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	if (ppid != NULL)
		*ppid = pp;
	if (cpu != NULL)
		*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* The root and all its descendants (found by ppid), root first. */
static void
proctree_find(struct proctree *t, pid_t root)
{
	struct {
		pid_t	pid, ppid;
		char	comm[20];
	}		*all;
	size_t		 nall = 0, cap = 4096, i;
	DIR		*d;
	struct dirent	*de;
	int		 k, grew;

	t->n = 0;
	if (root <= 0)
		return;
	if ((all = calloc(cap, sizeof(*all))) == NULL)
		die("out of memory");
	if ((d = opendir("/proc")) == NULL)
		die("/proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL && nall < cap) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		all[nall].pid = atoi(de->d_name);
		if (read_stat(all[nall].pid, all[nall].comm,
		    sizeof(all[nall].comm), &all[nall].ppid, NULL) == 0)
			nall++;
	}
	closedir(d);
	for (i = 0; i < nall; i++)
		if (all[i].pid == root) {
			t->pids[0] = root;
			snprintf(t->names[0], sizeof(t->names[0]), "%s",
			    all[i].comm);
			t->n = 1;
		}
	/* Repeat until no new descendant is found (depth is small). */
	do {
		grew = 0;
		for (i = 0; i < nall && t->n < MAX_PROCS; i++) {
			int in = 0, parent = 0;

			for (k = 0; k < t->n; k++) {
				if (t->pids[k] == all[i].pid)
					in = 1;
				if (t->pids[k] == all[i].ppid)
					parent = 1;
			}
			if (!in && parent) {
				t->pids[t->n] = all[i].pid;
				snprintf(t->names[t->n], sizeof(t->names[0]),
				    "%s", all[i].comm);
				t->n++;
				grew = 1;
			}
		}
	} while (grew);
	free(all);
}

static double
proctree_cpu(const struct proctree *t, double *per)
{
	double	sum = 0, c;
	int	i;

	for (i = 0; i < t->n; i++) {
		c = 0;
		if (read_stat(t->pids[i], NULL, 0, NULL, &c) == 0)
			sum += c;
		if (per != NULL)
			per[i] = c;
	}
	return sum;
}

static double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Pss and Rss in KiB from smaps_rollup (Rss from status as fallback). */
static int
proc_mem(pid_t pid, long *pss, long *rss)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 v;

	*pss = *rss = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Pss: %ld kB", &v) == 1)
				*pss = v;
			else if (sscanf(line, "Rss: %ld kB", &v) == 1)
				*rss = v;
		}
		fclose(f);
	}
	if (*rss < 0) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		if ((f = fopen(path, "re")) == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
				*rss = v;
		fclose(f);
	}
	return *rss < 0 ? -1 : 0;
}

static int
proc_nfds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct memsnap {
	long	pss, rss;		/* KiB, sums */
	int	nprocs;
	long	slab_kib;		/* /proc/meminfo Slab, whole machine */
	long	tcp_mem_kib;		/* /proc/net/sockstat TCP mem */
};

static long
meminfo_kib(const char *key)
{
	char	 line[256];
	FILE	*f;
	long	 v = -1, x;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 &&
		    sscanf(line + strlen(key), ": %ld kB", &x) == 1)
			v = x;
	fclose(f);
	return v;
}

static long
sockstat_tcp_mem_kib(void)
{
	char	 line[512], *p;
	FILE	*f;
	long	 v = -1;

	if ((f = fopen("/proc/net/sockstat", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "TCP:", 4) == 0 &&
		    (p = strstr(line, " mem ")) != NULL)
			v = atol(p + 5) * (sysconf(_SC_PAGESIZE) / 1024);
	fclose(f);
	return v;
}

static void
mem_snapshot(pid_t master, struct memsnap *m, const char *label, int verbose)
{
	struct proctree	t;
	long		pss, rss;
	int		i;

	proctree_find(&t, master);
	m->pss = m->rss = 0;
	m->nprocs = t.n;
	for (i = 0; i < t.n; i++) {
		if (proc_mem(t.pids[i], &pss, &rss) == -1)
			continue;
		m->pss += pss < 0 ? rss : pss;
		m->rss += rss;
		if (verbose)
			printf("  %-12s pid %-7d %-15s Pss %7ld KiB  Rss %7ld "
			    "KiB  fds %d\n", label, (int)t.pids[i],
			    t.names[i], pss, rss, proc_nfds(t.pids[i]));
	}
	m->slab_kib = meminfo_kib("Slab");
	m->tcp_mem_kib = sockstat_tcp_mem_kib();
	if (verbose)
		printf("  %-12s total: %d processes, Pss %ld KiB, Rss %ld KiB; "
		    "kernel Slab %ld KiB, TCP mem %ld KiB\n", label, m->nprocs,
		    m->pss, m->rss, m->slab_kib, m->tcp_mem_kib);
}

/*
 * Whole machine, from the first line of /proc/stat, in seconds: busy
 * (everything but idle and iowait) and softirq.  On loopback much of
 * TCP's receive work runs as softirq and is not charged to any process.
 */
static void
host_cpu(double *busy, double *sirq)
{
	unsigned long long	v[8] = { 0 };
	double			hz = (double)sysconf(_SC_CLK_TCK);
	FILE			*f;

	*busy = *sirq = 0;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
		*sirq = (double)v[6] / hz;
	}
	fclose(f);
}

/* CPU of the client itself, the proxy tree, the server, the machine. */
struct cpuwin {
	struct proctree	proxy;
	pid_t		server;
	double		t0, self0, proxy0, server0, busy0, sirq0;
	double		secs, self, proxy_cpu, server_cpu, busy, sirq, other;
};

static void
cpuwin_start(struct cpuwin *w, pid_t master, pid_t server)
{
	proctree_find(&w->proxy, master);
	w->server = server;
	w->server0 = 0;
	if (server > 0)
		read_stat(server, NULL, 0, NULL, &w->server0);
	w->proxy0 = proctree_cpu(&w->proxy, NULL);
	host_cpu(&w->busy0, &w->sirq0);
	w->self0 = self_cpu();
	w->t0 = now();
}

static void
cpuwin_end(struct cpuwin *w)
{
	double	c = 0, b, si;

	w->secs = now() - w->t0;
	w->self = self_cpu() - w->self0;
	host_cpu(&b, &si);
	w->busy = b - w->busy0;
	w->sirq = si - w->sirq0;
	w->proxy_cpu = w->proxy.n > 0 ? proctree_cpu(&w->proxy, NULL) -
	    w->proxy0 : 0;
	if (w->server > 0 && read_stat(w->server, NULL, 0, NULL, &c) == 0)
		w->server_cpu = c - w->server0;
	else
		w->server_cpu = 0;
	/* What the rest of the machine used: noise from other processes. */
	w->other = w->busy - w->sirq - w->self - w->proxy_cpu - w->server_cpu;
	if (w->other < 0)
		w->other = 0;
}

static void
cpuwin_print(const struct cpuwin *w)
{
	double	s = w->secs > 0 ? w->secs : 1;

	printf("  cpu over %.2f s: client %.2f s (%.0f%%), proxy %.2f s "
	    "(%.0f%%, %d procs), server %.2f s (%.0f%%), softirq %.0f%%, "
	    "other processes %.0f%%\n", w->secs, w->self,
	    100 * w->self / s, w->proxy_cpu, 100 * w->proxy_cpu / s,
	    w->proxy.n, w->server_cpu, 100 * w->server_cpu / s,
	    100 * w->sirq / s, 100 * w->other / s);
}

static void
cpuwin_result(const struct cpuwin *w)
{
	double	s = w->secs > 0 ? w->secs : 1;

	printf(" cpu_secs=%.3f client_cpu_pct=%.1f proxy_cpu_pct=%.1f "
	    "server_cpu_pct=%.1f softirq_pct=%.1f other_pct=%.1f "
	    "host_busy_pct=%.1f proxy_procs=%d", w->secs, 100 * w->self / s,
	    100 * w->proxy_cpu / s, 100 * w->server_cpu / s,
	    100 * w->sirq / s, 100 * w->other / s, 100 * w->busy / s,
	    w->proxy.n);
}

/* ------------------------------------------------------------------ */
/* Client connections: connect, optional SOCKS5 handshake */

enum cstate {
	C_FREE = 0,
	C_CONNECTING,
	C_GREETING,		/* method selection sent */
	C_REQUEST,		/* CONNECT sent */
	C_READY,		/* tunnel (or direct connection) up */
	C_WAITRESP,		/* cps: request sent */
	C_PUMP,			/* tput: moving bulk data */
	C_WAITCOUNT,		/* tput up: half-closed, waiting for count */
	C_HELD,			/* hold: idle */
	C_DONE,
	C_FAILED,
};

struct cconn {
	int		 fd;
	enum cstate	 st;
	uint8_t		 buf[32];
	size_t		 have, need;
	double		 t_start, t_ready;
	uint64_t	 bytes;		/* tput: moved in the window */
	uint64_t	 count;		/* tput up: server's count */
	int		 err;		/* errno or -(socks reply code) */
	const char	*why;
};

struct client {
	int			 ep;
	int			 use_proxy;
	struct sockaddr_in	 proxy, target;
};

static void
cc_fail(struct client *cl, struct cconn *c, const char *why, int err)
{
	(void)cl;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->st = C_FAILED;
	c->why = why;
	c->err = err;
}

/* Start a connection: to the proxy or directly to the target. */
static int
cc_start(struct client *cl, struct cconn *c)
{
	c->have = c->need = 0;
	c->bytes = c->count = 0;
	c->why = NULL;
	c->err = 0;
	c->t_start = now();
	c->fd = start_connect(cl->use_proxy ? &cl->proxy : &cl->target);
	if (c->fd == -1) {
		cc_fail(cl, c, "connect", errno);
		return -1;
	}
	c->st = C_CONNECTING;
	ep_set(cl->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
	return 0;
}

/* Read up to c->need bytes into c->buf; 1 when complete, 0 more, -1. */
static int
cc_read_exact(struct client *cl, struct cconn *c)
{
	ssize_t	n;

	while (c->have < c->need) {
		n = recv(c->fd, c->buf + c->have, c->need - c->have, 0);
		if (n > 0) {
			c->have += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		cc_fail(cl, c, n == 0 ? "eof" : "recv", n == 0 ? 0 : errno);
		return -1;
	}
	return 1;
}

static int
cc_send_small(struct client *cl, struct cconn *c, const void *p, size_t len)
{
	ssize_t	n = send(c->fd, p, len, MSG_NOSIGNAL);

	if (n != (ssize_t)len) {
		cc_fail(cl, c, "send", n == -1 ? errno : EAGAIN);
		return -1;
	}
	return 0;
}

/*
 * Drive the connection/handshake states.  Returns 1 when the connection
 * just became C_READY, 0 while in progress, -1 on failure.
 */
static int
cc_handshake(struct client *cl, struct cconn *c, uint32_t events)
{
	static const uint8_t	greet[3] = { 5, 1, 0 };
	uint8_t			req[10];
	int			err = 0, r;
	socklen_t		len = sizeof(err);

	switch (c->st) {
	case C_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			cc_fail(cl, c, "connect", err);
			return -1;
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		if (!cl->use_proxy) {
			c->st = C_READY;
			c->t_ready = now();
			return 1;
		}
		if (cc_send_small(cl, c, greet, sizeof(greet)) == -1)
			return -1;
		c->st = C_GREETING;
		c->have = 0;
		c->need = 2;
		ep_set(cl->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
		return 0;
	case C_GREETING:
		if ((r = cc_read_exact(cl, c)) <= 0)
			return r;
		if (c->buf[0] != 5 || c->buf[1] != 0) {
			cc_fail(cl, c, "socks5 method", -(int)c->buf[1]);
			return -1;
		}
		req[0] = 5;
		req[1] = 1;		/* CONNECT */
		req[2] = 0;
		req[3] = 1;		/* IPv4 */
		memcpy(req + 4, &cl->target.sin_addr, 4);
		memcpy(req + 8, &cl->target.sin_port, 2);
		if (cc_send_small(cl, c, req, sizeof(req)) == -1)
			return -1;
		c->st = C_REQUEST;
		c->have = 0;
		c->need = 5;
		return 0;
	case C_REQUEST:
		/* VER REP RSV ATYP ADDR PORT; the length depends on ATYP. */
		if ((r = cc_read_exact(cl, c)) <= 0)
			return r;
		if (c->need == 5) {
			if (c->buf[0] != 5 || c->buf[1] != 0) {
				cc_fail(cl, c, "socks5 reply", -(int)c->buf[1]);
				return -1;
			}
			switch (c->buf[3]) {
			case 1: c->need = 4 + 4 + 2; break;
			case 4: c->need = 4 + 16 + 2; break;
			case 3: c->need = 4 + 1 + c->buf[4] + 2; break;
			default:
				cc_fail(cl, c, "socks5 atyp", EPROTO);
				return -1;
			}
			if (c->need > sizeof(c->buf)) {
				/* long domain BND.ADDR: just drain it */
				c->need = sizeof(c->buf);
			}
			if ((r = cc_read_exact(cl, c)) <= 0)
				return r;
		}
		c->st = C_READY;
		c->t_ready = now();
		return 1;
	default:
		return 0;
	}
}

static void
client_init(struct client *cl, const char *proxy, const char *target)
{
	memset(cl, 0, sizeof(*cl));
	if (target == NULL)
		die("-t TARGET is required");
	parse_addr(target, &cl->target);
	if (proxy != NULL) {
		parse_addr(proxy, &cl->proxy);
		cl->use_proxy = 1;
	}
	if ((cl->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
}

static const char *
cc_errstr(const struct cconn *c, char *buf, size_t len)
{
	if (c->err < 0)
		snprintf(buf, len, "%s: SOCKS5 code %d", c->why, -c->err);
	else if (c->err > 0)
		snprintf(buf, len, "%s: %s", c->why, strerror(c->err));
	else
		snprintf(buf, len, "%s", c->why != NULL ? c->why : "?");
	return buf;
}

/* ------------------------------------------------------------------ */
/* Common options */

struct opts {
	const char	*proxy, *target, *label, *portfile;
	long		 n, conc, port;
	double		 secs, settle;
	int		 down, pdeath, echo_once;
	pid_t		 master, server;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: slbench server -p PORT [-P PORTFILE] [-T MAXSECS] [-K]\n"
	    "       slbench tput  [-s PROXY] -t TARGET [-n STREAMS] [-T SECS]"
	    " [-d up|down]\n"
	    "       slbench cps   [-s PROXY] -t TARGET [-c CONC] [-n COUNT]"
	    " [-T MAXSECS]\n"
	    "       slbench hold  -s PROXY -t TARGET -m MASTERPID [-n N]"
	    " [-c CONC] [-e]\n"
	    "       slbench probe [-s PROXY] -t TARGET [-T SECS]\n"
	    "       slbench mem   -m MASTERPID\n"
	    "common: -m MASTERPID (sluiced, CPU/memory of its tree), "
	    "-S SERVERPID, -L LABEL\n"
	    "addresses: PORT or 127.x.y.z:PORT (loopback only)\n");
	exit(2);
}

static void
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
	while ((ch = getopt(argc, argv, "s:t:n:c:T:d:m:S:L:p:P:w:Keh")) != -1) {
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

/* ------------------------------------------------------------------ */
/* server */

enum smode { S_NEW = 0, S_SINK, S_SOURCE, S_ECHO };

struct sconn {
	int		 fd;
	enum smode	 mode;
	uint64_t	 count;
	char		*ebuf;		/* echo: pending bytes */
	size_t		 eoff, elen;
};

#define ECHO_BUFSZ	(16 * 1024)

static struct sconn	 listen_tag;

static void
s_close(int ep, struct sconn *s, long *nopen)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->ebuf);
	free(s);
	(*nopen)--;
}

/* Returns -1 when the connection was closed. */
static int
s_echo_flush(int ep, struct sconn *s, long *nopen)
{
	ssize_t	n;

	while (s->eoff < s->elen) {
		n = send(s->fd, s->ebuf + s->eoff, s->elen - s->eoff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			s->eoff += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			ep_set(ep, EPOLL_CTL_MOD, s->fd, EPOLLOUT, s);
			return 0;
		}
		s_close(ep, s, nopen);
		return -1;
	}
	s->eoff = s->elen = 0;
	ep_set(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, s);
	return 0;
}

static void
s_readable(int ep, struct sconn *s, long *nopen)
{
	static char	rbuf[CHUNK];
	ssize_t		n;
	int		i, j;
	uint64_t	be;
	uint8_t		cnt[8];

	for (i = 0; i < MAX_BURST; i++) {
		if (s->mode == S_ECHO) {
			if (s->ebuf == NULL &&
			    (s->ebuf = malloc(ECHO_BUFSZ)) == NULL)
				die("out of memory");
			n = recv(s->fd, s->ebuf, ECHO_BUFSZ, 0);
		} else {
			/* The first read may become echo data: ECHO_BUFSZ. */
			n = recv(s->fd, rbuf, s->mode == S_NEW ? ECHO_BUFSZ :
			    sizeof(rbuf), 0);
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (n == 0 && s->mode == S_SINK) {
				be = s->count;
				for (j = 7; j >= 0; j--) {
					cnt[j] = (uint8_t)(be & 0xff);
					be >>= 8;
				}
				(void)!send(s->fd, cnt, sizeof(cnt),
				    MSG_NOSIGNAL);
			}
			s_close(ep, s, nopen);
			return;
		}
		if (s->mode == S_NEW) {
			if (rbuf[0] == 'U') {
				s->mode = S_SINK;
				s->count = (uint64_t)n - 1;
			} else if (rbuf[0] == 'D') {
				s->mode = S_SOURCE;
				ep_set(ep, EPOLL_CTL_MOD, s->fd,
				    EPOLLIN | EPOLLOUT, s);
			} else {
				s->mode = S_ECHO;
				if ((s->ebuf = malloc(ECHO_BUFSZ)) == NULL)
					die("out of memory");
				memcpy(s->ebuf, rbuf, (size_t)n);
				s->eoff = 0;
				s->elen = (size_t)n;
				if (s_echo_flush(ep, s, nopen) == -1)
					return;
				if (s->elen != 0)
					return;	/* wait for EPOLLOUT */
			}
			continue;
		}
		switch (s->mode) {
		case S_SINK:
			s->count += (uint64_t)n;
			break;
		case S_SOURCE:
			break;		/* ignore anything after 'D' */
		case S_ECHO:
			s->eoff = 0;
			s->elen = (size_t)n;
			if (s_echo_flush(ep, s, nopen) == -1)
				return;
			if (s->elen != 0)
				return;	/* wait for EPOLLOUT */
			break;
		default:
			break;
		}
	}
}

static void
s_writable(int ep, struct sconn *s, long *nopen)
{
	ssize_t	n;
	int	i;

	if (s->mode == S_ECHO) {
		s_echo_flush(ep, s, nopen);
		return;
	}
	if (s->mode != S_SOURCE)
		return;
	for (i = 0; i < MAX_BURST; i++) {
		n = send(s->fd, bulk, sizeof(bulk), MSG_NOSIGNAL);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		s_close(ep, s, nopen);
		return;
	}
}

static int
cmd_server(int argc, char **argv)
{
	struct opts		 o;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	struct epoll_event	 evs[MAX_EVENTS];
	int			 lfd, ep, i, n, one = 1;
	double			 deadline;
	long			 nopen = 0, maxopen = 0, accepted = 0;

	parse_opts(argc, argv, &o);
	if (o.secs < 0)
		o.secs = 3600;
	if (o.pdeath) {
		/* Go away with the script that started us. */
		pid_t	parent = getppid();

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			die("server: parent already gone");
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)o.port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind 127.0.0.1:%ld: %s", o.port, strerror(errno));
	if (listen(lfd, 4096) == -1)
		die("listen: %s", strerror(errno));
	getsockname(lfd, (struct sockaddr *)&sin, &slen);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, &listen_tag);
	if (o.portfile != NULL) {
		char	tmp[PATH_MAX];
		FILE	*f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", o.portfile);
		if ((f = fopen(tmp, "we")) == NULL)
			die("%s: %s", tmp, strerror(errno));
		fprintf(f, "%d\n", ntohs(sin.sin_port));
		if (fclose(f) != 0 || rename(tmp, o.portfile) == -1)
			die("%s: %s", o.portfile, strerror(errno));
	}
	printf("slbench server: listening on 127.0.0.1:%d (pid %d, "
	    "max %.0f s)\n", ntohs(sin.sin_port), (int)getpid(), o.secs);
	fflush(stdout);

	deadline = now() + o.secs;
	while (!stop_flag && now() < deadline) {
		n = epoll_wait(ep, evs, MAX_EVENTS, 500);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct sconn	*s = evs[i].data.ptr;

			if (s == &listen_tag) {
				int	k, fd;

				for (k = 0; k < 256; k++) {
					fd = accept4(lfd, NULL, NULL,
					    SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd == -1) {
						if (errno == EMFILE ||
						    errno == ENFILE)
							fprintf(stderr,
							    "slbench server: "
							    "accept: %s\n",
							    strerror(errno));
						break;
					}
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					if ((s = calloc(1, sizeof(*s))) ==
					    NULL)
						die("out of memory");
					s->fd = fd;
					ep_set(ep, EPOLL_CTL_ADD, fd,
					    EPOLLIN, s);
					accepted++;
					if (++nopen > maxopen)
						maxopen = nopen;
				}
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				long before = nopen;

				s_readable(ep, s, &nopen);
				if (nopen != before)
					continue;	/* closed */
			}
			if (evs[i].events & EPOLLOUT)
				s_writable(ep, s, &nopen);
		}
	}
	printf("slbench server: exiting (%s); accepted %ld, max open %ld\n",
	    stop_flag ? "signal" : "time limit", accepted, maxopen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* probe: one echo exchange, retried until the deadline */

static char	probe_err[160];

static int
probe_once(struct client *cl, double timeout)
{
	struct cconn		 c;
	struct epoll_event	 evs[4];
	char			 req[REQ_SIZE], resp[REQ_SIZE];
	size_t			 got = 0;
	double			 deadline = now() + timeout;
	int			 n, r, sent = 0;

	memset(&c, 0, sizeof(c));
	memset(req, 'p', sizeof(req));
	if (cc_start(cl, &c) == -1) {
		cc_errstr(&c, probe_err, sizeof(probe_err));
		return -1;
	}
	while (now() < deadline && !stop_flag) {
		n = epoll_wait(cl->ep, evs, 4, 100);
		if (n <= 0)
			continue;
		if (c.st < C_READY) {
			r = cc_handshake(cl, &c, evs[0].events);
			if (r < 0) {
				cc_errstr(&c, probe_err, sizeof(probe_err));
				return -1;
			}
			if (r == 0)
				continue;
		}
		if (!sent) {
			if (cc_send_small(cl, &c, req, sizeof(req)) == -1)
				return -1;
			ep_set(cl->ep, EPOLL_CTL_MOD, c.fd, EPOLLIN, &c);
			sent = 1;
			continue;
		}
		ssize_t k = recv(c.fd, resp + got, sizeof(resp) - got, 0);

		if (k > 0)
			got += (size_t)k;
		else if (!(k == -1 && errno == EAGAIN))
			break;
		if (got == sizeof(resp)) {
			close(c.fd);
			return memcmp(req, resp, sizeof(req)) == 0 ? 0 : -1;
		}
	}
	if (c.fd != -1)
		close(c.fd);
	return -1;
}

static int
cmd_probe(int argc, char **argv)
{
	struct opts	o;
	struct client	cl;
	double		deadline;
	int		tries = 0;

	parse_opts(argc, argv, &o);
	client_init(&cl, o.proxy, o.target);
	if (o.secs < 0)
		o.secs = 10;
	deadline = now() + o.secs;
	while (!stop_flag && tries < 10000) {
		tries++;
		if (probe_once(&cl, 2.0) == 0) {
			printf("probe ok after %d tries\n", tries);
			return 0;
		}
		if (now() + 0.1 >= deadline)
			break;
		sleep_s(0.1);
	}
	fprintf(stderr, "probe: no echo through %s after %d tries%s%s\n",
	    o.proxy != NULL ? o.proxy : o.target, tries,
	    probe_err[0] != '\0' ? "; last error: " : "", probe_err);
	return 1;
}

/* ------------------------------------------------------------------ */
/* tput: N parallel bulk streams */

static int
cmd_tput(int argc, char **argv)
{
	struct opts		 o;
	struct client		 cl;
	struct cconn		*cs;
	struct epoll_event	 evs[MAX_EVENTS];
	struct cpuwin		 w;
	double			 t0 = 0, tend = 0, deadline, hs_deadline;
	double			 elapsed, gbps;
	uint64_t		 total = 0;
	long			 i, nready = 0, nfinished = 0, nfail = 0;
	long			 approx = 0;
	int			 n, k, ended = 0, phase = 0; /* 0 hs, 1 pump, 2 drain */
	char			 eb[128];

	parse_opts(argc, argv, &o);
	client_init(&cl, o.proxy, o.target);
	if (o.n < 0)
		o.n = 1;
	if (o.secs < 0)
		o.secs = 5;
	if ((cs = calloc((size_t)o.n, sizeof(*cs))) == NULL)
		die("out of memory");
	memset(bulk, 'x', sizeof(bulk));

	hs_deadline = now() + CONN_TIMEOUT;
	for (i = 0; i < o.n; i++)
		if (cc_start(&cl, &cs[i]) == -1)
			die("stream %ld: %s", i, cc_errstr(&cs[i], eb,
			    sizeof(eb)));
	deadline = hs_deadline + o.secs + 30;
	while (!stop_flag) {
		double	t = now();

		if (t > deadline || (phase == 0 && t > hs_deadline)) {
			fprintf(stderr, "tput: timed out in phase %d\n",
			    phase);
			break;
		}
		if (phase == 1 && t >= tend) {
			/* The window is over. */
			phase = 2;
			for (i = 0; i < o.n; i++) {
				struct cconn *c = &cs[i];

				if (c->st != C_PUMP)
					continue;
				if (o.down) {
					total += c->bytes;
					close(c->fd);
					c->fd = -1;
					c->st = C_DONE;
					nfinished++;
				} else {
					shutdown(c->fd, SHUT_WR);
					c->st = C_WAITCOUNT;
					c->have = 0;
					c->need = 8;
					ep_set(cl.ep, EPOLL_CTL_MOD, c->fd,
					    EPOLLIN, c);
				}
			}
			if (o.down) {
				cpuwin_end(&w);
				ended = 1;
			}
		}
		if (phase == 2 && nfinished + nfail >= o.n)
			break;
		n = epoll_wait(cl.ep, evs, MAX_EVENTS, phase == 1 ?
		    (int)((tend - t) * 1000) + 1 : 100);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			struct cconn	*c = evs[k].data.ptr;
			ssize_t		 r;
			int		 j;

			if (c->st < C_READY) {
				int hr = cc_handshake(&cl, c, evs[k].events);

				if (hr < 0)
					die("stream %ld: %s", (long)(c - cs),
					    cc_errstr(c, eb, sizeof(eb)));
				if (hr == 1)
					nready++;
				if (hr == 1)
					ep_set(cl.ep, EPOLL_CTL_MOD, c->fd,
					    0, c);
				if (nready == o.n) {
					/* All up: start the window. */
					phase = 1;
					cpuwin_start(&w, o.master, o.server);
					t0 = w.t0;
					tend = t0 + o.secs;
					for (i = 0; i < o.n; i++) {
						char m = o.down ? 'D' : 'U';

						if (cc_send_small(&cl, &cs[i],
						    &m, 1) == -1)
							die("stream %ld: send",
							    i);
						cs[i].st = C_PUMP;
						ep_set(cl.ep, EPOLL_CTL_MOD,
						    cs[i].fd, o.down ?
						    EPOLLIN : EPOLLOUT,
						    &cs[i]);
					}
				}
				continue;
			}
			if (c->st == C_PUMP && !o.down) {
				for (j = 0; j < MAX_BURST; j++) {
					r = send(c->fd, bulk, sizeof(bulk),
					    MSG_NOSIGNAL);
					if (r > 0) {
						c->bytes += (uint64_t)r;
						continue;
					}
					if (r == -1 && errno == EAGAIN)
						break;
					cc_fail(&cl, c, "send", errno);
					nfail++;
					break;
				}
			} else if (c->st == C_PUMP && o.down) {
				static char	rbuf[CHUNK];

				for (j = 0; j < MAX_BURST; j++) {
					r = recv(c->fd, rbuf, sizeof(rbuf), 0);
					if (r > 0) {
						c->bytes += (uint64_t)r;
						continue;
					}
					if (r == -1 && errno == EAGAIN)
						break;
					cc_fail(&cl, c, r == 0 ? "eof" :
					    "recv", r == 0 ? 0 : errno);
					nfail++;
					break;
				}
			} else if (c->st == C_WAITCOUNT) {
				int rr = cc_read_exact(&cl, c);

				if (rr < 0 && c->err == 0 && c->have == 0) {
					/*
					 * EOF without the count: the path
					 * does not keep half-closed
					 * connections open.  Use what was
					 * written (an upper bound).
					 */
					total += c->bytes;
					approx++;
					nfinished++;
					continue;
				}
				if (rr < 0) {
					nfail++;
					continue;
				}
				if (rr == 0)
					continue;
				for (j = 0; j < 8; j++)
					c->count = c->count << 8 | c->buf[j];
				if (c->count != c->bytes)
					fprintf(stderr, "tput: stream %ld: "
					    "sent %" PRIu64 " server counted %"
					    PRIu64 "\n", (long)(c - cs),
					    c->bytes, c->count);
				total += c->count;
				close(c->fd);
				c->fd = -1;
				c->st = C_DONE;
				nfinished++;
			}
		}
		if (phase == 2 && !o.down && !ended &&
		    nfinished + nfail >= o.n) {
			cpuwin_end(&w);
			ended = 1;
		}
	}
	if (phase == 0)
		die("tput: only %ld of %ld streams came up", nready, o.n);
	if (nfinished + nfail < o.n || nfail > 0) {
		for (i = 0; i < o.n; i++)
			if (cs[i].st == C_FAILED)
				fprintf(stderr, "tput: stream %ld: %s\n", i,
				    cc_errstr(&cs[i], eb, sizeof(eb)));
		die("tput: %ld streams finished, %ld failed, of %ld",
		    nfinished, nfail, o.n);
	}
	elapsed = w.secs;
	gbps = (double)total * 8 / elapsed / 1e9;
	printf("tput %s: %s, %ld streams, %s: %" PRIu64 " bytes in %.3f s = "
	    "%.2f Gbit/s\n", o.label, o.proxy != NULL ? "via proxy" :
	    "direct", o.n, o.down ? "download" : "upload", total, elapsed,
	    gbps);
	if (approx > 0)
		printf("  WARNING: %ld streams closed without the server's count "
		    "(half-close not kept): bytes are those written\n", approx);
	cpuwin_print(&w);
	printf("RESULT test=tput label=%s path=%s dir=%s streams=%ld "
	    "bytes=%" PRIu64 " secs=%.3f gbps=%.3f approx=%ld", o.label,
	    o.proxy != NULL ? "proxy" : "direct", o.down ? "down" : "up", o.n,
	    total, elapsed, gbps, approx);
	cpuwin_result(&w);
	printf(" proxy_cpu_s_per_gb=%.3f\n", total > 0 ?
	    w.proxy_cpu / ((double)total / 1e9) : 0.0);
	for (i = 0; i < o.n; i++)
		if (cs[i].fd != -1)
			close(cs[i].fd);
	free(cs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* cps: connection rate and latency */

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, long n, double p)
{
	long	i;

	if (n <= 0)
		return 0;
	i = (long)(p / 100.0 * (double)n + 0.999999) - 1;	/* nearest rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static int
cmd_cps(int argc, char **argv)
{
	struct opts		 o;
	struct client		 cl;
	struct cconn		*cs;
	struct epoll_event	 evs[MAX_EVENTS];
	struct cpuwin		 w;
	double			*lat, *hs, deadline, last_scan = 0, t;
	long			 i, started = 0, ok = 0, fail = 0, active = 0;
	char			 req[REQ_SIZE], first_err[160] = "";
	int			 n, k;

	parse_opts(argc, argv, &o);
	client_init(&cl, o.proxy, o.target);
	if (o.conc < 0)
		o.conc = 32;
	if (o.n < 0)
		o.n = 20000;
	if (o.secs < 0)
		o.secs = 120;
	if (o.conc > o.n)
		o.conc = o.n;
	cs = calloc((size_t)o.conc, sizeof(*cs));
	lat = calloc((size_t)o.n, sizeof(*lat));
	hs = calloc((size_t)o.n, sizeof(*hs));
	if (cs == NULL || lat == NULL || hs == NULL)
		die("out of memory");
	memset(req, 'q', sizeof(req));
	for (i = 0; i < o.conc; i++)
		cs[i].fd = -1;

	cpuwin_start(&w, o.master, o.server);
	deadline = w.t0 + o.secs;
	for (i = 0; i < o.conc; i++) {
		started++;
		if (cc_start(&cl, &cs[i]) == 0)
			active++;
		else {
			fail++;
			if (first_err[0] == '\0')
				cc_errstr(&cs[i], first_err,
				    sizeof(first_err));
		}
	}
	while (!stop_flag && (active > 0 || started < o.n)) {
		t = now();
		if (t > deadline) {
			fprintf(stderr, "cps: time limit (%.0f s) reached\n",
			    o.secs);
			break;
		}
		/* Per-connection timeouts and refilling free slots. */
		if (t - last_scan > 0.05 || active < o.conc) {
			last_scan = t;
			for (i = 0; i < o.conc; i++) {
				struct cconn *c = &cs[i];

				if (c->fd != -1 && t - c->t_start >
				    CONN_TIMEOUT) {
					cc_fail(&cl, c, "timeout", ETIMEDOUT);
					active--;
					fail++;
					if (first_err[0] == '\0')
						cc_errstr(c, first_err,
						    sizeof(first_err));
				}
				if (c->fd == -1 && started < o.n) {
					started++;
					if (cc_start(&cl, c) == 0)
						active++;
					else {
						fail++;
						if (first_err[0] == '\0')
							cc_errstr(c, first_err,
							    sizeof(first_err));
					}
				}
			}
		}
		n = epoll_wait(cl.ep, evs, MAX_EVENTS, 50);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			struct cconn	*c = evs[k].data.ptr;
			int		 r;

			if (c->st < C_READY) {
				r = cc_handshake(&cl, c, evs[k].events);
				if (r == 0)
					continue;
				if (r < 0) {
					active--;
					fail++;
					if (first_err[0] == '\0')
						cc_errstr(c, first_err,
						    sizeof(first_err));
					continue;
				}
				if (cc_send_small(&cl, c, req,
				    sizeof(req)) == -1) {
					active--;
					fail++;
					continue;
				}
				c->st = C_WAITRESP;
				c->have = 0;
				c->need = REQ_SIZE;
				ep_set(cl.ep, EPOLL_CTL_MOD, c->fd, EPOLLIN,
				    c);
				continue;
			}
			if (c->st != C_WAITRESP)
				continue;
			r = cc_read_exact(&cl, c);
			if (r == 0)
				continue;
			if (r < 0) {
				active--;
				fail++;
				if (first_err[0] == '\0')
					cc_errstr(c, first_err,
					    sizeof(first_err));
				continue;
			}
			t = now();
			if (ok < o.n) {
				lat[ok] = (t - c->t_start) * 1e3;
				hs[ok] = (c->t_ready - c->t_start) * 1e3;
			}
			ok++;
			close(c->fd);
			c->fd = -1;
			c->st = C_DONE;
			active--;
			if (started < o.n) {
				started++;
				if (cc_start(&cl, c) == 0)
					active++;
				else {
					fail++;
					if (first_err[0] == '\0')
						cc_errstr(c, first_err,
						    sizeof(first_err));
				}
			}
		}
	}
	cpuwin_end(&w);
	for (i = 0; i < o.conc; i++)
		if (cs[i].fd != -1) {
			close(cs[i].fd);
			fail++;
		}
	qsort(lat, (size_t)ok, sizeof(*lat), cmp_double);
	qsort(hs, (size_t)ok, sizeof(*hs), cmp_double);
	printf("cps %s: %s, concurrency %ld: %ld ok, %ld failed in %.3f s = "
	    "%.0f conn/s\n", o.label, o.proxy != NULL ? "via proxy" : "direct",
	    o.conc, ok, fail, w.secs, (double)ok / w.secs);
	printf("  latency connect..response ms: p50 %.3f  p90 %.3f  p99 %.3f"
	    "  max %.3f\n", pct(lat, ok, 50), pct(lat, ok, 90),
	    pct(lat, ok, 99), ok > 0 ? lat[ok - 1] : 0.0);
	printf("  latency connect..%s ms:    p50 %.3f  p99 %.3f\n",
	    o.proxy != NULL ? "SOCKS5 reply" : "established",
	    pct(hs, ok, 50), pct(hs, ok, 99));
	if (first_err[0] != '\0')
		printf("  first error: %s\n", first_err);
	cpuwin_print(&w);
	printf("RESULT test=cps label=%s path=%s conc=%ld ok=%ld fail=%ld "
	    "secs=%.3f cps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	    "max_ms=%.3f hs_p50_ms=%.3f hs_p99_ms=%.3f", o.label,
	    o.proxy != NULL ? "proxy" : "direct", o.conc, ok, fail, w.secs,
	    (double)ok / w.secs, pct(lat, ok, 50), pct(lat, ok, 90),
	    pct(lat, ok, 99), ok > 0 ? lat[ok - 1] : 0.0, pct(hs, ok, 50),
	    pct(hs, ok, 99));
	cpuwin_result(&w);
	printf(" proxy_cpu_us_per_conn=%.1f\n", ok > 0 ?
	    w.proxy_cpu * 1e6 / (double)ok : 0.0);
	free(cs);
	free(lat);
	free(hs);
	return fail > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* hold: memory per idle session */

static int
cmd_hold(int argc, char **argv)
{
	struct opts		 o;
	struct client		 cl;
	struct cconn		*cs;
	struct epoll_event	 evs[MAX_EVENTS];
	struct memsnap		 before, with, after;
	double			 t, t0, deadline, last_scan = 0, last_ok;
	char			 req[REQ_SIZE];
	long			 i, next = 0, inflight = 0, held = 0, fail = 0;
	long			 lost = 0, need_fds;
	char			 first_err[160] = "";
	int			 n, k;

	parse_opts(argc, argv, &o);
	if (o.master <= 0)
		die("hold: -m MASTERPID is required");
	client_init(&cl, o.proxy, o.target);
	if (o.n < 0)
		o.n = 10000;
	if (o.conc < 0)
		o.conc = 200;
	if (o.secs < 0)
		o.secs = 120;
	need_fds = o.n + 64;
	if (need_fds > nofile_limit())
		die("hold: %ld sessions need %ld fds, RLIMIT_NOFILE is %ld",
		    o.n, need_fds, nofile_limit());
	if ((cs = calloc((size_t)o.n, sizeof(*cs))) == NULL)
		die("out of memory");
	for (i = 0; i < o.n; i++)
		cs[i].fd = -1;

	printf("hold %s: %s, %s; memory of pid %d and its descendants\n",
	    o.label, o.proxy != NULL ? "via proxy" : "direct (self-test)",
	    o.echo_once ? "one 32-byte echo per session, then idle" :
	    "idle from the start", (int)o.master);
	mem_snapshot(o.master, &before, "before", 1);

	memset(req, 'h', sizeof(req));
	t0 = last_ok = now();
	deadline = t0 + o.secs;
	while (!stop_flag && (next < o.n || inflight > 0)) {
		t = now();
		if (t > deadline) {
			fprintf(stderr, "hold: time limit (%.0f s) reached "
			    "while opening\n", o.secs);
			break;
		}
		if (t - last_ok > CONN_TIMEOUT + 2) {
			fprintf(stderr, "hold: no session came up for %.0f s; "
			    "stopping at %ld\n", t - last_ok, held);
			break;
		}
		while (next < o.n && inflight < o.conc) {
			if (cc_start(&cl, &cs[next]) == 0)
				inflight++;
			else {
				fail++;
				if (first_err[0] == '\0')
					cc_errstr(&cs[next], first_err,
					    sizeof(first_err));
			}
			next++;
		}
		if (t - last_scan > 0.2) {
			last_scan = t;
			for (i = 0; i < next; i++) {
				struct cconn *c = &cs[i];

				if ((c->st < C_READY || c->st == C_WAITRESP) &&
				    c->fd != -1 &&
				    t - c->t_start > CONN_TIMEOUT) {
					cc_fail(&cl, c, "timeout", ETIMEDOUT);
					inflight--;
					fail++;
					if (first_err[0] == '\0')
						cc_errstr(c, first_err,
						    sizeof(first_err));
				}
			}
		}
		n = epoll_wait(cl.ep, evs, MAX_EVENTS, 50);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			struct cconn	*c = evs[k].data.ptr;
			int		 r;

			if (c->st == C_HELD) {
				/* A held session must stay silent. */
				cc_fail(&cl, c, "held session closed", 0);
				held--;
				lost++;
				continue;
			}
			if (c->st == C_WAITRESP) {
				/* -e: the one exchange before idling */
				r = cc_read_exact(&cl, c);
				if (r == 0)
					continue;
			} else if (c->st < C_READY) {
				r = cc_handshake(&cl, c, evs[k].events);
				if (r == 0)
					continue;
				if (r > 0 && o.echo_once) {
					if (cc_send_small(&cl, c, req,
					    sizeof(req)) == -1)
						r = -1;
					else {
						c->st = C_WAITRESP;
						c->have = 0;
						c->need = REQ_SIZE;
						ep_set(cl.ep, EPOLL_CTL_MOD,
						    c->fd, EPOLLIN, c);
						continue;
					}
				}
			} else
				continue;
			inflight--;
			if (r < 0) {
				fail++;
				if (first_err[0] == '\0')
					cc_errstr(c, first_err,
					    sizeof(first_err));
				continue;
			}
			last_ok = now();
			c->st = C_HELD;
			held++;
			ep_set(cl.ep, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP,
			    c);
		}
	}
	/* Abandon whatever is still in flight. */
	for (i = 0; i < o.n; i++)
		if (cs[i].fd != -1 && cs[i].st != C_HELD) {
			cc_fail(&cl, &cs[i], "abandoned", 0);
			fail++;
		}
	printf("  opened %ld sessions (%ld failed) in %.2f s%s%s\n", held,
	    fail, now() - t0, first_err[0] ? "; first error: " : "",
	    first_err);
	/* Let the daemon settle, watching for sessions that die. */
	t = now();
	while (now() - t < o.settle && !stop_flag) {
		n = epoll_wait(cl.ep, evs, MAX_EVENTS, 100);
		for (k = 0; k < n; k++) {
			struct cconn *c = evs[k].data.ptr;

			if (c->st == C_HELD) {
				cc_fail(&cl, c, "held session closed", 0);
				held--;
				lost++;
			}
		}
	}
	mem_snapshot(o.master, &with, "with", 1);
	printf("  sessions alive at measurement: %ld (lost while held: %ld)\n",
	    held, lost);

	for (i = 0; i < o.n; i++)
		if (cs[i].fd != -1) {
			close(cs[i].fd);
			cs[i].fd = -1;
		}
	sleep_s(o.settle);
	mem_snapshot(o.master, &after, "closed", 1);

	{
		double	per_pss = held > 0 ?
		    (double)(with.pss - before.pss) / (double)held : 0;
		double	per_rss = held > 0 ?
		    (double)(with.rss - before.rss) / (double)held : 0;
		double	per_slab = held > 0 ?
		    (double)(with.slab_kib - before.slab_kib) / (double)held :
		    0;

		printf("  per session: Pss %.2f KiB, Rss %.2f KiB (user space "
		    "of pid %d and its descendants)\n", per_pss, per_rss,
		    (int)o.master);
		printf("  per session, kernel Slab delta (whole machine: "
		    "client+proxy+server sockets): %.2f KiB\n", per_slab);
		printf("RESULT test=hold label=%s echo=%d sessions=%ld "
		    "requested=%ld "
		    "fail=%ld lost=%ld procs=%d pss_before_kib=%ld "
		    "pss_with_kib=%ld pss_closed_kib=%ld rss_before_kib=%ld "
		    "rss_with_kib=%ld rss_closed_kib=%ld "
		    "per_session_pss_kib=%.2f per_session_rss_kib=%.2f "
		    "slab_delta_kib=%ld per_session_slab_kib=%.2f "
		    "tcp_mem_delta_kib=%ld\n", o.label, o.echo_once, held,
		    o.n, fail, lost,
		    with.nprocs, before.pss, with.pss, after.pss, before.rss,
		    with.rss, after.rss, per_pss, per_rss,
		    with.slab_kib - before.slab_kib, per_slab,
		    with.tcp_mem_kib - before.tcp_mem_kib);
	}
	free(cs);
	return held == o.n ? 0 : 1;
}

static int
cmd_mem(int argc, char **argv)
{
	struct opts	o;
	struct memsnap	m;

	parse_opts(argc, argv, &o);
	if (o.master <= 0)
		die("mem: -m MASTERPID is required");
	mem_snapshot(o.master, &m, "now", 1);
	printf("RESULT test=mem procs=%d pss_kib=%ld rss_kib=%ld\n",
	    m.nprocs, m.pss, m.rss);
	return m.nprocs > 0 ? 0 : 1;
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
