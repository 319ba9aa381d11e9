/*
 * The relay's pool of pipes and buffers (pool.h).
 *
 * Pipes are made RELAY_PIPESZ deep (256 KiB instead of Linux's 64):
 * a bulk transfer then moves 4 times as much per splice() pair and
 * wakeup (8 streams through 2 workers: 16.9 -> 18.2 Gbit/s up, 17.0 ->
 * 18.0 down, alternating A/B runs).  The kernel counts a pipe's capacity
 * against its owner's fs.pipe-user-pages-soft (64 MiB by default, per
 * uid: every worker of a pool, both generations during a reload),
 * beyond which new pipes get a single page; so only the first `big`
 * live pipes of a worker are made deep, the rest keep the default, and
 * a direction asks a pipe for no more than it holds.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"
#include "stream.h"

#define RELAY_POOL	32	/* 2 MiB of buffers, 64 fds of pipes at most */

static struct {
	char	*bufs[RELAY_POOL];
	int	 nbufs;
	int	 pipes[RELAY_POOL][2];
	uint8_t	 deep[RELAY_POOL];	/* RELAY_PIPESZ, not the default */
	int	 npipes;
	int	 live;		/* pipes open: pooled or lent */
	int	 big;		/* deep pipes allowed while live < big */
} pool = { .big = RELAY_BIG_PIPES };

void
relay_pool_init(int nworkers)
{
	/*
	 * 24 MiB of the default 64 MiB soft limit, shared by the workers of
	 * a uid: a reload's old and new workers together stay under it.
	 */
	pool.big = nworkers > 0 ? RELAY_BIG_PIPES / nworkers : 0;
	if (pool.big < 4)
		pool.big = 4;
}

size_t
relay_pool_depth(int splice, const int pipefd[2], uint8_t deep)
{
	if (pipefd[0] != -1)
		return deep ? RELAY_PIPESZ : RELAY_BUFSZ;
	if (!splice)
		return RELAY_BUFSZ;
	if (pool.npipes > 0)
		deep = pool.deep[pool.npipes - 1];
	else
		deep = pool.live < pool.big;
	return deep ? RELAY_PIPESZ : RELAY_BUFSZ;
}

static void
pool_close_pipe(int pipefd[2])
{
	close(pipefd[0]);
	close(pipefd[1]);
	pipefd[0] = pipefd[1] = -1;
	pool.live--;
}

int
relay_pool_take(int splice, int pipefd[2], uint8_t *deep, char **buf)
{
	if (splice) {
		if (pool.npipes > 0) {
			pool.npipes--;
			pipefd[0] = pool.pipes[pool.npipes][0];
			pipefd[1] = pool.pipes[pool.npipes][1];
			*deep = pool.deep[pool.npipes];
			return 0;
		}
		if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == 0) {
			/* Refused (limits): the default depth still works. */
			*deep = pool.live++ < pool.big &&
			    fcntl(pipefd[1], F_SETPIPE_SZ, RELAY_PIPESZ) >=
			    RELAY_PIPESZ;
			return 0;
		}
		/* Out of fds: this chunk goes through a buffer instead. */
		pipefd[0] = pipefd[1] = -1;
	}
	if (pool.nbufs > 0)
		*buf = pool.bufs[--pool.nbufs];
	else if ((*buf = malloc(RELAY_BUFSZ)) == NULL)
		return -1;
	return 0;
}

void
relay_pool_give(int pipefd[2], uint8_t deep, char **buf, int buf_early)
{
	if (pipefd[0] != -1) {
		if (pool.npipes < RELAY_POOL) {
			pool.pipes[pool.npipes][0] = pipefd[0];
			pool.pipes[pool.npipes][1] = pipefd[1];
			pool.deep[pool.npipes] = deep;
			pool.npipes++;
			pipefd[0] = pipefd[1] = -1;
		} else
			pool_close_pipe(pipefd);
	}
	if (*buf != NULL) {
		if (!buf_early && pool.nbufs < RELAY_POOL)
			pool.bufs[pool.nbufs++] = *buf;
		else
			free(*buf);
		*buf = NULL;
	}
}

void
relay_pool_drop(int pipefd[2])
{
	if (pipefd[0] != -1)
		pool_close_pipe(pipefd);
}
