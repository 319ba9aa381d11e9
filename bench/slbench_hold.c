/*
 * slbench: memory per idle session (hold) and of the daemon (mem).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slbench.h"

/* ------------------------------------------------------------------ */
/* hold: memory per idle session */

int
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
				cc_first_err(&cs[next], first_err,
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
					cc_first_err(c, first_err,
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
				cc_first_err(c, first_err, sizeof(first_err));
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

int
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
