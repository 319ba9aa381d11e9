/*
 * slbench: the load clients, tput (parallel bulk streams) and cps
 * (connection rate and latency).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slbench.h"

/* ------------------------------------------------------------------ */
/* tput: N parallel bulk streams */

int
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

int
cmd_cps(int argc, char **argv)
{
	struct opts		 o;
	struct client		 cl;
	struct cconn		*cs;
	struct epoll_event	 evs[MAX_EVENTS];
	struct cpuwin		 w;
	double			*lat, *hs, deadline, last_scan = 0, t;
	long			 i, started = 0, ok = 0, fail = 0, active = 0;
	char			 req[REQ_MAX], first_err[160] = "";
	size_t			 reqlen;
	int			 n, k;

	parse_opts(argc, argv, &o);
	client_init(&cl, o.proxy, o.target);
	reqlen = o.reqsize > 0 ? (size_t)o.reqsize : REQ_SIZE;
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
	memset(req, 'q', reqlen);
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
			cc_first_err(&cs[i], first_err, sizeof(first_err));
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
					cc_first_err(c, first_err,
					    sizeof(first_err));
				}
				if (c->fd == -1 && started < o.n) {
					started++;
					if (cc_start(&cl, c) == 0)
						active++;
					else {
						fail++;
						cc_first_err(c, first_err,
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
					cc_first_err(c, first_err,
					    sizeof(first_err));
					continue;
				}
				if (cc_send_small(&cl, c, req, reqlen) == -1) {
					active--;
					fail++;
					continue;
				}
				c->st = C_WAITRESP;
				c->have = 0;
				c->need = reqlen;
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
				cc_first_err(c, first_err, sizeof(first_err));
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
					cc_first_err(c, first_err,
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
	    "max_ms=%.3f hs_p50_ms=%.3f hs_p99_ms=%.3f req_bytes=%zu", o.label,
	    o.proxy != NULL ? "proxy" : "direct", o.conc, ok, fail, w.secs,
	    (double)ok / w.secs, pct(lat, ok, 50), pct(lat, ok, 90),
	    pct(lat, ok, 99), ok > 0 ? lat[ok - 1] : 0.0, pct(hs, ok, 50),
	    pct(hs, ok, 99), reqlen);
	cpuwin_result(&w);
	printf(" proxy_cpu_us_per_conn=%.1f\n", ok > 0 ?
	    w.proxy_cpu * 1e6 / (double)ok : 0.0);
	free(cs);
	free(lat);
	free(hs);
	return fail > 0 ? 1 : 0;
}
