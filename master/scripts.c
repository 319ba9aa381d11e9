/*
 * Lua tap scripts checked by the master (scripts.h).
 *
 * The master names no worker function, on principle: what runs in the
 * sandbox stays the worker's.  This file is the one exception.  Whether
 * a script compiles, runs its top level and defines handle is only
 * known by loading it the way the worker will, with the same libraries
 * and budgets; a second loader here would be a check that can disagree
 * with the worker.  The risk is small: the script's top level runs with
 * no io, os or package, under both budgets, and its state is closed at
 * once.  print() logs from the master.
 */
#include <stddef.h>
#include <stdio.h>

#include "../policy/config.h"
#include "../worker/relay/tap_lua.h"
#include "scripts.h"

struct scripts_ctx {
	char	*err;
	size_t	 errlen;
};

static int
scripts_chain(struct sl_tap *t, size_t n, const char *path, void *arg)
{
	struct scripts_ctx	*x = arg;
	struct lua_tap		*lt;
	char			 why[512];
	size_t			 j;

	for (j = 0; j < n; j++) {
		if (t[j].type != SL_TAP_LUA)
			continue;
		lt = lua_tap_load(t[j].script, t[j].max_instructions,
		    t[j].max_memory, why, sizeof(why));
		if (lt == NULL) {
			snprintf(x->err, x->errlen, "%s[%zu].script: %s", path,
			    j, why);
			return -1;
		}
		lua_tap_free(lt);
	}
	return 0;
}

int
scripts_check(const struct sl_conf *conf, char *err, size_t errlen)
{
	struct scripts_ctx	x = { err, errlen };

	return conf_each_taps(conf, scripts_chain, &x);
}
