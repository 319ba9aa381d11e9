/*
 * The worker's asynchronous client of the resolver process.  Each lookup
 * carries a random request id; answers are matched by id, and an answer
 * nobody asked for is a protocol violation.
 */
#ifndef SL_WORKER_RESOLVE_H
#define SL_WORKER_RESOLVE_H

#include <ev.h>
#include <stdint.h>

#include "../../ipc/chan.h"

struct res_req;
/* status is enum sl_res_status; ans is NULL unless status == SL_RES_OK. */
typedef void (*res_cb)(struct res_req *, int status, const struct sl_msg *ans,
    void *arg);

struct res_req {
	uint32_t	 id;		/* 0 when idle */
	ev_timer	 timer;
	res_cb		 cb;
	void		*arg;
	struct res_req	*hnext;
};

/* resolve.c */
void	resolve_init(struct ev_loop *, uint32_t timeout_ms);
void	resolve_set_channel(struct ipc_chan *);
struct ipc_chan *resolve_channel(void);
/* 0 when sent (cb will run exactly once unless cancelled), -1 if not. */
int	resolve_start(struct res_req *, const char *name, res_cb, void *arg);
void	resolve_cancel(struct res_req *);
/* The resolver channel's message handler. */
void	resolve_dispatch(struct ipc_chan *, struct sl_msg *, void *);
/* Fail every pending lookup (the resolver went away). */
void	resolve_fail_all(void);

#endif
