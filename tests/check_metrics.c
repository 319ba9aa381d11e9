/*
 * The metrics listener's pure parts: the exposition text of a region
 * with known values (exact lines), of a scribbled region (clamped, no
 * crash), label escaping, the size cap, and the request-head parser.
 */
#include <sys/mman.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_build.h"
#include "policy/config.h"
#include "policy/counters.h"
#include "worker/metrics_text.h"

#define NWORKERS	2
#define NLINKS		2
#define NOW_MS		1000000

struct fixture {
	struct sl_conf	*conf;
	struct sl_shm	*shm;
	struct mt_buf	 out;
};

static void
fixture_init(struct fixture *f)
{
	struct sl_conf	*c;

	ck_assert_ptr_nonnull(c = calloc(1, sizeof(*c)));
	ck_assert_ptr_nonnull(c->links = calloc(NLINKS, sizeof(*c->links)));
	c->nlinks = NLINKS;
	snprintf(c->links[0].name, sizeof(c->links[0].name), "good");
	snprintf(c->links[1].name, sizeof(c->links[1].name), "q\"uo\\te");
	c->links[0].max_fails = c->links[1].max_fails = 3;
	c->links[0].cooldown_ms = c->links[1].cooldown_ms = 10000;
	c->nlisteners = 2;
	snprintf(c->listeners[0].name, sizeof(c->listeners[0].name), "socks");
	c->listeners[0].kind = SL_LISTEN_SOCKS5;
	snprintf(c->listeners[1].name, sizeof(c->listeners[1].name), "prom");
	c->listeners[1].kind = SL_LISTEN_METRICS;
	f->conf = c;
	ck_assert_ptr_nonnull(f->shm = shm_alloc(NWORKERS, NLINKS));
	mt_buf_init(&f->out, METRICS_MAX_TEXT);
}

static void
fixture_free(struct fixture *f)
{
	mt_buf_free(&f->out);
	shm_free(f->shm);
	free(f->conf->links);
	free(f->conf);
}

/* Render, NUL-terminate, and return the text. */
static const char *
render(struct fixture *f)
{
	struct metrics_src	src = { f->conf, f->shm, NOW_MS };

	ck_assert_int_eq(metrics_render(&f->out, &src), 0);
	ck_assert_int_eq(mt_buf_put(&f->out, "", 1), 0);
	return f->out.data;
}

/* The text has this whole line. */
static void
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	ck_abort_msg("line not found: %s", line);
}

START_TEST(t_known_values)
{
	struct fixture		 f;
	struct sl_link_ctr	*c;
	struct sl_worker_ctr	*w;
	const char		*t;

	fixture_init(&f);
	c = shm_ctr(f.shm, 0, 0);
	c->opened = 3;
	c->active = 1;
	c->bytes_up = 1000;
	c->bytes_down = 2000;
	shm_connect_time(c, 3);
	shm_connect_time(c, 40);
	c = shm_ctr(f.shm, 1, 0);
	c->opened = 2;
	shm_connect_time(c, 9000);
	/* The carried row counts in totals. */
	shm_ctr(f.shm, NWORKERS, 0)->bytes_up = 24;
	shm_ctr(f.shm, 0, 1)->failed = 4;
	shm_health(f.shm, 0, 1)->fails = 3;
	shm_health(f.shm, 0, 1)->streak_ms = NOW_MS - 10;
	shm_health(f.shm, 0, 1)->down_until_ms = NOW_MS + 5000;
	shm_health(f.shm, 1, 1)->fails = 1;
	shm_health(f.shm, 1, 1)->streak_ms = NOW_MS - 5;
	w = shm_worker(f.shm, 0);
	w->sessions = 5;
	w->handshakes = 1;
	w->udp_dropped = 6;
	w->listeners[0].opened = 7;
	w->listeners[0].active = 2;
	w->listeners[0].errors[SL_FERR_TIMEOUT] = 1;
	shm_worker(f.shm, 1)->listeners[0].errors[SL_FERR_CONN_REFUSED] = 2;
	shm_worker(f.shm, NWORKERS)->udp_dropped = 1;
	f.shm->global->started_unix = 1700000000;
	f.shm->global->generation = 3;
	f.shm->global->reloads = 2;
	f.shm->resolver->lookups = 11;
	f.shm->resolver->cache_hits = 4;
	f.shm->resolver->failures = 1;
	t = render(&f);
	has_line(t, "sluice_build_info{version=\"" SLUICE_VERSION "\"} 1");
	has_line(t, "# TYPE sluice_build_info gauge");
	has_line(t, "sluice_start_time_seconds 1700000000");
	has_line(t, "sluice_config_generation 3");
	has_line(t, "sluice_reloads_total 2");
	has_line(t, "# TYPE sluice_reloads_total counter");
	has_line(t, "sluice_reload_failures_total 0");
	has_line(t, "sluice_process_restarts_total 0");
	has_line(t, "sluice_sessions_open 5");
	has_line(t, "sluice_handshakes_open 1");
	has_line(t, "sluice_listener_sessions_open{listener=\"socks\","
	    "kind=\"socks5\"} 2");
	has_line(t, "sluice_listener_sessions_total{listener=\"socks\","
	    "kind=\"socks5\"} 7");
	has_line(t, "sluice_listener_sessions_total{listener=\"prom\","
	    "kind=\"metrics\"} 0");
	has_line(t, "sluice_frontend_errors_total{listener=\"socks\","
	    "kind=\"socks5\",reason=\"handshake_timeout\"} 1");
	has_line(t, "sluice_frontend_errors_total{listener=\"socks\","
	    "kind=\"socks5\",reason=\"connection_refused\"} 2");
	has_line(t, "sluice_frontend_errors_total{listener=\"prom\","
	    "kind=\"metrics\",reason=\"other\"} 0");
	has_line(t, "sluice_link_sessions_open{link=\"good\"} 1");
	has_line(t, "sluice_link_sessions_total{link=\"good\"} 5");
	has_line(t, "sluice_link_connect_failures_total{link=\"q\\\"uo\\\\te\"}"
	    " 4");
	has_line(t, "sluice_link_sent_bytes_total{link=\"good\"} 1024");
	has_line(t, "sluice_link_received_bytes_total{link=\"good\"} 2000");
	has_line(t, "sluice_link_up{link=\"good\"} 1");
	has_line(t, "sluice_link_up{link=\"q\\\"uo\\\\te\"} 0");
	has_line(t, "sluice_link_consecutive_failures{link=\"q\\\"uo\\\\te\"}"
	    " 4");
	has_line(t, "# TYPE sluice_link_connect_duration_seconds histogram");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"0.001\"} 0");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"0.005\"} 1");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"0.05\"} 2");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"2.5\"} 2");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"5\"} 2");
	has_line(t, "sluice_link_connect_duration_seconds_bucket{link=\"good\","
	    "le=\"+Inf\"} 3");
	has_line(t, "sluice_link_connect_duration_seconds_sum{link=\"good\"}"
	    " 9.043");
	has_line(t, "sluice_link_connect_duration_seconds_count{link=\"good\"}"
	    " 3");
	has_line(t, "sluice_link_connect_duration_seconds_sum{link=\"q\\\"uo"
	    "\\\\te\"} 0");
	has_line(t, "sluice_resolver_lookups_total 11");
	has_line(t, "sluice_resolver_cache_hits_total 4");
	has_line(t, "sluice_resolver_failures_total 1");
	has_line(t, "sluice_udp_dropped_total 7");
	ck_assert_ptr_null(strstr(t, "\n\n"));
	fixture_free(&f);
}
END_TEST

START_TEST(t_scribbled)
{
	struct fixture	 f;
	const char	*t;
	char		 line[160];
	unsigned long long rows = (NWORKERS + 1ULL) << 48;
	size_t		 i;

	fixture_init(&f);
	for (i = 0; i < SL_SHM_MAPS; i++)
		if (f.shm->map[i].base != NULL)
			memset(f.shm->map[i].base, 0xff, f.shm->map[i].size);
	f.conf->links[0].check.enabled = 1;
	t = render(&f);
	has_line(t, "sluice_build_info{version=\"" SLUICE_VERSION "\"} 1");
	has_line(t, "sluice_start_time_seconds 281474976710656");
	has_line(t, "sluice_sessions_open 562949953421312");
	snprintf(line, sizeof(line), "sluice_link_sessions_total"
	    "{link=\"good\"} %llu", rows);
	has_line(t, line);
	snprintf(line, sizeof(line), "sluice_udp_dropped_total %llu", rows);
	has_line(t, line);
	snprintf(line, sizeof(line), "sluice_frontend_errors_total{listener="
	    "\"prom\",kind=\"metrics\",reason=\"other\"} %llu", rows);
	has_line(t, line);
	/* Cumulative over 11 buckets; +Inf and _count agree with them. */
	snprintf(line, sizeof(line), "sluice_link_connect_duration_seconds_"
	    "bucket{link=\"good\",le=\"+Inf\"} %llu", rows * 11);
	has_line(t, line);
	snprintf(line, sizeof(line), "sluice_link_connect_duration_seconds_"
	    "count{link=\"good\"} %llu", rows * 11);
	has_line(t, line);
	/* A verdict that is neither up nor down, a streak that began in
	   the future: scribbles, taken as no verdict and no streak. */
	has_line(t, "sluice_link_up{link=\"good\"} 1");
	has_line(t, "sluice_link_consecutive_failures{link=\"good\"} 0");
	fixture_free(&f);
}
END_TEST

START_TEST(t_escape)
{
	struct mt_buf	b;

	mt_buf_init(&b, 1024);
	ck_assert_int_eq(mt_put_label(&b, "a\"b\\c\nd\te\x7f" "f"), 0);
	ck_assert_int_eq(mt_buf_put(&b, "", 1), 0);
	ck_assert_str_eq(b.data, "a\\\"b\\\\c\\nd?e?f");
	mt_buf_free(&b);
}
END_TEST

START_TEST(t_cap)
{
	struct fixture		f;
	struct metrics_src	src;

	fixture_init(&f);
	mt_buf_free(&f.out);
	mt_buf_init(&f.out, 1000);
	src = (struct metrics_src){ f.conf, f.shm, NOW_MS };
	ck_assert_int_eq(metrics_render(&f.out, &src), -1);
	ck_assert_int_eq(f.out.failed, 1);
	ck_assert_uint_le(f.out.len, 1000);
	ck_assert_int_eq(mt_buf_put(&f.out, "x", 1), -1);
	fixture_free(&f);
}
END_TEST

static int
parse(const char *head, struct metrics_req *req)
{
	return metrics_parse_head((const uint8_t *)head, strlen(head), req);
}

START_TEST(t_parse)
{
	static const struct {
		const char	*head;
		int		 rc, status, head_only;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1, 200, 0 },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 1, 200, 0 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 1, 200, 1 },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 1, 200, 0 },
		{ "GET http://h:9100/metrics HTTP/1.1\n\n", 1, 200, 0 },
		{ "GET / HTTP/1.1\r\n\r\n", 1, 404, 0 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 1, 404, 0 },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\n", 1,
		  405, 0 },
		{ "DELETE /x HTTP/1.1\r\n\r\n", 1, 405, 0 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 1, 400, 0 },
		{ "GET /metrics HTTP/1.1 \r\n\r\n", 1, 400, 0 },
		{ "GET /metrics\r\n\r\n", 1, 400, 0 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 1, 400, 0 },
		{ "GET /metrics HTTP/1.1\r\n folded\r\n\r\n", 1, 400, 0 },
		{ "GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n", 1, 400, 0 },
		{ "GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n", 1, 400, 0 },
		{ "\x16\x03\x01", 1, 400, 0 },
		{ "get\x01", 1, 400, 0 },
		{ "GET /metrics HTTP/1.2", 1, 400, 0 },
		{ "", 0, 0, 0 },
		{ "GE", 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r", 0, 0, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, 0, 0 },
	};
	struct metrics_req	req;
	size_t			i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].head, &req) == cases[i].rc,
		    "case %zu rc", i);
		ck_assert_msg(req.status == cases[i].status,
		    "case %zu: status %d", i, req.status);
		ck_assert_msg(req.head_only == cases[i].head_only,
		    "case %zu head_only", i);
		if (cases[i].rc == 1)
			ck_assert_ptr_nonnull(req.why);
	}
	ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nA: b\r\n\r\nrest",
	    &req), 1);
	ck_assert_uint_eq(req.head_len, 31);
}
END_TEST

START_TEST(t_parse_cap)
{
	struct metrics_req	 req;
	uint8_t			*buf;
	size_t			 n = METRICS_MAX_HEAD;

	ck_assert_ptr_nonnull(buf = malloc(n));
	memset(buf, 'a', n);
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX: ", 26);
	ck_assert_int_eq(metrics_parse_head(buf, n - 1, &req), 0);
	ck_assert_int_eq(metrics_parse_head(buf, n, &req), 1);
	ck_assert_int_eq(req.status, 400);
	/* A request line as long as the cap is refused at the cap too. */
	memcpy(buf, "GET /", 5);
	ck_assert_int_eq(metrics_parse_head(buf, n - 1, &req), 0);
	ck_assert_int_eq(metrics_parse_head(buf, n, &req), 1);
	ck_assert_int_eq(req.status, 400);
	free(buf);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("metrics");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, t_known_values);
	tcase_add_test(tc, t_scribbled);
	tcase_add_test(tc, t_escape);
	tcase_add_test(tc, t_cap);
	tcase_add_test(tc, t_parse);
	tcase_add_test(tc, t_parse_cap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
