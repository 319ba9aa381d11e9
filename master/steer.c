/*
 * Steering new connections away from dead workers (issue 14, item 10).
 *
 * Each TCP listener is a SO_REUSEPORT group of one socket per worker
 * slot, and the kernel hashes each new connection to one of them: while
 * a slot's worker is dead (respawning, or backing off in a crash loop),
 * the connections hashed to its socket wait in its queue.  So whenever
 * the set of ready workers changes, the master attaches to each group a
 * classic BPF program that picks, at random, one of the sockets whose
 * worker is ready (SO_ATTACH_REUSEPORT_CBPF needs no capability), and
 * detaches it once every slot is served again.  Only connections already
 * queued on the dead socket when its worker died wait for the respawn.
 *
 * The program returns an index into the group, which is the order the
 * sockets joined it: the master binds slot 0 first, then 1, ... and only
 * ever closes the highest slots, so index and slot agree.  A wrong index
 * would only fall back to the kernel's hash, never lose a connection.
 * UDP groups keep the kernel's hash: a flow must stay with its worker.
 */
#include <sys/socket.h>
#include <linux/filter.h>
#include <errno.h>
#include <string.h>

#include "../common/log.h"
#include "master.h"

/* ld rand; mod n; n x (jeq i; ret slot); ret slot0 */
#define STEER_MAX_INSNS	(2 + 2 * SL_MAX_WORKERS + 1)

static uint64_t	steer_mask[SL_MAX_POOLS];	/* slots steered to, 0: the
						   kernel's hash */
static int	steer_warned;

/*
 * Slots of the pool's current generation whose socket some ready worker
 * of the pool serves (of any of its generations: a reload keeps slots).
 */
static uint64_t
steer_live(const struct gen *g)
{
	uint64_t	mask = 0;
	size_t		i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].role == SL_PROC_WORKER &&
		    ms->procs[i].pool == g->pool &&
		    ms->procs[i].pid != 0 &&
		    ms->procs[i].state == PROC_READY &&
		    ms->procs[i].index < g->nworkers)
			mask |= UINT64_C(1) << ms->procs[i].index;
	return mask;
}

static size_t
steer_program(struct sock_filter *f, uint32_t nworkers, uint64_t mask)
{
	uint32_t	live[SL_MAX_WORKERS], n = 0, k;
	size_t		i = 0;

	for (k = 0; k < nworkers; k++)
		if (mask & (UINT64_C(1) << k))
			live[n++] = k;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    SKF_AD_OFF + SKF_AD_RANDOM);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
	for (k = 0; k < n; k++) {
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    k, 0, 1);
		f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, live[k]);
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, live[0]);
	return i;
}

static void
steer_apply(const struct gen *g, uint64_t mask)
{
	struct sock_filter	f[STEER_MAX_INSNS];
	struct sock_fprog	prog;
	size_t			l;
	int			fd, rc, dummy = 0;

	prog.len = (unsigned short)steer_program(f, g->nworkers, mask);
	prog.filter = f;
	for (l = 0; l < g->conf->nlisteners; l++) {
		if (SL_LISTENER_UDP(&g->conf->listeners[l]) ||
		    g->conf->listeners[l].kind == SL_LISTEN_TUNNEL ||
		    (fd = g->lfds[l][0]) == -1)
			continue;
		rc = mask == 0 ? setsockopt(fd, SOL_SOCKET,
		    SO_DETACH_REUSEPORT_BPF, &dummy, sizeof(dummy)) :
		    setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
		    sizeof(prog));
		/* ENOENT: nothing attached to detach. */
		if (rc == -1 && errno != ENOENT && !steer_warned) {
			steer_warned = 1;
			log_warn("listener %s: steering around dead workers",
			    g->conf->listeners[l].name);
		}
	}
}

static void
steer_pool(const struct gen *g)
{
	uint64_t	all, live;

	if (g->nworkers == 0 || g->pool >= SL_MAX_POOLS)
		return;
	all = g->nworkers >= 64 ? UINT64_MAX :
	    (UINT64_C(1) << g->nworkers) - 1;
	live = steer_live(g);
	/* Every slot served, or none (then there is nowhere to steer to). */
	if (live == all || live == 0)
		live = 0;
	if (live == steer_mask[g->pool])
		return;
	steer_mask[g->pool] = live;
	if (live != 0)
		log_debug("pool %u: steering new connections to ready workers "
		    "(mask %#llx)", g->pool, (unsigned long long)live);
	steer_apply(g, live);
}

void
steer_update(void)
{
	struct gen	*cur[SL_MAX_POOLS];
	size_t		 i, n;

	if (ms->stopping)
		return;
	n = pool_currents(cur, SL_MAX_POOLS);
	for (i = 0; i < n; i++)
		steer_pool(cur[i]);
}
