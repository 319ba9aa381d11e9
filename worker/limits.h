/*
 * Enforcing `limits` (policy/config.h struct sl_limits) in a worker, on
 * the config's root (every worker of the config: its tenant) and on each
 * listener, through the limits area of the shared region (counters.h),
 * so that they hold across all the config's workers.
 *
 * A session is admitted (limits_admit) when it is accepted, and what it
 * takes (a scope's session slot, its client's count and token) it gives
 * back in limits_release.  A session over a limit is not refused at
 * once: the front-end reads its request and refuses it in its protocol's
 * words (SOCKS5 0x02, SOCKS4 0x5B, HTTP 429 or 503, a close for the
 * others), see session_connect.
 */
#ifndef SL_WORKER_LIMITS_H
#define SL_WORKER_LIMITS_H

#include <sys/socket.h>
#include <stdint.h>

#include "../policy/config.h"
#include "../policy/limits.h"

struct relay;
struct lim_relay;

enum lim_refusal {
	LIM_OK = 0,
	LIM_MAX_SESSIONS,	/* a scope's max_sessions: HTTP 503 */
	LIM_PER_CLIENT,		/* max_sessions_per_client: HTTP 429 */
	LIM_RATE,		/* new_sessions_per_second_per_client: 429 */
	LIM_UDP_FLOWS,		/* max_udp_flows */
};

/* What one session holds against the limits. */
struct lim_hold {
	struct lim_entry	*client[2];	/* [0] config, [1] listener */
	uint8_t			 scopes;	/* LIM_HELD_* */
	uint8_t			 refused;	/* enum lim_refusal */
	uint8_t			 listener_scope;	/* the refusal's */
	uint8_t			 udp;		/* holds a UDP flow */
	struct lim_relay	*relay;		/* bandwidth, or NULL */
};

/*
 * Take what a new client of listener l needs.  LIM_OK, or the limit it is
 * over (nothing held then; the refusal is logged, rate-limited).
 */
enum lim_refusal limits_admit(const struct sl_listener *l,
	    const struct sockaddr *client, struct lim_hold *);
/* Give back what limits_admit took (and stop the bandwidth limit). */
void	limits_release(const struct sl_listener *l, struct lim_hold *);
/* "max_sessions_per_client (20) of listener \"x\"", for a log line. */
const char *limits_why(const struct sl_listener *l,
	    const struct lim_hold *, char *buf, size_t len);
/* The HTTP status for the refusal: 429 per client, 503 for a scope. */
int	limits_http_status(const struct lim_hold *);
/*
 * Throttle a started relay when a bandwidth limit applies: 0 (also when
 * none does) or -1 (no memory: the relay runs unthrottled, logged).
 */
int	limits_relay(const struct sl_listener *l, struct lim_hold *,
	    struct relay *);
/*
 * UDP flows (udp_forward, tproxy's UDP, a SOCKS5 association): take one
 * of listener l's and the config's max_udp_flows; 0 or -1 (over, logged).
 */
int	limits_udp_take(const struct sl_listener *l,
	    const struct sockaddr *client);
void	limits_udp_give(const struct sl_listener *l);
/*
 * A SOCKS5 UDP association is one flow, held by its session until
 * limits_release: 0, or -1 (over; h says which limit, for the reply).
 */
int	limits_udp_hold(const struct sl_listener *l,
	    const struct sockaddr *client, struct lim_hold *);

#endif
