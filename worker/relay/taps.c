/*
 * Tap chains (see taps.h for the contract).
 *
 * A call runs the taps of its direction in order over a cursor: the
 * bytes the previous tap returned.  Taps that only look (log, hexdump,
 * drop by match, throttle) leave the cursor alone; taps that rewrite
 * (replace) write into one of the direction's two output buffers, the
 * one the cursor is not in, so a chain of rewrites ping-pongs between
 * them; a Lua tap's result lives in its script's state and is copied
 * into an output buffer only if it is the last word, since the script
 * is shared by every session of the worker.  The buffers grow on demand
 * up to TAPS_OUT_MAX and are kept: no allocation per chunk.
 *
 * Streams have no message boundaries, so a pattern may span two reads:
 *  - replace holds back the longest suffix of what it saw that is a
 *    proper prefix of `search` (at most search length - 1 bytes) and
 *    looks at it again with the next chunk; taps_stream_flush() lets it
 *    go (EOF, or TAPS_FLUSH_MS without input).  When nothing partial is
 *    pending nothing is held, so ordinary traffic is not delayed.
 *  - drop by match keeps the last match length - 1 bytes it passed on
 *    as a window, so a match across reads ends the session too.
 * Datagrams stand alone: no carry-over, no window.
 *
 * A pcap tap records the bytes as they are at its place in the chain
 * and passes them on unchanged.  A TCP session's packets start with a
 * made-up handshake (SYN, SYN-ACK, ACK) at its first bytes and end with
 * FINs when the chain is freed, so that "Follow TCP stream" works; a
 * chunk larger than PCAP_SEG becomes several packets.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "tap_lua.h"
#include "tap_pcap.h"
#include "taps.h"

#define TAPS_BUF_MIN		(16 * 1024)
#define TAPS_HEX_LINE		16	/* bytes per hexdump line */

/* A tap's per-session state, per direction. */
struct tap_state {
	uint8_t		*hold[2];	/* replace: carry-over; drop: window */
	size_t		 nhold[2];
	double		 tokens[2];	/* datagram throttle */
	uint64_t	 last_ms[2];
	struct pcap_flow *pcap;		/* pcap: NULL until the first bytes */
};

struct taps_buf {
	uint8_t		*p;
	size_t		 cap;
};

struct taps {
	const struct sl_tap	*conf;
	size_t			 n;
	struct tap_state	*st;
	struct taps_buf		 buf[2][2];	/* [dir][ping, pong] */
	struct tap_info		 info;		/* points into the below */
	struct sockaddr_storage	 client, local;
	char			 listener[64];
	char			 proto[8];
	char			 target[300];
	char			 client_s[SL_ADDRSTRLEN];
	char			 why[320];
};

/* What the chain has so far: the previous tap's output. */
struct cursor {
	const uint8_t	*p;
	size_t		 len;
	int		 buf;		/* 0/1: in buf[dir][buf]; -1: not ours */
};

static const char *const dir_names[2] = { "up", "down" };

static taps_pcap_sink	pcap_sink;

void
taps_set_pcap_sink(taps_pcap_sink sink)
{
	pcap_sink = sink;
}

static int
tap_covers(const struct sl_tap *t, enum tap_dir dir)
{
	return (t->dirs & (dir == TAP_UP ? SL_TAP_UP : SL_TAP_DOWN)) != 0;
}

static int
taps_fail(struct taps *tp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
taps_fail(struct taps *tp, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(tp->why, sizeof(tp->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Bytes for a log line: printable ASCII, the rest as \xNN, bounded. */
static void
bytes_fmt(char *d, size_t dlen, const uint8_t *s, size_t n)
{
	size_t	i, o = 0;

	for (i = 0; i < n && o + 5 < dlen; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' &&
		    s[i] != '"')
			d[o++] = (char)s[i];
		else
			o += (size_t)snprintf(d + o, dlen - o, "\\x%02x", s[i]);
	}
	if (i < n && o + 4 <= dlen) {
		memcpy(d + o, "...", 3);
		o += 3;
	}
	d[o] = '\0';
}

/* Append n bytes to an output buffer, growing it up to TAPS_OUT_MAX. */
static int
out_put(struct taps *tp, struct taps_buf *b, size_t *len, const void *p,
    size_t n)
{
	size_t	 cap;
	uint8_t	*np;

	if (n > TAPS_OUT_MAX - *len)
		return taps_fail(tp, "tap output over 1 MiB");
	if (*len + n > b->cap) {
		cap = b->cap > 0 ? b->cap : TAPS_BUF_MIN;
		while (cap < *len + n)
			cap *= 2;
		if (cap > TAPS_OUT_MAX)
			cap = TAPS_OUT_MAX;
		if ((np = realloc(b->p, cap)) == NULL)
			return taps_fail(tp, "tap output: out of memory");
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + *len, p, n);
	*len += n;
	return 0;
}

/* The first k bytes of a || b (k <= na + nb) equal s's first k. */
static int
vmatch(const uint8_t *a, size_t na, const uint8_t *b, const uint8_t *s,
    size_t k)
{
	size_t	ka = na < k ? na : k;

	return memcmp(a, s, ka) == 0 && memcmp(b, s + ka, k - ka) == 0;
}

/*
 * Replace over carry || in into out.  With hold, keep a partial match
 * at the end as the new carry-over; without, let everything go.
 */
static int
replace_run(struct taps *tp, const struct sl_tap *t, struct tap_state *st,
    enum tap_dir dir, const uint8_t *in, size_t len, int hold,
    struct taps_buf *out, size_t *olen)
{
	const uint8_t	*s = t->search, *m;
	uint8_t		*carry = st->hold[dir];
	size_t		 ns = t->nsearch, nc = st->nhold[dir], p, q = 0, k;

	/* Matches that start in the carry-over and end in `in`. */
	for (p = 0; p < nc; p++) {
		k = nc - p + len < ns ? nc - p + len : ns;
		if (!vmatch(carry + p, nc - p, in, s, k))
			continue;
		if (k == ns) {
			if (out_put(tp, out, olen, carry, p) == -1 ||
			    out_put(tp, out, olen, t->replace,
			    t->nreplace) == -1)
				return -1;
			q = ns - (nc - p);
			nc = 0;
			break;
		}
		if (!hold)
			continue;
		/* Still partial: carry[p..] || in is the new carry-over. */
		if (out_put(tp, out, olen, carry, p) == -1)
			return -1;
		memmove(carry, carry + p, nc - p);
		memcpy(carry + nc - p, in, len);
		st->nhold[dir] = nc - p + len;
		return 0;
	}
	if (nc > 0 && out_put(tp, out, olen, carry, nc) == -1)
		return -1;
	st->nhold[dir] = 0;
	while (q < len && (m = memmem(in + q, len - q, s, ns)) != NULL) {
		if (out_put(tp, out, olen, in + q, (size_t)(m - (in + q))) ==
		    -1 || out_put(tp, out, olen, t->replace, t->nreplace) == -1)
			return -1;
		q = (size_t)(m - in) + ns;
	}
	/* The longest tail that could still become a match. */
	k = hold ? (len - q < ns - 1 ? len - q : ns - 1) : 0;
	for (; k > 0; k--)
		if (in[len - k] == s[0] && memcmp(in + len - k, s, k) == 0)
			break;
	if (out_put(tp, out, olen, in + q, len - q - k) == -1)
		return -1;
	if (k > 0)
		memcpy(carry, in + len - k, k);
	st->nhold[dir] = k;
	return 0;
}

/* A match in window || in (stream) or in in (datagram): 1 if seen. */
static int
drop_seen(const struct sl_tap *t, struct tap_state *st, enum tap_dir dir,
    const uint8_t *in, size_t len, int stream)
{
	uint8_t	*w = st->hold[dir];
	size_t	 ns = t->nsearch, nw = stream ? st->nhold[dir] : 0, p, keep;

	for (p = 0; p < nw; p++)
		if (nw - p + len >= ns && vmatch(w + p, nw - p, in, t->search,
		    ns))
			return 1;
	if (len >= ns && memmem(in, len, t->search, ns) != NULL)
		return 1;
	if (!stream || ns < 2)
		return 0;
	/* Keep the last ns - 1 bytes seen for the next read. */
	if (len >= ns - 1) {
		memcpy(w, in + len - (ns - 1), ns - 1);
		st->nhold[dir] = ns - 1;
	} else {
		keep = nw + len > ns - 1 ? ns - 1 - len : nw;
		memmove(w, w + nw - keep, keep);
		memcpy(w + keep, in, len);
		st->nhold[dir] = keep + len;
	}
	return 0;
}

static void
tap_log(const struct taps *tp, enum tap_dir dir, size_t len)
{
	log_info("tap log: %s %zu bytes, session %llu: %s %s %s",
	    dir_names[dir], len, (unsigned long long)tp->info.session,
	    tp->client_s, dir == TAP_UP ? "->" : "<-", tp->target);
}

/* Like xxd -g 1: offset, 16 bytes in hex, the printable ASCII. */
static void
tap_hexdump(const struct taps *tp, const struct sl_tap *t, enum tap_dir dir,
    const uint8_t *p, size_t len)
{
	char	line[96];
	size_t	n = len < t->bytes ? len : t->bytes, off, i, o;

	if (log_get_level() < SL_LOG_INFO)
		return;		/* nothing to format for */
	log_info("tap hexdump: %s %zu bytes, session %llu: %s %s %s",
	    dir_names[dir], len, (unsigned long long)tp->info.session,
	    tp->client_s, dir == TAP_UP ? "->" : "<-", tp->target);
	for (off = 0; off < n; off += TAPS_HEX_LINE) {
		o = (size_t)snprintf(line, sizeof(line), "%08zx:", off);
		for (i = 0; i < TAPS_HEX_LINE; i++) {
			line[o++] = ' ';
			if (off + i < n)
				o += (size_t)snprintf(line + o,
				    sizeof(line) - o, "%02x", p[off + i]);
			else {
				line[o++] = ' ';
				line[o++] = ' ';
			}
		}
		line[o++] = ' ';
		line[o++] = ' ';
		for (i = 0; i < TAPS_HEX_LINE && off + i < n; i++)
			line[o++] = (p[off + i] >= 0x20 && p[off + i] < 0x7f) ?
			    (char)p[off + i] : '.';
		line[o] = '\0';
		log_info("tap hexdump: session %llu: %s",
		    (unsigned long long)tp->info.session, line);
	}
}

/* A datagram throttle: a token bucket of one second's rate. */
static int
throttle_admit(const struct sl_tap *t, struct tap_state *st,
    enum tap_dir dir, size_t len)
{
	uint64_t	now = mono_ms();
	double		burst = (double)t->rate;

	if (st->last_ms[dir] == 0)
		st->tokens[dir] = burst;
	else
		st->tokens[dir] += (double)(now - st->last_ms[dir]) *
		    (double)t->rate / 1000.0;
	if (st->tokens[dir] > burst)
		st->tokens[dir] = burst;
	st->last_ms[dir] = now;
	if ((double)len > st->tokens[dir])
		return 0;
	st->tokens[dir] -= (double)len;
	return 1;
}

static int
tap_lua_run(struct taps *tp, const struct sl_tap *t, enum tap_dir dir,
    struct cursor *c)
{
	const uint8_t	*o;
	size_t		 olen;
	char		 why[256];
	int		 rc;

	if (t->rt == NULL)
		return taps_fail(tp, "tap lua: %s not loaded", t->script);
	rc = lua_tap_call(t->rt, c->p, c->len, &tp->info, dir_names[dir],
	    TAPS_OUT_MAX, &o, &olen, why, sizeof(why));
	if (rc == -1)
		return taps_fail(tp, "tap lua: %s", why);
	if (rc == 0)
		return 0;
	c->p = o;
	c->len = olen;
	c->buf = -1;
	return 1;
}

/* One packet of flow f to the sink, stamped now. */
static void
pcap_emit(const struct sl_tap *t, struct pcap_flow *f, enum pcap_side from,
    uint8_t flags, const uint8_t *p, size_t len)
{
	uint8_t		pkt[PCAP_PKT_MAX];
	struct timespec	ts;
	size_t		n;

	if ((n = pcap_packet(f, from, flags, p, len, pkt)) == 0)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)pcap_sink(t->pcap_index, &ts, pkt, n);
}

/* The bytes in dir as packets of the session's flow. */
static int
tap_pcap_run(struct taps *tp, size_t i, enum tap_dir dir,
    const struct cursor *c, int stream)
{
	const struct sl_tap	*t = &tp->conf[i];
	struct tap_state	*st = &tp->st[i];
	enum pcap_side		 from = dir == TAP_UP ? PCAP_CLIENT :
				    PCAP_SERVER;
	size_t			 off = 0, n;

	if (pcap_sink == NULL)
		return 1;
	if (st->pcap == NULL) {
		if ((st->pcap = malloc(sizeof(*st->pcap))) == NULL)
			return taps_fail(tp, "tap pcap: out of memory");
		pcap_flow_init(st->pcap, !stream, tp->info.client,
		    tp->target);
		if (stream) {
			pcap_emit(t, st->pcap, PCAP_CLIENT, PCAP_SYN, NULL, 0);
			pcap_emit(t, st->pcap, PCAP_SERVER, PCAP_SYN | PCAP_ACK,
			    NULL, 0);
			pcap_emit(t, st->pcap, PCAP_CLIENT, PCAP_ACK, NULL, 0);
		}
	}
	do {
		n = c->len - off > PCAP_SEG ? PCAP_SEG : c->len - off;
		pcap_emit(t, st->pcap, from, stream ? PCAP_PSH | PCAP_ACK : 0,
		    c->p + off, n);
		off += n;
	} while (off < c->len);
	return 1;
}

/* A TCP session's end, for each pcap tap that saw any of it. */
static void
taps_pcap_close(struct taps *tp)
{
	struct pcap_flow	*f;
	size_t			 i;

	for (i = 0; i < tp->n; i++) {
		if ((f = tp->st[i].pcap) == NULL || f->udp ||
		    pcap_sink == NULL)
			continue;
		pcap_emit(&tp->conf[i], f, PCAP_CLIENT, PCAP_FIN | PCAP_ACK,
		    NULL, 0);
		pcap_emit(&tp->conf[i], f, PCAP_SERVER, PCAP_FIN | PCAP_ACK,
		    NULL, 0);
		pcap_emit(&tp->conf[i], f, PCAP_CLIENT, PCAP_ACK, NULL, 0);
	}
}

/*
 * One tap over the cursor.  1: go on, 0: the bytes are dropped (a
 * datagram is not sent; a stream passes on nothing), -1: fail.
 */
static int
tap_step(struct taps *tp, size_t i, enum tap_dir dir, struct cursor *c,
    int stream, int flush)
{
	const struct sl_tap	*t = &tp->conf[i];
	struct tap_state	*st = &tp->st[i];
	struct taps_buf		*out;
	size_t			 olen = 0;
	char			 q[64];
	int			 to;

	/* Nothing to look at; a datagram, even empty, is still one. */
	if (stream && c->len == 0 && !(t->type == SL_TAP_REPLACE &&
	    st->nhold[dir] > 0))
		return 1;
	switch (t->type) {
	case SL_TAP_LOG:
		tap_log(tp, dir, c->len);
		return 1;
	case SL_TAP_HEXDUMP:
		tap_hexdump(tp, t, dir, c->p, c->len);
		return 1;
	case SL_TAP_REPLACE:
		to = c->buf == 0 ? 1 : 0;
		out = &tp->buf[dir][to];
		if (replace_run(tp, t, st, dir, c->p, c->len,
		    stream && !flush, out, &olen) == -1)
			return -1;
		c->p = out->p;
		c->len = olen;
		c->buf = to;
		return 1;
	case SL_TAP_DROP:
		if (t->search == NULL)
			return 0;
		if (!drop_seen(t, st, dir, c->p, c->len, stream))
			return 1;
		if (!stream)
			return 0;
		bytes_fmt(q, sizeof(q), t->search, t->nsearch);
		return taps_fail(tp, "tap drop: matched \"%s\"", q);
	case SL_TAP_THROTTLE:
		return stream ? 1 : throttle_admit(t, st, dir, c->len);
	case SL_TAP_LUA:
		return tap_lua_run(tp, t, dir, c);
	case SL_TAP_PCAP:
		return tap_pcap_run(tp, i, dir, c, stream);
	default:
		return 1;
	}
}

/* The whole chain for dir; 1, 0 (dropped) or -1 like tap_step. */
static int
taps_run(struct taps *tp, enum tap_dir dir, const uint8_t *in, size_t len,
    int stream, int flush, const uint8_t **out, size_t *outlen)
{
	static const uint8_t	none[1];
	struct cursor		c = { in != NULL ? in : none, len, -1 };
	size_t			i, olen = 0;
	int			rc;

	in = c.p;
	*out = in;
	*outlen = 0;
	for (i = 0; i < tp->n; i++) {
		if (!tap_covers(&tp->conf[i], dir))
			continue;
		if ((rc = tap_step(tp, i, dir, &c, stream, flush)) == -1)
			return -1;
		if (rc == 0) {
			if (!stream)
				return 0;
			c.len = 0;
		}
	}
	/* A script's bytes are the script's until its next call. */
	if (c.buf == -1 && c.p != in && c.len > 0) {
		if (out_put(tp, &tp->buf[dir][0], &olen, c.p, c.len) == -1)
			return -1;
		c.p = tp->buf[dir][0].p;
	}
	*out = c.len > 0 ? c.p : in;
	*outlen = c.len;
	return 1;
}

int
taps_stream(struct taps *tp, enum tap_dir dir, const uint8_t *in,
    size_t len, const uint8_t **out, size_t *outlen)
{
	return taps_run(tp, dir, in, len, 1, 0, out, outlen) == -1 ? -1 : 0;
}

int
taps_stream_flush(struct taps *tp, enum tap_dir dir, const uint8_t **out,
    size_t *outlen)
{
	static const uint8_t	none[1];

	if (taps_held(tp, dir) == 0) {
		*out = none;
		*outlen = 0;
		return 0;
	}
	return taps_run(tp, dir, NULL, 0, 1, 1, out, outlen) == -1 ? -1 : 0;
}

size_t
taps_held(const struct taps *tp, enum tap_dir dir)
{
	size_t	i, n = 0;

	if (tp == NULL)
		return 0;
	for (i = 0; i < tp->n; i++)
		if (tp->conf[i].type == SL_TAP_REPLACE)
			n += tp->st[i].nhold[dir];
	return n;
}

int
taps_datagram(struct taps *tp, enum tap_dir dir, const uint8_t *in,
    size_t len, const uint8_t **out, size_t *outlen)
{
	return taps_run(tp, dir, in, len, 0, 1, out, outlen);
}

uint64_t
taps_rate(const struct taps *tp, enum tap_dir dir)
{
	uint64_t	rate = 0;
	size_t		i;

	if (tp == NULL)
		return 0;
	for (i = 0; i < tp->n; i++)
		if (tp->conf[i].type == SL_TAP_THROTTLE &&
		    tap_covers(&tp->conf[i], dir) &&
		    (rate == 0 || tp->conf[i].rate < rate))
			rate = tp->conf[i].rate;
	return rate;
}

const char *
taps_why(const struct taps *tp)
{
	return tp != NULL && tp->why[0] != '\0' ? tp->why : "tap failed";
}

static void
copy_str(char *d, size_t dlen, const char *s)
{
	snprintf(d, dlen, "%s", s != NULL ? s : "");
}

static void
copy_addr(struct sockaddr_storage *d, const struct sockaddr *s)
{
	socklen_t	len = sockaddr_len(s->sa_family);

	memset(d, 0, sizeof(*d));
	memcpy(d, s, len > 0 && len <= sizeof(*d) ? len : sizeof(d->ss_family));
}

static void
taps_info(struct taps *tp, const struct tap_info *i)
{
	tp->info.session = i->session;
	copy_str(tp->listener, sizeof(tp->listener), i->listener);
	copy_str(tp->proto, sizeof(tp->proto), i->proto);
	if (i->target != NULL)
		copy_str(tp->target, sizeof(tp->target), i->target);
	tp->info.listener = tp->listener;
	tp->info.proto = tp->proto;
	tp->info.target = tp->target;
	if (i->client != NULL) {
		copy_addr(&tp->client, i->client);
		tp->info.client = (const struct sockaddr *)&tp->client;
		sockaddr_fmt(tp->info.client, tp->client_s,
		    sizeof(tp->client_s));
	}
	if (i->local != NULL) {
		copy_addr(&tp->local, i->local);
		tp->info.local = (const struct sockaddr *)&tp->local;
	}
}

struct taps *
taps_new(const struct sl_tap *conf, size_t n, const struct tap_info *info)
{
	struct taps	*tp;
	size_t		 i, need;
	int		 d;

	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		return NULL;
	tp->conf = conf;
	tp->n = n;
	if ((tp->st = calloc(n > 0 ? n : 1, sizeof(*tp->st))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((conf[i].type != SL_TAP_REPLACE &&
		    conf[i].type != SL_TAP_DROP) || conf[i].nsearch < 2)
			continue;
		need = conf[i].nsearch - 1;
		for (d = 0; d < 2; d++)
			if (tap_covers(&conf[i], (enum tap_dir)d) &&
			    (tp->st[i].hold[d] = malloc(need)) == NULL)
				goto fail;
	}
	snprintf(tp->client_s, sizeof(tp->client_s), "?");
	snprintf(tp->target, sizeof(tp->target), "?");
	tp->info.listener = tp->listener;
	tp->info.proto = tp->proto;
	tp->info.target = tp->target;
	if (info != NULL)
		taps_info(tp, info);
	return tp;
fail:
	taps_free(tp);
	return NULL;
}

void
taps_free(struct taps *tp)
{
	size_t	i;
	int	d, k;

	if (tp == NULL)
		return;
	if (tp->st != NULL)
		taps_pcap_close(tp);
	for (i = 0; tp->st != NULL && i < tp->n; i++) {
		for (d = 0; d < 2; d++)
			free(tp->st[i].hold[d]);
		free(tp->st[i].pcap);
	}
	for (d = 0; d < 2; d++)
		for (k = 0; k < 2; k++)
			free(tp->buf[d][k].p);
	free(tp->st);
	free(tp);
}

struct taps_load_ctx {
	char	*err;
	size_t	 errlen;
};

static int
taps_load_chain(struct sl_tap *t, size_t n, const char *path, void *arg)
{
	struct taps_load_ctx	*x = arg;
	char			 e[512];
	size_t			 j;

	for (j = 0; j < n; j++) {
		if (t[j].type != SL_TAP_LUA || t[j].rt != NULL)
			continue;
		e[0] = '\0';
		t[j].rt = lua_tap_load(t[j].script, t[j].max_instructions,
		    t[j].max_memory, e, sizeof(e));
		if (t[j].rt == NULL) {
			snprintf(x->err, x->errlen, "%s[%zu]: %s", path, j, e);
			return -1;
		}
	}
	return 0;
}

int
taps_load(struct sl_conf *conf, char *err, size_t errlen)
{
	struct taps_load_ctx	x = { err, errlen };

	if (conf_each_taps(conf, taps_load_chain, &x) == 0)
		return 0;
	taps_unload(conf);
	return -1;
}

static int
taps_unload_chain(struct sl_tap *t, size_t n, const char *path, void *arg)
{
	size_t	j;

	(void)path;
	(void)arg;
	for (j = 0; j < n; j++)
		if (t[j].type == SL_TAP_LUA && t[j].rt != NULL) {
			lua_tap_free(t[j].rt);
			t[j].rt = NULL;
		}
	return 0;
}

void
taps_unload(struct sl_conf *conf)
{
	(void)conf_each_taps(conf, taps_unload_chain, NULL);
}
