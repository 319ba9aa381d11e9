/*
 * Sending datagrams out over a link.
 *
 * A `direct` link sends from its own UDP socket per association and
 * family, bound to the link's `source` (port chosen by the kernel) when
 * it has one.  A `socks5` link asks its upstream for a UDP ASSOCIATE of
 * its own (a small SOCKS5 client over a TCP control connection, using
 * proto/socks5_wire.h) and sends each datagram to the upstream's relay
 * address behind a SOCKS5 UDP header naming the target; the upstream's
 * datagrams come back the same way.  Names are passed upstream as they
 * are (socks5h).  Only an upstream reached directly (no `via`, or a
 * direct `via` whose `source` applies) can carry UDP.
 *
 * Like the rest of egress/, this names nothing above it and reports
 * through a callback.
 */
#ifndef SL_EGRESS_UDP_H
#define SL_EGRESS_UDP_H

#include <sys/socket.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/target.h"
#include "../../policy/config.h"
#include "../proto/socks5_wire.h"
#include "resolve.h"

/*
 * 1 if link can carry datagrams at all (why says why not when 0):
 * direct without an interface, or socks5 reached directly.
 */
int	udp_link_usable(const struct sl_conf *, int link, const char **why);

/*
 * A non-blocking UDP socket of family (AF_INET, AF_INET6) for a direct
 * link's datagrams, bound to the link's source when it has one of that
 * family.  -1 with errno (EAFNOSUPPORT: the source is of the other
 * family; EOPNOTSUPP: the link is bound to an interface).
 */
int	udp_direct_socket(const struct sl_conf *, int link, int family);

enum udp_up_phase {
	UDP_UP_IDLE = 0,
	UDP_UP_RESOLVE,
	UDP_UP_CONNECT,
	UDP_UP_METHOD,
	UDP_UP_AUTH,
	UDP_UP_ASSOC,
	UDP_UP_READY,		/* the relay address is known */
	UDP_UP_DONE,		/* failed or closed; cb was called */
};

struct udp_up;
/*
 * ok = 1: the association is ready (up->ufd is the UDP socket, to be
 * taken by the caller; up->relay the upstream's relay).  ok = 0: it
 * failed, or a ready association's control connection closed; why says
 * what.  Called from the loop, never from udp_up_start().
 */
typedef void (*udp_up_cb)(struct udp_up *, int ok, const char *why,
    void *arg);

struct udp_up {
	struct ev_loop		*loop;
	const struct sl_conf	*conf;
	int			 link;
	enum udp_up_phase	 phase;
	int			 tfd;		/* TCP control connection */
	int			 ufd;		/* UDP socket until taken */
	ev_io			 io;
	ev_timer		 timer;		/* the link's timeout */
	struct res_req		 res;
	struct sl_res_addr	 addrs[SL_MAX_ADDRS];
	uint32_t		 naddrs, iaddr;
	struct sockaddr_storage	 relay;		/* where datagrams go */
	socklen_t		 relaylen;
	uint8_t			 buf[S5_MAX_AUTH];
	size_t			 len, off;
	char			 why[SL_MAX_NAME + 96];
	udp_up_cb		 cb;
	void			*arg;
};

/* udp.c */
/* Start an upstream association over socks5 link `link`. */
void	udp_up_start(struct udp_up *, struct ev_loop *, const struct sl_conf *,
	    int link, udp_up_cb, void *arg);
/* Stop it and close what it still holds (safe on a zeroed or idle one). */
void	udp_up_stop(struct udp_up *);
/*
 * Put the header naming t (a name as given, or an address) in front of
 * the *len bytes at *data, of which `room` bytes before are free.
 * 0, or -1 (no room, bad name).
 */
int	udp_up_wrap(const struct sl_target *t, uint8_t **data, size_t *len,
	    size_t room);
/*
 * A datagram from the upstream: it must come from up->relay and carry a
 * whole (FRAG 0) datagram; *data and *len are moved past the header and
 * sender names who sent it.  0, or -1 (drop it).
 */
int	udp_up_unwrap(const struct udp_up *, const struct sockaddr *from,
	    uint8_t **data, size_t *len, struct sl_target *sender);
/* 1 if a and b are the same address (and port, when port is set). */
int	udp_same_addr(const struct sockaddr *a,
	    const struct sockaddr_storage *b, int port);

#endif
