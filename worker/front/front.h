/*
 * A front-end: how clients of one listener kind ask for a target and
 * hear the answer.  One file and one table of operations per protocol;
 * the session calls these and never looks at the bytes itself.
 */
#ifndef SL_FRONT_H
#define SL_FRONT_H

#include <sys/socket.h>

#include "../../common/target.h"
#include "../session.h"

struct front_ops {
	const char	*name;
	/* reply_ok ignores the bound address: the dial need not ask for it. */
	int		 ignores_bound;
	/* A client was accepted (may be NULL). */
	void		(*start)(struct session *);
	/*
	 * The client was accepted and its PROXY header, if any, read: a
	 * front-end that knows the target without reading the client
	 * (forward, redirect) sets it and calls session_connect() here.
	 * Bytes the client sent meanwhile go to the target first.  When
	 * set, input is never called.
	 */
	void		(*connect_first)(struct session *);
	/*
	 * s->in[0..s->inlen) holds new bytes: parse, then call
	 * session_consume(), session_send() and at last session_connect()
	 * (or session_finish() on bad input).
	 */
	void		(*input)(struct session *);
	/*
	 * The target is connected (bound: the address the last hop bound,
	 * IPv4-mapped addresses unmapped): queue the success reply and set
	 * s->hs->early if the target must get bytes first.
	 */
	void		(*reply_ok)(struct session *, const struct sockaddr *);
	/* The target could not be reached: queue the failure reply. */
	void		(*reply_err)(struct session *, enum sl_conn_err);
	/*
	 * The client closed (err 0) or failed (errno) while the front-end
	 * holds the session (S_FRONT): end it with its own words (may be
	 * NULL: the session closes as "aborted").
	 */
	void		(*eof)(struct session *, int err);
	/* The session ends or starts relaying: free s->fstate (may be NULL). */
	void		(*release)(struct session *);
};

/* front.c */
/* The front-end of a listener kind. */
const struct front_ops *front_for(enum sl_listen_kind);

/* forward.c, for the front-ends with a target the client does not name */
/* s->target := the listener's fixed target. */
void	front_fixed_target(struct session *);
/* Make the client's close a reset (TCP's only way to say "failed"). */
void	front_reset_client(struct session *);

/* transparent.c */
/*
 * Why a transparent client's original destination dst would lead back
 * to this sluiced ("" if it would not); self is the address it reached
 * (redirect), unused for tproxy.
 */
const char *transparent_loop(const struct sockaddr_storage *dst,
	    const struct sockaddr_storage *self, int tproxy);

/* udp_forward.c: the datagram front-end, per listener */
struct wk_listener;
/* Take over wl (its io watcher reads datagrams); 0 or -1 (ENOMEM). */
int	udp_forward_start(struct wk_listener *);
/* End every flow and free what udp_forward_start made. */
void	udp_forward_stop(struct wk_listener *);

/* http_proxy.c, for every front-end that answers in HTTP (host.c too). */
/* Answer status (a constant response), log why, close. */
void	http_fail(struct session *, int status, const char *why);
/* The constant response for status (http_response's, and 429). */
const char *http_status_response(int status, size_t *len);

/* One per file. */
extern const struct front_ops front_socks5;
extern const struct front_ops front_metrics;
extern const struct front_ops front_socks4;
extern const struct front_ops front_http;
extern const struct front_ops front_mixed;
extern const struct front_ops front_sni;
extern const struct front_ops front_host;
extern const struct front_ops front_forward;
extern const struct front_ops front_redirect;
extern const struct front_ops front_tproxy;
extern const struct front_ops front_agent;

/* agent.c: TUN_STREAM from the tunnel process (takes m->fd if it can) */
struct sl_msg;
void	agent_front_stream(struct sl_msg *);

#endif
