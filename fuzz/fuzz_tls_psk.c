/*
 * libFuzzer harness for the tunnel's TLS layer (tunnel/tls_psk.c):
 * what a stranger, or a hostile agent or server, sends before and after
 * the handshake.  The first byte picks the side (a fresh server that
 * knows agent "a1", or a client of "a1") and a chunk size; the rest is
 * fed in chunks, with everything readable read and everything pending
 * taken after each, as the worker will.  Whatever the bytes: no crash or
 * leak, input taken never more than offered, pending output bounded,
 * nothing readable unless the handshake completed (it cannot: the
 * fuzzer does not hold the key).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tunnel/tls_psk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	secret[] = "0123456789abcdef0123456789abcdef";

static int
lookup(void *arg, const char *name, uint8_t *out, size_t *len)
{
	(void)arg;
	if (strcmp(name, "a1") != 0 || *len < sizeof(secret) - 1)
		return -1;
	memcpy(out, secret, sizeof(secret) - 1);
	*len = sizeof(secret) - 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t	 buf[TUN_TLS_OUTBUF + 1024];
	struct tun_tls	*t;
	const char	*why;
	size_t		 chunk, off = 1, k;
	ssize_t		 took, got;

	if (n < 1 || tun_tls_global_init(&why) == -1)
		return 0;
	chunk = 1 + (size_t)(d[0] >> 1) * 37;
	t = (d[0] & 1) ? tun_tls_client("a1", secret, sizeof(secret) - 1) :
	    tun_tls_server(lookup, NULL);
	if (t == NULL)
		abort();
	/* The client speaks first: take its ClientHello. */
	while (tun_tls_take(t, buf, sizeof(buf)) > 0)
		;
	while (off < n && tun_tls_state(t) == TUN_TLS_HANDSHAKE) {
		k = n - off < chunk ? n - off : chunk;
		if ((took = tun_tls_feed(t, d + off, k)) < 0)
			break;
		if ((size_t)took > k)
			abort();
		off += took > 0 ? (size_t)took : k;
		while ((got = tun_tls_read(t, buf, sizeof(buf))) > 0)
			if (tun_tls_state(t) != TUN_TLS_OPEN)
				abort();
		if (tun_tls_pending(t) > TUN_TLS_OUTBUF + 16 * 1024 + 512)
			abort();
		while (tun_tls_take(t, buf, sizeof(buf)) > 0)
			;
	}
	if (tun_tls_state(t) == TUN_TLS_OPEN)
		abort();		/* authenticated without the key */
	tun_tls_eof(t);
	tun_tls_free(t);
	return 0;
}
