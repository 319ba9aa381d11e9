/*
 * The shared counters region and the config memfd, both sealed memfds
 * made by the master and mapped by the children before they lock down.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../policy/counters.h"
#include "master.h"

/*
 * A read-only file description of the same memfd: a child given it can
 * map the part for reading only, and neither mprotect nor anything else
 * it may call makes that mapping writable.
 */
static int
shm_reopen_ro(int fd)
{
	char	path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * One part of the region: a sealed memfd of its size, mapped here, and
 * a read-only fd of it; -1 on failure.  Its name carries the tenant's
 * and the part's, as /proc/PID/maps shows it.
 */
static int
shm_part_make(struct gen *g, enum sl_shm_part part, uint32_t slot)
{
	static const char *const names[] = {
		[SL_SHM_MASTER] = "master", [SL_SHM_RESOLVER] = "resolver",
		[SL_SHM_SHARED] = "shared", [SL_SHM_WORKER] = "worker",
	};
	uint32_t nlinks = (uint32_t)g->conf->nlinks;
	size_t	 size = shm_part_size(part, g->nworkers, nlinks);
	char	 name[64];
	void	*base;
	int	 fd;

	if (part == SL_SHM_WORKER)
		snprintf(name, sizeof(name), "sluice-counters-%s-worker%u",
		    g->tenant, slot);
	else
		snprintf(name, sizeof(name), "sluice-counters-%s-%s",
		    g->tenant, names[part]);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1 ||
	    (base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	shm_part_init(base, part, slot, g->nworkers, nlinks);
	/* A worker must not be able to resize the region under the others. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) == -1 ||
	    shm_attach(g->shm, part, slot, base, size) == -1) {
		munmap(base, size);
		close(fd);
		return -1;
	}
	g->shm_fds[SL_SHM_MAP_INDEX(part, slot)] = fd;
	if ((g->shm_rofds[SL_SHM_MAP_INDEX(part, slot)] =
	    shm_reopen_ro(fd)) == -1)
		return -1;
	return 0;
}

static int
shm_parts_make(struct gen *g)
{
	uint32_t	w;

	if ((g->shm = malloc(sizeof(*g->shm))) == NULL)
		return -1;
	shm_view_init(g->shm, g->nworkers, (uint32_t)g->conf->nlinks, -1);
	if (shm_part_make(g, SL_SHM_MASTER, 0) == -1 ||
	    shm_part_make(g, SL_SHM_RESOLVER, 0) == -1 ||
	    shm_part_make(g, SL_SHM_SHARED, 0) == -1)
		return -1;
	for (w = 0; w < g->nworkers; w++)
		if (shm_part_make(g, SL_SHM_WORKER, w) == -1)
			return -1;
	return 0;
}

void
shm_gen_free(struct gen *g)
{
	size_t	i;

	for (i = 0; i < SL_SHM_MAPS; i++) {
		if (g->shm_fds[i] != -1)
			close(g->shm_fds[i]);
		if (g->shm_rofds[i] != -1)
			close(g->shm_rofds[i]);
		g->shm_fds[i] = g->shm_rofds[i] = -1;
		if (g->shm != NULL && g->shm->map[i].base != NULL)
			munmap(g->shm->map[i].base, g->shm->map[i].size);
	}
	free(g->shm);
	g->shm = NULL;
}

int
shm_gen_make(struct gen *g)
{
	if (shm_parts_make(g) == -1)
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
		    shm_sessions(g->shm, UINT64_C(1) << 32));
		log_info("%ssessions in handshake: %llu", who,
		    (unsigned long long)shm_handshakes(g->shm,
		    UINT64_C(1) << 32));
		for (i = 0; i < g->conf->nlinks; i++) {
			shm_link_totals(g->shm, (uint32_t)i, &t);
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
