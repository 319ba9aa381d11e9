/*
 * Dialing a target through one egress link.
 *
 * A direct link connects from its source address to the target.  A
 * socks5 link is the outer end of a chain: the innermost hop is reached
 * directly (from the "via" direct link's source, if any), then each hop
 * is asked to CONNECT to the next, and the outermost to the target.
 * Target names are passed to the upstream untouched, so the last hop
 * resolves them.  Replies from upstreams are read exactly, never past
 * their end, so bytes the target sends at once stay in the socket for
 * the relay.
 *
 * The first connection, to the target or to the innermost hop, uses
 * happy eyeballs (RFC 8305): the name's addresses, families interleaved,
 * are tried one after another, the next one starting when the previous
 * fails or after happy_eyeballs_ms without an answer, at most
 * DIAL_ATTEMPTS at once (then the oldest gives way).  The first to
 * connect wins and the others are closed at once; the dial fails only
 * when every attempt failed.
 *
 * One timer per dial: it fires at the next attempt's start or at the
 * link's connect timeout, which bounds the whole dial, whichever is
 * first.
 *
 * A direct dial to a name checks every address the name resolved to, as
 * session_connect() checks an address target (ip_blacklist,
 * deny_targets): the hosts file answers unfiltered, deny_targets is the
 * worker's alone, and the worker does not trust the resolver's filtering
 * more than it must.  Through a socks5 upstream the last hop resolves
 * the name, out of sluice's sight.
 *
 * The SOCKS5 negotiation with the hops, on the winning connection, is in
 * dial_s5.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../policy/select.h"
#include "dial_priv.h"
#include "race.h"

static void	dial_resolved(struct res_req *, int, const struct sl_msg *,
		    void *);
static void	dial_connect_begin(struct dial *);
static int	dial_filter_addrs(struct dial *);
static void	dial_he_next(struct dial *);
static void	dial_he_stagger(struct dial *);
static void	dial_try_io(struct ev_loop *, ev_io *, int);

/* Where an attempt failed: the same errno can mean different things. */
enum dial_stage {
	DIAL_AT_SOCKET,		/* socket(2) */
	DIAL_AT_BIND,		/* the link's source or interface */
	DIAL_AT_CONNECT,	/* connect(2), at once or later */
	DIAL_AT_SOCKREQ,	/* asking the master for a socket */
};

enum sl_conn_err
dial_errno_err(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return SL_CONN_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return SL_CONN_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SL_CONN_HOST_UNREACH;
	case ETIMEDOUT:
		return SL_CONN_TIMEOUT;
	case EAFNOSUPPORT:
		return SL_CONN_ADDR_UNSUPP;
	default:
		return SL_CONN_FAIL;
	}
}

/* Free an attempt's slot: its socket, or its request for one. */
static void
dial_try_close(struct dial_try *t)
{
	struct dial *d = t->d;

	if (!t->busy)
		return;
	sockreq_cancel(&t->sreq);
	if (t->fd != -1) {
		ev_io_stop(d->loop, &t->io);
		race_close(d->loop, t->fd, t->shared);
		t->fd = -1;
	}
	t->busy = 0;
	d->ntries--;
}

static void
dial_tries_close(struct dial *d)
{
	size_t	i;

	for (i = 0; i < nitems(d->tries); i++)
		dial_try_close(&d->tries[i]);
	d->stagger_at = 0;
}

static void
dial_stop(struct dial *d)
{
	resolve_cancel(&d->res);
	agent_link_cancel(&d->areq);
	dial_tries_close(d);
	ev_timer_stop(d->loop, &d->timer);
	if (d->fd != -1) {
		ev_io_stop(d->loop, &d->io);
		race_close(d->loop, d->fd, d->fd_shared);
		d->fd = -1;
	}
	d->phase = DIAL_IDLE;
}

static void
dial_set_why(struct dial *d, const char *why)
{
	if (why != NULL && why != d->why)
		(void)snprintf(d->why, sizeof(d->why), "%s", why);
}

void
dial_fail(struct dial *d, enum sl_conn_err err, const char *why)
{
	if (d->local_fault)
		d->link_fault = 0;
	dial_set_why(d, why);
	dial_stop(d);
	d->cb(d, -1, err, NULL, d->why, d->arg);
}

void
dial_succeed(struct dial *d)
{
	int	fd = d->fd;

	ev_io_stop(d->loop, &d->io);
	d->fd = -1;
	dial_stop(d);
	d->cb(d, fd, SL_CONN_OK, &d->bound, NULL, d->arg);
}

/*
 * Failures found before the loop runs are reported from the loop, so a
 * caller never sees its callback run inside dial_start().
 */
void
dial_fail_soon(struct dial *d, enum sl_conn_err err, const char *why)
{
	d->last_err = err;
	dial_set_why(d, why);
	dial_tries_close(d);
	d->phase = DIAL_IDLE;
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, 0., 0.);
	ev_timer_start(d->loop, &d->timer);
}

/* Arm the dial's one timer for the next attempt or the deadline. */
static void
dial_arm(struct dial *d)
{
	ev_tstamp	at = d->deadline, left;

	d->timer_is_deadline = 1;
	if (d->stagger_at != 0 && d->stagger_at < at) {
		at = d->stagger_at;
		d->timer_is_deadline = 0;
	}
	left = at - ev_now(d->loop);
	ev_timer_stop(d->loop, &d->timer);
	ev_timer_set(&d->timer, left > 0 ? left : 0., 0.);
	ev_timer_start(d->loop, &d->timer);
}

static void
dial_deadline(struct dial *d)
{
	char	why[sizeof(d->why) + 32];

	if (d->phase == DIAL_RESOLVE) {
		/* A name that never resolves is not the link's fault. */
		d->link_fault = 0;
		dial_fail(d, SL_CONN_HOST_UNREACH, "lookup timeout");
		return;
	}
	/*
	 * An address that answered shows the line works; after a local
	 * shortage the link was not fairly tried.
	 */
	d->link_fault = !d->local_fault &&
	    !(d->phase == DIAL_CONNECT && d->target_answered);
	if (d->phase == DIAL_CONNECT && d->why[0] != '\0')
		snprintf(why, sizeof(why), "connect timeout (%s)", d->why);
	else
		snprintf(why, sizeof(why), "connect timeout");
	dial_fail(d, SL_CONN_TIMEOUT, why);
}

static void
dial_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = container_of(w, struct dial, timer);

	(void)loop;
	(void)revents;
	if (d->phase == DIAL_IDLE)
		dial_fail(d, d->last_err, d->why);
	else if (!d->timer_is_deadline)
		dial_he_stagger(d);
	else
		dial_deadline(d);
}

/* Chain of socks5 hops for `link`, outer first; the direct base, if any. */
static int
dial_chain(struct dial *d)
{
	int	l = d->link;

	d->nhops = 0;
	d->base = -1;
	while (l != -1) {
		const struct sl_link *lk = &d->conf->links[l];

		if (lk->proto == SL_LINK_DIRECT) {
			d->base = l;
			break;
		}
		if (d->nhops > SL_MAX_CHAIN)
			return -1;
		d->hops[d->nhops++] = l;
		l = lk->via;
	}
	return 0;
}

/* The one address of an IP literal or a socket address. */
static void
dial_one_addr(struct dial *d, const struct sockaddr *sa)
{
	d->naddrs = 1;
	d->addrs[0].family = sa->sa_family == AF_INET ? 4 : 6;
	if (sa->sa_family == AF_INET)
		memcpy(d->addrs[0].addr,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else
		memcpy(d->addrs[0].addr,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
}

static void
dial_first_endpoint(struct dial *d)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*name;

	if (d->nhops > 0) {
		const struct sl_link *hop = &d->conf->links[d->hops[d->nhops - 1]];

		name = hop->host;
		d->port = hop->port;
	} else {
		name = d->target->host;
		d->port = d->target->port;
	}
	if (d->nhops == 0 && d->target->host[0] == '\0')
		ss = d->target->addr;
	else if (sockaddr_from_ip(name, 0, &ss, &len) == -1)
		ss.ss_family = AF_UNSPEC;
	if (ss.ss_family != AF_UNSPEC) {
		dial_one_addr(d, (struct sockaddr *)&ss);
		dial_connect_begin(d);
		return;
	}
	d->phase = DIAL_RESOLVE;
	if (resolve_start(&d->res, name, dial_resolved, d) == -1)
		dial_fail_soon(d, SL_CONN_HOST_UNREACH, "resolver unavailable");
}

void
dial_start(struct dial *d, struct ev_loop *loop, const struct sl_conf *conf,
    int link, const struct sl_target *target,
    const struct sl_res_addr *pre, uint32_t npre, dial_cb cb, void *arg)
{
	size_t	i;
	int	skip;

	skip = d->skip_bound;
	memset(d, 0, sizeof(*d));
	d->skip_bound = skip;
	d->loop = loop;
	d->conf = conf;
	d->link = link;
	d->target = target;
	d->fd = -1;
	for (i = 0; i < nitems(d->tries); i++) {
		d->tries[i].d = d;
		d->tries[i].fd = -1;
	}
	d->cb = cb;
	d->arg = arg;
	d->last_err = SL_CONN_HOST_UNREACH;
	ev_init(&d->timer, dial_timeout);
	d->deadline = ev_now(loop) + conf->links[link].timeout_ms / 1000.0;
	dial_arm(d);
	if (conf->links[link].proto == SL_LINK_AGENT) {
		dial_agent_start(d);
		return;
	}
	if (dial_chain(d) == -1) {
		dial_fail_soon(d, SL_CONN_FAIL, "link chain too deep");
		return;
	}
	if (d->nhops == 0 && npre > 0 && target->host[0] != '\0') {
		d->naddrs = npre > SL_MAX_ADDRS ? SL_MAX_ADDRS : npre;
		memcpy(d->addrs, pre, d->naddrs * sizeof(d->addrs[0]));
		d->port = target->port;
		if (dial_filter_addrs(d) == -1) {
			dial_fail_soon(d, SL_CONN_NOT_ALLOWED, d->why);
			return;
		}
		dial_connect_begin(d);
		return;
	}
	dial_first_endpoint(d);
}

void
dial_set_timeout(struct dial *d, uint32_t ms)
{
	if (d->phase == DIAL_IDLE)
		return;		/* already failing: leave its timer alone */
	d->deadline = ev_now(d->loop) + ms / 1000.0;
	dial_arm(d);
}

void
dial_cancel(struct dial *d)
{
	if (d->loop != NULL)
		dial_stop(d);
}

static void
dial_resolved(struct res_req *r, int status, const struct sl_msg *ans,
    void *arg)
{
	struct dial	*d = arg;

	(void)r;
	if (status != SL_RES_OK || ans->u.res_answer.naddrs == 0) {
		d->link_fault = d->nhops > 0;	/* the proxy's own name */
		snprintf(d->why, sizeof(d->why), "cannot resolve %s: %s",
		    d->nhops > 0 ? d->conf->links[d->hops[d->nhops - 1]].host :
		    d->target->host, status == SL_RES_NXDOMAIN ? "no such name" :
		    status == SL_RES_TIMEOUT ? "timeout" : "lookup failed");
		dial_fail(d, SL_CONN_HOST_UNREACH, d->why);
		return;
	}
	d->naddrs = ans->u.res_answer.naddrs;
	if (d->naddrs > SL_MAX_ADDRS)
		d->naddrs = SL_MAX_ADDRS;
	memcpy(d->addrs, ans->u.res_answer.addrs, d->naddrs * sizeof(d->addrs[0]));
	if (d->nhops == 0 && dial_filter_addrs(d) == -1) {
		dial_fail(d, SL_CONN_NOT_ALLOWED, d->why);
		return;
	}
	dial_connect_begin(d);
}

/*
 * Drop the addresses of the target's name that no direct connection may
 * reach, in place.  -1, with d->why naming the keys, when none is left.
 */
static int
dial_filter_addrs(struct dial *d)
{
	struct sockaddr_storage	 ss;
	const char		*deny, *first = NULL, *other = NULL;
	char			 a[INET6_ADDRSTRLEN];
	uint32_t		 i, k = 0;

	for (i = 0; i < d->naddrs; i++) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = d->addrs[i].family == 4 ? AF_INET : AF_INET6;
		if (ss.ss_family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr,
			    d->addrs[i].addr, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    d->addrs[i].addr, 16);
		if ((deny = policy_target_denied(d->conf,
		    (const struct sockaddr *)&ss)) == NULL) {
			d->addrs[k++] = d->addrs[i];
			continue;
		}
		if (first == NULL)
			first = deny;
		else if (deny != first)
			other = deny;
		if (inet_ntop(ss.ss_family, d->addrs[i].addr, a,
		    sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		log_debug("%s: address %s refused by %s", d->target->host, a,
		    deny);
	}
	d->naddrs = k;
	if (k > 0)
		return 0;
	d->link_fault = 0;
	snprintf(d->why, sizeof(d->why), "refused by %s%s%s (every address "
	    "of %s)", first != NULL ? first : "policy", other != NULL ?
	    " and " : "", other != NULL ? other : "", d->target->host);
	return -1;
}

/* Happy eyeballs: connecting the first endpoint. */

static void
dial_connect_begin(struct dial *d)
{
	race_interleave(d->addrs, d->naddrs);
	d->iaddr = 0;
	d->phase = DIAL_CONNECT;
	dial_he_next(d);
}

static socklen_t
dial_sockaddr(const struct sl_res_addr *a, uint16_t port, struct dial_try *t)
{
	memset(&t->to, 0, sizeof(t->to));
	if (a->family == 4) {
		t->to.sin.sin_family = AF_INET;
		t->to.sin.sin_port = htons(port);
		memcpy(&t->to.sin.sin_addr, a->addr, 4);
		return sizeof(t->to.sin);
	}
	t->to.sin6.sin6_family = AF_INET6;
	t->to.sin6.sin6_port = htons(port);
	memcpy(&t->to.sin6.sin6_addr, a->addr, 16);
	return sizeof(t->to.sin6);
}

/*
 * Errors that say this host ran short, not that the link failed: out of
 * descriptors (ours or the system's), of socket buffers or of memory, or
 * the master could not be asked for a socket.  EADDRNOTAVAIL counts only
 * from connect(): there it means no free ephemeral port toward this very
 * destination (ports are unique per 4-tuple), while from bind() it means
 * the link's source address is gone from the host, a real link fault
 * that should send traffic to other links.
 */
static int
dial_errno_local(int err, enum dial_stage stage)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 1;
	case EADDRNOTAVAIL:
		return stage == DIAL_AT_CONNECT;
	case EAGAIN:
		return stage == DIAL_AT_SOCKREQ;
	default:
		return 0;
	}
}

/*
 * Remember a local shortage: never the link's fault, and once one
 * attempt met it, the dial no longer tests the link fairly (an address
 * skipped for want of a descriptor might have worked), so no later link
 * error counts either.  A target's answer still says more.
 */
static void
dial_note_local(struct dial *d, const struct sockaddr *to, int err)
{
	char	a[SL_ADDRSTRLEN];

	d->local_fault = 1;
	d->link_fault = 0;
	if (d->target_answered)
		return;
	d->last_err = SL_CONN_FAIL;
	snprintf(d->why, sizeof(d->why), "connect %s: %s (local shortage, "
	    "not the link's fault)", sockaddr_fmt(to, a, sizeof(a)),
	    strerror(err));
}

/*
 * Remember why an attempt failed.  An upstream proxy that cannot be
 * reached is the link's fault; a target refusing or unreachable from a
 * working line is not, and what the target answered says more than a
 * link error, so it is kept over any later link error.
 */
static void
dial_note_error(struct dial *d, const struct sockaddr *to, int err,
    enum dial_stage stage)
{
	char	a[SL_ADDRSTRLEN];
	int	lf = d->nhops > 0 || (err != ECONNREFUSED &&
		    err != EHOSTUNREACH);

	if (dial_errno_local(err, stage)) {
		dial_note_local(d, to, err);
		return;
	}
	if (lf && (d->target_answered || d->local_fault))
		return;
	if (!lf)
		d->target_answered = 1;
	d->link_fault = lf;
	d->last_err = dial_errno_err(err);
	snprintf(d->why, sizeof(d->why), "connect %s: %s",
	    sockaddr_fmt(to, a, sizeof(a)), strerror(err));
}

/* Start connecting t->fd to t->to; -1 with errno (t->fd left open). */
static int
dial_try_connect(struct dial_try *t)
{
	union sl_peer_addr	peer;
	socklen_t		plen = sizeof(peer);
	int			one = 1, r;

	(void)setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((r = connect(t->fd, &t->to.sa, t->tolen)) == -1 &&
	    errno != EINPROGRESS)
		return -1;
	ev_io_init(&t->io, dial_try_io, t->fd, EV_WRITE);
	/*
	 * To a local target the whole handshake runs inside connect() (a
	 * loopback send runs the receiver's TCP input at once), so the
	 * socket is usually connected already: the attempt's callback
	 * then runs in this turn of the loop, with no EPOLLOUT to
	 * register and wait for (getpeername succeeds only once
	 * connected).
	 */
	t->connected = r == 0 || getpeername(t->fd, &peer.sa, &plen) == 0;
	if (t->connected)
		ev_feed_event(t->d->loop, &t->io, EV_WRITE);
	else
		ev_io_start(t->d->loop, &t->io);
	return 0;
}

/*
 * Bind to the link's source address.  Without a source port, the port
 * is left to connect() (IP_BIND_ADDRESS_NO_PORT): a port chosen at bind
 * time would be reserved for every destination, and a busy link would
 * run out of them while they sit in TIME_WAIT.
 */
static int
dial_bind_source(int fd, const struct sl_link *base)
{
	int	one = 1;

	if (sockaddr_port((const struct sockaddr *)&base->source) == 0)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
	return bind(fd, (const struct sockaddr *)&base->source,
	    base->sourcelen);
}

/*
 * Open, bind and connect a socket for t->to ourselves; -1 with errno and
 * *stage saying which step failed.
 */
static int
dial_try_open(struct dial_try *t, const struct sl_link *base,
    enum dial_stage *stage)
{
	*stage = DIAL_AT_SOCKET;
	t->fd = socket(t->to.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (t->fd == -1)
		return -1;
	*stage = DIAL_AT_BIND;
	if (base != NULL && base->sourcelen != 0 &&
	    dial_bind_source(t->fd, base) == -1)
		return -1;
	*stage = DIAL_AT_CONNECT;
	return dial_try_connect(t);
}

static void
dial_try_failed(struct dial_try *t, int err, enum dial_stage stage)
{
	struct dial *d = t->d;

	dial_note_error(d, &t->to.sa, err, stage);
	dial_try_close(t);
	/* RFC 8305: a failure starts the next attempt at once. */
	dial_he_next(d);
}

/* The master made the interface-bound socket (or could not). */
static void
dial_got_socket(struct sock_req *r, int fd, int err, void *arg)
{
	struct dial_try *t = arg;

	(void)r;
	/* The master's socket(), SO_BINDTODEVICE or bind() failed. */
	if (fd == -1) {
		dial_try_failed(t, err, DIAL_AT_BIND);
		return;
	}
	t->fd = fd;
	t->shared = 1;
	if (dial_try_connect(t) == -1)
		dial_try_failed(t, errno, DIAL_AT_CONNECT);
}

/*
 * Start one attempt at address a in free slot t: 0 when it is under way,
 * -1 when it failed at once (noted).  A base link bound to an interface
 * needs a socket from the master (the worker holds no CAP_NET_RAW);
 * anything else the worker opens itself.
 */
static int
dial_try_start(struct dial *d, struct dial_try *t, const struct sl_res_addr *a)
{
	const struct sl_link	*base = d->base != -1 ?
				    &d->conf->links[d->base] : NULL;
	enum dial_stage		 stage = DIAL_AT_SOCKREQ;

	t->tolen = dial_sockaddr(a, d->port, t);
	t->fd = -1;
	t->shared = 0;
	if (base != NULL && base->sourcelen != 0 &&
	    base->source.ss_family != t->to.sa.sa_family) {
		dial_note_error(d, &t->to.sa, EAFNOSUPPORT, DIAL_AT_BIND);
		return -1;
	}
	t->busy = 1;
	t->started = ev_now(d->loop);
	d->ntries++;
	if (base != NULL && base->interface[0] != '\0') {
		if (sockreq_start(&t->sreq, (uint32_t)d->base,
		    a->family == 4 ? 4 : 6, dial_got_socket, t) == 0)
			return 0;
		errno = EAGAIN;
	} else if (dial_try_open(t, base, &stage) == 0)
		return 0;
	dial_note_error(d, &t->to.sa, errno, stage);
	dial_try_close(t);
	return -1;
}

/*
 * Start the next address, skipping those that fail at once, when a slot
 * is free; then wait for the attempt delay (or a failure) before the
 * one after.  With nothing in flight and nothing left the dial fails.
 */
static void
dial_he_next(struct dial *d)
{
	size_t	i = 0;

	d->stagger_at = 0;
	while (d->iaddr < d->naddrs && i < nitems(d->tries)) {
		if (d->tries[i].busy)
			i++;
		else if (dial_try_start(d, &d->tries[i],
		    &d->addrs[d->iaddr++]) == 0)
			break;
	}
	if (d->ntries == 0) {
		/* Every attempt failed and no address is left. */
		dial_fail_soon(d, d->last_err, d->why[0] != '\0' ? d->why :
		    "no usable address");
		return;
	}
	/* With no delay and no free slot, only a failure makes room. */
	if (d->iaddr < d->naddrs && (d->ntries < DIAL_ATTEMPTS ||
	    d->conf->happy_eyeballs_ms > 0))
		d->stagger_at = ev_now(d->loop) +
		    d->conf->happy_eyeballs_ms / 1000.0;
	dial_arm(d);
}

/*
 * No answer within the attempt delay: start the next address.  When all
 * slots are busy the oldest attempt, which had the most time, gives way.
 */
static void
dial_he_stagger(struct dial *d)
{
	struct dial_try	*old = NULL;
	char		 a[SL_ADDRSTRLEN];
	size_t		 i;

	for (i = 0; i < nitems(d->tries); i++) {
		if (!d->tries[i].busy)
			break;
		if (old == NULL || d->tries[i].started < old->started)
			old = &d->tries[i];
	}
	if (i == nitems(d->tries) && old != NULL && d->iaddr < d->naddrs &&
	    d->conf->happy_eyeballs_ms > 0) {
		if (!d->target_answered && !d->local_fault) {
			d->last_err = SL_CONN_HOST_UNREACH;
			d->link_fault = 1;
			snprintf(d->why, sizeof(d->why), "connect %s: no answer "
			    "in %.3f s", sockaddr_fmt(&old->to.sa, a, sizeof(a)),
			    ev_now(d->loop) - old->started);
		}
		dial_try_close(old);
	}
	dial_he_next(d);
}

void
dial_skip_bound(struct dial *d, int skip)
{
	d->skip_bound = skip;
}

/* An attempt connected: it wins, the others are closed at once. */
static void
dial_he_won(struct dial_try *t)
{
	struct dial	*d = t->d;
	socklen_t	 len = sizeof(d->bound);

	ev_io_stop(d->loop, &t->io);
	/* A connection made it: earlier shortages no longer matter. */
	d->local_fault = 0;
	d->fd = t->fd;
	d->fd_shared = t->shared;
	t->fd = -1;
	dial_try_close(t);
	dial_tries_close(d);
	dial_arm(d);		/* only the deadline is left */
	if (d->nhops == 0) {
		if (d->skip_bound || getsockname(d->fd,
		    (struct sockaddr *)&d->bound, &len) == -1)
			memset(&d->bound, 0, sizeof(d->bound));
		dial_succeed(d);
		return;
	}
	dial_s5_start(d);
}

static void
dial_try_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial_try	*t = container_of(w, struct dial_try, io);
	int		 err = 0;
	socklen_t	 elen = sizeof(err);

	(void)loop;
	(void)revents;
	if (!t->connected &&
	    getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0)
		dial_try_failed(t, err, DIAL_AT_CONNECT);
	else
		dial_he_won(t);
}
