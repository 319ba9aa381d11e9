/*
 * SOCKS5 UDP ASSOCIATE (RFC 1928 section 7).
 *
 * The association: a UDP socket on the address the client reached us on
 * (kernel-chosen port, named in the 0x00 reply), the generic datagram
 * pump (relay/datagram.c) between it and per-link target sockets
 * (egress/udp.c), and the TCP control connection, which this file
 * watches from then on (s->state S_FRONT): its EOF or error ends the
 * association and the session, and so does udp_timeout with no datagram
 * relayed, or a socks5 upstream's association ending.
 *
 * Rules for a datagram from the client socket:
 *  - only the client's IP (that of the TCP connection) may use it, and
 *    only one port: the DST.PORT it announced, else that of its first
 *    datagram.  Anything else is a stranger: dropped, counted, logged at
 *    most once a second per worker;
 *  - a malformed header or FRAG != 0 (sluice does not reassemble) is
 *    dropped and counted;
 *  - each destination is checked like a CONNECT (ip_blacklist, then
 *    session_route_target()) and sticks to the first candidate link that
 *    can carry UDP, so one flow never changes line.  The verdict, the
 *    link and a name's address are kept per association for
 *    S5U_DEST_TTL_MS in a small table (S5U_DESTS entries, least recently
 *    used replaced);
 *  - a name for a direct link is resolved asynchronously; one datagram
 *    per association waits for a lookup or an upstream's set-up, others
 *    arriving meanwhile are dropped (UDP may lose datagrams; a worker
 *    may not block or queue without bound).
 * Replies from a direct target are accepted only from an address:port a
 * datagram was sent to, and go to the client behind a header naming it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../policy/counters.h"
#include "../egress/egress.h"
#include "../egress/udp.h"
#include "../proto/socks5_wire.h"
#include "../relay/datagram.h"
#include "../relay/taps.h"
#include "socks5.h"
#include "socks5_udp.h"

static const char *const drop_names[DROP_MAX] = {
	"stranger", "fragment", "malformed", "refused", "no link", "busy",
	"tap",
};

struct sl_link_ctr *
s5u_ctr(int link)
{
	return shm_ctr(eg.shm, eg.index, (uint32_t)link);
}

void
s5u_drop(struct s5u *a, enum s5u_drop why)
{
	a->drops[why]++;
	atomic_fetch_add_explicit(&shm_worker(eg.shm, eg.index)->udp_dropped,
	    1, memory_order_relaxed);
}

/* The client's datagram: from the client, on its one port? */
static int
s5u_from_client(struct s5u *a, const struct sockaddr *from, socklen_t len)
{
	static uint64_t	 last;
	char		 f[SL_ADDRSTRLEN];
	uint64_t	 now;

	if (udp_same_addr(from, &a->client, a->port_fixed)) {
		if (!a->port_fixed && len <= sizeof(a->client)) {
			memcpy(&a->client, from, len);
			a->clientlen = len;
			a->port_fixed = 1;
		}
		return 1;
	}
	s5u_drop(a, DROP_STRANGER);
	if ((now = mono_ms()) - last >= 1000) {
		last = now;
		log_warnx("session %llu: UDP datagram from stranger %s dropped",
		    (unsigned long long)a->s->id, sockaddr_fmt(from, f,
		    sizeof(f)));
	}
	return 0;
}

/* A direct link's socket for family, made on first use; -1 if none. */
static int
s5u_direct_peer(struct s5u *a, struct s5u_link *L, int family)
{
	struct sl_link_ctr	*c = s5u_ctr(L->link);
	int			*peer, fd;

	peer = family == AF_INET ? &L->peer4 : &L->peer6;

	if (*peer != -1)
		return *peer;
	if ((fd = udp_direct_socket(eg.conf, L->link, family)) == -1) {
		snprintf(a->why, sizeof(a->why), "link %s: UDP socket: %s",
		    eg.conf->links[L->link].name, strerror(errno));
		return -1;
	}
	*peer = datagram_add_peer(&a->dg, fd, &c->bytes_up, &c->bytes_down);
	return *peer;
}

static void	s5u_up_done(struct udp_up *, int, const char *, void *);

/* Through a socks5 link: wrap for its relay, or wait for it. */
static enum dgram_verdict
s5u_via_upstream(struct s5u *a, struct s5u_dest *d, struct s5u_link *L,
    uint8_t *p, size_t n, struct dgram_out *out)
{
	if (!L->ready) {
		if (L->up.loop == NULL)
			udp_up_start(&L->up, eg.loop, eg.conf, L->link,
			    s5u_up_done, a);
		if (L->up.phase == UDP_UP_DONE ||
		    s5u_hold(a, d, p, n) == -1) {
			s5u_drop(a, L->up.phase == UDP_UP_DONE ? DROP_NOLINK :
			    DROP_BUSY);
			return DGRAM_DROP;
		}
		return DGRAM_KEEP;
	}
	if (udp_up_wrap(&d->t, &p, &n, DGRAM_HEADROOM) == -1) {
		s5u_drop(a, DROP_BAD);
		return DGRAM_DROP;
	}
	out->peer = L->peer;
	out->to = (const struct sockaddr *)&L->up.relay;
	out->tolen = L->up.relaylen;
	out->data = p;
	out->len = n;
	return DGRAM_SEND;
}

/* Where the payload p (DGRAM_HEADROOM free before it) for d goes. */
static enum dgram_verdict
s5u_route_dgram(struct s5u *a, struct s5u_dest *d, uint8_t *p, size_t n,
    struct dgram_out *out)
{
	struct s5u_link	*L;

	d->used = mono_ms();
	switch (d->st) {
	case D_RESOLVING:
		if (s5u_hold(a, d, p, n) == -1)
			break;
		return DGRAM_KEEP;
	case D_REFUSED:
		s5u_drop(a, d->why);
		return DGRAM_DROP;
	default:
		L = &a->links[d->li];
		if (eg.conf->links[L->link].proto != SL_LINK_DIRECT)
			return s5u_via_upstream(a, d, L, p, n, out);
		if ((out->peer = s5u_direct_peer(a, L,
		    d->to.ss_family)) == -1) {
			s5u_drop(a, DROP_NOLINK);
			return DGRAM_DROP;
		}
		out->to = (const struct sockaddr *)&d->to;
		out->tolen = d->tolen;
		out->data = p;
		out->len = n;
		return DGRAM_SEND;
	}
	s5u_drop(a, DROP_BUSY);
	return DGRAM_DROP;
}

/* The kept datagram's turn (its lookup or upstream is done). */
void
s5u_dispatch(struct s5u *a, struct s5u_dest *d, uint8_t *p, size_t n)
{
	struct dgram_out	out;

	memset(&out, 0, sizeof(out));
	if (s5u_route_dgram(a, d, p, n, &out) == DGRAM_SEND)
		(void)datagram_send(&a->dg, out.peer, out.to, out.tolen,
		    out.data, out.len);
}

/*
 * The listener's taps on one datagram's payload (*p, *n), in place: the
 * result must fit the pump's buffer from *p on.  0 to send it, -1 to
 * drop it.  A failing tap drops the datagram (logged once): the
 * association lives as long as its TCP connection, not its taps.
 */
static int
s5u_tap(struct s5u *a, enum tap_dir dir, uint8_t *p, size_t *n)
{
	const uint8_t	*out;
	size_t		 outlen, room;
	int		 rc;

	if (a->taps == NULL)
		return 0;
	room = (size_t)(a->dg.buf + DGRAM_HEADROOM + DGRAM_MAX - p);
	rc = taps_datagram(a->taps, dir, p, *n, &out, &outlen);
	if (rc == 1 && outlen <= room) {
		if (out != p)
			memmove(p, out, outlen);
		*n = outlen;
		return 0;
	}
	if (rc == -1 && !a->tap_failed) {
		a->tap_failed = 1;
		log_warnx("session %llu: UDP: %s; dropping what it fails on",
		    (unsigned long long)a->s->id, taps_why(a->taps));
	}
	s5u_drop(a, DROP_TAP);
	return -1;
}

static enum dgram_verdict
s5u_client_dgram(void *arg, const struct sockaddr *from, socklen_t fromlen,
    uint8_t *data, size_t len, struct dgram_out *out)
{
	struct s5u		*a = arg;
	struct s5u_dest		*d;
	struct sl_target	 t;
	uint8_t			 frag;
	int			 n;

	if (!s5u_from_client(a, from, fromlen))
		return DGRAM_DROP;
	if ((n = socks5_parse_udp(data, len, &frag, &t)) < 0 || frag != 0) {
		s5u_drop(a, n < 0 ? DROP_BAD : DROP_FRAG);
		return DGRAM_DROP;
	}
	t.proto = SL_L4_UDP;
	if ((d = s5u_dest_find(a, &t)) == NULL) {
		s5u_drop(a, DROP_BUSY);
		return DGRAM_DROP;
	}
	if (d->st == D_FREE || (d->st != D_RESOLVING &&
	    mono_ms() >= d->expires))
		s5u_dest_new(a, d, &t);
	len -= (size_t)n;
	if (s5u_tap(a, TAP_UP, data + n, &len) == -1)
		return DGRAM_DROP;
	return s5u_route_dgram(a, d, data + n, len, out);
}

/* Put the client's header naming the sender in front of *p. */
static int
s5u_wrap(uint8_t **p, size_t *n, const struct sl_target *who)
{
	const char	*host = who->host[0] != '\0' ? who->host : NULL;
	int		 h;

	h = socks5_udp_hdrlen(host, (const struct sockaddr *)&who->addr);
	if (h < 0 || h > DGRAM_HEADROOM)
		return -1;
	if (socks5_build_udp(*p - h, (size_t)h, host, who->port,
	    (const struct sockaddr *)&who->addr) != h)
		return -1;
	*p -= h;
	*n += (size_t)h;
	return 0;
}

/* A direct reply is welcome only from where a datagram went. */
static int
s5u_known_sender(const struct s5u *a, int li, const struct sockaddr *from)
{
	size_t	i;

	for (i = 0; i < S5U_DESTS; i++)
		if (a->dests[i].st == D_READY && a->dests[i].li == li &&
		    udp_same_addr(from, &a->dests[i].to, 1))
			return 1;
	return 0;
}

static enum dgram_verdict
s5u_peer_dgram(void *arg, int peer, const struct sockaddr *from,
    socklen_t fromlen, uint8_t *data, size_t len, struct dgram_out *out)
{
	struct s5u		*a = arg;
	struct s5u_link		*L;
	struct sl_target	 who;
	int			 li;

	for (li = 0; li < S5U_LINKS; li++) {
		L = &a->links[li];
		if (L->link != -1 && (L->peer4 == peer || L->peer6 == peer ||
		    L->peer == peer))
			break;
	}
	if (li == S5U_LINKS || !a->port_fixed) {
		s5u_drop(a, DROP_STRANGER);
		return DGRAM_DROP;
	}
	if (L->peer == peer) {
		if (udp_up_unwrap(&L->up, from, &data, &len, &who) == -1) {
			s5u_drop(a, DROP_BAD);
			return DGRAM_DROP;
		}
	} else if (!s5u_known_sender(a, li, from)) {
		s5u_drop(a, DROP_STRANGER);
		return DGRAM_DROP;
	} else {
		memset(&who, 0, sizeof(who));
		sl_target_set_addr(&who, from, fromlen);
	}
	if (s5u_tap(a, TAP_DOWN, data, &len) == -1)
		return DGRAM_DROP;
	if (s5u_wrap(&data, &len, &who) == -1) {
		s5u_drop(a, DROP_BAD);
		return DGRAM_DROP;
	}
	out->peer = DGRAM_CLIENT;
	out->to = (const struct sockaddr *)&a->client;
	out->tolen = a->clientlen;
	out->data = data;
	out->len = len;
	return DGRAM_SEND;
}

/* End the association and the session, the counts in the log line. */
static void
s5u_close(struct s5u *a, const char *outcome, const char *why)
{
	struct session	*s = a->s;
	char		 drops[160];
	size_t		 off = 0;
	int		 i;

	drops[0] = '\0';
	for (i = 0; i < DROP_MAX; i++)
		if (a->drops[i] > 0 && off < sizeof(drops))
			off += (size_t)snprintf(drops + off,
			    sizeof(drops) - off, "%s%s %llu", off ? ", " : " (",
			    drop_names[i], (unsigned long long)a->drops[i]);
	if (off > 0 && off < sizeof(drops) - 1)
		strcat(drops, ")");
	session_detail(s, "udp up %llu datagrams %llu bytes, down %llu "
	    "datagrams %llu bytes, dropped %llu%s%s%s",
	    (unsigned long long)a->dg.st.up,
	    (unsigned long long)a->dg.st.up_bytes,
	    (unsigned long long)a->dg.st.down,
	    (unsigned long long)a->dg.st.down_bytes,
	    (unsigned long long)(a->dg.st.dropped + a->dg.st.send_failed),
	    drops, why != NULL || a->why[0] ? "; " : "",
	    why != NULL ? why : a->why);
	session_close(s, outcome);
}

/* A socks5 link's upstream association is ready, failed or ended. */
static void
s5u_up_done(struct udp_up *up, int ok, const char *why, void *arg)
{
	struct s5u		*a = arg;
	struct s5u_link		*L = container_of(up, struct s5u_link, up);
	struct sl_link_ctr	*c = s5u_ctr(L->link);
	struct s5u_dest		*d;

	if (!ok && L->ready) {
		s5u_close(a, "upstream closed", why);
		return;
	}
	if (ok) {
		L->peer = datagram_add_peer(&a->dg, up->ufd, &c->bytes_up,
		    &c->bytes_down);
		up->ufd = -1;		/* the pump's now */
		L->ready = L->peer != -1;
		if (!L->ready)
			udp_up_stop(up);
	}
	if (!L->ready) {
		snprintf(a->why, sizeof(a->why), "%s", ok ?
		    "too many target sockets" : why);
		log_debug("session %llu: UDP: %s", (unsigned long long)a->s->id,
		    a->why);
	}
	if (a->held_dest == -1)
		return;
	d = &a->dests[a->held_dest];
	if (d->st == D_READY && &a->links[d->li] == L) {
		a->held_dest = -1;
		s5u_dispatch(a, d, a->held + DGRAM_HEADROOM, a->heldlen);
	}
}

static void
s5u_end(void *arg, enum dgram_end end, int err)
{
	struct s5u	*a = arg;

	s5u_close(a, end == DGRAM_END_IDLE ? "idle timeout" : "relay error",
	    end == DGRAM_END_IDLE ? NULL : strerror(err));
}

static const struct dgram_ops s5u_ops = {
	.from_client = s5u_client_dgram,
	.from_peer = s5u_peer_dgram,
	.end = s5u_end,
};

/*
 * The TCP control connection (s->hs->cio, whose callback this is from the
 * reply on): the rest of the reply, then nothing but its end.
 */
/* The TCP connection ended: so does the association (RFC 1928 section 7). */
static void
s5u_eof(struct session *s, int err)
{
	if (err == 0)
		s5u_close(s->fstate, "done", NULL);
	else
		s5u_close(s->fstate, "client error", strerror(err));
}

static void
s5u_release(struct session *s)
{
	struct s5u	*a = s->fstate;
	size_t		 i;

	if (a == NULL)
		return;
	datagram_stop(&a->dg);
	for (i = 0; i < S5U_LINKS; i++)
		if (a->links[i].link != -1)
			udp_up_stop(&a->links[i].up);
	for (i = 0; i < S5U_DESTS; i++)
		resolve_cancel(&a->dests[i].res);
	if (a->ufd != -1)
		close(a->ufd);
	taps_free(a->taps);
	free(a->held);
	free(a);
	s->fstate = NULL;
}

static void
s5u_input(struct session *s)
{
	session_consume(s, s->inlen);	/* nothing is defined after it */
}

static void
s5u_reply_ok(struct session *s, const struct sockaddr *bound)
{
	socks5_front_reply(s, S5_REP_OK, bound);
}

static void
s5u_reply_err(struct session *s, enum sl_conn_err err)
{
	socks5_front_reply(s, socks5_err_rep(err), NULL);
}

/* Once the association runs, the session is this front-end's. */
static const struct front_ops front_socks5_udp = {
	.name = "socks5",
	.input = s5u_input,
	.reply_ok = s5u_reply_ok,
	.reply_err = s5u_reply_err,
	.eof = s5u_eof,
	.release = s5u_release,
};

/* The client-facing socket, on the address the client reached: fd. */
static int
s5u_socket(int cfd, struct sockaddr_storage *bound)
{
	socklen_t	len = sizeof(*bound);
	int		fd, one = 1, e;

	if (getsockname(cfd, (struct sockaddr *)bound, &len) == -1)
		return -1;
	sockaddr_unmap(bound, &len);
	if (bound->ss_family == AF_INET)
		((struct sockaddr_in *)bound)->sin_port = 0;
	else
		((struct sockaddr_in6 *)bound)->sin6_port = 0;
	fd = socket(bound->ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if ((bound->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)bound, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)bound, &len) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The listener's tap chain for the association's datagrams; 0 or -1. */
static int
s5u_taps(struct s5u *a, const struct sockaddr_storage *bound)
{
	const struct sl_listener	*l = a->s->listener;
	struct tap_info			 info;

	if (l->ntaps == 0)
		return 0;
	memset(&info, 0, sizeof(info));
	info.session = a->s->id;
	info.listener = l->name;
	info.proto = "udp";
	info.client = (const struct sockaddr *)&a->s->client;
	info.local = (const struct sockaddr *)bound;
	info.target = "UDP ASSOCIATE";
	if ((a->taps = taps_new(l->taps, l->ntaps, &info)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static struct s5u *
s5u_new(struct session *s, struct sockaddr_storage *bound)
{
	struct s5u	*a;
	int		 i;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->s = s;
	a->held_dest = -1;
	for (i = 0; i < S5U_LINKS; i++)
		a->links[i].link = -1;
	if ((a->ufd = s5u_socket(s->cfd, bound)) == -1) {
		free(a);
		return NULL;
	}
	memset(&a->client, 0, sizeof(a->client));
	a->clientlen = sockaddr_len(s->client.sa.sa_family);
	memcpy(&a->client, &s->client, a->clientlen);
	/* The port the client announced, if any, is the only one. */
	if (s->target->port != 0) {
		a->port_fixed = 1;
		if (a->client.ss_family == AF_INET)
			((struct sockaddr_in *)&a->client)->sin_port =
			    htons(s->target->port);
		else
			((struct sockaddr_in6 *)&a->client)->sin6_port =
			    htons(s->target->port);
	}
	if (datagram_start(&a->dg, eg.loop, a->ufd,
	    s->listener->udp_timeout_ms, &s5u_ops, a) == -1 ||
	    s5u_taps(a, bound) == -1) {
		datagram_stop(&a->dg);
		close(a->ufd);
		free(a);
		return NULL;
	}
	return a;
}

void
socks5_udp_start(struct session *s)
{
	struct sockaddr_storage	 bound;
	struct s5u		*a;

	session_quiet(s);
	if (limits_udp_hold(s->listener, (const struct sockaddr *)&s->client,
	    &s->lim) == -1) {
		(void)session_limited(s);	/* reply 0x02 */
		return;
	}
	if ((a = s5u_new(s, &bound)) == NULL) {
		session_detail(s, "UDP ASSOCIATE: %s", strerror(errno));
		socks5_front_reply(s, S5_REP_FAIL, NULL);
		s->hs->close_after_reply = 1;
		session_flush(s);
		return;
	}
	s->front = &front_socks5_udp;
	s->fstate = a;
	s->state = S_FRONT;
	socks5_front_reply(s, S5_REP_OK, (struct sockaddr *)&bound);
	session_flush(s);
}
