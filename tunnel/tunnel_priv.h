/*
 * What the tunnel process's files share: tunnel.c (the process, its
 * channels to the master and the workers), server.c (tunnel listeners:
 * agents dial in, workers open streams through them) and agent.c (this
 * sluiced is an agent: it keeps a connection to its server and hands the
 * streams the server opens to workers).  Private to tunnel/.
 */
#ifndef SL_TUNNEL_PRIV_H
#define SL_TUNNEL_PRIV_H

#include <stdint.h>

#include <ev.h>

#include "../ipc/boot.h"
#include "../ipc/chan.h"
#include "../policy/config.h"
#include "conn.h"

/* A worker of the pool: its channel (NULL until the master sends it). */
struct tn_worker {
	struct ipc_chan	*chan;
	uint32_t	 streams;	/* handed to it and not yet answered */
	uint32_t	 index;
};

struct tn {
	struct ev_loop		*loop;
	struct sl_conf		*conf;
	struct ipc_chan		*master;
	struct tn_worker	 workers[SL_MAX_WORKERS];
	uint32_t		 nworkers;	/* slots (-N) */
	uint32_t		 rr;		/* next worker to try */
	int			 draining;
	ev_timer		 drain_check;
};

extern struct tn tn;

/* tunnel.c */
/* A TUN_ message to worker w; 0, or -1 when it cannot go (logged). */
int	 tn_send(uint32_t w, uint16_t type, uint32_t id, int fd,
	    uint32_t code, const char *agent, const char *target,
	    const char *peer);
/*
 * The mux's codes and the workers' neutral ones (enum sl_conn_err),
 * mapped here only: what an agent's refusal means to a session (with
 * SL_TUN_LINK_FAULT when the link, not the target, failed), and what a
 * worker's failure tells the server.
 */
uint32_t tn_conn_code(uint32_t mux_code);
uint32_t tn_mux_code(uint32_t conn_err);
/* A fresh request id (never 0). */
uint32_t tn_new_id(void);
/* A worker with a channel, the next in turn; -1 when none has one. */
int	 tn_pick_worker(void);
/* mux parameters from a config's stream cap and keepalive. */
void	 tn_mux_params(struct mux_params *, uint32_t max_streams,
	    uint32_t keepalive_ms, uint32_t dead_ms);
/*
 * Which worker's session a relaying stream is, for tconn's stream_lost:
 * the worker and the TUN_OPEN's (or TUN_STREAM's) id in one pointer.
 */
void	*tn_stream_arg(uint32_t w, uint32_t id);
/* stream_lost: the worker fails that session (TUN_RESET). */
void	 tn_stream_lost(struct tconn *, uint32_t id, uint32_t code,
	    void *sarg);
/* `sluicectl agents`: one CTL_AGENT row to the master for request id. */
void	 tn_agent_row(uint32_t id, const struct tconn *, int role,
	    const char *where, ev_tstamp since);
/* Draining: exit once server_idle() and agent_idle() say so. */
void	 tn_maybe_exit(void);

/* server.c */
void	 server_init(struct child_boot *);
void	 server_start(void);
void	 server_open(uint32_t w, const struct sl_msg *);	/* TUN_OPEN */
void	 server_drain(void);
int	 server_idle(void);
uint32_t server_rows(uint32_t id);	/* CTL_AGENT rows; how many */

/* agent.c */
void	 agent_init(void);
void	 agent_start(void);
void	 agent_dialed(uint32_t w, struct sl_msg *);	/* TUN_DIAL* */
void	 agent_stream_result(uint32_t w, const struct sl_msg *);
void	 agent_worker_gone(uint32_t w);
void	 agent_worker_new(void);
void	 agent_drain(void);
int	 agent_idle(void);
uint32_t agent_rows(uint32_t id);

#endif
