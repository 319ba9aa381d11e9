/*
 * The service table: entries in load order and an open-addressing index
 * over their names.  A lookup is one or two probes sequences of a
 * seeded hash: no per-connection database round trip, whatever the
 * table's size.
 *
 * The seed is random per process: names come from config and from
 * Redis, which is shared with other programs, so nobody can choose names
 * that all land in one probe run.
 */
#include <stdlib.h>
#include <string.h>

#include "services.h"
#include "services_priv.h"

struct sl_services {
	struct sl_service	*svc;
	size_t			 n, cap;
	uint32_t		*slots;		/* index + 1; 0 = empty */
	size_t			 mask;		/* slots - 1 */
	uint64_t		 seed;
	long			 catch_all;	/* index, -1 = none */
};

static uint64_t
name_hash(uint64_t seed, const char *s, size_t n)
{
	uint64_t	h = seed ^ 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	/* splitmix64's finaliser: every input bit reaches the low bits. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

struct sl_services *
svc_table_new(size_t hint)
{
	struct sl_services	*t;
	size_t			 nslots = 16;

	if (hint > SL_SVC_MAX)
		hint = SL_SVC_MAX;
	while (nslots < hint * 2)
		nslots <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cap = hint > 0 ? hint : 1;
	t->svc = calloc(t->cap, sizeof(*t->svc));
	t->slots = calloc(nslots, sizeof(*t->slots));
	if (t->svc == NULL || t->slots == NULL) {
		free(t->svc);
		free(t->slots);
		free(t);
		return NULL;
	}
	t->mask = nslots - 1;
	t->seed = ((uint64_t)arc4random() << 32) | arc4random();
	t->catch_all = -1;
	return t;
}

static long
slot_find(const struct sl_services *t, const char *name, size_t n,
    size_t *slot)
{
	size_t		 i = (size_t)name_hash(t->seed, name, n) & t->mask;
	uint32_t	 v;

	for (;; i = (i + 1) & t->mask) {
		if ((v = t->slots[i]) == 0) {
			if (slot != NULL)
				*slot = i;
			return -1;
		}
		if (strncmp(t->svc[v - 1].name, name, n) == 0 &&
		    t->svc[v - 1].name[n] == '\0')
			return (long)v - 1;
	}
}

static int
svc_table_grow(struct sl_services *t)
{
	struct sl_service	*svc;
	uint32_t		*slots;
	size_t			 cap = t->cap * 2, nslots, i, j;

	if ((svc = reallocarray(t->svc, cap, sizeof(*svc))) == NULL)
		return -1;
	t->svc = svc;
	t->cap = cap;
	if (t->mask + 1 >= cap * 2)
		return 0;
	nslots = (t->mask + 1) * 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return -1;
	free(t->slots);
	t->slots = slots;
	t->mask = nslots - 1;
	for (i = 0; i < t->n; i++) {
		if ((long)i == t->catch_all)
			continue;
		j = (size_t)name_hash(t->seed, t->svc[i].name,
		    strlen(t->svc[i].name)) & t->mask;
		while (t->slots[j] != 0)
			j = (j + 1) & t->mask;
		t->slots[j] = (uint32_t)i + 1;
	}
	return 0;
}

/*
 * Add *s (the table owns its memory from now on, even on failure).
 * Returns 0, 1 when the name is already there (s is freed), -1 when
 * memory or SL_SVC_MAX ran out (s is freed).
 */
int
svc_table_add(struct sl_services *t, struct sl_service *s)
{
	size_t	slot;

	if (strcmp(s->name, SL_SVC_CATCH_ALL) == 0 && t->catch_all >= 0) {
		svc_entry_free(s);
		return 1;
	}
	if (strcmp(s->name, SL_SVC_CATCH_ALL) != 0 &&
	    slot_find(t, s->name, strlen(s->name), NULL) >= 0) {
		svc_entry_free(s);
		return 1;
	}
	if (t->n >= SL_SVC_MAX || (t->n == t->cap && svc_table_grow(t) == -1)) {
		svc_entry_free(s);
		return -1;
	}
	t->svc[t->n] = *s;
	if (strcmp(s->name, SL_SVC_CATCH_ALL) == 0)
		t->catch_all = (long)t->n;
	else {
		(void)slot_find(t, s->name, strlen(s->name), &slot);
		t->slots[slot] = (uint32_t)t->n + 1;
	}
	t->n++;
	return 0;
}

void
svc_entry_free(struct sl_service *s)
{
	uint16_t	i;

	for (i = 0; i < s->nbackends; i++)
		free(s->backends[i].host);
	free(s->backends);
	free(s->links);
	taps_conf_free(s->taps, s->ntaps);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

const struct sl_service *
services_find_exact(const struct sl_services *t, const char *name)
{
	long	i;

	if (t == NULL || t->n == 0)
		return NULL;
	if ((i = slot_find(t, name, strlen(name), NULL)) >= 0)
		return &t->svc[i];
	return NULL;
}

const struct sl_service *
services_find_wild(const struct sl_services *t, const char *name)
{
	char		 wild[SL_MAX_NAME + 2];
	const char	*dot;
	size_t		 n;
	long		 i;

	if (t == NULL || t->n == 0)
		return NULL;
	/* "*.parent" covers exactly one label before parent. */
	if ((dot = strchr(name, '.')) == NULL || dot == name || dot[1] == '\0')
		return NULL;
	n = strlen(dot);
	if (n + 1 >= sizeof(wild))
		return NULL;
	wild[0] = '*';
	memcpy(wild + 1, dot, n + 1);
	if ((i = slot_find(t, wild, n + 1, NULL)) >= 0)
		return &t->svc[i];
	return NULL;
}

const struct sl_service *
services_find(const struct sl_services *t, const char *name)
{
	const struct sl_service	*s;

	if ((s = services_find_exact(t, name)) != NULL)
		return s;
	return services_find_wild(t, name);
}

const struct sl_service *
services_catch_all(const struct sl_services *t)
{
	if (t == NULL || t->catch_all < 0)
		return NULL;
	return &t->svc[t->catch_all];
}

size_t
services_count(const struct sl_services *t)
{
	return t != NULL ? t->n : 0;
}

const struct sl_service *
services_at(const struct sl_services *t, size_t i)
{
	return t != NULL && i < t->n ? &t->svc[i] : NULL;
}

void
services_free(struct sl_services *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		svc_entry_free(&t->svc[i]);
	free(t->svc);
	free(t->slots);
	free(t);
}
