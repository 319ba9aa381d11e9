/*
 * The table of generations (master/gen.h).
 */
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "master.h"

static struct gen	*gens[GEN_MAX_ALL];

struct gen *
gen_at(size_t i)
{
	return i < GEN_MAX_ALL ? gens[i] : NULL;
}

struct gen *
gen_find(uint32_t id)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if (gens[i] != NULL && gens[i]->id == id)
			return gens[i];
	return NULL;
}

const struct gen *
gen_view(uint32_t id)
{
	return gen_find(id);
}

const struct sl_conf *
gen_conf(uint32_t id)
{
	const struct gen	*g = gen_find(id);

	return g != NULL ? g->conf : NULL;
}

static struct gen *
gen_in_state(uint32_t pool, enum gen_state state)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if (gens[i] != NULL && gens[i]->pool == pool &&
		    gens[i]->state == state)
			return gens[i];
	return NULL;
}

struct gen *
gen_current(uint32_t pool)
{
	return gen_in_state(pool, GEN_CURRENT);
}

struct gen *
gen_next(uint32_t pool)
{
	return gen_in_state(pool, GEN_NEXT);
}

size_t
gen_count(uint32_t pool, enum gen_state state)
{
	size_t	i, n = 0;

	for (i = 0; i < GEN_MAX_ALL; i++)
		n += gens[i] != NULL && gens[i]->state == state &&
		    (pool == (uint32_t)-1 || gens[i]->pool == pool);
	return n;
}

int
gen_add(struct gen *g, enum gen_state state)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if (gens[i] == NULL) {
			gens[i] = g;
			g->state = state;
			return 0;
		}
	return -1;
}

struct gen *
gen_switch(uint32_t pool)
{
	struct gen	*next = gen_next(pool), *cur = gen_current(pool);

	if (cur != NULL)
		cur->state = GEN_OLD;
	if (next != NULL)
		next->state = GEN_CURRENT;
	return cur;
}

void
gen_free(struct gen *g)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_ALL; i++)
		if (gens[i] == g)
			gens[i] = NULL;
	/* Sockets it alone held (a removed listener's, surplus slots). */
	listen_close_unused(g);
	if (g->conf != NULL)
		conf_free(g->conf);
	if (g->conf_text != NULL) {
		explicit_bzero(g->conf_text, g->conf_len);
		free(g->conf_text);
	}
	if (g->pub_text != NULL) {
		explicit_bzero(g->pub_text, g->pub_len);
		free(g->pub_text);
	}
	if (g->conf_fd != -1)
		close(g->conf_fd);
	if (g->secret_fd != -1)
		close(g->secret_fd);
	shm_gen_free(g);
	free(g->snapshot);
	free(g->carried);
	free(g);
}

struct gen *
gen_new(void)
{
	struct gen	*g;
	size_t		 i, w;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->conf_fd = g->secret_fd = -1;
	for (i = 0; i < SL_SHM_MAPS; i++)
		g->shm_fds[i] = g->shm_rofds[i] = -1;
	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			g->lfds[i][w] = -1;
	return g;
}
