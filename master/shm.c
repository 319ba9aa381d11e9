/*
 * The shared counters region and the config memfd, both sealed memfds
 * made by the master and mapped by the children before they lock down.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../policy/counters.h"
#include "master.h"

/* A sealed region for nworkers and nlinks, mapped here; -1 on failure. */
int
shm_make(uint32_t nworkers, uint32_t nlinks, int *fdp, void **basep,
    size_t *sizep)
{
	size_t	 size = shm_size(nworkers, nlinks);
	void	*base;
	int	 fd;

	fd = memfd_create("sluice-counters", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
shm_create(void)
{
	return shm_make(ms->nworkers, (uint32_t)ms->conf->nlinks, &ms->shm_fd,
	    &ms->shm, &ms->shmsize);
}

/* The validated config text, sealed so no child can change it. */
int
conf_memfd(const char *text, size_t len)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd;

	fd = memfd_create("sluice-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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

/* SIGUSR1: one line per link, read from the (untrusted) region. */
void
shm_log_counters(void)
{
	struct sl_link_totals	t;
	size_t			i;

	log_info("sessions open: %llu", (unsigned long long)shm_sessions(
	    ms->shm, ms->nworkers, UINT64_C(1) << 32));
	log_info("sessions in handshake: %llu", (unsigned long long)
	    shm_handshakes(ms->shm, ms->nworkers, UINT64_C(1) << 32));
	for (i = 0; i < ms->conf->nlinks; i++) {
		shm_link_totals(ms->shm, ms->nworkers,
		    (uint32_t)ms->conf->nlinks, (uint32_t)i, &t);
		log_info("link %s: active %llu, total %llu, failed %llu, "
		    "up %llu bytes, down %llu bytes", ms->conf->links[i].name,
		    (unsigned long long)t.active, (unsigned long long)t.opened,
		    (unsigned long long)t.failed,
		    (unsigned long long)t.bytes_up,
		    (unsigned long long)t.bytes_down);
	}
}
