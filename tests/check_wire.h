/*
 * Helpers the wire-codec suites share (check_socks5, check_socks4,
 * check_http): a cheap assertion for hot random-input loops and an
 * exact-size copy that makes an over-read fault under ASan.
 */
#ifndef SL_TESTS_CHECK_WIRE_H
#define SL_TESTS_CHECK_WIRE_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * For hot loops: Check's ck_assert records a mark point (a write to its
 * pipe) on every success, which makes a random loop syscall-bound.
 */
#define REQUIRE(c) do {							\
	if (!(c))							\
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);	\
} while (0)

/* Exact-size heap copy, so reading past len faults under ASan. */
static inline uint8_t *
xdup(const void *p, size_t len)
{
	uint8_t	*q = calloc(1, len > 0 ? len : 1);

	REQUIRE(q != NULL);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

#endif
