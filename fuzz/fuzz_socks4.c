/*
 * libFuzzer harness for the SOCKS4/4a request parser: every input, and
 * every prefix length the session could hand it while the request
 * arrives, must return -1, 0 or a length within the input, never read
 * past it (ASan), and never ask for more once S4_MAX_MSG bytes are in.
 * The reply builder is driven with what a parsed request names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/socks4_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks4_request	req;
	uint8_t			reply[S4_REPLY_LEN];
	size_t			k;
	int			rv, last = 0;

	for (k = 0; k <= size; k++) {
		rv = socks4_parse_request(data, k, &req);
		if (rv < -1 || rv > (int)k || rv > S4_MAX_MSG)
			abort();
		if (rv == 0 && k >= S4_MAX_MSG)
			abort();
		/* Once decided, more bytes never change the verdict. */
		if (last != 0 && rv != last)
			abort();
		last = rv;
		if (rv > 0) {
			if (req.is4a && (req.t.host[0] == '\0' ||
			    strlen(req.t.host) > S4_MAX_HOST))
				abort();
			(void)socks4_build_reply(reply, S4_REP_GRANTED,
			    req.is4a ? NULL :
			    (const struct sockaddr *)&req.t.addr);
		}
	}
	return 0;
}
