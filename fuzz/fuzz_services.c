/*
 * libFuzzer harness for the service table the workers load from the
 * Redis registry (policy/config_service.c services_load, policy/
 * services.c): any bytes are either refused as a document or give a
 * table in which every loaded service is found again by its own name,
 * and lookups of names made from the input never fail badly.
 *
 *   see fuzz/meson.build; ./fuzz_services corpus/services
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/services.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
skip(const char *why, void *arg)
{
	(void)arg;
	if (why == NULL || why[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_services		*t;
	const struct sl_service		*s, *f;
	char				 name[SL_MAX_NAME + 1];
	size_t				 i, n;

	if (services_load((const char *)data, size, &t, skip, NULL) == -1)
		return 0;
	for (i = 0; i < services_count(t); i++) {
		s = services_at(t, i);
		if (s == NULL || s->name == NULL || s->nbackends >
		    SL_SVC_MAX_BACKENDS || s->nlinks != 0)
			abort();
		if (strcmp(s->name, SL_SVC_CATCH_ALL) == 0) {
			if (services_catch_all(t) != s)
				abort();
			continue;
		}
		if ((f = services_find_exact(t, s->name)) != s)
			abort();
	}
	/* The raw input as a name: no crash, whatever it finds. */
	n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	(void)services_find(t, name);
	services_free(t);
	return 0;
}
