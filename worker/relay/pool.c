/*
 * The relay's pool of pipes and buffers (pool.h).
 *
 * Pipes are made deeper than Linux's 64 KiB: 1 MiB while the worker's
 * share of RELAY_PIPE_BUDGET allows, then 256 KiB, then the default.  A
 * bulk transfer moves as much per splice() pair and wake-up as the pipe
 * holds, and the receiver is woken once per splice: through 2 workers,
 * 64 KiB -> 256 KiB gave 8 streams +9 %, and 256 KiB -> 1 MiB gave 8
 * streams up 17.2 -> 19.1 Gbit/s, down 17.5 -> 20.0, at 0.27 instead
 * of 0.47 s of worker CPU per GB (alternating A/B runs).  The kernel
 * counts a pipe's depth against its owner's fs.pipe-user-pages-soft
 * (64 MiB by default, per uid: every worker of a pool, both generations
 * during a reload), beyond which new pipes get a single page; so the
 * deep pipes of a pool's workers add up to at most RELAY_PIPE_BUDGET,
 * and a direction asks a pipe for no more than it holds.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"
#include "stream.h"

#define RELAY_POOL	32	/* 2 MiB of buffers, 64 fds of pipes at most */
#define RELAY_TIERS	3	/* 64 KiB (the default), 256 KiB, 1 MiB */

static struct {
	char	*bufs[RELAY_POOL];
	int	 nbufs;
	int	 pipes[RELAY_POOL][2];
	uint8_t	 deep[RELAY_POOL];	/* tier: relay_pipe_depth() */
	int	 npipes;
	size_t	 deep_bytes;	/* depth of the deep pipes open */
	size_t	 budget;	/* deep_bytes may grow to this */
} pool = { .budget = RELAY_PIPE_BUDGET };

void
relay_pool_init(int nworkers)
{
	/*
	 * 24 MiB of the default 64 MiB soft limit, shared by the workers of
	 * a uid: a reload's old and new workers together stay under it.
	 */
	pool.budget = nworkers > 0 ? RELAY_PIPE_BUDGET / (size_t)nworkers :
	    RELAY_PIPE_BUDGET;
	if (pool.budget < RELAY_PIPESZ)
		pool.budget = RELAY_PIPESZ;
}

/* The deepest tier a new pipe may have now (0: the default depth). */
static uint8_t
pool_tier(void)
{
	uint8_t	t;

	for (t = RELAY_TIERS - 1; t > 0; t--)
		if (pool.deep_bytes + relay_pipe_depth(t) <= pool.budget)
			break;
	return t;
}

size_t
relay_pool_depth(int splice, const int pipefd[2], uint8_t deep)
{
	if (pipefd[0] != -1)
		return relay_pipe_depth(deep);
	if (!splice)
		return RELAY_BUFSZ;
	if (pool.npipes > 0)
		return relay_pipe_depth(pool.deep[pool.npipes - 1]);
	return relay_pipe_depth(pool_tier());
}

static void
pool_close_pipe(int pipefd[2], uint8_t deep)
{
	close(pipefd[0]);
	close(pipefd[1]);
	pipefd[0] = pipefd[1] = -1;
	if (deep > 0)
		pool.deep_bytes -= relay_pipe_depth(deep);
}

/*
 * A new pipe, as deep as the budget and the kernel allow (a refusal,
 * such as a lower fs.pipe-max-size, leaves the next tier or the
 * default depth, which still works).
 */
static int
pool_new_pipe(int pipefd[2], uint8_t *deep)
{
	uint8_t	t;

	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	for (t = pool_tier(); t > 0; t--)
		if (fcntl(pipefd[1], F_SETPIPE_SZ, (int)relay_pipe_depth(t)) >=
		    (int)relay_pipe_depth(t))
			break;
	if (t > 0)
		pool.deep_bytes += relay_pipe_depth(t);
	*deep = t;
	return 0;
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
		if (pool_new_pipe(pipefd, deep) == 0)
			return 0;
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
			pool_close_pipe(pipefd, deep);
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
relay_pool_drop(int pipefd[2], uint8_t deep)
{
	if (pipefd[0] != -1)
		pool_close_pipe(pipefd, deep);
}
