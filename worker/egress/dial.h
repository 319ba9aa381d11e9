/*
 * Dialing a target through one egress link: a direct connection from the
 * link's source address, or a chain of upstream SOCKS5 proxies reached
 * through "via" links, each hop asked to CONNECT to the next.  The first
 * connection (to the target, or to the innermost hop) races the name's
 * addresses by happy eyeballs (RFC 8305).
 */
#ifndef SL_DIAL_H
#define SL_DIAL_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <ev.h>
#include <stdint.h>

#include "../../common/sluice.h"
#include "../../common/target.h"
#include "../../ipc/ipc_msg.h"
#include "../../policy/config.h"
#include "agent_link.h"
#include "resolve.h"
#include "sockreq.h"
#include "../proto/socks5_wire.h"

struct dial;
/*
 * Called exactly once.  On success fd >= 0 (connected, non-blocking, the
 * callee owns it), err == SL_CONN_OK and bound is the address the last hop
 * bound.  On failure fd == -1, err says what failed for the client's
 * front-end to translate and why says what failed.
 */
typedef void (*dial_cb)(struct dial *, int fd, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg);

enum dial_phase {
	DIAL_IDLE = 0,
	DIAL_RESOLVE,
	DIAL_CONNECT,		/* happy eyeballs: attempts in flight */
	DIAL_S5_METHOD,
	DIAL_S5_AUTH,
	DIAL_S5_CONNECT,
};

/*
 * Connections in flight at once while happy eyeballs (RFC 8305) walks a
 * name's addresses.  Later addresses start as earlier ones fail, or take
 * the place of the oldest when the attempt delay passes with all slots
 * busy, so a fixed small array bounds the memory of a dial whatever the
 * name resolved to.
 */
#define DIAL_ATTEMPTS		4

/* One TCP connect to one address of the first endpoint. */
struct dial_try {
	struct dial		*d;
	int			 busy;		/* slot in use */
	int			 shared;	/* fd made by the master */
	int			 fd;		/* -1 while waiting for it */
	int			 connected;	/* at once: io is fed, not
						   registered */
	ev_tstamp		 started;
	ev_io			 io;
	struct sock_req		 sreq;		/* the master's socket */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 to;
	socklen_t		 tolen;
};

struct dial {
	struct ev_loop		*loop;
	const struct sl_conf	*conf;
	int			 link;
	int			 base;		/* direct link to dial from, -1 */
	int			 hops[SL_MAX_CHAIN + 1];	/* socks5, outer first */
	int			 nhops, ihop;	/* ihop: hop being negotiated */
	const struct sl_target *target;
	enum dial_phase		 phase;
	struct res_req		 res;
	struct sl_res_addr	 addrs[SL_MAX_ADDRS];	/* in attempt order */
	uint32_t		 naddrs, iaddr;	/* iaddr: next to start */
	uint16_t		 port;		/* of the first connection */
	struct dial_try		 tries[DIAL_ATTEMPTS];
	uint32_t		 ntries;	/* busy slots */
	ev_tstamp		 deadline;	/* the link's connect timeout */
	ev_tstamp		 stagger_at;	/* next attempt due; 0 = none */
	int			 timer_is_deadline;
	int			 fd;		/* the connection that won */
	int			 fd_shared;	/* made by the master */
	ev_io			 io;
	ev_timer		 timer;		/* min(stagger_at, deadline) */
	uint8_t			 buf[S5_MAX_AUTH];
	size_t			 len, off, need;
	uint8_t			 last_err;
	int			 link_fault;	/* the link, not the target, failed */
	/*
	 * This host ran short (descriptors, buffers, memory, ephemeral
	 * ports): never counted against the link, nor by health checks.
	 */
	int			 local_fault;
	int			 target_answered;	/* some attempt reached it */
	int			 skip_bound;	/* bound stays zero */
	char			 why[SL_MAX_NAME + 128];
	struct agent_req	 areq;		/* an agent link's stream */
	uint32_t		 agent_id;	/* its TUN_OPEN id */
	char			 agent_peer[SL_TUN_PEER_MAX + 1];
	struct sockaddr_storage	 bound;
	dial_cb			 cb;
	void			*arg;
};

/* dial.c */
/*
 * pre/npre: addresses the target name already resolved to (the session
 * resolved it for the policy), used instead of a second lookup when the
 * link connects to the target itself.
 */
void	dial_start(struct dial *, struct ev_loop *, const struct sl_conf *,
	    int link, const struct sl_target *target,
	    const struct sl_res_addr *pre, uint32_t npre, dial_cb, void *arg);
void	dial_cancel(struct dial *);
/*
 * Before dial_start(): the caller does (skip 0) or does not (1) want the
 * bound address; not asking saves a syscall.  Kept across dial_start().
 */
void	dial_skip_bound(struct dial *, int skip);
/* Replace the link's connect timeout for this dial (health checks). */
void	dial_set_timeout(struct dial *, uint32_t ms);
/*
 * An agent link's dial that connected: the agent connection's address
 * ("addr:port"), kept in why (NULL for other links).
 */
const char *dial_agent_peer(const struct dial *);
/* Its TUN_OPEN id (what a TUN_RESET names), 0 for other links. */
uint32_t dial_agent_id(const struct dial *);
/* The neutral error for a failed connect(2) errno. */
enum sl_conn_err dial_errno_err(int err);

#endif
