/*
 * The first pass of decoding an IPC body (codec.c): the raw msgpack bytes
 * are walked before msgpack-c sees them, so a body that lies about its
 * containers' sizes is refused before anything is allocated for it.
 */
#include <stddef.h>
#include <stdint.h>

#include "scan.h"

/* Deepest layout: RES_ANSWER -> address list -> [family, addr]. */
#define SCAN_MAX_DEPTH		3

enum scan_kind { SCAN_DATA, SCAN_ARRAY, SCAN_MAP };

struct scan_item {
	size_t	 hdr;		/* tag and length bytes */
	uint64_t data;		/* payload bytes after hdr */
	uint64_t count;		/* objects contained (2 per map entry) */
};

/*
 * Classify a msgpack tag byte: bytes of length field that follow it,
 * extra fixed header bytes (ext type), fixed payload or inline
 * length/count, and whether the length field counts bytes or elements.
 * Returns -1 for the one byte msgpack never uses (0xc1).
 */
static int
scan_tag(unsigned char b, size_t *lenbytes, size_t *extra, uint64_t *n,
    enum scan_kind *kind)
{
	*lenbytes = *extra = 0;
	*n = 0;
	*kind = SCAN_DATA;
	if (b <= 0x7f || b >= 0xe0)		/* fixint */
		return 0;
	if (b <= 0x8f) {			/* fixmap */
		*kind = SCAN_MAP;
		*n = b & 0x0f;
		return 0;
	}
	if (b <= 0x9f) {			/* fixarray */
		*kind = SCAN_ARRAY;
		*n = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) {			/* fixstr */
		*n = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc0: case 0xc2: case 0xc3:	/* nil, false, true */
		return 0;
	case 0xc4: case 0xc5: case 0xc6:	/* bin 8/16/32 */
	case 0xd9: case 0xda: case 0xdb:	/* str 8/16/32 */
		*lenbytes = (b == 0xc4 || b == 0xd9) ? 1 :
		    (b == 0xc5 || b == 0xda) ? 2 : 4;
		return 0;
	case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32 + type byte */
		*lenbytes = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
		*extra = 1;
		return 0;
	case 0xca: *n = 4; return 0;		/* float32 */
	case 0xcb: *n = 8; return 0;		/* float64 */
	case 0xcc: case 0xd0: *n = 1; return 0;	/* (u)int8 */
	case 0xcd: case 0xd1: *n = 2; return 0;	/* (u)int16 */
	case 0xce: case 0xd2: *n = 4; return 0;	/* (u)int32 */
	case 0xcf: case 0xd3: *n = 8; return 0;	/* (u)int64 */
	case 0xd4: case 0xd5: case 0xd6:	/* fixext 1/2/4 */
	case 0xd7: case 0xd8:			/* fixext 8/16 */
		*extra = 1;
		*n = 1u << (b - 0xd4);
		return 0;
	case 0xdc: case 0xdd:			/* array 16/32 */
		*kind = SCAN_ARRAY;
		*lenbytes = b == 0xdc ? 2 : 4;
		return 0;
	case 0xde: case 0xdf:			/* map 16/32 */
		*kind = SCAN_MAP;
		*lenbytes = b == 0xde ? 2 : 4;
		return 0;
	}
	return -1;				/* 0xc1 */
}

/* Size up the object at p (avail > 0 bytes) without trusting it. */
static int
scan_one(const unsigned char *p, size_t avail, struct scan_item *it,
    const char **why)
{
	size_t		 lenbytes, extra, i;
	uint64_t	 n;
	enum scan_kind	 kind;

	if (scan_tag(p[0], &lenbytes, &extra, &n, &kind) == -1) {
		*why = "invalid msgpack tag";
		return -1;
	}
	it->hdr = 1 + lenbytes + extra;
	if (avail < it->hdr) {
		*why = "truncated body";
		return -1;
	}
	/* The length field is big-endian. */
	for (i = 0; i < lenbytes; i++)
		n = (n << 8) | p[1 + i];
	it->data = kind == SCAN_DATA ? n : 0;
	it->count = kind == SCAN_ARRAY ? n : kind == SCAN_MAP ? 2 * n : 0;
	if (it->data > avail - it->hdr) {
		*why = "truncated body";
		return -1;
	}
	return 0;
}

/*
 * Check that p[0..len) is exactly one msgpack object whose containers
 * are plausible: every element still owed needs at least one byte, so
 * the objects msgpack-c will allocate never outnumber the body's bytes.
 */
int
scan_body(const unsigned char *p, size_t len, const char **why)
{
	uint64_t		left[SCAN_MAX_DEPTH];
	uint64_t		owed = 1;
	size_t			off = 0;
	int			depth = 0;
	struct scan_item	it;

	while (owed > 0) {
		if (off == len) {
			*why = "truncated body";
			return -1;
		}
		if (scan_one(p + off, len - off, &it, why) == -1)
			return -1;
		off += it.hdr + it.data;
		owed--;
		if (depth > 0)
			left[depth - 1]--;
		if (it.count > 0) {
			if (depth == SCAN_MAX_DEPTH) {
				*why = "msgpack nested too deep";
				return -1;
			}
			if (owed + it.count > len - off) {
				*why = "msgpack container larger than body";
				return -1;
			}
			left[depth++] = it.count;
			owed += it.count;
		}
		while (depth > 0 && left[depth - 1] == 0)
			depth--;
	}
	if (off != len) {
		*why = "trailing bytes after body";
		return -1;
	}
	return 0;
}
