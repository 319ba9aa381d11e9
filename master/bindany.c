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
 *
 * A worker that asks without end is bounded (reqlimit.h): at most
 * REQLIMIT_MAX_OUTSTANDING answers it has not read yet; beyond that it
 * gets SOCK_FAIL EAGAIN, which costs the master no descriptor.  Lines
 * about refusals and failures are logged at most once per
 * REQLIMIT_LOG_EVERY seconds per worker and kind, with a count of those
 * left out.
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "gen.h"
#include "master.h"
#include "reqlimit.h"

static struct sockans_row bindany_rows[PROC_MAX_ROWS];

static int	bindany_socket(const struct sl_link *, int);

/* rows[] is one kind of request's table, a row per process-table row. */
struct sockans_row *
sockans_row(struct sockans_row *rows, const struct proc *c)
{
	struct sockans_row	*b;
	size_t			 i = (size_t)(c - ms->procs);

	if (i >= PROC_MAX_ROWS)
		fatalx("%s: %s is not in the process table", __func__,
		    c->name);
	b = &rows[i];
	if (b->pid != c->pid) {
		b->pid = c->pid;
		reqlimit_init(&b->lim);
		reqlog_init(&b->refused);
		reqlog_init(&b->failed);
	}
	return b;
}

/*
 * 1 when the worker has read every frame sent to it: nothing waits in
 * the master's queue and nothing unread is charged to our end of the
 * socket (SIOCOUTQ counts until the receiver takes the frame).
 */
int
sockans_drained(const struct proc *c)
{
	int	n;

	if (c->chan == NULL || ipc_chan_queued(c->chan) != 0)
		return 0;
	if (ioctl(ipc_chan_fd(c->chan), SIOCOUTQ, &n) == -1)
		return 1;	/* cannot tell: the queue alone decides */
	return n == 0;
}

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

/* " (N more since the last line)", or "" when none were left out. */
const char *
sockans_more(char *buf, size_t len, uint64_t n)
{
	if (n == 0)
		return "";
	snprintf(buf, len, " (%" PRIu64 " more since the last line)", n);
	return buf;
}

/* Send r (and close its fd); a failure is logged, rate-limited. */
void
sockans_answer(struct proc *c, struct sockans_row *b, struct sl_msg *r)
{
	uint64_t	n;
	char		more[64];

	if ((c->chan == NULL || ipc_chan_send(c->chan, r) == -1) &&
	    reqlog_allow(&b->refused, ev_now(ms->loop), &n))
		log_warnx("%s: cannot answer a socket request%s", c->name,
		    sockans_more(more, sizeof(more), n));
	if (r->fd != -1)
		close(r->fd);
}

/*
 * SOCK_REQ from worker c.  Returns -1 when the request itself is bogus
 * (the caller treats that as a protocol violation).
 */
int
bindany_request(struct proc *c, const struct sl_msg *m)
{
	const struct sl_conf	*conf;
	const struct sl_link	*l;
	struct sockans_row	*b;
	struct sl_msg		 r;
	uint64_t		 n;
	char			 more[64];

	/* Its own generation's links: a reload may have renumbered them. */
	if ((conf = gen_conf(c->generation)) == NULL ||
	    m->u.sock_req.link >= conf->nlinks)
		return -1;
	l = &conf->links[m->u.sock_req.link];
	if (l->proto != SL_LINK_DIRECT || l->interface[0] == '\0')
		return -1;
	b = sockans_row(bindany_rows, c);
	memset(&r, 0, sizeof(r));
	r.id = m->id;
	r.type = SL_MSG_SOCK_FAIL;
	r.fd = -1;
	if (!reqlimit_admit(&b->lim, sockans_drained(c))) {
		r.u.sock_fail.err = EAGAIN;
		if (reqlog_allow(&b->refused, ev_now(ms->loop), &n))
			log_warnx("%s: %u socket answers unread; refusing "
			    "more%s", c->name, REQLIMIT_MAX_OUTSTANDING,
			    sockans_more(more, sizeof(more), n));
	} else if ((r.fd = bindany_socket(l, m->u.sock_req.family == 4 ?
	    AF_INET : AF_INET6)) == -1) {
		r.u.sock_fail.err = (uint32_t)errno;
		if (reqlog_allow(&b->failed, ev_now(ms->loop), &n))
			log_warnx("%s: link %s: socket on interface %s: %s%s",
			    c->name, l->name, l->interface, strerror(errno),
			    sockans_more(more, sizeof(more), n));
	} else
		r.type = SL_MSG_SOCK_FD;
	sockans_answer(c, b, &r);
	return 0;
}
