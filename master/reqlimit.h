/*
 * Bounds on what one child can make the master do for it: how many
 * answers carrying a descriptor it may leave unread, and how often the
 * master logs about it.  Pure functions (no clock, no I/O) so that they
 * can be tested alone; bindany.c keeps one of each per process row.
 */
#ifndef SL_REQLIMIT_H
#define SL_REQLIMIT_H

#include <stdint.h>

/*
 * Socket answers a worker may leave unread.  An honest worker reads its
 * channel as soon as it can (a dial waits on the answer) and the master
 * handles at most 64 frames of one child per wakeup, so 64 is one full
 * batch.
 */
#define REQLIMIT_MAX_OUTSTANDING	64
/* Seconds between two log lines about one kind of event of one child. */
#define REQLIMIT_LOG_EVERY		10.0

struct reqlimit {
	uint32_t	outstanding;	/* answers since the child read all */
};

struct reqlog {
	double		logged;		/* when the last line went out */
	uint64_t	suppressed;	/* events since then, not logged */
	int		any;		/* a line went out already */
};

/* reqlimit.c */

void	reqlimit_init(struct reqlimit *);

/*
 * A request arrives.  drained: the child has read every frame sent to it
 * so far (nothing queued in the master, nothing unread in the socket), so
 * none of the earlier answers is outstanding any more.  Returns 1 when it
 * may be answered (and counts the answer), 0 when it is to be refused.
 */
int	reqlimit_admit(struct reqlimit *, int drained);

void	reqlog_init(struct reqlog *);

/*
 * Something worth a log line happened at now (seconds, monotonic).
 * Returns 1 when a line may be written now; *suppressed is then the
 * number of events not logged since the previous line.  Returns 0 (and
 * counts the event) when it is too soon.
 */
int	reqlog_allow(struct reqlog *, double now, uint64_t *suppressed);

#endif
