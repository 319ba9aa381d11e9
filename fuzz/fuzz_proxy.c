/*
 * libFuzzer harness for worker/proto/proxy_wire.c: parse, and for a
 * header with addresses, build it again from what was parsed (same
 * version) and parse that: the same addresses must come back.  Every
 * prefix of an accepted header must ask for more.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_proxy.c worker/proto/proxy_wire.c -o fuzz_proxy
 *   ./fuzz_proxy -max_total_time=20
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/proxy_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The address as 16 bytes (IPv4 mapped) and the port. */
static void
norm(const struct sockaddr_storage *ss, socklen_t len, uint8_t a[16],
    uint16_t *port)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		if (len != sizeof(sin))
			abort();
		memcpy(&sin, ss, sizeof(sin));
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &sin.sin_addr, 4);
		*port = sin.sin_port;
	} else if (ss->ss_family == AF_INET6) {
		if (len != sizeof(sin6))
			abort();
		memcpy(&sin6, ss, sizeof(sin6));
		memcpy(a, &sin6.sin6_addr, 16);
		*port = sin6.sin6_port;
	} else
		abort();
}

static void
same(const struct sockaddr_storage *x, socklen_t xl,
    const struct sockaddr_storage *y, socklen_t yl)
{
	uint8_t		ax[16], ay[16];
	uint16_t	px, py;

	norm(x, xl, ax, &px);
	norm(y, yl, ay, &py);
	if (memcmp(ax, ay, 16) != 0 || px != py)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h, h2;
	uint8_t			*copy, out[PROXY_BUILD_MAX];
	const char		*why;
	long			 n, m;
	size_t			 blen;

	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	n = proxy_parse(copy, size, &h, &why);
	if (n < -1 || n > (long)size || (n == -1) != (why != NULL))
		abort();
	if (n > 0 && ((h.version == 1 && n > PROXY_V1_MAX) ||
	    n > PROXY_V2_MAX || (h.version != 1 && h.version != 2)))
		abort();
	/* A shorter buffer never turns an accepted header into another. */
	if (n > 0 && proxy_parse(copy, (size_t)n - 1, &h2, &why) != 0)
		abort();
	if (n > 0 && !h.local) {
		blen = proxy_build(h.version, (struct sockaddr *)&h.src,
		    (struct sockaddr *)&h.dst, out, sizeof(out));
		if (blen == 0)
			abort();
		m = proxy_parse(out, blen, &h2, &why);
		if (m != (long)blen || h2.local || h2.version != h.version)
			abort();
		same(&h.src, h.srclen, &h2.src, h2.srclen);
		same(&h.dst, h.dstlen, &h2.dst, h2.dstlen);
	}
	free(copy);
	return 0;
}
