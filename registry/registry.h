/*
 * The registry process: reads tcprouter's services from Redis and hands
 * the table to the master, which passes it on to every worker.
 */
#ifndef SL_REGISTRY_H
#define SL_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "../policy/config.h"
#include "rg_sandbox.h"

/* registry.c */
void	registry_main(int argc, char *argv[]);
/*
 * Ask the master for a socket connecting to the configured Redis
 * address; the answer comes to scan_socket().  Returns the request id,
 * or 0 when it could not be sent.
 */
uint32_t registry_ask_socket(void);
/*
 * Send the table text to the master in a sealed memfd (copied: the
 * caller keeps json).  Asynchronous: when it cannot be sent after all,
 * scan_table_lost() is called.
 */
void	registry_send_table(const char *json, size_t len, uint32_t count);

/* scan.c: the Redis side */
void	scan_init(struct ev_loop *, const struct sl_dbbackend *);
/* After lockdown: connect and scan. */
void	scan_start(void);
/* The master's answer to request id: fd (>= 0, ours) or err. */
void	scan_socket(uint32_t id, int fd, int err);
/* The last table never reached the master: send the next one anyway. */
void	scan_table_lost(void);

#endif
