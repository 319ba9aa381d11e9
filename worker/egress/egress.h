/*
 * The egress layer: everything that reaches a target over a link
 * (dialing, SOCKS5 hops, happy eyeballs, racing, the route cache, link
 * health, resolver lookups, sockets from the master).  It speaks only
 * struct sl_target and enum sl_conn_err, reports through callbacks, and
 * names nothing above it: the worker hands it this environment once.
 */
#ifndef SL_EGRESS_H
#define SL_EGRESS_H

#include <ev.h>
#include <stdint.h>

#include "../../common/target.h"
#include "../../ipc/chan.h"
#include "../../policy/config.h"

struct sl_shm;

struct egress_env {
	struct ev_loop		*loop;
	const struct sl_conf	*conf;
	const struct sl_shm	*shm;		/* the shared region */
	uint32_t		 nworkers;
	uint32_t		 index;		/* this worker's row */
	struct ipc_chan		*master;	/* NULL once it is gone */
};

/* egress.c */
extern struct egress_env eg;

void	egress_init(const struct egress_env *);
/* The master's channel went away: no more requests to it. */
void	egress_master_gone(void);

#endif
