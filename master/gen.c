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
static struct gen	*next;		/* a reload's, until it serves */
static struct gen	 cur;		/* gen_view()'s of the current one */

static struct gen *gen_retire(void);

void
gen_set_next(struct gen *g)
{
	next = g;
}

struct gen *
gen_next(void)
{
	return next;
}

/* g := the current generation's state in struct master. */
static void
gen_from_master(struct gen *g)
{
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
	g->registry_uid = ms->registry_uid;
	g->registry_gid = ms->registry_gid;
	memcpy(g->lfds, ms->lfds, sizeof(g->lfds));
}

const struct gen *
gen_view(uint32_t id)
{
	struct gen	*g;

	if (id == ms->generation) {
		gen_from_master(&cur);
		return &cur;
	}
	if (next != NULL && next->id == id)
		return next;
	return (g = gen_find(id)) != NULL ? g : NULL;
}

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
	const struct gen	*g;

	if (id == ms->generation)
		return ms->conf;
	return (g = gen_view(id)) != NULL ? g->conf : NULL;
}

size_t
gen_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < GEN_MAX_LIVE; i++)
		n += old[i] != NULL;
	return n;
}

/* The current generation's state becomes next's; next is taken. */
static void
gen_promote(struct gen *g)
{
	ms->generation = g->id;
	ms->conf = g->conf;
	ms->conf_text = g->conf_text;
	ms->conf_len = g->conf_len;
	ms->conf_fd = g->conf_fd;
	ms->shm_fd = g->shm_fd;
	ms->shm = g->shm;
	ms->shmsize = g->shmsize;
	ms->nworkers = g->nworkers;
	ms->uid = g->uid;
	ms->gid = g->gid;
	ms->resolver_uid = g->resolver_uid;
	ms->resolver_gid = g->resolver_gid;
	ms->registry_uid = g->registry_uid;
	ms->registry_gid = g->registry_gid;
	memcpy(ms->lfds, g->lfds, sizeof(ms->lfds));
	free(g);
}

struct gen *
gen_switch(void)
{
	struct gen	*o;

	if (next == NULL || (o = gen_retire()) == NULL)
		return NULL;
	gen_promote(next);
	next = NULL;
	return o;
}

static struct gen *
gen_retire(void)
{
	struct gen	*g;
	size_t		 i;

	for (i = 0; i < GEN_MAX_LIVE && old[i] != NULL; i++)
		;
	if (i == GEN_MAX_LIVE || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	gen_from_master(g);
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
	if (next == g)
		next = NULL;
	/* Sockets it alone held (a removed listener's, surplus slots). */
	listen_close_unused(g->lfds, ms->lfds);
	if (g->conf != NULL)
		conf_free(g->conf);
	if (g->conf_text != NULL) {
		explicit_bzero(g->conf_text, g->conf_len);
		free(g->conf_text);
	}
	if (g->conf_fd != -1)
		close(g->conf_fd);
	if (g->shm_fd != -1)
		close(g->shm_fd);
	if (g->shm != NULL)
		munmap(g->shm, g->shmsize);
	free(g->snapshot);
	free(g);
}

struct gen *
gen_new(void)
{
	struct gen	*g;
	size_t		 i, w;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->conf_fd = g->shm_fd = -1;
	for (i = 0; i < SL_MAX_LISTENERS; i++)
		for (w = 0; w < SL_MAX_WORKERS; w++)
			g->lfds[i][w] = -1;
	return g;
}
