/*
 * Reply sockets for tproxy UDP flows, made by the master for workers.
 *
 * nftables TPROXY steers a client's datagrams, addressed to some remote
 * host, into the listener "NAME.udp".  Its replies must leave from the
 * address and port the client wrote to (the flow's original destination)
 * or the client drops them.  That takes a UDP socket with IP_TRANSPARENT
 * (IPV6_TRANSPARENT) bound to an address that is not this host's, which
 * needs CAP_NET_ADMIN; workers hold no capability, so the worker asks
 * (TPROXY_REQ) and the master answers with the socket, bound to the
 * original destination and connected to the client.
 *
 * The request comes from a process that may be compromised, so every
 * field is checked against the master's own config: the listener exists
 * and is a tproxy listener's UDP side, the family is the listener's, the
 * client is in the listener's "clients" when it has any, and neither
 * address nor port is empty.  A request no honest worker sends (it only
 * asks for flows its listener accepted) makes tproxy_request() return -1,
 * and the caller kills the worker.
 *
 * What a compromised worker can still do with such sockets: send
 * datagrams with a forged source address and port (any destination it
 * names) to clients of a tproxy listener, i.e. hosts the operator already
 * routes through sluice and trusts it to answer for arbitrary remote
 * addresses; and take a share of datagrams those clients send to that
 * address and port.  That is exactly the power a tproxy UDP relay needs
 * for its honest job, limited to the listener's clients and to at most
 * REQLIMIT_MAX_OUTSTANDING unread answers (reqlimit.h): accepted.  It
 * cannot reach other hosts with a forged source, nor get a listening
 * socket for anyone else, nor keep the capability.
 *
 * Refusals and failures are logged at most once per REQLIMIT_LOG_EVERY
 * seconds per worker and kind, with a count of those left out, as in
 * bindany.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../ipc/codec.h"
#include "../policy/select.h"
#include "gen.h"
#include "master.h"
#include "reqlimit.h"

static struct sockans_row tproxy_rows[PROC_MAX_ROWS];

static void	tproxy_sockaddrs(const struct sl_msg *,
		    struct sockaddr_storage *, struct sockaddr_storage *,
		    socklen_t *);
static int	tproxy_check(const struct sl_msg *,
		    const struct sl_listener *, const struct sockaddr *,
		    const struct sockaddr *);
static int	tproxy_socket(const struct sockaddr *,
		    const struct sockaddr *, socklen_t);

/* The request's two endpoints as socket addresses of its family. */
static void
tproxy_sockaddrs(const struct sl_msg *m, struct sockaddr_storage *local,
    struct sockaddr_storage *peer, socklen_t *len)
{
	struct sockaddr_in	*l4 = (struct sockaddr_in *)local;
	struct sockaddr_in	*p4 = (struct sockaddr_in *)peer;
	struct sockaddr_in6	*l6 = (struct sockaddr_in6 *)local;
	struct sockaddr_in6	*p6 = (struct sockaddr_in6 *)peer;

	memset(local, 0, sizeof(*local));
	memset(peer, 0, sizeof(*peer));
	if (m->u.tproxy_req.family == 4) {
		l4->sin_family = p4->sin_family = AF_INET;
		memcpy(&l4->sin_addr, m->u.tproxy_req.local, 4);
		memcpy(&p4->sin_addr, m->u.tproxy_req.peer, 4);
		l4->sin_port = htons(m->u.tproxy_req.local_port);
		p4->sin_port = htons(m->u.tproxy_req.peer_port);
		*len = sizeof(*l4);
		return;
	}
	l6->sin6_family = p6->sin6_family = AF_INET6;
	memcpy(&l6->sin6_addr, m->u.tproxy_req.local, 16);
	memcpy(&p6->sin6_addr, m->u.tproxy_req.peer, 16);
	l6->sin6_port = htons(m->u.tproxy_req.local_port);
	p6->sin6_port = htons(m->u.tproxy_req.peer_port);
	*len = sizeof(*l6);
}

/*
 * 0 when the config allows the request, -1 when no honest worker would
 * send it.  The codec already refused a bad family and ports 0.
 */
static int
tproxy_check(const struct sl_msg *m, const struct sl_listener *l,
    const struct sockaddr *local, const struct sockaddr *peer)
{
	static const uint8_t	 zero[16];
	size_t			 alen;

	if (l->kind != SL_LISTEN_TPROXY_UDP ||
	    l->addr.ss_family != local->sa_family)
		return -1;
	/* The kernel delivers nothing addressed to or from these. */
	alen = m->u.tproxy_req.family == 4 ? 4 : 16;
	if (memcmp(m->u.tproxy_req.local, zero, alen) == 0 ||
	    memcmp(m->u.tproxy_req.peer, zero, alen) == 0 ||
	    m->u.tproxy_req.local_port == 0 || m->u.tproxy_req.peer_port == 0)
		return -1;
	if (l->nclients > 0 && !policy_cidrs_match(l->clients, l->nclients,
	    peer))
		return -1;
	return 0;
}

/*
 * SO_REUSEADDR: the listener, or another flow's reply socket, may hold
 * the same local address and port; a connected socket is the better
 * match for its client's datagrams.  An IPv6 listener is v6only, so is
 * this socket.
 */
static int
tproxy_socket(const struct sockaddr *local, const struct sockaddr *peer,
    socklen_t len)
{
	int	fd, saved, rc, on = 1;

	fd = socket(local->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (rc == 0 && local->sa_family == AF_INET)
		rc = setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on));
	else if (rc == 0)
		rc = setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on,
		    sizeof(on)) == -1 || setsockopt(fd, IPPROTO_IPV6,
		    IPV6_V6ONLY, &on, sizeof(on)) == -1 ? -1 : 0;
	if (rc == -1 || bind(fd, local, len) == -1 ||
	    connect(fd, peer, len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * TPROXY_REQ from worker c.  Returns -1 when the request itself is bogus
 * (the caller treats that as a protocol violation).
 */
int
tproxy_request(struct proc *c, const struct sl_msg *m)
{
	const struct sl_listener	*l;
	const struct sl_conf		*conf;
	struct sockans_row		*t;
	struct sockaddr_storage		 local, peer;
	struct sl_msg			 r;
	socklen_t			 len;
	uint64_t			 n;
	char				 more[64], addr[INET6_ADDRSTRLEN];

	/* Its own generation's listeners: a reload renumbers them. */
	if ((conf = gen_conf(c->generation)) == NULL ||
	    m->u.tproxy_req.listener >= conf->nlisteners ||
	    (m->u.tproxy_req.family != 4 && m->u.tproxy_req.family != 6))
		return -1;
	l = &conf->listeners[m->u.tproxy_req.listener];
	tproxy_sockaddrs(m, &local, &peer, &len);
	if (tproxy_check(m, l, (struct sockaddr *)&local,
	    (struct sockaddr *)&peer) == -1)
		return -1;
	t = sockans_row(tproxy_rows, c);
	memset(&r, 0, sizeof(r));
	r.id = m->id;
	r.type = SL_MSG_SOCK_FAIL;
	r.fd = -1;
	if (!reqlimit_admit(&t->lim, sockans_drained(c))) {
		r.u.sock_fail.err = EAGAIN;
		if (reqlog_allow(&t->refused, ev_now(ms->loop), &n))
			log_warnx("%s: %u socket answers unread; refusing "
			    "more tproxy sockets%s", c->name,
			    REQLIMIT_MAX_OUTSTANDING,
			    sockans_more(more, sizeof(more), n));
	} else if ((r.fd = tproxy_socket((struct sockaddr *)&local,
	    (struct sockaddr *)&peer, len)) == -1) {
		r.u.sock_fail.err = (uint32_t)errno;
		if (reqlog_allow(&t->failed, ev_now(ms->loop), &n))
			log_warnx("%s: listener %s: transparent socket from "
			    "%s port %u: %s%s", c->name, l->name,
			    inet_ntop(local.ss_family, m->u.tproxy_req.local,
			    addr, sizeof(addr)) != NULL ? addr : "?",
			    (unsigned)m->u.tproxy_req.local_port,
			    strerror((int)r.u.sock_fail.err),
			    sockans_more(more, sizeof(more), n));
	} else
		r.type = SL_MSG_SOCK_FD;
	sockans_answer(c, t, &r);
	return 0;
}
