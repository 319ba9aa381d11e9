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

int
scripts_check(const struct sl_conf *conf, char *err, size_t errlen)
{
	const struct sl_listener	*l;
	const struct sl_tap		*t;
	struct lua_tap			*lt;
	char				 why[512];
	size_t				 i, j;

	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		for (j = 0; j < l->ntaps; j++) {
			t = &l->taps[j];
			if (t->type != SL_TAP_LUA)
				continue;
			lt = lua_tap_load(t->script, t->max_instructions,
			    t->max_memory, why, sizeof(why));
			if (lt == NULL) {
				snprintf(err, errlen,
				    "listeners[%zu].taps[%zu].script: %s",
				    i, j, why);
				return -1;
			}
			lua_tap_free(lt);
		}
	}
	return 0;
}
