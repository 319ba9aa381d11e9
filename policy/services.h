/*
 * Services: tcprouter's routing by name.  An `sni` or `host` listener
 * learns the name a client wants (the ClientHello's server_name, the
 * Host header) and looks it up here to find the backend:
 *
 *   "services": {
 *     "mydomain.com":   { "addr": "172.217.19.46", "tlsport": 443,
 *                         "httpport": 80 },
 *     "*.example.com":  { "addr": ["10.0.0.1", "10.0.0.2:8443"],
 *                         "strategy": "round_robin",
 *                         "proxy_protocol": 2 },
 *     "egress.test":    { "link": "upstream1" },
 *     "CATCH_ALL":      { "addr": "127.0.0.1", "httpport": 8080 }
 *   }
 *
 * A name is exact or `*.domain` (one label, as in TLS certificates);
 * lookups try the exact name, then the wildcard, then CATCH_ALL.  A
 * service without "addr" sends the client on to the name it asked for.
 * "link"/"links" restrict which egress links the connection may leave
 * by (the balancer's strategy orders them); without either the balancer
 * decides as for any other target.
 *
 * The same parser reads the table the Redis registry sends the workers
 * (services_load), leniently: a bad entry there is skipped with a log
 * line, never a failed table.  Pure code: no I/O.
 */
#ifndef SL_SERVICES_H
#define SL_SERVICES_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/sluice.h"
#include "config.h"

#define SL_SVC_CATCH_ALL	"CATCH_ALL"
#define SL_SVC_MAX		200000	/* services in one table */
#define SL_SVC_MAX_BACKENDS	16	/* addresses of one service */
#define SL_SVC_MAX_LINKS	16

/* One address a service's connections may go to. */
struct sl_backend {
	char			*host;		/* a name to resolve; NULL: addr */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 addr;		/* port 0 */
	uint16_t		 port;		/* 0: the service's tls/httpport */
};

struct sl_service {
	char			*name;		/* lower case; "*.x"; CATCH_ALL */
	struct sl_backend	*backends;	/* none: the name asked for */
	uint16_t		 nbackends;
	uint16_t		 tlsport;	/* sni listeners; default 443 */
	uint16_t		 httpport;	/* host listeners; default 80 */
	uint8_t			 strategy;	/* enum sl_strategy over backends;
						   round_robin */
	uint8_t			 proxy_protocol;	/* 0, 1 or 2 */
	uint16_t		 nlinks;
	uint16_t		*links;		/* link indexes; none: any */
	uint16_t		 ntaps;
	struct sl_tap		*taps;		/* config only; none: the
						   listener's */
};

struct sl_services;

/* services.c */

/*
 * The service for name (lower case, no trailing dot): exact, then
 * `*.parent`; NULL when neither exists.  CATCH_ALL is not returned here.
 */
const struct sl_service *services_find(const struct sl_services *,
	    const char *name);
/* The two halves of services_find(). */
const struct sl_service *services_find_exact(const struct sl_services *,
	    const char *name);
const struct sl_service *services_find_wild(const struct sl_services *,
	    const char *name);
/* The CATCH_ALL service, or NULL. */
const struct sl_service *services_catch_all(const struct sl_services *);
size_t	services_count(const struct sl_services *);
/* The i-th service (0 <= i < count), in load order. */
const struct sl_service *services_at(const struct sl_services *, size_t i);
void	services_free(struct sl_services *);

/*
 * A table sent at run time (the Redis registry's): a JSON object of
 * the same form as the config's "services", without links.  Entries
 * that fail validation are skipped, each reported once through skip
 * (may be NULL) with "NAME: problem".  Returns 0 with *out set (an
 * empty table when every entry was bad), or -1 when the document
 * itself is not a JSON object of at most SL_MAX_CONF_BYTES.
 */
typedef void (*services_skip_fn)(const char *why, void *arg);
int	services_load(const char *json, size_t len,
	    struct sl_services **out, services_skip_fn skip, void *arg);

#endif
