/*
 * The master's capabilities: it stays uid 0 but keeps only what it and
 * its freshly exec'd children need.
 */
#ifndef SL_CAPS_H
#define SL_CAPS_H

#include <stddef.h>

struct sl_conf;

/* caps.c */

/*
 * Decide which network capabilities conf needs at run time (CAP_NET_RAW
 * for a direct link bound to an interface, CAP_NET_BIND_SERVICE when such
 * a link binds a source port below 1024) and why; conf NULL: none.
 * caps_master_reduce() calls it; the reasons go to caps_master_describe().
 */
void		 caps_master_plan(const struct sl_conf *conf);

/*
 * Master, at start-up after privdir_prepare() and before anything reads
 * input from outside: drop every capability but the kept list (and what
 * caps_master_plan() finds any of the n confs needs) from the
 * bounding, permitted, effective and inheritable sets, clear the ambient
 * set, and verify the result (fatal if anything is off).  Children are
 * exec'd as root and so start with exactly the bounding set.  A master
 * not running as root has nothing to drop: a warning and no change.
 */
void		 caps_master_reduce(const struct sl_conf *const *confs,
		    size_t n);

/*
 * The permitted set of the calling process as a comma-separated list of
 * names ("cap_kill,cap_setuid,...", or "none"), then why each network
 * capability is kept ("; keeping CAP_NET_RAW: link x binds to interface
 * eth0", or "; keeping no network capabilities"), for the start-up log
 * line.  Always terminated, cut to len.  Returns buf.
 */
const char	*caps_master_describe(char *buf, size_t len);

#endif
