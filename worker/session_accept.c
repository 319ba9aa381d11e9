/*
 * Accepting clients and admitting them: the listener's `clients` or
 * `proxy_protocol_from` before a byte is read, then `max_handshakes`
 * and `max_threads` (session.h has the session itself).
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "../policy/select.h"
#include "session_priv.h"
#include "worker.h"

#define ACCEPT_BURST		64
/*
 * With max_handshakes reached, a handshake this old makes room for a new
 * client: an honest client speaks within a round trip, so what has been
 * silent this long is more likely a stalled socket than a slow client.
 */
#define HANDSHAKE_EVICT_MS	200

static void
session_refuse(int fd, const struct sockaddr_storage *ss,
    const struct sl_listener *l, const char *why, uint64_t *last)
{
	char		 a[SL_ADDRSTRLEN];
	uint64_t	 now = mono_ms();

	atomic_fetch_add(&shm_worker(wk->shm, wk->index)->listeners[l -
	    wk->conf->listeners].errors[SL_FERR_REFUSED], 1);
	if (now - *last >= 1000) {
		*last = now;
		log_warnx("refusing %s: %s",
		    sockaddr_fmt((const void *)ss, a, sizeof(a)), why);
	}
	close(fd);
}

/*
 * Handshakes have a bound of their own, below max_threads, so stalled
 * sockets cannot take every session slot: with max_handshakes reached,
 * the oldest handshake of this worker makes room if it is at least
 * HANDSHAKE_EVICT_MS old, else the newcomer is refused.  The counts are
 * daemon-wide, read and bumped without a lock: workers accepting at the
 * same instant may overshoot a limit by one each.
 */
static int
session_admit(int fd, const struct sockaddr_storage *ss,
    const struct sl_listener *l)
{
	static uint64_t	 last_full, last_hs;
	const uint32_t	 maxhs = wk->conf->max_handshakes;
	struct session	*old;
	char		 why[128], a[SL_ADDRSTRLEN];
	uint64_t	 now;

	if (shm_handshakes(wk->shm, wk->nworkers, maxhs) >= maxhs) {
		now = mono_ms();
		old = session_oldest_handshake();
		if (wk->draining || old == NULL ||
		    now - old->t_start < HANDSHAKE_EVICT_MS) {
			snprintf(why, sizeof(why), "max_handshakes (%u) "
			    "handshakes in progress", maxhs);
			session_refuse(fd, ss, l, why, &last_hs);
			return -1;
		}
		if (now - last_hs >= 1000) {
			last_hs = now;
			log_warnx("max_handshakes (%u) reached: closing the "
			    "handshake of %s, %llu ms old, for a new client",
			    maxhs, sockaddr_fmt((const void *)
			    &old->client, a, sizeof(a)),
			    (unsigned long long)(now - old->t_start));
		}
		session_detail(old, "max_handshakes (%u) reached", maxhs);
		session_close(old, "handshake evicted");
	}
	if (shm_sessions(wk->shm, wk->nworkers,
	    wk->conf->max_sessions) >= wk->conf->max_sessions) {
		snprintf(why, sizeof(why), "max_threads (%u) sessions open",
		    wk->conf->max_sessions);
		session_refuse(fd, ss, l, why, &last_full);
		return -1;
	}
	return 0;
}

int
session_accept(int lfd, const struct sl_listener *l)
{
	static uint64_t		last_client;
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			why[128];
	int			fd, i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("%s: accept", __func__);
				worker_accept_pause();
			}
			return i;
		}
		sockaddr_unmap(&ss, &len);
		/* Before a byte is read: a stranger learns nothing. */
		if (l->proxy_protocol && !policy_cidrs_match(l->proxy_from,
		    l->nproxy_from, (const struct sockaddr *)&ss)) {
			snprintf(why, sizeof(why), "not in listener %s's "
			    "proxy_protocol_from", l->name);
			session_refuse(fd, &ss, l, why, &last_client);
			continue;
		}
		/* Behind a balancer: checked once the header says who. */
		if (!l->proxy_protocol && l->nclients > 0 &&
		    !policy_cidrs_match(l->clients,
		    l->nclients, (const struct sockaddr *)&ss)) {
			snprintf(why, sizeof(why), "not in listener %s's "
			    "clients", l->name);
			session_refuse(fd, &ss, l, why, &last_client);
			continue;
		}
		if (session_admit(fd, &ss, l) == 0)
			session_new(fd, &ss, l);
	}
	return i;
}
