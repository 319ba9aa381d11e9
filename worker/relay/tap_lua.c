/*
 * Lua taps: one lua_State per script per worker (tap_lua.h).
 *
 * Everything that can raise a Lua error, a memory error included, runs
 * inside lua_pcall: lua_newstate() gives us no panic handler we could
 * recover from, and a longjmp through C frames that are not Lua's (the
 * relay, libev) would corrupt the worker.  Outside a pcall this file
 * only pushes light values (no allocation), reads results and sets the
 * stack top.
 *
 * The libraries are base, string, table, math and utf8.  Left out:
 * io, os, package, debug (files, processes, clocks, the sandbox's
 * business) and coroutine (a count hook belongs to one thread, so each
 * coroutine would carry an instruction budget of its own).  From base,
 * dofile, loadfile and load are removed (load could also take bytecode,
 * which can crash the VM), warn is removed (it writes to stderr) and
 * print logs one escaped line.
 *
 * Calls run inside the worker's seccomp filter (worker/sandbox.c) and
 * must make no syscall but memory ones; checked against Lua 5.4.4 (and
 * with strace: after load, only brk, mmap and munmap):
 *  - lua_newstate seeds its string hash with time(NULL), luaopen_math
 *    seeds math.random with time(NULL): both at load, before lockdown.
 *  - math.randomseed() without arguments calls time(NULL) again: it is
 *    wrapped to require a seed.
 *  - the GC, string.format (snprintf, localeconv), tostring, patterns
 *    and the rest of the five libraries make no syscall; the allocator
 *    is malloc/realloc/free (brk, mmap, munmap, mremap, madvise).
 *  tests/check_tap_lua.c runs load then calls under the worker filter.
 *
 * Budgets: the allocator counts every byte of the state and refuses an
 * allocation over max_memory (Lua collects and retries, then raises a
 * memory error); a count hook raises an error after max_instructions VM
 * instructions and then on every instruction, so a script that catches
 * the error with pcall cannot carry on.  Finalizers run with hooks off
 * (lgc.c GCTM), beyond any instruction budget, so setmetatable refuses
 * a __gc field.  An error raised in a hook calls xpcall's message
 * handler with hooks off too, so xpcall calls its handler after the
 * unwinding instead.  Time spent inside C functions is not counted:
 * string.rep of an empty string and table.move are bounded here, but
 * string.find and the pattern functions over large strings (heavy
 * backtracking, long plain searches) can still spend CPU unmetered.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "taps.h"
#include "tap_lua.h"

/* A tap script is a few lines; this bounds what a bad path can read. */
#define LT_SCRIPT_MAX		(1024 * 1024)
/* Bytes of one print() that reach the log (escaped, up to 4 times as
 * many: a log line holds 1024). */
#define LT_PRINT_MAX		200

struct lua_tap {
	lua_State	*L;
	char		*path;
	size_t		 mem_used;	/* bytes the state holds */
	size_t		 mem_max;
	uint32_t	 max_instructions;
	int		 hook_count;	/* max_instructions as lua_sethook's */
	int		 spent;		/* the instruction budget ran out */
	int		 refused;	/* the allocator said no in this run */
	uint8_t		*out;		/* handle's result, copied */
	size_t		 outcap;
};

/* What lt_call_protected needs, passed as a light userdata. */
struct lt_call {
	const uint8_t		*data;
	size_t			 len;
	const struct tap_info	*info;
	const char		*dir;
};

static void	*lt_alloc(void *, void *, size_t, size_t);
static int	 lt_panic(lua_State *);
static void	 lt_hook(lua_State *, lua_Debug *);
static int	 lt_run(struct lua_tap *, int, int, char *, size_t);
static void	 lt_error(struct lua_tap *, int, char *, size_t);
static int	 lt_read(const char *, char **, size_t *, char *, size_t);
static int	 lt_open_protected(lua_State *);
static int	 lt_check_protected(lua_State *);
static int	 lt_call_protected(lua_State *);
static void	 lt_push_info(lua_State *, const struct tap_info *,
		    const char *);
static int	 lt_print(lua_State *);
static int	 lt_setmetatable(lua_State *);
static int	 lt_randomseed(lua_State *);
static int	 lt_xpcall(lua_State *);
static int	 lt_rep(lua_State *);
static int	 lt_move(lua_State *);
static void	 lt_wrap(lua_State *, const char *, const char *,
		    lua_CFunction);
static int	 lt_original(lua_State *);

/*
 * The state's allocator: one budget for everything the state holds.
 * Freeing and shrinking always succeed (Lua relies on a shrink never
 * failing, so a failed shrinking realloc keeps the larger block).
 */
static void *
lt_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_tap	*lt = ud;
	void		*p;

	if (ptr == NULL)
		osize = 0;	/* then osize is the kind of object */
	if (nsize == 0) {
		free(ptr);
		lt->mem_used -= osize;
		return NULL;
	}
	if (nsize > osize && nsize - osize > lt->mem_max - lt->mem_used) {
		lt->refused = 1;
		return NULL;
	}
	if ((p = realloc(ptr, nsize)) == NULL)
		return nsize <= osize ? ptr : NULL;
	lt->mem_used = lt->mem_used - osize + nsize;
	return p;
}

/*
 * An error outside every pcall: a bug in this file, since everything
 * that can raise runs protected.  Lua would abort() next; say why and
 * leave the way a confined process leaves.
 */
static int
lt_panic(lua_State *L)
{
	fatalx("Lua panic: %s", lua_type(L, -1) == LUA_TSTRING ?
	    lua_tostring(L, -1) : "(no message)");
}

/*
 * The count hook fired: max_instructions are spent.  From now on it
 * fires on every instruction, so pcall in the script only delays the
 * error by one instruction.
 */
static void
lt_hook(lua_State *L, lua_Debug *ar)
{
	struct lua_tap	*lt;

	(void)ar;
	lua_getallocf(L, (void **)&lt);
	lt->spent = 1;
	lua_sethook(L, lt_hook, LUA_MASKCOUNT, 1);
	lua_pushliteral(L, "instruction budget spent");
	lua_error(L);
}

/*
 * Call the function under the nargs arguments on the stack with both
 * budgets; results stay on the stack.  LUA_OK, or an error with why,
 * the stack emptied and the state ready for the next run.
 */
static int
lt_run(struct lua_tap *lt, int nargs, int nresults, char *why,
    size_t whylen)
{
	lua_State	*L = lt->L;
	int		 st;

	lt->spent = 0;
	lt->refused = 0;
	lua_sethook(L, lt_hook, LUA_MASKCOUNT, lt->hook_count);
	st = lua_pcall(L, nargs, nresults, 0);
	lua_sethook(L, NULL, 0, 0);
	if (st == LUA_OK)
		return LUA_OK;
	lt_error(lt, st, why, whylen);
	lua_settop(L, 0);
	/* What the script piled up is garbage now; give it back at once. */
	if (st == LUA_ERRMEM || lt->refused)
		lua_gc(L, LUA_GCCOLLECT);
	return st;
}

/* The error on top of the stack (status st) as a message. */
static void
lt_error(struct lua_tap *lt, int st, char *why, size_t whylen)
{
	lua_State	*L = lt->L;

	if (lt->spent)
		snprintf(why, whylen, "%s: instruction budget of %u spent",
		    lt->path, lt->max_instructions);
	else if (st == LUA_ERRMEM || (lt->refused &&
	    lua_type(L, -1) == LUA_TSTRING &&
	    strcmp(lua_tostring(L, -1), "not enough memory") == 0))
		/* the second: the script caught the memory error, rethrew */
		snprintf(why, whylen, "%s: memory budget of %zu bytes spent",
		    lt->path, lt->mem_max);
	else if (lua_type(L, -1) == LUA_TSTRING)
		/* Lua's own message: "path:line: what" */
		snprintf(why, whylen, "%s", lua_tostring(L, -1));
	else if (lua_isinteger(L, -1))
		/* not lua_tostring: converting a number allocates */
		snprintf(why, whylen, "%s: error %lld", lt->path,
		    (long long)lua_tointeger(L, -1));
	else
		snprintf(why, whylen, "%s: error object is a %s value",
		    lt->path, luaL_typename(L, -1));
}

/*
 * The whole script into memory (a regular file, at most LT_SCRIPT_MAX):
 * compiled from a buffer with mode "t", so a bytecode file is refused.
 */
static int
lt_read(const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 sb;
	FILE		*f;
	char		*buf = NULL;
	size_t		 len = 0, i;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > LT_SCRIPT_MAX) {
		snprintf(err, errlen, "%s: %s", path, !S_ISREG(sb.st_mode) ?
		    "not a regular file" : "larger than 1 MiB");
		goto fail;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	len = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	/* A "#!" first line, as lua(1) skips it, keeping line numbers. */
	if (len > 0 && buf[0] == '#')
		for (i = 0; i < len && buf[i] != '\n'; i++)
			buf[i] = ' ';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

/* The libraries and the sandbox's changes to them (protected). */
static int
lt_open_protected(lua_State *L)
{
	static const luaL_Reg	 libs[] = {
		{ LUA_GNAME, luaopen_base },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
	};
	static const char	*gone[] = {
		"dofile", "loadfile", "load", "loadstring", "require", "warn",
	};
	struct lua_tap		*lt = lua_touserdata(L, 1);
	size_t			 i;

	for (i = 0; i < nitems(libs); i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}
	for (i = 0; i < nitems(gone); i++) {
		lua_pushnil(L);
		lua_setglobal(L, gone[i]);
	}
	lua_pushstring(L, lt->path);
	lua_pushcclosure(L, lt_print, 1);
	lua_setglobal(L, "print");
	lt_wrap(L, NULL, "setmetatable", lt_setmetatable);
	lt_wrap(L, NULL, "xpcall", lt_xpcall);
	lt_wrap(L, LUA_MATHLIBNAME, "randomseed", lt_randomseed);
	lt_wrap(L, LUA_STRLIBNAME, "rep", lt_rep);
	lt_wrap(L, LUA_TABLIBNAME, "move", lt_move);
	return 0;
}

/* Replace lib.name (lib NULL: a global) by f with the original as its
 * upvalue. */
static void
lt_wrap(lua_State *L, const char *lib, const char *name, lua_CFunction f)
{
	if (lib == NULL)
		lua_pushglobaltable(L);
	else
		lua_getglobal(L, lib);
	lua_getfield(L, -1, name);
	lua_pushcclosure(L, f, 1);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

/* After the chunk ran: it must have defined handle (protected). */
static int
lt_check_protected(lua_State *L)
{
	struct lua_tap	*lt = lua_touserdata(L, 1);

	if (lua_getglobal(L, "handle") != LUA_TFUNCTION)
		return luaL_error(L, "%s: defines no function handle(data, "
		    "info)", lt->path);
	return 0;
}

struct lua_tap *
lua_tap_load(const char *path, uint32_t max_instructions,
    uint32_t max_memory, char *err, size_t errlen)
{
	struct lua_tap	*lt;
	char		*buf = NULL, *chunkname = NULL;
	size_t		 len;
	int		 st;

	if ((lt = calloc(1, sizeof(*lt))) == NULL ||
	    (lt->path = strdup(path)) == NULL ||
	    asprintf(&chunkname, "@%s", path) == -1) {
		chunkname = NULL;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	lt->mem_max = max_memory;
	lt->max_instructions = max_instructions;
	/* 0 would turn the count hook off: no budget is no option. */
	lt->hook_count = max_instructions == 0 ? 1 :
	    max_instructions > INT_MAX ? INT_MAX : (int)max_instructions;
	if (lt_read(path, &buf, &len, err, errlen) == -1)
		goto fail;
	if ((lt->L = lua_newstate(lt_alloc, lt)) == NULL) {
		snprintf(err, errlen, "%s: memory budget of %zu bytes is too "
		    "small for a Lua state", path, lt->mem_max);
		goto fail;
	}
	lua_atpanic(lt->L, lt_panic);
	lua_pushcfunction(lt->L, lt_open_protected);
	lua_pushlightuserdata(lt->L, lt);
	if (lt_run(lt, 1, 0, err, errlen) != LUA_OK)
		goto fail;
	lt->refused = 0;
	st = luaL_loadbufferx(lt->L, buf, len, chunkname, "t");
	if (st != LUA_OK) {
		lt_error(lt, st, err, errlen);	/* "path:3: ... near ..." */
		goto fail;
	}
	if (lt_run(lt, 0, 0, err, errlen) != LUA_OK)
		goto fail;
	lua_pushcfunction(lt->L, lt_check_protected);
	lua_pushlightuserdata(lt->L, lt);
	if (lt_run(lt, 1, 0, err, errlen) != LUA_OK)
		goto fail;
	lua_settop(lt->L, 0);
	free(buf);
	free(chunkname);
	return lt;
fail:
	free(buf);
	free(chunkname);
	lua_tap_free(lt);
	return NULL;
}

/* handle(data, info) (protected): its one result stays on the stack. */
static int
lt_call_protected(lua_State *L)
{
	struct lt_call	*c = lua_touserdata(L, 1);
	struct lua_tap	*lt;

	if (lua_getglobal(L, "handle") != LUA_TFUNCTION) {
		lua_getallocf(L, (void **)&lt);
		return luaL_error(L, "%s: handle is not a function any more",
		    lt->path);
	}
	lua_pushlstring(L, (const char *)c->data, c->len);
	lt_push_info(L, c->info, c->dir);
	lua_call(L, 2, 1);
	return 1;
}

/* info: who the session is, as strings a script can print. */
static void
lt_push_info(lua_State *L, const struct tap_info *ti, const char *dir)
{
	char	addr[SL_ADDRSTRLEN];

	lua_createtable(L, 0, 7);
	lua_pushstring(L, dir);
	lua_setfield(L, -2, "direction");
	if (ti == NULL)
		return;
	lua_pushinteger(L, (lua_Integer)ti->session);
	lua_setfield(L, -2, "session");
	if (ti->listener != NULL) {
		lua_pushstring(L, ti->listener);
		lua_setfield(L, -2, "listener");
	}
	if (ti->proto != NULL) {
		lua_pushstring(L, ti->proto);
		lua_setfield(L, -2, "proto");
	}
	if (ti->client != NULL) {
		lua_pushstring(L, sockaddr_fmt(ti->client, addr,
		    sizeof(addr)));
		lua_setfield(L, -2, "client");
	}
	if (ti->local != NULL) {
		lua_pushstring(L, sockaddr_fmt(ti->local, addr,
		    sizeof(addr)));
		lua_setfield(L, -2, "local");
	}
	if (ti->target != NULL) {
		lua_pushstring(L, ti->target);
		lua_setfield(L, -2, "target");
	}
}

int
lua_tap_call(struct lua_tap *lt, const uint8_t *data, size_t len,
    const struct tap_info *info, const char *dir, size_t max,
    const uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	lua_State	*L = lt->L;
	struct lt_call	 c = { data, len, info, dir };
	const char	*s;
	size_t		 n, cap;
	uint8_t		*p;
	int		 type;

	lua_settop(L, 0);
	lua_pushcfunction(L, lt_call_protected);
	lua_pushlightuserdata(L, &c);
	if (lt_run(lt, 1, 1, why, whylen) != LUA_OK)
		return -1;
	type = lua_type(L, -1);
	if (type == LUA_TNIL || (type == LUA_TBOOLEAN &&
	    !lua_toboolean(L, -1))) {
		lua_settop(L, 0);
		return 0;
	}
	if (type != LUA_TSTRING) {
		snprintf(why, whylen, "%s: handle returned a %s", lt->path,
		    lua_typename(L, type));
		lua_settop(L, 0);
		return -1;
	}
	s = lua_tolstring(L, -1, &n);
	if (n > max) {
		snprintf(why, whylen, "%s: result of %zu bytes over the limit "
		    "of %zu", lt->path, n, max);
		lua_settop(L, 0);
		return -1;
	}
	if (n > lt->outcap) {
		cap = lt->outcap < 4096 ? 4096 : lt->outcap;
		while (cap < n)
			cap = cap > max / 2 ? max : cap * 2;
		if ((p = realloc(lt->out, cap)) == NULL) {
			snprintf(why, whylen, "%s: result of %zu bytes: out of "
			    "memory", lt->path, n);
			lua_settop(L, 0);
			return -1;
		}
		lt->out = p;
		lt->outcap = cap;
	}
	if (n > 0)
		memcpy(lt->out, s, n);
	lua_settop(L, 0);
	*out = n > 0 ? lt->out : (const uint8_t *)"";
	*outlen = n;
	return 1;
}

void
lua_tap_free(struct lua_tap *lt)
{
	if (lt == NULL)
		return;
	/* No finalizer can exist (lt_setmetatable), so this cannot spin. */
	if (lt->L != NULL)
		lua_close(lt->L);
	free(lt->out);
	free(lt->path);
	free(lt);
}

/* print(...): one info line "path: a\tb", escaped, at most
 * LT_PRINT_MAX bytes of it. */
static int
lt_print(lua_State *L)
{
	char		 line[LT_PRINT_MAX * SL_SANITIZE_GROWTH + 4];
	luaL_Buffer	 b;
	const char	*s;
	size_t		 len;
	int		 i, n = lua_gettop(L);

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	mem_sanitize(line, sizeof(line), s, len > LT_PRINT_MAX ?
	    LT_PRINT_MAX : len);
	log_info("%s: %s%s", lua_tostring(L, lua_upvalueindex(1)), line,
	    len > LT_PRINT_MAX ? "..." : "");
	return 0;
}

/*
 * setmetatable without __gc: finalizers run with hooks off, outside
 * the instruction budget (and at lua_close), so one with a loop would
 * hang the worker.
 */
static int
lt_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc is not "
			    "allowed in a tap");
		lua_pop(L, 1);
	}
	return lt_original(L);
}

/* math.randomseed() with no seed reads the clock: the sandbox has none. */
static int
lt_randomseed(lua_State *L)
{
	if (lua_isnone(L, 1))
		return luaL_error(L, "math.randomseed needs a seed in a tap "
		    "(there is no clock in the sandbox)");
	return lt_original(L);
}

/* Call the wrapped original with the arguments as they are. */
static int
lt_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * xpcall(f, msgh, ...): Lua calls msgh where the error is raised, and
 * the instruction budget raises its error in a hook, where hooks are
 * off: a looping msgh would run unmetered.  Here msgh runs after the
 * unwinding, metered (debug.traceback, which needs the error's stack,
 * does not exist in a tap anyway).
 */
static int
lt_xpcall(lua_State *L)
{
	int	 n = lua_gettop(L);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 1);
	lua_insert(L, 3);			/* f msgh f args */
	if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
		lua_pushboolean(L, 1);
		lua_replace(L, 2);		/* f true results */
		return lua_gettop(L) - 1;
	}
	lua_pushvalue(L, 2);
	lua_insert(L, 3);			/* f msgh msgh err */
	lua_call(L, 1, 1);
	lua_pushboolean(L, 0);
	lua_replace(L, 2);			/* f false msgh(err) */
	return 2;
}

/* ("").rep(n) would loop n times in C, unmetered, to make "". */
static int
lt_rep(lua_State *L)
{
	size_t	 len = 0, seplen = 0;

	luaL_checklstring(L, 1, &len);
	luaL_optlstring(L, 3, "", &seplen);
	if (len == 0 && seplen == 0) {
		luaL_checkinteger(L, 2);
		lua_pushliteral(L, "");
		return 1;
	}
	return lt_original(L);
}

/*
 * table.move(a, f, e, t): the C loop is unmetered; no table in the
 * memory budget holds more elements than the budget has bytes, so a
 * longer move only moves nils (or calls metamethods: metered).
 */
static int
lt_move(lua_State *L)
{
	struct lua_tap	*lt;
	lua_Integer	 f = luaL_checkinteger(L, 2);
	lua_Integer	 e = luaL_checkinteger(L, 3);

	lua_getallocf(L, (void **)&lt);
	if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= lt->mem_max)
		return luaL_error(L, "table.move: more elements than the "
		    "memory budget of a tap holds");
	return lt_original(L);
}

