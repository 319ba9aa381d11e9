/*
 * Transparent TCP: clients that never chose sluice.  netfilter steered
 * their connection here and the target is where they meant to go.
 *
 * `redirect` (nft `redirect to :PORT`, `dnat`, iptables REDIRECT/DNAT):
 * the kernel rewrote the destination, and conntrack remembers the
 * original, which SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST (IPv6)
 * return.  A connection with no conntrack entry was not redirected.
 *
 * `tproxy` (nft `tproxy to :PORT`, iptables TPROXY): nothing was
 * rewritten; the listening socket has IP_TRANSPARENT (set by the master)
 * and accepted a connection addressed elsewhere, so the accepted
 * socket's own address is the original destination.  Its UDP side is
 * udp_forward.c's.
 *
 * Loops are refused: a client that reached the listener directly has
 * the listener's own address as its "original" destination, and a
 * target that is one of this sluiced's listeners would bring the
 * session back here.  Both are reset with a log line.
 *
 * The original destination then goes through routing like any target:
 * matchers, `deny_targets`, links and chains all apply, so a gateway can
 * send some destinations direct and others through an upstream.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4.h>
/*
 * <linux/netfilter_ipv6/ip6_tables.h> clashes with <net/if.h>; the one
 * constant it would give is part of the kernel ABI.
 */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST	80
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "../../common/util.h"
#include "../egress/udp.h"
#include "../worker.h"
#include "front.h"

static int
wildcard(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->
		    sin_addr.s_addr == htonl(INADDR_ANY);
	return a->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr);
}

static int
loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)a)->
		    sin_addr.s_addr) >> 24) == 127;
	return a->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr);
}

static uint16_t
port_of(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET ?
	    ((const struct sockaddr_in *)(const void *)a)->sin_port :
	    ((const struct sockaddr_in6 *)(const void *)a)->sin6_port;
}

/*
 * Why dst would lead back to this sluiced, or "" if it would not.  self
 * is the (local) address the client reached (for tproxy, dst itself).
 * A wildcard listener is hit by dst on its port at a loopback address
 * or (redirect) at self's address; other local addresses are not known
 * to a confined worker.
 */
const char *
transparent_loop(const struct sockaddr_storage *dst,
    const struct sockaddr_storage *self, int tproxy)
{
	const struct sl_conf	*conf = wk->conf;
	struct sockaddr_storage	 la;
	socklen_t		 len;
	size_t			 i;

	if (!tproxy && udp_same_addr((const void *)dst, self, 1))
		return "the client reached this listener itself";
	for (i = 0; i < conf->nlisteners; i++) {
		la = conf->listeners[i].addr;
		len = conf->listeners[i].addrlen;
		sockaddr_unmap(&la, &len);
		if (udp_same_addr((const void *)dst, &la, 1) || (wildcard(&la) &&
		    la.ss_family == dst->ss_family &&
		    port_of(&la) == port_of(dst) &&
		    (loopback(dst) || (!tproxy &&
		    udp_same_addr((const void *)dst, self, 0)))))
			return "the original destination is a listener of "
			    "this sluiced";
	}
	return "";
}

/* The original destination is known: refuse a loop, else route it. */
static void
transparent_connect(struct session *s, struct sockaddr_storage *dst,
    socklen_t dlen, struct sockaddr_storage *self, socklen_t slen,
    int tproxy)
{
	const char	*loop;
	char		 a[SL_ADDRSTRLEN];

	sockaddr_unmap(dst, &dlen);
	sockaddr_unmap(self, &slen);
	if (*(loop = transparent_loop(dst, self, tproxy)) != '\0') {
		front_reset_client(s);
		session_detail(s, "loop to %s: %s", sockaddr_fmt((const void *)
		    dst, a, sizeof(a)), loop);
		session_close(s, "refused");
		return;
	}
	sl_target_set_addr(s->target, (const struct sockaddr *)dst, dlen);
	session_connect(s);
}

static void
redirect_connect(struct session *s)
{
	struct sockaddr_storage	 dst, self;
	socklen_t		 dlen = sizeof(dst), slen = sizeof(self);
	int			 v6;

	if (getsockname(s->cfd, (struct sockaddr *)&self, &slen) == -1) {
		session_detail(s, "getsockname: %s", strerror(errno));
		session_close(s, "error");
		return;
	}
	v6 = self.ss_family == AF_INET6;
	if (getsockopt(s->cfd, v6 ? SOL_IPV6 : SOL_IP, v6 ?
	    IP6T_SO_ORIGINAL_DST : SO_ORIGINAL_DST, &dst, &dlen) == -1) {
		front_reset_client(s);
		session_detail(s, "no original destination (not redirected "
		    "by netfilter?): %s", strerror(errno));
		session_close(s, "refused");
		return;
	}
	transparent_connect(s, &dst, dlen, &self, slen, 0);
}

static void
tproxy_connect(struct session *s)
{
	struct sockaddr_storage	 self;
	socklen_t		 slen = sizeof(self);

	if (getsockname(s->cfd, (struct sockaddr *)&self, &slen) == -1) {
		session_detail(s, "getsockname: %s", strerror(errno));
		session_close(s, "error");
		return;
	}
	transparent_connect(s, &self, slen, &(struct sockaddr_storage){
	    .ss_family = AF_UNSPEC }, sizeof(struct sockaddr_storage), 1);
}

static void
transparent_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
transparent_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)err;
	front_reset_client(s);
}

const struct front_ops front_redirect = {
	.name = "redirect",
	.ignores_bound = 1,
	.connect_first = redirect_connect,
	.reply_ok = transparent_reply_ok,
	.reply_err = transparent_reply_err,
};

const struct front_ops front_tproxy = {
	.name = "tproxy",
	.ignores_bound = 1,
	.connect_first = tproxy_connect,
	.reply_ok = transparent_reply_ok,
	.reply_err = transparent_reply_err,
};
