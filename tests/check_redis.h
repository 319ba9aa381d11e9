/*
 * Private header of the check_redis_records executable (the
 * "redis_records" suite): check_redis_records.c (records.c: records and
 * the table; main) and check_redis_scan.c (scan.c and redis.c against a
 * fake Redis server).
 */
#ifndef SL_TESTS_CHECK_REDIS_H
#define SL_TESTS_CHECK_REDIS_H

#include <check.h>

TCase	*redis_scan_tcase(void);	/* check_redis_scan.c */

#endif
