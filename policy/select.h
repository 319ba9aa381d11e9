/*
 * The routing decision: is a request admitted, and by which links, in
 * which order, should it be tried.  Pure code over explicit inputs (the
 * compiled configuration, the request, a view of the shared counters):
 * no I/O, no globals, no locks; the only shared writes are atomic
 * counter updates (the round-robin cursor).
 *
 * PythTRT's semantics, on the balancer (admission) and on each link
 * (eligibility and preference); every matcher of a list is evaluated:
 *
 *   policy        | request matches          | request does not match
 *   --------------+--------------------------+-----------------------
 *   allow         | may pass / may use link  | refused / link not eligible
 *   forbid        | refused / not eligible   | may pass / may use link
 *   prioritize    | link preferred (tier 0)  | no effect
 *   deprioritize  | link last resort (tier 2)| no effect
 *
 * A request passes the balancer when no balancer matcher refuses it
 * (prioritize/deprioritize have no effect there).  A link is eligible
 * when none of its matchers refuses the request, it is not cooling down
 * or failing its health check, and it is below max_connections.  An
 * eligible link is in tier 0 when one of its prioritize matchers
 * matches, else in tier 2 when one of its deprioritize matchers matches,
 * else in tier 1.  Candidates are tier 0 in strategy order, then tier 1,
 * then tier 2.
 */
#ifndef SL_SELECT_H
#define SL_SELECT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/sluice.h"
#include "config.h"

struct sl_request {
	const char		 *host;		/* lower-case name, or NULL */
	const struct sockaddr	 *addr;		/* target address, or NULL */
	const struct sl_res_addr *resolved;	/* what host resolved to */
	size_t			  nresolved;
	uint16_t		  port;
	const struct sockaddr	 *client;
	const char		 *listener;	/* listener name */
	const char		 *user;		/* authenticated, or NULL */
	/* ALPN protocols a TLS client offered (sni listeners). */
	const char *const	 *alpn;
	size_t			  nalpn;
	/* A service's "link"/"links": only these may carry it (NULL: any). */
	const uint16_t		 *only;
	size_t			  nonly;
};

struct sl_shm;

/* Live view the caller builds; the counters come from shared memory. */
struct sl_route_view {
	const struct sl_shm *shm;	/* counters region (counters.h) */
	uint32_t	 rnd;		/* a fresh random number */
	uint64_t	 now_ms;	/* CLOCK_MONOTONIC, for cool-downs */
};

enum sl_verdict {
	SL_ROUTE_OK = 0,	/* ncand > 0 */
	SL_ROUTE_REFUSED,	/* a rule refused it (SOCKS5 0x02) */
	SL_ROUTE_UNAVAILABLE,	/* allowed, but every allowed link is down
				   or full (SOCKS5 0x01) */
};

struct sl_route {
	enum sl_verdict	 verdict;
	size_t		 ncand;
	uint32_t	 cand[SL_MAX_LINKS];	/* link indexes, try in order */
	size_t		 ntrusted;	/* the first ones: no worker doubts
					   them (the rest only after them) */
	char		 why[160];		/* names the rule that refused */
};

/* select.c */

/* Fill r with the verdict and the ordered candidates. */
void	policy_route(const struct sl_conf *, const struct sl_request *,
	    const struct sl_route_view *, struct sl_route *r);

/*
 * True when some matcher looks at target addresses (`ips`): then a
 * request naming a host must be resolved before policy_route().
 */
int	policy_needs_addresses(const struct sl_conf *);

/*
 * True when a target address is on the static blacklist (ip_blacklist,
 * TcpRoute's IpBlacklist): sluice never connects to one.  The resolver
 * filters names' answers too (it also knows the learned addresses), but
 * the hosts file answers unfiltered, so a direct dial checks again.
 */
int	policy_blacklisted(const struct sl_conf *, const struct sockaddr *);
/*
 * The key that forbids a direct connection to sa: "ip_blacklist",
 * "deny_targets", or NULL when none does.
 */
const char *policy_target_denied(const struct sl_conf *,
	    const struct sockaddr *);
/* True when sa is in one of the n prefixes (a listener's `clients`). */
int	policy_cidrs_match(const struct sl_cidr *, size_t n,
	    const struct sockaddr *sa);

/* match.c */

/* 1 when every key the matcher has matches the request. */
int	matcher_match(const struct sl_matcher *, const struct sl_request *);

#endif
