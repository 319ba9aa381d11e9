/*
 * One UDP flow of a udp_forward or tproxy listener: its target routed
 * like any other, its link's socket (egress/udp_out.c), its taps, and
 * for tproxy the reply socket the master makes.
 *
 *   new -> [RESOLVING: the target's name] -> route -> [LINK: a socks5
 *   link's association] -> [REPLY_SOCKET: tproxy] -> READY
 *
 * The first datagram waits (one copy) while the flow is set up; others
 * arriving meanwhile are dropped and counted (UDP may lose datagrams; a
 * worker may not queue without bound).
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
#include "../relay/taps.h"
#include "../worker.h"
#include "front.h"
#include "udp_flow.h"

static struct sl_link_ctr *
udpf_ctr(const struct udp_flow *fl)
{
	return shm_ctr(wk->shm, wk->index, (uint32_t)fl->out.link);
}

/* Put out/len where a SOCKS5 header fits before it: u->buf's payload. */
static uint8_t *
udpf_in_buf(struct udp_fwd *u, const uint8_t *out, size_t len)
{
	uint8_t	*p = u->buf + DGRAM_HEADROOM;

	if (out != p)
		memmove(p, out, len);
	return p;
}

int
udpf_up(struct udp_flow *fl, uint8_t *data, size_t len)
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
	if (udp_out_send(&fl->out, udpf_in_buf(fl->u, out, outlen),
	    outlen) == -1) {
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

/* A reply from the target: through the taps to the client. */
static int
udpf_down(void *arg, uint8_t *data, size_t len)
{
	struct udp_flow	*fl = arg;
	struct udp_fwd	*u = fl->u;
	const uint8_t	*out = data;
	size_t		 outlen = len;
	int		 rc = 1;

	if (fl->taps != NULL)
		rc = taps_datagram(fl->taps, TAP_DOWN, data, len, &out,
		    &outlen);
	if (rc == -1) {
		udpf_flow_end(fl, taps_why(fl->taps));
		return -1;
	}
	if (rc == 0) {
		u->dropped[UDPF_DROP_TAP]++;
		return 0;
	}
	flowtab_touch(u->ft, &fl->f, mono_ms());
	if ((fl->cfd != -1 ? send(fl->cfd, out, outlen, 0) :
	    sendto(u->lfd, out, outlen, 0, (const struct sockaddr *)
	    &fl->f.client, fl->f.clientlen)) == -1) {
		udpf_drop(u, UDPF_DROP_SEND,
		    (const struct sockaddr *)&fl->f.client);
		return 0;
	}
	fl->down++;
	fl->down_bytes += outlen;
	atomic_fetch_add_explicit(&udpf_ctr(fl)->bytes_down, outlen,
	    memory_order_relaxed);
	return 0;
}

/* ICMP unreachable and friends: said once per flow. */
static void
udpf_error(void *arg, int err)
{
	struct udp_flow	*fl = arg;

	if (!fl->icmp_logged)
		log_warnx("flow %llu: target %s: %s",
		    (unsigned long long)fl->id, fl->target, strerror(err));
	fl->icmp_logged = 1;
}

/* The flow's line (formatted only when it will be written). */
static void
udpf_flow_log(const struct udp_flow *fl, const char *why)
{
	uint64_t	 ms = mono_ms() - fl->t_start;
	char		 c[SL_ADDRSTRLEN];

	if (log_get_level() < SL_LOG_INFO)
		return;
	log_info("flow %llu: %s %s -> %s via %s: up %llu/%llu down "
	    "%llu/%llu datagrams/bytes, %llu.%03llu s, %s",
	    (unsigned long long)fl->id, fl->u->tproxy ? "tproxy" :
	    "udp_forward", sockaddr_fmt((const void *)&fl->f.client, c,
	    sizeof(c)), fl->target, fl->out.link >= 0 ?
	    wk->conf->links[fl->out.link].name : "-",
	    (unsigned long long)fl->up, (unsigned long long)fl->up_bytes,
	    (unsigned long long)fl->down, (unsigned long long)fl->down_bytes,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    why);
}

void
udpf_flow_end(struct udp_flow *fl, const char *why)
{
	struct udp_fwd	*u = fl->u;

	udpf_flow_log(fl, why);
	resolve_cancel(&fl->res);
	sockreq_cancel(&fl->sreq);
	if (fl->cfd != -1) {
		ev_io_stop(u->loop, &fl->cio);
		close(fl->cfd);
	}
	if (fl->counted)
		atomic_fetch_sub(&udpf_ctr(fl)->active, 1);
	if (fl->limited)
		limits_udp_give(u->l);
	udp_out_close(&fl->out);
	flowtab_remove(u->ft, &fl->f);
	taps_free(fl->taps);
	free(fl->pending);
	free(fl);
}

/* The datagram that waited, if any; it may end (free) the flow. */
static void
udpf_flush_pending(struct udp_flow *fl)
{
	uint8_t	*p = fl->pending;
	size_t	 n = fl->npending;

	fl->st = UF_READY;
	if (p == NULL)
		return;
	fl->pending = NULL;
	memcpy(fl->u->buf + DGRAM_HEADROOM, p, n);
	free(p);
	(void)udpf_up(fl, fl->u->buf + DGRAM_HEADROOM, n);
}

/* tproxy: the client's side of the flow is the master's socket. */
static void
udpf_client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_flow	*fl = container_of(w, struct udp_flow, cio);
	struct udp_fwd	*u = fl->u;
	uint8_t		*p = u->buf + DGRAM_HEADROOM;
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < 64; i++) {
		n = recv(fl->cfd, p, DGRAM_MAX, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			udpf_flow_end(fl, strerror(errno));
			return;
		}
		flowtab_touch(u->ft, &fl->f, mono_ms());
		if (udpf_up(fl, p, (size_t)n) == -1)
			return;
	}
}

static void
udpf_reply_socket(struct sock_req *rq, int fd, int err, void *arg)
{
	struct udp_flow	*fl = arg;
	char		 why[96];

	(void)rq;
	if (fd == -1) {
		snprintf(why, sizeof(why), "no reply socket from the master: "
		    "%s", strerror(err));
		udpf_flow_end(fl, why);
		return;
	}
	fl->cfd = fd;
	ev_io_init(&fl->cio, udpf_client_cb, fd, EV_READ);
	ev_io_start(fl->u->loop, &fl->cio);
	udpf_flush_pending(fl);
}

/* The link can carry the flow: tproxy still needs its reply socket. */
static void
udpf_target_ready(void *arg)
{
	struct udp_flow	*fl = arg;

	if (!fl->u->tproxy) {
		udpf_flush_pending(fl);
		return;
	}
	fl->st = UF_REPLY_SOCKET;
	if (sockreq_tproxy_start(&fl->sreq, fl->u->index, (const void *)
	    &fl->dst, (const void *)&fl->f.client, udpf_reply_socket,
	    fl) == -1)
		udpf_flow_end(fl, "cannot ask the master for a reply socket");
}

static void
udpf_link_failed(void *arg, const char *why)
{
	udpf_flow_end(arg, why);
}

static const struct udp_out_ops udpf_out_ops = {
	.ready = udpf_target_ready,
	.failed = udpf_link_failed,
	.datagram = udpf_down,
	.error = udpf_error,
};

/*
 * Route the target (its name's addresses in res, when looked up) and
 * open its link: 0 ready, 1 setting up, -1 ended (fl is freed).
 */
static int
udpf_open(struct udp_flow *fl, const struct sockaddr *ta, socklen_t talen,
    const struct sl_res_addr *res, size_t nres)
{
	const struct sl_listener	*l = fl->u->l;
	struct sl_request		 req;
	struct sl_route_view		 view;
	struct sl_route			 r;
	const char			*why;
	int				 rc;

	if ((why = policy_target_denied(wk->conf, ta)) != NULL) {
		udpf_flow_end(fl, why);
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
	view.rnd = (uint32_t)random();
	view.now_ms = mono_ms();
	policy_route(wk->conf, &req, &view, &r);
	if (r.verdict != SL_ROUTE_OK) {
		udpf_flow_end(fl, r.why[0] ? r.why : "refused by policy");
		return -1;
	}
	rc = udp_out_open(&fl->out, fl->u->loop, wk->conf, r.cand, r.ncand,
	    ta, talen, fl->u->buf, &udpf_out_ops, fl, &why);
	if (rc == -1) {
		udpf_flow_end(fl, why);
		return -1;
	}
	fl->counted = 1;
	atomic_fetch_add(&udpf_ctr(fl)->opened, 1);
	atomic_fetch_add(&udpf_ctr(fl)->active, 1);
	fl->st = rc == 0 ? UF_READY : UF_LINK;
	return rc;
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
	    ans->u.res_answer.addrs, n) == 0)
		udpf_target_ready(fl);
}

/* A new flow in the table, with its taps; NULL: dropped or ended. */
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
	/* Over `limits`' max_udp_flows: dropped (logged there). */
	if (limits_udp_take(u->l, (const struct sockaddr *)from) == -1) {
		free(fl);
		return NULL;
	}
	if ((rc = flowtab_add(u->ft, &fl->f, now)) != FLOWTAB_OK) {
		limits_udp_give(u->l);
		free(fl);
		if (rc == FLOWTAB_FULL || rc == FLOWTAB_CLIENT_FULL)
			udpf_drop(u, rc == FLOWTAB_FULL ? UDPF_DROP_FULL :
			    UDPF_DROP_CLIENT_FULL, (const void *)from);
		return NULL;
	}
	fl->u = u;
	fl->limited = 1;
	/* Unique across workers: the worker index in the top bits. */
	fl->id = ((uint64_t)wk->index << 48) | ++next_id;
	fl->cfd = -1;
	fl->out.link = -1;
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

/* Keep the first datagram while the flow is set up; 0 or -1 (ended). */
static int
udpf_keep(struct udp_flow *fl, const uint8_t *data, size_t len)
{
	if ((fl->pending = malloc(len > 0 ? len : 1)) == NULL) {
		udpf_flow_end(fl, "out of memory");
		return -1;
	}
	memcpy(fl->pending, data, len);
	fl->npending = len;
	return 0;
}

void
udpf_flow_start(struct udp_fwd *u, const struct sockaddr_storage *from,
    socklen_t fromlen, const struct sockaddr_storage *dst, socklen_t dstlen,
    uint8_t *data, size_t len)
{
	const struct sl_listener	*l = u->l;
	struct udp_flow			*fl;
	int				 rc;

	if ((fl = udpf_flow_new(u, from, fromlen, dst, dstlen)) == NULL)
		return;
	if (dst == NULL && l->target_addrlen == 0) {
		fl->st = UF_RESOLVING;
		if (udpf_keep(fl, data, len) == 0 && resolve_start(&fl->res,
		    l->target_host, udpf_resolved, fl) == -1)
			udpf_flow_end(fl, "the target's name cannot be looked "
			    "up");
		return;
	}
	rc = dst != NULL ? udpf_open(fl, (const struct sockaddr *)dst, dstlen,
	    NULL, 0) : udpf_open(fl, (const struct sockaddr *)&l->target_addr,
	    l->target_addrlen, NULL, 0);
	if (rc == -1)
		return;
	if (rc == 0 && !u->tproxy) {
		(void)udpf_up(fl, data, len);	/* the common case: no copy */
		return;
	}
	if (udpf_keep(fl, data, len) == 0 && rc == 0)
		udpf_target_ready(fl);
}
