/*
 * libFuzzer harness for worker/proto/tls_hello.c: the whole input, then
 * every prefix of its first bytes, which must agree with the whole
 * (a prefix may only say MORE where the whole says something else).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_tls_hello.c worker/proto/tls_hello.c -o fuzz_tls_hello
 *   ./fuzz_tls_hello -max_total_time=20 fuzz/corpus/tls_hello
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/proto/tls_hello.h"

#define PREFIXES	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The documented guarantees of one result. */
static void
check(enum tls_hello_rc rc, const struct tls_hello *h, size_t size)
{
	size_t	i, n;

	switch (rc) {
	case TLS_HELLO_OK:
		if (h->len == 0 || h->len > size || h->why != NULL ||
		    h->nalpn > TLS_ALPN_MAX)
			abort();
		n = strnlen(h->sni, sizeof(h->sni));
		if (n > 253 || (n > 0 && h->sni[n - 1] == '.'))
			abort();
		for (i = 0; i < n; i++)
			if (!((h->sni[i] >= 'a' && h->sni[i] <= 'z') ||
			    (h->sni[i] >= '0' && h->sni[i] <= '9') ||
			    strchr("-_.", h->sni[i]) != NULL))
				abort();
		for (i = 0; i < h->nalpn; i++)
			if (strnlen(h->alpn[i], sizeof(h->alpn[i])) == 0 ||
			    strnlen(h->alpn[i], sizeof(h->alpn[i])) >
			    TLS_ALPN_NAME)
				abort();
		break;
	case TLS_HELLO_MORE:
		if (size >= TLS_HELLO_MAX)
			abort();
		break;
	case TLS_HELLO_NOT_TLS:
	case TLS_HELLO_BAD:
		if (h->why == NULL)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tls_hello	 h, hp;
	uint8_t			*copy;
	size_t			 n;
	enum tls_hello_rc	 rc, rp;

	/* An exact-size copy: ASan sees any read past the end. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	rc = tls_hello_parse(copy, size, &h);
	check(rc, &h, size);
	for (n = 0; n < size && n < PREFIXES; n++) {
		rp = tls_hello_parse(copy, n, &hp);
		check(rp, &hp, n);
		if (rp == TLS_HELLO_MORE)
			continue;
		if (rp != rc)
			abort();	/* a prefix decided otherwise */
		if (rp == TLS_HELLO_OK && (hp.len != h.len ||
		    strcmp(hp.sni, h.sni) != 0 || hp.nalpn != h.nalpn))
			abort();
	}
	if (rc == TLS_HELLO_OK && h.len > 0 &&
	    tls_hello_parse(copy, h.len - 1, &hp) != TLS_HELLO_MORE)
		abort();	/* one byte short of the hello is MORE */
	free(copy);
	return 0;
}
