/*
 * The tunnel process ("sluiced -P tunnel -I 0 -N nworkers -u -g"): one per
 * pool whose config has a tunnel listener (server.c) or an "agent"
 * (agent.c).  It holds the agents' secrets, which no worker gets (the
 * workers' config has them redacted), runs TLS and the stream
 * multiplexer of every tunnel connection (conn.c), and joins each stream
 * to a worker through a socketpair: the worker sees a stream as an
 * ordinary connected socket, to relay, count, log and kill as any other.
 *
 * It starts like every confined child (ipc/child.c) and then makes no
 * socket of its own: the tunnel listeners come bound from the master,
 * and an agent's connection to its server is dialed by a worker, over
 * the config's links (TUN_DIAL), so the sandbox has no socket() and no
 * connect().  Its channels: the master (logs, DRAIN), and one per worker
 * of its pool and generation (TUN_* messages, ipc_msg.h).
 *
 * A reload starts a new tunnel process beside the old one.  The old one
 * drains: it sends GOAWAY on every connection (an agent reconnects at
 * once, to the new process, and its old connection carries its open
 * streams to their end) and exits when no connection is left.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sandbox.h"
#include "../common/target.h"
#include "../common/util.h"
#include "../ipc/child.h"
#include "../ipc/codec.h"
#include "frame.h"
#include "tn_sandbox.h"
#include "tunnel.h"
#include "tunnel_priv.h"

struct tn tn;

uint32_t
tn_new_id(void)
{
	uint32_t	id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			fatal("%s: getrandom", __func__);
	return id;
}

uint32_t
tn_conn_code(uint32_t mux_code)
{
	switch (mux_code) {
	case MUX_C_POLICY:
		return SL_CONN_NOT_ALLOWED;
	case MUX_C_REFUSED:
		return SL_CONN_REFUSED;
	case MUX_C_UNREACH:
		return SL_CONN_HOST_UNREACH;
	case MUX_C_TIMEOUT:
		return SL_CONN_TIMEOUT;
	case MUX_C_TARGET:
		return SL_CONN_ADDR_UNSUPP;
	case MUX_C_STREAMS:
	case MUX_C_OTHER:
		return SL_CONN_FAIL;
	default:		/* the tunnel broke while opening */
		return SL_CONN_FAIL | SL_TUN_LINK_FAULT;
	}
}

uint32_t
tn_mux_code(uint32_t conn_err)
{
	switch (conn_err) {
	case SL_CONN_OK:
		return MUX_C_OK;
	case SL_CONN_NOT_ALLOWED:
		return MUX_C_POLICY;
	case SL_CONN_REFUSED:
		return MUX_C_REFUSED;
	case SL_CONN_NET_UNREACH:
	case SL_CONN_HOST_UNREACH:
		return MUX_C_UNREACH;
	case SL_CONN_TIMEOUT:
		return MUX_C_TIMEOUT;
	case SL_CONN_ADDR_UNSUPP:
		return MUX_C_TARGET;
	default:
		return MUX_C_OTHER;
	}
}

int
tn_send(uint32_t w, uint16_t type, uint32_t id, int fd, uint32_t code,
    const char *agent, const char *target, const char *peer)
{
	struct sl_msg	m;

	if (w >= SL_MAX_WORKERS || tn.workers[w].chan == NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.id = id;
	m.fd = fd;
	m.u.tun.code = code;
	snprintf(m.u.tun.agent, sizeof(m.u.tun.agent), "%s",
	    agent != NULL ? agent : "");
	snprintf(m.u.tun.target, sizeof(m.u.tun.target), "%s",
	    target != NULL ? target : "");
	snprintf(m.u.tun.peer, sizeof(m.u.tun.peer), "%s",
	    peer != NULL ? peer : "");
	if (ipc_chan_send(tn.workers[w].chan, &m) == -1) {
		log_warnx("worker %u: cannot send %s", w, ipc_msg_name(type));
		return -1;
	}
	return 0;
}

/* Round robin over the workers that have a channel. */
int
tn_pick_worker(void)
{
	uint32_t	i, w;

	for (i = 0; i < tn.nworkers; i++) {
		w = (tn.rr + i) % tn.nworkers;
		if (tn.workers[w].chan != NULL) {
			tn.rr = w + 1;
			return (int)w;
		}
	}
	return -1;
}

void
tn_mux_params(struct mux_params *p, uint32_t max_streams,
    uint32_t keepalive_ms, uint32_t dead_ms)
{
	mux_params_default(p);
	/*
	 * Frames as large as the format allows: a 64 KiB read from a
	 * stream goes out as one frame and arrives as one write(2) to the
	 * other side's stream, a quarter of the calls of 16 KiB frames.
	 */
	p->max_frame = MUX_FRAME_MAX;
	if (max_streams != 0)
		p->max_streams = max_streams;
	if (keepalive_ms != 0)
		p->ping_ms = keepalive_ms;
	if (dead_ms != 0)
		p->dead_ms = dead_ms;
}

void *
tn_stream_arg(uint32_t w, uint32_t id)
{
	return (void *)(uintptr_t)(((uint64_t)w << 32) | id);
}

void
tn_stream_lost(struct tconn *c, uint32_t id, uint32_t code, void *sarg)
{
	uint64_t	v = (uint64_t)(uintptr_t)sarg;

	(void)c;
	(void)id;
	if (sarg == NULL)
		return;
	(void)tn_send((uint32_t)(v >> 32), SL_MSG_TUN_RESET, (uint32_t)v, -1,
	    SL_CONN_FAIL, "", "", mux_code_name(code));
}

void
tn_agent_row(uint32_t id, const struct tconn *c, int role, const char *where,
    ev_tstamp since)
{
	struct sl_msg	m;
	ev_tstamp	age = ev_now(tn.loop) - since;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_CTL_AGENT;
	m.id = id;
	m.fd = -1;
	snprintf(m.u.ctl_agent.agent, sizeof(m.u.ctl_agent.agent), "%s",
	    tconn_is_up(c) ? tconn_name(c) : "");
	snprintf(m.u.ctl_agent.peer, sizeof(m.u.ctl_agent.peer), "%s",
	    tconn_peer(c));
	snprintf(m.u.ctl_agent.where, sizeof(m.u.ctl_agent.where), "%s",
	    where);
	m.u.ctl_agent.role = (uint8_t)role;
	m.u.ctl_agent.state = !tconn_is_up(c) ? 0 : tconn_going_away(c) ?
	    2 : 1;
	m.u.ctl_agent.streams = tconn_streams(c);
	m.u.ctl_agent.age_ms = age > 0 ? (uint64_t)(age * 1000) : 0;
	m.u.ctl_agent.bytes_in = tconn_bytes_in(c);
	m.u.ctl_agent.bytes_out = tconn_bytes_out(c);
	if (ipc_chan_send(tn.master, &m) == -1)
		log_warnx("control: cannot send an agent row");
}

/* `sluicectl agents`: every tunnel connection of this process. */
static void
tn_ctl_agents(uint32_t id)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_CTL_DONE;
	m.id = id;
	m.fd = -1;
	m.u.ctl_done.matched = server_rows(id) + agent_rows(id);
	if (ipc_chan_send(tn.master, &m) == -1)
		log_warnx("control: cannot answer the master");
}

void
tn_maybe_exit(void)
{
	if (!tn.draining || !server_idle() || !agent_idle())
		return;
	log_debug("drained: no tunnel connection left");
	ipc_chan_flush(tn.master, 1000);
	_exit(0);
}

static void
tn_drain_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	tn_maybe_exit();
}

static void
tn_drain(void)
{
	if (tn.draining)
		return;
	tn.draining = 1;
	server_drain();
	agent_drain();
	ev_timer_init(&tn.drain_check, tn_drain_tick, 1., 1.);
	ev_timer_start(tn.loop, &tn.drain_check);
	tn_maybe_exit();
}

/* ---- workers ---- */

static void
tn_worker_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	struct tn_worker	*w = arg;

	(void)c;
	switch (m->type) {
	case SL_MSG_TUN_OPEN:
		server_open(w->index, m);
		break;
	case SL_MSG_TUN_STREAM_RESULT:
		agent_stream_result(w->index, m);
		break;
	case SL_MSG_TUN_DIALED:
	case SL_MSG_TUN_DIAL_FAIL:
		agent_dialed(w->index, m);
		break;
	default:
		log_warnx("worker %u: unexpected %s", w->index,
		    ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

static void
tn_worker_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct tn_worker	*w = arg;

	if (why != NULL)
		log_warnx("worker %u channel: %s", w->index, why);
	ipc_chan_free(c);
	w->chan = NULL;
	w->streams = 0;
	agent_worker_gone(w->index);
}

/* A channel to worker index (at boot, or when it was respawned). */
static void
tn_worker_peer(uint32_t index, int role, int fd)
{
	struct tn_worker	*w;

	if (index >= tn.nworkers || role != SL_PROC_WORKER) {
		log_warnx("peer %u (role %d) is not a worker of the pool",
		    index, role);
		close(fd);
		return;
	}
	w = &tn.workers[index];
	if (w->chan != NULL)
		tn_worker_closed(w->chan, NULL, w);
	w->index = index;
	/* Both ways fds: streams and dialed sockets. */
	w->chan = ipc_chan_new(tn.loop, fd, SL_PROC_WORKER, 1, tn_worker_msg,
	    tn_worker_closed, w);
	if (w->chan == NULL) {
		log_warnx("worker %u: no memory for its channel", index);
		close(fd);
		return;
	}
	agent_worker_new();
}

/* ---- the master ---- */

static void
tn_master_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	switch (m->type) {
	case SL_MSG_LOG_LEVEL:
		log_set_level((int)m->u.log_level.level);
		break;
	case SL_MSG_DRAIN:
		tn_drain();
		break;
	case SL_MSG_CFG_PEER:
		tn_worker_peer(m->u.cfg_peer.index, m->u.cfg_peer.role, m->fd);
		m->fd = -1;
		break;
	case SL_MSG_CTL_AGENTS:
		tn_ctl_agents(m->id);
		break;
	default:
		log_warnx("%s: unexpected %s", __func__, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

static void
tn_setup(struct child_start *cs)
{
	struct child_boot	*b = &cs->boot;
	const char		*why;
	char			 err[256];
	size_t			 i;

	if (conf_parse(b->conf_text, b->conf_len, &tn.conf, err,
	    sizeof(err)) == -1)
		fatalx("config from master: %s", err);
	child_boot_free_conf(b);
	log_set_level(tn.conf->log_level);
	if (!conf_has_tunnel(tn.conf))
		fatalx("started without a tunnel listener or an agent");
	child_boot_unmap(b);
	/* OpenSSL reads no file and loads every algorithm now. */
	if (tun_tls_global_init(&why) == -1)
		fatalx("TLS: %s", why);
	if ((tn.loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("%s: ev_loop_new", __func__);
	tn.nworkers = cs->nworkers;
	tn.master = ipc_chan_new(tn.loop, SL_CHILD_CHAN_FD, SL_PROC_MASTER,
	    1, tn_master_msg, child_master_closed, NULL);
	if (tn.master == NULL)
		fatal("%s: master channel", __func__);
	server_init(b);
	agent_init();
	for (i = 0; i < b->npeers; i++)
		tn_worker_peer(b->peers[i].index, b->peers[i].role,
		    b->peers[i].fd);
	b->npeers = 0;
}

static void
tn_sandbox(const struct sandbox_opts *sb)
{
	(void)sb;
	sandbox_tunnel();
}

void
tunnel_main(int argc, char *argv[])
{
	static const struct child_desc d = {
		.role = "tunnel", .indexed = 0, .title = "sluice-tunnel",
		.sandbox = tn_sandbox,
	};
	struct child_start	cs;

	child_begin(&cs, &d, argc, argv);
	tn_setup(&cs);
	child_confine(&cs, tn.conf->chroot, tn.master);
	server_start();
	agent_start();
	ev_run(tn.loop, 0);
	_exit(0);
}
