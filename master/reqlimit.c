/*
 * Per-child bounds for requests the master answers (see reqlimit.h).
 *
 * Why "unread answers" and not a rate: what a flood costs the master is
 * descriptors in flight.  Every SOCK_FD answer the child has not read is
 * a socket held in the channel (or, once the channel is full, a dup in
 * the master's own queue), and in-flight descriptors count against
 * uid 0's RLIMIT_NOFILE in the kernel: a child that asks and never reads
 * would otherwise make every later descriptor passing of the master fail
 * with ETOOMANYREFS.  An honest worker under load asks often but reads
 * at once, so a bound on unread answers costs it nothing where a rate
 * would.
 */
#include <stddef.h>

#include "reqlimit.h"

void
reqlimit_init(struct reqlimit *r)
{
	r->outstanding = 0;
}

int
reqlimit_admit(struct reqlimit *r, int drained)
{
	if (drained)
		r->outstanding = 0;
	if (r->outstanding >= REQLIMIT_MAX_OUTSTANDING)
		return 0;
	r->outstanding++;
	return 1;
}

void
reqlog_init(struct reqlog *l)
{
	l->logged = 0;
	l->suppressed = 0;
	l->any = 0;
}

int
reqlog_allow(struct reqlog *l, double now, uint64_t *suppressed)
{
	/* A clock going backwards must not silence the log for good. */
	if (l->any && now >= l->logged &&
	    now - l->logged < REQLIMIT_LOG_EVERY) {
		l->suppressed++;
		return 0;
	}
	*suppressed = l->suppressed;
	l->suppressed = 0;
	l->logged = now;
	l->any = 1;
	return 1;
}
