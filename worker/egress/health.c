/*
 * Link health in the shared region.
 *
 * Passive: every connect failure that is the link's fault (dial.c says
 * which; never a shortage of this host's descriptors, buffers, memory or
 * ephemeral ports) counts; max_fails in a row put the link in a
 * cool-down during which the policy skips it; any success resets the
 * count.  When the cool-down ends, the next session tries the link again
 * and one more failure sends it back.
 *
 * Active: worker 0 dials each link's `check` target every interval, from
 * inside its sandbox, through the link itself (so a socks5 chain is
 * checked end to end).  `fails` failures in a row mark the link down,
 * `passes` successes bring it back.  If worker 0 dies, checks pause until
 * it is respawned; the last verdict stays in the region meanwhile.
 *
 * Connect times: the racing code (race.c, session.c) feeds each link's
 * moving average, which the `fastest` strategy orders links by.
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

#define HEALTH_MS_MAX	(3600u * 1000)	/* connect-time averages */

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

static struct sl_link_health *
health_row(uint32_t link)
{
	return shm_health(eg.shm, link);
}

void
health_link_failed(uint32_t link, const char *why)
{
	const struct sl_link	*l = &eg.conf->links[link];
	struct sl_link_health	*h = health_row(link);
	uint32_t		 f;

	uint64_t		 now, was;

	f = atomic_fetch_add(&h->fails, 1) + 1;
	if (l->max_fails == 0 || f < l->max_fails)
		return;
	now = mono_ms();
	was = atomic_exchange(&h->down_until_ms, now + l->cooldown_ms);
	/* Once per cool-down: sessions already under way fail quietly. */
	if (f == l->max_fails || was <= now)
		log_warnx("link %s: %u connect failures in a row (last: %s), "
		    "skipped for %u.%03u s", l->name, f, why,
		    l->cooldown_ms / 1000, l->cooldown_ms % 1000);
}

void
health_link_ok(uint32_t link)
{
	struct sl_link_health	*h = health_row(link);
	const struct sl_link	*l = &eg.conf->links[link];

	if (atomic_load_explicit(&h->fails, memory_order_relaxed) == 0)
		return;
	if (atomic_exchange(&h->fails, 0) >= l->max_fails && l->max_fails > 0)
		log_info("link %s: connected again, back in service", l->name);
	atomic_store(&h->down_until_ms, 0);
}

/*
 * avg = 7/8 avg + 1/8 sample, the first sample taken as is.  Rounded,
 * and never below 1 ms, since 0 means "unknown" to the policy (which
 * tries unknown links first).  Workers update it concurrently with a
 * relaxed compare-and-swap; a value beyond an hour is a scribble and is
 * replaced by the sample.
 */
void
health_connect_time(uint32_t link, uint64_t ms, int lower_bound)
{
	_Atomic uint64_t	*avg = &health_row(link)->connect_ms_avg;
	uint64_t		 old, nv;

	if (ms == 0)
		ms = 1;
	if (ms > HEALTH_MS_MAX)
		ms = HEALTH_MS_MAX;
	old = atomic_load_explicit(avg, memory_order_relaxed);
	do {
		if (old == 0 || old > HEALTH_MS_MAX)
			nv = ms;
		else if (lower_bound && ms <= old)
			return;
		else
			nv = (old * 7 + ms + 4) / 8;
	} while (!atomic_compare_exchange_weak_explicit(avg, &old, nv,
	    memory_order_relaxed, memory_order_relaxed));
}

static void	health_check_fire(struct ev_loop *, ev_timer *, int);

static void
health_check_verdict(struct health_check *c, int ok, const char *why)
{
	const struct sl_link	*l = &eg.conf->links[c->link];
	const struct sl_check	*k = &l->check;
	struct sl_link_health	*h = health_row(c->link);
	int			 down = atomic_load(&h->check_down) != 0;

	if (ok) {
		c->fails = 0;
		if (++c->passes >= k->passes && down) {
			atomic_store(&h->check_down, 0);
			log_info("link %s: health check passed, link up",
			    l->name);
		}
	} else {
		c->passes = 0;
		if (++c->fails >= k->fails && !down) {
			atomic_store(&h->check_down, 1);
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
		ev_timer_init(&c->timer, health_check_fire, 0.,
		    k->interval_ms / 1000.0);
		ev_timer_start(eg.loop, &c->timer);
	}
	log_debug("%zu health checks running", nchecks);
}
