/*
 * Requests to the master for sockets bound to a link's interface, and
 * for a tproxy UDP flow's reply socket (bound to the flow's original
 * destination, which needs IP_TRANSPARENT: CAP_NET_ADMIN).
 *
 * The master answers at once, so few requests are ever in flight: a
 * list is enough.  Whoever asked owns a timer (the dial's) and cancels
 * on timeout; an answer for a cancelled request just closes its fd.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "sockreq.h"
#include "egress.h"

static struct sock_req *pending;

static uint32_t
sockreq_new_id(void)
{
	struct sock_req	*r;
	uint32_t	 id;

	for (;;) {
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			fatal("%s: getrandom", __func__);
		for (r = pending; r != NULL && r->id != id; r = r->next)
			;
		if (id != 0 && r == NULL)
			return id;
	}
}

/* Send m with a fresh id; r waits for the answer. */
static int
sockreq_send(struct sock_req *r, struct sl_msg *m, sock_req_cb cb, void *arg)
{
	if (eg.master == NULL)
		return -1;
	m->fd = -1;
	m->id = sockreq_new_id();
	if (ipc_chan_send(eg.master, m) == -1)
		return -1;
	r->id = m->id;
	r->cb = cb;
	r->arg = arg;
	r->next = pending;
	pending = r;
	return 0;
}

int
sockreq_start(struct sock_req *r, uint32_t link, int family, sock_req_cb cb,
    void *arg)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SOCK_REQ;
	m.u.sock_req.link = link;
	m.u.sock_req.family = (uint8_t)family;
	return sockreq_send(r, &m, cb, arg);
}

/* Address bytes (network order) and port (host order) of a v4/v6 sa. */
static int
sockreq_addr(const struct sockaddr *sa, int family, uint8_t *addr,
    uint16_t *port)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa == NULL || sa->sa_family != family)
		return -1;
	if (family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
	} else {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	}
	return 0;
}

/*
 * Port 0 or an unspecified address on either side (a client may send
 * from port 0) is refused here: the codec does not encode port 0, and
 * the master takes either for a compromised worker's request.
 */
int
sockreq_tproxy_start(struct sock_req *r, uint32_t listener,
    const struct sockaddr *local, const struct sockaddr *peer,
    sock_req_cb cb, void *arg)
{
	static const uint8_t	zero[16];
	struct sl_msg		m;
	int			family;
	size_t			alen;

	if (local == NULL || (local->sa_family != AF_INET &&
	    local->sa_family != AF_INET6))
		return -1;
	family = local->sa_family;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TPROXY_REQ;
	m.u.tproxy_req.listener = listener;
	m.u.tproxy_req.family = family == AF_INET ? 4 : 6;
	if (sockreq_addr(local, family, m.u.tproxy_req.local,
	    &m.u.tproxy_req.local_port) == -1 ||
	    sockreq_addr(peer, family, m.u.tproxy_req.peer,
	    &m.u.tproxy_req.peer_port) == -1 ||
	    m.u.tproxy_req.local_port == 0 || m.u.tproxy_req.peer_port == 0)
		return -1;
	alen = family == AF_INET ? 4 : 16;
	if (memcmp(m.u.tproxy_req.local, zero, alen) == 0 ||
	    memcmp(m.u.tproxy_req.peer, zero, alen) == 0)
		return -1;
	return sockreq_send(r, &m, cb, arg);
}

static int
sockreq_unlink(struct sock_req *r)
{
	struct sock_req **pp;

	for (pp = &pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			r->id = 0;
			return 1;
		}
	return 0;
}

void
sockreq_cancel(struct sock_req *r)
{
	if (r->id != 0)
		(void)sockreq_unlink(r);
}

void
sockreq_dispatch(struct sl_msg *m)
{
	struct sock_req	*r;

	for (r = pending; r != NULL && r->id != m->id; r = r->next)
		;
	if (r == NULL) {
		log_debug("%s: answer for unknown request %u", __func__, m->id);
		return;		/* the caller closes a stray fd */
	}
	sockreq_unlink(r);
	if (m->type == SL_MSG_SOCK_FD) {
		int fd = m->fd;

		m->fd = -1;
		r->cb(r, fd, 0, r->arg);
	} else
		r->cb(r, -1, (int)m->u.sock_fail.err, r->arg);
}
