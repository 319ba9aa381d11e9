/*
 * The reverse tunnel's multiplexer, input side: the peer's bytes cut into
 * frames, each checked against the connection's and its stream's state.
 * Which violation is a stream error and which a connection error is the
 * table in the README ("Tunnels: frame format"); in short, like RFC 9113:
 * what breaks the framing, the HELLO or the stream id space ends the
 * connection, what is wrong only for one stream resets that stream.
 *
 * Handlers never touch a stream after a callback: the application may
 * have reset or finished it from inside.
 */
#include <stdint.h>
#include <string.h>

#include "mux.h"
#include "mux_priv.h"

/* A frame wrong for its stream: reset it, tell both ends, go on. */
static void
stream_error(struct mux *m, struct mux_stream *s, uint32_t code,
    const char *why)
{
	uint32_t	 id = s->id;

	mux_stream_free(m, s);
	mux_out_code(m, MUX_F_RST, id, code);
	if (m->ops.on_reset != NULL)
		m->ops.on_reset(m->arg, id, code, why);
}

/*
 * A stream frame whose id is not in the table: -1 (connection error) if
 * that id was never opened, 0 if it was and is closed: late frames for
 * closed streams cross our RST or FIN and are dropped.
 */
static int
stream_absent(struct mux *m, const struct mux_frame *f)
{
	int	 used;

	if (mux_is_local(m, f->id))
		used = f->id < m->next_local_id;
	else
		used = f->id <= m->last_remote_id;
	if (!used)
		mux_conn_error(m, MUX_C_PROTOCOL,
		    "%s for stream %u, never opened", mux_frame_name(f->type),
		    f->id);
	return used ? 0 : -1;
}

/* Input: one handler per frame type */

static void
in_hello(struct mux *m, const struct mux_frame *f)
{
	const char	*why;

	if (m->peer_hello) {
		mux_conn_error(m, MUX_C_PROTOCOL, "second HELLO");
		return;
	}
	if (mux_hello_decode(f->payload, f->len, &m->peer, &why) == -1) {
		mux_conn_error(m, MUX_C_PROTOCOL, "%s", why);
		return;
	}
	m->peer_hello = 1;
	if (m->ops.on_ready != NULL)
		m->ops.on_ready(m->arg);
}

/* Past our cap: refuse, and end a peer that keeps at it. */
static void
open_over_cap(struct mux *m, uint32_t id)
{
	if (m->now - m->refuse_since >= MUX_REFUSE_PERIOD_MS ||
	    m->now < m->refuse_since) {
		m->refuse_since = m->now;
		m->refusals = 0;
	}
	if (++m->refusals > m->p.refuse_max) {
		mux_conn_error(m, MUX_C_STREAMS, "stream flood: over %u "
		    "OPENs past the cap of %u in %u ms", m->p.refuse_max,
		    m->p.max_streams, MUX_REFUSE_PERIOD_MS);
		return;
	}
	mux_out_code(m, MUX_F_OPEN_FAIL, id, MUX_C_STREAMS);
}

static void
in_open(struct mux *m, const struct mux_frame *f)
{
	char	 target[MUX_TARGET_MAX + 1];

	if (mux_is_local(m, f->id)) {
		mux_conn_error(m, MUX_C_PROTOCOL, "OPEN %u with our id parity",
		    f->id);
		return;
	}
	if (f->id <= m->last_remote_id) {
		mux_conn_error(m, MUX_C_PROTOCOL, "OPEN %u: stream id reused "
		    "or going backwards (last %u)", f->id, m->last_remote_id);
		return;
	}
	m->last_remote_id = f->id;
	if (mux_target_check(f->payload, f->len) == -1) {
		mux_out_code(m, MUX_F_OPEN_FAIL, f->id, MUX_C_TARGET);
		return;
	}
	if (m->goaway_sent || m->ops.on_open == NULL) {
		mux_out_code(m, MUX_F_OPEN_FAIL, f->id, m->goaway_sent ?
		    MUX_C_SHUTDOWN : MUX_C_POLICY);
		return;
	}
	if (m->nremote >= m->p.max_streams) {
		open_over_cap(m, f->id);
		return;
	}
	if (mux_stream_new(m, f->id, ST_PENDING) == NULL) {
		mux_out_code(m, MUX_F_OPEN_FAIL, f->id, MUX_C_OTHER);
		return;
	}
	memcpy(target, f->payload, f->len);
	target[f->len] = '\0';
	m->ops.on_open(m->arg, f->id, target);
}

static void
in_open_answer(struct mux *m, struct mux_stream *s, const struct mux_frame *f)
{
	uint32_t	 id = s->id, code = 0;

	if (s->state != ST_OPENING) {
		stream_error(m, s, MUX_C_PROTOCOL, "open answer on a stream "
		    "not opening");
		return;
	}
	if (f->type == MUX_F_OPEN_OK)
		s->state = ST_OPEN;
	else {
		code = mux_get32(f->payload);
		if (code >= MUX_C_MAX || code == MUX_C_OK)
			code = MUX_C_OTHER;
		mux_stream_free(m, s);
	}
	if (m->ops.on_open_result != NULL)
		m->ops.on_open_result(m->arg, id, f->type == MUX_F_OPEN_OK,
		    code);
}

static void
in_data(struct mux *m, struct mux_stream *s, const struct mux_frame *f)
{
	if (s->state != ST_OPEN) {
		stream_error(m, s, MUX_C_PROTOCOL, "DATA before the stream "
		    "was open");
		return;
	}
	if (s->flags & SF_RFIN) {
		stream_error(m, s, MUX_C_CLOSED, "DATA after FIN");
		return;
	}
	if (f->len > s->recv_avail) {
		stream_error(m, s, MUX_C_FLOW, "DATA past the credit granted");
		return;
	}
	s->recv_avail -= f->len;
	s->unconsumed += f->len;
	if (m->ops.on_data != NULL)
		m->ops.on_data(m->arg, s->id, f->payload, f->len);
}

static void
in_fin(struct mux *m, struct mux_stream *s)
{
	uint32_t	 id = s->id;

	if (s->state != ST_OPEN || (s->flags & SF_RFIN)) {
		stream_error(m, s, MUX_C_PROTOCOL, s->state != ST_OPEN ?
		    "FIN before the stream was open" : "second FIN");
		return;
	}
	s->flags |= SF_RFIN;
	if (s->flags & SF_LFIN)
		mux_stream_free(m, s);
	if (m->ops.on_fin != NULL)
		m->ops.on_fin(m->arg, id);
}

static void
in_rst(struct mux *m, struct mux_stream *s, const struct mux_frame *f)
{
	uint32_t	 id = s->id, code = mux_get32(f->payload);

	if (code >= MUX_C_MAX)
		code = MUX_C_OTHER;
	mux_stream_free(m, s);
	if (m->ops.on_reset != NULL)
		m->ops.on_reset(m->arg, id, code, NULL);
}

static void
in_window(struct mux *m, struct mux_stream *s, const struct mux_frame *f)
{
	uint32_t	 inc = mux_get32(f->payload);

	if (inc == 0 || inc > MUX_WINDOW_MAX) {
		stream_error(m, s, MUX_C_PROTOCOL, "WINDOW increment 0 or "
		    "over 2^31-1");
		return;
	}
	if (inc > MUX_WINDOW_MAX - s->send_credit) {
		stream_error(m, s, MUX_C_FLOW, "WINDOW past 2^31-1");
		return;
	}
	s->send_credit += inc;
	if ((s->flags & SF_WANT) && !(s->flags & SF_LFIN)) {
		s->flags &= ~SF_WANT;
		m->nwant--;
		if (m->ops.on_writable != NULL)
			m->ops.on_writable(m->arg, s->id);
	}
}

static void
in_ping(struct mux *m, const struct mux_frame *f)
{
	if (f->type == MUX_F_PING)
		mux_out_frame(m, MUX_F_PONG, 0, f->payload, f->len);
	else if (m->ping_out && mux_get32(f->payload) ==
	    (uint32_t)(m->ping_seq >> 32) &&
	    mux_get32(f->payload + 4) == (uint32_t)m->ping_seq)
		m->ping_out = 0;
}

static void
in_stream_frame(struct mux *m, const struct mux_frame *f)
{
	struct mux_stream	*s;

	if ((s = mux_stream_find(m, f->id)) == NULL) {
		stream_absent(m, f);
		return;
	}
	switch (f->type) {
	case MUX_F_OPEN_OK:
	case MUX_F_OPEN_FAIL:
		in_open_answer(m, s, f);
		break;
	case MUX_F_DATA:
		in_data(m, s, f);
		break;
	case MUX_F_FIN:
		in_fin(m, s);
		break;
	case MUX_F_RST:
		in_rst(m, s, f);
		break;
	case MUX_F_WINDOW:
		in_window(m, s, f);
		break;
	}
}

/* One whole frame, header already checked by mux_frame_decode_hdr(). */
static void
in_frame(struct mux *m, const struct mux_frame *f)
{
	uint32_t	 code;

	m->last_rx = m->now;
	if (!m->peer_hello && f->type != MUX_F_HELLO) {
		mux_conn_error(m, MUX_C_PROTOCOL,
		    "first frame is %s, not HELLO", mux_frame_name(f->type));
		return;
	}
	switch (f->type) {
	case MUX_F_HELLO:
		in_hello(m, f);
		break;
	case MUX_F_OPEN:
		in_open(m, f);
		break;
	case MUX_F_PING:
	case MUX_F_PONG:
		in_ping(m, f);
		break;
	case MUX_F_GOAWAY:
		m->goaway_rcvd = 1;
		code = mux_get32(f->payload);
		if (m->ops.on_goaway != NULL)
			m->ops.on_goaway(m->arg, code < MUX_C_MAX ? code :
			    MUX_C_OTHER);
		break;
	default:
		in_stream_frame(m, f);
		break;
	}
}

static int
hdr_check(struct mux *m, const uint8_t *p, struct mux_frame *f)
{
	const char	*why;

	if (mux_frame_decode_hdr(p, m->p.max_frame, f, &why) == -1) {
		mux_conn_error(m, MUX_C_PROTOCOL, "%s (type %u, length %u, "
		    "stream %u)", why, p[0], mux_get16(p + 2),
		    mux_get32(p + 4));
		return -1;
	}
	return 0;
}

/* Bytes into the reassembly buffer; how many were used. */
static size_t
in_partial(struct mux *m, const uint8_t *buf, size_t len)
{
	struct mux_frame	 f;
	size_t			 want, n;

	want = MUX_HDR_LEN;
	if (m->in_len >= MUX_HDR_LEN)
		want += mux_get16(m->in + 2);
	n = want - m->in_len < len ? want - m->in_len : len;
	memcpy(m->in + m->in_len, buf, n);
	m->in_len += n;
	/* The header is checked as soon as it is whole: a lying length
	 * ends the connection before its payload is waited for. */
	if (m->in_len < MUX_HDR_LEN || hdr_check(m, m->in, &f) == -1 ||
	    m->in_len < MUX_HDR_LEN + (size_t)f.len)
		return n;
	f.payload = m->in + MUX_HDR_LEN;
	m->in_len = 0;
	in_frame(m, &f);
	return n;
}

int
mux_input(struct mux *m, const uint8_t *buf, size_t len, uint64_t now_ms,
    const char **why)
{
	struct mux_frame	 f;
	size_t			 n;

	m->now = now_ms;
	while (len > 0 && !m->dead) {
		if (m->in_len == 0 && len >= MUX_HDR_LEN) {
			if (hdr_check(m, buf, &f) == -1)
				break;
			if (len >= MUX_HDR_LEN + (size_t)f.len) {
				/* Whole in the caller's buffer: no copy. */
				f.payload = buf + MUX_HDR_LEN;
				in_frame(m, &f);
				buf += MUX_HDR_LEN + f.len;
				len -= MUX_HDR_LEN + f.len;
				continue;
			}
		}
		n = in_partial(m, buf, len);
		buf += n;
		len -= n;
	}
	if (!m->dead)
		return 0;
	if (!m->aborted)
		mux_abort(m);
	*why = m->why;
	return -1;
}

