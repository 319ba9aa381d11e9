/*
 * Pools: one per tenant (the one implicit tenant without "tenants").
 * A pool is a name, its run-time client lists and its registry's table;
 * its generations are in gen.c's table under the pool's index, which
 * process rows carry.
 */
#include <stdio.h>
#include <string.h>

#include "master.h"

int
pool_find(const char *name)
{
	size_t	i;

	for (i = 0; i < SL_MAX_POOLS; i++)
		if (ms->pools[i].used && !ms->pools[i].removed &&
		    strcmp(ms->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
pool_add(const char *name)
{
	struct pool	*p;
	size_t		 i;

	for (i = 0; i < SL_MAX_POOLS; i++) {
		p = &ms->pools[i];
		/* A removed pool's slot waits for its last generation. */
		if (p->used || gen_count((uint32_t)i, GEN_OLD) > 0 ||
		    gen_current((uint32_t)i) != NULL ||
		    gen_next((uint32_t)i) != NULL)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = 1;
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->svc.fd = -1;
		svc_pool_init(p);
		return (int)i;
	}
	return -1;
}

size_t
pool_currents(struct gen **out, size_t max)
{
	struct gen	*g;
	size_t		 i, n = 0;

	for (i = 0; i < SL_MAX_POOLS && n < max; i++)
		if ((g = gen_current((uint32_t)i)) != NULL)
			out[n++] = g;
	return n;
}

int
pool_tenanted(void)
{
	return ms->conf != NULL && ms->conf->ntenants > 0;
}
