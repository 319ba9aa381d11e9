/*
 * The master checks every Lua tap script of a config before it starts
 * a worker (and with -t): a script that does not compile refuses the
 * config with its JSON path and the script's own error and line.
 */
#ifndef SL_SCRIPTS_H
#define SL_SCRIPTS_H

#include <stddef.h>

struct sl_conf;

/* 0, or -1 with err ("listeners[0].taps[1].script: path:3: ..."). */
int	scripts_check(const struct sl_conf *, char *err, size_t errlen);

#endif
