/*
 * Structural check of a msgpack body before it is unpacked (scan.c).
 */
#ifndef SL_IPC_SCAN_H
#define SL_IPC_SCAN_H

#include <stddef.h>

/*
 * 0 when p[0..len) is exactly one msgpack object whose containers are
 * plausible (every element still owed needs at least one byte, so the
 * objects msgpack-c will allocate never outnumber the body's bytes);
 * -1 with why otherwise.
 */
int	scan_body(const unsigned char *p, size_t len, const char **why);

#endif
