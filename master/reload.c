/*
 * Reload: nginx's cycle of generations (SIGHUP, `sluicectl reload`).
 *
 *  1. The config file is read and checked as at start-up; a bad one is
 *     refused with the same "PATH: problem" and nothing changes.
 *  2. A new generation is made beside the running one: listeners that
 *     stay keep their sockets (listen_reload: same address, same kind
 *     of socket), new ones are bound; a new shared region starts with
 *     the running one's totals, link health and route cache
 *     (carry.c); a new config memfd; one row per process (workers,
 *     resolver, registry), started.  The old generation serves on
 *     meanwhile, on the same sockets: no connection is refused.
 *  3. When every new process is ready, the new generation becomes
 *     current and the old one gets DRAIN, workers first: they take in
 *     what is queued on sockets they are leaving, stop accepting, finish
 *     their sessions (at most shutdown_timeout) and exit; then its
 *     resolver and registry.  What it counted meanwhile is carried into
 *     the current region when its last process is gone.
 *  4. A new generation not ready within RELOAD_READY_S is killed and the
 *     old one keeps serving.
 *
 * Reloads never overlap: one asked while another starts (a SIGHUP
 * storm) is merged into a single next one, run when the starting one is
 * done, so the config serving at the end is the last one read.  At most
 * GEN_MAX_LIVE generations live at once; past that, a reload waits for
 * the oldest to finish draining.
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
	uint64_t	 waiters[CTL_MAX_CLIENTS * 2];
	size_t		 nwaiters;
	ev_timer	 deadline;
	struct carry	*snapshot;	/* the current totals when the new
					   region copied them */
	int		 waiting_logged;
	uint32_t	 last_id;	/* generation ids are never reused: a
					   dropped one may still be dying */
} rl;

static void	reload_kick(void);

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
			    ms->generation);
			ctl_reply(c, r);
		} else
			ctl_fail(c, "out of memory");
	}
	rl.nwaiters = 0;
}

static void
reload_refused(const char *why)
{
	log_warnx("reload refused: %s; generation %u keeps serving", why,
	    ms->generation);
	atomic_fetch_add(&shm_global(ms->shm)->reload_failures, 1);
	notify_ready("serving; the last reload was refused");
	notify_status("reload refused: %s", why);
	reload_answer(why);
}

/* What a reload cannot change in a running master. */
static int
reload_check(const struct sl_conf *conf, char *err, size_t errlen)
{
	if (!pcap_same(conf)) {
		snprintf(err, errlen, "pcap taps: a reload keeps the capture "
		    "files open, so it cannot add, remove or reorder them "
		    "(restart sluiced for that)");
		return -1;
	}
	if (strcmp(conf->chroot, ms->conf->chroot) != 0 &&
	    privdir_prepare(conf->chroot, err, errlen) == -1)
		return -1;
	return accesslog_check(conf, err, errlen);
}

/* A new generation's own resources; -1 with err. */
static int
reload_make(struct gen *g, struct conf_load *cl, char *err, size_t errlen)
{
	if (rl.last_id < ms->generation)
		rl.last_id = ms->generation;
	g->id = ++rl.last_id;
	g->conf = cl->conf;
	g->conf_text = cl->text;
	g->conf_len = cl->len;
	g->nworkers = cl->nworkers;
	g->uid = cl->uid;
	g->gid = cl->gid;
	g->resolver_uid = cl->resolver_uid;
	g->resolver_gid = cl->resolver_gid;
	g->registry_uid = cl->registry_uid;
	g->registry_gid = cl->registry_gid;
	memset(cl, 0, sizeof(*cl));
	if (listen_reload(g->conf, g->nworkers, g->lfds, err, errlen) == -1)
		return -1;
	if (shm_make(g->nworkers, (uint32_t)g->conf->nlinks, &g->shm_fd,
	    &g->shm, &g->shmsize) == -1 ||
	    (g->conf_fd = conf_memfd(g->conf_text, g->conf_len)) == -1) {
		snprintf(err, errlen, "shared region or config memfd: %s",
		    strerror(errno));
		return -1;
	}
	if ((rl.snapshot = malloc(sizeof(*rl.snapshot))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	carry_take(rl.snapshot, ms->shm, ms->nworkers, ms->conf);
	carry_add(g->shm, g->nworkers, g->conf, ms->conf, rl.snapshot, NULL);
	carry_state(g->shm, g->nworkers, g->conf, ms->shm, ms->nworkers,
	    ms->conf);
	return 0;
}

/* A generation that never became current: its processes and resources. */
static void
reload_discard(struct gen *g)
{
	gen_set_next(NULL);
	if (proc_gen_running(g->id) > 0)
		proc_kill_gen(g->id, SIGKILL);
	else
		proc_release_gen(g->id);
	gen_free(g);
	free(rl.snapshot);
	rl.snapshot = NULL;
}

static void
reload_start(void)
{
	struct conf_load	 cl;
	struct gen		*g;
	char			 err[1024], msg[1200];

	notify_reloading();
	log_info("reloading %s", ms->conf_path);
	if (master_config_load(ms->conf_path, &cl, err, sizeof(err)) == -1 ||
	    reload_check(cl.conf, err, sizeof(err)) == -1) {
		if (cl.conf != NULL)
			master_config_unload(&cl);
		snprintf(msg, sizeof(msg), "%s: %s", ms->conf_path, err);
		reload_refused(msg);
		return;
	}
	if ((g = gen_new()) == NULL) {
		master_config_unload(&cl);
		reload_refused("out of memory");
		return;
	}
	gen_set_next(g);
	if (reload_make(g, &cl, err, sizeof(err)) == -1) {
		reload_discard(g);
		reload_refused(err);
		return;
	}
	if (proc_add_rows(0, g->id) == -1) {
		reload_discard(g);
		reload_refused("the process table is full");
		return;
	}
	ev_timer_set(&rl.deadline, RELOAD_READY_S, 0.);
	ev_timer_start(ms->loop, &rl.deadline);
	proc_start_gen(g->id);
}

static void
reload_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gen	*g = gen_next();

	(void)loop;
	(void)w;
	(void)revents;
	if (g == NULL)
		return;
	log_warnx("generation %u not ready within %.0f s: dropped", g->id,
	    RELOAD_READY_S);
	reload_discard(g);
	reload_refused("the new generation's processes did not start");
	reload_kick();
}

/* The old generation's part once the new one is current. */
static void
reload_retire(struct gen *old)
{
	struct sl_global_ctr	*gc = shm_global(ms->shm);
	char			 err[256];

	old->snapshot = rl.snapshot;
	rl.snapshot = NULL;
	memset(ms->allow, 0, sizeof(ms->allow));
	ms->log_level = ms->conf->log_level;
	log_set_level(ms->log_level);
	log_set_json(ms->conf->log_json);
	if (control_reconf(ms->conf, err, sizeof(err)) == -1)
		log_warnx("reload: %s (the control socket stays as it was)",
		    err);
	if (accesslog_open(ms->conf, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	/* Master copies of sockets the new generation does not use. */
	listen_close_unused(old->lfds, ms->lfds);
	ms->reloads++;
	atomic_fetch_add(&gc->reloads, 1);
	atomic_store(&gc->generation, ms->generation);
	atomic_store(&gc->reloaded_unix, (uint64_t)time(NULL));
	proc_table_broadcast();
	steer_update();
	/* Nothing of it running (every row waiting on a respawn): gone now. */
	if (proc_drain_gen(old->id) == 0)
		reload_row_gone(old->id);
}

void
reload_ready(void)
{
	struct gen	*old;
	uint32_t	 old_id;

	ev_timer_stop(ms->loop, &rl.deadline);
	if ((old = gen_switch()) == NULL) {
		/* Cannot happen: reload_kick() keeps a slot free. */
		reload_discard(gen_next());
		reload_refused("too many generations alive");
		return;
	}
	old_id = old->id;
	log_info("reload: generation %u serves (%u workers, %zu listeners, "
	    "%zu links); generation %u drains", ms->generation, ms->nworkers,
	    ms->conf->nlisteners, ms->conf->nlinks, old_id);
	reload_retire(old);	/* may free old */
	notify_ready("serving");
	notify_status("serving, generation %u", ms->generation);
	reload_answer(NULL);
	reload_kick();
}

/* An older generation's last process is gone: carry, free, go on. */
void
reload_row_gone(uint32_t generation)
{
	struct gen	*g = gen_find(generation);
	struct carry	*now;

	if (g == NULL) {
		/* A discarded starting generation: free its rows. */
		if (gen_next() == NULL || gen_next()->id != generation)
			if (proc_gen_running(generation) == 0)
				proc_release_gen(generation);
		return;
	}
	if (proc_drain_gen(generation) > 0)
		return;
	if ((now = malloc(sizeof(*now))) != NULL) {
		carry_take(now, g->shm, g->nworkers, g->conf);
		carry_add(ms->shm, ms->nworkers, ms->conf, g->conf, now,
		    g->snapshot);
		free(now);
	}
	log_info("generation %u: every process gone", generation);
	proc_release_gen(generation);
	gen_free(g);
	reload_kick();
}

static void
reload_kick(void)
{
	if (!rl.pending || gen_next() != NULL || ms->stopping)
		return;
	if (gen_count() >= GEN_MAX_LIVE - 1) {
		if (!rl.waiting_logged)
			log_warnx("reload waits: %zu older generations still "
			    "drain", gen_count());
		rl.waiting_logged = 1;
		return;
	}
	rl.pending = 0;
	rl.waiting_logged = 0;
	reload_start();
}

void
reload_request(uint64_t client_id)
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
	rl.pending = 1;
	reload_kick();
}
