/*
 * Services in the worker: the config's table and the registry's, see
 * service.h.  The registry's table is replaced whole; sessions that
 * looked a service up copy what they need from it (target, links) before
 * the next event, so nothing points into a table after it is freed.
 */
#include <malloc.h>
#include <stdio.h>

#include "../common/log.h"
#include "service.h"
#include "worker.h"

static struct sl_services	*dyn;		/* the registry's */
static uint32_t			 dyn_generation;

struct skip_count {
	unsigned	n;
};

static void
service_skip(const char *why, void *arg)
{
	struct skip_count	*sc = arg;

	/* The registry validated these; a bad one here is worth a line. */
	if (sc->n++ < 10)
		log_warnx("services from registry: skipped %s", why);
}

void
service_table_update(const char *json, size_t len, uint32_t generation)
{
	struct sl_services	*t;
	struct skip_count	 sc = { 0 };

	if (services_load(json, len, &t, service_skip, &sc) == -1) {
		log_warnx("services from registry: table %u is not a JSON "
		    "object, keeping table %u", generation, dyn_generation);
		return;
	}
	services_free(dyn);
	dyn = t;
	dyn_generation = generation;
	(void)malloc_trim(0);	/* the parser's tree and the old table */
	log_debug("services from registry: table %u, %zu services%s",
	    generation, services_count(t), sc.n > 0 ? ", some skipped" : "");
}

const struct sl_service *
service_lookup(const char *name, int catch_all)
{
	const struct sl_services	*st = wk->conf->services;
	const struct sl_service		*s;

	if (name != NULL && name[0] != '\0') {
		if ((s = services_find_exact(st, name)) != NULL ||
		    (s = services_find_exact(dyn, name)) != NULL ||
		    (s = services_find_wild(st, name)) != NULL ||
		    (s = services_find_wild(dyn, name)) != NULL)
			return s;
	}
	if (!catch_all)
		return NULL;
	if ((s = services_catch_all(st)) != NULL)
		return s;
	return services_catch_all(dyn);
}

void
service_table_free(void)
{
	services_free(dyn);
	dyn = NULL;
}
