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
	uid_t		 uid, resolver_uid;
	gid_t		 gid, resolver_gid;
	/* Listening sockets the workers of this generation hold. */
	int		 lfds[SL_MAX_LISTENERS][SL_MAX_WORKERS];
	/* Totals when it retired: what it counts after that is carried
	   into the current region when it is gone (reload.c). */
	void		*snapshot;
};

/* gen.c */
/* The config, region and shape of generation id (current or older). */
const struct sl_conf *gen_conf(uint32_t id);
void	*gen_shm(uint32_t id, uint32_t *nworkers);
/* Keep the current generation's state as an older one; NULL: full. */
struct gen *gen_retire(void);
/* An older generation, or NULL. */
struct gen *gen_find(uint32_t id);
/* Its last process is gone: free what it held. */
void	 gen_free(struct gen *);
/* Older generations still alive. */
size_t	 gen_count(void);
/* The oldest of them, or NULL. */
struct gen *gen_oldest(void);

#endif
