/*
 * Link health, one row per link in this worker's part of the region
 * (policy/counters.h: what a worker saw itself it acts on; what only
 * other workers saw moves a link after the others, never refuses it).
 *
 * Passive: every connect failure that is the link's fault (dial.c says
 * which; never a shortage of this host's descriptors, buffers, memory or
 * ephemeral ports) counts in this worker's row; a streak ends with any
 * success on the link by any worker (ok_ms).  Failures in a row are
 * counted over every worker's row, so two workers failing once each
 * make two; when they reach max_fails the worker that saw the last one
 * puts the link in its cool-down, which its own policy skips and the
 * other workers' policies try last.  When the cool-down ends, the next
 * session tries the link again and one more failure sends it back.
 *
 * Active: every worker dials each link's `check` target every interval,
 * from inside its sandbox, through the link itself (so a socks5 chain
 * is checked end to end), first at a random point of the interval so
 * the workers' checks spread out.  `fails` failures in a row mark the
 * link down in its row, `passes` successes bring it back.  A respawned
 * worker finds its slot's last verdict and goes on from it.
 *
 * Connect times: the racing code (race.c, session.c) feeds this worker's
 * moving average of each link, which its `fastest` strategy orders
 * links by.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../policy/counters.h"
#include "dial.h"
#include "egress.h"
#include "health.h"
#include "race.h"


struct health_check {
	uint32_t		 link;
	ev_timer		 timer;
	struct dial		 dial;
	struct sl_target	 target;
	uint32_t		 fails, passes;
	int			 busy;
};

static struct health_check *checks;
static size_t nchecks;

/* This worker's row: the only one it writes. */
static struct sl_link_health *
health_row(uint32_t link)
{
	return shm_health(eg.shm, eg.index, link);
}

/*
 * Failures in a row: this worker's streak, plus the other workers' but
 * at most max_fails - 1 of theirs, so that their rows alone never make
 * this worker skip a link: it takes one failure of its own.
 */
void
health_link_failed(uint32_t link, const char *why)
{
	const struct sl_link	*l = &eg.conf->links[link];
	struct sl_link_health	*h = health_row(link);
	struct sl_health	 all;
	uint64_t		 now = mono_ms(), last_ok;
	uint32_t		 own, others, f;

	/* Every worker's streak as it stood, ours included if current. */
	shm_health_read(eg.shm, link, -1, now, l->cooldown_ms, &all);
	last_ok = shm_health_last_ok(eg.shm, link, now);
	if ((own = shm_health_streak(h, last_ok, now)) == 0) {
		atomic_store(&h->fails, 0);
		atomic_store(&h->streak_ms, now);
	}
	atomic_fetch_add(&h->fails, 1);
	if (l->max_fails == 0)
		return;
	others = all.fails > own ? all.fails - own : 0;
	f = own + 1 + others;		/* what the log line says */
	if (own + 1 + (others < l->max_fails - 1 ? others :
	    l->max_fails - 1) < l->max_fails)
		return;
	atomic_store(&h->down_until_ms, now + l->cooldown_ms);
	/* Once per cool-down: sessions already under way fail quietly. */
	if (all.until_ms <= now)
		log_warnx("link %s: %u connect failures in a row (last: %s), "
		    "skipped for %u.%03u s", l->name, f, why,
		    l->cooldown_ms / 1000, l->cooldown_ms % 1000);
}

/*
 * Whether to say a link is back: it was failing by someone's rows, and
 * this worker has not said so within the link's cool-down (another
 * worker's scribbled streak must not make a line per connection).
 */
static int
health_back_line(uint32_t link, uint64_t now)
{
	static uint64_t	*said;
	static size_t	 nsaid;
	const struct sl_link *l = &eg.conf->links[link];

	if (nsaid != eg.conf->nlinks) {
		free(said);
		nsaid = 0;
		if ((said = calloc(eg.conf->nlinks, sizeof(*said))) == NULL)
			return 1;
		nsaid = eg.conf->nlinks;
	}
	if (said[link] != 0 && now - said[link] < l->cooldown_ms)
		return 0;
	said[link] = now;
	return 1;
}

/* A success ends every worker's streak (their readers see ok_ms). */
void
health_link_ok(uint32_t link)
{
	struct sl_link_health	*h = health_row(link);
	const struct sl_link	*l = &eg.conf->links[link];
	struct sl_health	 all;
	uint64_t		 now = mono_ms();

	if (l->max_fails > 0) {
		shm_health_read(eg.shm, link, -1, now, l->cooldown_ms, &all);
		if (all.fails >= l->max_fails && health_back_line(link, now))
			log_info("link %s: connected again, back in service",
			    l->name);
	}
	if (atomic_load_explicit(&h->ok_ms, memory_order_relaxed) != now)
		atomic_store_explicit(&h->ok_ms, now, memory_order_relaxed);
	if (atomic_load_explicit(&h->fails, memory_order_relaxed) == 0)
		return;
	atomic_store(&h->fails, 0);
	atomic_store(&h->down_until_ms, 0);
}

/*
 * avg = 7/8 avg + 1/8 sample, the first sample taken as is.  Rounded,
 * and never below 1 ms, since 0 means "unknown" to the policy (which
 * tries unknown links first).  Only this worker writes its row; a
 * value beyond an hour is a scribble and is replaced by the sample.
 */
void
health_connect_time(uint32_t link, uint64_t ms, int lower_bound)
{
	_Atomic uint64_t	*avg = &health_row(link)->connect_ms_avg;
	uint64_t		 old, nv;

	if (ms == 0)
		ms = 1;
	if (ms > SL_HEALTH_MS_MAX)
		ms = SL_HEALTH_MS_MAX;
	old = atomic_load_explicit(avg, memory_order_relaxed);
	do {
		if (old == 0 || old > SL_HEALTH_MS_MAX)
			nv = ms;
		else if (lower_bound && ms <= old)
			return;
		else
			nv = (old * 7 + ms + 4) / 8;
	} while (!atomic_compare_exchange_weak_explicit(avg, &old, nv,
	    memory_order_relaxed, memory_order_relaxed));
}

static void	health_check_fire(struct ev_loop *, ev_timer *, int);

/*
 * The first success says up; `fails` failures in a row say down, and
 * `passes` successes in a row bring a link that is down back.
 */
static void
health_check_verdict(struct health_check *c, int ok, const char *why)
{
	const struct sl_link	*l = &eg.conf->links[c->link];
	const struct sl_check	*k = &l->check;
	struct sl_link_health	*h = health_row(c->link);
	int			 down = atomic_load(&h->check) ==
				    SL_CHECK_DOWN;

	if (ok) {
		c->fails = 0;
		if (!down)
			atomic_store(&h->check, SL_CHECK_UP);
		else if (++c->passes >= k->passes) {
			atomic_store(&h->check, SL_CHECK_UP);
			log_info("link %s: health check passed, link up",
			    l->name);
		}
	} else {
		c->passes = 0;
		if (++c->fails >= k->fails && !down) {
			atomic_store(&h->check, SL_CHECK_DOWN);
			log_warnx("link %s: health check failed %u times (%s), "
			    "link down", l->name, c->fails, why);
		}
	}
}

static void
health_check_done(struct dial *d, int fd, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg)
{
	struct health_check *c = arg;

	(void)err;
	(void)bound;
	c->busy = 0;
	/* Made by the master, it may still be open there (race_close). */
	if (fd != -1)
		race_close(eg.loop, fd, d->fd_shared);
	/* This host ran short: that says nothing about the link. */
	if (fd == -1 && d->local_fault) {
		log_debug("link %s: health check skipped: %s",
		    eg.conf->links[c->link].name, why != NULL ? why : "");
		return;
	}
	health_check_verdict(c, fd != -1, why != NULL ? why : "");
}

static void
health_check_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_check *c = container_of(w, struct health_check, timer);

	(void)revents;
	if (c->busy)
		return;		/* the last one has not even timed out */
	c->busy = 1;
	dial_start(&c->dial, loop, eg.conf, (int)c->link, &c->target, NULL,
	    0, health_check_done, c);
	dial_set_timeout(&c->dial, eg.conf->links[c->link].check.timeout_ms);
}

void
health_checks_start(void)
{
	size_t	i, n = 0;

	for (i = 0; i < eg.conf->nlinks; i++)
		n += eg.conf->links[i].check.enabled != 0;
	if (n == 0)
		return;
	if ((checks = calloc(n, sizeof(*checks))) == NULL)
		fatal("%s: calloc", __func__);
	for (i = 0; i < eg.conf->nlinks; i++) {
		const struct sl_check	*k = &eg.conf->links[i].check;
		struct health_check	*c;

		if (!k->enabled)
			continue;
		c = &checks[nchecks++];
		c->link = (uint32_t)i;
		sl_target_set_addr(&c->target,
		    (const struct sockaddr *)&k->target, k->targetlen);
		/* Worker w starts w / nworkers into the interval. */
		ev_timer_init(&c->timer, health_check_fire,
		    (double)k->interval_ms * eg.index / eg.nworkers / 1000.0,
		    k->interval_ms / 1000.0);
		ev_timer_start(eg.loop, &c->timer);
	}
	log_debug("%zu health checks running", nchecks);
}
