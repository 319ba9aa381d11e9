/*
 * libFuzzer harness for the control socket's requests (master/
 * ctl_req.c): any body is a request with a known command and only its
 * own argument names, a request refused with a reason, or no request at
 * all; every string argument then goes through the session-id parser,
 * as `kill` and `sessions --cursor` would.
 *
 *   see fuzz/meson.build; ./fuzz_ctl corpus/ctl
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/ctl_req.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
ids(const cJSON *v)
{
	const cJSON	*it;
	uint32_t	 g, w;
	uint64_t	 n;

	if (cJSON_IsString(v)) {
		if (ctl_parse_id(v->valuestring, &g, &w, &n) == 0 && n == 0)
			abort();
		return;
	}
	cJSON_ArrayForEach(it, v)
		ids(it);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON		*req;
	const cJSON	*args, *it;
	const char	*cmd;
	char		 why[160], *s;
	int		 fatal;

	why[0] = '\0';
	if (ctl_req_parse((const char *)data, size, &req, &cmd, &args, why,
	    sizeof(why), &fatal) == -1) {
		if (req != NULL || why[0] == '\0')
			abort();
	} else {
		if (req == NULL || cmd == NULL)
			abort();
		cJSON_ArrayForEach(it, args)
			ids(it);
		cJSON_Delete(req);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	{
		uint32_t	g, w;
		uint64_t	n;

		if (ctl_parse_id(s, &g, &w, &n) == 0 && n == 0)
			abort();
	}
	free(s);
	return 0;
}
