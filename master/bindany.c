/*
 * Sockets the master makes for workers: bound to a link's network
 * interface (SO_BINDTODEVICE needs CAP_NET_RAW, which no worker holds).
 *
 * The request comes from a process that may be compromised, so every
 * field is checked against the master's own config: the link must exist,
 * be direct and name an interface.  The worker gets an unconnected TCP
 * socket bound to that device (and to the link's source address): what it
 * can do with it, it could do with a socket of its own, except choose
 * the interface, which the config already allowed for that link.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "master.h"

static int
bindany_socket(const struct sl_link *l, int family)
{
	int	fd, saved;

	if (l->sourcelen != 0 && l->source.ss_family != family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* As in the worker's dial: the port is chosen at connect time. */
	if (l->sourcelen != 0 && sockaddr_port((const struct sockaddr *)
	    &l->source) == 0)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &(int){ 1 }, sizeof(int));
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, l->interface,
	    (socklen_t)strlen(l->interface)) == -1 ||
	    (l->sourcelen != 0 && bind(fd, (const struct sockaddr *)&l->source,
	    l->sourcelen) == -1)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * SOCK_REQ from worker c.  Returns -1 when the request itself is bogus
 * (the caller treats that as a protocol violation).
 */
int
bindany_request(struct proc *c, const struct sl_msg *m)
{
	const struct sl_link	*l;
	struct sl_msg		 r;
	int			 fd;

	if (m->u.sock_req.link >= ms->conf->nlinks)
		return -1;
	l = &ms->conf->links[m->u.sock_req.link];
	if (l->proto != SL_LINK_DIRECT || l->interface[0] == '\0')
		return -1;
	memset(&r, 0, sizeof(r));
	r.id = m->id;
	fd = bindany_socket(l, m->u.sock_req.family == 4 ? AF_INET : AF_INET6);
	if (fd == -1) {
		log_warn("link %s: socket on interface %s", l->name,
		    l->interface);
		r.type = SL_MSG_SOCK_FAIL;
		r.fd = -1;
		r.u.sock_fail.err = (uint32_t)errno;
	} else {
		r.type = SL_MSG_SOCK_FD;
		r.fd = fd;
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, &r) == -1)
		log_warnx("%s: cannot answer socket request", c->name);
	if (fd != -1)
		close(fd);
	return 0;
}
