/*
 * The `udp_forward` front-end: UDP datagrams to a fixed `target`
 * (transmitm's UDPProxy, socat UDP-LISTEN...UDP), one flow per client
 * address and port.
 *
 * Each worker has its own SO_REUSEPORT socket for the listener, and the
 * kernel hashes a client's 4-tuple to one of them, so a flow lives in
 * one worker.  A flow is made on a client's first datagram: the target
 * goes through routing (matchers, `deny_targets`, `ip_blacklist`) and
 * the flow takes the first candidate link that can carry UDP
 * (egress/udp_out.c: a direct socket connect()ed to the target, or a
 * socks5 link's UDP ASSOCIATE).  Replies go back to the client from the
 * listener's socket.  udp_flow.c keeps each flow.
 *
 * Limits: `max_flows` per listener (each worker takes an equal share,
 * since the kernel spreads flows evenly), `max_flows_per_client` per
 * client address (IPv6: per /64) in each worker; a datagram over a limit
 * is dropped and counted, with a log line at most once a second.  A flow
 * ends after `udp_idle_timeout` without a datagram either way (swept
 * once a second: no timer per flow).  No allocation per datagram: one
 * receive buffer per listener, with room for a SOCKS5 header before the
 * payload.
 *
 * The UDP side of a `tproxy` listener is served here too.  Its socket
 * has IP_TRANSPARENT and IP_RECVORIGDSTADDR (the master set them), so
 * each datagram comes with its original destination, the flow's target.
 * Replies must come from that destination's address and port, which
 * takes a transparent socket bound to it: the master makes one per flow
 * (sockreq_tproxy_start), connected to the client, and the kernel then
 * hands the client's next datagrams to that socket rather than the
 * listener's.  A flow is still keyed by the client's address and port
 * alone: a client port already in a flow that writes to another
 * destination is dropped ("one destination per client port"), as is a
 * destination that is one of this sluiced's listeners (a loop).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../policy/counters.h"
#include "../../policy/select.h"
#include "../relay/datagram.h"
#include "../relay/flowtab.h"
#include "../worker.h"
#include "front.h"
#include "udp_flow.h"

#define UDPF_BURST		64	/* datagrams per callback */

static const char *const udpf_drop_names[UDPF_DROP_MAX] = {
	"not in clients", "max_flows", "max_flows_per_client", "flow setting "
	"up", "tap", "send failed", "no original destination (not steered "
	"by TPROXY?)", "one destination per client port", "a loop (the "
	"destination is a listener of this sluiced)",
};

void
udpf_drop(struct udp_fwd *u, enum udpf_drop why, const struct sockaddr *from)
{
	uint64_t	now = mono_ms();
	char		a[SL_ADDRSTRLEN];

	u->dropped[why]++;
	atomic_fetch_add(&shm_worker(wk->shm, wk->index)->udp_dropped, 1);
	if (now - u->last_drop_log < 1000)
		return;
	u->last_drop_log = now;
	log_warnx("listener %s: dropping datagrams from %s: %s (%llu so far)",
	    u->l->name, sockaddr_fmt(from, a, sizeof(a)), udpf_drop_names[why],
	    (unsigned long long)u->dropped[why]);
}

static int
udpf_same_dst(const struct udp_flow *fl, const struct sockaddr_storage *dst,
    socklen_t dstlen)
{
	return fl->dstlen == dstlen && memcmp(&fl->dst, dst, dstlen) == 0;
}

/* One datagram on the listener's socket (dst: tproxy's, else NULL). */
static void
udpf_datagram(struct udp_fwd *u, struct sockaddr_storage *from,
    socklen_t fromlen, struct sockaddr_storage *dst, socklen_t dstlen,
    uint8_t *data, size_t len)
{
	struct udp_flow	*fl;
	struct flow	*f;

	sockaddr_unmap(from, &fromlen);
	if (dst != NULL)
		sockaddr_unmap(dst, &dstlen);
	if (u->l->nclients > 0 && !policy_cidrs_match(u->l->clients,
	    u->l->nclients, (const struct sockaddr *)from)) {
		udpf_drop(u, UDPF_DROP_STRANGER, (const void *)from);
		return;
	}
	if (u->tproxy && dst == NULL) {
		udpf_drop(u, UDPF_DROP_NODST, (const void *)from);
		return;
	}
	if ((f = flowtab_find(u->ft, (const void *)from, fromlen)) != NULL) {
		fl = container_of(f, struct udp_flow, f);
		if (u->tproxy && !udpf_same_dst(fl, dst, dstlen)) {
			udpf_drop(u, UDPF_DROP_OTHERDST, (const void *)from);
			return;
		}
		if (fl->st != UF_READY) {
			udpf_drop(u, UDPF_DROP_BUSY, (const void *)from);
			return;
		}
		flowtab_touch(u->ft, f, mono_ms());
		(void)udpf_up(fl, data, len);
		return;
	}
	if (u->tproxy && *transparent_loop(dst, dst, 1) != '\0') {
		udpf_drop(u, UDPF_DROP_LOOP, (const void *)from);
		return;
	}
	udpf_flow_start(u, from, fromlen, dst, dstlen, data, len);
}

/* A datagram's original destination (IP_ORIGDSTADDR); 0 if none. */
static socklen_t
udpf_orig_dst(struct msghdr *mh, struct sockaddr_storage *dst)
{
	struct cmsghdr	*cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_IP && cm->cmsg_type ==
		    IP_ORIGDSTADDR && cm->cmsg_len >=
		    CMSG_LEN(sizeof(struct sockaddr_in))) {
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in));
			return sizeof(struct sockaddr_in);
		}
		if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type ==
		    IPV6_ORIGDSTADDR && cm->cmsg_len >=
		    CMSG_LEN(sizeof(struct sockaddr_in6))) {
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
			return sizeof(struct sockaddr_in6);
		}
	}
	return 0;
}

static void
udpf_listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wk_listener	*wl = container_of(w, struct wk_listener, io);
	struct udp_fwd		*u = wl->udp;
	struct sockaddr_storage	 from, dst;
	union {
		struct cmsghdr	 align;
		uint8_t		 buf[CMSG_SPACE(sizeof(struct sockaddr_in6))];
	}			 ctl;
	struct iovec		 iov;
	struct msghdr		 mh;
	socklen_t		 dstlen;
	ssize_t			 n;
	int			 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < UDPF_BURST; i++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = u->buf + DGRAM_HEADROOM;
		iov.iov_len = DGRAM_MAX;
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u->tproxy ? ctl.buf : NULL;
		mh.msg_controllen = u->tproxy ? sizeof(ctl.buf) : 0;
		if ((n = recvmsg(u->lfd, &mh, 0)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("listener %s: recvmsg", u->l->name);
			return;
		}
		dstlen = u->tproxy ? udpf_orig_dst(&mh, &dst) : 0;
		udpf_datagram(u, &from, mh.msg_namelen, dstlen != 0 ? &dst :
		    NULL, dstlen, u->buf + DGRAM_HEADROOM, (size_t)n);
	}
}

/* Once a second: end the flows idle for udp_idle_timeout. */
static void
udpf_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct udp_fwd	*u = container_of(w, struct udp_fwd, sweep);
	uint64_t	 now = mono_ms();
	struct flow	*f;

	(void)loop;
	(void)revents;
	while ((f = flowtab_oldest(u->ft)) != NULL &&
	    now - f->last_ms >= u->l->udp_idle_ms)
		udpf_flow_end(container_of(f, struct udp_flow, f),
		    "idle timeout");
}

int
udp_forward_start(struct wk_listener *wl)
{
	const struct sl_listener	*l = wl->conf;
	struct udp_fwd			*u;
	uint32_t			 share;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->buf = malloc(DGRAM_HEADROOM + DGRAM_MAX)) == NULL) {
		free(u);
		return -1;
	}
	/* The kernel spreads flows evenly over the workers' sockets. */
	share = (l->max_flows + wk->nworkers - 1) / wk->nworkers;
	if ((u->ft = flowtab_new(share, l->max_flows_per_client < share ?
	    l->max_flows_per_client : share)) == NULL) {
		free(u->buf);
		free(u);
		return -1;
	}
	u->loop = wk->loop;
	u->lfd = wl->fd;
	u->l = l;
	u->index = wl->index;
	u->tproxy = l->kind == SL_LISTEN_TPROXY_UDP;
	wl->udp = u;
	ev_io_init(&wl->io, udpf_listen_cb, wl->fd, EV_READ);
	ev_timer_init(&u->sweep, udpf_sweep_cb, 1., 1.);
	ev_timer_start(u->loop, &u->sweep);
	return 0;
}

void
udp_forward_stop(struct wk_listener *wl)
{
	struct udp_fwd	*u = wl->udp;
	struct flow	*f;

	if (u == NULL)
		return;
	ev_timer_stop(u->loop, &u->sweep);
	while ((f = flowtab_oldest(u->ft)) != NULL)
		udpf_flow_end(container_of(f, struct udp_flow, f),
		    "shutting down");
	flowtab_free(u->ft);
	free(u->buf);
	free(u);
	wl->udp = NULL;
}
