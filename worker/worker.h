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
#include "../policy/config.h"
#include "dial.h"
#include "race.h"
#include "relay.h"
#include "socks5.h"

struct wk_listener {
	int		 fd;
	uint32_t	 index;
	ev_io		 io;
};

enum session_state {
	S_GREETING = 0,
	S_REQUEST,
	S_ROUTING,		/* resolving the name for the policy */
	S_DIALING,
	S_REPLYING,		/* writing the final SOCKS5 reply */
	S_RELAY,
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	enum session_state	 state;
	int			 cfd, tfd;
	ev_io			 cio;
	ev_timer		 timer;		/* handshake timeout */
	struct sockaddr_storage	 client;
	uint8_t			 in[2 * S5_MAX_MSG];
	size_t			 inlen;
	uint8_t			 out[2 + 22 + 8];
	size_t			 outlen, outoff;
	int			 close_after_reply;
	struct socks5_request	 req;
	char			 host[SL_MAX_NAME + 1];	/* lower case */
	struct res_req		 res;
	struct sl_res_addr	 resolved[SL_MAX_ADDRS];
	uint32_t		 nresolved;
	uint32_t		 cand[SL_MAX_LINKS];
	size_t			 ncand, icand;
	int			 link;		/* -1 until one is tried */
	int			 link_active;	/* counted in link's active */
	uint8_t			 rep;
	struct dial		 dial;
	struct race		*race;		/* `fastest`, while racing */
	uint64_t		 route_key;	/* `fastest`: route cache key */
	int			 from_cache;	/* link from the route cache */
	uint64_t		 t_dial;	/* when the dial started, ms */
	struct relay		 relay;
	uint64_t		 t_start;
	const char		*outcome;
	char			 detail[SL_MAX_NAME + 128];
};

TAILQ_HEAD(session_list, session);

struct worker {
	struct ev_loop		*loop;
	struct sl_conf		*conf;
	uint32_t		 index, nworkers;
	void			*shm;
	size_t			 shmsize;
	struct ipc_chan		*master;
	struct wk_listener	 listeners[SL_MAX_LISTENERS];
	size_t			 nlisteners;
	struct session_list	 sessions;
	uint64_t		 nsessions;
	uint64_t		 next_id;
	int			 draining;
	ev_timer		 accept_retry;
};

extern struct worker *wk;

/* worker.c */
void	worker_main(int argc, char *argv[]);
void	worker_session_gone(void);
void	worker_accept_pause(void);

/* session.c */
/* Accept up to a burst of clients; returns how many were taken. */
int	session_accept(int lfd);
void	session_drain_check(void);

#endif
