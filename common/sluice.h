/*
 * Limits and identifiers shared by every sluice process.
 */
#ifndef SL_SLUICE_H
#define SL_SLUICE_H

#include <stdint.h>

#define SLUICE_VERSION		"0.1.0"

enum sl_proc_id {
	SL_PROC_MASTER = 0,
	SL_PROC_WORKER,
	SL_PROC_RESOLVER,
	SL_PROC_REGISTRY,	/* tcprouter's services from Redis */
	SL_PROC_TUNNEL,		/* reverse tunnels: TLS and the mux */
	SL_PROC_MAX
};

/* Bit masks of roles, for "who may send this message". */
#define SL_FROM(p)		(1u << (p))
#define SL_FROM_MASTER		SL_FROM(SL_PROC_MASTER)
#define SL_FROM_WORKER		SL_FROM(SL_PROC_WORKER)
#define SL_FROM_RESOLVER	SL_FROM(SL_PROC_RESOLVER)
#define SL_FROM_REGISTRY	SL_FROM(SL_PROC_REGISTRY)
#define SL_FROM_TUNNEL		SL_FROM(SL_PROC_TUNNEL)
#define SL_FROM_CHILDREN	(SL_FROM_WORKER | SL_FROM_RESOLVER | \
				    SL_FROM_REGISTRY | SL_FROM_TUNNEL)

/* The master's end of a child's channel is always this fd in the child. */
#define SL_CHILD_CHAN_FD	3

#define SL_MAX_WORKERS		64
#define SL_MAX_LINKS		256
#define SL_MAX_LISTENERS	16
#define SL_MAX_NAME		255	/* DNS name, RFC 1035 */
#define SL_MAX_ADDRS		16	/* addresses kept per resolved name */
#define SL_MAX_CHAIN		8	/* socks5 hops through "via" */
#define SL_MAX_CONF_BYTES	(16u * 1024 * 1024)
/* Kinds of part of the shared region (policy/counters.h sl_shm_part). */
#define SL_SHM_PART_MAX		4

/* One address a name resolved to: what the resolver answers. */
struct sl_res_addr {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		addr[16];	/* 4 or 16 bytes used */
};

#endif
