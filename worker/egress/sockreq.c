/*
 * Requests to the master for sockets bound to a link's interface.
 *
 * The master answers at once, so few requests are ever in flight: a
 * list is enough.  Whoever asked owns a timer (the dial's) and cancels
 * on timeout; an answer for a cancelled request just closes its fd.
 */
#include <sys/random.h>
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

int
sockreq_start(struct sock_req *r, uint32_t link, int family, sock_req_cb cb,
    void *arg)
{
	struct sl_msg	m;

	if (eg.master == NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SOCK_REQ;
	m.fd = -1;
	m.id = sockreq_new_id();
	m.u.sock_req.link = link;
	m.u.sock_req.family = (uint8_t)family;
	if (ipc_chan_send(eg.master, &m) == -1)
		return -1;
	r->id = m.id;
	r->cb = cb;
	r->arg = arg;
	r->next = pending;
	pending = r;
	return 0;
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
