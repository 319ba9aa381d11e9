/*
 * Link health, kept in the shared region so every worker sees it.
 * Passive: consecutive connect failures put a link in a cool-down.
 * Active: worker 0 dials each link's `check` target every interval.
 */
#ifndef SL_HEALTH_H
#define SL_HEALTH_H

#include <stdint.h>

/* health.c */
void	health_link_failed(uint32_t link, const char *why);
void	health_link_ok(uint32_t link);
/* Start the active checks (worker 0 only). */
void	health_checks_start(void);

#endif
