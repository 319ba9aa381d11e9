/*
 * Tests for registry/scan.c and registry/redis.c against a fake Redis
 * server in the same event loop: the commands the registry sends (AUTH,
 * SELECT, PING, SCAN with MATCH/COUNT per prefix, MGET, PSUBSCRIBE), the
 * table it hands over, a rescan after a keyspace notification, and what
 * a hostile server gets for wrong reply types, wrong shapes, huge
 * arrays, deep nesting, a reply over 16 MiB and errors: a failed
 * session, one log line, no table, and a reconnect; never a crash.
 *
 * The registry's two sockets are socketpair ends handed to
 * scan_socket() where the master would hand a TCP socket.
 * registry_ask_socket() and registry_send_table() are stubbed here
 * (registry.c is not linked).  Part of the check_redis_records
 * executable.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <check.h>
#include <hiredis/hiredis.h>

#include "common/log.h"
#include "common/util.h"
#include "registry/registry.h"
#include "check_redis.h"

#define MAXKEYS		8
#define MAXASKS		16

struct fake {
	int		 fd;
	ev_io		 rd, wr;
	redisReader	*reader;
	char		*out;
	size_t		 outlen, outoff;
	char		 seen[512];	/* command names, space separated */
};

static struct {
	struct ev_loop		*loop;
	struct sl_dbbackend	 db;
	uint32_t		 asks[MAXASKS];
	int			 nasks;
	char			*table;		/* the last one sent */
	int			 ntables;
	uint32_t		 count;
	char			 log[16384];
	struct fake		 srv[2];	/* commands, notifications */
	const char		*keys[MAXKEYS], *vals[MAXKEYS];
	int			 nkeys;
	/* A hostile answer to the first command of this name. */
	const char		*evil_cmd;
	const char		*evil;
	size_t			 evil_len;
} fx;

/* ---- stubs of registry.c ---- */

uint32_t
registry_ask_socket(void)
{
	ck_assert_int_lt(fx.nasks, MAXASKS);
	fx.asks[fx.nasks] = 1000 + (uint32_t)fx.nasks;
	return fx.asks[fx.nasks++];
}

void
registry_send_table(const char *json, size_t len, uint32_t count)
{
	free(fx.table);
	ck_assert_ptr_nonnull(fx.table = strndup(json, len));
	fx.count = count;
	fx.ntables++;
}

static void
capture(int level, const char *line, void *arg)
{
	size_t	n = strlen(fx.log);

	(void)level;
	(void)arg;
	snprintf(fx.log + n, sizeof(fx.log) - n, "%s\n", line);
}

/* ---- the fake server ---- */

static void
fake_flush(struct fake *f)
{
	ssize_t	n;

	while (f->outoff < f->outlen) {
		n = write(f->fd, f->out + f->outoff, f->outlen - f->outoff);
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {		/* the registry hung up: drop it */
			f->outoff = f->outlen;
			break;
		}
		f->outoff += (size_t)n;
	}
	if (f->outoff < f->outlen)
		ev_io_start(fx.loop, &f->wr);
	else
		ev_io_stop(fx.loop, &f->wr);
}

static void
fake_send(struct fake *f, const char *p, size_t n)
{
	ck_assert_ptr_nonnull(f->out = realloc(f->out, f->outlen + n));
	memcpy(f->out + f->outlen, p, n);
	f->outlen += n;
	fake_flush(f);
}

static void	fake_sendf(struct fake *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
fake_sendf(struct fake *f, const char *fmt, ...)
{
	char	buf[4096];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(buf));
	fake_send(f, buf, (size_t)n);
}

static void
fake_bulk(struct fake *f, const char *s)
{
	if (s == NULL) {
		fake_sendf(f, "$-1\r\n");
		return;
	}
	fake_sendf(f, "$%zu\r\n", strlen(s));
	fake_send(f, s, strlen(s));
	fake_send(f, "\r\n", 2);
}

/* SCAN 0 MATCH prefix* COUNT n: every key under prefix, cursor 0. */
static void
fake_scan(struct fake *f, const redisReply *c)
{
	const char	*pat = c->element[3]->str;
	size_t		 plen = strlen(pat) - 1;
	int		 i, n = 0;

	ck_assert_uint_eq(c->elements, 6);
	ck_assert_str_eq(c->element[2]->str, "MATCH");
	ck_assert_str_eq(c->element[4]->str, "COUNT");
	ck_assert_int_eq(pat[plen], '*');
	for (i = 0; i < fx.nkeys; i++)
		n += strncmp(fx.keys[i], pat, plen) == 0;
	fake_sendf(f, "*2\r\n$1\r\n0\r\n*%d\r\n", n);
	for (i = 0; i < fx.nkeys; i++)
		if (strncmp(fx.keys[i], pat, plen) == 0)
			fake_bulk(f, fx.keys[i]);
}

static void
fake_mget(struct fake *f, const redisReply *c)
{
	size_t	i;
	int	k;

	fake_sendf(f, "*%zu\r\n", c->elements - 1);
	for (i = 1; i < c->elements; i++) {
		for (k = 0; k < fx.nkeys; k++)
			if (strcmp(fx.keys[k], c->element[i]->str) == 0)
				break;
		fake_bulk(f, k < fx.nkeys ? fx.vals[k] : NULL);
	}
}

static void
fake_command(struct fake *f, const redisReply *c)
{
	const char	*name = c->element[0]->str;
	size_t		 i;

	strncat(f->seen, name, sizeof(f->seen) - strlen(f->seen) - 2);
	strcat(f->seen, " ");
	if (fx.evil_cmd != NULL && strcmp(name, fx.evil_cmd) == 0) {
		fx.evil_cmd = NULL;
		fake_send(f, fx.evil, fx.evil_len);
	} else if (strcmp(name, "AUTH") == 0 || strcmp(name, "SELECT") == 0)
		fake_sendf(f, "+OK\r\n");
	else if (strcmp(name, "PING") == 0)
		fake_sendf(f, "+PONG\r\n");
	else if (strcmp(name, "PSUBSCRIBE") == 0)
		for (i = 1; i < c->elements; i++) {
			fake_sendf(f, "*3\r\n");
			fake_bulk(f, "psubscribe");
			fake_bulk(f, c->element[i]->str);
			fake_sendf(f, ":%zu\r\n", i);
		}
	else if (strcmp(name, "SCAN") == 0)
		fake_scan(f, c);
	else if (strcmp(name, "MGET") == 0)
		fake_mget(f, c);
	else
		ck_abort_msg("fake redis: unexpected %s", name);
}

static void
fake_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake	*f = w->data;
	char		 buf[65536];
	void		*r;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	if ((n = read(f->fd, buf, sizeof(buf))) <= 0) {
		ev_io_stop(fx.loop, &f->rd);
		return;
	}
	ck_assert_int_eq(redisReaderFeed(f->reader, buf, (size_t)n), REDIS_OK);
	for (;;) {
		ck_assert_int_eq(redisReaderGetReply(f->reader, &r), REDIS_OK);
		if (r == NULL)
			break;
		ck_assert_int_eq(((redisReply *)r)->type, REDIS_REPLY_ARRAY);
		fake_command(f, r);
		freeReplyObject(r);
	}
}

static void
fake_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	fake_flush(w->data);
}

/* Answer the registry's socket requests with fresh socketpairs. */
static void
connect_both(void)
{
	int	sv[2], i;

	ck_assert_int_ge(fx.nasks, 2);
	for (i = 0; i < 2; i++) {
		struct fake *f = &fx.srv[i];

		if (f->reader != NULL) {
			ev_io_stop(fx.loop, &f->rd);
			ev_io_stop(fx.loop, &f->wr);
			redisReaderFree(f->reader);
			close(f->fd);
			free(f->out);
		}
		memset(f, 0, sizeof(*f));
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0, sv), 0);
		f->fd = sv[1];
		ck_assert_ptr_nonnull(f->reader = redisReaderCreate());
		ev_io_init(&f->rd, fake_read_cb, f->fd, EV_READ);
		ev_io_init(&f->wr, fake_write_cb, f->fd, EV_WRITE);
		f->rd.data = f->wr.data = f;
		ev_io_start(fx.loop, &f->rd);
		scan_socket(fx.asks[fx.nasks - 2 + i], sv[0], 0);
	}
}

static void
tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Run the loop until cond() holds; false after timeout seconds. */
static int
run_until(int (*cond)(void), double timeout)
{
	ev_timer	t;
	ev_tstamp	end;

	ev_timer_init(&t, tick, 0.01, 0.01);
	ev_timer_start(fx.loop, &t);
	ev_now_update(fx.loop);
	end = ev_now(fx.loop) + timeout;
	while (!cond() && ev_now(fx.loop) < end)
		ev_run(fx.loop, EVRUN_ONCE);
	ev_timer_stop(fx.loop, &t);
	return cond();
}

static int	ntables_want;

static int
got_table(void)
{
	return fx.ntables >= ntables_want;
}

static int
asked_again(void)
{
	return fx.nasks >= 4;
}

static void
store(const char *key, const char *val)
{
	ck_assert_int_lt(fx.nkeys, MAXKEYS);
	fx.keys[fx.nkeys] = key;
	fx.vals[fx.nkeys++] = val;
}

/* A registry connected to the fake server with a few records. */
static void
setup(const char *password, uint32_t db)
{
	memset(&fx, 0, sizeof(fx));
	signal(SIGPIPE, SIG_IGN);
	log_init("registry", SL_LOG_DEBUG);
	log_set_sink(capture, NULL);
	ck_assert_ptr_nonnull(fx.loop = ev_loop_new(EVBACKEND_EPOLL));
	fx.db.enabled = 1;
	fx.db.refresh_s = 30;
	fx.db.db = db;
	snprintf(fx.db.password, sizeof(fx.db.password), "%s", password);
	ck_assert_int_eq(sockaddr_from_ip("127.0.0.1", 6379, &fx.db.addr,
	    &fx.db.addrlen), 0);
	store("/tcprouter/services/a.test", "{\"addr\":\"10.0.0.1\","
	    "\"httpport\":80}");
	store("tcprouter/service/b", "{\"Value\":\"eyJhZGRyIjoiMTAuMC4wLjI6"
	    "NDQzIiwic25pIjoiYi50ZXN0In0=\"}");
	store("/tcprouter/services/bad.test", "{\"addr\":\"0.0.0.0\"}");
	store("unrelated", "{\"addr\":\"10.0.0.3\"}");
	scan_init(fx.loop, &fx.db);
	scan_start();
	ck_assert_int_eq(fx.nasks, 2);
}

#define B_TABLE	"{\"a.test\":{\"addr\":\"10.0.0.1\",\"httpport\":80}," \
		"\"b.test\":{\"addr\":\"10.0.0.2:443\"}}"

START_TEST(t_scan)
{
	setup("", 0);
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	ck_assert_str_eq(fx.table, B_TABLE);
	ck_assert_uint_eq(fx.count, 2);
	ck_assert_str_eq(fx.srv[0].seen, "PING SCAN MGET SCAN SCAN SCAN MGET ");
	ck_assert_str_eq(fx.srv[1].seen, "PING PSUBSCRIBE ");
	ck_assert_ptr_nonnull(strstr(fx.log, "connected to redis "
	    "127.0.0.1:6379"));
	ck_assert_ptr_nonnull(strstr(fx.log, "2 services from redis "
	    "(1 skipped)"));
	ck_assert_ptr_nonnull(strstr(fx.log, "skipped key "
	    "\"/tcprouter/services/bad.test\": addr is not an address"));
}
END_TEST

START_TEST(t_auth_select)
{
	setup("s3cret", 5);
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	ck_assert_str_eq(fx.srv[0].seen, "AUTH SELECT PING SCAN MGET SCAN "
	    "SCAN SCAN MGET ");
	ck_assert_str_eq(fx.srv[1].seen, "AUTH SELECT PING PSUBSCRIBE ");
}
END_TEST

/* Commands named name the fake server has seen on connection i. */
static int
seen_count(int i, const char *name)
{
	const char	*p = fx.srv[i].seen;
	int		 n = 0;

	while ((p = strstr(p, name)) != NULL) {
		n++;
		p += strlen(name);
	}
	return n;
}

static int
second_scan_done(void)
{
	return seen_count(0, "MGET") >= 4;
}

/*
 * A keyspace notification: a rescan within the debounce, a new table
 * only when something changed, and bad records not logged again.
 */
START_TEST(t_notify)
{
	static const char	msg[] = "*4\r\n$8\r\npmessage\r\n$3\r\npat\r\n"
	    "$30\r\n__keyspace@0__:tcprouter/svc/x\r\n$3\r\nset\r\n";

	setup("", 0);
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	fx.log[0] = '\0';
	fake_send(&fx.srv[1], msg, sizeof(msg) - 1);
	fake_send(&fx.srv[1], msg, sizeof(msg) - 1);	/* one rescan */
	ck_assert_msg(run_until(second_scan_done, 1), "%s | %s | %s",
	    fx.srv[0].seen, fx.srv[1].seen, fx.log);
	ntables_want = 2;
	ck_assert(!run_until(got_table, 0.3));		/* same records */
	ck_assert_int_eq(seen_count(0, "MGET"), 4);
	ck_assert_ptr_null(strstr(fx.log, "skipped key"));
	fx.vals[0] = "{\"addr\":\"10.0.0.9\",\"httpport\":81}";
	fake_send(&fx.srv[1], msg, sizeof(msg) - 1);
	ck_assert(run_until(got_table, 1));
	ck_assert_ptr_nonnull(strstr(fx.table, "10.0.0.9"));
}
END_TEST

/* Hostile answers to one command: the session fails, nothing is sent. */
static const struct {
	const char	*cmd, *reply, *why;
} evil[] = {
	{ "SCAN", ":5\r\n", "SCAN: unexpected reply" },
	{ "SCAN", "-ERR no\r\n", "SCAN: ERR no" },
	{ "SCAN", "*3\r\n$1\r\n0\r\n*0\r\n$0\r\n\r\n", "SCAN" },
	{ "SCAN", "*2\r\n$2\r\n1x\r\n*0\r\n", "SCAN" },
	{ "SCAN", "*2\r\n$1\r\n0\r\n*1\r\n:7\r\n", "bad key list" },
	{ "SCAN", "*2\r\n$1\r\n0\r\n$1\r\nx\r\n", "SCAN" },
	{ "SCAN", "*2000000\r\n", "too many elements" },
	{ "SCAN", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
	    "*1\r\n:1\r\n", "protocol error" },
	{ "SCAN", "%0\r\n", "protocol error" },
	{ "MGET", "*0\r\n", "MGET" },
	{ "MGET", "*2\r\n:1\r\n:2\r\n", "MGET" },
	{ "MGET", "*2\r\n$1\r\n{\r\n*0\r\n", "unexpected type" },
	{ "PING", "+OK\r\n", " connection: unexpected reply" },
	{ "AUTH", "-WRONGPASS invalid password\r\n", "AUTH: WRONGPASS" },
	{ "SELECT", "-ERR DB index is out of range\r\n", "SELECT: ERR DB" },
	{ "PSUBSCRIBE", ":1\r\n", "notification connection" },
	{ "PSUBSCRIBE", "$3\r\nabc\r\n", "notification connection" },
	{ "PSUBSCRIBE", "*2\r\n$4\r\nspam\r\n$1\r\nx\r\n",
	    "notification connection" },
};

START_TEST(t_hostile)
{
	setup("pw", 3);
	fx.evil_cmd = evil[_i].cmd;
	fx.evil = evil[_i].reply;
	fx.evil_len = strlen(evil[_i].reply);
	connect_both();
	ck_assert_msg(run_until(asked_again, 5), "%s %s: no reconnect",
	    evil[_i].cmd, evil[_i].reply);
	ck_assert_int_eq(fx.ntables, 0);
	ck_assert_msg(strstr(fx.log, "unreachable") != NULL &&
	    strstr(fx.log, evil[_i].why) != NULL, "%s: log lacks \"%s\":\n%s",
	    evil[_i].reply, evil[_i].why, fx.log);
	/* The next session works. */
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	ck_assert_str_eq(fx.table, B_TABLE);
}
END_TEST

/* PSUBSCRIBE refused: one line, and the polling goes on. */
START_TEST(t_no_notify)
{
	static const char	deny[] = "-NOPERM no pub/sub for you\r\n";

	setup("", 0);
	fx.evil_cmd = "PSUBSCRIBE";
	fx.evil = deny;
	fx.evil_len = sizeof(deny) - 1;
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	ck_assert(!run_until(asked_again, 0.8));
	ck_assert_ptr_nonnull(strstr(fx.log, "keyspace notifications "
	    "unavailable (NOPERM no pub/sub for you); polling every 30 s"));
	ck_assert_ptr_null(strstr(fx.log, "unreachable"));
}
END_TEST

/* A bulk string larger than the reader may hold, sent in full. */
START_TEST(t_huge_reply)
{
	size_t	n = (17u << 20);
	char	*big;

	setup("", 0);
	ck_assert_ptr_nonnull(big = malloc(n + 32));
	memset(big, 'x', n + 32);
	memcpy(big, "$18000000\r\n", 11);
	fx.evil_cmd = "SCAN";
	fx.evil = big;
	fx.evil_len = n;
	connect_both();
	ck_assert(run_until(asked_again, 10));
	ck_assert_ptr_nonnull(strstr(fx.log, "reply larger than 16 MiB"));
	ck_assert_int_eq(fx.ntables, 0);
	free(big);
}
END_TEST

/* A value over 64 KiB is one skipped record, not a failed scan. */
START_TEST(t_big_value)
{
	char	*v;

	setup("", 0);
	ck_assert_ptr_nonnull(v = malloc(70000));
	memset(v, ' ', 69999);
	memcpy(v, "{\"addr\":\"10.0.0.5\"}", 19);
	v[69999] = '\0';
	store("/tcprouter/services/big.test", v);
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	ck_assert_str_eq(fx.table, B_TABLE);
	ck_assert_ptr_nonnull(strstr(fx.log, "skipped key "
	    "\"/tcprouter/services/big.test\": value over 65536 bytes"));
	free(v);
}
END_TEST

/* The server goes: one line, then sockets again after the backoff. */
START_TEST(t_server_gone)
{
	setup("", 0);
	connect_both();
	ntables_want = 1;
	ck_assert(run_until(got_table, 5));
	shutdown(fx.srv[1].fd, SHUT_RDWR);
	ck_assert(run_until(asked_again, 5));
	ck_assert_ptr_nonnull(strstr(fx.log, "redis 127.0.0.1:6379 "
	    "unreachable: notifications connection: connection closed by "
	    "the server, retrying in 0."));
	/* Connected again with the same records: nothing new to send. */
	connect_both();
	ntables_want = 2;
	ck_assert(!run_until(got_table, 0.5));
	ck_assert_int_eq(fx.ntables, 1);
}
END_TEST

static int	nasks_want;

static int
asked(void)
{
	return fx.nasks >= nasks_want;
}

/* Refused sockets back off: 0.5 s, then about twice as long. */
START_TEST(t_backoff)
{
	ev_tstamp	t0;

	setup("", 0);
	scan_socket(fx.asks[0], -1, ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(fx.log, "Connection refused, retrying "
	    "in 0."));
	scan_socket(fx.asks[1], -1, ECONNREFUSED);	/* given up: ignored */
	ev_now_update(fx.loop);
	t0 = ev_now(fx.loop);
	nasks_want = 4;
	ck_assert(run_until(asked, 2));
	ck_assert_double_ge(ev_now(fx.loop) - t0, 0.45);
	ck_assert_double_lt(ev_now(fx.loop) - t0, 0.9);
	fx.log[0] = '\0';
	scan_socket(fx.asks[2], -1, ECONNREFUSED);
	ck_assert_ptr_null(strstr(fx.log, "unreachable"));	/* still down */
	nasks_want = 6;
	ck_assert(!run_until(asked, 0.9));		/* 1 s at least */
	ck_assert(run_until(asked, 1));
}
END_TEST

/* An answer for a request given up: its fd is closed, nothing else. */
START_TEST(t_stale_answer)
{
	int	sv[2];

	setup("", 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	scan_socket(424242, sv[0], 0);
	ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	close(sv[1]);
	ck_assert_int_eq(fx.nasks, 2);
}
END_TEST

TCase *
redis_scan_tcase(void)
{
	TCase	*tc;

	tc = tcase_create("scan");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_scan);
	tcase_add_test(tc, t_auth_select);
	tcase_add_test(tc, t_notify);
	tcase_add_loop_test(tc, t_hostile, 0,
	    (int)(sizeof(evil) / sizeof(evil[0])));
	tcase_add_test(tc, t_no_notify);
	tcase_add_test(tc, t_huge_reply);
	tcase_add_test(tc, t_big_value);
	tcase_add_test(tc, t_server_gone);
	tcase_add_test(tc, t_backoff);
	tcase_add_test(tc, t_stale_answer);
	return tc;
}
