/*
 * Lua taps (worker/relay/tap_lua.c): transmitm's handle(data, info)
 * contract, results (string, nil/false, anything else), errors at load
 * with their line, errors and spent budgets at run time with the state
 * still usable afterwards, the libraries a script does not get, and
 * calls under the worker's seccomp filter.
 *
 * Scripts are written to a temporary directory made for the test case.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "worker/relay/taps.h"
#include "worker/relay/tap_lua.h"

#define INSN		100000
#define MEM		(4 * 1024 * 1024)
#define OUTMAX		4096

static char			dir[64];
static struct sockaddr_in	client_sin, local_sin;
static struct tap_info		info = {
	.session = 42,
	.listener = "listen0",
	.proto = "tcp",
	.client = (struct sockaddr *)&client_sin,
	.local = NULL,
	.target = "example.com:80",
};

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_tap_lua.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	client_sin.sin_family = AF_INET;
	client_sin.sin_port = htons(5555);
	client_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	local_sin.sin_family = AF_INET;
	local_sin.sin_port = htons(1080);
	local_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void
teardown(void)
{
	char		 path[512];
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* dir/name with body; the path is in a static buffer. */
static const char *
script(const char *name, const char *body)
{
	static char	 path[512];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(body, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static struct lua_tap *
load(const char *name, const char *body)
{
	struct lua_tap	*lt;
	char		 err[512];

	lt = lua_tap_load(script(name, body), INSN, MEM, err, sizeof(err));
	ck_assert_msg(lt != NULL, "%s: %s", name, err);
	return lt;
}

/* A load that must fail; err gets its message. */
static void
load_fails(const char *name, const char *body, char *err, size_t errlen)
{
	struct lua_tap	*lt;

	lt = lua_tap_load(script(name, body), INSN, MEM, err, errlen);
	ck_assert_msg(lt == NULL, "%s loaded", name);
}

/* handle(in) in direction "up": rc, and the result as a string. */
static int
call(struct lua_tap *lt, const char *in, char *res, size_t reslen,
    char *why, size_t whylen)
{
	const uint8_t	*out = NULL;
	size_t		 outlen = 0;
	int		 rc;

	why[0] = '\0';
	rc = lua_tap_call(lt, (const uint8_t *)in, strlen(in), &info, "up",
	    OUTMAX, &out, &outlen, why, whylen);
	res[0] = '\0';
	if (rc == 1) {
		ck_assert_uint_lt(outlen, reslen);
		memcpy(res, out, outlen);
		res[outlen] = '\0';
	}
	return rc;
}

/* The call succeeds with want. */
static void
call_ok(struct lua_tap *lt, const char *in, const char *want)
{
	char	res[OUTMAX + 1], why[512];

	ck_assert_msg(call(lt, in, res, sizeof(res), why, sizeof(why)) == 1,
	    "%s: %s", in, why);
	ck_assert_str_eq(res, want);
}

/* The call fails with a why containing want. */
static void
call_fails(struct lua_tap *lt, const char *in, const char *want)
{
	char	res[OUTMAX + 1], why[512];

	ck_assert_int_eq(call(lt, in, res, sizeof(res), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, want) != NULL, "why \"%s\" lacks \"%s\"",
	    why, want);
}

START_TEST(t_upper)
{
	struct lua_tap	*lt;
	const uint8_t	*out;
	size_t		 outlen;
	char		 why[256];

	lt = load("upper.lua", "function handle(data, info)\n"
	    "\treturn data:upper()\nend\n");
	call_ok(lt, "hello", "HELLO");
	call_ok(lt, "GET /api", "GET /API");
	/* Bytes, not C strings: a NUL passes through. */
	ck_assert_int_eq(lua_tap_call(lt, (const uint8_t *)"a\0b", 3, &info,
	    "down", OUTMAX, &out, &outlen, why, sizeof(why)), 1);
	ck_assert_uint_eq(outlen, 3);
	ck_assert_mem_eq(out, "A\0B", 3);
	lua_tap_free(lt);
}
END_TEST

START_TEST(t_identity)
{
	struct lua_tap	*lt;

	lt = load("id.lua", "function handle(data) return data end\n");
	call_ok(lt, "as is", "as is");
	call_ok(lt, "", "");
	lua_tap_free(lt);
}
END_TEST

/* nil and false drop; nothing else but a string passes. */
START_TEST(t_results)
{
	struct lua_tap	*lt;
	char		 res[64], why[256];

	lt = load("results.lua", "function handle(d)\n"
	    "\tif d == 'nil' then return nil end\n"
	    "\tif d == 'none' then return end\n"
	    "\tif d == 'false' then return false end\n"
	    "\tif d == 'true' then return true end\n"
	    "\tif d == 'number' then return 42 end\n"
	    "\tif d == 'table' then return {} end\n"
	    "\treturn d\nend\n");
	ck_assert_int_eq(call(lt, "nil", res, sizeof(res), why,
	    sizeof(why)), 0);
	ck_assert_int_eq(call(lt, "none", res, sizeof(res), why,
	    sizeof(why)), 0);
	ck_assert_int_eq(call(lt, "false", res, sizeof(res), why,
	    sizeof(why)), 0);
	call_fails(lt, "number", "handle returned a number");
	call_fails(lt, "true", "handle returned a boolean");
	call_fails(lt, "table", "handle returned a table");
	call_ok(lt, "after", "after");
	lua_tap_free(lt);
}
END_TEST

START_TEST(t_too_long)
{
	struct lua_tap	*lt;
	char		 want[OUTMAX + 1];

	lt = load("long.lua", "function handle(d) return d:rep(1024) end\n");
	call_fails(lt, "12345", "result of 5120 bytes over the limit");
	memset(want, 'x', OUTMAX);	/* exactly the limit passes */
	want[OUTMAX] = '\0';
	call_ok(lt, "xxxx", want);
	call_ok(lt, "x", want + OUTMAX - 1024);
	lua_tap_free(lt);
}
END_TEST

START_TEST(t_runtime_error)
{
	struct lua_tap	*lt;
	char		 want[600];

	lt = load("err.lua", "function handle(d)\n"
	    "\tif d == 'bad' then error('boom') end\n"
	    "\tif d == 'nil' then return d.x.y end\n"
	    "\tif d == 'tbl' then error({}) end\n"
	    "\treturn d\nend\n");
	snprintf(want, sizeof(want), "%s/err.lua:2: boom", dir);
	call_fails(lt, "bad", want);
	call_ok(lt, "fine", "fine");
	call_fails(lt, "nil", "err.lua:3: attempt to index a nil value");
	call_fails(lt, "tbl", "error object is a table value");
	call_ok(lt, "still", "still");
	lua_tap_free(lt);
}
END_TEST

/* An infinite loop, caught or not, ends at the budget. */
START_TEST(t_budget)
{
	struct lua_tap	*lt;

	lt = load("spin.lua", "function handle(d)\n"
	    "\tif d == 'spin' then while true do end end\n"
	    "\tif d == 'catch' then\n"
	    "\t\twhile true do pcall(function() while true do end end) end\n"
	    "\tend\n"
	    "\tif d == 'xpcall' then\n"
	    "\t\twhile true do xpcall(function() while true do end end,\n"
	    "\t\t    function() while true do end end) end\n"
	    "\tend\n"
	    "\tif d == 'rep' then return ('').rep('', 1e15) .. 'r' end\n"
	    "\tif d == 'move' then table.move({}, 1, 1e15, 1, {}) end\n"
	    "\tif d == 'xpok' then return select(2, xpcall(function(a)\n"
	    "\t\terror(a, 0) end, function(m) return m .. '!' end, d))\n"
	    "\tend\n"
	    "\tif d == 'deep' then\n"
	    "\t\tlocal function f(n) return f(n + 1) + 1 end\n"
	    "\t\treturn f(1)\n"
	    "\tend\n"
	    "\treturn d\nend\n");
	call_fails(lt, "spin", "instruction budget of 100000 spent");
	call_ok(lt, "next", "next");
	call_fails(lt, "catch", "instruction budget of 100000 spent");
	call_ok(lt, "again", "again");
	/* xpcall's handler would run with hooks off: not any more. */
	call_fails(lt, "xpcall", "instruction budget of 100000 spent");
	call_ok(lt, "xpok", "xpok!");
	/* Loops in C the hook cannot see, bounded. */
	call_ok(lt, "rep", "r");
	call_fails(lt, "move", "table.move: more elements");
	/* Unbounded recursion: a stack overflow or the budget, not a crash. */
	call_fails(lt, "deep", "");
	call_ok(lt, "last", "last");
	lua_tap_free(lt);
}
END_TEST

/* The budget is per call: many short calls add up to nothing. */
START_TEST(t_budget_per_call)
{
	struct lua_tap	*lt;
	int		 i;

	lt = load("busy.lua", "function handle(d)\n"
	    "\tlocal n = 0\n"
	    "\tfor i = 1, 10000 do n = n + i end\n"
	    "\treturn d\nend\n");
	for (i = 0; i < 100; i++)
		call_ok(lt, "x", "x");
	lua_tap_free(lt);
}
END_TEST

START_TEST(t_memory)
{
	struct lua_tap	*lt;
	char		 want[128];

	lt = load("bomb.lua", "local function bomb()\n"
	    "\tlocal t = {} while true do t[#t+1] = ('x'):rep(1e6) end\n"
	    "end\n"
	    "function handle(d)\n"
	    "\tif d == 'bomb' then bomb() end\n"
	    "\tif d == 'rethrow' then\n"
	    "\t\tlocal ok, e = pcall(bomb) error(e, 0)\n"
	    "\tend\n"
	    "\tif d == 'big' then return ('y'):rep(64 * 1024 * 1024) end\n"
	    "\treturn d\nend\n");
	snprintf(want, sizeof(want), "memory budget of %d bytes spent", MEM);
	call_fails(lt, "bomb", want);
	call_ok(lt, "next", "next");
	call_fails(lt, "bomb", want);	/* the first bomb was collected */
	call_fails(lt, "rethrow", want);
	call_fails(lt, "big", want);
	call_ok(lt, "again", "again");
	lua_tap_free(lt);
}
END_TEST

/* What a tap does not get: files, processes, modules, loaders, debug. */
START_TEST(t_absent)
{
	struct lua_tap	*lt;

	lt = load("absent.lua", "function handle(d)\n"
	    "\tlocal present = {}\n"
	    "\tfor _, n in ipairs({ 'io', 'os', 'require', 'load',\n"
	    "\t    'loadfile', 'dofile', 'loadstring', 'package', 'debug',\n"
	    "\t    'coroutine', 'warn' }) do\n"
	    "\t\tif _G[n] ~= nil then present[#present + 1] = n end\n"
	    "\tend\n"
	    "\treturn table.concat(present, ',')\nend\n");
	call_ok(lt, "", "");
	lua_tap_free(lt);
	lt = load("present.lua", "function handle(d)\n"
	    "\treturn type(string.upper) .. type(table.concat) ..\n"
	    "\t    type(math.floor) .. type(utf8.char) .. type(pcall) ..\n"
	    "\t    type(setmetatable) .. type(tostring) .. type(print)\n"
	    "end\n");
	call_ok(lt, "", "functionfunctionfunctionfunctionfunctionfunction"
	    "functionfunction");
	lua_tap_free(lt);
	lt = load("use.lua", "function handle(d)\n"
	    "\tif d == 'io' then return io.open('/etc/passwd'):read('a') end\n"
	    "\tif d == 'req' then return require('os') end\n"
	    "\treturn d\nend\n");
	call_fails(lt, "io", "attempt to index a nil value (global 'io')");
	call_fails(lt, "req", "attempt to call a nil value (global "
	    "'require')");
	lua_tap_free(lt);
}
END_TEST

/* Finalizers would run outside the budget: refused. */
START_TEST(t_no_gc_metamethod)
{
	struct lua_tap	*lt;

	lt = load("gc.lua", "function handle(d)\n"
	    "\tif d == 'gc' then\n"
	    "\t\tsetmetatable({}, { __gc = function() while true do end"
	    " end })\n"
	    "\tend\n"
	    "\tlocal t = setmetatable({}, { __index = function(_, k)"
	    " return k end })\n"
	    "\treturn t[d]\nend\n");
	call_fails(lt, "gc", "__gc is not allowed");
	call_ok(lt, "meta", "meta");
	lua_tap_free(lt);
}
END_TEST

/* math.randomseed() would read the clock; with a seed it works. */
START_TEST(t_randomseed)
{
	struct lua_tap	*lt;

	lt = load("seed.lua", "function handle(d)\n"
	    "\tif d == 'clock' then math.randomseed() end\n"
	    "\tmath.randomseed(7)\n"
	    "\tlocal a = math.random(1000)\n"
	    "\tmath.randomseed(7)\n"
	    "\treturn tostring(a == math.random(1000))\nend\n");
	call_fails(lt, "clock", "math.randomseed needs a seed");
	call_ok(lt, "seed", "true");
	lua_tap_free(lt);
}
END_TEST

/* info: who the session is, built per call. */
START_TEST(t_info)
{
	struct lua_tap	*lt;
	const uint8_t	*out;
	size_t		 outlen;
	char		 why[256];

	lt = load("info.lua", "function handle(data, info)\n"
	    "\treturn info.client .. info.direction\nend\n");
	call_ok(lt, "", "127.0.0.1:5555up");
	lua_tap_free(lt);
	lt = load("info2.lua", "function handle(data, info)\n"
	    "\treturn string.format('%s|%d|%s|%s|%s|%s|%s',\n"
	    "\t    math.type(info.session), info.session, info.listener,\n"
	    "\t    info.proto, info.target, tostring(info['local']),\n"
	    "\t    info.direction)\nend\n");
	call_ok(lt, "", "integer|42|listen0|tcp|example.com:80|nil|up");
	info.local = (struct sockaddr *)&local_sin;
	ck_assert_int_eq(lua_tap_call(lt, (const uint8_t *)"", 0, &info,
	    "down", OUTMAX, &out, &outlen, why, sizeof(why)), 1);
	info.local = NULL;
	ck_assert_mem_eq(out, "integer|42|listen0|tcp|example.com:80|"
	    "127.0.0.1:1080|down", outlen);
	lua_tap_free(lt);
}
END_TEST

START_TEST(t_load_syntax)
{
	char	err[512], want[600];

	load_fails("syntax.lua", "function handle(d)\n"
	    "\tlocal x = d +\nend\n", err, sizeof(err));
	snprintf(want, sizeof(want), "%s/syntax.lua:3:", dir);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

START_TEST(t_load_error)
{
	char	err[512], want[600];

	load_fails("top.lua", "function handle(d) return d end\n"
	    "error('not today')\n", err, sizeof(err));
	snprintf(want, sizeof(want), "%s/top.lua:2: not today", dir);
	ck_assert_str_eq(err, want);
	load_fails("topspin.lua", "while true do end\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "instruction budget of 100000 spent") !=
	    NULL, "%s", err);
	load_fails("topbomb.lua", "local t = {} while true do"
	    " t[#t+1] = ('x'):rep(1e6) end\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "memory budget") != NULL, "%s", err);
}
END_TEST

START_TEST(t_load_no_handle)
{
	char	err[512];

	load_fails("none.lua", "function hndle(d) return d end\n", err,
	    sizeof(err));
	ck_assert_msg(strstr(err, "none.lua: defines no function handle") !=
	    NULL, "%s", err);
	load_fails("num.lua", "handle = 5\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "defines no function handle") != NULL,
	    "%s", err);
	load_fails("empty.lua", "", err, sizeof(err));
	ck_assert_msg(strstr(err, "defines no function handle") != NULL,
	    "%s", err);
}
END_TEST

static int
dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	return fwrite(p, 1, sz, ud) == sz ? 0 : 1;
}

START_TEST(t_load_files)
{
	struct lua_tap	*lt;
	lua_State	*L;
	char		 err[512], path[512];
	FILE		*f;

	lt = lua_tap_load("/nonexistent/x.lua", INSN, MEM, err, sizeof(err));
	ck_assert_ptr_null(lt);
	ck_assert_str_eq(err, "/nonexistent/x.lua: No such file or directory");
	ck_assert_ptr_null(lua_tap_load(dir, INSN, MEM, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	/* A state too small for the libraries. */
	ck_assert_ptr_null(lua_tap_load(script("small.lua", "function "
	    "handle(d) return d end\n"), INSN, 2048, err, sizeof(err)));
	ck_assert_msg(strstr(err, "memory budget") != NULL, "%s", err);
	/* Bytecode is refused: a crafted one can crash the VM. */
	snprintf(path, sizeof(path), "%s/bytecode.lua", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_ptr_nonnull(L = luaL_newstate());
	ck_assert_int_eq(luaL_loadstring(L, "function handle(d) return d "
	    "end"), LUA_OK);
	ck_assert_int_eq(lua_dump(L, dump_writer, f, 0), 0);
	lua_close(L);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(lua_tap_load(path, INSN, MEM, err, sizeof(err)));
	ck_assert_msg(strstr(err, "attempt to load a binary chunk") != NULL,
	    "%s", err);
}
END_TEST

/* A "#!" line is skipped and line numbers stay right. */
START_TEST(t_shebang)
{
	struct lua_tap	*lt;
	char		 err[512];

	lt = load("bang.lua", "#!/usr/bin/env lua\n"
	    "function handle(d) return d end\n");
	call_ok(lt, "ok", "ok");
	lua_tap_free(lt);
	load_fails("bang2.lua", "#!/usr/bin/env lua\n\nerror('three')\n",
	    err, sizeof(err));
	ck_assert_msg(strstr(err, "bang2.lua:3: three") != NULL, "%s", err);
}
END_TEST

static char	logged[2048];

static void
capture(int level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(logged, sizeof(logged), "%s", line);
}

/* print logs one escaped line. */
START_TEST(t_print)
{
	struct lua_tap	*lt;
	char		 want[1024];

	log_init("test", SL_LOG_INFO);
	log_set_sink(capture, NULL);
	lt = load("print.lua", "function handle(d)\n"
	    "\tprint('a\\nb', 1, nil, d)\n"
	    "\treturn d\nend\n");
	call_ok(lt, "z\001", "z\001");
	snprintf(want, sizeof(want), "%s/print.lua: a\\x0ab\\x091\\x09nil"
	    "\\x09z\\x01", dir);
	ck_assert_str_eq(logged, want);
	lua_tap_free(lt);
	log_set_sink(NULL, NULL);
}
END_TEST

/*
 * After load, calls need nothing the worker's filter (the strictest
 * one: no splice, bind or SOCKS) forbids: results, errors, both budgets,
 * the string, table, math and utf8 functions, a full GC.  In a
 * grandchild, which the filter kills on a violation.
 */
static int
sandboxed_calls(void)
{
	struct lua_tap	*lt;
	struct sandbox_opts opts;
	const uint8_t	*out;
	size_t		 outlen;
	char		 err[512];
	int		 rc;

	lt = lua_tap_load(script("sb.lua", "function handle(d)\n"
	    "\tif d == 'spin' then while true do end end\n"
	    "\tif d == 'bomb' then local t = {}\n"
	    "\t\twhile true do t[#t+1] = ('x'):rep(1e6) end end\n"
	    "\tif d == 'err' then error('e') end\n"
	    "\tif d == 'nil' then return nil end\n"
	    "\tcollectgarbage()\n"
	    "\tmath.randomseed(3)\n"
	    "\tlocal s = string.format('%5.2f %q %s %d', math.pi, d, {},\n"
	    "\t    math.random(9)) .. utf8.char(228, 8364) ..\n"
	    "\t    table.concat({ d:byte(1, -1) }, ',') .. tostring(1.5)\n"
	    "\treturn (s:gsub('%d', function(x) return x end)):upper()\n"
	    "end\n"), INSN, MEM, err, sizeof(err));
	if (lt == NULL)
		return 2;
	memset(&opts, 0, sizeof(opts));
	sandbox_worker(&opts);
	if (lua_tap_call(lt, (const uint8_t *)"ab", 2, &info, "up", OUTMAX,
	    &out, &outlen, err, sizeof(err)) != 1 || outlen == 0)
		return 3;
	if (lua_tap_call(lt, (const uint8_t *)"spin", 4, &info, "up", OUTMAX,
	    &out, &outlen, err, sizeof(err)) != -1)
		return 4;
	if (lua_tap_call(lt, (const uint8_t *)"bomb", 4, &info, "up", OUTMAX,
	    &out, &outlen, err, sizeof(err)) != -1)
		return 5;
	if (lua_tap_call(lt, (const uint8_t *)"err", 3, &info, "up", OUTMAX,
	    &out, &outlen, err, sizeof(err)) != -1)
		return 6;
	if (lua_tap_call(lt, (const uint8_t *)"nil", 3, &info, "up", OUTMAX,
	    &out, &outlen, err, sizeof(err)) != 0)
		return 7;
	rc = lua_tap_call(lt, (const uint8_t *)"end", 3, &info, "down",
	    OUTMAX, &out, &outlen, err, sizeof(err));
	lua_tap_free(lt);
	return rc == 1 ? 0 : 8;
}

START_TEST(t_sandbox)
{
	pid_t	pid;
	int	st;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(sandboxed_calls());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		ck_abort_msg("killed by signal %d%s", WTERMSIG(st),
		    WTERMSIG(st) == SIGSYS ? " (sandbox violation)" : "");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "failed at step %d", WEXITSTATUS(st));
}
END_TEST

static Suite *
tap_lua_suite(void)
{
	Suite	*s = suite_create("tap_lua");
	TCase	*tc = tcase_create("tap_lua");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_upper);
	tcase_add_test(tc, t_identity);
	tcase_add_test(tc, t_results);
	tcase_add_test(tc, t_too_long);
	tcase_add_test(tc, t_runtime_error);
	tcase_add_test(tc, t_budget);
	tcase_add_test(tc, t_budget_per_call);
	tcase_add_test(tc, t_memory);
	tcase_add_test(tc, t_absent);
	tcase_add_test(tc, t_no_gc_metamethod);
	tcase_add_test(tc, t_randomseed);
	tcase_add_test(tc, t_info);
	tcase_add_test(tc, t_load_syntax);
	tcase_add_test(tc, t_load_error);
	tcase_add_test(tc, t_load_no_handle);
	tcase_add_test(tc, t_load_files);
	tcase_add_test(tc, t_shebang);
	tcase_add_test(tc, t_print);
	tcase_add_test(tc, t_sandbox);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nf;

	/* Once, before any fork: the filter then needs no more of it. */
	sandbox_sanitizer_warmup();
	sr = srunner_create(tap_lua_suite());
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
