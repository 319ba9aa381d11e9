/*
 * libFuzzer harness for worker/proto/http_wire.c: the head scanner fed
 * in two pieces, the request line, the whole head, the rewrite for the
 * origin, and the Basic credentials and base64 decoders.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_http.c worker/proto/http_wire.c -o fuzz_http
 *   ./fuzz_http -max_total_time=20
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/http_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_head(const uint8_t *data, size_t size)
{
	struct http_request	 req;
	struct http_scan	 sc;
	uint8_t			*out;
	size_t			 cap;
	int			 n, st = 0;

	/* Two reads: the scan state must carry over. */
	memset(&sc, 0, sizeof(sc));
	n = http_scan_head(&sc, data, size / 2, &st);
	if (n == 0)
		n = http_scan_head(&sc, data, size, &st);
	if (n < 0 && st != 414 && st != 431)
		abort();
	if (sc.line_len > 0 && sc.line_len <= size)
		(void)http_parse_line(data, sc.line_len, &req);
	if (n <= 0)
		return;
	if (http_parse_head(data, (size_t)n, &req) != 0) {
		if (req.why == NULL)
			abort();
		return;
	}
	if (req.host[0] == '\0' || req.port == 0 ||
	    req.nheaders > HTTP_MAX_HEADERS)
		abort();
	if (req.form != HTTP_FORM_ABSOLUTE)
		return;
	cap = (size_t)n + HTTP_REWRITE_SLACK;
	if ((out = malloc(cap)) == NULL)
		return;
	if (http_build_origin_request(&req, out, cap) <= 0)
		abort();	/* the documented bound must hold */
	free(out);
}

static void
check_creds(const uint8_t *data, size_t size)
{
	uint8_t		 out[2 * HTTP_MAX_CRED + 2], small[8];
	const uint8_t	*pass;
	size_t		 ulen, plen;
	int		 n;

	n = http_basic_credentials((const char *)data, size, out, &ulen,
	    &pass, &plen);
	if (n == 1 && (ulen > HTTP_MAX_CRED || plen > HTTP_MAX_CRED ||
	    pass != out + ulen + 1))
		abort();
	n = http_base64_decode((const char *)data, size, small,
	    sizeof(small));
	if (n > (int)sizeof(small))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*copy;

	/* An exact-size copy: ASan sees any read past the end. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	check_head(copy, size);
	check_creds(copy, size);
	free(copy);
	return 0;
}
