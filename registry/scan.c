/*
 * The registry's Redis side: two connections on sockets the master
 * opened, a full scan of tcprouter's keys every `refresh` seconds, and
 * a rescan ~100 ms after any keyspace notification about them.
 *
 *   commands       AUTH, SELECT, then per scan and per prefix:
 *                  SCAN cursor MATCH prefix* COUNT 1000 until the cursor
 *                  is 0, each reply's keys fetched with MGET (<= 100 at
 *                  a time).  Never KEYS: it blocks the server.
 *   notifications  AUTH, SELECT, PSUBSCRIBE __keyspace@DB__:prefix* for
 *                  the four prefixes.  Nothing arrives unless the server
 *                  has notify-keyspace-events on; polling still works,
 *                  also when PSUBSCRIBE is refused (the connection is
 *                  then closed and only the commands one is kept).
 *
 * A scan's records become a table (records.c) whose bytes depend only
 * on the records, so an unchanged store gives the same bytes and
 * nothing is sent.  A failed or cut-short scan sends nothing: the
 * workers keep the last good table.  When either connection fails, both
 * are closed and opened again after a jittered exponential backoff
 * (0.5 s doubling to 30 s), with one log line per change of state.
 */
#include <sys/random.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "records.h"
#include "redis.h"
#include "registry.h"

#define RG_SCAN_COUNT		"1000"
#define RG_MGET_BATCH		100
#define RG_MAX_KEYS		200000	/* per scan */
#define RG_LOG_LINES		20	/* bad records logged per scan */
#define RG_DEBOUNCE		0.1	/* s from a notification to a rescan */
#define RG_BACKOFF_FIRST	0.5
#define RG_BACKOFF_MAX		30.0
#define RG_SETUP_TIMEOUT	10.0	/* s from asking for sockets to ready */

enum rg_state { RG_INIT, RG_UP, RG_DOWN };

static struct {
	struct ev_loop			*loop;
	const struct sl_dbbackend	*db;
	char				 where[SL_ADDRSTRLEN];
	char				 dbnum[16];
	char				 match[RG_NPREFIXES][40];
	char				 channel[RG_NPREFIXES][64];
	struct rconn			 conn[2];	/* commands, notifications */
	int				 setup_done[2];
	uint32_t			 req[2];	/* socket requests out */
	enum rg_state			 state;
	double				 backoff;
	ev_timer			 retry, setup, refresh, debounce;
	/* the scan in progress */
	int				 scanning, rescan, cap_logged;
	int				 pat, first;
	char				 cursor[24];
	char				**keys;
	size_t				*klens;
	size_t				 nkeys, kpos, batch, seen;
	struct rg_table			 tab;
	size_t				 skipped;
	char				*lines[RG_LOG_LINES];
	size_t				 nlines, nmore;
	uint64_t			 badhash, lastbadhash;
	/* the last table sent */
	char				*last;
	size_t				 lastlen;
} rg;

#define CMD	(&rg.conn[0])
#define SUB	(&rg.conn[1])

static void	rg_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	rg_bad(const char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	rg_scan_start(void);
static void	rg_scan_next(void);

/* ---- records that did not make it ---- */

static uint64_t
rg_fnv(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A key for a log line: printable, at most 200 bytes, then "...". */
static void
rg_keyfmt(char *dst, size_t dstlen, const char *key, size_t len)
{
	size_t	i, n = len < 200 ? len : 200;

	if (n + 4 > dstlen)
		n = dstlen - 4;
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)key[i]) && key[i] != '"' ?
		    key[i] : '?';
	if (n < len)
		memcpy(dst + n, "...", 3), n += 3;
	dst[n] = '\0';
}

/*
 * A record skipped: one line naming the key and the problem, kept
 * until the scan ends (RG_LOG_LINES at most, then a count) and logged
 * only when the set of problems changed since the last scan, so a bad
 * record that stays bad is reported once, not every refresh.
 */
static void
rg_bad(const char *key, size_t keylen, const char *fmt, ...)
{
	char	k[216], why[RG_WHY_MAX + 64], line[512];
	va_list	ap;

	rg.skipped++;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rg_keyfmt(k, sizeof(k), key, keylen);
	snprintf(line, sizeof(line), "skipped key \"%s\": %s", k, why);
	rg.badhash = rg_fnv(rg.badhash, line);
	if (rg.nlines < RG_LOG_LINES && (rg.lines[rg.nlines] =
	    strdup(line)) != NULL)
		rg.nlines++;
	else
		rg.nmore++;
}

static void
rg_dup(const struct rg_record *kept, const struct rg_record *dropped,
    void *arg)
{
	char	k[216];

	(void)arg;
	rg_keyfmt(k, sizeof(k), kept->key, strlen(kept->key));
	rg_bad(dropped->key, strlen(dropped->key), "duplicate service %s "
	    "(key \"%s\" has it)", dropped->name, k);
}

static void
rg_lines_flush(int emit)
{
	size_t	i;

	for (i = 0; i < rg.nlines; i++) {
		if (emit)
			log_warnx("%s", rg.lines[i]);
		free(rg.lines[i]);
	}
	if (emit && rg.nmore > 0)
		log_warnx("%zu more skipped keys not logged", rg.nmore);
	rg.nlines = rg.nmore = 0;
}

/* ---- the scan ---- */

static void
rg_keys_free(void)
{
	size_t	i;

	for (i = 0; i < rg.nkeys; i++)
		free(rg.keys[i]);
	free(rg.keys);
	free(rg.klens);
	rg.keys = NULL;
	rg.klens = NULL;
	rg.nkeys = rg.kpos = 0;
}

/* Forget a scan in progress (connection lost): nothing is sent. */
static void
rg_scan_abort(void)
{
	rg_keys_free();
	rg_table_free(&rg.tab);
	rg_lines_flush(0);
	rg.scanning = rg.rescan = 0;
}

/* A short text of an error reply, for a log line. */
static const char *
rg_errtext(const redisReply *r, char *buf, size_t len)
{
	if (r->type != REDIS_REPLY_ERROR || r->str == NULL)
		return "unexpected reply";
	rg_keyfmt(buf, len, r->str, r->len);
	return buf;
}

static void
rg_send_table(void)
{
	char	*json;
	size_t	 len = 0, count = 0;

	json = rg_table_json(&rg.tab, &len, &count, rg_dup, NULL);
	rg_table_free(&rg.tab);
	if (json == NULL) {
		log_warnx("table: out of memory; keeping the last one");
		return;
	}
	if (rg.last != NULL && len == rg.lastlen &&
	    memcmp(json, rg.last, len) == 0) {
		free(json);
		return;
	}
	if (len > SL_MAX_CONF_BYTES) {
		log_warnx("table of %zu services is %zu bytes, over the %u "
		    "byte limit; keeping the last one", count, len,
		    SL_MAX_CONF_BYTES);
		free(json);
		return;
	}
	registry_send_table(json, len, (uint32_t)count);
	log_info("%zu services from redis (%zu skipped)", count, rg.skipped);
	free(rg.last);
	rg.last = json;
	rg.lastlen = len;
}

static void
rg_scan_done(void)
{
	rg_keys_free();
	rg_send_table();
	rg_lines_flush(rg.badhash != rg.lastbadhash);
	rg.lastbadhash = rg.badhash;
	rg.scanning = 0;
	log_debug("scan done: %zu keys", rg.seen);
	if (rg.rescan) {
		rg.rescan = 0;
		rg_scan_start();
	}
}

/* MGET's answer: one value (or nil) per key asked, in order. */
static void
rg_mget_reply(struct rconn *c, const redisReply *r, void *arg)
{
	struct rg_record	 rec;
	const redisReply	*v;
	char			 why[RG_WHY_MAX], e[80];
	size_t			 i, k;

	(void)c;
	(void)arg;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != rg.batch) {
		rg_fail("MGET: %s", rg_errtext(r, e, sizeof(e)));
		return;
	}
	for (i = 0; i < rg.batch; i++) {
		k = rg.kpos + i;
		v = r->element[i];
		/* nil: deleted since SCAN, or not a string key. */
		if (v->type == REDIS_REPLY_NIL)
			continue;
		if (v->type != REDIS_REPLY_STRING) {
			rg_fail("MGET: value of unexpected type %d", v->type);
			return;
		}
		if (rg_record_parse(rg.keys[k], rg.klens[k], v->str, v->len,
		    &rec, why, sizeof(why)) == -1)
			rg_bad(rg.keys[k], rg.klens[k], "%s", why);
		else if (rg_table_add(&rg.tab, &rec) == -1) {
			rg_record_free(&rec);
			rg_fail("out of memory");
			return;
		}
	}
	rg.kpos += rg.batch;
	rg_scan_next();
}

static void
rg_mget(void)
{
	const char	*argv[RG_MGET_BATCH + 1];
	size_t		 argl[RG_MGET_BATCH + 1], i;

	rg.batch = rg.nkeys - rg.kpos;
	if (rg.batch > RG_MGET_BATCH)
		rg.batch = RG_MGET_BATCH;
	argv[0] = "MGET";
	argl[0] = 4;
	for (i = 0; i < rg.batch; i++) {
		argv[i + 1] = rg.keys[rg.kpos + i];
		argl[i + 1] = rg.klens[rg.kpos + i];
	}
	if (rconn_command(CMD, rg_mget_reply, NULL, (int)rg.batch + 1, argv,
	    argl) == -1)
		rg_fail("cannot queue MGET");
}

/* A SCAN cursor: decimal, as the server prints an unsigned 64-bit. */
static int
rg_cursor_ok(const redisReply *r)
{
	size_t	i;

	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
		return 0;
	for (i = 0; i < r->len; i++)
		if (!isdigit((unsigned char)r->str[i]))
			return 0;
	return 1;
}

/* Take the keys of one SCAN reply, up to RG_MAX_KEYS per scan. */
static int
rg_take_keys(const redisReply *list)
{
	const redisReply	*k;
	size_t			 i;

	if ((rg.keys = calloc(list->elements + 1, sizeof(*rg.keys))) == NULL ||
	    (rg.klens = calloc(list->elements + 1, sizeof(*rg.klens))) == NULL)
		return -1;
	for (i = 0; i < list->elements; i++) {
		k = list->element[i];
		if (k->type != REDIS_REPLY_STRING)
			return -1;
		if (rg.seen == RG_MAX_KEYS) {
			if (!rg.cap_logged)
				log_warnx("more than %d keys under the "
				    "tcprouter prefixes: the rest is ignored",
				    RG_MAX_KEYS);
			rg.cap_logged = 1;
			rg.pat = RG_NPREFIXES - 1;	/* stop here */
			strcpy(rg.cursor, "0");
			break;
		}
		rg.seen++;
		if (k->len > RG_MAX_KEY) {
			rg_bad(k->str, k->len, "key longer than %d bytes",
			    RG_MAX_KEY);
			continue;
		}
		if ((rg.keys[rg.nkeys] = malloc(k->len + 1)) == NULL)
			return -1;
		memcpy(rg.keys[rg.nkeys], k->str, k->len);
		rg.keys[rg.nkeys][k->len] = '\0';
		rg.klens[rg.nkeys++] = k->len;
	}
	return 0;
}

/* SCAN's answer: [cursor, [key, ...]]. */
static void
rg_scan_reply(struct rconn *c, const redisReply *r, void *arg)
{
	char	e[80];

	(void)c;
	(void)arg;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !rg_cursor_ok(r->element[0]) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		rg_fail("SCAN: %s", rg_errtext(r, e, sizeof(e)));
		return;
	}
	memcpy(rg.cursor, r->element[0]->str, r->element[0]->len);
	rg.cursor[r->element[0]->len] = '\0';
	if (rg_take_keys(r->element[1]) == -1) {
		rg_fail("SCAN: bad key list, or out of memory");
		return;
	}
	rg_scan_next();
}

/* The next command of the scan: MGET pending keys, SCAN on, or done. */
static void
rg_scan_next(void)
{
	const char	*argv[6];
	size_t		 argl[6], i;

	if (rg.kpos < rg.nkeys) {
		rg_mget();
		return;
	}
	rg_keys_free();
	if (!rg.first && strcmp(rg.cursor, "0") == 0) {
		if (++rg.pat == RG_NPREFIXES) {
			rg_scan_done();
			return;
		}
	}
	rg.first = 0;	/* the prefix's first SCAN is on its way */
	argv[0] = "SCAN";
	argv[1] = rg.cursor;
	argv[2] = "MATCH";
	argv[3] = rg.match[rg.pat];
	argv[4] = "COUNT";
	argv[5] = RG_SCAN_COUNT;
	for (i = 0; i < 6; i++)
		argl[i] = strlen(argv[i]);
	if (rconn_command(CMD, rg_scan_reply, NULL, 6, argv, argl) == -1)
		rg_fail("cannot queue SCAN");
}

static void
rg_scan_start(void)
{
	if (!rg.setup_done[0])
		return;
	if (rg.scanning) {
		rg.rescan = 1;
		return;
	}
	rg.scanning = 1;
	rg.pat = 0;
	rg.first = 1;
	strcpy(rg.cursor, "0");
	rg.seen = rg.skipped = 0;
	rg.badhash = 0xcbf29ce484222325ULL;
	rg_table_init(&rg.tab);
	rg_scan_next();
}

static void
rg_refresh_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	rg_scan_start();
}

/* ---- notifications ---- */

/*
 * Anything on the notification connection: psubscribe confirmations,
 * and a pmessage per change to a key under the prefixes.  A burst of
 * changes costs one rescan: the first starts the debounce timer.
 */
static void
rg_push(struct rconn *c, const redisReply *r, void *arg)
{
	const redisReply	*k;

	char			 e[80];

	(void)arg;
	/*
	 * PSUBSCRIBE refused (an ACL, a proxy that has no pub/sub): the
	 * polling goes on without it.
	 */
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("keyspace notifications unavailable (%s); polling "
		    "every %u s", rg_errtext(r, e, sizeof(e)), rg.db->refresh_s);
		rconn_close(c);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    (k = r->element[0])->type != REDIS_REPLY_STRING) {
		rg_fail("unexpected reply on the notification connection");
		return;
	}
	if (strcmp(k->str, "psubscribe") == 0)
		return;
	if (strcmp(k->str, "pmessage") != 0 || r->elements != 4) {
		rg_fail("unexpected message on the notification connection");
		return;
	}
	if (!ev_is_active(&rg.debounce)) {
		ev_timer_set(&rg.debounce, RG_DEBOUNCE, 0.);
		ev_timer_start(rg.loop, &rg.debounce);
	}
}

static void
rg_debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	rg_scan_start();
}

static void
rg_subscribe(void)
{
	const char	*argv[1 + RG_NPREFIXES];
	size_t		 argl[1 + RG_NPREFIXES], i;

	argv[0] = "PSUBSCRIBE";
	for (i = 0; i < RG_NPREFIXES; i++)
		argv[i + 1] = rg.channel[i];
	for (i = 0; i < 1 + RG_NPREFIXES; i++)
		argl[i] = strlen(argv[i]);
	if (rconn_command(SUB, NULL, NULL, 1 + RG_NPREFIXES, argv, argl) == -1)
		rg_fail("cannot queue PSUBSCRIBE");
}

/* ---- connections ---- */

static void
rg_up(void)
{
	ev_timer_stop(rg.loop, &rg.setup);
	rg.backoff = RG_BACKOFF_FIRST;
	if (rg.state != RG_UP)
		log_info("connected to redis %s", rg.where);
	rg.state = RG_UP;
	ev_timer_set(&rg.refresh, rg.db->refresh_s, rg.db->refresh_s);
	ev_timer_start(rg.loop, &rg.refresh);
}

/* The last set-up command (PING after AUTH and SELECT) answered. */
static void
rg_setup_reply(struct rconn *c, const redisReply *r, void *arg)
{
	int	i = c == CMD ? 0 : 1;
	char	e[80];

	(void)arg;
	if (!rconn_is_status(r, "PONG")) {
		rg_fail("%s connection: %s", c->name,
		    rg_errtext(r, e, sizeof(e)));
		return;
	}
	rg.setup_done[i] = 1;
	if (i == 1)
		rg_subscribe();
	else
		rg_scan_start();
	if (rg.setup_done[0] && rg.setup_done[1])
		rg_up();
}

/* AUTH and SELECT must say OK; an error names itself. */
static void
rg_ok_reply(struct rconn *c, const redisReply *r, void *arg)
{
	char	e[80];

	if (!rconn_is_status(r, "OK"))
		rg_fail("%s: %s", (const char *)arg, rg_errtext(r, e,
		    sizeof(e)));
	(void)c;
}

static char	rg_auth[] = "AUTH", rg_select[] = "SELECT";

static void
rg_connected(struct rconn *c, void *arg)
{
	const char	*argv[2];
	size_t		 argl[2];
	int		 rc = 0;

	(void)arg;
	if (rg.db->password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = rg.db->password;
		argl[0] = 4;
		argl[1] = strlen(rg.db->password);
		rc |= rconn_command(c, rg_ok_reply, rg_auth, 2, argv, argl);
	}
	if (rg.db->db != 0) {
		argv[0] = "SELECT";
		argv[1] = rg.dbnum;
		argl[0] = 6;
		argl[1] = strlen(rg.dbnum);
		rc |= rconn_command(c, rg_ok_reply, rg_select, 2, argv, argl);
	}
	argv[0] = "PING";
	argl[0] = 4;
	rc |= rconn_command(c, rg_setup_reply, NULL, 1, argv, argl);
	if (rc != 0)
		rg_fail("cannot queue the set-up commands");
}

static void
rg_conn_failed(struct rconn *c, const char *why, void *arg)
{
	(void)arg;
	rg_fail("%s connection: %s", c->name, why);
}

static const struct rconn_cbs rg_cmd_cbs = {
	rg_connected, rg_conn_failed, NULL,
};
static const struct rconn_cbs rg_sub_cbs = {
	rg_connected, rg_conn_failed, rg_push,
};

/* A delay in [d, 1.5 d): never sooner than the backoff says. */
static double
rg_jitter(double d)
{
	uint32_t	r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = 0;
	d *= 1.0 + 0.5 * (double)r / 4294967296.0;
	return d > RG_BACKOFF_MAX ? RG_BACKOFF_MAX : d;
}

/* Both connections go, and come back after the backoff. */
static void
rg_fail(const char *fmt, ...)
{
	char	why[256];
	double	delay;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rconn_close(CMD);
	rconn_close(SUB);
	rg.setup_done[0] = rg.setup_done[1] = 0;
	rg.req[0] = rg.req[1] = 0;	/* late answers are closed */
	ev_timer_stop(rg.loop, &rg.setup);
	ev_timer_stop(rg.loop, &rg.refresh);
	ev_timer_stop(rg.loop, &rg.debounce);
	ev_timer_stop(rg.loop, &rg.retry);
	rg_scan_abort();
	delay = rg_jitter(rg.backoff);
	rg.backoff = rg.backoff * 2 > RG_BACKOFF_MAX ? RG_BACKOFF_MAX :
	    rg.backoff * 2;
	if (rg.state != RG_DOWN)
		log_warnx("redis %s unreachable: %s, retrying in %.1f s",
		    rg.where, why, delay);
	else
		log_debug("redis %s: %s, retrying in %.1f s", rg.where, why,
		    delay);
	rg.state = RG_DOWN;
	ev_timer_set(&rg.retry, delay, 0.);
	ev_timer_start(rg.loop, &rg.retry);
}

static void
rg_connect(void)
{
	size_t	i;

	for (i = 0; i < 2; i++) {
		if ((rg.req[i] = registry_ask_socket()) == 0) {
			rg_fail("cannot ask the master for a socket");
			return;
		}
	}
	ev_timer_set(&rg.setup, RG_SETUP_TIMEOUT, 0.);
	ev_timer_start(rg.loop, &rg.setup);
}

static void
rg_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	rg_connect();
}

static void
rg_setup_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	rg_fail("not ready after %.0f s", RG_SETUP_TIMEOUT);
}

void
scan_socket(uint32_t id, int fd, int err)
{
	size_t	i;

	for (i = 0; i < 2 && (id == 0 || rg.req[i] != id); i++)
		;
	if (i == 2) {
		if (fd != -1)
			close(fd);	/* for a session given up meanwhile */
		return;
	}
	rg.req[i] = 0;
	if (fd == -1) {
		rg_fail("the master made no socket: %s", strerror(err));
		return;
	}
	if (rconn_attach(&rg.conn[i], fd) == -1)
		rg_fail("out of memory");
}

void
scan_table_lost(void)
{
	free(rg.last);
	rg.last = NULL;
	rg.lastlen = 0;
}

void
scan_init(struct ev_loop *loop, const struct sl_dbbackend *db)
{
	size_t	i;

	memset(&rg, 0, sizeof(rg));
	rg.loop = loop;
	rg.db = db;
	rg.backoff = RG_BACKOFF_FIRST;
	sockaddr_fmt((const struct sockaddr *)&db->addr, rg.where,
	    sizeof(rg.where));
	snprintf(rg.dbnum, sizeof(rg.dbnum), "%u", db->db);
	for (i = 0; i < RG_NPREFIXES; i++) {
		snprintf(rg.match[i], sizeof(rg.match[i]), "%s*",
		    rg_prefixes[i]);
		snprintf(rg.channel[i], sizeof(rg.channel[i]),
		    "__keyspace@%u__:%s*", db->db, rg_prefixes[i]);
	}
	rconn_init(CMD, loop, &rg_cmd_cbs, NULL, "commands");
	rconn_init(SUB, loop, &rg_sub_cbs, NULL, "notifications");
	ev_init(&rg.retry, rg_retry_cb);
	ev_init(&rg.setup, rg_setup_cb);
	ev_init(&rg.refresh, rg_refresh_cb);
	ev_init(&rg.debounce, rg_debounce_cb);
	rg_table_init(&rg.tab);
}

void
scan_start(void)
{
	rg_connect();
}
