/*
 * SipHash (Aumasson, Bernstein): keyed hashes for tables whose keys come
 * from the network (resolver cache, the worker's name cache, UDP flows),
 * so that nobody without the key can aim collisions at one bucket.
 */
#ifndef SL_SIPHASH_H
#define SL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIP_ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32); \
	v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32); \
} while (0)

/* SipHash-2-4 of len bytes under a 128-bit key. */
uint64_t	siphash24(const uint64_t key[2], const void *, size_t len);

#endif
