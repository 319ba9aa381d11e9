/*
 * Accepting clients and admitting them: the listener's `clients` or
 * `proxy_protocol_from` before a byte is read, then `max_handshakes`
 * and `max_threads`; then the new session, its client watcher and its
 * handshake timer (session.h has the session itself).
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "../policy/select.h"
#include "front/front.h"
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

	if (shm_handshakes(wk->shm, maxhs) >= maxhs) {
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
	if (shm_sessions(wk->shm, wk->conf->max_sessions) >=
	    wk->conf->max_sessions) {
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

/* ---- a new session: its client watcher and handshake timer ---- */

static void
session_client_read(struct session *s)
{
	ssize_t	n;

	if (s->inlen == s->incap) {
		session_detail(s, "request too long");
		session_close(s, "bad client");
		return;
	}
	n = recv(s->cfd, s->in + s->inlen, s->incap - s->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && s->state == S_FRONT && s->front->eof != NULL) {
		s->front->eof(s, n == 0 ? 0 : errno);
		return;
	}
	if (n <= 0) {
		session_detail(s, "%s", n == 0 ?
		    "client closed during handshake" : strerror(errno));
		session_close(s, "aborted");
		return;
	}
	s->inlen += (size_t)n;
	if (s->pp_in) {
		if (session_pp_read(s) <= 0)
			return;
		if (s->front->connect_first != NULL) {
			s->front->connect_first(s);
			return;
		}
		if (s->inlen == 0)
			return;
	}
	s->front->input(s);
}

static void
session_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = container_of(w, struct session_hs, cio)->s;

	(void)loop;
	if (revents & EV_WRITE)
		session_flush(s);
	else
		session_client_read(s);
}

static void
session_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = container_of(w, struct session_hs, timer)->s;

	(void)loop;
	(void)revents;
	/* The timer has fired, so session_close cannot see it armed. */
	atomic_fetch_sub(&session_row()->handshakes, 1);
	session_detail(s, "no request within %u ms",
	    s->listener->timeout_ms);
	session_close(s, "handshake timeout");
}

/*
 * ProxyServer's controller_user: the name of the controller at this
 * address, shown as the session's user (an authenticated user, later,
 * takes its place).  NULL when the listener names none.
 */
static const char *
session_controller(const struct sl_listener *l,
    const struct sockaddr_storage *ss)
{
	size_t	i;

	for (i = 0; i < l->ncontrollers; i++)
		if (policy_cidrs_match(&l->controllers[i].addr, 1,
		    (const struct sockaddr *)ss))
			return l->controllers[i].name;
	return NULL;
}

void
session_new(int fd, const struct sockaddr_storage *ss,
    const struct sl_listener *l)
{
	session_new_with(fd, ss, l, NULL);
}

/*
 * A stream a tunnel brought (worker/front/agent.c): no accept, no
 * `clients` (the tunnel process authenticated the agent), but the same
 * admission as a client.  0, or -1 refused (fd closed, logged).
 */
int
session_accept_stream(int fd, const struct sockaddr_storage *ss,
    const struct sl_listener *l, void *fstate)
{
	if (session_admit(fd, ss, l) == -1)
		return -1;
	session_new_with(fd, ss, l, fstate);
	return 0;
}

void
session_new_with(int fd, const struct sockaddr_storage *ss,
    const struct sl_listener *l, void *fstate)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->hs = malloc(sizeof(*s->hs))) == NULL ||
	    (s->target = calloc(1, sizeof(*s->target))) == NULL) {
		log_warn("%s: calloc", __func__);
		if (s != NULL)
			free(s->hs);
		free(s);
		free(fstate);
		close(fd);
		return;
	}
	/* All but the input buffer zeroed: it is read only up to inlen. */
	memset(s->hs, 0, offsetof(struct session_hs, in0));
	s->hs->s = s;
	s->id = ++wk->next_id;	/* unique with the worker index */
	s->cfd = fd;
	s->tfd = -1;
	s->link = -1;
	/* accept(2) gives IPv4 or IPv6, which the union holds. */
	memcpy(&s->client, ss, ss->ss_family == AF_INET ?
	    sizeof(s->client.sin) : sizeof(s->client.sin6));
	s->listener = l;
	s->user = session_controller(l, ss);
	s->pp_in = (uint8_t)l->proxy_protocol;
	s->front = front_for(l->kind);
	s->fstate = fstate;
	s->in = s->hs->in0;
	s->incap = SESSION_IN;
	s->t_start = mono_ms();
	TAILQ_INSERT_TAIL(&wk->sessions, s, entry);
	wk->nsessions++;
	atomic_fetch_add(&session_row()->sessions, 1);
	atomic_fetch_add(&session_row()->handshakes, 1);
	atomic_fetch_add(&session_row()->accepted, 1);
	atomic_fetch_add(&session_listener_ctr(s)->active, 1);
	atomic_fetch_add(&session_listener_ctr(s)->opened, 1);
	/*
	 * Over a limit: its request is read, then refused (session_limited).
	 * Behind a balancer, once the PROXY header says who the client is.
	 */
	if (!l->proxy_protocol)
		(void)limits_admit(l, (const struct sockaddr *)ss, &s->lim);
	ev_io_init(&s->hs->cio, session_client_io, fd, EV_READ);
	ev_io_start(wk->loop, &s->hs->cio);
	ev_timer_init(&s->hs->timer, session_timeout,
	    l->timeout_ms / 1000.0, 0.);
	ev_timer_start(wk->loop, &s->hs->timer);
	if (s->front->start != NULL)
		s->front->start(s);
	if (s->front->connect_first != NULL && !s->pp_in) {
		s->front->connect_first(s);
		return;
	}
	/*
	 * The other front-ends' clients speak first, and their first bytes
	 * are often here already: read now rather than after one more turn
	 * of the loop (EAGAIN just leaves the watcher to wait).
	 */
	session_client_read(s);
}
