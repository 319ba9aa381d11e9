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

/*
 * A pipe (splice mode; pipefd[] set) or, when splice is off or no fd is
 * left, a RELAY_BUFSZ buffer (*buf set).  0, or -1: no memory.
 */
int	relay_pool_take(int splice, int pipefd[2], char **buf);
/*
 * Give back what pipefd and *buf hold (each may be empty); both become
 * empty.  A buffer that held a session's early bytes (buf_early) was
 * not the pool's: it is freed.
 */
void	relay_pool_give(int pipefd[2], char **buf, int buf_early);

/* A pipe that still holds bytes nobody will read: closed, not pooled. */
void	relay_pool_drop(int pipefd[2]);
/* How many workers share the uid (how many deep pipes each may make). */
void	relay_pool_init(int nworkers);

#endif
