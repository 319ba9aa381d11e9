/*
 * TOML to JSON (toml_json.cc), the only C++ in sluice: Debian has no C
 * TOML parser, and a hand-written one would be one more parser to get
 * wrong.  The result is generic: it knows nothing of sluice or
 * tcprouter (config_tcprouter.c gives it meaning).
 */
#ifndef SL_TOML_JSON_H
#define SL_TOML_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Nesting (tables, arrays) deeper than this is refused. */
#define SL_TOML_MAX_DEPTH	32

/*
 * The TOML document text[0..len) as JSON text: tables become objects,
 * arrays arrays, strings, integers, floats and booleans themselves,
 * dates and times strings in their TOML form ("1979-05-27T07:32:00Z"),
 * and nan and the infinities, which JSON lacks, the strings "nan",
 * "inf" and "-inf".  Returns a malloc'd NUL-terminated string, or NULL
 * with err holding "router.toml line L column C: problem" (or
 * "router.toml: problem" without a position).  Never throws.
 */
char	*toml_to_json(const char *text, size_t len, char *err,
	    size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
