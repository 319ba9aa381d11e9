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

/* fd, closed here: no generation holds it any more. */
static void
listen_forget(int fd)
{
	struct gen	*g;
	size_t		 k, i;
	uint32_t	 w;

	for (k = 0; k < GEN_MAX_ALL; k++) {
		if ((g = gen_at(k)) == NULL)
			continue;
		for (i = 0; i < SL_MAX_LISTENERS; i++)
			for (w = 0; w < SL_MAX_WORKERS; w++)
				if (g->lfds[i][w] == fd)
					g->lfds[i][w] = -1;
	}
}

void
listen_close_all(void)
{
	struct gen	*g;
	size_t		 k, i;
	uint32_t	 w;
	int		 fd;

	for (k = 0; k < GEN_MAX_ALL; k++) {
		if ((g = gen_at(k)) == NULL)
			continue;
		for (i = 0; i < SL_MAX_LISTENERS; i++)
			for (w = 0; w < SL_MAX_WORKERS; w++)
				if ((fd = g->lfds[i][w]) != -1) {
					close(fd);
					listen_forget(fd);
				}
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
 * A serving generation's listener that is l's socket (any pool: a
 * listener a reload moves to another tenant keeps its socket), or NULL.
 */
static const struct gen *
listen_serving(const struct sl_listener *l, size_t *idx)
{
	const struct gen	*g;
	size_t			 k, j;

	for (k = 0; k < GEN_MAX_ALL; k++) {
		if ((g = gen_at(k)) == NULL || g->state != GEN_CURRENT)
			continue;
		for (j = 0; j < g->conf->nlisteners; j++)
			if (g->conf->listeners[j].kind != SL_LISTEN_AGENT &&
			    listen_same_socket(l, &g->conf->listeners[j])) {
				*idx = j;
				return g;
			}
	}
	return NULL;
}

/*
 * The sockets of a starting generation (at start-up, or a reload's): a
 * listener that stays (listen_same_socket) keeps the serving
 * generation's sockets, slot for slot, so nothing queued on them is
 * lost; slots beyond the old worker count and new listeners get new
 * sockets (a new address is probed first).  On failure, what was bound
 * here is closed again and err says why.
 */
int
listen_open_gen(struct gen *g, char *err, size_t errlen)
{
	const struct sl_listener	*l;
	const struct gen		*old;
	size_t				 i, j = 0;
	uint32_t			 w;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			g->lfds[i][w] = -1;
	for (i = 0; i < g->conf->nlisteners; i++) {
		l = &g->conf->listeners[i];
		/* An agent's streams come from its tunnel, not a socket. */
		if (l->kind == SL_LISTEN_AGENT)
			continue;
		old = listen_serving(l, &j);
		if (old == NULL && listen_probe(l) == -1) {
			listen_fail(l, err, errlen);
			goto fail;
		}
		/* A tunnel listener has one socket: the tunnel process's. */
		for (w = 0; w < (l->kind == SL_LISTEN_TUNNEL ? 1 : g->nworkers);
		    w++) {
			if (old != NULL && w < old->nworkers &&
			    old->lfds[j][w] != -1) {
				g->lfds[i][w] = old->lfds[j][w];
				continue;
			}
			if ((g->lfds[i][w] = listen_open(l, err, errlen)) == -1)
				goto fail;
		}
	}
	return 0;
fail:
	listen_close_unused(g);
	return -1;
}

/* Close the sockets of g that no other generation holds; all of g's
   become -1. */
void
listen_close_unused(struct gen *g)
{
	const struct gen	*o;
	size_t			 i, j, k;
	uint32_t		 w, v;
	int			 kept;

	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++) {
			if (g->lfds[i][w] == -1)
				continue;
			kept = 0;
			for (k = 0; k < GEN_MAX_ALL && !kept; k++) {
				if ((o = gen_at(k)) == NULL || o == g ||
				    o->conf == NULL)
					continue;
				for (j = 0; j < o->conf->nlisteners && !kept;
				    j++)
					for (v = 0; v < o->nworkers && !kept;
					    v++)
						kept = o->lfds[j][v] ==
						    g->lfds[i][w];
			}
			if (!kept)
				close(g->lfds[i][w]);
			g->lfds[i][w] = -1;
		}
}
