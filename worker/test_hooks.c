/*
 * What a hostile worker would try, on demand, so the integration tests
 * can see the confinement stop it (built with -Dtest_hooks=true only;
 * otherwise these names are ordinary unresolvable names).  A CONNECT to
 *
 *   sigsys.sluice-test.invalid    makes a forbidden system call
 *                                 (test_sigsys.py: SIGSYS)
 *   shm-own.sluice-test.invalid   writes its own part of the region
 *                                 (nothing happens)
 *   shm-peer.sluice-test.invalid  writes another worker's part: its
 *                                 open sessions, which would lock every
 *                                 client out (test_shm_isolation.py)
 *   shm-master.sluice-test.invalid     writes the master's part
 *   shm-mprotect.sluice-test.invalid   asks for another worker's part
 *                                 writable, then writes it
 *
 * Each forbidden write must kill the worker (SIGSEGV) before it returns.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sl_build.h"
#include "../common/log.h"
#include "../policy/counters.h"
#include "worker.h"

#if SL_TEST_HOOKS
static void
hook_mprotect(const struct sl_shm *sh, uint32_t peer)
{
	size_t	i = SL_SHM_MAP_INDEX(SL_SHM_WORKER, peer);
	void	*base = sh->map[i].base;
	size_t	 size = sh->map[i].size;

	/* The mapping is of a read-only fd: the kernel must refuse. */
	if (mprotect(base, size & ~(size_t)(getpagesize() - 1),
	    PROT_READ | PROT_WRITE) == -1)
		log_warn("test hook: mprotect of worker %u's part", peer);
	else
		log_warnx("test hook: mprotect made worker %u's part "
		    "writable", peer);
}

void
worker_test_hooks(const char *host)
{
	const struct sl_shm	*sh = wk->shm;
	uint32_t		 peer = (wk->index + 1) % wk->nworkers;

	if (strcmp(host, "sigsys.sluice-test.invalid") == 0)
		(void)syscall(SYS_getppid);	/* forbidden: must kill us */
	else if (strcmp(host, "shm-own.sluice-test.invalid") == 0)
		atomic_fetch_add(&sh->rows[wk->index].ctr->accepted, 0);
	else if (strcmp(host, "shm-peer.sluice-test.invalid") == 0) {
		log_warnx("test hook: writing worker %u's part", peer);
		atomic_store(&sh->rows[peer].ctr->sessions,
		    UINT64_C(1) << 40);
		log_warnx("test hook: wrote worker %u's part", peer);
	} else if (strcmp(host, "shm-master.sluice-test.invalid") == 0) {
		log_warnx("test hook: writing the master's part");
		atomic_store(&sh->global->generation, 0);
		log_warnx("test hook: wrote the master's part");
	} else if (strcmp(host, "shm-mprotect.sluice-test.invalid") == 0) {
		hook_mprotect(sh, peer);
		atomic_store(&sh->rows[peer].ctr->sessions,
		    UINT64_C(1) << 40);
		log_warnx("test hook: wrote worker %u's part", peer);
	}
}
#endif
