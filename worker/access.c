/*
 * A session's record when it ends: the access log.  The worker sends the
 * facts (ACCESS) and the master writes them, as a line of the main log or
 * into the access_log file (master/accesslog.c).  Also the record's parts
 * the session fills as it goes: its failure reason for the metrics and its
 * detail text, made only when set.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "../ipc/ipc_msg.h"
#include "access.h"
#include "session_priv.h"
#include "front/front.h"
#include "worker.h"

/* Copy s into d (size dlen), cut if it does not fit. */
static void
access_copy(char *d, size_t dlen, const char *s)
{
	size_t	n = strnlen(s, dlen - 1);

	memcpy(d, s, n);
	d[n] = '\0';
}

/* The client's address as ACCESS carries it: family 4 or 6, raw bytes. */
static void
access_client(struct sl_msg *m, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	memset(m->u.access.addr, 0, sizeof(m->u.access.addr));
	if (ss->ss_family == AF_INET) {
		m->u.access.family = 4;
		memcpy(m->u.access.addr, &sin->sin_addr, 4);
	} else {
		/* Not an inet client: reported as [::]:0. */
		m->u.access.family = 6;
		if (ss->ss_family == AF_INET6)
			memcpy(m->u.access.addr, &sin6->sin6_addr, 16);
	}
	m->u.access.port = sockaddr_port((const struct sockaddr *)ss);
}

/* No master to send it to: the line the worker used to log itself. */
static void
access_log_line(const struct session *s, const struct sl_msg *m)
{
	char	client[SL_ADDRSTRLEN];

	log_info("session %llu: %s%s%s %s -> %s via %s: up %llu down %llu "
	    "bytes, %llu.%03llu s, %s%s%s",
	    (unsigned long long)m->u.access.serial, m->u.access.front,
	    m->u.access.user[0] != '\0' ? " user " : "", m->u.access.user,
	    sockaddr_fmt((const void *)&s->client, client, sizeof(client)),
	    m->u.access.target,
	    s->link >= 0 ? wk->conf->links[s->link].name : "-",
	    (unsigned long long)m->u.access.up,
	    (unsigned long long)m->u.access.down,
	    (unsigned long long)(m->u.access.ms / 1000),
	    (unsigned long long)(m->u.access.ms % 1000), m->u.access.outcome,
	    m->u.access.detail[0] != '\0' ? ": " : "", m->u.access.detail);
}

void
access_session(const struct session *s, const char *outcome)
{
	static struct sl_msg	 m;	/* the union is large: not on the stack */
	uint64_t		 ms = mono_ms() - s->t_start;

	/* With no access_log, the record is an info line of the main log:
	   building it costs more than the check (issue 15). */
	if (wk->conf->access_log[0] == '\0' && log_get_level() < SL_LOG_INFO)
		return;
	memset(&m.u.access, 0, sizeof(m.u.access));
	m.type = SL_MSG_ACCESS;
	m.id = 0;
	m.fd = -1;
	m.u.access.serial = s->id;
	m.u.access.listener = (uint32_t)(s->listener - wk->conf->listeners);
	m.u.access.link = s->link >= 0 ? (uint32_t)s->link : SL_CTL_ANY;
	access_client(&m, (const void *)&s->client);
	if (s->state == S_RELAY) {
		m.u.access.up = s->relay.up.bytes;
		m.u.access.down = s->relay.down.bytes;
	}
	m.u.access.ms = ms;
	access_copy(m.u.access.front, sizeof(m.u.access.front),
	    s->front->name);
	session_target_fmt(s, m.u.access.target,
	    sizeof(m.u.access.target));
	access_copy(m.u.access.user, sizeof(m.u.access.user),
	    s->user != NULL ? s->user : "");
	access_copy(m.u.access.outcome, sizeof(m.u.access.outcome), outcome);
	access_copy(m.u.access.detail, sizeof(m.u.access.detail),
	    session_detail_text(s));
	if (wk->master != NULL && ipc_chan_send(wk->master, &m) == 0)
		return;
	access_log_line(s, &m);
}

/*
 * The metrics' reason for a session that ended before its relay, or -1:
 * relayed sessions and a drain's shutdown are no front-end error.
 */
int
access_ferr(const struct session *s, const char *outcome)
{
	static const struct {
		const char	*outcome;
		enum sl_ferr	 reason;
	} by_outcome[] = {
		{ "handshake timeout", SL_FERR_TIMEOUT },
		{ "handshake evicted", SL_FERR_REFUSED },
		{ "bad client", SL_FERR_BAD_REQUEST },
		{ "auth failed", SL_FERR_AUTH },
		{ "refused", SL_FERR_REFUSED },
		{ "no service", SL_FERR_NO_SERVICE },
		{ "client error", SL_FERR_CLIENT },
		{ "aborted", SL_FERR_CLIENT },
	};
	size_t	i;

	if (s->state == S_RELAY || s->state == S_FRONT ||
	    strcmp(outcome, "shutdown") == 0)
		return -1;
	for (i = 0; i < sizeof(by_outcome) / sizeof(by_outcome[0]); i++)
		if (strcmp(outcome, by_outcome[i].outcome) == 0)
			return by_outcome[i].reason;
	switch (s->err) {
	case SL_CONN_OK:
		/* A refusal before any connect: "failed, reply 0xff" for a
		   SOCKS5 greeting with no method sluice takes. */
		return strncmp(outcome, "failed", 6) == 0 ?
		    SL_FERR_BAD_REQUEST : SL_FERR_OTHER;
	case SL_CONN_NOT_ALLOWED:
		return SL_FERR_NOT_ALLOWED;
	case SL_CONN_NET_UNREACH:
	case SL_CONN_HOST_UNREACH:
		return SL_FERR_UNREACHABLE;
	case SL_CONN_REFUSED:
		return SL_FERR_CONN_REFUSED;
	case SL_CONN_TIMEOUT:
		return SL_FERR_CONN_TIMEOUT;
	default:
		return SL_FERR_UPSTREAM;
	}
}

/* ---- the detail text of the record ---- */

/*
 * The text is made when first needed: an established session, which has
 * none, does not carry SESSION_DETAIL_MAX bytes for it.  Without memory
 * the detail is lost, never the session.
 */
void
session_vdetail(struct session *s, const char *fmt, va_list ap)
{
	if (s->detail == NULL &&
	    (s->detail = malloc(SESSION_DETAIL_MAX)) == NULL)
		return;
	(void)vsnprintf(s->detail, SESSION_DETAIL_MAX, fmt, ap);
}

void
session_detail(struct session *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	session_vdetail(s, fmt, ap);
	va_end(ap);
}

const char *
session_detail_text(const struct session *s)
{
	return s->detail != NULL ? s->detail : "";
}

void
session_detail_clear(struct session *s)
{
	free(s->detail);
	s->detail = NULL;
}

void
session_target_fmt(const struct session *s, char *buf, size_t len)
{
	if (s->target != NULL)
		sl_target_fmt(s->target, buf, len);
	else
		snprintf(buf, len, "%s", s->target_text != NULL ?
		    s->target_text : "-");
}

/* The relay has started: the target is only text from now on. */
void
session_target_keep_text(struct session *s)
{
	char	buf[SL_MAX_NAME + 16];

	if (s->target == NULL)
		return;
	sl_target_fmt(s->target, buf, sizeof(buf));
	/* No memory: the full target stays, which is only bigger. */
	if ((s->target_text = strdup(buf)) == NULL)
		return;
	free(s->target);
	s->target = NULL;
}
