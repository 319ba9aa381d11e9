/*
 * What a child is sent when it starts (proc.c's proc_feed): its config,
 * the parts of the shared region it may map and how, its role's own
 * sockets, and channels to the peers it asks for, then CFG_END.
 */
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../ipc/codec.h"
#include "../policy/counters.h"
#include "gen.h"
#include "master.h"
#include "proc_priv.h"

/* Rows that may talk to each other: same pool, same generation. */
static int
proc_same_set(const struct proc *a, const struct proc *b)
{
	return a->pool == b->pool && a->generation == b->generation;
}

void
proc_send(struct proc *c, uint16_t type, int fd, uint32_t index)
{
	const struct gen	*g = gen_view(c->generation);
	struct sl_msg		 m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.fd = fd;
	switch (type) {
	case SL_MSG_CFG_CONF:
		m.u.cfg_conf.generation = c->generation;
		m.u.cfg_conf.size = c->role == SL_PROC_TUNNEL ? g->conf_len :
		    g->pub_len;
		break;
	case SL_MSG_CFG_SHM:
		m.u.cfg_shm.part = index >> 16;
		m.u.cfg_shm.slot = index & 0xffff;
		m.u.cfg_shm.size = g->shm->map[SL_SHM_MAP_INDEX(
		    m.u.cfg_shm.part, m.u.cfg_shm.slot)].size;
		break;
	case SL_MSG_CFG_PEER:
		m.u.cfg_peer.index = index & 0xffff;
		m.u.cfg_peer.role = (uint8_t)(index >> 16);
		break;
	case SL_MSG_CFG_LISTENER:
		m.u.cfg_listener.index = index;
		break;
	case SL_MSG_LOG_LEVEL:
		m.u.log_level.level = index;
		break;
	default:
		break;
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, &m) == -1)
		log_warnx("%s: cannot send %s", c->name, ipc_msg_name(type));
}

/*
 * A fresh channel between row a and row b, a being of a role that asks
 * (a->desc->peers has b->role).  Both ends learn it by a's index, and
 * each end learns the other's role.
 */
static void
proc_peer(struct proc *a, struct proc *b)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	proc_send(a, SL_MSG_CFG_PEER, sv[0], a->index |
	    ((uint32_t)b->role << 16));
	proc_send(b, SL_MSG_CFG_PEER, sv[1], a->index |
	    ((uint32_t)a->role << 16));
	close(sv[0]);
	close(sv[1]);
}

/*
 * A worker's listening sockets (the master's copies, kept per slot),
 * then what changed at run time: clients and the log level.
 */
void
proc_feed_worker(struct proc *c)
{
	const struct gen	*g = gen_view(c->generation);
	size_t			 i;

	for (i = 0; i < g->conf->nlisteners; i++)
		if (g->lfds[i][c->index] != -1 &&
		    g->conf->listeners[i].kind != SL_LISTEN_TUNNEL)
			proc_send(c, SL_MSG_CFG_LISTENER, g->lfds[i][c->index],
			    (uint32_t)i);
	if (g->state != GEN_CURRENT)
		return;
	for (i = 0; i < g->conf->nlisteners; i++)
		if (ms->pools[c->pool].allow[i].set)
			ctl_allow_to(c, (uint32_t)i);
}

/* The tunnel listeners' sockets: one each (listen.c), in slot 0. */
void
proc_feed_tunnel(struct proc *c)
{
	const struct gen	*g = gen_view(c->generation);
	size_t			 i;

	for (i = 0; i < g->conf->nlisteners; i++)
		if (g->conf->listeners[i].kind == SL_LISTEN_TUNNEL &&
		    g->lfds[i][0] != -1)
			proc_send(c, SL_MSG_CFG_LISTENER, g->lfds[i][0],
			    (uint32_t)i);
}

/*
 * The parts a child maps, each with the fd that says how: a worker
 * every part, writable only its own and the shared one; the resolver
 * its own; the other roles none.  The message says which part it is.
 */
static void
proc_feed_shm(struct proc *c)
{
	const struct gen	*g = gen_view(c->generation);
	size_t			 i, own = SL_SHM_MAP_INDEX(SL_SHM_WORKER,
				    c->index);
	uint32_t		 part, slot;
	int			 rw;

	for (i = 0; i < SL_SHM_MAPS; i++) {
		if (g->shm_fds[i] == -1)
			continue;
		part = SL_SHM_MAP_PART(i);
		slot = SL_SHM_MAP_SLOT(i);
		if (c->role == SL_PROC_WORKER)
			rw = i == own || part == SL_SHM_SHARED;
		else if (c->role == SL_PROC_RESOLVER && part ==
		    SL_SHM_RESOLVER)
			rw = 1;
		else
			continue;
		proc_send(c, SL_MSG_CFG_SHM, rw ? g->shm_fds[i] :
		    g->shm_rofds[i], part << 16 | slot);
	}
}

/*
 * The boot messages: config, shared region, the role's own, channels to
 * the running peers it asks, CFG_END.  Then the running rows that ask
 * this role get a fresh channel to it at run time.
 */
void
proc_feed(struct proc *c)
{
	const struct gen	*g = gen_view(c->generation);
	struct proc		*p;
	size_t			 i;

	proc_send(c, SL_MSG_CFG_CONF, c->role == SL_PROC_TUNNEL ?
	    g->secret_fd : g->conf_fd, 0);
	proc_feed_shm(c);
	if (c->desc->feed != NULL)
		c->desc->feed(c);
	for (i = 0; i < ms->nprocs; i++) {
		p = &ms->procs[i];
		if (p->pid != 0 && (c->desc->peers & SL_FROM(p->role)) &&
		    proc_same_set(c, p))
			proc_peer(c, p);
	}
	proc_send(c, SL_MSG_CFG_END, -1, 0);
	if (ms->log_level != g->conf->log_level)
		proc_send(c, SL_MSG_LOG_LEVEL, -1, (uint32_t)ms->log_level);
	for (i = 0; i < ms->nprocs; i++) {
		p = &ms->procs[i];
		if (p != c && p->pid != 0 &&
		    (p->desc->peers & SL_FROM(c->role)) &&
		    proc_same_set(c, p))
			proc_peer(p, c);
	}
}
