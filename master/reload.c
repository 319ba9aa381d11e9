/*
 * Reload: nginx's cycle of generations (SIGHUP, `sluicectl reload`),
 * per tenant.
 *
 *  1. The config file is read and checked as at start-up; a bad one is
 *     refused with the same "PATH: problem" and nothing changes.
 *  2. Each tenant whose config text (or users, or worker count) changed,
 *     and each new tenant, gets a new generation beside the running one:
 *     listeners that stay keep their sockets (listen_open_gen: same
 *     address, same kind of socket), new ones are bound; a new shared
 *     region starts with the running one's totals, link health and route
 *     cache (carry.c); a new config memfd; one row per process (workers,
 *     resolver, registry), started.  The old generation serves on
 *     meanwhile, on the same sockets: no connection is refused.  A
 *     tenant that did not change is not touched: its processes and
 *     sessions go on as they were.
 *  3. When every new process is ready, the new generations become
 *     current and the old ones (and those of tenants the config no
 *     longer has) get DRAIN, workers first: they take in what is queued
 *     on sockets they are leaving, stop accepting, finish their sessions
 *     (at most shutdown_timeout) and exit; then their resolver and
 *     registry.  What an old one counted meanwhile is carried into its
 *     tenant's current region when its last process is gone.
 *  4. New generations not ready within RELOAD_READY_S are killed and
 *     the old ones keep serving.
 *
 * Reloads never overlap: one asked while another starts (a SIGHUP
 * storm) is merged into a single next one, run when the starting one is
 * done, so the config serving at the end is the last one read.  At most
 * GEN_MAX_LIVE generations of a tenant live at once; past that, a
 * reload waits for the oldest to finish draining.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "accesslog.h"
#include "carry.h"
#include "control.h"
#include "gen.h"
#include "master.h"
#include "notify.h"

#define RELOAD_READY_S	(PROC_READY_TIMEOUT + 5.0)

static struct {
	int		 pending;	/* asked, not started yet */
	int		 starting;	/* next generations are starting */
	uint64_t	 waiters[CTL_MAX_CLIENTS * 2];
	size_t		 nwaiters;
	ev_timer	 deadline;
	struct sl_conf	*root;		/* the starting config's root */
	int		 gone[SL_MAX_POOLS];	/* tenants it drops */
	int		 waiting_logged;
	int		 scoped;	/* pending: one tenant's part only */
	char		 scope[SL_TENANT_NAME_MAX + 1];
	int		 run_scoped;	/* the starting one's */
	char		 run_scope[SL_TENANT_NAME_MAX + 1];
	uint32_t	 last_id;	/* generation ids are never reused: a
					   dropped one may still be dying */
} rl;

static void	reload_kick(void);

void
reload_set_last_id(uint32_t id)
{
	if (rl.last_id < id)
		rl.last_id = id;
}

/* The newest serving generation's id (what a reload answers). */
static uint32_t
reload_newest(void)
{
	struct gen	*cur[SL_MAX_POOLS];
	size_t		 i, n = pool_currents(cur, SL_MAX_POOLS);
	uint32_t	 id = 0;

	for (i = 0; i < n; i++)
		if (cur[i]->id > id)
			id = cur[i]->id;
	return id;
}

/* Answer everyone waiting: ok with the generation, or the error. */
static void
reload_answer(const char *error)
{
	struct ctl_client	*c;
	cJSON			*r;
	size_t			 i;

	for (i = 0; i < rl.nwaiters; i++) {
		if ((c = ctl_client_find(rl.waiters[i])) == NULL)
			continue;
		if (error != NULL)
			ctl_fail(c, "%s", error);
		else if ((r = cJSON_CreateObject()) != NULL) {
			cJSON_AddNumberToObject(r, "generation",
			    reload_newest());
			ctl_reply(c, r);
		} else
			ctl_fail(c, "out of memory");
	}
	rl.nwaiters = 0;
}

/* Every serving region's global counters (each tenant reads its own). */
static void
reload_count(int good)
{
	struct gen		*cur[SL_MAX_POOLS];
	struct sl_global_ctr	*gc;
	size_t			 i, n = pool_currents(cur, SL_MAX_POOLS);

	for (i = 0; i < n; i++) {
		gc = cur[i]->shm->global;
		if (!good) {
			atomic_fetch_add(&gc->reload_failures, 1);
			continue;
		}
		atomic_fetch_add(&gc->reloads, 1);
		atomic_store(&gc->generation, cur[i]->id);
		atomic_store(&gc->reloaded_unix, (uint64_t)time(NULL));
	}
}

static void
reload_refused(const char *why)
{
	log_warnx("reload refused: %s; the running configuration keeps "
	    "serving", why);
	reload_count(0);
	notify_ready("serving; the last reload was refused");
	notify_status("reload refused: %s", why);
	reload_answer(why);
}

/* What a reload cannot change in a running master. */
static int
reload_check(const struct conf_load *cl, char *err, size_t errlen)
{
	const struct gen	*g, *cur;
	size_t			 i;
	int			 pool;

	if (!pcap_same(cl->root)) {
		snprintf(err, errlen, "pcap taps: a reload keeps the capture "
		    "files open, so it cannot add, remove or reorder them "
		    "(restart sluiced for that)");
		return -1;
	}
	for (i = 0; i < cl->ngens; i++) {
		g = cl->gens[i];
		pool = pool_find(g->tenant);
		cur = pool == -1 ? NULL : gen_current((uint32_t)pool);
		if ((cur == NULL || strcmp(g->conf->chroot,
		    cur->conf->chroot) != 0) &&
		    privdir_prepare(g->conf->chroot, err, errlen) == -1)
			return -1;
	}
	return accesslog_check(cl->root, err, errlen);
}

/* The tenant's config, users and size are what it runs now. */
static int
reload_same(const struct gen *g, const struct gen *cur)
{
	return cur != NULL && g->conf_len == cur->conf_len &&
	    memcmp(g->conf_text, cur->conf_text, g->conf_len) == 0 &&
	    g->uid == cur->uid && g->resolver_uid == cur->resolver_uid &&
	    g->registry_uid == cur->registry_uid &&
	    g->nworkers == cur->nworkers;
}

/* A starting generation's own resources, beside cur; -1 with err. */
static int
reload_make(struct gen *g, const struct gen *cur, char *err, size_t errlen)
{
	struct carry	*was;

	g->id = ++rl.last_id;
	if (listen_open_gen(g, err, errlen) == -1)
		return -1;
	if (shm_gen_make(g) == -1) {
		snprintf(err, errlen, "shared region or config memfd: %s",
		    strerror(errno));
		return -1;
	}
	atomic_store(&g->shm->global->started_unix,
	    (uint64_t)ms->started);
	if (cur == NULL)
		return 0;
	if ((was = malloc(sizeof(*was))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->carried = was;
	carry_take(was, cur->shm, cur->conf);
	carry_add(g->shm, g->conf, cur->conf, was, NULL);
	carry_state(g->shm, g->conf, cur->shm,
	    cur->conf);
	return 0;
}

/* A generation that never became current: its processes and resources. */
static void
reload_discard(struct gen *g)
{
	if (proc_gen_running(g->id) > 0)
		proc_kill_gen(g->id, SIGKILL);
	else
		proc_release_gen(g->id);
	gen_free(g);
}

/* Every starting generation, dropped; pools made for them freed. */
static void
reload_discard_all(void)
{
	struct gen	*g;
	size_t		 i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if ((g = gen_at(i)) != NULL && g->state == GEN_NEXT)
			reload_discard(g);
	/* A pool made for a tenant that never got a generation. */
	for (i = 0; i < SL_MAX_POOLS; i++)
		if (ms->pools[i].used && !ms->pools[i].removed &&
		    gen_current((uint32_t)i) == NULL &&
		    gen_next((uint32_t)i) == NULL &&
		    gen_count((uint32_t)i, GEN_OLD) == 0)
			ms->pools[i].used = 0;
	conf_free(rl.root);
	rl.root = NULL;
	rl.starting = 0;
	memset(rl.gone, 0, sizeof(rl.gone));
}

/*
 * The loaded generation of one tenant: unchanged (freed, 0), or
 * starting beside the running one (1); -1 with err.
 */
static int
reload_tenant(struct gen *g, char *err, size_t errlen)
{
	struct gen	*cur;
	int		 pool;

	if (rl.run_scoped && strcmp(g->tenant, rl.run_scope) != 0) {
		gen_free(g);		/* another tenant: not this reload's */
		return 0;
	}
	if ((pool = pool_find(g->tenant)) != -1)
		rl.gone[pool] = 0;
	cur = pool == -1 ? NULL : gen_current((uint32_t)pool);
	/*
	 * A tenant whose config did not change keeps its processes and
	 * sessions.  Without tenants, and for the tenant a reload names,
	 * a new generation starts all the same: files the config points
	 * to (Lua scripts, secrets) may have changed.
	 */
	if (pool_tenanted() && !rl.run_scoped && reload_same(g, cur)) {
		gen_free(g);
		return 0;
	}
	if (pool == -1 && (pool = pool_add(g->tenant)) == -1) {
		gen_free(g);
		snprintf(err, errlen, "too many tenants alive (%d, with "
		    "those still draining)", SL_MAX_POOLS);
		return -1;
	}
	g->pool = (uint32_t)pool;
	if (gen_add(g, GEN_NEXT) == -1) {
		gen_free(g);
		snprintf(err, errlen, "too many generations alive");
		return -1;
	}
	if (reload_make(g, cur, err, errlen) == -1)
		return -1;
	if (proc_add_rows(g->pool, g->id) == -1) {
		snprintf(err, errlen, "the process table is full");
		return -1;
	}
	return 1;
}

/* The root's process-wide keys: logs, the control socket. */
static void
reload_root(struct sl_conf *root)
{
	char	err[256];

	conf_free(ms->conf);
	ms->conf = root;
	ms->log_level = ms->conf->log_level;
	log_set_level(ms->log_level);
	log_set_json(ms->conf->log_json);
	if (control_reconf(ms->conf, err, sizeof(err)) == -1)
		log_warnx("reload: %s (the control socket stays as it was)",
		    err);
	if (accesslog_open(ms->conf, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
}

static void
reload_start(void)
{
	struct conf_load	 cl;
	char			 err[1024], msg[1200];
	size_t			 i, nstart = 0;
	int			 rc = 0;

	notify_reloading();
	log_info("reloading %s%s%s", ms->conf_path, rl.run_scoped ?
	    ": tenant " : "", rl.run_scoped ? rl.run_scope : "");
	if (master_config_load(ms->conf_path, &cl, err, sizeof(err)) == -1 ||
	    reload_check(&cl, err, sizeof(err)) == -1) {
		master_config_unload(&cl);
		snprintf(msg, sizeof(msg), "%s: %s", ms->conf_path, err);
		reload_refused(msg);
		return;
	}
	for (i = 0; i < SL_MAX_POOLS; i++)
		rl.gone[i] = ms->pools[i].used && !ms->pools[i].removed &&
		    (!rl.run_scoped || strcmp(ms->pools[i].name,
		    rl.run_scope) == 0);
	rl.root = cl.root;
	cl.root = NULL;
	for (i = 0; i < cl.ngens && rc != -1; i++) {
		rc = reload_tenant(cl.gens[i], err, sizeof(err));
		cl.gens[i] = NULL;
		nstart += rc == 1;
	}
	master_config_unload(&cl);
	if (rc == -1) {
		reload_discard_all();
		reload_refused(err);
		return;
	}
	rl.starting = 1;
	if (nstart == 0) {
		/* No tenant's processes change: switch at once. */
		reload_ready();
		return;
	}
	ev_timer_set(&rl.deadline, RELOAD_READY_S, 0.);
	ev_timer_start(ms->loop, &rl.deadline);
	for (i = 0; i < GEN_MAX_ALL; i++)
		if (gen_at(i) != NULL && gen_at(i)->state == GEN_NEXT)
			proc_start_gen(gen_at(i)->id);
}

static void
reload_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (!rl.starting)
		return;
	log_warnx("the new generations were not ready within %.0f s: "
	    "dropped", RELOAD_READY_S);
	reload_discard_all();
	reload_refused("the new generation's processes did not start");
	reload_kick();
}

/* An old generation drains; nothing of it running: gone now. */
static void
reload_retire(struct gen *old)
{
	/* Master copies of sockets no serving generation uses. */
	listen_close_unused(old);
	if (proc_drain_gen(old->id) == 0)
		reload_row_gone(old->id);
}

/* The starting generation of a pool becomes current; the old drains. */
static void
reload_switch(struct gen *next)
{
	struct gen	*old;

	next->ready = 1;
	old = gen_switch(next->pool);
	memset(ms->pools[next->pool].allow, 0,
	    sizeof(ms->pools[next->pool].allow));
	log_info("reload: %s%s%sgeneration %u serves (%u workers, %zu "
	    "listeners, %zu links)%s", pool_tenanted() ? "tenant " : "",
	    pool_tenanted() ? next->tenant : "", pool_tenanted() ? ": " : "",
	    next->id, next->nworkers, next->conf->nlisteners,
	    next->conf->nlinks, old != NULL ? "; the old one drains" : "");
	if (old != NULL) {
		old->snapshot = next->carried;
		next->carried = NULL;
		reload_retire(old);	/* may free old */
	}
}

void
reload_ready(void)
{
	struct gen	*g, *old;
	size_t		 i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if ((g = gen_at(i)) != NULL && g->state == GEN_NEXT &&
		    !g->ready)
			return;		/* another tenant's still starts */
	ev_timer_stop(ms->loop, &rl.deadline);
	rl.starting = 0;
	for (i = 0; i < GEN_MAX_ALL; i++)
		if ((g = gen_at(i)) != NULL && g->state == GEN_NEXT)
			reload_switch(g);
	for (i = 0; i < SL_MAX_POOLS; i++) {
		if (!rl.gone[i] || (old = gen_current((uint32_t)i)) == NULL)
			continue;
		/* A tenant the config no longer has. */
		log_info("reload: tenant %s removed; its generation %u "
		    "drains", ms->pools[i].name, old->id);
		ms->pools[i].removed = 1;
		old->state = GEN_OLD;
		reload_retire(old);
	}
	memset(rl.gone, 0, sizeof(rl.gone));
	/* One tenant's reload leaves the process-wide keys as they are. */
	if (rl.run_scoped)
		conf_free(rl.root);
	else
		reload_root(rl.root);
	rl.root = NULL;
	ms->reloads++;
	reload_count(1);
	steer_update();
	notify_ready("serving");
	notify_status("serving, generation %u", reload_newest());
	reload_answer(NULL);
	reload_kick();
}

/* An older generation's last process is gone: carry, free, go on. */
void
reload_row_gone(uint32_t generation)
{
	struct gen	*g = gen_find(generation), *cur;
	struct carry	*now;
	uint32_t	 pool;

	if (g == NULL) {
		/* A discarded starting generation: free its rows. */
		if (proc_gen_running(generation) == 0)
			proc_release_gen(generation);
		return;
	}
	if (g->state != GEN_OLD || proc_drain_gen(generation) > 0)
		return;
	pool = g->pool;
	if ((cur = gen_current(pool)) != NULL &&
	    (now = malloc(sizeof(*now))) != NULL) {
		carry_take(now, g->shm, g->conf);
		carry_add(cur->shm, cur->conf, g->conf, now,
		    g->snapshot);
		free(now);
	}
	log_info("generation %u: every process gone", generation);
	proc_release_gen(generation);
	gen_free(g);
	if (ms->pools[pool].removed && gen_count(pool, GEN_OLD) == 0 &&
	    gen_current(pool) == NULL && gen_next(pool) == NULL) {
		svc_pool_free(&ms->pools[pool]);
		ms->pools[pool].used = 0;
		ms->pools[pool].removed = 0;
	}
	reload_kick();
}

/* The most older generations any pool has alive. */
static size_t
reload_old_max(void)
{
	size_t	i, n, max = 0;

	for (i = 0; i < SL_MAX_POOLS; i++)
		if ((n = gen_count((uint32_t)i, GEN_OLD)) > max)
			max = n;
	return max;
}

static void
reload_kick(void)
{
	if (!rl.pending || rl.starting || ms->stopping)
		return;
	if (reload_old_max() >= GEN_MAX_LIVE - 1) {
		if (!rl.waiting_logged)
			log_warnx("reload waits: %zu older generations still "
			    "drain", reload_old_max());
		rl.waiting_logged = 1;
		return;
	}
	rl.pending = 0;
	rl.waiting_logged = 0;
	rl.run_scoped = rl.scoped;
	memcpy(rl.run_scope, rl.scope, sizeof(rl.scope));
	reload_start();
}

void
reload_request(uint64_t client_id, const char *tenant)
{
	struct ctl_client	*c;

	if (!ev_is_active(&rl.deadline) && rl.deadline.cb == NULL)
		ev_init(&rl.deadline, reload_deadline);
	if (ms->stopping) {
		if (client_id != 0 && (c = ctl_client_find(client_id)) != NULL)
			ctl_fail(c, "sluiced is stopping");
		return;
	}
	if (client_id != 0) {
		if (rl.nwaiters == sizeof(rl.waiters) / sizeof(rl.waiters[0])) {
			if ((c = ctl_client_find(client_id)) != NULL)
				ctl_fail(c, "too many reloads waiting");
			return;
		}
		rl.waiters[rl.nwaiters++] = client_id;
	}
	/* Merged with a pending one: one tenant's only if both are. */
	if (tenant != NULL && (!rl.pending || (rl.scoped &&
	    strcmp(rl.scope, tenant) == 0))) {
		rl.scoped = 1;
		snprintf(rl.scope, sizeof(rl.scope), "%s", tenant);
	} else
		rl.scoped = 0;
	rl.pending = 1;
	reload_kick();
}
