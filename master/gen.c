/*
 * Older generations (master/gen.h): what a generation's draining
 * processes still need once a reload made another one current.
 */
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "master.h"

static struct gen	*old[GEN_MAX_LIVE];

struct gen *
gen_find(uint32_t id)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_LIVE; i++)
		if (old[i] != NULL && old[i]->id == id)
			return old[i];
	return NULL;
}

const struct sl_conf *
gen_conf(uint32_t id)
{
	struct gen	*g;

	if (id == ms->generation)
		return ms->conf;
	return (g = gen_find(id)) != NULL ? g->conf : NULL;
}

void *
gen_shm(uint32_t id, uint32_t *nworkers)
{
	struct gen	*g;

	if (id == ms->generation) {
		*nworkers = ms->nworkers;
		return ms->shm;
	}
	if ((g = gen_find(id)) == NULL)
		return NULL;
	*nworkers = g->nworkers;
	return g->shm;
}

size_t
gen_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < GEN_MAX_LIVE; i++)
		n += old[i] != NULL;
	return n;
}

struct gen *
gen_oldest(void)
{
	struct gen	*o = NULL;
	size_t		 i;

	for (i = 0; i < GEN_MAX_LIVE; i++)
		if (old[i] != NULL && (o == NULL || old[i]->id < o->id))
			o = old[i];
	return o;
}

struct gen *
gen_retire(void)
{
	struct gen	*g;
	size_t		 i;

	for (i = 0; i < GEN_MAX_LIVE && old[i] != NULL; i++)
		;
	if (i == GEN_MAX_LIVE || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->id = ms->generation;
	g->conf = ms->conf;
	g->conf_text = ms->conf_text;
	g->conf_len = ms->conf_len;
	g->conf_fd = ms->conf_fd;
	g->shm_fd = ms->shm_fd;
	g->shm = ms->shm;
	g->shmsize = ms->shmsize;
	g->nworkers = ms->nworkers;
	g->uid = ms->uid;
	g->gid = ms->gid;
	g->resolver_uid = ms->resolver_uid;
	g->resolver_gid = ms->resolver_gid;
	memcpy(g->lfds, ms->lfds, sizeof(g->lfds));
	old[i] = g;
	return g;
}

void
gen_free(struct gen *g)
{
	size_t	i;

	for (i = 0; i < GEN_MAX_LIVE; i++)
		if (old[i] == g)
			old[i] = NULL;
	conf_free(g->conf);
	if (g->conf_text != NULL) {
		explicit_bzero(g->conf_text, g->conf_len);
		free(g->conf_text);
	}
	close(g->conf_fd);
	close(g->shm_fd);
	munmap(g->shm, g->shmsize);
	free(g->snapshot);
	free(g);
}
