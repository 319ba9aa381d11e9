/*
 * One client session, whatever protocol it arrived by:
 *
 *   S_IDENTIFY -> S_ROUTING -> S_DIALING -> S_REPLYING -> S_RELAY
 *
 * The listener's front-end (front/) reads the client's request in
 * S_IDENTIFY, fills s->target and calls session_connect(); the session
 * routes, dials through egress/, asks the front-end for its reply, and
 * relays.  A front-end may instead keep the session for itself (S_FRONT:
 * a UDP association, a BIND waiting for its peer).  session_close() is
 * the only place a session is freed.
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <ev.h>
#include <stdint.h>

#include "../common/sluice.h"
#include "../common/target.h"
#include "../common/util.h"
#include "../policy/config.h"
#include "../policy/select.h"
#include "egress/dial.h"
#include "egress/race.h"
#include "egress/resolve.h"
#include "limits.h"
#include "relay/stream.h"

struct front_ops;
struct session_svc;

enum session_state {
	S_IDENTIFY = 0,		/* the front-end reads the request */
	S_ROUTING,		/* resolving the name for the policy */
	S_DIALING,
	S_REPLYING,		/* writing the front-end's final reply */
	S_RELAY,
	S_FRONT,		/* the front-end holds it (UDP, BIND) */
};

/* Bytes of the request kept inline; a front-end may lend a larger buffer. */
#define SESSION_IN		(2 * (4 + 1 + 255 + 2) + 8)	/* >= PROXY_MAX */
#define SESSION_OUT		32

/*
 * What a session needs only from its request to its connect: the
 * lookup, the addresses, the candidate links and the dial (over 3 KiB,
 * most of a session).  Allocated when it starts routing, freed once the
 * target is connected, so an established session holds none of it.
 */
struct session_conn {
	char			 host[SL_MAX_NAME + 1];	/* lower case */
	struct res_req		 res;
	struct sl_res_addr	 resolved[SL_MAX_ADDRS];
	uint32_t		 nresolved;
	uint16_t		 cand[SL_MAX_LINKS];	/* link indexes */
	size_t			 ncand, icand;
	size_t			 ntrusted;	/* raced first (select.h) */
	int			 after_race;	/* trying the doubted ones */
	struct dial		 dial;
};

/*
 * What a session needs only until its relay starts: the client's
 * watcher and handshake timer, the reply, the early bytes, the input
 * buffer.  One allocation, freed when the relay starts (a session that
 * never relays, BIND still waiting or UDP ASSOCIATE, keeps it), so an
 * idle established session holds none of it.
 */
struct session_hs {
	struct session		*s;
	ev_io			 cio;
	ev_timer		 timer;		/* handshake timeout */
	/* What goes to the client: out, or a constant the front-end owns. */
	uint8_t			 out[SESSION_OUT];
	const uint8_t		*outp;
	size_t			 outlen, outoff;
	/* Sent to the target before the relay reads the client. */
	const uint8_t		*early;
	size_t			 nearly;
	int			 close_after_reply;
	const char *const	*alpn;		/* TLS ALPN offered (sni) */
	size_t			 nalpn;
	uint8_t			 in0[SESSION_IN];
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	enum session_state	 state;
	const struct front_ops	*front;
	void			*fstate;	/* the front-end's, or NULL */
	const struct sl_listener *listener;
	int			 cfd, tfd;
	struct session_hs	*hs;		/* until the relay starts */
	union sl_peer_addr	 client;	/* IPv4 or IPv6 */
	uint8_t			*in;		/* hs->in0, or the front-end's */
	size_t			 incap, inlen;
	const char		*outcome;	/* for the log line */
	char			 outbuf[32];	/* an outcome made up */
	const char		*user;		/* authenticated, or NULL */
	/*
	 * Where the client wants to go: the front-end fills it, routing
	 * and dialing read it; when the relay starts it is freed and only
	 * its text is kept (an idle session holds no 400-byte target).
	 */
	struct sl_target	*target;
	char			*target_text;	/* from the relay's start */
	struct session_conn	*conn;		/* while routing and dialing */
	int			 link;		/* -1 until one is tried */
	int			 link_active;	/* counted in link's active */
	enum sl_conn_err	 err;
	struct race		*race;		/* `fastest`, while racing */
	uint64_t		 route_key;	/* `fastest`: route cache key */
	int			 from_cache;	/* link from the route cache */
	uint64_t		 t_dial;	/* when the dial started, ms */
	struct relay		 relay;
	struct taps		*taps;		/* the listener's, or NULL */
	uint64_t		 t_start;
	struct session_svc	*svc;		/* routed by a service, or NULL */
	uint8_t			 pp_in;		/* a PROXY header comes first */
	uint8_t			 pp_out;	/* PROXY version to the target */
	uint32_t		 tun_key;	/* a tunnel's stream: its TUN_
						   id, for TUN_RESET; 0: none */
	char			*detail;	/* for the log line; NULL: none
						   (session_detail makes it) */
	struct lim_hold		 lim;		/* what it holds of `limits`,
						   or the one it is over */
};

TAILQ_HEAD(session_list, session);

/* session_accept.c: for the worker */
/* Accept up to a burst of clients of listener l; returns how many. */
int	session_accept(int lfd, const struct sl_listener *l);
/*
 * A connected stream from a tunnel (front/agent.c): admitted like a
 * client, then a session of listener l with fstate (taken, freed by the
 * front-end's release; on -1 the caller keeps it).  0, or -1 refused
 * (fd closed).
 */
int	session_accept_stream(int fd, const struct sockaddr_storage *,
	    const struct sl_listener *l, void *fstate);

/* session.c: for front-ends */
/* s->target is set: route, dial, then the front-end's reply_ok/err. */
void	session_connect(struct session *);
/* The front-end parsed n bytes of s->in. */
void	session_consume(struct session *, size_t n);
/* Queue bytes for the client (they must fit SESSION_OUT); 0 or -1. */
int	session_send(struct session *, const void *, size_t);
/* Queue a constant (it outlives the session) for the client. */
void	session_send_static(struct session *, const void *, size_t);
/* Write what is queued; then read on, relay, or close (see below). */
void	session_flush(struct session *);
/*
 * End the session once what is queued is written: outcome and detail
 * (printf) go to the log line.
 */
void	session_finish(struct session *, const char *outcome,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* End it now. */
void	session_close(struct session *, const char *outcome);
void	session_detail(struct session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The detail text, "" when there is none. */
const char *session_detail_text(const struct session *);
/* No detail any more (a connect succeeded after a failed try). */
void	session_detail_clear(struct session *);
#define SESSION_DETAIL_MAX	(SL_MAX_NAME + 128)
/*
 * Over one of the `limits` since it was accepted: refuse it now (the
 * front-end's reply_err with SL_CONN_NOT_ALLOWED, after its request was
 * read) and return 1; else 0.  session_connect() and
 * session_connect_service() ask first; front-ends that serve a request
 * themselves (SOCKS5 BIND, UDP ASSOCIATE) ask before they do.
 */
int	session_limited(struct session *);
/* The target as text ("host:port"), before or after the relay starts. */
void	session_target_fmt(const struct session *, char *buf, size_t len);
/* Lend a larger input buffer (owned by the front-end, cap bytes). */
void	session_set_input(struct session *, uint8_t *buf, size_t cap);
/* The client's handshake is over: stop its timer and reading. */
void	session_quiet(struct session *);
/* Start reading the client again (after session_quiet). */
void	session_listen(struct session *);
/*
 * The front-end connected a target itself (BIND's peer; fd is the
 * session's now): write what is queued for the client, then relay.
 */
void	session_relay_fd(struct session *, int fd);
/*
 * The policy's verdict and candidate links for another target of this
 * session's client (a UDP datagram's destination, a BIND peer), decided
 * now: res/nres are its addresses when known (an `ips` matcher needs
 * them), else NULL/0.  Nothing is counted or dialed.
 */
void	session_route_target(const struct session *,
	    const struct sl_target *, const struct sl_res_addr *res,
	    size_t nres, struct sl_route *r);

/* session_svc.c: routing by service name, PROXY protocol */
/*
 * Route to the service for name (lower case; "" when the client named
 * none): exact, wildcard, then CATCH_ALL.  The service's addresses are
 * tried in its strategy's order, each over the links it allows.
 * Returns 0 (the session is connecting), or -1 when no service serves
 * the name: the front-end ends the session its own way.
 */
int	session_connect_service(struct session *, const char *name);
/* The dial of one address failed for good: try the next (1) or not (0). */
int	session_next_backend(struct session *);
/* The service's own tap chain (NULL: none, the listener's applies). */
const struct sl_tap *session_service_taps(const struct session *, size_t *n);
/* The links the service allows (NULL: any). */
const uint16_t *session_service_links(const struct session *, size_t *n);
/* Read a PROXY header from s->in: 1 done, 0 need more, -1 closed. */
int	session_pp_read(struct session *);
/*
 * The early bytes with a PROXY header before them when pp_out is set:
 * a new buffer (*freeme) or early itself.  NULL: no memory.
 */
const void *session_pp_early(struct session *, const void *early,
	    size_t nearly, size_t *out_len, void **freeme);
void	session_svc_free(struct session *);
/* The target is connected: say which service in the log line. */
void	session_svc_connected(struct session *);

#endif
