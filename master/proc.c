/*
 * The process table: one row per confined child, started, fed, watched,
 * respawned and drained by the same code whatever its role (relayd's
 * procs[], nginx's cycle of processes).
 *
 * Every child is fork + execve of sluiced itself, so each one gets a
 * fresh address-space layout: a crash-respawn loop never lets an attacker
 * probe the same layout twice.  Respawns back off exponentially while a
 * child keeps dying soon after it started (proc_state.c).
 *
 * A row (struct proc, master.h) is:
 *
 *	role, pool, generation, index	who it is; fixed for the row's life
 *	pid, chan, ready		its current process, if any
 *	state				starting, ready, draining, respawn
 *					pending, dead (proc_state.h)
 *	started, quick_deaths, respawn	the respawn backoff
 *
 * What differs between roles is data, in proc_roles[] below: the -P
 * name, how many instances a pool has, the boot messages of its own
 * (a worker's listeners), the roles it gets a peer channel to (a worker,
 * to the resolver and the tunnel process of its pool and generation), the order in which a
 * shutdown drains it, what to clean up after its death, whether it
 * gets the registry's service tables and whether it may send the
 * master fds.  No other code in the master names a role.
 *
 * Growing the table, not the code:
 * - a reload is a generation: proc_add_rows(pool, a new generation id)
 *   appends one row per instance of every role, started with the new
 *   config; once proc_count_ready() says all of them are ready, the old
 *   generation's rows get proc_drain_row() (DRAIN); a draining row that
 *   exits goes DEAD instead of respawning, and DEAD rows of a retired
 *   generation can be compacted out of the table.  Peers pair only
 *   inside one pool and generation (proc_same_set), so new workers talk
 *   to the new resolver.
 * - a tenant is a pool: proc_add_rows(pool, generation) with the counts
 *   the role's count(pool) gives for it; -N and the listeners a worker
 *   gets are then looked up per pool instead of in ms.
 */
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "../policy/counters.h"
#include "accesslog.h"
#include "gen.h"
#include "master.h"
#include "proc_priv.h"
#include "notify.h"

#define PROC_LEFTOVER_MSGS	4096	/* read from a dead child's channel */


static uint32_t	proc_count_one(uint32_t, const struct gen *);
static uint32_t	proc_count_workers(uint32_t, const struct gen *);
static uint32_t	proc_count_registry(uint32_t, const struct gen *);
static uint32_t	proc_count_tunnel(uint32_t, const struct gen *);
static void	proc_reaped_worker(struct proc *);
static void	proc_ids_user(const struct gen *, uid_t *, gid_t *);
static void	proc_ids_resolver(const struct gen *, uid_t *, gid_t *);
static void	proc_ids_registry(const struct gen *, uid_t *, gid_t *);
static void	proc_ids_tunnel(const struct gen *, uid_t *, gid_t *);

/*
 * Rows are started in this order: the resolver first, so that workers
 * find it running and get their peer channel with their boot messages.
 * Workers drain first at shutdown; the resolver serves their last
 * lookups and goes when they are all gone, and so does the registry
 * (only with a "dbbackend"), whose tables the draining workers still
 * route by.  Its tables go to the workers through the master
 * (SVC_TABLE, the one fd it may send).  The tunnel process (only with
 * a tunnel listener or an "agent") starts before the workers too, and
 * drains with them: draining, it sends GOAWAY at once, so agents move
 * to the new generation's tunnel process right away, while the streams
 * of the draining workers go on through it until they end.  Killing
 * follows the same order (proc_kill_all).
 */
static const struct proc_role proc_roles[] = {
	{ SL_PROC_RESOLVER, "resolver", 0, 1, 0,
	    proc_count_one, NULL, NULL, 0, 0, proc_ids_resolver },
	{ SL_PROC_TUNNEL, "tunnel", 0, 0, 0,
	    proc_count_tunnel, proc_feed_tunnel, NULL, 0, 0, proc_ids_tunnel },
	{ SL_PROC_WORKER, "worker", 1, 0,
	    SL_FROM_RESOLVER | SL_FROM_TUNNEL,
	    proc_count_workers, proc_feed_worker, proc_reaped_worker, 1, 0,
	    proc_ids_user },
	{ SL_PROC_REGISTRY, "registry", 0, 1, 0,
	    proc_count_registry, NULL, NULL, 0, 1, proc_ids_registry },
};

static void	proc_msg(struct ipc_chan *, struct sl_msg *, void *);
static void	proc_chan_closed(struct ipc_chan *, const char *, void *);

/* ---- roles ---- */

/* Workers: "user". */
static void
proc_ids_user(const struct gen *g, uid_t *uid, gid_t *gid)
{
	*uid = g->uid;
	*gid = g->gid;
}

/*
 * The resolver: "resolver_user", never the workers' uid (checked at
 * load), so that no worker can signal, ptrace or read /proc of it.
 */
static void
proc_ids_resolver(const struct gen *g, uid_t *uid, gid_t *gid)
{
	*uid = g->resolver_uid;
	*gid = g->resolver_gid;
}

/* The registry: "registry_user", a uid of its own (conf_load.c). */
static void
proc_ids_registry(const struct gen *g, uid_t *uid, gid_t *gid)
{
	*uid = g->registry_uid;
	*gid = g->registry_gid;
}

/*
 * The tunnel process: "tunnel_user", a uid of its own; it holds the
 * agents' secrets, which no worker gets (conf_load.c).
 */
static void
proc_ids_tunnel(const struct gen *g, uid_t *uid, gid_t *gid)
{
	*uid = g->tunnel_uid;
	*gid = g->tunnel_gid;
}

static uint32_t
proc_count_one(uint32_t pool, const struct gen *g)
{
	(void)pool;
	(void)g;
	return 1;
}

/*
 * The worker slots of a pool: its rows in the shared region and the
 * peer indices its resolver knows.  Every row gets it as -N.
 */
static uint32_t
proc_pool_slots(uint32_t pool, const struct gen *g)
{
	(void)pool;
	return g->nworkers;
}

static uint32_t
proc_count_workers(uint32_t pool, const struct gen *g)
{
	return proc_pool_slots(pool, g);
}

/* tcprouter's Redis store: a registry only when one is configured. */
static uint32_t
proc_count_registry(uint32_t pool, const struct gen *g)
{
	(void)pool;
	return g->conf->dbbackend.enabled ? 1 : 0;
}

/* Reverse tunnels: a tunnel listener or an "agent" key. */
static uint32_t
proc_count_tunnel(uint32_t pool, const struct gen *g)
{
	(void)pool;
	return conf_has_tunnel(g->conf) ? 1 : 0;
}

/* ---- rows ---- */

/* The state after ev; a transition the table refuses is a bug here. */
void
proc_event(struct proc *c, enum proc_event ev)
{
	int	next = proc_state_next(c->state, ev);

	if (next == -1) {
		log_warnx("%s: event %d while %s (bug)", c->name, (int)ev,
		    proc_state_name(c->state));
		return;
	}
	c->state = (enum proc_state)next;
}

const char *
proc_role_name(const struct proc *c)
{
	return c->desc->name;
}

/* Its sessions died with it: their live counts must go too. */
static void
proc_reaped_worker(struct proc *c)
{
	const struct gen	*g = gen_view(c->generation);

	if (g != NULL)
		shm_worker_reset(g->shm, c->index);
}

/* In the forked child: "sluiced -P role -I index -N slots -u -g". */
static void
proc_exec(struct proc *c, int fd, int errfd)
{
	const struct gen *gv = gen_view(c->generation);
	char	idx[16], nw[16], uid[16], gid[16];
	char	*argv[] = { ms->self_exe, "-P", NULL, "-I", idx, "-N", nw,
		    "-u", uid, "-g", gid, NULL };
	sigset_t all;
	uid_t	u;
	gid_t	g;

	argv[2] = (char *)c->desc->name;
	snprintf(idx, sizeof(idx), "%u", c->index);
	snprintf(nw, sizeof(nw), "%u", proc_pool_slots(c->pool, gv));
	c->desc->ids(gv, &u, &g);
	snprintf(uid, sizeof(uid), "%u", (unsigned)u);
	snprintf(gid, sizeof(gid), "%u", (unsigned)g);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(127);
	/*
	 * stderr is a pipe the master reads: a child can never write into
	 * the master's log directly (to forge lines), and its RLIMIT_FSIZE
	 * of 0 cannot kill it when the master's stderr is a file.
	 */
	if (errfd != -1 && dup2(errfd, STDERR_FILENO) == -1)
		_exit(127);
	if (fd != SL_CHILD_CHAN_FD) {
		if (dup2(fd, SL_CHILD_CHAN_FD) == -1)
			_exit(127);
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		_exit(127);
	close_from(SL_CHILD_CHAN_FD + 1);
	execv(ms->self_exe, argv);
	_exit(127);
}

static void
proc_ready_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proc *c = container_of(w, struct proc, ready_timer);

	(void)loop;
	(void)revents;
	if (c->pid != 0 && !c->ready) {
		log_warnx("%s (pid %d) not ready after %.0f s, killing it",
		    c->name, (int)c->pid, PROC_READY_TIMEOUT);
		kill(c->pid, SIGKILL);
	}
}

static void
proc_spawn_retry(struct proc *c)
{
	proc_event(c, PROC_EV_SPAWN_FAIL);
	ev_timer_stop(ms->loop, &c->respawn);
	ev_timer_set(&c->respawn, 1., 0.);
	ev_timer_start(ms->loop, &c->respawn);
}

void
proc_spawn(struct proc *c)
{
	int	sv[2], ep[2];
	pid_t	pid;

	if (ms->stopping || proc_state_running(c->state) ||
	    gen_view(c->generation) == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair for %s", __func__, c->name);
		proc_spawn_retry(c);
		return;
	}
	if (pipe2(ep, O_CLOEXEC) == -1) {
		log_warn("%s: pipe for %s", __func__, c->name);
		close(sv[0]);
		close(sv[1]);
		proc_spawn_retry(c);
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("%s: fork for %s", __func__, c->name);
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		proc_spawn_retry(c);
		return;
	}
	if (pid == 0)
		proc_exec(c, sv[1], ep[1]);
	close(sv[1]);
	close(ep[1]);
	proc_stderr_watch(c, ep[0]);
	c->pid = pid;
	c->ready = 0;
	c->started = ev_now(ms->loop);
	proc_event(c, PROC_EV_SPAWN);
	c->chan = ipc_chan_new(ms->loop, sv[0], c->role, c->desc->fds_in,
	    proc_msg, proc_chan_closed, c);
	if (c->chan == NULL)
		fatal("%s: ipc_chan_new", __func__);
	log_debug("%s started, pid %d", c->name, (int)pid);
	proc_feed(c);
	ev_timer_set(&c->ready_timer, PROC_READY_TIMEOUT, 0.);
	ev_timer_start(ms->loop, &c->ready_timer);
}

static void
proc_respawn_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	proc_spawn(container_of(w, struct proc, respawn));
}

static void
proc_row_init(struct proc *c, const struct proc_role *r, uint32_t pool,
    uint32_t generation, uint32_t index)
{
	memset(c, 0, sizeof(*c));
	c->desc = r;
	c->role = r->id;
	c->pool = pool;
	c->generation = generation;
	c->index = index;
	c->state = PROC_DEAD;
	proc_log_init(c);
	/* With tenants, whose process it is: "tenant a worker 1". */
	snprintf(c->name, sizeof(c->name), "%s%s%s%s", pool_tenanted() ?
	    "tenant " : "", pool_tenanted() ? ms->pools[pool].name : "",
	    pool_tenanted() ? " " : "", r->name);
	if (r->indexed)
		snprintf(c->name + strlen(c->name), sizeof(c->name) -
		    strlen(c->name), " %u", index);
	ev_init(&c->respawn, proc_respawn_cb);
	ev_init(&c->ready_timer, proc_ready_timeout);
}

/*
 * A row for a new process: one a gone generation left (generation 0),
 * else a new one at the end.  Rows never move: watchers and channels
 * point into them.
 */
static struct proc *
proc_free_row(void)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].generation == 0 && ms->procs[i].pid == 0 &&
		    ms->procs[i].state == PROC_DEAD)
			return &ms->procs[i];
	if (ms->nprocs == PROC_MAX_ROWS)
		return NULL;
	return &ms->procs[ms->nprocs++];
}

int
proc_add_rows(uint32_t pool, uint32_t generation)
{
	const struct proc_role	*r;
	const struct gen	*g = gen_view(generation);
	struct proc		*c;
	size_t			 i;
	uint32_t		 k, n;

	for (i = 0; i < sizeof(proc_roles) / sizeof(proc_roles[0]); i++) {
		r = &proc_roles[i];
		n = r->count(pool, g);
		for (k = 0; k < n; k++) {
			if ((c = proc_free_row()) == NULL) {
				proc_release_gen(generation);
				return -1;
			}
			proc_row_init(c, r, pool, generation, k);
		}
	}
	return 0;
}

void
proc_init(void)
{
	struct gen	*cur[SL_MAX_POOLS];
	size_t		 i, n = pool_currents(cur, SL_MAX_POOLS);

	ms->nprocs = 0;
	for (i = 0; i < n; i++)
		if (proc_add_rows(cur[i]->pool, cur[i]->id) == -1)
			fatalx("%s: process table full", __func__);
}

void
proc_start_all(void)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].state == PROC_DEAD)
			proc_spawn(&ms->procs[i]);
}

/* Rows of one pool and generation that are ready, and their number. */
static size_t
proc_count_ready(uint32_t pool, uint32_t generation, size_t *total)
{
	size_t	i, n = 0;

	*total = 0;
	for (i = 0; i < ms->nprocs; i++) {
		if (ms->procs[i].pool != pool || generation == 0 ||
		    ms->procs[i].generation != generation)
			continue;
		(*total)++;
		n += ms->procs[i].state == PROC_READY;
	}
	return n;
}

/*
 * Every process of a generation is ready: the first generations (of
 * every pool) mean start-up is done; a reload's, that it may switch.
 */
static void
proc_gen_ready(uint32_t generation)
{
	struct gen	*g = gen_find(generation), *cur[SL_MAX_POOLS];
	size_t		 i, n;

	if (g == NULL || g->ready)
		return;
	g->ready = 1;
	if (g->state == GEN_NEXT) {
		reload_ready();
		return;
	}
	if (g->state != GEN_CURRENT || ms->announced)
		return;
	n = pool_currents(cur, SL_MAX_POOLS);
	for (i = 0; i < n; i++)
		if (!cur[i]->ready)
			return;
	ms->announced = 1;
	notify_ready("serving");
}

/* ---- messages from children ---- */

static void
proc_ready(struct proc *c)
{
	size_t	n, total;

	if (c->ready || proc_state_next(c->state, PROC_EV_READY) == -1) {
		log_warnx("%s (pid %d): READY twice, killing it", c->name,
		    (int)c->pid);
		kill(c->pid, SIGKILL);
		return;
	}
	c->ready = 1;
	proc_event(c, PROC_EV_READY);
	ev_timer_stop(ms->loop, &c->ready_timer);
	if (c->role == SL_PROC_WORKER)
		steer_update();
	log_debug("%s (pid %d) confined and ready", c->name, (int)c->pid);
	if (c->desc->tables)
		svc_table_send(c);
	n = proc_count_ready(c->pool, c->generation, &total);
	if (n == total) {
		log_debug("pool %u generation %u: all %zu children ready",
		    c->pool, c->generation, total);
		proc_gen_ready(c->generation);
	}
}

/* A child that sent a request no honest child sends. */
static void
proc_kill_bogus(struct proc *c, const char *what)
{
	log_warnx("%s (pid %d): bogus %s, killing it", c->name, (int)c->pid,
	    what);
	kill(c->pid, SIGKILL);
}

static void
proc_msg(struct ipc_chan *chan, struct sl_msg *m, void *arg)
{
	struct proc *c = arg;

	(void)chan;
	switch (m->type) {
	case SL_MSG_READY:
		proc_ready(c);
		break;
	case SL_MSG_LOG:
		proc_log(c, m);
		break;
	case SL_MSG_SOCK_REQ:
		if (bindany_request(c, m) == -1)
			proc_kill_bogus(c, "socket request");
		break;
	case SL_MSG_TPROXY_REQ:
		if (tproxy_request(c, m) == -1)
			proc_kill_bogus(c, "tproxy socket request");
		break;
	case SL_MSG_PCAP_REC:
		if (pcap_record(c, m) == -1)
			proc_kill_bogus(c, "pcap record");
		break;
	case SL_MSG_ACCESS:
		accesslog_record(c, m);
		break;
	case SL_MSG_CTL_ROW:
		if (ctl_sessions_row(c, m) == -1)
			proc_kill_bogus(c, "session row");
		break;
	case SL_MSG_CTL_AGENT:
		if (ctl_agents_row(c, m) == -1)
			proc_kill_bogus(c, "agent row");
		break;
	case SL_MSG_CTL_DONE:
		if (c->role == SL_PROC_TUNNEL ? ctl_agents_done(c, m) == -1 :
		    ctl_sessions_done(c, m) == -1)
			proc_kill_bogus(c, "control answer");
		break;
	case SL_MSG_REDIS_SOCK:
		if (svc_sock_request(c, m) == -1)
			proc_kill_bogus(c, "socket request");
		break;
	case SL_MSG_MEMFD_REQ:
		if (svc_memfd_request(c, m) == -1)
			proc_kill_bogus(c, "memfd request");
		break;
	case SL_MSG_SVC_TABLE:
		if (svc_table_in(c, m) == -1)
			proc_kill_bogus(c, "service table");
		break;
	default:
		/* The codec only lets through what children may send. */
		log_warnx("%s: unexpected %s", c->name, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

/* A child that breaks the protocol is not trusted for another message. */
static void
proc_chan_closed(struct ipc_chan *chan, const char *why, void *arg)
{
	struct proc *c = arg;

	if (why != NULL && c->pid != 0) {
		log_warnx("%s (pid %d): %s, killing it", c->name, (int)c->pid,
		    why);
		kill(c->pid, SIGKILL);
	}
	ipc_chan_free(chan);
	c->chan = NULL;
}

/* ---- deaths ---- */

static void
proc_schedule_respawn(struct proc *c)
{

	const struct gen	*g = gen_view(c->generation);
	double			 delay;

	delay = proc_backoff(&c->quick_deaths, ev_now(ms->loop) - c->started);
	if (g != NULL)
		atomic_fetch_add(&g->shm->global->worker_restarts, 1);
	log_info("respawning %s in %.2f s", c->name, delay);
	ev_timer_stop(ms->loop, &c->respawn);
	ev_timer_set(&c->respawn, delay, 0.);
	ev_timer_start(ms->loop, &c->respawn);
}

static struct proc *
proc_find(pid_t pid)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].pid == pid)
			return &ms->procs[i];
	return NULL;
}

/*
 * The last log lines and session records a child wrote before it
 * exited (a worker's sessions at shutdown) may still wait in its channel
 * when its death is handled first: log them before the channel goes.
 * Nothing else is acted on, as the pid is already reaped and may be
 * reused.
 */
static void
proc_chan_leftovers(struct proc *c)
{
	struct sl_msg	 m;
	const char	*why;
	int		 i;

	for (i = 0; i < PROC_LEFTOVER_MSGS; i++) {
		if (ipc_frame_recv(ipc_chan_fd(c->chan), c->role,
		    c->desc->fds_in, &m, &why, MSG_DONTWAIT) != SL_RECV_OK)
			break;
		if (m.type == SL_MSG_LOG)
			proc_log(c, &m);
		else if (m.type == SL_MSG_ACCESS)
			accesslog_record(c, &m);
		ipc_close_received(m.fd);
	}
}

void
proc_child_exited(pid_t pid, int status)
{
	struct proc	*c;
	struct gen	*g;

	if (pid <= 0 || (c = proc_find(pid)) == NULL)
		return;
	if (c->chan != NULL)
		proc_chan_leftovers(c);
	proc_log_death(c, pid, status);
	c->pid = 0;
	c->ready = 0;
	ev_timer_stop(ms->loop, &c->ready_timer);
	if (c->chan != NULL) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	if (c->desc->reaped != NULL)
		c->desc->reaped(c);
	ctl_sessions_gone(c);
	if (c->role == SL_PROC_WORKER)
		steer_update();
	proc_event(c, PROC_EV_EXIT);
	/* Only a current generation and a starting one come back. */
	g = gen_find(c->generation);
	if (ms->stopping || g == NULL || (g->state != GEN_CURRENT &&
	    g->state != GEN_NEXT))
		proc_event(c, PROC_EV_HALT);
	if (c->state == PROC_RESPAWN)
		proc_schedule_respawn(c);
	if (g == NULL || g->state != GEN_CURRENT)
		reload_row_gone(c->generation);
}
