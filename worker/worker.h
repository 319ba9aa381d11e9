/*
 * State of one worker process, shared by its files.
 */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <ev.h>
#include <stdint.h>

#include "../common/sluice.h"
#include "../ipc/chan.h"
#include "../ipc/ipc_msg.h"
#include "../policy/config.h"
#include "session.h"

struct sl_shm;

struct wk_listener {
	int				 fd;
	uint32_t			 index;
	const struct sl_listener	*conf;
	ev_io				 io;
	struct udp_fwd			*udp;	/* udp_forward's flows */
};

struct worker {
	struct ev_loop		*loop;
	struct sl_conf		*conf;
	uint32_t		 index, nworkers;
	struct sl_shm		*shm;		/* every part of the region */
	struct ipc_chan		*master;
	struct wk_listener	 listeners[SL_MAX_LISTENERS];
	size_t			 nlisteners;
	/* Sessions past their handshake first, then those in it, oldest
	   first (session.c). */
	struct session_list	 sessions;
	uint64_t		 nsessions;
	uint64_t		 next_id;
	int			 draining;
	ev_timer		 accept_retry;
	ev_timer		 drain_deadline;	/* then cut what is left */
};

extern struct worker *wk;

/* worker.c */
void	worker_main(int argc, char *argv[]);
void	worker_session_gone(void);
void	worker_accept_pause(void);
/* tunnel_peer.c: the channel to the pool's tunnel process (CFG_PEER) */
void	worker_set_tunnel(int fd);

/* ctl.c: the control socket's questions, from the master */
void	ctl_query(const struct sl_msg *);
void	ctl_allow(const struct sl_msg *);


/* test_hooks.c: what a hostile worker would try (test_hooks builds). */
void	worker_test_hooks(const char *host);

#endif
