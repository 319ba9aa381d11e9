/*
 * Reverse tunnel frames: the stateless half of the checks (frame.h).
 * Everything here reads only the bytes it is given.
 */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Expected payload length per type; -1: variable, checked apart. */
static const struct {
	const char	*name;
	int		 conn;		/* stream id 0 (1) or not (0) */
	int		 len;
} mux_frame_specs[MUX_F_MAX] = {
	[MUX_F_HELLO] =		{ "HELLO",	1, MUX_HELLO_LEN },
	[MUX_F_OPEN] =		{ "OPEN",	0, -1 },
	[MUX_F_OPEN_OK] =	{ "OPEN_OK",	0, 0 },
	[MUX_F_OPEN_FAIL] =	{ "OPEN_FAIL",	0, MUX_CODE_LEN },
	[MUX_F_DATA] =		{ "DATA",	0, -1 },
	[MUX_F_FIN] =		{ "FIN",	0, 0 },
	[MUX_F_RST] =		{ "RST",	0, MUX_CODE_LEN },
	[MUX_F_WINDOW] =	{ "WINDOW",	0, MUX_CODE_LEN },
	[MUX_F_PING] =		{ "PING",	1, MUX_PING_LEN },
	[MUX_F_PONG] =		{ "PONG",	1, MUX_PING_LEN },
	[MUX_F_GOAWAY] =	{ "GOAWAY",	1, MUX_CODE_LEN },
};

static const char *const mux_code_names[MUX_C_MAX] = {
	[MUX_C_OK] = "ok",
	[MUX_C_OTHER] = "other",
	[MUX_C_POLICY] = "not allowed",
	[MUX_C_REFUSED] = "refused",
	[MUX_C_UNREACH] = "unreachable",
	[MUX_C_TIMEOUT] = "timeout",
	[MUX_C_STREAMS] = "too many streams",
	[MUX_C_TARGET] = "bad target",
	[MUX_C_PROTOCOL] = "protocol error",
	[MUX_C_FLOW] = "flow control error",
	[MUX_C_CLOSED] = "stream closed",
	[MUX_C_CANCEL] = "cancelled",
	[MUX_C_SHUTDOWN] = "shutting down",
	[MUX_C_DEAD] = "peer silent",
	[MUX_C_OVERFLOW] = "peer not reading",
};

uint16_t
mux_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t
mux_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

void
mux_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

void
mux_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

const char *
mux_frame_name(uint8_t type)
{
	return type < MUX_F_MAX ? mux_frame_specs[type].name : "?";
}

const char *
mux_code_name(uint32_t code)
{
	return code < MUX_C_MAX ? mux_code_names[code] : "other";
}

int
mux_frame_decode_hdr(const uint8_t *p, uint32_t max_frame,
    struct mux_frame *f, const char **why)
{
	int	 want;

	f->type = p[0];
	f->flags = p[1];
	f->len = mux_get16(p + 2);
	f->id = mux_get32(p + 4);
	f->payload = NULL;
	if (f->type >= MUX_F_MAX) {
		*why = "unknown frame type";
		return -1;
	}
	if (f->flags != 0) {
		*why = "reserved flags set";
		return -1;
	}
	if (mux_frame_specs[f->type].conn != (f->id == 0)) {
		*why = f->id == 0 ? "stream frame on stream 0" :
		    "connection frame on a stream";
		return -1;
	}
	want = mux_frame_specs[f->type].len;
	if (want >= 0 && f->len != want) {
		*why = "wrong payload length";
		return -1;
	}
	if (f->type == MUX_F_OPEN &&
	    (f->len < MUX_TARGET_MIN || f->len > MUX_TARGET_MAX)) {
		*why = "OPEN target length out of range";
		return -1;
	}
	if (f->type == MUX_F_DATA && (f->len == 0 || f->len > max_frame)) {
		*why = f->len == 0 ? "empty DATA" : "DATA over the maximum";
		return -1;
	}
	return 0;
}

void
mux_frame_encode_hdr(uint8_t *p, uint8_t type, uint16_t len, uint32_t id)
{
	p[0] = type;
	p[1] = 0;
	mux_put16(p + 2, len);
	mux_put32(p + 4, id);
}

static int
is_name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int
is_v6_char(uint8_t c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	    (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* "1".."65535", no sign, no leading zero. */
static int
port_check(const uint8_t *p, size_t len)
{
	uint32_t	 port = 0;
	size_t		 i;

	if (len == 0 || len > 5 || p[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		port = port * 10 + (p[i] - '0');
	}
	return port <= 65535 ? 0 : -1;
}

int
mux_target_check(const uint8_t *p, size_t len)
{
	size_t	 colon, i;

	if (len < MUX_TARGET_MIN || len > MUX_TARGET_MAX)
		return -1;
	/* The port follows the last ':', so IPv6 must be bracketed. */
	for (colon = len; colon > 0 && p[colon - 1] != ':'; colon--)
		;
	if (colon < 2 || port_check(p + colon, len - colon) == -1)
		return -1;
	colon--;	/* index of the ':' now, the host's length */
	if (colon > MUX_HOST_MAX)
		return -1;
	if (p[0] == '[') {
		if (colon < 4 || p[colon - 1] != ']')
			return -1;
		for (i = 1; i < colon - 1; i++)
			if (!is_v6_char(p[i]))
				return -1;
		return 0;
	}
	for (i = 0; i < colon; i++)
		if (!is_name_char(p[i]))
			return -1;
	/* No empty labels: ".", "a..b", ".a"; a trailing dot is a root. */
	if (p[0] == '.')
		return -1;
	for (i = 1; i < colon; i++)
		if (p[i] == '.' && p[i - 1] == '.')
			return -1;
	return 0;
}

void
mux_hello_encode(uint8_t p[MUX_HELLO_LEN], const struct mux_hello *h)
{
	mux_put16(p, h->version);
	mux_put16(p + 2, 0);
	mux_put32(p + 4, h->max_streams);
	mux_put32(p + 8, h->window);
	mux_put32(p + 12, h->max_frame);
}

int
mux_hello_decode(const uint8_t *p, size_t len, struct mux_hello *h,
    const char **why)
{
	if (len != MUX_HELLO_LEN) {
		*why = "HELLO length";
		return -1;
	}
	h->version = mux_get16(p);
	h->max_streams = mux_get32(p + 4);
	h->window = mux_get32(p + 8);
	h->max_frame = mux_get32(p + 12);
	if (h->version != MUX_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	if (mux_get16(p + 2) != 0) {
		*why = "HELLO reserved bits set";
		return -1;
	}
	if (h->window == 0 || h->window > MUX_WINDOW_MAX) {
		*why = "HELLO window out of range";
		return -1;
	}
	if (h->max_frame < MUX_FRAME_FLOOR || h->max_frame > MUX_FRAME_MAX) {
		*why = "HELLO max frame out of range";
		return -1;
	}
	return 0;
}
