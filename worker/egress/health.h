/*
 * Link health, kept in the shared region so every worker sees it.
 * Passive: consecutive connect failures put a link in a cool-down.
 * Active: worker 0 dials each link's `check` target every interval.
 * Connect times: a moving average per link, for the `fastest` strategy.
 */
#ifndef SL_HEALTH_H
#define SL_HEALTH_H

#include <stdint.h>

/* health.c */
void	health_link_failed(uint32_t link, const char *why);
void	health_link_ok(uint32_t link);
/*
 * A connect time for the link's moving average (the `fastest` order).
 * lower_bound: the dial was cancelled after ms, so it would have taken
 * longer; it can only raise the average.
 */
void	health_connect_time(uint32_t link, uint64_t ms, int lower_bound);
/* Start the active checks (worker 0 only). */
void	health_checks_start(void);

#endif
