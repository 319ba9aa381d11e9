/*
 * libFuzzer harness for tcprouter's router.toml (policy/toml_json.cc,
 * policy/config_tcprouter.c): the input goes to conf_parse_toml() with
 * no NUL after it.  A failure must leave an error message and no
 * config; a success must give a config and the JSON it was read from,
 * and that JSON must load again through conf_parse() alone.  toml++
 * 3.3.0's own assertions are turned into errors by toml_json.cc, so an
 * abort here is a real finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"

#define FUZZ_MAX_TOML	(16 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_conf	*conf = NULL, *again = NULL;
	char		 err[512];
	char		*text, *json = NULL;

	if (size > FUZZ_MAX_TOML)
		return 0;
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(text, data, size);
	memset(err, 'x', sizeof(err));
	if (conf_parse_toml(text, size, &conf, &json, err, sizeof(err)) == -1) {
		if (conf != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
		    err[0] == '\0')
			abort();
		free(text);
		return 0;
	}
	if (conf == NULL || json == NULL)
		abort();
	if (conf_parse(json, strlen(json), &again, err, sizeof(err)) != 0)
		abort();
	conf_free(again);
	conf_free(conf);
	free(json);
	free(text);
	return 0;
}
