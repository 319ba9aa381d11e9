/*
 * The worker process: receives its configuration and sockets from the
 * master, confines itself, then accepts SOCKS5 clients and relays them.
 *
 * Start-up order matters: everything that needs a file, a privilege or a
 * syscall outside the allowlist (mapping the shared region, creating the
 * event loop and its watchers) happens before privdrop() and the filter.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/util.h"
#include "../ipc/boot.h"
#include "../ipc/child.h"
#include "../ipc/codec.h"
#include "../policy/counters.h"
#include "egress/egress.h"
#include "egress/health.h"
#include "egress/resolve.h"
#include "egress/sockreq.h"
#include "front/front.h"
#include "relay/taps.h"
#include "service.h"
#include "relay/pool.h"
#include "worker.h"
#include "../common/sandbox.h"

#define DRAIN_ACCEPT_ROUNDS	64	/* x ACCEPT_BURST clients at most */
#define DRAIN_MARGIN_MS		500	/* cut this much before the kill */
/* Frames queued to the master past which pcap packets are dropped
   (about 256 KiB of packets): a capture never grows the worker. */
#define PCAP_MAX_QUEUED		32
#define PCAP_DROP_LOG_S		10	/* a drop line at most this often */

struct worker *wk;

static void
worker_exit(int status)
{
	if (wk->master != NULL)
		ipc_chan_flush(wk->master, 1000);
	service_table_free();
	_exit(status);
}

/*
 * The registry's service table, in a sealed memfd the master checked.
 * pread, never read: the fd's offset is shared with the master and
 * every other worker holding the same file.
 */
static void
worker_svc_table(const struct sl_msg *m)
{
	size_t	 off = 0, len = (size_t)m->u.svc_table.size;
	ssize_t	 n;
	char	*buf;

	if ((buf = malloc(len + 1)) == NULL) {
		log_warnx("service table: out of memory for %zu bytes", len);
		return;
	}
	while (off < len) {
		n = pread(m->fd, buf + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warnx("service table: short read (%zu of %zu)",
			    off, len);
			free(buf);
			return;
		}
		off += (size_t)n;
	}
	buf[len] = '\0';
	service_table_update(buf, len, m->u.svc_table.generation);
	free(buf);
}

/*
 * A pcap tap's packet to the master, which appends it to the tap's file
 * (master/pcap.c).  Dropped when the master lags; drops are counted and
 * logged at most every PCAP_DROP_LOG_S seconds.
 */
static int
worker_pcap_send(uint32_t file, const struct timespec *ts, const void *pkt,
    size_t len)
{
	static struct sl_msg	m;	/* 8 KiB: not on the stack */
	static uint64_t		dropped, last_log;
	uint64_t		now;

	if (wk->master == NULL || len == 0 || len > sizeof(m.u.pcap_rec.pkt))
		return -1;
	if (ipc_chan_queued(wk->master) < PCAP_MAX_QUEUED) {
		m.type = SL_MSG_PCAP_REC;
		m.id = 0;
		m.fd = -1;
		m.u.pcap_rec.file = file;
		m.u.pcap_rec.ts_sec = (uint32_t)ts->tv_sec;
		m.u.pcap_rec.ts_usec = (uint32_t)(ts->tv_nsec / 1000);
		m.u.pcap_rec.len = (uint32_t)len;
		memcpy(m.u.pcap_rec.pkt, pkt, len);
		if (ipc_chan_send(wk->master, &m) == 0)
			return 0;
	}
	dropped++;
	now = mono_ms();
	if (last_log == 0 || now - last_log >= PCAP_DROP_LOG_S * 1000) {
		log_warnx("pcap: master lags, %llu packets dropped so far",
		    (unsigned long long)dropped);
		last_log = now;
	}
	return -1;
}

static void
worker_listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wk_listener *l = container_of(w, struct wk_listener, io);

	(void)loop;
	(void)revents;
	session_accept(l->fd, l->conf);
}

static void
worker_accept_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	size_t	i;

	(void)w;
	(void)revents;
	if (wk->draining)
		return;
	for (i = 0; i < wk->nlisteners; i++)
		ev_io_start(loop, &wk->listeners[i].io);
}

/* Out of fds: stop accepting for a second rather than spin on EMFILE. */
void
worker_accept_pause(void)
{
	size_t	i;

	for (i = 0; i < wk->nlisteners; i++)
		ev_io_stop(wk->loop, &wk->listeners[i].io);
	ev_timer_stop(wk->loop, &wk->accept_retry);
	ev_timer_set(&wk->accept_retry, 1., 0.);
	ev_timer_start(wk->loop, &wk->accept_retry);
}

void
worker_session_gone(void)
{
	if (wk->draining && wk->nsessions == 0) {
		log_debug("drained");
		worker_exit(0);
	}
}

/*
 * shutdown_timeout after its signal the master kills the workers: cut
 * what is left a little before, so that every session gets its log line
 * ("shutdown") and the resolver is still there to be stopped last.
 */
static void
worker_drain_cut(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session	*s;

	(void)loop;
	(void)w;
	(void)revents;
	log_warnx("shutdown_timeout (%u s) reached, cutting %llu sessions",
	    wk->conf->shutdown_timeout_s, (unsigned long long)wk->nsessions);
	/* The last close exits (worker_session_gone). */
	while ((s = TAILQ_FIRST(&wk->sessions)) != NULL) {
		session_detail(s, "shutdown_timeout (%u s) reached",
		    wk->conf->shutdown_timeout_s);
		session_close(s, "shutdown");
	}
	worker_exit(0);
}

static void
worker_drain_timer(void)
{
	uint64_t	t = (uint64_t)wk->conf->shutdown_timeout_s * 1000;
	uint64_t	margin = t / 10;

	if (margin > DRAIN_MARGIN_MS)
		margin = DRAIN_MARGIN_MS;
	ev_timer_init(&wk->drain_deadline, worker_drain_cut,
	    (double)(t - margin) / 1000.0, 0.);
	ev_timer_start(wk->loop, &wk->drain_deadline);
}

static void
worker_drain(void)
{
	size_t	i;
	int	n;

	if (wk->draining)
		return;
	wk->draining = 1;
	worker_drain_timer();
	ev_timer_stop(wk->loop, &wk->accept_retry);
	for (i = 0; i < wk->nlisteners; i++) {
		ev_io_stop(wk->loop, &wk->listeners[i].io);
		/* UDP has no connection to finish: its flows end now. */
		if (wk->listeners[i].udp != NULL) {
			udp_forward_stop(&wk->listeners[i]);
			close(wk->listeners[i].fd);
			continue;
		}
		/*
		 * Clients already queued on this socket would be reset by
		 * the close: take them in (bounded) and serve them.
		 */
		for (n = 0; n < DRAIN_ACCEPT_ROUNDS &&
		    session_accept(wk->listeners[i].fd,
		    wk->listeners[i].conf) > 0; n++)
			;
		close(wk->listeners[i].fd);
	}
	wk->nlisteners = 0;
	log_debug("draining %llu sessions",
	    (unsigned long long)wk->nsessions);
	worker_session_gone();
}

static void	worker_resolver_closed(struct ipc_chan *, const char *, void *);
static int	worker_has_lua(const struct sl_conf *);

static void
worker_set_resolver(int fd)
{
	struct ipc_chan *c;

	if ((c = resolve_channel()) != NULL) {
		resolve_set_channel(NULL);
		ipc_chan_free(c);
		resolve_fail_all();
	}
	c = ipc_chan_new(wk->loop, fd, SL_PROC_RESOLVER, 0, resolve_dispatch,
	    worker_resolver_closed, NULL);
	if (c == NULL)
		fatal("%s: ipc_chan_new", __func__);
	resolve_set_channel(c);
}

/* The resolver died or misbehaved: fail lookups; the master sends a new one. */
static void
worker_resolver_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	if (why != NULL)
		log_warnx("resolver channel: %s", why);
	resolve_set_channel(NULL);
	ipc_chan_free(c);
	resolve_fail_all();
}

static void
worker_master_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	switch (m->type) {
	case SL_MSG_LOG_LEVEL:
		log_set_level((int)m->u.log_level.level);
		break;
	case SL_MSG_DRAIN:
		worker_drain();
		break;
	case SL_MSG_CFG_PEER:
		if (m->u.cfg_peer.role == SL_PROC_TUNNEL)
			worker_set_tunnel(m->fd);
		else if (m->u.cfg_peer.role == SL_PROC_RESOLVER)
			worker_set_resolver(m->fd);
		else
			break;
		m->fd = -1;
		break;
	case SL_MSG_SOCK_FD:
	case SL_MSG_SOCK_FAIL:
		sockreq_dispatch(m);
		break;
	case SL_MSG_SVC_TABLE:
		worker_svc_table(m);
		break;
	case SL_MSG_CTL_QUERY:
		ctl_query(m);
		break;
	case SL_MSG_CTL_ALLOW:
		ctl_allow(m);
		break;
	default:
		log_warnx("%s: unexpected %s", __func__, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

/* Without the master there is nobody to log to or to obey: leave. */
static void
worker_master_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)c;
	(void)arg;
	if (why != NULL)
		log_warnx("master channel: %s", why);
	wk->master = NULL;
	egress_master_gone();
	_exit(0);
}

/* Every part of the shared region, checked against the config. */
static void
worker_shm(struct child_boot *b)
{
	static struct sl_shm	view;
	const struct boot_shm	*p;
	size_t			i;
	int			mine;

	shm_view_init(&view, wk->nworkers, (uint32_t)wk->conf->nlinks,
	    (int)wk->index);
	for (i = 0; i < b->nshm; i++) {
		p = &b->shm[i];
		if (shm_attach(&view, p->part, p->slot, p->base,
		    p->size) == -1)
			fatalx("shared region part %u does not match config",
			    p->part);
		/* Ours to write, or not ours to write: nothing else. */
		mine = p->part == SL_SHM_SHARED || (p->part == SL_SHM_WORKER &&
		    p->slot == wk->index);
		if (mine != p->writable)
			fatalx("shared region part %u/%u mapped %s", p->part,
			    p->slot, p->writable ? "writable" : "read-only");
	}
	if (shm_view_complete(&view) == -1)
		fatalx("a part of the shared region is missing");
	b->nshm = 0;
	wk->shm = &view;
}

static void
worker_setup(struct child_boot *b)
{
	char	err[256];
	size_t	i;

	/* Its copy has the agents' secrets redacted (tunnel.c has them). */
	conf_parse_redacted = 1;
	if (conf_parse(b->conf_text, b->conf_len, &wk->conf, err,
	    sizeof(err)) == -1)
		fatalx("config from master: %s", err);
	child_boot_free_conf(b);
	(void)malloc_trim(0);	/* the JSON tree of a big service table */
	log_set_level(wk->conf->log_level);
	worker_shm(b);
	if ((wk->loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("%s: ev_loop_new", __func__);
	wk->master = ipc_chan_new(wk->loop, SL_CHILD_CHAN_FD, SL_PROC_MASTER,
	    1, worker_master_msg, worker_master_closed, NULL);
	if (wk->master == NULL)
		fatal("%s: master channel", __func__);
	relay_pool_init((int)wk->nworkers);
	egress_init(&(struct egress_env){ .loop = wk->loop, .conf = wk->conf,
	    .shm = wk->shm, .nworkers = wk->nworkers, .index = wk->index,
	    .master = wk->master });
	resolve_init(wk->loop, wk->conf->resolve_timeout_ms);
	for (i = 0; i < b->npeers; i++) {
		if (b->peers[i].role == SL_PROC_TUNNEL)
			worker_set_tunnel(b->peers[i].fd);
		else if (b->peers[i].role == SL_PROC_RESOLVER)
			worker_set_resolver(b->peers[i].fd);
		else
			close(b->peers[i].fd);
	}
	b->npeers = 0;
	for (i = 0; i < b->nlisteners; i++) {
		struct wk_listener *l = &wk->listeners[i];

		l->fd = b->listeners[i].fd;
		l->index = b->listeners[i].index;
		if (l->index >= wk->conf->nlisteners)
			fatalx("%s: listener %u not in the config", __func__,
			    l->index);
		l->conf = &wk->conf->listeners[l->index];
		ev_io_init(&l->io, worker_listen_cb, l->fd, EV_READ);
		if (SL_LISTENER_UDP(l->conf) && udp_forward_start(l) == -1)
			fatalx("%s: udp_forward: out of memory", __func__);
		ev_io_start(wk->loop, &l->io);
	}
	wk->nlisteners = b->nlisteners;
	/* Lua taps are read and compiled now, before chroot and seccomp. */
	if (taps_load(wk->conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	taps_set_pcap_sink(worker_pcap_send);
	ev_timer_init(&wk->accept_retry, worker_accept_resume, 1., 0.);
	/*
	 * Relay buffers are mapped, not carved from the heap: freed, they
	 * go back to the kernel instead of pinning a fragmented heap.  Not
	 * with Lua taps: each call makes a Lua string of a whole read (just
	 * over 64 KiB) and frees it, and an mmap/munmap pair per call cost
	 * 10-20 times the tap itself (bench/forward_bench.sh, fwdlua).
	 */
	(void)mallopt(M_MMAP_THRESHOLD, worker_has_lua(wk->conf) ?
	    8 * RELAY_BUFSZ : RELAY_BUFSZ);
	srandom((unsigned)getpid() ^ (unsigned)mono_ms());
}

static int
worker_needs_bind(const struct sl_conf *conf)
{
	size_t	i;

	for (i = 0; i < conf->nlinks; i++)
		if (conf->links[i].sourcelen != 0)
			return 1;
	return 0;
}

static int
worker_lua_chain(struct sl_tap *t, size_t n, const char *path, void *arg)
{
	size_t	i;

	(void)path;
	(void)arg;
	for (i = 0; i < n; i++)
		if (t[i].type == SL_TAP_LUA)
			return 1;
	return 0;
}

/* Some tap chain runs a Lua script. */
static int
worker_has_lua(const struct sl_conf *conf)
{
	return conf_each_taps(conf, worker_lua_chain, NULL) == 1;
}

/* Whether a listener of this kind is in the config. */
static int
worker_has_kind(const struct sl_conf *conf, enum sl_listen_kind kind)
{
	size_t	i;

	for (i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].kind == kind)
			return 1;
	return 0;
}

/* SOCKS5 listeners may BIND and UDP ASSOCIATE: sockets of their own. */
static int
worker_serves_socks(const struct sl_conf *conf)
{
	size_t	i;

	for (i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].kind == SL_LISTEN_SOCKS5 ||
		    conf->listeners[i].kind == SL_LISTEN_MIXED)
			return 1;
	return 0;
}

/*
 * Entry point of "sluiced -P worker -I n -N nworkers -u uid -g gid".
 */
void
worker_main(int argc, char *argv[])
{
	static const struct child_desc d = {
		.role = "worker", .indexed = 1, .title = "sluice-worker",
		.sandbox = sandbox_worker,
	};
	static struct worker	w;
	struct child_start	cs;

	wk = &w;
	TAILQ_INIT(&wk->sessions);
	child_begin(&cs, &d, argc, argv);
	wk->index = cs.index;
	wk->nworkers = cs.nworkers;
	worker_setup(&cs.boot);
	cs.sb.splice = wk->conf->splice;
	cs.sb.bind = worker_needs_bind(wk->conf);
	cs.sb.socks = worker_serves_socks(wk->conf);
	cs.sb.redirect = worker_has_kind(wk->conf, SL_LISTEN_REDIRECT);
	child_confine(&cs, wk->conf->chroot, wk->master);

	health_checks_start();
	log_debug("ready, %zu listeners", wk->nlisteners);
	ev_run(wk->loop, 0);
	worker_exit(0);
}
