/*
 * SipHash-2-4 (common/siphash.h), on a little-endian host.
 */
#include <string.h>

#include "siphash.h"

uint64_t
siphash24(const uint64_t key[2], const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 v0 = key[0] ^ 0x736f6d6570736575ULL;
	uint64_t		 v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t		 v2 = key[0] ^ 0x6c7967656e657261ULL;
	uint64_t		 v3 = key[1] ^ 0x7465646279746573ULL;
	uint64_t		 m;
	size_t			 i, j;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, s + i, 8);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = (uint64_t)len << 56;
	for (j = 0; i + j < len; j++)
		m |= (uint64_t)s[i + j] << (8 * j);
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
