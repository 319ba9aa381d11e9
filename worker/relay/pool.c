/*
 * The relay's pool of pipes and buffers (pool.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"
#include "stream.h"

#define RELAY_POOL	32	/* 2 MiB of buffers, 64 fds of pipes at most */

static struct {
	char	*bufs[RELAY_POOL];
	int	 nbufs;
	int	 pipes[RELAY_POOL][2];
	int	 npipes;
} pool;

int
relay_pool_take(int splice, int pipefd[2], char **buf)
{
	if (splice) {
		if (pool.npipes > 0) {
			pool.npipes--;
			pipefd[0] = pool.pipes[pool.npipes][0];
			pipefd[1] = pool.pipes[pool.npipes][1];
			return 0;
		}
		if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == 0)
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
relay_pool_give(int pipefd[2], char **buf, int buf_early)
{
	if (pipefd[0] != -1) {
		if (pool.npipes < RELAY_POOL) {
			pool.pipes[pool.npipes][0] = pipefd[0];
			pool.pipes[pool.npipes][1] = pipefd[1];
			pool.npipes++;
		} else {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		pipefd[0] = pipefd[1] = -1;
	}
	if (*buf != NULL) {
		if (!buf_early && pool.nbufs < RELAY_POOL)
			pool.bufs[pool.nbufs++] = *buf;
		else
			free(*buf);
		*buf = NULL;
	}
}
