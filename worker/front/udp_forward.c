/*
 * The `udp_forward` front-end: UDP datagrams to a fixed `target`
 * (transmitm's UDPProxy, socat UDP-LISTEN...UDP), one flow per client
 * address and port.
 *
 * Each worker has its own SO_REUSEPORT socket for the listener, and the
 * kernel hashes a client's 4-tuple to one of them, so a flow lives in
 * one worker.  A flow is made on a client's first datagram: the target
 * goes through routing (matchers, `deny_targets`, `ip_blacklist`) and
 * the flow takes the first candidate link that can carry UDP directly,
 * from a socket of its own connect()ed to the target, so the kernel
 * hands it only the target's replies and reports ICMP errors on it.
 * Replies go back to the client from the listener's socket.
 *
 * Limits: `max_flows` per listener (each worker takes an equal share,
 * since the kernel spreads flows evenly), `max_flows_per_client` per
 * client address (IPv6: per /64) in each worker; a datagram over a limit
 * is dropped and counted, with a log line at most once a second.  A flow
 * ends after `udp_idle_timeout` without a datagram either way (swept
 * once a second: no timer per flow).  One datagram may wait while the
 * target's name is resolved; more are dropped meanwhile.  No allocation
 * per datagram: one receive buffer per listener.
 *
 * A flow over a socks5 link (UDP ASSOCIATE upstream) is not built: such
 * links are skipped, and a flow with no direct link is refused.
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
#include "../egress/resolve.h"
#include "../egress/sockreq.h"
#include "../egress/udp.h"
#include "../relay/datagram.h"
#include "../relay/flowtab.h"
#include "../relay/taps.h"
#include "../worker.h"
#include "front.h"

#define UDPF_BURST		64	/* datagrams per callback */

enum udpf_drop {
	UDPF_DROP_STRANGER = 0,	/* not in the listener's clients */
	UDPF_DROP_FULL,		/* max_flows */
	UDPF_DROP_CLIENT_FULL,	/* max_flows_per_client */
	UDPF_DROP_BUSY,		/* the flow is being set up */
	UDPF_DROP_TAP,		/* a tap dropped it */
	UDPF_DROP_SEND,		/* the socket would not take it */
	UDPF_DROP_NODST,	/* tproxy: no original destination */
	UDPF_DROP_OTHERDST,	/* tproxy: its port has a flow elsewhere */
	UDPF_DROP_MAX
};

static const char *const udpf_drop_names[UDPF_DROP_MAX] = {
	"not in clients", "max_flows", "max_flows_per_client", "flow setting "
	"up", "tap", "send failed", "no original destination (not steered "
	"by TPROXY?)", "one destination per client port",
};

struct udp_fwd {
	struct ev_loop			*loop;
	int				 lfd;
	const struct sl_listener	*l;
	uint32_t			 index;		/* the listener's */
	int				 tproxy;
	struct flowtab			*ft;
	ev_timer			 sweep;
	uint8_t				*buf;		/* DGRAM_MAX */
	uint64_t			 last_drop_log;
	uint64_t			 dropped[UDPF_DROP_MAX];
	uint64_t			 logged[UDPF_DROP_MAX];
};

enum udpf_state {
	UF_RESOLVING = 0,	/* the target's name */
	UF_REPLY_SOCKET,	/* tproxy: waiting for the master's socket */
	UF_READY,
};

struct udp_flow {
	struct flow		 f;
	struct udp_fwd		*u;
	uint64_t		 id;
	enum udpf_state		 st;
	int			 tfd;
	int			 link;
	ev_io			 tio;
	int			 cfd;		/* tproxy: the reply socket */
	ev_io			 cio;
	struct sock_req		 sreq;
	struct sockaddr_storage	 dst;		/* tproxy: original dest. */
	socklen_t		 dstlen;
	struct res_req		 res;
	struct taps		*taps;
	uint8_t			*pending;	/* first datagram, while
						   resolving */
	size_t			 npending;
	uint64_t		 up, down, up_bytes, down_bytes;
	uint64_t		 t_start;
	int			 icmp_logged;
	char			 target[SL_MAX_NAME + 16];
};

static void	udpf_flow_end(struct udp_flow *, const char *why);

static struct sl_link_ctr *
udpf_ctr(const struct udp_flow *fl)
{
	return shm_ctr(wk->shm, wk->nworkers, (uint32_t)wk->conf->nlinks,
	    wk->index, (uint32_t)fl->link);
}

static void
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

/*
 * Send one client datagram on to the target, through the taps: 0, or -1
 * when a tap ended the flow (fl is freed).
 */
static int
udpf_up(struct udp_flow *fl, const uint8_t *data, size_t len)
{
	const uint8_t	*out = data;
	size_t		 outlen = len;
	int		 rc = 1;

	if (fl->taps != NULL)
		rc = taps_datagram(fl->taps, TAP_UP, data, len, &out, &outlen);
	if (rc == -1) {
		udpf_flow_end(fl, taps_why(fl->taps));
		return -1;
	}
	if (rc == 0) {
		fl->u->dropped[UDPF_DROP_TAP]++;
		return 0;
	}
	if (send(fl->tfd, out, outlen, 0) == -1) {
		udpf_drop(fl->u, UDPF_DROP_SEND,
		    (const struct sockaddr *)&fl->f.client);
		return 0;
	}
	fl->up++;
	fl->up_bytes += outlen;
	atomic_fetch_add_explicit(&udpf_ctr(fl)->bytes_up, outlen,
	    memory_order_relaxed);
	return 0;
}

/* The target's replies (or its ICMP errors, as errno on the socket). */
static void
udpf_target_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_flow	*fl = container_of(w, struct udp_flow, tio);
	struct udp_fwd	*u = fl->u;
	const uint8_t	*out;
	size_t		 outlen;
	ssize_t		 n;
	int		 i, rc;

	(void)loop;
	(void)revents;
	for (i = 0; i < UDPF_BURST; i++) {
		n = recv(fl->tfd, u->buf, DGRAM_MAX, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP unreachable and friends: say so once. */
			if (!fl->icmp_logged)
				log_warnx("flow %llu: target %s: %s",
				    (unsigned long long)fl->id, fl->target,
				    strerror(errno));
			fl->icmp_logged = 1;
			return;
		}
		out = u->buf;
		outlen = (size_t)n;
		rc = 1;
		if (fl->taps != NULL)
			rc = taps_datagram(fl->taps, TAP_DOWN, u->buf,
			    (size_t)n, &out, &outlen);
		if (rc == -1) {
			udpf_flow_end(fl, taps_why(fl->taps));
			return;
		}
		if (rc == 0) {
			u->dropped[UDPF_DROP_TAP]++;
			continue;
		}
		flowtab_touch(u->ft, &fl->f, mono_ms());
		if ((fl->cfd != -1 ? send(fl->cfd, out, outlen, 0) :
		    sendto(u->lfd, out, outlen, 0, (const struct sockaddr *)
		    &fl->f.client, fl->f.clientlen)) == -1) {
			udpf_drop(u, UDPF_DROP_SEND,
			    (const struct sockaddr *)&fl->f.client);
			continue;
		}
		fl->down++;
		fl->down_bytes += outlen;
		atomic_fetch_add_explicit(&udpf_ctr(fl)->bytes_down, outlen,
		    memory_order_relaxed);
	}
}

static void
udpf_flow_end(struct udp_flow *fl, const char *why)
{
	struct udp_fwd	*u = fl->u;
	uint64_t	 ms = mono_ms() - fl->t_start;
	char		 c[SL_ADDRSTRLEN];

	log_info("flow %llu: udp_forward %s -> %s via %s: up %llu/%llu down "
	    "%llu/%llu datagrams/bytes, %llu.%03llu s, %s",
	    (unsigned long long)fl->id, sockaddr_fmt((const void *)
	    &fl->f.client, c, sizeof(c)), fl->target, fl->link >= 0 ?
	    wk->conf->links[fl->link].name : "-",
	    (unsigned long long)fl->up, (unsigned long long)fl->up_bytes,
	    (unsigned long long)fl->down, (unsigned long long)fl->down_bytes,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    why);
	resolve_cancel(&fl->res);
	sockreq_cancel(&fl->sreq);
	if (fl->cfd != -1) {
		ev_io_stop(u->loop, &fl->cio);
		close(fl->cfd);
	}
	if (fl->tfd != -1) {
		ev_io_stop(u->loop, &fl->tio);
		close(fl->tfd);
		atomic_fetch_sub(&udpf_ctr(fl)->active, 1);
	}
	flowtab_remove(u->ft, &fl->f);
	taps_free(fl->taps);
	free(fl->pending);
	free(fl);
}

/*
 * Route the target (its name's addresses in res, when looked up) and
 * connect: 0, or -1 when the flow was ended (and freed).
 */
static int
udpf_open(struct udp_flow *fl, const struct sockaddr *ta, socklen_t talen,
    const struct sl_res_addr *res, size_t nres)
{
	const struct sl_listener	*l = fl->u->l;
	struct sl_request		 req;
	struct sl_route_view		 view;
	struct sl_route			 r;
	const char			*deny, *why;
	size_t				 i;

	if ((deny = policy_target_denied(wk->conf, ta)) != NULL) {
		udpf_flow_end(fl, deny);
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.host = !fl->u->tproxy && l->target_addrlen == 0 ?
	    l->target_host : NULL;
	req.addr = req.host == NULL ? ta : NULL;
	req.resolved = res;
	req.nresolved = nres;
	req.port = sockaddr_port(ta);
	req.client = (const struct sockaddr *)&fl->f.client;
	req.listener = l->name;
	view.shm = wk->shm;
	view.nworkers = wk->nworkers;
	view.rnd = (uint32_t)random();
	view.now_ms = mono_ms();
	policy_route(wk->conf, &req, &view, &r);
	if (r.verdict != SL_ROUTE_OK) {
		udpf_flow_end(fl, r.why[0] ? r.why : "refused by policy");
		return -1;
	}
	for (i = 0; i < r.ncand; i++) {
		int li = (int)r.cand[i];

		if (!udp_link_usable(wk->conf, li, &why) ||
		    wk->conf->links[li].proto != SL_LINK_DIRECT)
			continue;
		if ((fl->tfd = udp_direct_socket(wk->conf, li,
		    ta->sa_family)) == -1)
			continue;
		if (connect(fl->tfd, ta, talen) == -1) {
			close(fl->tfd);
			fl->tfd = -1;
			continue;
		}
		fl->link = li;
		break;
	}
	if (fl->tfd == -1) {
		udpf_flow_end(fl, "no link can carry it (UDP needs a direct "
		    "link without an interface)");
		return -1;
	}
	atomic_fetch_add(&udpf_ctr(fl)->opened, 1);
	atomic_fetch_add(&udpf_ctr(fl)->active, 1);
	ev_io_init(&fl->tio, udpf_target_cb, fl->tfd, EV_READ);
	ev_io_start(fl->u->loop, &fl->tio);
	fl->st = UF_READY;
	return 0;
}

static void
res_sockaddr(const struct sl_res_addr *ra, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ra->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ra->addr, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ra->addr, 16);
		*len = sizeof(*sin6);
	}
}

static void
udpf_resolved(struct res_req *rq, int status, const struct sl_msg *ans,
    void *arg)
{
	struct udp_flow		*fl = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint32_t		 n;
	uint8_t			*p;

	(void)rq;
	if (status != SL_RES_OK || ans->u.res_answer.naddrs == 0) {
		udpf_flow_end(fl, "the target's name did not resolve");
		return;
	}
	n = ans->u.res_answer.naddrs;
	if (n > SL_MAX_ADDRS)
		n = SL_MAX_ADDRS;
	res_sockaddr(&ans->u.res_answer.addrs[0], fl->u->l->target_port, &ss,
	    &len);
	if (udpf_open(fl, (const struct sockaddr *)&ss, len,
	    ans->u.res_answer.addrs, n) == -1)
		return;
	/* The datagram that waited; udpf_up may end (free) the flow. */
	p = fl->pending;
	fl->pending = NULL;
	(void)udpf_up(fl, p, fl->npending);
	free(p);
}

/* A new client: a flow, or a drop over a limit. */
static struct udp_flow *
udpf_flow_new(struct udp_fwd *u, const struct sockaddr_storage *from,
    socklen_t fromlen, const struct sockaddr_storage *dst, socklen_t dstlen)
{
	static uint64_t		 next_id;
	struct udp_flow		*fl;
	struct tap_info		 info;
	uint64_t		 now = mono_ms();
	enum flowtab_rc		 rc;

	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	fl->f.client = *from;
	fl->f.clientlen = fromlen;
	if ((rc = flowtab_add(u->ft, &fl->f, now)) != FLOWTAB_OK) {
		free(fl);
		if (rc == FLOWTAB_FULL || rc == FLOWTAB_CLIENT_FULL)
			udpf_drop(u, rc == FLOWTAB_FULL ? UDPF_DROP_FULL :
			    UDPF_DROP_CLIENT_FULL, (const void *)from);
		return NULL;
	}
	fl->u = u;
	/* Unique across workers: the worker index in the top bits. */
	fl->id = ((uint64_t)wk->index << 48) | ++next_id;
	fl->tfd = -1;
	fl->cfd = -1;
	fl->link = -1;
	fl->t_start = now;
	if (dst != NULL) {
		fl->dst = *dst;
		fl->dstlen = dstlen;
		sockaddr_fmt((const struct sockaddr *)dst, fl->target,
		    sizeof(fl->target));
	} else
		snprintf(fl->target, sizeof(fl->target), "%s%s%s:%u",
		    strchr(u->l->target_host, ':') != NULL ? "[" : "",
		    u->l->target_host, strchr(u->l->target_host, ':') !=
		    NULL ? "]" : "", u->l->target_port);
	if (u->l->ntaps > 0) {
		memset(&info, 0, sizeof(info));
		info.session = fl->id;
		info.listener = u->l->name;
		info.proto = "udp";
		info.client = (const struct sockaddr *)&fl->f.client;
		info.local = (const struct sockaddr *)(dst != NULL ? dst :
		    &u->l->addr);
		info.target = fl->target;
		if ((fl->taps = taps_new(u->l->taps, u->l->ntaps,
		    &info)) == NULL) {
			udpf_flow_end(fl, "taps: out of memory");
			return NULL;
		}
	}
	return fl;
}

/* A name target: keep the first datagram while the name is looked up. */
static void
udpf_flow_resolve(struct udp_flow *fl, const uint8_t *data, size_t len)
{
	if ((fl->pending = malloc(len > 0 ? len : 1)) == NULL) {
		udpf_flow_end(fl, "out of memory");
		return;
	}
	memcpy(fl->pending, data, len);
	fl->npending = len;
	fl->st = UF_RESOLVING;
	if (resolve_start(&fl->res, fl->u->l->target_host, udpf_resolved,
	    fl) == -1)
		udpf_flow_end(fl, "the target's name cannot be looked up");
}

/* tproxy: the client's side of the flow is the master's socket. */
static void
udpf_client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_flow	*fl = container_of(w, struct udp_flow, cio);
	struct udp_fwd	*u = fl->u;
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < UDPF_BURST; i++) {
		n = recv(fl->cfd, u->buf, DGRAM_MAX, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			udpf_flow_end(fl, strerror(errno));
			return;
		}
		flowtab_touch(u->ft, &fl->f, mono_ms());
		if (udpf_up(fl, u->buf, (size_t)n) == -1)
			return;
	}
}

static void
udpf_reply_socket(struct sock_req *rq, int fd, int err, void *arg)
{
	struct udp_flow	*fl = arg;
	uint8_t		*p;

	(void)rq;
	if (fd == -1) {
		char why[96];

		snprintf(why, sizeof(why), "no reply socket from the master: "
		    "%s", strerror(err));
		udpf_flow_end(fl, why);
		return;
	}
	fl->cfd = fd;
	ev_io_init(&fl->cio, udpf_client_cb, fd, EV_READ);
	ev_io_start(fl->u->loop, &fl->cio);
	fl->st = UF_READY;
	p = fl->pending;
	fl->pending = NULL;
	(void)udpf_up(fl, p, fl->npending);	/* may end (free) fl */
	free(p);
}

/* A tproxy client's first datagram: a flow to its original destination. */
static void
udpf_tproxy_flow(struct udp_fwd *u, const struct sockaddr_storage *from,
    socklen_t fromlen, const struct sockaddr_storage *dst, socklen_t dstlen,
    const uint8_t *data, size_t len)
{
	struct udp_flow	*fl;
	const char	*loop;
	char		 a[SL_ADDRSTRLEN];

	if (*(loop = transparent_loop(dst, dst, 1)) != '\0') {
		uint64_t now = mono_ms();

		if (now - u->last_drop_log >= 1000) {
			u->last_drop_log = now;
			log_warnx("listener %s: dropping datagrams to %s: %s",
			    u->l->name, sockaddr_fmt((const void *)dst, a,
			    sizeof(a)), loop);
		}
		return;
	}
	if ((fl = udpf_flow_new(u, from, fromlen, dst, dstlen)) == NULL)
		return;
	if (udpf_open(fl, (const struct sockaddr *)dst, dstlen, NULL, 0) == -1)
		return;
	fl->st = UF_REPLY_SOCKET;
	if ((fl->pending = malloc(len > 0 ? len : 1)) == NULL) {
		udpf_flow_end(fl, "out of memory");
		return;
	}
	memcpy(fl->pending, data, len);
	fl->npending = len;
	if (sockreq_tproxy_start(&fl->sreq, u->index, (const void *)dst,
	    (const void *)from, udpf_reply_socket, fl) == -1)
		udpf_flow_end(fl, "cannot ask the master for a reply socket");
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
    const uint8_t *data, size_t len)
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
	if (u->tproxy) {
		udpf_tproxy_flow(u, from, fromlen, dst, dstlen, data, len);
		return;
	}
	if ((fl = udpf_flow_new(u, from, fromlen, NULL, 0)) == NULL)
		return;
	if (u->l->target_addrlen == 0) {
		udpf_flow_resolve(fl, data, len);
		return;
	}
	if (udpf_open(fl, (const struct sockaddr *)&u->l->target_addr,
	    u->l->target_addrlen, NULL, 0) == 0)
		(void)udpf_up(fl, data, len);
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
		iov.iov_base = u->buf;
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
		    NULL, dstlen, u->buf, (size_t)n);
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
	    (u->buf = malloc(DGRAM_MAX)) == NULL) {
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
