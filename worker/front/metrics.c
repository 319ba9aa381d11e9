/*
 * The metrics front-end: GET /metrics answered in Prometheus text
 * (placeholder until it lands: the client is closed).
 */
#include "front.h"

static void
metrics_input(struct session *s)
{
	session_finish(s, "bad client", "metrics: not built yet");
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

const struct front_ops front_metrics = {
	.name = "metrics",
	.input = metrics_input,
	.reply_ok = metrics_reply_ok,
	.reply_err = metrics_reply_err,
};
