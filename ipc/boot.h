/*
 * Start-up of a confined child: everything it needs arrives from the
 * master over the channel on fd 3 before it locks itself down.
 */
#ifndef SL_IPC_BOOT_H
#define SL_IPC_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/sluice.h"

struct boot_fd {
	int		fd;
	uint32_t	index;
	uint8_t		role;		/* a peer's: enum sl_proc_id */
};

/* One part of the shared region, mapped as the master's fd allows. */
struct boot_shm {
	void		*base;
	size_t		 size;
	uint32_t	 part, slot;	/* policy/counters.h */
	int		 writable;
};

struct child_boot {
	uint32_t	 generation;
	char		*conf_text;	/* NUL-terminated copy of the config */
	size_t		 conf_len;
	/* the parts of the shared region this child was given */
	struct boot_shm	 shm[3 + SL_MAX_WORKERS];
	size_t		 nshm;
	/* a worker's: resolver, tunnel; the others': a worker each */
	struct boot_fd	 peers[SL_MAX_WORKERS * 2];
	size_t		 npeers;
	struct boot_fd	 listeners[SL_MAX_LISTENERS];
	size_t		 nlisteners;
};

/* boot.c */
/*
 * Receive CFG_* messages (blocking) until CFG_END.  Any violation, a
 * missing part or a mapping failure is fatal: the master respawns us.
 */
void	child_boot(int chan, struct child_boot *);
void	child_boot_free_conf(struct child_boot *);
/* Unmap every part of the shared region (a child that needs none). */
void	child_boot_unmap(struct child_boot *);
/* Send log lines to the master from now on (log_set_sink). */
void	child_log_to_master(int chan);

#endif
