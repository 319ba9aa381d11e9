/*
 * The master's capabilities: it stays uid 0 but keeps only what it and
 * its freshly exec'd children need.
 */
#ifndef SL_CAPS_H
#define SL_CAPS_H

#include <stddef.h>

/* caps.c */

/*
 * Master, at start-up after privdir_prepare() and before anything reads
 * input from outside: drop every capability but the kept list from the
 * bounding, permitted, effective and inheritable sets, clear the ambient
 * set, and verify the result (fatal if anything is off).  Children are
 * exec'd as root and so start with exactly the bounding set.  A master
 * not running as root has nothing to drop: a warning and no change.
 */
void		 caps_master_reduce(void);

/*
 * The permitted set of the calling process as a comma-separated list of
 * names ("cap_kill,cap_setuid,...", or "none") for the start-up log line.
 * Returns buf.
 */
const char	*caps_master_describe(char *buf, size_t len);

#endif
