/*
 * Link selection: given a request and the live counters, the ordered list
 * of links to try.  Pure code over explicit inputs, no I/O.
 */
#ifndef SL_SELECT_H
#define SL_SELECT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct sl_route_req {
	const char		*host;		/* target name, or NULL */
	const struct sockaddr	*addr;		/* target address, or NULL */
	uint16_t		 port;
	const struct sockaddr	*client;
};

/* Live view the caller builds from the shared counters. */
struct sl_route_view {
	void		*shm;		/* counters region (counters.h) */
	uint32_t	 nworkers;
	uint32_t	 rnd;		/* a random number for random_link */
};

/* select.c */

/*
 * Fill out[] with up to cap link indexes in the order they should be tried
 * and return how many.  Returns 0 when the request is refused; *why then
 * names the rule that refused it.
 */
size_t	policy_select(const struct sl_conf *, const struct sl_route_req *,
	    const struct sl_route_view *, uint32_t *out, size_t cap,
	    const char **why);

#endif
