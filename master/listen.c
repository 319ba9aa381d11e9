/*
 * Listening sockets: one SO_REUSEPORT socket per listener per worker,
 * bound by the master.  The master keeps its copies, so a respawned
 * worker gets the very socket its predecessor had and connections queued
 * meanwhile are not lost.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "master.h"

static int
listen_open(const struct sl_listener *l, char *err, size_t errlen)
{
	char	a[SL_ADDRSTRLEN];
	int	fd, one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (l->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s", sockaddr_fmt((const void *)
	    &l->addr, a, sizeof(a)), strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
listen_open_all(char *err, size_t errlen)
{
	size_t		i;
	uint32_t	w;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			ms->lfds[i][w] = -1;
	for (i = 0; i < ms->conf->nlisteners; i++)
		for (w = 0; w < ms->nworkers; w++)
			if ((ms->lfds[i][w] = listen_open(
			    &ms->conf->listeners[i], err, errlen)) == -1)
				return -1;
	return 0;
}

void
listen_close_all(void)
{
	size_t		i;
	uint32_t	w;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			if (ms->lfds[i][w] != -1) {
				close(ms->lfds[i][w]);
				ms->lfds[i][w] = -1;
			}
}
