/*
 * The target side of a UDP flow (udp_out.h).  A direct socket is ready
 * at once; a socks5 link's association is set up by egress/udp.c first,
 * and the flow's first datagram waits with its owner meanwhile.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/target.h"
#include "../../common/util.h"
#include "../relay/datagram.h"
#include "udp.h"
#include "udp_out.h"

#define UDP_OUT_BURST		64	/* datagrams per callback */

static void
udp_out_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_out		*o = container_of(w, struct udp_out, io);
	struct sockaddr_storage	 from;
	struct sl_target	 who;
	socklen_t		 fromlen;
	uint8_t			*data;
	size_t			 len;
	ssize_t			 n;
	int			 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < UDP_OUT_BURST; i++) {
		fromlen = sizeof(from);
		data = o->buf + DGRAM_HEADROOM;
		n = recvfrom(o->fd, data, DGRAM_MAX, 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				o->ops->error(o->arg, errno);
			return;
		}
		len = (size_t)n;
		/* Through an upstream: only its relay, naming our target. */
		if (o->up != NULL && (udp_up_unwrap(o->up,
		    (const struct sockaddr *)&from, &data, &len, &who) == -1 ||
		    who.host[0] != '\0' || !udp_same_addr((const struct sockaddr *)
		    &who.addr, &o->target, 1)))
			continue;
		if (o->ops->datagram(o->arg, data, len) == -1)
			return;		/* the flow ended: o is gone */
	}
}

static void
udp_out_watch(struct udp_out *o)
{
	ev_io_init(&o->io, udp_out_read, o->fd, EV_READ);
	ev_io_start(o->loop, &o->io);
}

static void
udp_out_up_done(struct udp_up *up, int ok, const char *why, void *arg)
{
	struct udp_out	*o = arg;

	if (!ok || o->fd != -1) {
		/* Failed, or a ready association's control connection ended. */
		o->ops->failed(o->arg, why != NULL ? why : "upstream closed");
		return;
	}
	o->fd = up->ufd;
	up->ufd = -1;
	udp_out_watch(o);
	o->ops->ready(o->arg);
}

/* A direct link's socket, connected to the target: 0, or -1. */
static int
udp_out_direct(struct udp_out *o, int link)
{
	int	fd, e;

	if ((fd = udp_direct_socket(o->conf, link,
	    o->target.ss_family)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&o->target,
	    o->targetlen) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	o->fd = fd;
	o->link = link;
	udp_out_watch(o);
	return 0;
}

int
udp_out_open(struct udp_out *o, struct ev_loop *loop,
    const struct sl_conf *conf, const uint32_t *cand, size_t ncand,
    const struct sockaddr *target, socklen_t targetlen, uint8_t *buf,
    const struct udp_out_ops *ops, void *arg, const char **why)
{
	const char	*w = "no candidate link";
	size_t		 i;
	int		 li;

	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->conf = conf;
	o->link = -1;
	o->fd = -1;
	memcpy(&o->target, target, targetlen);
	o->targetlen = targetlen;
	o->buf = buf;
	o->ops = ops;
	o->arg = arg;
	for (i = 0; i < ncand; i++) {
		li = (int)cand[i];
		if (!udp_link_usable(conf, li, &w))
			continue;
		if (conf->links[li].proto == SL_LINK_DIRECT) {
			if (udp_out_direct(o, li) == 0)
				return 0;
			w = "no UDP socket for the link";
			continue;
		}
		if ((o->up = calloc(1, sizeof(*o->up))) == NULL) {
			w = "out of memory";
			break;
		}
		o->link = li;
		udp_up_start(o->up, loop, conf, li, udp_out_up_done, o);
		return 1;
	}
	*why = w;
	return -1;
}

int
udp_out_send(struct udp_out *o, uint8_t *data, size_t len)
{
	struct sl_target	t;

	if (o->up == NULL)
		return send(o->fd, data, len, 0) == -1 ? -1 : 0;
	memset(&t, 0, sizeof(t));
	sl_target_set_addr(&t, (const struct sockaddr *)&o->target,
	    o->targetlen);
	if (udp_up_wrap(&t, &data, &len, DGRAM_HEADROOM) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return sendto(o->fd, data, len, 0, (const struct sockaddr *)
	    &o->up->relay, o->up->relaylen) == -1 ? -1 : 0;
}

void
udp_out_close(struct udp_out *o)
{
	if (o->loop == NULL)
		return;
	if (o->fd != -1) {
		ev_io_stop(o->loop, &o->io);
		close(o->fd);
		o->fd = -1;
	}
	if (o->up != NULL) {
		udp_up_stop(o->up);
		free(o->up);
		o->up = NULL;
	}
	o->loop = NULL;
}
