/*
 * Generations of the configuration (nginx's cycles).  The current one
 * lives in struct master (conf, shm, lfds, ...), as before reloads
 * existed; each older one that still has processes draining keeps what
 * those need in a struct gen until its last process is gone.
 */
#ifndef SL_GEN_H
#define SL_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/config.h"

struct gen {
	uint32_t	 id;
	struct sl_conf	*conf;
	char		*conf_text;
	size_t		 conf_len;
	int		 conf_fd;
	int		 shm_fd;
	void		*shm;
	size_t		 shmsize;
	uint32_t	 nworkers;
	uid_t		 uid, resolver_uid, registry_uid;
	gid_t		 gid, resolver_gid, registry_gid;
	/* Listening sockets the workers of this generation hold. */
	int		 lfds[SL_MAX_LISTENERS][SL_MAX_WORKERS];
	/* Totals when it retired: what it counts after that is carried
	   into the current region when it is gone (reload.c). */
	void		*snapshot;
};

/* gen.c */
/* The config of generation id (current, starting or older), or NULL. */
const struct sl_conf *gen_conf(uint32_t id);
/*
 * What processes of generation id are started with: current (a view of
 * struct master), a reload's starting one, or an older one; NULL: none.
 */
const struct gen *gen_view(uint32_t id);
/* A reload's generation while it starts (NULL: none). */
void	 gen_set_next(struct gen *);
struct gen *gen_next(void);
/*
 * The starting generation becomes current: the current one's state is
 * kept as an older generation, returned (NULL, nothing changed: no
 * starting one, or GEN_MAX_LIVE older ones already).
 */
struct gen *gen_switch(void);
/* An older generation, or NULL. */
struct gen *gen_find(uint32_t id);
/* An empty generation: no fds, no region. */
struct gen *gen_new(void);
/* Its last process is gone: free what it held. */
void	 gen_free(struct gen *);
/* Older generations still alive. */
size_t	 gen_count(void);

#endif
