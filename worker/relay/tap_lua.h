/*
 * A Lua tap: a script defining handle(data, info) that returns the
 * bytes to pass on (transmitm's Tap.handle).  One Lua state per script
 * per worker, loaded and compiled before lockdown, with only the base
 * (without dofile, loadfile, load, require), string, table, math and
 * utf8 libraries: no io, os, package or debug.  Each call runs with an
 * instruction budget, the state with a memory budget; an error, a
 * budget overrun or a result that is not a string ends that session,
 * never the worker.
 */
#ifndef SL_TAP_LUA_H
#define SL_TAP_LUA_H

#include <stddef.h>
#include <stdint.h>

struct tap_info;
struct lua_tap;

/* Read and compile path: NULL with err "path:line: message". */
struct lua_tap *lua_tap_load(const char *path, uint32_t max_instructions,
	    uint32_t max_memory, char *err, size_t errlen);
/*
 * handle(data, info) for dir ("up"/"down"): 1 with *out, *outlen (valid
 * until the next call on lt; at most max bytes), 0 when handle returned
 * nil or false (drop: a datagram is not sent, stream bytes are not
 * passed on), -1 with why (an error, a budget spent, a non-string or
 * too long result).
 */
int	lua_tap_call(struct lua_tap *, const uint8_t *data, size_t len,
	    const struct tap_info *, const char *dir, size_t max,
	    const uint8_t **out, size_t *outlen, char *why, size_t whylen);
void	lua_tap_free(struct lua_tap *);

#endif
