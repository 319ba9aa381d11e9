/*
 * The worker's asynchronous client of the resolver process.  Each lookup
 * carries a random request id; answers are matched by id, and an answer
 * nobody asked for is a protocol violation.
 *
 * While there is no resolver channel (the resolver died and the master
 * has not yet sent the new one), lookups wait in a bounded queue, each at
 * most its own timeout, and go out as soon as the new channel arrives.
 *
 * A name this worker looked up a moment ago is answered from its name
 * cache (namecache.h), on the next turn of the loop: callers never see
 * their callback run inside resolve_start().
 */
#ifndef SL_WORKER_RESOLVE_H
#define SL_WORKER_RESOLVE_H

#include <sys/queue.h>
#include <ev.h>
#include <stdint.h>

#include "../../ipc/chan.h"

struct res_req;
/* status is enum sl_res_status; ans is NULL unless status == SL_RES_OK. */
typedef void (*res_cb)(struct res_req *, int status, const struct sl_msg *ans,
    void *arg);

struct res_hit;

/* Embedded in its owner, zeroed before first use. */
struct res_req {
	uint32_t	 id;		/* 0 unless sent and unanswered */
	uint64_t	 key;		/* the name's namecache key */
	struct res_hit	*hit;		/* a cached answer due at once */
	uint16_t	 wslot;		/* 1 + name slot while waiting, or 0 */
	ev_timer	 timer;
	res_cb		 cb;
	void		*arg;
	struct res_req	*hnext;
	TAILQ_ENTRY(res_req) wait;	/* while waiting for a resolver */
};

/* Lookups a worker holds while it has no resolver; more fail at once. */
#define RES_WAIT_MAX	1024

/* resolve.c */
void	resolve_init(struct ev_loop *, uint32_t timeout_ms);
/* A non-NULL channel also sends the lookups waiting for one. */
void	resolve_set_channel(struct ipc_chan *);
struct ipc_chan *resolve_channel(void);
/*
 * 0 when sent or queued (cb will run exactly once unless cancelled), -1
 * if not (bad name, queue full, send error).
 */
int	resolve_start(struct res_req *, const char *name, res_cb, void *arg);
void	resolve_cancel(struct res_req *);
/* The resolver channel's message handler. */
void	resolve_dispatch(struct ipc_chan *, struct sl_msg *, void *);
/*
 * Fail every lookup sent to the resolver (it went away: their answers
 * will never come); lookups still waiting for a channel keep waiting.
 */
void	resolve_fail_all(void);

#endif
