/*
 * The metrics front-end: `GET /metrics` (or HEAD) answered with the
 * Prometheus text of the shared region (metrics_text.c), then closed.
 * One request per connection, like every HTTP answer sluice gives.
 *
 * The head (at most METRICS_MAX_HEAD bytes) must arrive within the
 * listener's handshake timeout; the text is built when it has, from
 * this worker's config and the region, into a buffer the session sends
 * as a constant and release() frees.  Nothing is dialed, so no link
 * counts the session.  While the answer goes out the session is the
 * front-end's (S_FRONT), so a served scrape is no front-end error; the
 * handshake timer keeps running and bounds a client that reads slowly.
 * A refused request counts as "bad client" (bad_request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../metrics_text.h"
#include "../proto/http_wire.h"
#include "../worker.h"
#include "front.h"

/* Room before the text for the response head (it is written last). */
#define METRICS_HEAD_ROOM	256

struct metrics_state {
	struct mt_buf	out;
	uint8_t		head[METRICS_MAX_HEAD];
};

static const char not_found[] = "HTTP/1.1 404 Not Found\r\n"
    "Connection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 14\r\n\r\n404 Not Found\n";
static const char not_allowed[] = "HTTP/1.1 405 Method Not Allowed\r\n"
    "Allow: GET, HEAD\r\n"
    "Connection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 23\r\n\r\n405 Method Not Allowed\n";

static void
metrics_start(struct session *s)
{
	struct metrics_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;		/* metrics_input answers 503 */
	}
	mt_buf_init(&st->out, METRICS_HEAD_ROOM + METRICS_MAX_TEXT);
	s->fstate = st;
	session_set_input(s, st->head, sizeof(st->head));
}

/* Answer a refusal, say why in the log line, close. */
static void
metrics_refuse(struct session *s, int status, const char *why)
{
	const char	*r;
	size_t		 len;

	if (status == 404) {
		r = not_found;
		len = sizeof(not_found) - 1;
	} else if (status == 405) {
		r = not_allowed;
		len = sizeof(not_allowed) - 1;
	} else
		r = http_response(status, &len);
	session_send_static(s, r, len);
	session_finish(s, status == 503 ? "error" : "bad client",
	    "metrics: %d, %s", status, why);
}

/*
 * The text after METRICS_HEAD_ROOM bytes of out, then the head just
 * before it: one buffer, sent from *start.  -1 if it could not be built.
 */
static int
metrics_build(struct mt_buf *out, int head_only, const char **start,
    size_t *len)
{
	struct metrics_src	 src;
	char			 head[METRICS_HEAD_ROOM];
	size_t			 body;
	int			 n;
	static const char	 room[METRICS_HEAD_ROOM];

	memset(&src, 0, sizeof(src));
	src.conf = wk->conf;
	src.shm = wk->shm;
	src.now_ms = mono_ms();
	if (mt_buf_put(out, room, sizeof(room)) == -1 ||
	    metrics_render(out, &src) == -1)
		return -1;
	body = out->len - METRICS_HEAD_ROOM;
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", body);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	memcpy(out->data + METRICS_HEAD_ROOM - n, head, (size_t)n);
	*start = out->data + METRICS_HEAD_ROOM - n;
	*len = (size_t)n + (head_only ? 0 : body);
	return 0;
}

static void
metrics_input(struct session *s)
{
	struct metrics_state	*st = s->fstate;
	struct metrics_req	 req;
	const char		*start;
	size_t			 len;

	if (st == NULL) {
		metrics_refuse(s, 503, "no memory for the request head");
		return;
	}
	if (metrics_parse_head(s->in, s->inlen, &req) == 0)
		return;
	if (req.status != 200) {
		metrics_refuse(s, req.status, req.why);
		return;
	}
	if (metrics_build(&st->out, req.head_only, &start, &len) == -1) {
		metrics_refuse(s, 503, "text past its cap, or no memory");
		return;
	}
	s->state = S_FRONT;
	session_send_static(s, start, len);
	session_finish(s, "metrics", "%s /metrics: 200, %zu bytes",
	    req.head_only ? "HEAD" : "GET", st->out.len - METRICS_HEAD_ROOM);
}

static void
metrics_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
metrics_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)s;
	(void)err;
}

static void
metrics_release(struct session *s)
{
	struct metrics_state	*st = s->fstate;

	if (st == NULL)
		return;
	mt_buf_free(&st->out);
	free(st);
	s->fstate = NULL;
}

const struct front_ops front_metrics = {
	.name = "metrics",
	.ignores_bound = 1,
	.start = metrics_start,
	.input = metrics_input,
	.reply_ok = metrics_reply_ok,
	.reply_err = metrics_reply_err,
	.release = metrics_release,
};
