/*
 * Generations of the configuration (nginx's cycles), one line of them
 * per pool (a tenant, or the one implicit tenant).  Every generation is
 * a struct gen in one table: a pool's current one serves, a reload's
 * next one starts beside it, older ones drain until their last process
 * is gone.  Generation ids are unique across pools, so a process row's
 * generation alone finds what it was started with.
 */
#ifndef SL_GEN_H
#define SL_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/config.h"
#include "../policy/counters.h"

enum gen_state {
	GEN_LOADED = 0,		/* made by the loader, not in the table */
	GEN_NEXT,		/* a reload's, starting */
	GEN_CURRENT,		/* its pool's serving one */
	GEN_OLD,		/* draining */
};

struct gen {
	uint32_t	 id;
	uint32_t	 pool;		/* index in ms->pools */
	enum gen_state	 state;
	char		 tenant[SL_TENANT_NAME_MAX + 1];
	struct sl_conf	*conf;
	char		*conf_text;	/* in full, secrets too */
	size_t		 conf_len;
	char		*pub_text;	/* agents' secrets redacted */
	size_t		 pub_len;
	int		 conf_fd;	/* pub_text: every child but... */
	int		 secret_fd;	/* conf_text: ...the tunnel's (-1) */
	/* The region's parts (policy/counters.h), all mapped here; each
	   part's fd for its writer and a read-only one for the others. */
	struct sl_shm	*shm;
	int		 shm_fds[SL_SHM_MAPS];	/* -1: no such part */
	int		 shm_rofds[SL_SHM_MAPS];
	uint32_t	 nworkers;
	uid_t		 uid, resolver_uid, registry_uid, tunnel_uid;
	gid_t		 gid, resolver_gid, registry_gid, tunnel_gid;
	/* Listening sockets the workers of this generation hold. */
	int		 lfds[SL_MAX_LISTENERS][SL_MAX_WORKERS];
	/* Totals when it retired: what it counts after that is carried
	   into its pool's current region when it is gone (reload.c). */
	void		*snapshot;
	/* The current totals when this (next) one's region copied them. */
	void		*carried;
	int		 ready;		/* every process of it was ready */
};

/* Pools and their generations alive at once. */
#define GEN_MAX_LIVE	4		/* per pool */
#define GEN_MAX_ALL	(GEN_MAX_LIVE * SL_MAX_TENANTS * 2)

/* gen.c */
/* A generation by id (any state), or NULL. */
struct gen *gen_find(uint32_t id);
/* The config of generation id, or NULL. */
const struct sl_conf *gen_conf(uint32_t id);
/* What processes of generation id are started with, or NULL. */
const struct gen *gen_view(uint32_t id);
/* The pool's serving generation, its starting one (NULL: none). */
struct gen *gen_current(uint32_t pool);
struct gen *gen_next(uint32_t pool);
/* The i-th generation of the table (NULL: a free slot), i < GEN_MAX_ALL. */
struct gen *gen_at(size_t i);
/* Put g in the table as state; -1: the table is full. */
int	 gen_add(struct gen *, enum gen_state);
/*
 * The pool's starting generation becomes current; the current one, if
 * any, becomes old and is returned (NULL: the pool had none).
 */
struct gen *gen_switch(uint32_t pool);
/* Older generations of the pool still alive; all of them: pool -1. */
size_t	 gen_count(uint32_t pool, enum gen_state);
/* An empty generation (GEN_LOADED): no fds, no region. */
struct gen *gen_new(void);
/* Its last process is gone (or it never started): free what it held. */
void	 gen_free(struct gen *);

#endif
