/*
 * Building a service table: services.c keeps it, config_service.c fills
 * it from config or from the registry's JSON.  Private to policy/.
 */
#ifndef SL_SERVICES_PRIV_H
#define SL_SERVICES_PRIV_H

#include "services.h"

struct sl_services *svc_table_new(size_t hint);
int	svc_table_add(struct sl_services *, struct sl_service *);
void	svc_entry_free(struct sl_service *);

#endif
