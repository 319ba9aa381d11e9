/*
 * The worker's name cache (namecache.h): one direct-mapped table, no
 * chains, no allocation after init.  A name that collides with another
 * in its slot replaces it; a key is 64 bits of SipHash under a secret
 * key, so a client cannot aim one name at another's answers.
 */
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/siphash.h"
#include "namecache.h"

struct nc_entry {
	uint64_t		key;		/* 0: empty */
	uint64_t		expires_ms;
	uint32_t		naddrs;
	struct sl_res_addr	addrs[SL_MAX_ADDRS];
};

static struct nc_entry	*nc;
static uint64_t		 nc_sipkey[2];

int
namecache_init(void)
{
	if (nc != NULL)
		return 0;	/* once per process (tests call it again) */
	if (getrandom(nc_sipkey, sizeof(nc_sipkey), 0) != sizeof(nc_sipkey))
		return -1;
	if ((nc = calloc(NC_SLOTS, sizeof(*nc))) == NULL)
		return -1;
	return 0;
}

uint64_t
namecache_key(const char *name)
{
	uint64_t	k = siphash24(nc_sipkey, name, strlen(name));

	return k != 0 ? k : 1;
}

uint32_t
namecache_get(uint64_t key, uint64_t now_ms,
    struct sl_res_addr out[SL_MAX_ADDRS])
{
	const struct nc_entry	*e;

	if (nc == NULL)
		return 0;
	e = &nc[key & (NC_SLOTS - 1)];
	if (e->key != key || e->expires_ms <= now_ms || e->naddrs == 0 ||
	    e->naddrs > SL_MAX_ADDRS)
		return 0;
	memcpy(out, e->addrs, e->naddrs * sizeof(out[0]));
	return e->naddrs;
}

void
namecache_put(uint64_t key, uint32_t ttl_s, const struct sl_res_addr *a,
    uint32_t n, uint64_t now_ms)
{
	struct nc_entry	*e;

	if (nc == NULL || ttl_s == 0 || n == 0 || n > SL_MAX_ADDRS)
		return;
	if (ttl_s > NC_MAX_TTL_S)
		ttl_s = NC_MAX_TTL_S;
	e = &nc[key & (NC_SLOTS - 1)];
	e->key = key;
	e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
	e->naddrs = n;
	memcpy(e->addrs, a, n * sizeof(a[0]));
}
