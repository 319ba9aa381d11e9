/*
 * The shared counters region and the config memfd, both sealed memfds
 * made by the master and mapped by the children before they lock down.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../policy/counters.h"
#include "master.h"

/*
 * A sealed region for nworkers and nlinks, mapped here; -1 on failure.
 * Its name carries the tenant's, as /proc/PID/maps shows it.
 */
static int
shm_make(const char *tenant, uint32_t nworkers, uint32_t nlinks, int *fdp,
    void **basep, size_t *sizep)
{
	size_t	 size = shm_size(nworkers, nlinks);
	char	 name[64];
	void	*base;
	int	 fd;

	snprintf(name, sizeof(name), "sluice-counters-%s", tenant);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1 ||
	    (base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	shm_init(base, nworkers, nlinks);
	/* A worker must not be able to resize the region under the others. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) == -1) {
		munmap(base, size);
		close(fd);
		return -1;
	}
	*fdp = fd;
	*basep = base;
	*sizep = size;
	return 0;
}

int
shm_gen_make(struct gen *g)
{
	if (shm_make(g->tenant, g->nworkers, (uint32_t)g->conf->nlinks,
	    &g->shm_fd, &g->shm, &g->shmsize) == -1)
		return -1;
	if ((g->conf_fd = conf_memfd(g->tenant, g->pub_text,
	    g->pub_len)) == -1)
		return -1;
	/* The tunnel process's copy, with the agents' secrets. */
	if (conf_has_tunnel(g->conf) && (g->secret_fd =
	    conf_memfd(g->tenant, g->conf_text, g->conf_len)) == -1)
		return -1;
	return 0;
}

/* The validated config text, sealed so no child can change it. */
int
conf_memfd(const char *tenant, const char *text, size_t len)
{
	size_t	off = 0;
	ssize_t	n;
	char	name[64];
	int	fd;

	snprintf(name, sizeof(name), "sluice-config-%s", tenant);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SIGUSR1: one line per link, read from the (untrusted) regions. */
void
shm_log_counters(void)
{
	struct sl_link_totals	 t;
	struct gen		*cur[SL_MAX_POOLS], *g;
	size_t			 i, k, n = pool_currents(cur, SL_MAX_POOLS);
	char			 who[64] = "";

	for (k = 0; k < n; k++) {
		g = cur[k];
		if (pool_tenanted())
			snprintf(who, sizeof(who), "tenant %s: ", g->tenant);
		log_info("%ssessions open: %llu", who, (unsigned long long)
		    shm_sessions(g->shm, g->nworkers, UINT64_C(1) << 32));
		log_info("%ssessions in handshake: %llu", who,
		    (unsigned long long)shm_handshakes(g->shm, g->nworkers,
		    UINT64_C(1) << 32));
		for (i = 0; i < g->conf->nlinks; i++) {
			shm_link_totals(g->shm, g->nworkers,
			    (uint32_t)g->conf->nlinks, (uint32_t)i, &t);
			log_info("%slink %s: active %llu, total %llu, failed "
			    "%llu, up %llu bytes, down %llu bytes", who,
			    g->conf->links[i].name,
			    (unsigned long long)t.active,
			    (unsigned long long)t.opened,
			    (unsigned long long)t.failed,
			    (unsigned long long)t.bytes_up,
			    (unsigned long long)t.bytes_down);
		}
	}
}
