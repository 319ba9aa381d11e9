/*
 * Pipes and buffers are lent to a relay direction only while it holds
 * bytes: taken from a small per-process pool when data arrives, given
 * back as soon as the direction has written everything out.  So a
 * session costs no memory and no extra fds while it is idle, however
 * much it moved before, and the pool keeps this from costing a syscall
 * or a malloc per chunk.
 */
#ifndef SL_RELAY_POOL_H
#define SL_RELAY_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* A pipe's depth by its tier (*deep): 64 KiB, 256 KiB or 1 MiB. */
static inline size_t
relay_pipe_depth(uint8_t deep)
{
	return (size_t)RELAY_BUFSZ << (2 * deep);
}

/*
 * A pipe (splice mode; pipefd[] set, *deep its tier) or, when splice is
 * off or no fd is left, a RELAY_BUFSZ buffer (*buf set).  0, or -1: no
 * memory.
 */
int	relay_pool_take(int splice, int pipefd[2], uint8_t *deep, char **buf);
/*
 * Give back what pipefd and *buf hold (each may be empty); both become
 * empty.  A buffer that held a session's early bytes (buf_early) was
 * not the pool's: it is freed.
 */
void	relay_pool_give(int pipefd[2], uint8_t deep, char **buf,
	    int buf_early);

/*
 * How much the next read of a direction may ask for: what the pipe it
 * holds, or the pipe or buffer relay_pool_take would give it, holds.
 */
size_t	relay_pool_depth(int splice, const int pipefd[2], uint8_t deep);
/* A pipe that still holds bytes nobody will read: closed, not pooled. */
void	relay_pool_drop(int pipefd[2], uint8_t deep);
/* How many workers share the uid (how many deep pipes each may make). */
void	relay_pool_init(int nworkers);

#endif
