/*
 * The neutral vocabulary between front-ends, the session and egress: what
 * a client asked to reach (struct sl_target) and why reaching it failed
 * (enum sl_conn_err).  No wire format appears here; each front-end maps
 * the error to its own reply (a SOCKS5 or SOCKS4 code, an HTTP status).
 */
#ifndef SL_TARGET_H
#define SL_TARGET_H

#include <sys/socket.h>
#include <stdint.h>

#include "sluice.h"

enum sl_l4 {
	SL_L4_TCP = 0,
	SL_L4_UDP,
};

struct sl_target {
	char			host[SL_MAX_NAME + 1];	/* name as given; "" when
							   addr holds the target */
	struct sockaddr_storage	addr;			/* port set */
	socklen_t		addrlen;
	uint16_t		port;			/* host order */
	enum sl_l4		proto;
};

/* Why a target could not be reached, from routing down to the last hop. */
enum sl_conn_err {
	SL_CONN_OK = 0,
	SL_CONN_FAIL,		/* anything else: a broken upstream, no memory */
	SL_CONN_NOT_ALLOWED,	/* policy, blacklist or an upstream's rules */
	SL_CONN_NET_UNREACH,
	SL_CONN_HOST_UNREACH,	/* includes a name that does not resolve */
	SL_CONN_REFUSED,
	SL_CONN_TIMEOUT,	/* connect or an upstream hop timed out */
	SL_CONN_TTL_EXPIRED,	/* an upstream said so */
	SL_CONN_UNSUPPORTED,	/* an upstream refused the command */
	SL_CONN_ADDR_UNSUPP,	/* address family not supported */
	SL_CONN_NO_LINK,	/* every allowed link is down or full */
	SL_CONN_MAX
};

/* target.c (common): a short lower-case word for logs, "refused". */
const char	*sl_conn_err_name(enum sl_conn_err);
/* "name:port", "1.2.3.4:port" or "[::1]:port". */
void		 sl_target_fmt(const struct sl_target *, char *buf, size_t len);
/* Set the target to an address (port taken from sa). */
void		 sl_target_set_addr(struct sl_target *, const struct sockaddr *,
		    socklen_t);
/* Set the target to a name (copied, at most SL_MAX_NAME) and port. */
int		 sl_target_set_name(struct sl_target *, const char *name,
		    size_t len, uint16_t port);
/* "name:port", "1.2.3.4:port", "[v6]:port" into t: 0, or -1. */
int		 sl_target_parse(struct sl_target *, const char *text);

#endif
