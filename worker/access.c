/*
 * A session's record when it ends: the access log.
 */
#include <stdio.h>

#include "../common/log.h"
#include "../common/util.h"
#include "access.h"
#include "front/front.h"
#include "worker.h"

void
access_session(const struct session *s, const char *outcome)
{
	char		 c[SL_ADDRSTRLEN], t[SL_MAX_NAME + 8];
	uint64_t	 ms = mono_ms() - s->t_start;
	uint64_t	 up = 0, down = 0;

	/* The formatting below costs more than the check (issue 15). */
	if (log_get_level() < SL_LOG_INFO)
		return;
	if (s->state == S_RELAY) {
		up = s->relay.up.bytes;
		down = s->relay.down.bytes;
	}
	sl_target_fmt(&s->target, t, sizeof(t));
	log_info("session %llu: %s%s%s %s -> %s via %s: up %llu down %llu "
	    "bytes, %llu.%03llu s, %s%s%s", (unsigned long long)s->id,
	    s->front->name, s->user != NULL ? " user " : "",
	    s->user != NULL ? s->user : "",
	    sockaddr_fmt((const void *)&s->client, c, sizeof(c)), t,
	    s->link >= 0 ? wk->conf->links[s->link].name : "-",
	    (unsigned long long)up, (unsigned long long)down,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    outcome, s->detail[0] ? ": " : "", s->detail);
}
