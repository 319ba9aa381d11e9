/*
 * The worker's view of services: the static ones from its config and the
 * table the Redis registry last sent (through the master), looked up by
 * the name an `sni` or `host` listener read.  A name in both is served by
 * the config's entry: the operator's file wins over the shared store.
 */
#ifndef SL_WORKER_SERVICE_H
#define SL_WORKER_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/services.h"

/*
 * Replace the registry's table with the one in json[0..len) (a JSON
 * object, as services_load() reads it).  Bad entries are skipped with a
 * log line; a document that is not an object keeps the previous table.
 */
void	service_table_update(const char *json, size_t len, uint32_t generation);

/*
 * The service for name (lower case): config exact, registry exact,
 * config wildcard, registry wildcard; then CATCH_ALL (config first) when
 * catch_all is set.  NULL: none.
 */
const struct sl_service *service_lookup(const char *name, int catch_all);

/* Free the registry's table (worker exit). */
void	service_table_free(void);

#endif
