/*
 * libFuzzer harness for the reverse tunnel's multiplexer
 * (tunnel/frame.c, mux.c, mux_input.c).  The first byte picks the
 * role (bit 0: server), whether a valid HELLO from the peer comes first
 * (bit 1) and the limits (bits 2-3: defaults, tiny, mid-size).  The rest
 * is a program, one op byte and its argument at a time:
 *
 *	0-3  feed the next 1-256 bytes to mux_input()
 *	4    take up to 64 x arg bytes of output
 *	5    advance the clock by 500 x arg ms and mux_tick()
 *	6    mux_open() a target from a table, or the raw input as one
 *	7    an API call on stream arg: accept, refuse, send, consumed, fin,
 *	     reset, goaway (the op's high bits choose)
 *
 * It checks more than "no crash": every frame the mux writes decodes,
 * HELLO first; the output never passes out_cap + MUX_CTRL_RESERVE; the
 * peer never holds more streams than the cap; no stream is handed more
 * unconsumed bytes than its window; once the connection fails, it stays
 * failed with no streams.
 *
 *   build-fuzz/fuzz/fuzz_mux -max_total_time=60 corpus-copy/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/frame.h"
#include "tunnel/mux.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TRACK	1024		/* ids below this have exact accounting */

struct fz {
	struct mux		*m;
	struct mux_params	 p;
	uint64_t		 now;
	uint32_t		 opened;	/* our successful mux_open()s */
	size_t			 held[TRACK];	/* delivered, not consumed */
	/* The output as a frame stream: where the next header starts. */
	uint8_t			 hdr[MUX_HDR_LEN];
	size_t			 hdr_len, skip;
	int			 frames;
};

static void
fz_consume(struct fz *z, uint32_t id, size_t n)
{
	if (id < TRACK) {
		if (n > z->held[id])
			n = z->held[id];
		z->held[id] -= n;
	}
	mux_consumed(z->m, id, n);
}

static void
on_open(void *arg, uint32_t id, const char *target)
{
	struct fz	*z = arg;

	if (mux_target_check((const uint8_t *)target, strlen(target)) != 0)
		abort();	/* a bad target must never reach us */
	if ((id >> 1) % 3 == 0)
		mux_accept(z->m, id);
	else if ((id >> 1) % 3 == 1)
		mux_refuse(z->m, id, MUX_C_POLICY);
}

static void
on_data(void *arg, uint32_t id, const uint8_t *buf, size_t len)
{
	struct fz	*z = arg;

	if (len == 0 || len > z->p.max_frame)
		abort();
	if (id < TRACK) {
		z->held[id] += len;
		if (z->held[id] > z->p.window ||
		    z->held[id] != mux_unconsumed(z->m, id))
			abort();	/* past the credit we granted */
	}
	if (id % 4 != 0)	/* ids 0 mod 4 stall */
		fz_consume(z, id, len);
}

static void
on_gone(void *arg, uint32_t id, uint32_t code, const char *why)
{
	struct fz	*z = arg;

	if (code >= MUX_C_MAX)
		abort();
	if (id < TRACK)
		z->held[id] = 0;
}

static void
on_writable(void *arg, uint32_t id)
{
	static const uint8_t	 junk[3000];
	struct fz		*z = arg;

	mux_send(z->m, id, junk, sizeof(junk));
}

static void
on_open_result(void *arg, uint32_t id, int ok, uint32_t code)
{
	if (ok ? code != 0 : code >= MUX_C_MAX || code == MUX_C_OK)
		abort();
	if (ok)
		on_writable(arg, id);
}

static const struct mux_ops fz_ops = {
	.on_open = on_open,
	.on_open_result = on_open_result,
	.on_data = on_data,
	.on_reset = on_gone,
	.on_writable = on_writable,
};

/* Every byte the mux writes must be whole, valid frames, HELLO first. */
static void
check_output(struct fz *z, const uint8_t *p, size_t n)
{
	struct mux_frame	 f;
	const char		*why;
	size_t			 k;

	while (n > 0) {
		if (z->skip > 0) {
			k = z->skip < n ? z->skip : n;
			z->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		k = MUX_HDR_LEN - z->hdr_len < n ? MUX_HDR_LEN - z->hdr_len : n;
		memcpy(z->hdr + z->hdr_len, p, k);
		z->hdr_len += k;
		p += k;
		n -= k;
		if (z->hdr_len < MUX_HDR_LEN)
			continue;
		z->hdr_len = 0;
		if (mux_frame_decode_hdr(z->hdr, MUX_FRAME_MAX, &f, &why) != 0)
			abort();
		if ((z->frames++ == 0) != (f.type == MUX_F_HELLO))
			abort();
		z->skip = f.len;
	}
}

static void
check_state(struct fz *z, int rc)
{
	const char	*why;

	if (mux_output_pending(z->m) > z->p.out_cap + MUX_CTRL_RESERVE)
		abort();
	if (mux_streams(z->m) > z->p.max_streams + z->opened)
		abort();
	/* The whole footprint: (streams x a small constant) + buffers. */
	if (mux_memory(z->m) > mux_size() + 32 * ((size_t)z->p.max_streams +
	    16) + MUX_HDR_LEN + z->p.max_frame + z->p.out_cap +
	    MUX_CTRL_RESERVE + mux_streams(z->m) * mux_stream_size())
		abort();
	if (!mux_dead(z->m) && mux_deadline(z->m) > z->now + z->p.dead_ms)
		abort();
	if (rc == -1 || mux_dead(z->m)) {
		if (mux_streams(z->m) != 0 ||
		    mux_input(z->m, (const uint8_t *)"", 1, z->now, &why) != -1)
			abort();
	}
}

static void
set_params(struct mux_params *p, uint8_t kind)
{
	mux_params_default(p);
	if (kind == 1) {
		p->max_streams = 2;
		p->window = 1500;
		p->max_frame = MUX_FRAME_FLOOR;
		p->out_cap = 4096;
		p->ping_ms = 1000;
		p->dead_ms = 3000;
		p->refuse_max = 2;
	} else if (kind == 2) {
		p->max_streams = 16;
		p->window = 20000;
		p->max_frame = 4096;
		p->out_cap = 16384;
		p->refuse_max = 8;
	}
}

static void
api_call(struct fz *z, uint8_t op, uint32_t id)
{
	static const uint8_t	 junk[20000];

	switch ((op >> 3) % 8) {
	case 0:
		mux_accept(z->m, id);
		break;
	case 1:
		mux_refuse(z->m, id, op >> 6);
		break;
	case 2:
	case 3:
		mux_send(z->m, id, junk, (size_t)op * 80);
		break;
	case 4:
		fz_consume(z, id, (size_t)op * 100);
		break;
	case 5:
		mux_fin(z->m, id);
		break;
	case 6:
		mux_reset(z->m, id, op >> 6);
		break;
	case 7:
		mux_goaway(z->m, op >> 6);
		break;
	}
}

static void
open_call(struct fz *z, uint8_t arg, const uint8_t *data, size_t size)
{
	static const char *const targets[] = { "example.org:443",
	    "10.0.0.1:22", "[::1]:8080", "bad target", "a:0", "x:1" };
	char		 raw[MUX_TARGET_MAX + 8];
	const char	*t;
	uint32_t	 id;

	if (arg < 200)
		t = targets[arg % 6];
	else {
		/* The next bytes as a target: up to a NUL or the end. */
		size = size < sizeof(raw) - 1 ? size : sizeof(raw) - 1;
		memcpy(raw, data, size);
		raw[size] = '\0';
		t = raw;
	}
	if (mux_open(z->m, t, &id) == 0) {
		z->opened++;
		if (mux_target_check((const uint8_t *)t, strlen(t)) != 0)
			abort();
	}
}

static void
hello_prefix(struct fz *z, uint8_t kind)
{
	struct mux_hello	 h = { MUX_VERSION, 4, 8192, MUX_FRAME_FLOOR };
	uint8_t			 b[MUX_HDR_LEN + MUX_HELLO_LEN];
	const char		*why;

	if (kind & 1) {
		h.max_streams = 300;
		h.window = MUX_DEF_WINDOW;
		h.max_frame = MUX_DEF_FRAME;
	}
	mux_frame_encode_hdr(b, MUX_F_HELLO, MUX_HELLO_LEN, 0);
	mux_hello_encode(b + MUX_HDR_LEN, &h);
	if (mux_input(z->m, b, sizeof(b), z->now, &why) != 0)
		abort();
}

static void
run(struct fz *z, const uint8_t *data, size_t size)
{
	uint8_t		 out[64 * 256];
	const char	*why;
	size_t		 n, k;
	uint8_t		 op, arg;
	int		 rc = 0;

	while (size >= 2) {
		op = data[0];
		arg = data[1];
		data += 2;
		size -= 2;
		switch (op % 8) {
		case 0: case 1: case 2: case 3:
			n = (size_t)arg + 1 < size ? (size_t)arg + 1 : size;
			rc = mux_input(z->m, data, n, z->now, &why);
			data += n;
			size -= n;
			break;
		case 4:
			k = mux_output(z->m, out, (size_t)arg * 64 + 1);
			check_output(z, out, k);
			break;
		case 5:
			z->now += (uint64_t)arg * 500;
			rc = mux_tick(z->m, z->now, &why);
			break;
		case 6:
			open_call(z, arg, data, size);
			break;
		case 7:
			api_call(z, op, arg);
			break;
		}
		check_state(z, rc);
	}
	while ((k = mux_output(z->m, out, sizeof(out))) > 0)
		check_output(z, out, k);
	if (z->hdr_len != 0 || z->skip != 0)
		abort();	/* a frame left half written */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	*z;

	if (size < 1)
		return 0;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return 0;
	set_params(&z->p, (data[0] >> 2) % 3);
	z->now = 1000;
	z->m = mux_new(&z->p, data[0] & 1, &fz_ops, z, z->now);
	if (z->m == NULL)
		abort();
	if (data[0] & 2)
		hello_prefix(z, data[0] >> 4);
	run(z, data + 1, size - 1);
	mux_free(z->m);
	free(z);
	return 0;
}
