/*
 * libFuzzer harness for the configuration loader: the input is handed
 * to conf_parse() as JSON text, in a buffer with no NUL after it (the
 * loader is given a length and must not read past it), and whatever it
 * returns is freed, so LeakSanitizer sees every path that forgets an
 * allocation.  A failure must leave an error message; a success is
 * parsed a second time to check the loader keeps no state between calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"

/*
 * Larger documents only make each run slower: every key's code path is
 * reachable in far fewer bytes.  sluiced itself accepts up to
 * SL_MAX_CONF_BYTES.
 */
#define FUZZ_MAX_CONF	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_conf	*conf = NULL, *again = NULL;
	char		 err[512], err2[512];
	char		*text;
	size_t		 i;

	if (size > FUZZ_MAX_CONF)
		return 0;
	/* malloc(0) may return NULL; keep a valid pointer for len 0. */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(text, data, size);
	memset(err, 'x', sizeof(err));
	if (conf_parse(text, size, &conf, err, sizeof(err)) == -1) {
		if (conf != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
		    err[0] == '\0')
			abort();
		free(text);
		return 0;
	}
	if (conf == NULL)
		abort();
	/* Touch what the rest of sluiced reads first. */
	if (conf->nlisteners > SL_MAX_LISTENERS)
		abort();
	for (i = 0; i < conf->nlisteners; i++)
		if (conf_listener_find(conf, conf->listeners[i].name) < 0)
			abort();
	(void)conf_strategy_name(conf->strategy);
	if (conf_parse(text, size, &again, err2, sizeof(err2)) != 0 ||
	    again == NULL || again->nlinks != conf->nlinks ||
	    again->nlisteners != conf->nlisteners ||
	    again->ntenants != conf->ntenants)
		abort();
	/* A tenant's children parse its text: they must get its config. */
	for (i = 0; i < conf->ntenants; i++) {
		struct sl_conf	*t = NULL;

		if (conf->tenants[i].conf == NULL ||
		    conf->tenants[i].len != strlen(conf->tenants[i].text) ||
		    conf_parse(conf->tenants[i].text, conf->tenants[i].len,
		    &t, err2, sizeof(err2)) != 0 || t == NULL ||
		    t->ntenants != 0 ||
		    t->nlisteners != conf->tenants[i].conf->nlisteners ||
		    t->nlinks != conf->tenants[i].conf->nlinks ||
		    t->user_id != conf->tenants[i].conf->user_id ||
		    strcmp(t->user, conf->tenants[i].conf->user) != 0)
			abort();
		conf_free(t);
	}
	conf_free(again);
	conf_free(conf);
	free(text);
	return 0;
}
