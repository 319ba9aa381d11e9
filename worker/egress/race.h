/*
 * The `fastest` strategy, TcpRoute's multipath: one dial over every
 * candidate link at once; the first to succeed wins and the others are
 * closed.  The winner per destination is kept in the route cache of the
 * shared region, so every worker reuses it until it expires or fails.
 * Also the order in which a dial races a name's addresses (happy
 * eyeballs, dial.c).
 */
#ifndef SL_RACE_H
#define SL_RACE_H

#include <sys/socket.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../../ipc/ipc_msg.h"
#include "../../policy/config.h"
#include "../../policy/counters.h"
#include "../../common/target.h"

/* Links raced at once, at most: the first ones in the policy's order. */
#define RACE_WIDTH		8

/*
 * Called exactly once, after the race is gone.  On success fd >= 0 (the
 * callee owns it; `link` carried it and still counts it as active), err
 * is SL_CONN_OK and bound is what the last hop bound.  On failure fd is
 * -1, `link` is the one whose failure says most, err is its error
 * and why names every link's failure.
 */
typedef void (*race_cb)(int fd, int link, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg);

struct race;

/* race.c */
/*
 * Start dialing the first RACE_WIDTH candidates at once; NULL when there
 * is no memory for it (nothing was started).  target and pre must stay
 * valid until the callback or race_cancel().
 */
struct race *race_start(struct ev_loop *, const struct sl_conf *,
	    const uint16_t *cand, size_t ncand,
	    const struct sl_target *target,
	    const struct sl_res_addr *pre, uint32_t npre, race_cb, void *arg);
/* Stop every dial still running and free the race; no callback. */
void	race_cancel(struct race *);
/*
 * Put a name's addresses in happy eyeballs order (RFC 8305 section 4):
 * families interleaved, IPv6 first when there is one, each family in
 * the resolver's order.
 */
void	race_interleave(struct sl_res_addr *, uint32_t n);
/*
 * Close a socket that lost (or is done with) with a reset; shared: the
 * master made it (interface links), so it is shut down now and closed
 * after the loop has polled once more.
 */
void	race_close(struct ev_loop *, int fd, int shared);

/*
 * The route cache.  The key of a destination is a hash of its lower-case
 * name (lhost) or its address bytes, and its port; never 0.
 */
uint64_t route_key(const struct sl_target *, const char *lhost);
/*
 * The cached link for key, or -1: the newest entry of every worker's
 * table (sh->self's on a tie).  An entry must hold key, not be
 * expired, expire within ttl_ms (a later expiry is a scribble) and name
 * one of the request's candidates.
 */
int	route_lookup(const struct sl_shm *sh, uint64_t key, uint64_t now_ms,
	    uint64_t ttl_ms, const uint16_t *cand, size_t ncand);
/* In this worker's table. */
void	route_store(const struct sl_shm *sh, uint64_t key, uint32_t link,
	    uint64_t expires_ms);
/* Forget key's route in this worker's table if it still names link. */
void	route_drop(const struct sl_shm *sh, uint64_t key, uint32_t link);

#endif
