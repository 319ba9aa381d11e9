/*
 * The agent end of reverse tunnels: this sluiced keeps one connection up
 * to its server ("agent": "server") and serves the streams the server
 * opens on it.
 *
 * Connecting: the tunnel process makes no sockets, so a worker dials the
 * server for it (TUN_DIAL), over the config's links like any target: a
 * name is resolved by the resolver, a link may bind a source address or
 * go through a SOCKS5 proxy.  The socket comes back (TUN_DIALED) and the
 * TLS handshake runs here.  A failed dial, handshake or connection is
 * retried after a jittered exponential backoff (reconnect_min doubling
 * up to reconnect_max, each wait drawn from [b/2, b]) so that a fleet of
 * agents cut off at once does not come back at once; a connection that
 * came up resets it.  A server that sends GOAWAY (it is reloading or
 * stopping) gets a new connection at once, and the old one carries its
 * streams to their end.
 *
 * Streams: the server's OPEN names a target.  With "local" every stream
 * goes there whatever it names (tcprouter's trc -local); with "allow" the
 * target must pass it (conf_agent_allows) here, before any worker sees
 * it, and again in the worker with the addresses a name resolved to.  A
 * compromised server therefore reaches only what the agent's config
 * allows.  The stream goes to a worker as a socketpair (TUN_STREAM); the
 * worker connects the target and answers (TUN_STREAM_RESULT), and only
 * then does the server get OPEN_OK, or OPEN_FAIL with the reason.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/target.h"
#include "../common/util.h"
#include "frame.h"
#include "tunnel_priv.h"

#define AG_DIAL_TIMEOUT_S	30.	/* a worker's dial, answer or not */
#define AG_HANDSHAKE_MS		10000

struct ag_conn {
	struct tconn		*c;
	int			 up;
	ev_tstamp		 since;
	TAILQ_ENTRY(ag_conn)	 entry;
};

/* A stream handed to a worker, waiting for its TUN_STREAM_RESULT. */
struct ag_stream {
	uint32_t		 key;		/* the TUN_STREAM's id */
	uint32_t		 worker;
	struct ag_conn		*ac;		/* NULL: its connection went */
	uint32_t		 id;		/* mux stream id */
	int			 local;		/* our end of the socketpair */
	TAILQ_ENTRY(ag_stream)	 entry;
};

static struct {
	const struct sl_agent	*conf;
	char			 server[SL_MAX_NAME + 16];	/* host:port */
	TAILQ_HEAD(, ag_conn)	 conns;
	TAILQ_HEAD(, ag_stream)	 pending;
	uint32_t		 dial_id;	/* TUN_DIAL out; 0: none */
	uint32_t		 dial_worker;
	int			 want;		/* dial once a worker is there */
	uint32_t		 backoff_ms;
	ev_timer		 timer;		/* the next dial, or the dial's
						   deadline */
} ag = {
	.conns = TAILQ_HEAD_INITIALIZER(ag.conns),
	.pending = TAILQ_HEAD_INITIALIZER(ag.pending),
};

static void	ag_connect(void);
static void	ag_retry_later(void);

static void
ag_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (ag.dial_id != 0) {
		log_warnx("server %s: no dial answer in %.0f s", ag.server,
		    AG_DIAL_TIMEOUT_S);
		ag.dial_id = 0;
		ag_retry_later();
		return;
	}
	ag_connect();
}

/* A usable connection: up or on its way up, and not going away. */
static int
ag_have_conn(void)
{
	struct ag_conn	*ac;

	TAILQ_FOREACH(ac, &ag.conns, entry)
		if (!tconn_going_away(ac->c))
			return 1;
	return 0;
}

/* Dial again after the backoff (jittered), unless a dial is pending. */
static void
ag_retry_later(void)
{
	uint32_t	b = ag.backoff_ms, wait;

	if (tn.draining || ag.dial_id != 0 || ag_have_conn())
		return;
	wait = b / 2 + (b > 1 ? (uint32_t)random() % (b - b / 2 + 1) : 0);
	ag.backoff_ms = b >= ag.conf->reconnect_max_ms / 2 ?
	    ag.conf->reconnect_max_ms : b * 2;
	log_info("server %s: next attempt in %.1f s", ag.server,
	    wait / 1000.);
	ev_timer_stop(tn.loop, &ag.timer);
	ev_timer_set(&ag.timer, wait / 1000., 0.);
	ev_timer_start(tn.loop, &ag.timer);
}

static void
ag_connect(void)
{
	int	w;

	if (tn.draining || ag.dial_id != 0 || ag_have_conn())
		return;
	if ((w = tn_pick_worker()) == -1) {
		ag.want = 1;		/* agent_worker_new() */
		return;
	}
	ag.want = 0;
	ag.dial_id = tn_new_id();
	ag.dial_worker = (uint32_t)w;
	if (tn_send((uint32_t)w, SL_MSG_TUN_DIAL, ag.dial_id, -1, 0, "",
	    ag.server, "") == -1) {
		ag.dial_id = 0;
		ag_retry_later();
		return;
	}
	ev_timer_stop(tn.loop, &ag.timer);
	ev_timer_set(&ag.timer, AG_DIAL_TIMEOUT_S, 0.);
	ev_timer_start(tn.loop, &ag.timer);
}

void
agent_init(void)
{
	const struct sl_agent	*a = &tn.conf->agent;

	ev_init(&ag.timer, ag_timer_cb);
	if (!a->enabled)
		return;
	ag.conf = a;
	ag.backoff_ms = a->reconnect_min_ms;
	if (strchr(a->server_host, ':') != NULL)
		snprintf(ag.server, sizeof(ag.server), "[%s]:%u",
		    a->server_host, a->server_port);
	else
		snprintf(ag.server, sizeof(ag.server), "%s:%u",
		    a->server_host, a->server_port);
}

void
agent_start(void)
{
	if (ag.conf != NULL)
		ag_connect();
}

void
agent_worker_new(void)
{
	if (ag.conf != NULL && ag.want)
		ag_connect();
}

/* ---- the connection ---- */

static void
ag_up(struct tconn *c, void *arg)
{
	struct ag_conn	*ac = arg;

	ac->up = 1;
	ag.backoff_ms = ag.conf->reconnect_min_ms;
	log_info("connected to server %s as agent %s", tconn_peer(c),
	    tconn_name(c));
}

static void
ag_down(struct tconn *c, const char *why, void *arg)
{
	struct ag_conn		*ac = arg;
	struct ag_stream	*s;

	if (ac->up)
		log_warnx("server %s: tunnel down: %s", tconn_peer(c), why);
	else
		log_warnx("server %s: %s", tconn_peer(c), why);
	TAILQ_FOREACH(s, &ag.pending, entry)
		if (s->ac == ac)
			s->ac = NULL;
	TAILQ_REMOVE(&ag.conns, ac, entry);
	tconn_free(c);
	free(ac);
	ag_retry_later();
	tn_maybe_exit();
}

/* The server reloads or stops: a new connection now, this one drains. */
static void
ag_goaway(struct tconn *c, void *arg)
{
	(void)arg;
	log_info("server %s: going away; connecting again", tconn_peer(c));
	ag.backoff_ms = ag.conf->reconnect_min_ms;
	ag_connect();
}

/*
 * What the server may reach: "local" replaces every target; "allow" is
 * checked here when it can be without a lookup (the worker checks again
 * with the addresses).  The target to connect, or NULL with *code.
 */
static const char *
ag_target(const char *asked, char *buf, size_t len, uint32_t *code)
{
	struct sl_target	 t;
	char			 name[SL_MAX_NAME + 1];
	size_t			 i;

	if (ag.conf->local_host[0] != '\0') {
		if (strchr(ag.conf->local_host, ':') != NULL)
			snprintf(buf, len, "[%s]:%u", ag.conf->local_host,
			    ag.conf->local_port);
		else
			snprintf(buf, len, "%s:%u", ag.conf->local_host,
			    ag.conf->local_port);
		return buf;
	}
	if (sl_target_parse(&t, asked) == -1) {
		*code = MUX_C_TARGET;
		return NULL;
	}
	if (t.host[0] != '\0' && conf_agent_needs_addresses(ag.conf))
		return asked;		/* the worker decides by address */
	/* Allow's domains are lower case. */
	for (i = 0; t.host[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)t.host[i]);
	name[i] = '\0';
	if (!conf_agent_allows(ag.conf, t.host[0] != '\0' ? name : NULL,
	    t.host[0] == '\0' ? (const struct sockaddr *)&t.addr : NULL,
	    t.port, NULL, NULL)) {
		*code = MUX_C_POLICY;
		return NULL;
	}
	return asked;
}

/* The server opens a stream: to a worker, which connects it. */
static void
ag_open(struct tconn *c, uint32_t id, const char *target, void *arg)
{
	struct ag_conn		*ac = arg;
	struct ag_stream	*s;
	const char		*to;
	char			 buf[SL_MAX_NAME + 16];
	uint32_t		 code = MUX_C_OTHER;
	int			 w, sv[2];

	if (tn.draining) {
		tconn_refuse(c, id, MUX_C_SHUTDOWN);
		return;
	}
	if ((to = ag_target(target, buf, sizeof(buf), &code)) == NULL) {
		log_info("server %s asked for %s: refused (%s)", tconn_peer(c),
		    target, code == MUX_C_POLICY ? "not in allow" :
		    "malformed target");
		tconn_refuse(c, id, code);
		return;
	}
	if ((w = tn_pick_worker()) == -1) {
		log_warnx("stream to %s: no worker", target);
		tconn_refuse(c, id, MUX_C_OTHER);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("stream to %s", target);
		free(s);
		tconn_refuse(c, id, MUX_C_OTHER);
		return;
	}
	s->key = tn_new_id();
	s->worker = (uint32_t)w;
	s->ac = ac;
	s->id = id;
	s->local = sv[0];
	if (tn_send((uint32_t)w, SL_MSG_TUN_STREAM, s->key, sv[1], 0,
	    tconn_name(c), to, tconn_peer(c)) == -1) {
		close(sv[0]);
		close(sv[1]);
		free(s);
		tconn_refuse(c, id, MUX_C_OTHER);
		return;
	}
	close(sv[1]);
	tn.workers[w].streams++;
	TAILQ_INSERT_TAIL(&ag.pending, s, entry);
}

static const struct tconn_ops ag_ops = {
	.up = ag_up,
	.down = ag_down,
	.open = ag_open,
	.goaway = ag_goaway,
	.stream_lost = tn_stream_lost,
};

/* A worker's TUN_DIALED (+ fd) or TUN_DIAL_FAIL. */
void
agent_dialed(uint32_t w, struct sl_msg *m)
{
	struct mux_params	 p;
	struct ag_conn		*ac;

	if (ag.conf == NULL || m->id != ag.dial_id || w != ag.dial_worker) {
		log_warnx("worker %u: %s for no dial of ours", w,
		    ipc_msg_name(m->type));
		return;
	}
	ag.dial_id = 0;
	ev_timer_stop(tn.loop, &ag.timer);
	if (m->type == SL_MSG_TUN_DIAL_FAIL) {
		log_warnx("server %s: %s", ag.server, m->u.tun.peer[0] != '\0' ?
		    m->u.tun.peer : "cannot connect");
		ag_retry_later();
		return;
	}
	if (tn.draining || (ac = calloc(1, sizeof(*ac))) == NULL) {
		ag_retry_later();
		return;
	}
	tn_mux_params(&p, ag.conf->max_streams, ag.conf->keepalive_ms,
	    ag.conf->dead_ms);
	ac->c = tconn_client(tn.loop, m->fd, ag.server, ag.conf->cred.name,
	    (const uint8_t *)ag.conf->cred.secret, ag.conf->cred.secret_len,
	    &p, AG_HANDSHAKE_MS, &ag_ops, ac);
	if (ac->c == NULL) {
		log_warnx("server %s: out of memory", ag.server);
		free(ac);
		ag_retry_later();
		return;
	}
	m->fd = -1;		/* the connection's now */
	ac->since = ev_now(tn.loop);
	TAILQ_INSERT_TAIL(&ag.conns, ac, entry);
}

static void
ag_stream_done(struct ag_stream *s)
{
	TAILQ_REMOVE(&ag.pending, s, entry);
	if (tn.workers[s->worker].streams > 0)
		tn.workers[s->worker].streams--;
	free(s);
}

/* The worker connected the stream's target (code 0), or could not. */
void
agent_stream_result(uint32_t w, const struct sl_msg *m)
{
	struct ag_stream	*s;

	TAILQ_FOREACH(s, &ag.pending, entry)
		if (s->key == m->id && s->worker == w)
			break;
	if (s == NULL) {
		log_warnx("worker %u: a stream result for no stream", w);
		return;
	}
	if (s->ac == NULL)
		close(s->local);	/* the tunnel went meanwhile */
	else if (m->u.tun.code == 0) {
		if (tconn_accept(s->ac->c, s->id, s->local) == -1)
			close(s->local);
		else
			(void)tconn_stream_set_arg(s->ac->c, s->id,
			    tn_stream_arg(w, s->key));
	} else {
		tconn_refuse(s->ac->c, s->id, tn_mux_code(m->u.tun.code));
		close(s->local);
	}
	ag_stream_done(s);
}

/* Its streams fail; a dial it had is retried. */
void
agent_worker_gone(uint32_t w)
{
	struct ag_stream	*s, *n;

	for (s = TAILQ_FIRST(&ag.pending); s != NULL; s = n) {
		n = TAILQ_NEXT(s, entry);
		if (s->worker != w)
			continue;
		if (s->ac != NULL)
			tconn_refuse(s->ac->c, s->id, MUX_C_OTHER);
		close(s->local);
		ag_stream_done(s);
	}
	if (ag.conf != NULL && ag.dial_id != 0 && ag.dial_worker == w) {
		ag.dial_id = 0;
		ag_retry_later();
	}
}

void
agent_drain(void)
{
	struct ag_conn	*ac, *n;

	ev_timer_stop(tn.loop, &ag.timer);
	for (ac = TAILQ_FIRST(&ag.conns); ac != NULL; ac = n) {
		n = TAILQ_NEXT(ac, entry);
		if (ac->up)
			tconn_goaway(ac->c);
		else
			tconn_close(ac->c, "draining");
	}
}

int
agent_idle(void)
{
	return TAILQ_EMPTY(&ag.conns);
}

uint32_t
agent_rows(uint32_t id)
{
	struct ag_conn	*ac;
	uint32_t	 n = 0;

	TAILQ_FOREACH(ac, &ag.conns, entry) {
		tn_agent_row(id, ac->c, 1, ag.server, ac->since);
		n++;
	}
	return n;
}
