/*
 * Private header of the check_taps executable (the "taps" suite), built
 * from check_taps_conf.c (the configuration) and check_taps.c (the
 * chain, main).
 */
#ifndef SL_TESTS_CHECK_TAPS_H
#define SL_TESTS_CHECK_TAPS_H

#include <check.h>

#include "policy/config.h"

/* A document whose forward listener has taps `taps` (single quotes). */
struct sl_conf	*must_taps(const char *taps);
/* The "conf" test case. */
TCase		*taps_conf_tcase(void);

#endif
