/*
 * libFuzzer harness for worker/proto/host_wire.c: the request fed whole,
 * then in two pieces split where the first input byte says.  The verdict
 * must not depend on the split, and every verdict must keep its promises
 * (a lower-case name without a trailing dot, a status from the list, a
 * head inside the buffer and the cap).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_host.c worker/proto/host_wire.c \
 *       worker/proto/http_wire.c -o fuzz_host
 *   ./fuzz_host -max_total_time=20
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/host_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_verdict(enum host_rc rc, const struct host_req *r, size_t len)
{
	size_t	i;

	switch (rc) {
	case HOST_MORE:
		if (len >= HTTP_MAX_HEAD)
			abort();	/* the cap must end the wait */
		break;
	case HOST_BAD:
		if (r->why == NULL || (r->status != 400 && r->status != 414 &&
		    r->status != 431 && r->status != 505))
			abort();
		break;
	case HOST_NONE:
	case HOST_OK:
		if (r->head_len == 0 || r->head_len > len ||
		    r->head_len > HTTP_MAX_HEAD || (r->minor < 0 ||
		    r->minor > 9))
			abort();
		if ((rc == HOST_NONE) != (r->host[0] == '\0'))
			abort();
		for (i = 0; r->host[i] != '\0'; i++)
			if (r->host[i] >= 'A' && r->host[i] <= 'Z')
				abort();
		if (i > 253 || (i > 0 && r->host[i - 1] == '.'))
			abort();
		break;
	default:
		abort();
	}
}

static int
same(enum host_rc a, const struct host_req *ra, enum host_rc b,
    const struct host_req *rb)
{
	if (a != b)
		return 0;
	if (a == HOST_BAD)
		return ra->status == rb->status;
	if (a == HOST_MORE)
		return 1;
	return strcmp(ra->host, rb->host) == 0 && ra->port == rb->port &&
	    ra->head_len == rb->head_len && ra->minor == rb->minor;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_req	 whole, split;
	enum host_rc	 rw, rs;
	uint8_t		*copy;
	size_t		 at;

	/* An exact-size copy: ASan sees any read past the end. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(&whole, 0, sizeof(whole));
	rw = host_parse(&whole, copy, size);
	check_verdict(rw, &whole, size);

	at = size > 0 ? (size_t)data[0] * size / 256 : 0;
	memset(&split, 0, sizeof(split));
	rs = host_parse(&split, copy, at);
	check_verdict(rs, &split, at);
	if (rs == HOST_MORE) {
		rs = host_parse(&split, copy, size);
		check_verdict(rs, &split, size);
	}
	if (!same(rw, &whole, rs, &split))
		abort();
	free(copy);
	return 0;
}
