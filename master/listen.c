/*
 * Listening sockets: one SO_REUSEPORT socket per listener per worker,
 * bound by the master.  The master keeps its copies, so a respawned
 * worker gets the very socket its predecessor had and connections queued
 * meanwhile are not lost.
 *
 * SO_REUSEPORT lets any process of the same effective uid join the
 * group, so a second sluiced (both run as root) would bind the same port
 * without a word and take a share of the connections.  Before binding a
 * listener's group, the master binds a throwaway socket to the address
 * without SO_REUSEPORT: if anything listens there, with or without
 * SO_REUSEPORT, that bind fails with EADDRINUSE and sluiced exits.  The
 * probe has SO_REUSEADDR, as the real sockets do, so connections of a
 * previous instance in TIME_WAIT do not hold up a restart.  Two
 * instances started within the same few microseconds could both pass
 * the probe; a lock would close that window only against other sluiced
 * instances, so the probe alone is kept, as the simplest check that
 * covers every listener.
 *
 * A udp_forward listener is a group of SOCK_DGRAM sockets: the kernel
 * hashes each client's 4-tuple to one worker's socket, so a flow stays
 * in one worker.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "master.h"

/*
 * 0 when nobody listens on l's address; -1 with errno (EADDRINUSE when
 * someone does).  See the top of the file.
 */
static int
listen_type(const struct sl_listener *l)
{
	return SL_LISTENER_UDP(l) ? SOCK_DGRAM : SOCK_STREAM;
}

/*
 * tproxy: IP_TRANSPARENT lets the socket take connections and datagrams
 * for addresses that are not this host's (needs CAP_NET_ADMIN, held
 * until the listeners are open); its UDP side also asks for each
 * datagram's original destination.
 */
static int
listen_transparent(int fd, const struct sl_listener *l)
{
	int	one = 1, v6 = l->addr.ss_family == AF_INET6;

	if (l->kind != SL_LISTEN_TPROXY && l->kind != SL_LISTEN_TPROXY_UDP)
		return 0;
	if (setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT :
	    IP_TRANSPARENT, &one, sizeof(one)) == -1)
		return -1;
	if (l->kind == SL_LISTEN_TPROXY_UDP && setsockopt(fd, v6 ? SOL_IPV6 :
	    SOL_IP, v6 ? IPV6_RECVORIGDSTADDR : IP_RECVORIGDSTADDR, &one,
	    sizeof(one)) == -1)
		return -1;
	return 0;
}

static int
listen_probe(const struct sl_listener *l)
{
	int	fd, one = 1, rc = -1, saved;

	fd = socket(l->addr.ss_family, listen_type(l) | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    (l->addr.ss_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == 0) &&
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == 0)
		rc = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The message for errno: the address, and who is in the way. */
static void
listen_fail(const struct sl_listener *l, char *err, size_t errlen)
{
	char	a[SL_ADDRSTRLEN];
	int	e = errno;

	snprintf(err, errlen, "listen %s: %s%s", sockaddr_fmt((const void *)
	    &l->addr, a, sizeof(a)), strerror(e), e == EADDRINUSE ?
	    " (another process listens there)" : "");
}

static int
listen_open(const struct sl_listener *l, char *err, size_t errlen)
{
	int	fd, one = 1, saved;

	fd = socket(l->addr.ss_family, listen_type(l) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (l->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	/* Accepted connections inherit it: no setsockopt per session. */
	if (listen_type(l) == SOCK_STREAM && setsockopt(fd, IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one)) == -1)
		goto fail;
	if (listen_transparent(fd, l) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1 ||
	    (listen_type(l) == SOCK_STREAM && listen(fd, SOMAXCONN) == -1))
		goto fail;
	return fd;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	listen_fail(l, err, errlen);
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
	for (i = 0; i < ms->conf->nlisteners; i++) {
		if (listen_probe(&ms->conf->listeners[i]) == -1) {
			listen_fail(&ms->conf->listeners[i], err, errlen);
			return -1;
		}
		for (w = 0; w < ms->nworkers; w++)
			if ((ms->lfds[i][w] = listen_open(
			    &ms->conf->listeners[i], err, errlen)) == -1)
				return -1;
	}
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

/* Old and new listener can share sockets: same address, same kind of
   socket (TCP or UDP, transparent or not). */
static int
listen_same_socket(const struct sl_listener *a, const struct sl_listener *b)
{
	int	ta = a->kind == SL_LISTEN_TPROXY ||
		    a->kind == SL_LISTEN_TPROXY_UDP;
	int	tb = b->kind == SL_LISTEN_TPROXY ||
		    b->kind == SL_LISTEN_TPROXY_UDP;

	return listen_type(a) == listen_type(b) && ta == tb &&
	    a->addrlen == b->addrlen &&
	    memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

/*
 * The sockets of a reload's new config into fds: a listener that stays
 * (listen_same_socket) keeps the current generation's sockets, slot for
 * slot, so nothing queued on them is lost; slots beyond the old worker
 * count and new listeners get new sockets (a new address is probed
 * first).  On failure, what was bound here is closed again and err says
 * why.
 */
int
listen_reload(const struct sl_conf *conf, uint32_t nworkers,
    int fds[SL_MAX_LISTENERS][SL_MAX_WORKERS], char *err, size_t errlen)
{
	const struct sl_listener	*l;
	size_t				 i, j;
	uint32_t			 w;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			fds[i][w] = -1;
	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		for (j = 0; j < ms->conf->nlisteners; j++)
			if (listen_same_socket(l, &ms->conf->listeners[j]))
				break;
		if (j == ms->conf->nlisteners && listen_probe(l) == -1) {
			listen_fail(l, err, errlen);
			goto fail;
		}
		for (w = 0; w < nworkers; w++) {
			if (j < ms->conf->nlisteners && w < ms->nworkers) {
				fds[i][w] = ms->lfds[j][w];
				continue;
			}
			if ((fds[i][w] = listen_open(l, err, errlen)) == -1)
				goto fail;
		}
	}
	return 0;
fail:
	listen_close_unused(fds, ms->lfds);
	return -1;
}

/* Close the sockets of fds that keep (another generation's) does not
   hold, and mark them -1. */
void
listen_close_unused(int fds[SL_MAX_LISTENERS][SL_MAX_WORKERS],
    int keep[SL_MAX_LISTENERS][SL_MAX_WORKERS])
{
	size_t		i, j;
	uint32_t	w, v;
	int		kept;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++) {
			if (fds[i][w] == -1)
				continue;
			kept = 0;
			for (j = 0; j < SL_MAX_LISTENERS && !kept; j++)
				for (v = 0; v < SL_MAX_WORKERS && !kept; v++)
					kept = keep[j][v] == fds[i][w];
			if (!kept)
				close(fds[i][w]);
			fds[i][w] = -1;
		}
}
