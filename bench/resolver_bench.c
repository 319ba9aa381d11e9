/*
 * resolver_bench: lookups per second through the resolver, cold cache
 * and warm cache, against a local DNS server.
 *
 *   resolver_bench [-n names] [-w window] [-W workers]
 *
 * What is measured: the resolver's own code, unconfined but otherwise
 * as sluiced runs it -- the IPC channel a worker uses (SEQPACKET
 * socketpair, msgpack frames, ipc/chan.c), RES_QUERY handling, the
 * cache, in-flight merging, the hijack gate and c-ares on a libev loop
 * (resolver/resolver.c, hijack.c, cache.c).  This program is the
 * "worker": it keeps `window` queries in flight and sends the next as
 * each answer comes in.  Not measured: the SOCKS5 side, the sandbox
 * (seccomp adds a few hundred ns per syscall), the master.  Driving
 * sluiced with SOCKS5 CONNECTs would mostly measure the TCP handshakes
 * of the client, not the resolver.
 *
 * The DNS server is a forked child of this program on 127.0.0.1 (UDP):
 * every name has one A record (127.0.0.1, TTL 3600) and no AAAA
 * (NOERROR, no data); *.invalid is NXDOMAIN.  So a cold lookup costs
 * two UDP round trips (A and AAAA) to a server that answers in a few
 * microseconds: it measures the resolver, not a real recursive server.
 *
 * Output: one RESULT line per phase (cold: distinct names never seen;
 * warm: the same names again, from the cache), with p50/p99 latency.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "ipc/chan.h"
#include "policy/config.h"
#include "resolver/engine.h"

static struct {
	struct ev_loop	*loop;
	struct ipc_chan	*chan;
	const char	*phase;
	uint32_t	 n, window, sent, done, ok;
	double		*t_sent, *lat;
} b;

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the DNS server (child process) ---- */

static size_t
dns_answer(const unsigned char *q, size_t n, unsigned char *r)
{
	static const unsigned char rr[] = {
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 127, 0, 0, 1,
	};
	size_t	i = 12, qend;
	int	qtype, nx;

	while (i < n && q[i] != 0) {
		if (q[i] & 0xc0)
			return 0;
		i += 1 + q[i];
	}
	if (i + 5 > n)
		return 0;
	qend = i + 5;
	qtype = q[i + 1] << 8 | q[i + 2];
	nx = i >= 8 && memcmp(q + i - 8, "\x07invalid", 8) == 0;
	memcpy(r, q, qend);
	r[2] = 0x80 | (q[2] & 0x01);
	r[3] = 0x80 | (nx ? 3 : 0);
	memset(r + 4, 0, 8);
	r[5] = 1;
	if (nx || qtype != 1)
		return qend;
	r[7] = 1;
	memcpy(r + qend, rr, sizeof(rr));
	return qend + sizeof(rr);
}

static void
dns_serve(int fd)
{
	unsigned char		q[512], r[512 + 16];
	struct sockaddr_storage	from;
	socklen_t		fl;
	ssize_t			n;
	size_t			rl;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), 0, (void *)&from, &fl);
		if (n < 12)
			continue;
		if ((rl = dns_answer(q, (size_t)n, r)) > 0)
			(void)sendto(fd, r, rl, 0, (void *)&from, fl);
	}
}

static pid_t
dns_start(uint16_t *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	pid_t			pid;
	int			fd, sz = 4 << 20;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		fatal("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (void *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (void *)&sin, &len) == -1)
		fatal("bind");
	*port = ntohs(sin.sin_port);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		(void)signal(SIGTERM, SIG_DFL);
		dns_serve(fd);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* ---- the "worker" ---- */

static void
send_one(void)
{
	struct sl_msg	m;
	uint32_t	i = b.sent;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_RES_QUERY;
	m.fd = -1;
	m.id = i + 1;
	snprintf(m.u.res_query.name, sizeof(m.u.res_query.name),
	    "n%u.bench.test", i);
	b.t_sent[i] = now_s();
	if (ipc_chan_send(b.chan, &m) == -1)
		fatalx("IPC queue full: lower -w");
	b.sent++;
}

static void
on_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	uint32_t i = m->id - 1;

	(void)c;
	(void)arg;
	if (m->type != SL_MSG_RES_ANSWER || m->id == 0 || i >= b.sent)
		fatalx("unexpected message %u id %u", m->type, m->id);
	b.lat[b.done++] = now_s() - b.t_sent[i];
	if (m->u.res_answer.status == SL_RES_OK)
		b.ok++;
	if (b.sent < b.n)
		send_one();
	else if (b.done == b.n)
		ev_break(b.loop, EVBREAK_ALL);
}

static void
on_close(struct ipc_chan *c, const char *why, void *arg)
{
	(void)c;
	(void)arg;
	fatalx("resolver channel closed: %s", why ? why : "EOF");
}

static int
cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return a < c ? -1 : a > c;
}

static void
phase(const char *name, uint32_t n)
{
	double	t0, secs;

	b.phase = name;
	b.n = n;
	b.sent = b.done = b.ok = 0;
	t0 = now_s();
	while (b.sent < b.window && b.sent < b.n)
		send_one();
	ev_run(b.loop, 0);
	secs = now_s() - t0;
	qsort(b.lat, n, sizeof(*b.lat), cmp_d);
	printf("RESULT resolver %s names=%u window=%u ok=%u secs=%.3f "
	    "lookups_per_s=%.0f p50_ms=%.3f p99_ms=%.3f\n", name, n,
	    b.window, b.ok, secs, n / secs, b.lat[n / 2] * 1e3,
	    b.lat[(size_t)(n * 0.99)] * 1e3);
	fflush(stdout);
	if (b.ok != n)
		fatalx("%s: %u of %u lookups failed", name, n - b.ok, n);
}

static struct sl_conf *
bench_conf(uint16_t port, uint32_t n)
{
	struct sl_conf	*conf;
	char		 json[512], err[256];

	snprintf(json, sizeof(json), "{\"nameservers\": [\"127.0.0.1:%u\"], "
	    "\"resolve_timeout\": 5, \"dns_cache_size\": %u, "
	    "\"log_level\": \"warn\"}", port, n + 16);
	if (conf_parse(json, strlen(json), &conf, err, sizeof(err)) == -1)
		fatalx("config: %s", err);
	return conf;
}

int
main(int argc, char *argv[])
{
	struct rs_engine_stats	st;
	struct sl_conf		*conf;
	uint32_t		 n = 20000;
	uint16_t		 port;
	pid_t			 dns;
	int			 ch, sv[2], status;

	b.window = 1000;
	while ((ch = getopt(argc, argv, "n:w:")) != -1) {
		switch (ch) {
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': b.window = (uint32_t)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [-n names] [-w window]\n",
			    argv[0]);
			return 2;
		}
	}
	if (n == 0 || b.window == 0 || b.window > 3000)
		fatalx("need 0 < names and 0 < window <= 3000");
	log_init("resolver_bench", SL_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	dns = dns_start(&port);
	conf = bench_conf(port, n);
	if ((b.t_sent = calloc(n, sizeof(double))) == NULL ||
	    (b.lat = calloc(n, sizeof(double))) == NULL)
		fatal("calloc");
	if ((b.loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("ev_loop_new");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	resolver_engine_init(b.loop, conf, 1);
	resolver_engine_peer(0, sv[0]);
	b.chan = ipc_chan_new(b.loop, sv[1], SL_PROC_RESOLVER, 0, on_msg,
	    on_close, NULL);
	if (b.chan == NULL)
		fatal("ipc_chan_new");
	resolver_engine_run();
	phase("cold", n);
	phase("warm", n);
	resolver_engine_stats(&st);
	printf("STATS queries=%llu lookups=%llu cache_hits=%llu merged=%llu "
	    "evictions=%llu\n", (unsigned long long)st.queries,
	    (unsigned long long)st.lookups,
	    (unsigned long long)st.cache->hits,
	    (unsigned long long)st.cache->merged,
	    (unsigned long long)st.cache->evictions);
	kill(dns, SIGTERM);
	waitpid(dns, &status, 0);
	return 0;
}
