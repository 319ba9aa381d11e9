/*
 * The reverse tunnel's stream multiplexer (mux.h).  Memory is bounded by
 * construction: one input frame buffer of our max_frame, an output
 * buffer of at most out_cap + MUX_CTRL_RESERVE, and one small struct per
 * stream, of which the peer may hold max_streams.  Received DATA is
 * handed to on_data at once and never buffered here.
 */
#include <sys/queue.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"
#include "mux_priv.h"

void
mux_params_default(struct mux_params *p)
{
	p->max_streams = MUX_DEF_STREAMS;
	p->window = MUX_DEF_WINDOW;
	p->max_frame = MUX_DEF_FRAME;
	p->out_cap = MUX_DEF_OUT_CAP;
	p->ping_ms = MUX_DEF_PING_MS;
	p->dead_ms = MUX_DEF_DEAD_MS;
	p->refuse_max = MUX_DEF_REFUSE_MAX;
}

static int
params_check(const struct mux_params *p)
{
	return p->max_streams <= MUX_MAX_STREAMS &&
	    p->window >= 1 && p->window <= MUX_WINDOW_MAX &&
	    p->max_frame >= MUX_FRAME_FLOOR && p->max_frame <= MUX_FRAME_MAX &&
	    p->out_cap >= 4096 && p->out_cap <= 64 * 1024 * 1024 &&
	    p->ping_ms >= 1 && p->dead_ms > p->ping_ms ? 0 : -1;
}

/* Streams */

static uint32_t
bucket_of(const struct mux *m, uint32_t id)
{
	return (id * 0x9e3779b1U) & (m->nbuckets - 1);
}

struct mux_stream *
mux_stream_find(const struct mux *m, uint32_t id)
{
	struct mux_stream	*s;

	if (m->buckets == NULL)
		return NULL;
	for (s = m->buckets[bucket_of(m, id)]; s != NULL; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

int
mux_is_local(const struct mux *m, uint32_t id)
{
	return (id & 1) == (m->is_server ? 1U : 0U);
}

struct mux_stream *
mux_stream_new(struct mux *m, uint32_t id, enum mux_state state)
{
	struct mux_stream	*s;
	uint32_t		 b;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = id;
	s->state = state;
	s->send_credit = m->peer.window;
	s->recv_avail = m->p.window;
	b = bucket_of(m, id);
	s->hnext = m->buckets[b];
	m->buckets[b] = s;
	TAILQ_INSERT_TAIL(&m->streams, s, entry);
	if (mux_is_local(m, id))
		m->nlocal++;
	else
		m->nremote++;
	return s;
}

void
mux_stream_free(struct mux *m, struct mux_stream *s)
{
	struct mux_stream	**pp;

	for (pp = &m->buckets[bucket_of(m, s->id)]; *pp != s;
	    pp = &(*pp)->hnext)
		;
	*pp = s->hnext;
	TAILQ_REMOVE(&m->streams, s, entry);
	if (mux_is_local(m, s->id))
		m->nlocal--;
	else
		m->nremote--;
	if (s->flags & SF_WANT)
		m->nwant--;
	free(s);
}

/* Output */

static size_t
out_room(const struct mux *m, int control)
{
	size_t	 cap = m->p.out_cap + (control ? MUX_CTRL_RESERVE : 0);

	return m->out_len >= cap ? 0 : cap - m->out_len;
}

/* Room for need more bytes at the end; -1 past the cap. */
static int
out_reserve(struct mux *m, size_t need, int control)
{
	size_t	 size;
	uint8_t	*n;

	if (need > out_room(m, control))
		return -1;
	if (m->out_head + m->out_len + need <= m->out_size)
		return 0;
	if (m->out_head > 0) {
		memmove(m->out, m->out + m->out_head, m->out_len);
		m->out_head = 0;
		if (m->out_len + need <= m->out_size)
			return 0;
	}
	for (size = m->out_size ? m->out_size : 4096;
	    size < m->out_len + need; size *= 2)
		;
	if (size > (size_t)m->p.out_cap + MUX_CTRL_RESERVE)
		size = (size_t)m->p.out_cap + MUX_CTRL_RESERVE;
	if ((n = realloc(m->out, size)) == NULL)
		return -1;
	m->out = n;
	m->out_size = size;
	return 0;
}

/* Queue a frame; a control frame that finds no room kills the connection. */
int
mux_out_frame(struct mux *m, uint8_t type, uint32_t id, const uint8_t *payload,
    size_t len)
{
	int	 control = type != MUX_F_DATA;
	uint8_t	*p;

	if (out_reserve(m, MUX_HDR_LEN + len, control) == -1) {
		if (control && !m->dead)
			mux_conn_error(m, MUX_C_OVERFLOW, "output buffer full: "
			    "the peer does not read its frames");
		return -1;
	}
	p = m->out + m->out_head + m->out_len;
	mux_frame_encode_hdr(p, type, (uint16_t)len, id);
	if (len > 0)
		memcpy(p + MUX_HDR_LEN, payload, len);
	m->out_len += MUX_HDR_LEN + len;
	return 0;
}

int
mux_out_code(struct mux *m, uint8_t type, uint32_t id, uint32_t code)
{
	uint8_t	 b[MUX_CODE_LEN];

	mux_put32(b, code);
	return mux_out_frame(m, type, id, b, sizeof(b));
}

/* Errors */

/*
 * The connection is done: say why to the peer if there is room, and
 * remember it.  The streams are reported reset by mux_abort(), at the
 * end of the mux_input()/mux_tick() that meets the error.
 */
void
mux_conn_error(struct mux *m, uint32_t code, const char *fmt, ...)
{
	va_list	 ap;

	if (m->dead)
		return;
	m->dead = 1;
	m->dead_code = code;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	mux_out_code(m, MUX_F_GOAWAY, 0, code);
}

void
mux_abort(struct mux *m)
{
	struct mux_stream	*s;
	uint32_t		 id;

	m->aborted = 1;
	while ((s = TAILQ_FIRST(&m->streams)) != NULL) {
		id = s->id;
		mux_stream_free(m, s);
		if (m->ops.on_reset != NULL)
			m->ops.on_reset(m->arg, id, m->dead_code, m->why);
	}
}

/* Output and time */

/* Streams that mux_send() turned away, once the output has drained. */
static void
wake_writers(struct mux *m)
{
	struct mux_stream	*s;
	uint32_t		 rounds = m->nlocal + m->nremote;

	while (m->nwant > 0 && rounds-- > 0 && !m->dead &&
	    m->out_len <= m->p.out_cap / 2) {
		TAILQ_FOREACH(s, &m->streams, entry)
			if ((s->flags & SF_WANT) && s->send_credit > 0)
				break;
		if (s == NULL)
			return;
		s->flags &= ~SF_WANT;
		m->nwant--;
		/* To the back: the next drain starts with another stream. */
		TAILQ_REMOVE(&m->streams, s, entry);
		TAILQ_INSERT_TAIL(&m->streams, s, entry);
		if (m->ops.on_writable != NULL)
			m->ops.on_writable(m->arg, s->id);
	}
}

size_t
mux_output(struct mux *m, uint8_t *buf, size_t cap)
{
	size_t	 n = m->out_len < cap ? m->out_len : cap;

	if (n == 0)
		return 0;
	memcpy(buf, m->out + m->out_head, n);
	m->out_head += n;
	m->out_len -= n;
	if (m->out_len == 0) {
		m->out_head = 0;
		/* A burst's buffer goes back once it has drained. */
		if (m->out_size > 64 * 1024) {
			free(m->out);
			m->out = NULL;
			m->out_size = 0;
		}
	}
	wake_writers(m);
	return n;
}

size_t
mux_output_pending(const struct mux *m)
{
	return m->out_len;
}

int
mux_tick(struct mux *m, uint64_t now_ms, const char **why)
{
	uint64_t	 silent;
	uint8_t		 b[MUX_PING_LEN];

	m->now = now_ms;
	silent = now_ms > m->last_rx ? now_ms - m->last_rx : 0;
	if (!m->dead && silent >= m->p.dead_ms)
		mux_conn_error(m, MUX_C_DEAD, "peer silent for %llu ms",
		    (unsigned long long)silent);
	if (!m->dead && silent >= m->p.ping_ms &&
	    (!m->ping_out || now_ms - m->ping_sent >= m->p.ping_ms)) {
		m->ping_seq++;
		mux_put32(b, (uint32_t)(m->ping_seq >> 32));
		mux_put32(b + 4, (uint32_t)m->ping_seq);
		if (mux_out_frame(m, MUX_F_PING, 0, b, sizeof(b)) == 0) {
			m->ping_out = 1;
			m->ping_sent = now_ms;
		}
	}
	if (!m->dead)
		return 0;
	if (!m->aborted)
		mux_abort(m);
	*why = m->why;
	return -1;
}

uint64_t
mux_deadline(const struct mux *m)
{
	uint64_t	 ping;

	if (m->dead)
		return m->now;
	ping = m->last_rx + m->p.ping_ms;
	if (m->ping_out && m->ping_sent + m->p.ping_ms > ping)
		ping = m->ping_sent + m->p.ping_ms;
	return ping < m->last_rx + m->p.dead_ms ? ping :
	    m->last_rx + m->p.dead_ms;
}

/* Life */

struct mux *
mux_new(const struct mux_params *p, int is_server, const struct mux_ops *ops,
    void *arg, uint64_t now_ms)
{
	struct mux		*m;
	struct mux_hello	 h;
	uint8_t			 b[MUX_HELLO_LEN];

	if (params_check(p) == -1) {
		errno = EINVAL;
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->p = *p;
	m->ops = *ops;
	m->arg = arg;
	m->is_server = is_server != 0;
	m->next_local_id = m->is_server ? 1 : 2;
	m->now = m->last_rx = now_ms;
	TAILQ_INIT(&m->streams);
	/* Chains of about one: the peer's streams and ours, 2 x cap. */
	for (m->nbuckets = 16; m->nbuckets < 2 * p->max_streams &&
	    m->nbuckets < 2 * MUX_MAX_STREAMS; m->nbuckets *= 2)
		;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	m->in = malloc(MUX_HDR_LEN + p->max_frame);
	if (m->buckets == NULL || m->in == NULL) {
		mux_free(m);
		errno = ENOMEM;
		return NULL;
	}
	h.version = MUX_VERSION;
	h.max_streams = p->max_streams;
	h.window = p->window;
	h.max_frame = p->max_frame;
	mux_hello_encode(b, &h);
	if (mux_out_frame(m, MUX_F_HELLO, 0, b, sizeof(b)) == -1) {
		mux_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void
mux_free(struct mux *m)
{
	struct mux_stream	*s;

	if (m == NULL)
		return;
	while ((s = TAILQ_FIRST(&m->streams)) != NULL)
		mux_stream_free(m, s);
	free(m->buckets);
	free(m->in);
	free(m->out);
	free(m);
}

/* The application's side */

int
mux_open(struct mux *m, const char *target, uint32_t *id)
{
	struct mux_stream	*s;
	size_t			 len = strlen(target);

	if (m->dead || m->goaway_rcvd || m->goaway_sent) {
		errno = EPIPE;
		return -1;
	}
	if (mux_target_check((const uint8_t *)target, len) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (m->next_local_id > UINT32_MAX - 2) {
		errno = ERANGE;
		return -1;
	}
	if (!m->peer_hello || m->nlocal >= m->peer.max_streams ||
	    MUX_HDR_LEN + len > out_room(m, 0)) {
		errno = EAGAIN;
		return -1;
	}
	if ((s = mux_stream_new(m, m->next_local_id, ST_OPENING)) == NULL)
		return -1;
	m->next_local_id += 2;
	mux_out_frame(m, MUX_F_OPEN, s->id, (const uint8_t *)target, len);
	*id = s->id;
	return 0;
}

static struct mux_stream *
pending_stream(struct mux *m, uint32_t id)
{
	struct mux_stream	*s;

	if (m->dead || (s = mux_stream_find(m, id)) == NULL ||
	    s->state != ST_PENDING)
		return NULL;
	return s;
}

int
mux_accept(struct mux *m, uint32_t id)
{
	struct mux_stream	*s;

	if ((s = pending_stream(m, id)) == NULL)
		return -1;
	s->state = ST_OPEN;
	return mux_out_frame(m, MUX_F_OPEN_OK, id, NULL, 0);
}

int
mux_refuse(struct mux *m, uint32_t id, uint32_t code)
{
	struct mux_stream	*s;

	if ((s = pending_stream(m, id)) == NULL)
		return -1;
	mux_stream_free(m, s);
	return mux_out_code(m, MUX_F_OPEN_FAIL, id, code);
}

size_t
mux_send(struct mux *m, uint32_t id, const uint8_t *buf, size_t len)
{
	struct mux_stream	*s;
	size_t			 sent = 0, chunk, room;

	if (m->dead || (s = mux_stream_find(m, id)) == NULL ||
	    s->state != ST_OPEN || (s->flags & SF_LFIN))
		return 0;
	while (sent < len && s->send_credit > 0) {
		room = out_room(m, 0);
		if (room <= MUX_HDR_LEN)
			break;
		chunk = len - sent;
		if (chunk > s->send_credit)
			chunk = s->send_credit;
		if (chunk > m->peer.max_frame)
			chunk = m->peer.max_frame;
		if (chunk > room - MUX_HDR_LEN)
			chunk = room - MUX_HDR_LEN;
		if (mux_out_frame(m, MUX_F_DATA, id, buf + sent, chunk) == -1)
			break;
		s->send_credit -= chunk;
		sent += chunk;
	}
	if (sent < len && !(s->flags & SF_WANT)) {
		s->flags |= SF_WANT;
		m->nwant++;
	}
	return sent;
}

void
mux_consumed(struct mux *m, uint32_t id, size_t n)
{
	struct mux_stream	*s;

	if (m->dead || (s = mux_stream_find(m, id)) == NULL)
		return;
	if (n > s->unconsumed)
		n = s->unconsumed;
	s->unconsumed -= n;
	if (s->flags & SF_RFIN)
		return;		/* nothing more comes: no credit needed */
	s->grant += n;
	/* A quarter window at a time: few WINDOW frames, a full pipe. */
	if (s->grant == 0 || s->grant < m->p.window / 4)
		return;
	if (mux_out_code(m, MUX_F_WINDOW, id, s->grant) == 0) {
		s->recv_avail += s->grant;
		s->grant = 0;
	}
}

int
mux_fin(struct mux *m, uint32_t id)
{
	struct mux_stream	*s;

	if (m->dead || (s = mux_stream_find(m, id)) == NULL ||
	    s->state != ST_OPEN || (s->flags & SF_LFIN))
		return -1;
	if (mux_out_frame(m, MUX_F_FIN, id, NULL, 0) == -1)
		return -1;
	s->flags |= SF_LFIN;
	if (s->flags & SF_WANT) {
		s->flags &= ~SF_WANT;
		m->nwant--;
	}
	if (s->flags & SF_RFIN)
		mux_stream_free(m, s);
	return 0;
}

void
mux_reset(struct mux *m, uint32_t id, uint32_t code)
{
	struct mux_stream	*s;

	if (m->dead || (s = mux_stream_find(m, id)) == NULL)
		return;
	mux_stream_free(m, s);
	mux_out_code(m, MUX_F_RST, id, code);
}

void
mux_goaway(struct mux *m, uint32_t code)
{
	if (m->dead || m->goaway_sent)
		return;
	m->goaway_sent = 1;
	mux_out_code(m, MUX_F_GOAWAY, 0, code);
}

int
mux_set_udata(struct mux *m, uint32_t id, void *udata)
{
	struct mux_stream	*s;

	if ((s = mux_stream_find(m, id)) == NULL)
		return -1;
	s->udata = udata;
	return 0;
}

void *
mux_udata(const struct mux *m, uint32_t id)
{
	struct mux_stream	*s = mux_stream_find(m, id);

	return s != NULL ? s->udata : NULL;
}

uint32_t
mux_streams(const struct mux *m)
{
	return m->nlocal + m->nremote;
}

size_t
mux_credit(const struct mux *m, uint32_t id)
{
	struct mux_stream	*s = mux_stream_find(m, id);

	return s != NULL ? s->send_credit : 0;
}

size_t
mux_unconsumed(const struct mux *m, uint32_t id)
{
	struct mux_stream	*s = mux_stream_find(m, id);

	return s != NULL ? s->unconsumed : 0;
}

int
mux_ready(const struct mux *m)
{
	return m->peer_hello && !m->dead;
}

int
mux_dead(const struct mux *m)
{
	return m->dead;
}

size_t
mux_memory(const struct mux *m)
{
	return sizeof(*m) + m->nbuckets * sizeof(*m->buckets) +
	    MUX_HDR_LEN + m->p.max_frame + m->out_size +
	    (size_t)(m->nlocal + m->nremote) * sizeof(struct mux_stream);
}

size_t
mux_stream_size(void)
{
	return sizeof(struct mux_stream);
}

size_t
mux_size(void)
{
	return sizeof(struct mux);
}
