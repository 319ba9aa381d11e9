/*
 * DNS 0x20 (draft-vixie-dnsext-dns0x20): each lookup asks for its name
 * with the case of every letter chosen at random, and an answer is only
 * taken when its question repeats that name byte for byte.  Servers
 * copy the question into the answer as they got it, so an honest answer
 * matches; an off-path spoofer must guess one bit per letter on top of
 * the query id and the source port.  c-ares compares questions without
 * regard to case, so the check is ours.
 */
#include <sys/random.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"

void
rs_case_mix(const char *name, char *out, size_t len)
{
	uint8_t	bits[(SL_MAX_NAME + 1) / 8 + 1];
	size_t	i, n = strnlen(name, len - 1);

	/* No randomness (cannot happen after start-up): plain case. */
	if (getrandom(bits, (n + 7) / 8, GRND_NONBLOCK) != (ssize_t)((n + 7) /
	    8))
		memset(bits, 0, sizeof(bits));
	for (i = 0; i < n; i++) {
		out[i] = name[i];
		if ((bits[i / 8] >> (i % 8)) & 1) {
			if (out[i] >= 'a' && out[i] <= 'z')
				out[i] = (char)(out[i] - 'a' + 'A');
			else if (out[i] >= 'A' && out[i] <= 'Z')
				out[i] = (char)(out[i] - 'A' + 'a');
		}
	}
	out[n] = '\0';
}

int
rs_case_ok(const char *q, const unsigned char *abuf, int alen)
{
	size_t		qlen = strlen(q), pos = 0, off = 12, i;
	unsigned	len;

	if (qlen > 0 && q[qlen - 1] == '.')
		qlen--;
	/* A question must be there: QDCOUNT 1 (RFC 1035 4.1.1). */
	if (abuf == NULL || alen < 12 || ((abuf[4] << 8) | abuf[5]) != 1)
		return 0;
	while (pos < qlen) {
		if (off >= (size_t)alen)
			return 0;
		len = abuf[off++];
		/* The end, or a pointer, before q is all there: no match. */
		if (len == 0 || len > 63 || off + len > (size_t)alen)
			return 0;
		if (pos > 0 && q[pos++] != '.')
			return 0;
		for (i = 0; i < len; i++, pos++)
			if (pos >= qlen || abuf[off + i] != (unsigned char)q[pos])
				return 0;
		off += len;
	}
	/* q ends on a label's end; a search domain may follow. */
	return 1;
}
