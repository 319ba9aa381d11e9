/*
 * Interfaces inside the resolver process: c-ares channels on the libev
 * loop and the hijack defence (hijack.c), the lookup engine
 * (resolver.c).  The engine is also driven directly by
 * bench/resolver_bench.c, without the process around it.
 */
#ifndef SL_RES_ENGINE_H
#define SL_RES_ENGINE_H

#include <ares.h>
#include <ev.h>
#include <stdint.h>

#include "../ipc/ipc_msg.h"
#include "../policy/config.h"
#include "cache.h"

#define RS_T_A		1
#define RS_T_AAAA	28
#define RS_C_IN		1

struct rs_sock;

struct rs_chan;

/* One of a server channel's two c-ares channels (chan.c). */
struct rs_chan_half {
	struct rs_chan	*c;
	int		 i;
};

/*
 * One server channel, its sockets watched by the loop.  Two c-ares
 * channels take turns: one takes new queries while the other's finish;
 * once that one is idle its servers are set again, which closes its
 * sockets, so its next queries leave from new random ports (chan.c).
 */
struct rs_chan {
	ares_channel	 ch[2];
	struct rs_chan_half half[2];
	int		 cur;		/* the one new queries go to */
	uint32_t	 sent;		/* queries to ch[cur] since it turned */
	uint32_t	 pending[2];	/* queries not called back yet */
	uint64_t	 turns;		/* fresh sockets so far */
	struct ev_loop	*loop;
	struct rs_sock	*socks;
	ev_timer	 timer;
	double		 base;		/* first-try timeout, seconds */
	const char	*what;		/* for logs: "primary servers over UDP" */
};

/* Queries a c-ares channel sends before the other takes over. */
#define RS_TURN_QUERIES	32

struct rs_chan_opts {
	const struct sl_nameserver *ns;	/* NULL: resolv.conf ("system") */
	size_t		 nns;
	int		 flags;		/* ARES_FLAG_* added to NOALIASES */
	int		 timeout_ms;	/* first try; c-ares doubles per round */
	int		 tries;
	const char	*what;
};

/* chan.c: channels */

/* Before lockdown: c-ares reads resolv.conf and seeds its query ids. */
void	rs_chan_init(struct rs_chan *, struct ev_loop *,
	    const struct rs_chan_opts *);
/*
 * Ask one question.  search: apply resolv.conf's search list like the
 * system resolver (client names); 0: the name exactly (probes).
 */
void	rs_chan_query(struct rs_chan *, const char *name, int type,
	    int search, ares_callback, void *arg);
/* Servers in resolv.conf, as c-ares reads it (before lockdown). */
size_t	rs_system_servers(void);
/*
 * The addresses of an A or AAAA answer c-ares got (at most cap, TTL the
 * smallest seen).  ARES_SUCCESS, ARES_ENODATA (no address of that
 * type) or ARES_EBADRESP (malformed: the answer is not used).
 */
int	rs_parse_addrs(int type, const unsigned char *abuf, int alen,
	    struct sl_res_addr *out, uint32_t cap, uint32_t *n,
	    uint32_t *ttl);

/* resolver.c: the engine */

struct rs_engine_stats {
	uint64_t	queries;	/* RES_QUERY handled */
	uint64_t	lookups;	/* lookups started (cache misses) */
	uint64_t	fallbacks;	/* stages moved past */
	uint64_t	bogus;		/* answers only of blacklisted addrs */
	uint64_t	case_mismatch;	/* answers whose question's case
					   was not the one asked (0x20) */
	const struct cache_stats *cache;
};

/*
 * Set up cache, blacklist, server channels and the hijack defence from
 * conf (kept, not copied).  Before lockdown.
 */
void	resolver_engine_init(struct ev_loop *, struct sl_conf *,
	    uint32_t nworkers);
/* Serve worker slot index on fd (a SEQPACKET IPC channel). */
void	resolver_engine_peer(uint32_t index, int fd);
/* Start the hijack probes; lookups are judged once the first round is
   in (or after a short cap). */
void	resolver_engine_run(void);
void	resolver_engine_stats(struct rs_engine_stats *);

/* qcase.c: DNS 0x20 */

/* name into out[len] with each letter's case at random. */
void	rs_case_mix(const char *name, char *out, size_t len);
/*
 * 1 when the answer's question name begins with q byte for byte (case
 * included) and q ends on a label boundary (a search domain may follow).
 */
int	rs_case_ok(const char *q, const unsigned char *abuf, int alen);

/* hijack.c: the hijack defence */

struct hijack_params {
	struct rs_chan		**sets;		/* every server channel */
	size_t			  nsets;
	const struct sl_nameserver *probes;	/* addresses, not servers */
	size_t			  nprobes;
	uint32_t		  interval_s;	/* 0: only at start */
	uint32_t		  timeout_ms;	/* resolve_timeout */
	struct blacklist	 *bl;
	void			(*settled)(void); /* first round is in */
};

/* Before lockdown: channels to the probe addresses. */
void	hijack_init(struct ev_loop *, const struct hijack_params *);
/* First round now, then every interval. */
void	hijack_run(void);
/* A random label of len [a-z0-9] characters into buf (len + 1). */
int	hijack_label(char *buf, size_t len);

#endif
