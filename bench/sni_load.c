/*
 * sni_load: the client and the backend of bench/sni_bench.sh, the SNI
 * routing benchmark (sluice's `sni` listener against HAProxy's
 * req.ssl_sni, and directly).  Built by sni_bench.sh with slbench's
 * process accounting (slbench_proc.c); not part of the meson build.
 *
 *   sni_load server -p PORT [-P PORTFILE] [-T MAXSECS] [-K]
 *	The backend.  Reads one TLS record (the ClientHello), answers
 *	REPLY_LEN bytes, closes when the client does.  Neither proxy
 *	terminates TLS, so the backend need not speak it either: what the
 *	proxies parse is the client's real hello.
 *   sni_load run -t TARGET -H HELLO [-N NAMES] [-c CONC] [-T SECS]
 *	    [-n MAX] [-m PID] [-S PID] [-L LABEL]
 *	CONC connections in flight for SECS seconds (or MAX connections).
 *	Each: connect, send the hello for name sK.bench.test (K counts up
 *	modulo NAMES, so lookups spread over the whole table), read the
 *	reply, close.  Connections per second and latency percentiles;
 *	-m/-S add the CPU of a process tree (the proxy) and the backend.
 *   sni_load probe -t TARGET -H HELLO [-N NAMES] [-n COUNT] [-T SECS]
 *	Until the deadline, try COUNT [1] sequential connections; exit 0
 *	once all of one attempt succeed.
 *   sni_load mem -m PID [-L LABEL]
 *	Pss and Rss of PID and its descendants.
 *
 * HELLO is a file holding one ClientHello record with a server_name
 * extension (sni_bench.sh makes it with Python's ssl module); the name in
 * it is replaced by each sK.bench.test, lengths fixed up.  Only loopback
 * (127.0.0.0/8) targets are accepted.  Every loop is bounded in time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/prctl.h>
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

#include "slbench.h"	/* die(), now(), cpuwin, mem_snapshot */

#define REPLY_LEN	64		/* the backend's answer */
#define HELLO_MAX	(16384 + 5)	/* one record and its header */
#define NAME_FMT	"s%ld.bench.test"
#define RUN_TIMEOUT	10.0		/* per connection, seconds */

volatile sig_atomic_t	stop_flag;

struct sopts {
	const char	*target, *hello, *label, *portfile;
	long		 names, conc, max, port;
	double		 secs;
	int		 pdeath;
	pid_t		 master, server;
};

/* Every ClientHello, one per name. */
struct hellos {
	uint8_t	**msg;
	size_t	 *len;
	long	  n;
};

enum cst { S_FREE = 0, S_CONNECTING, S_READING };

struct conn {
	int		 fd;
	enum cst	 st;
	size_t		 got;
	long		 k;		/* name index */
	double		 t0;
};

struct run {
	int			 ep;
	struct sockaddr_in	 target;
	const struct hellos	*h;
	struct conn		*c;
	long			 conc, max, started, active, ok, fail;
	double			 t_end, timeout;
	double			*lat;		/* ms, one per ok */
	size_t			 cap;
	char			 why[160];	/* first failure */
};

/* ------------------------------------------------------------------ */
/* What slbench_proc.c takes from slbench.c */

void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "sni_load: ");
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

/* ------------------------------------------------------------------ */
/* Utilities */

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s: \"%s\" is not a number in %ld..%ld", what, s, lo, hi);
	return v;
}

/* "PORT" (127.0.0.1) or "127.x.y.z:PORT". */
static void
parse_target(const char *s, struct sockaddr_in *sin)
{
	char		 host[64] = "127.0.0.1";
	const char	*colon = strrchr(s, ':');

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (colon != NULL) {
		if ((size_t)(colon - s) >= sizeof(host))
			die("%s: bad address", s);
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		s = colon + 1;
	}
	sin->sin_port = htons((uint16_t)num(s, 1, 65535, "port"));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		die("%s: only loopback (127.0.0.0/8) IPv4 addresses", host);
}

static void
ep_ctl(int ep, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		die("epoll_ctl(%d): %s", fd, strerror(errno));
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sni_load server -p PORT [-P PORTFILE] [-T MAXSECS] [-K]\n"
	    "       sni_load run -t TARGET -H HELLO [-N NAMES] [-c CONC]"
	    " [-T SECS] [-n MAX]\n"
	    "                [-m PROXYPID] [-S SERVERPID] [-L LABEL]\n"
	    "       sni_load probe -t TARGET -H HELLO [-N NAMES] [-n COUNT]"
	    " [-T SECS]\n"
	    "       sni_load mem -m PID [-L LABEL]\n");
	exit(2);
}

static void
sni_opts(int argc, char **argv, struct sopts *o)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	o->names = 10000;
	o->conc = 50;
	o->max = -1;
	o->secs = -1;
	o->label = "-";
	optind = 1;
	while ((ch = getopt(argc, argv, "t:H:N:c:T:n:m:S:L:p:P:K")) != -1) {
		switch (ch) {
		case 't': o->target = optarg; break;
		case 'H': o->hello = optarg; break;
		case 'N': o->names = num(optarg, 1, 1000000, "-N"); break;
		case 'c': o->conc = num(optarg, 1, 5000, "-c"); break;
		case 'T': o->secs = (double)num(optarg, 1, 86400, "-T"); break;
		case 'n': o->max = num(optarg, 1, 100000000, "-n"); break;
		case 'm': o->master = (pid_t)num(optarg, 1, INT_MAX, "-m");
			break;
		case 'S': o->server = (pid_t)num(optarg, 1, INT_MAX, "-S");
			break;
		case 'L': o->label = optarg; break;
		case 'p': o->port = num(optarg, 0, 65535, "-p"); break;
		case 'P': o->portfile = optarg; break;
		case 'K': o->pdeath = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

/* ------------------------------------------------------------------ */
/* ClientHellos: the template's server_name replaced by each name */

static size_t
get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static void
add16(uint8_t *p, long d)
{
	size_t	v = (size_t)((long)get16(p) + d);

	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Where the server_name extension of the record h starts and ends, and
 * where the extensions' length is.  The template is ours, so anything
 * unexpected is fatal rather than handled.
 */
static void
sni_locate(const uint8_t *h, size_t len, size_t *ext, size_t *ext_end,
    size_t *exts_len)
{
	size_t	p, end;

	if (len < 5 + 4 + 2 + 32 + 1 || h[0] != 0x16 || h[5] != 1 ||
	    5 + get16(h + 3) != len)
		die("hello: not one TLS record holding a ClientHello");
	p = 5 + 4 + 2 + 32;
	p += 1 + h[p];				/* session id */
	if (p + 2 > len)
		die("hello: truncated");
	p += 2 + get16(h + p);			/* cipher suites */
	if (p + 1 > len)
		die("hello: truncated");
	p += 1 + h[p];				/* compression */
	if (p + 2 > len || p + 2 + get16(h + p) != len)
		die("hello: bad extensions length");
	*exts_len = p;
	for (p += 2, end = len; p + 4 <= end; p += 4 + get16(h + p + 2))
		if (get16(h + p) == 0) {	/* server_name */
			*ext = p;
			*ext_end = p + 4 + get16(h + p + 2);
			if (*ext_end > end)
				die("hello: bad server_name length");
			return;
		}
	die("hello: no server_name extension");
}

static void
hellos_make(struct hellos *hs, const char *path, long n)
{
	uint8_t		 t[HELLO_MAX], *m;
	char		 name[64];
	size_t		 tlen, ext, ext_end, el, nl;
	FILE		*f;
	long		 i, d, hl;

	if ((f = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	tlen = fread(t, 1, sizeof(t), f);
	fclose(f);
	sni_locate(t, tlen, &ext, &ext_end, &el);
	hs->n = n;
	hs->msg = calloc((size_t)n, sizeof(*hs->msg));
	hs->len = calloc((size_t)n, sizeof(*hs->len));
	if (hs->msg == NULL || hs->len == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		nl = (size_t)snprintf(name, sizeof(name), NAME_FMT, i);
		/* type, length, list length, name type, name length, name */
		d = (long)(9 + nl) - (long)(ext_end - ext);
		hs->len[i] = (size_t)((long)tlen + d);
		if (hs->len[i] > HELLO_MAX ||
		    (m = hs->msg[i] = malloc(hs->len[i])) == NULL)
			die("hello %ld: too long or out of memory", i);
		memcpy(m, t, ext);
		m[ext] = 0;
		m[ext + 1] = 0;
		m[ext + 2] = (uint8_t)((5 + nl) >> 8);
		m[ext + 3] = (uint8_t)(5 + nl);
		m[ext + 4] = (uint8_t)((3 + nl) >> 8);
		m[ext + 5] = (uint8_t)(3 + nl);
		m[ext + 6] = 0;			/* host_name */
		m[ext + 7] = (uint8_t)(nl >> 8);
		m[ext + 8] = (uint8_t)nl;
		memcpy(m + ext + 9, name, nl);
		memcpy(m + ext + 9 + nl, t + ext_end, tlen - ext_end);
		add16(m + 3, d);			/* record */
		hl = (long)m[6] << 16 | (long)m[7] << 8 | m[8];
		hl += d;				/* handshake */
		m[6] = (uint8_t)(hl >> 16);
		m[7] = (uint8_t)(hl >> 8);
		m[8] = (uint8_t)hl;
		add16(m + el, d);			/* extensions */
	}
}

/* ------------------------------------------------------------------ */
/* Client */

static void
conn_fail(struct run *r, struct conn *c, const char *what, int err)
{
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof(r->why), "%s%s%s", what,
		    err ? ": " : "", err ? strerror(err) : "");
	r->fail++;
	close(c->fd);
	c->st = S_FREE;
	r->active--;
}

/* Start a connection in the free slot c, if the run goes on. */
static void
conn_start(struct run *r, struct conn *c)
{
	int	one = 1;

	if (stop_flag || now() >= r->t_end ||
	    (r->max > 0 && r->started >= r->max))
		return;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t0 = now();
	c->got = 0;
	c->st = S_CONNECTING;
	c->k = r->started++ % r->h->n;	/* sK, in order */
	r->active++;
	if (connect(c->fd, (struct sockaddr *)&r->target,
	    sizeof(r->target)) == -1 && errno != EINPROGRESS) {
		conn_fail(r, c, "connect", errno);
		return;
	}
	ep_ctl(r->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
}

static void
conn_done(struct run *r, struct conn *c)
{
	double	*nl;

	if ((size_t)r->ok == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 65536;
		if ((nl = realloc(r->lat, r->cap * sizeof(*nl))) == NULL)
			die("out of memory");
		r->lat = nl;
	}
	r->lat[r->ok++] = (now() - c->t0) * 1e3;
	close(c->fd);
	c->st = S_FREE;
	r->active--;
	conn_start(r, c);
}

/* Connected: the whole hello at once (it fits any socket buffer). */
static void
conn_send(struct run *r, struct conn *c)
{
	const uint8_t	*m;
	size_t		 len;
	socklen_t	 sl = sizeof(int);
	int		 err = 0;
	ssize_t		 n;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
	if (err != 0) {
		conn_fail(r, c, "connect", err);
		return;
	}
	m = r->h->msg[c->k];
	len = r->h->len[c->k];
	n = send(c->fd, m, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len) {
		conn_fail(r, c, "send", n == -1 ? errno : 0);
		return;
	}
	c->st = S_READING;
	ep_ctl(r->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

static void
conn_read(struct run *r, struct conn *c)
{
	uint8_t	buf[512];
	ssize_t	n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		char	w[64];

		snprintf(w, sizeof(w), "reply: %s after %zu bytes",
		    n == 0 ? "EOF" : "error", c->got);
		conn_fail(r, c, w, n == 0 ? 0 : errno);
		return;
	}
	c->got += (size_t)n;
	if (c->got >= REPLY_LEN)
		conn_done(r, c);
}

static void
run_loop(struct run *r)
{
	struct epoll_event	 evs[256];
	struct conn		*c;
	double			 t, hard = r->t_end + r->timeout + 1;
	long			 i;
	int			 n, k;

	for (i = 0; i < r->conc; i++)
		conn_start(r, &r->c[i]);
	while (!stop_flag && (t = now()) < hard) {
		if (r->active == 0 && (t >= r->t_end ||
		    (r->max > 0 && r->started >= r->max)))
			break;
		n = epoll_wait(r->ep, evs, 256, 20);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			c = evs[k].data.ptr;
			if (c->st == S_CONNECTING)
				conn_send(r, c);
			else if (c->st == S_READING)
				conn_read(r, c);
		}
		t = now();
		for (i = 0; i < r->conc; i++) {
			c = &r->c[i];
			if (c->st != S_FREE && t - c->t0 > r->timeout)
				conn_fail(r, c, "timed out", 0);
			if (c->st == S_FREE)	/* after a failure */
				conn_start(r, c);
		}
	}
	for (i = 0; i < r->conc; i++)
		if (r->c[i].st != S_FREE)
			conn_fail(r, &r->c[i], "unfinished at the deadline", 0);
}

static void
run_init(struct run *r, const struct sopts *o, const struct hellos *h)
{
	memset(r, 0, sizeof(*r));
	parse_target(o->target, &r->target);
	r->h = h;
	r->conc = o->conc;
	r->max = o->max;
	r->timeout = RUN_TIMEOUT;
	if ((r->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((r->c = calloc((size_t)r->conc, sizeof(*r->c))) == NULL)
		die("out of memory");
}

static void
run_free(struct run *r)
{
	close(r->ep);
	free(r->c);
	free(r->lat);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank. */
static double
pct(const struct run *r, double p)
{
	size_t	i;

	if (r->ok == 0)
		return 0;
	i = (size_t)(p / 100 * (double)r->ok + 0.999999);
	return r->lat[i == 0 ? 0 : i - 1];
}

static void
run_report(struct run *r, const struct sopts *o, const struct cpuwin *w)
{
	double	cps = w->secs > 0 ? (double)r->ok / w->secs : 0;
	double	us = r->ok > 0 ? w->proxy_cpu * 1e6 / (double)r->ok : 0;

	qsort(r->lat, (size_t)r->ok, sizeof(*r->lat), cmp_double);
	printf("%s: %ld ok, %ld failed in %.2f s, %.0f conn/s; latency ms "
	    "p50 %.3f p90 %.3f p99 %.3f max %.2f\n", o->label, r->ok,
	    r->fail, w->secs, cps, pct(r, 50), pct(r, 90), pct(r, 99),
	    pct(r, 100));
	cpuwin_print(w);
	if (r->why[0] != '\0')
		printf("  first failure: %s\n", r->why);
	printf("RESULT test=sni label=%s conc=%ld names=%ld ok=%ld fail=%ld "
	    "cps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	    "proxy_us_per_conn=%.1f", o->label, o->conc, o->names, r->ok,
	    r->fail, cps, pct(r, 50), pct(r, 90), pct(r, 99), pct(r, 100),
	    us);
	cpuwin_result(w);
	printf("\n");
}

static int
sni_run(int argc, char **argv)
{
	struct sopts	o;
	struct hellos	h;
	struct run	r;
	struct cpuwin	w;

	sni_opts(argc, argv, &o);
	if (o.target == NULL || o.hello == NULL)
		usage();
	if (o.secs < 0)
		o.secs = o.max > 0 ? 600 : 10;
	hellos_make(&h, o.hello, o.names);
	run_init(&r, &o, &h);
	cpuwin_start(&w, o.master, o.server);
	r.t_end = now() + o.secs;
	run_loop(&r);
	cpuwin_end(&w);
	run_report(&r, &o, &w);
	run_free(&r);
	return r.ok > 0 ? 0 : 1;
}

static int
sni_probe(int argc, char **argv)
{
	struct sopts	o;
	struct hellos	h;
	struct run	r;
	double		deadline;

	sni_opts(argc, argv, &o);
	if (o.target == NULL || o.hello == NULL)
		usage();
	deadline = now() + (o.secs < 0 ? 10 : o.secs);
	o.conc = 1;
	if (o.max < 0)
		o.max = 1;
	hellos_make(&h, o.hello, o.names);
	while (!stop_flag && now() < deadline) {
		run_init(&r, &o, &h);
		r.timeout = 2;
		r.t_end = deadline;
		run_loop(&r);
		run_free(&r);
		if (r.ok == o.max)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "sni_load probe %s: %s\n", o.target,
	    r.why[0] ? r.why : "no answer");
	return 1;
}

/* ------------------------------------------------------------------ */
/* Backend */

struct sconn {
	int	fd;
	uint8_t	hdr[5];
	size_t	got, need;
	int	replied;
};

static int
listen_on(long port, const char *portfile)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	FILE			*f;
	int			fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1)
		die("listen on port %ld: %s", port, strerror(errno));
	printf("sni_load server on 127.0.0.1:%d\n", ntohs(sin.sin_port));
	if (portfile != NULL) {
		if ((f = fopen(portfile, "w")) == NULL)
			die("%s: %s", portfile, strerror(errno));
		fprintf(f, "%d\n", ntohs(sin.sin_port));
		fclose(f);
	}
	return fd;
}

static void
srv_accept(int ep, int lfd)
{
	struct sconn	*sc;
	int		 fd, i, one = 1;

	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;		/* EAGAIN, or EMFILE: retried */
		if ((sc = calloc(1, sizeof(*sc))) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		sc->fd = fd;
		ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, sc);
	}
}

/* One record in, the reply out; then wait for the client's EOF. */
static void
srv_read(struct sconn *sc)
{
	static const uint8_t	reply[REPLY_LEN] = "sni_load backend reply";
	uint8_t			buf[HELLO_MAX];
	ssize_t			n;
	size_t			i;

	n = recv(sc->fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto out;
	for (i = 0; sc->got + i < 5 && i < (size_t)n; i++)
		sc->hdr[sc->got + i] = buf[i];
	sc->got += (size_t)n;
	if (sc->need == 0 && sc->got >= 5)
		sc->need = 5 + get16(sc->hdr + 3);
	if (sc->need == 0 || sc->got < sc->need || sc->replied)
		return;
	sc->replied = 1;
	if (send(sc->fd, reply, sizeof(reply), MSG_NOSIGNAL) ==
	    (ssize_t)sizeof(reply))
		return;
out:
	close(sc->fd);		/* also takes it out of the epoll set */
	free(sc);
}

static int
sni_server(int argc, char **argv)
{
	struct sopts		o;
	struct epoll_event	evs[256];
	double			deadline;
	pid_t			parent = getppid();
	int			ep, lfd, n, k;

	sni_opts(argc, argv, &o);
	if (o.pdeath)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	deadline = now() + (o.secs < 0 ? 3600 : o.secs);
	lfd = listen_on(o.port, o.portfile);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ep_ctl(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, NULL);
	while (!stop_flag && now() < deadline &&
	    (!o.pdeath || getppid() == parent)) {
		n = epoll_wait(ep, evs, 256, 500);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++)
			if (evs[k].data.ptr == NULL)
				srv_accept(ep, lfd);
			else
				srv_read(evs[k].data.ptr);
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static int
sni_mem(int argc, char **argv)
{
	struct sopts	o;
	struct memsnap	m;

	sni_opts(argc, argv, &o);
	if (o.master <= 0)
		usage();
	mem_snapshot(o.master, &m, o.label, 1);
	printf("RESULT test=mem label=%s procs=%d pss_kib=%ld rss_kib=%ld\n",
	    o.label, m.nprocs, m.pss, m.rss);
	return m.nprocs > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sigaction	sa;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (strcmp(argv[1], "server") == 0)
		return sni_server(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return sni_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "probe") == 0)
		return sni_probe(argc - 1, argv + 1);
	if (strcmp(argv[1], "mem") == 0)
		return sni_mem(argc - 1, argv + 1);
	usage();
}
