/*
 * libFuzzer harness for worker/relay/taps.c: hostile bytes through a tap
 * chain.  The input names a search and a replace string and the cut
 * points of a stream; the stream goes through [replace, hexdump, log]
 * read by read, then is flushed.  What comes out must be exactly what a
 * one-shot, left-to-right, non-overlapping replace of the whole stream
 * gives, whatever the cuts (the carry-over contract), and the same
 * bytes as datagrams must each be replaced on their own.
 *
 *   layout: [nsearch 1-8][search][nreplace 0-15][replace][ncuts][cuts...]
 *           [stream...]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/relay/taps.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One-shot replace of in into a new buffer; its length in *outlen. */
static uint8_t *
replace_all(const uint8_t *in, size_t len, const uint8_t *s, size_t ns,
    const uint8_t *r, size_t nr, size_t *outlen)
{
	uint8_t	*out = malloc(len * (nr > ns ? nr : 1) + 1);
	size_t	 i = 0, o = 0;

	if (out == NULL)
		abort();
	while (i < len) {
		if (i + ns <= len && memcmp(in + i, s, ns) == 0) {
			memcpy(out + o, r, nr);
			o += nr;
			i += ns;
		} else
			out[o++] = in[i++];
	}
	*outlen = o;
	return out;
}

static void
append(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if ((*buf = realloc(*buf, *len + n)) == NULL)
		abort();
	memcpy(*buf + *len, p, n);
	*len += n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int		 init;
	struct sl_tap		 tap[3];
	struct tap_info		 info;
	struct taps		*t;
	const uint8_t		*s, *r, *cuts, *stream, *out;
	uint8_t			*got = NULL, *want;
	size_t			 ns, nr, ncuts, len, outlen, gotlen = 0;
	size_t			 wantlen, off, i, step;

	if (!init) {
		log_init("fuzz", SL_LOG_ERROR);	/* hexdump/log stay quiet */
		init = 1;
	}
	if (n < 3 || (ns = 1 + d[0] % 8) + 2 > n)
		return 0;
	s = d + 1;
	nr = d[1 + ns] % 16;
	if (2 + ns + nr + 1 > n)
		return 0;
	r = d + 2 + ns;
	ncuts = d[2 + ns + nr] % 8;
	cuts = d + 3 + ns + nr;
	if (3 + ns + nr + ncuts > n)
		return 0;
	stream = cuts + ncuts;
	len = n - (size_t)(stream - d);

	memset(tap, 0, sizeof(tap));
	tap[0].type = SL_TAP_REPLACE;
	tap[0].dirs = SL_TAP_UP | SL_TAP_DOWN;
	tap[0].search = (uint8_t *)s;
	tap[0].nsearch = ns;
	tap[0].replace = (uint8_t *)r;
	tap[0].nreplace = nr;
	tap[1].type = SL_TAP_HEXDUMP;
	tap[1].dirs = SL_TAP_UP;
	tap[1].bytes = 16;
	tap[2].type = SL_TAP_LOG;
	tap[2].dirs = SL_TAP_DOWN;
	memset(&info, 0, sizeof(info));
	info.listener = "fuzz";
	info.proto = "tcp";
	info.target = "fuzz:1";
	if ((t = taps_new(tap, 3, &info)) == NULL)
		return 0;
	/* The stream, cut where the cut bytes say. */
	for (off = 0, i = 0; off < len; i++) {
		step = i < ncuts ? 1 + cuts[i] % 64 : len - off;
		if (step > len - off)
			step = len - off;
		if (taps_stream(t, TAP_UP, stream + off, step, &out,
		    &outlen) == -1)
			abort();	/* no tap here may fail */
		append(&got, &gotlen, out, outlen);
		off += step;
	}
	if (taps_stream_flush(t, TAP_UP, &out, &outlen) == -1)
		abort();
	append(&got, &gotlen, out, outlen);
	if (taps_held(t, TAP_UP) != 0)
		abort();
	want = replace_all(stream, len, s, ns, r, nr, &wantlen);
	if (gotlen != wantlen || (wantlen > 0 && memcmp(got, want,
	    wantlen) != 0))
		abort();
	free(want);
	/* The same bytes as one datagram, the other way. */
	if (taps_datagram(t, TAP_DOWN, stream, len, &out, &outlen) == 1) {
		want = replace_all(stream, len, s, ns, r, nr, &wantlen);
		if (outlen != wantlen || (wantlen > 0 && memcmp(out, want,
		    wantlen) != 0))
			abort();
		free(want);
	}
	taps_free(t);
	free(got);
	return 0;
}
