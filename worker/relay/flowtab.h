/*
 * The UDP flows of one listener in one worker, keyed by the client's
 * address and port: a seeded hash (the keys come from the network),
 * a least-recently-used list for idle expiry, and per-client counts
 * (IPv4 address, or IPv6 /64) so one client cannot take every flow.
 *
 * A flow is embedded in its owner's struct (container_of); the table
 * only links it.  Nothing is allocated per lookup or per datagram.
 */
#ifndef SL_FLOWTAB_H
#define SL_FLOWTAB_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

struct flow_client;

struct flow {
	struct sockaddr_storage	 client;	/* set by the owner, unmapped */
	socklen_t		 clientlen;
	uint64_t		 last_ms;	/* flowtab_touch */
	/* the table's */
	struct flow		*hnext;
	TAILQ_ENTRY(flow)	 lru;
	struct flow_client	*fc;
};

enum flowtab_rc {
	FLOWTAB_OK = 0,
	FLOWTAB_FULL,		/* max_flows reached */
	FLOWTAB_CLIENT_FULL,	/* max_per_client reached for its client */
	FLOWTAB_NOMEM,
};

struct flowtab;

/* NULL on ENOMEM.  max_flows >= 1, 1 <= max_per_client <= max_flows. */
struct flowtab *flowtab_new(uint32_t max_flows, uint32_t max_per_client);
/* Frees the table only: the flows are their owners'. */
void	flowtab_free(struct flowtab *);
/* The flow of this client address:port, or NULL. */
struct flow *flowtab_find(struct flowtab *, const struct sockaddr *,
	    socklen_t);
/* Link f (f->client set, not in any table), newest, last_ms = now. */
enum flowtab_rc flowtab_add(struct flowtab *, struct flow *, uint64_t now);
/* f saw a datagram at now: newest in the LRU order. */
void	flowtab_touch(struct flowtab *, struct flow *, uint64_t now);
/* Unlink f (it must be in the table). */
void	flowtab_remove(struct flowtab *, struct flow *);
/* The least recently used flow (expiry walks from it), or NULL. */
struct flow *flowtab_oldest(const struct flowtab *);
size_t	flowtab_count(const struct flowtab *);
/* Flows of the client of address sa (port ignored; IPv6 by /64). */
uint32_t flowtab_client_count(const struct flowtab *,
	    const struct sockaddr *);

#endif
