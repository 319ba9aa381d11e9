/*
 * The UDP flow table (flowtab.h): two chained hashes and one list.
 *
 * Flows are keyed by the client's family, address, port (and IPv6
 * scope, so link-local clients on two interfaces stay apart); clients
 * by the IPv4 address or the IPv6 /64, since one host on IPv6 owns at
 * least a /64 and could otherwise take a fresh address per flow.
 *
 * Every key field comes from the network, so the bucket index is
 * SipHash-1-3 under a 128-bit key drawn at flowtab_new: nobody can
 * choose source ports or addresses that all land in one chain.  The
 * buckets stay at most 65536 whatever max_flows is; longer chains are
 * then the price of a huge cap, not of an attack.
 *
 * Nothing is allocated per datagram; a client record is allocated with
 * its first flow and freed with its last.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/siphash.h"
#include "flowtab.h"

#define FLOWTAB_MIN_BUCKETS	16
#define FLOWTAB_MAX_BUCKETS	65536

/* Domain tags in the first key word: a flow key never equals a client's. */
#define KEY_FLOW		0x100
#define KEY_CLIENT		0x200

/*
 * A packed key: w[0] = tag | family | port << 16 | scope << 32,
 * w[1..2] = the address bytes (IPv4 in w[1], the rest zero).
 */
struct flow_key {
	uint64_t	w[3];
};

struct flow_client {
	struct flow_client	*hnext;
	struct flow_key		 key;
	uint32_t		 nflows;
};

TAILQ_HEAD(flow_lru, flow);

struct flowtab {
	struct flow		**flows;	/* buckets */
	struct flow_client	**clients;	/* buckets */
	size_t			  mask;		/* buckets - 1, both hashes */
	struct flow_lru		  lru;		/* oldest first */
	size_t			  nflows;
	uint32_t		  max_flows;
	uint32_t		  max_per_client;
	uint64_t		  k0, k1;	/* SipHash key */
};

/*
 * SipHash-1-3 over the three key words.  The input length is fixed and
 * the domain is tagged in w[0], so the usual length block adds nothing.
 */
static size_t
key_hash(const struct flowtab *ft, const struct flow_key *k)
{
	uint64_t	v0 = ft->k0 ^ 0x736f6d6570736575ULL;
	uint64_t	v1 = ft->k1 ^ 0x646f72616e646f6dULL;
	uint64_t	v2 = ft->k0 ^ 0x6c7967656e657261ULL;
	uint64_t	v3 = ft->k1 ^ 0x7465646279746573ULL;
	int		i;

	for (i = 0; i < 3; i++) {
		v3 ^= k->w[i];
		SIPROUND(v0, v1, v2, v3);
		v0 ^= k->w[i];
	}
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return (size_t)(v0 ^ v1 ^ v2 ^ v3) & ft->mask;
}

static int
key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2];
}

/* The flow key of sa, or -1 if sa is not a whole IPv4 or IPv6 address. */
static int
flow_key_make(const struct sockaddr *sa, socklen_t salen, struct flow_key *k)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	uint32_t			 v4;

	memset(k, 0, sizeof(*k));
	switch (sa->sa_family) {
	case AF_INET:
		if (salen < (socklen_t)sizeof(*sin))
			return -1;
		sin = (const struct sockaddr_in *)sa;
		memcpy(&v4, &sin->sin_addr, sizeof(v4));
		k->w[0] = KEY_FLOW | AF_INET | (uint64_t)sin->sin_port << 16;
		k->w[1] = v4;
		return 0;
	case AF_INET6:
		if (salen < (socklen_t)sizeof(*sin6))
			return -1;
		sin6 = (const struct sockaddr_in6 *)sa;
		k->w[0] = KEY_FLOW | AF_INET6 |
		    (uint64_t)sin6->sin6_port << 16 |
		    (uint64_t)sin6->sin6_scope_id << 32;
		memcpy(&k->w[1], &sin6->sin6_addr, 16);
		return 0;
	default:
		return -1;
	}
}

/*
 * The client key of sa: IPv4 address or IPv6 /64.  An IPv4-mapped
 * address counts as its IPv4 client, so a caller that forgot to unmap
 * cannot put every IPv4 client under one shared count.
 */
static int
client_key_make(const struct sockaddr *sa, struct flow_key *k)
{
	const struct sockaddr_in6	*sin6;
	uint32_t			 v4;

	memset(k, 0, sizeof(*k));
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&v4, &((const struct sockaddr_in *)sa)->sin_addr,
		    sizeof(v4));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			break;
		}
		k->w[0] = KEY_CLIENT | AF_INET6;
		memcpy(&k->w[1], &sin6->sin6_addr, 8);
		return 0;
	default:
		return -1;
	}
	k->w[0] = KEY_CLIENT | AF_INET;
	k->w[1] = v4;
	return 0;
}

static const struct sockaddr *
flow_sa(const struct flow *f)
{
	return (const struct sockaddr *)&f->client;
}

static struct flow_client *
client_find(const struct flowtab *ft, const struct flow_key *k, size_t b)
{
	struct flow_client	*fc;

	for (fc = ft->clients[b]; fc != NULL; fc = fc->hnext)
		if (key_eq(&fc->key, k))
			return fc;
	return NULL;
}

struct flowtab *
flowtab_new(uint32_t max_flows, uint32_t max_per_client)
{
	struct flowtab	*ft;
	size_t		 nbuckets = FLOWTAB_MIN_BUCKETS;

	if (max_flows < 1)
		max_flows = 1;
	if (max_per_client < 1 || max_per_client > max_flows)
		max_per_client = max_flows;
	while (nbuckets < max_flows && nbuckets < FLOWTAB_MAX_BUCKETS)
		nbuckets <<= 1;
	if ((ft = calloc(1, sizeof(*ft))) == NULL)
		return NULL;
	ft->flows = calloc(nbuckets, sizeof(*ft->flows));
	ft->clients = calloc(nbuckets, sizeof(*ft->clients));
	if (ft->flows == NULL || ft->clients == NULL) {
		flowtab_free(ft);
		return NULL;
	}
	ft->mask = nbuckets - 1;
	TAILQ_INIT(&ft->lru);
	ft->max_flows = max_flows;
	ft->max_per_client = max_per_client;
	arc4random_buf(&ft->k0, sizeof(ft->k0));
	arc4random_buf(&ft->k1, sizeof(ft->k1));
	return ft;
}

void
flowtab_free(struct flowtab *ft)
{
	struct flow_client	*fc, *next;
	size_t			 b;

	if (ft == NULL)
		return;
	/* Client records are the table's even while flows remain. */
	if (ft->clients != NULL) {
		for (b = 0; b <= ft->mask; b++) {
			for (fc = ft->clients[b]; fc != NULL; fc = next) {
				next = fc->hnext;
				free(fc);
			}
		}
	}
	free(ft->clients);
	free(ft->flows);
	free(ft);
}

struct flow *
flowtab_find(struct flowtab *ft, const struct sockaddr *sa, socklen_t salen)
{
	struct flow_key	 k, fk;
	struct flow	*f;

	if (flow_key_make(sa, salen, &k) == -1)
		return NULL;
	for (f = ft->flows[key_hash(ft, &k)]; f != NULL; f = f->hnext) {
		if (flow_key_make(flow_sa(f), sizeof(f->client), &fk) == 0 &&
		    key_eq(&k, &fk))
			return f;
	}
	return NULL;
}

enum flowtab_rc
flowtab_add(struct flowtab *ft, struct flow *f, uint64_t now)
{
	struct flow_key		 k, ck;
	struct flow_client	*fc;
	size_t			 cb, b;

	/* The owner filled f->client from recvfrom on an inet socket. */
	if (flow_key_make(flow_sa(f), sizeof(f->client), &k) == -1 ||
	    client_key_make(flow_sa(f), &ck) == -1)
		fatalx("%s: address family %d", __func__,
		    f->client.ss_family);
	if (ft->nflows >= ft->max_flows)
		return FLOWTAB_FULL;
	cb = key_hash(ft, &ck);
	if ((fc = client_find(ft, &ck, cb)) == NULL) {
		if ((fc = calloc(1, sizeof(*fc))) == NULL)
			return FLOWTAB_NOMEM;
		fc->key = ck;
		fc->hnext = ft->clients[cb];
		ft->clients[cb] = fc;
	} else if (fc->nflows >= ft->max_per_client)
		return FLOWTAB_CLIENT_FULL;
	fc->nflows++;
	f->fc = fc;
	b = key_hash(ft, &k);
	f->hnext = ft->flows[b];
	ft->flows[b] = f;
	f->last_ms = now;
	TAILQ_INSERT_TAIL(&ft->lru, f, lru);
	ft->nflows++;
	return FLOWTAB_OK;
}

void
flowtab_touch(struct flowtab *ft, struct flow *f, uint64_t now)
{
	f->last_ms = now;
	if (TAILQ_NEXT(f, lru) == NULL)
		return;			/* already the newest */
	TAILQ_REMOVE(&ft->lru, f, lru);
	TAILQ_INSERT_TAIL(&ft->lru, f, lru);
}

static void
client_release(struct flowtab *ft, struct flow_client *fc)
{
	struct flow_client	**pp;

	if (--fc->nflows > 0)
		return;
	for (pp = &ft->clients[key_hash(ft, &fc->key)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == fc) {
			*pp = fc->hnext;
			break;
		}
	}
	free(fc);
}

void
flowtab_remove(struct flowtab *ft, struct flow *f)
{
	struct flow_key	  k;
	struct flow	**pp;

	if (flow_key_make(flow_sa(f), sizeof(f->client), &k) == 0) {
		for (pp = &ft->flows[key_hash(ft, &k)]; *pp != NULL;
		    pp = &(*pp)->hnext) {
			if (*pp == f) {
				*pp = f->hnext;
				break;
			}
		}
	}
	TAILQ_REMOVE(&ft->lru, f, lru);
	client_release(ft, f->fc);
	f->fc = NULL;
	f->hnext = NULL;
	ft->nflows--;
}

struct flow *
flowtab_oldest(const struct flowtab *ft)
{
	return TAILQ_FIRST(&ft->lru);
}

size_t
flowtab_count(const struct flowtab *ft)
{
	return ft->nflows;
}

uint32_t
flowtab_client_count(const struct flowtab *ft, const struct sockaddr *sa)
{
	struct flow_key		 ck;
	struct flow_client	*fc;

	if (client_key_make(sa, &ck) == -1)
		return 0;
	fc = client_find(ft, &ck, key_hash(ft, &ck));
	return fc != NULL ? fc->nflows : 0;
}
