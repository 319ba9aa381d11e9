/*
 * The metrics listener's pure parts (see metrics_text.h): the request
 * head and the Prometheus text of the shared region.
 *
 * The region is hostile: a compromised worker can write any byte of it.
 * Its shape (workers, links, listeners) comes from our own config, never
 * from the region; every value read is clamped (by the counters.c
 * accessors, or here for the fields they hand out as pointers), so sums
 * cannot wrap and a scribble shows as a big number, not a crash.
 *
 * Every series exists from the start, zeros included (each reason of
 * sluice_frontend_errors_total, each bucket of each link): Prometheus'
 * rate() and absent() need the series before the first event.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_build.h"
#include "../policy/counters.h"
#include "metrics_text.h"

/* As counters.c clamps a row: 2^48 of anything is a scribble. */

struct mt_label {
	const char	*key, *value;
};

void
mt_buf_init(struct mt_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
mt_buf_free(struct mt_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
mt_buf_put(struct mt_buf *b, const void *p, size_t n)
{
	size_t	 ncap;
	char	*nd;

	if (b->failed)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->failed = 1;
		return -1;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap != 0 ? b->cap : 4096;
		while (ncap < b->len + n)
			ncap *= 2;
		if (ncap > b->max)
			ncap = b->max;
		if ((nd = realloc(b->data, ncap)) == NULL) {
			b->failed = 1;
			return -1;
		}
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int
mt_puts(struct mt_buf *b, const char *s)
{
	return mt_buf_put(b, s, strlen(s));
}

static int
mt_printf(struct mt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
mt_printf(struct mt_buf *b, const char *fmt, ...)
{
	char	tmp[128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Only numbers go through here: they always fit. */
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = 1;
		return -1;
	}
	return mt_buf_put(b, tmp, (size_t)n);
}

int
mt_put_label(struct mt_buf *b, const char *s)
{
	const char	*run = s;

	/* Copy runs of plain bytes; escape the three the format names. */
	for (; *s != '\0'; s++) {
		if (*s != '\\' && *s != '"' && *s != '\n' &&
		    (unsigned char)*s >= 0x20 && *s != 0x7f)
			continue;
		if (mt_buf_put(b, run, (size_t)(s - run)) == -1)
			return -1;
		run = s + 1;
		if (mt_puts(b, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" :
		    *s == '\n' ? "\\n" : "?") == -1)
			return -1;
	}
	return mt_buf_put(b, run, (size_t)(s - run));
}

static void
mt_family(struct mt_buf *b, const char *name, const char *type,
    const char *help)
{
	(void)mt_printf(b, "# HELP %s ", name);
	(void)mt_puts(b, help);
	(void)mt_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void
mt_series(struct mt_buf *b, const char *name, const struct mt_label *l,
    size_t nl)
{
	size_t	i;

	(void)mt_puts(b, name);
	if (b->tenant != NULL) {
		(void)mt_puts(b, "{tenant=\"");
		(void)mt_put_label(b, b->tenant);
		(void)mt_puts(b, "\"");
	}
	for (i = 0; i < nl; i++) {
		(void)mt_printf(b, "%s%s=\"", i == 0 && b->tenant == NULL ?
		    "{" : ",", l[i].key);
		(void)mt_put_label(b, l[i].value);
		(void)mt_puts(b, "\"");
	}
	if (nl > 0 || b->tenant != NULL)
		(void)mt_puts(b, "}");
}

static void
mt_sample(struct mt_buf *b, const char *name, const struct mt_label *l,
    size_t nl, uint64_t v)
{
	mt_series(b, name, l, nl);
	(void)mt_printf(b, " %llu\n", (unsigned long long)v);
}

/* A value in milliseconds, in seconds ("0.025", "5", "1.5"). */
static void
mt_seconds(char *out, size_t size, uint64_t ms)
{
	int	n;

	n = snprintf(out, size, "%llu.%03u", (unsigned long long)(ms / 1000),
	    (unsigned)(ms % 1000));
	if (n < 0 || (size_t)n >= size) {
		(void)snprintf(out, size, "0");
		return;
	}
	while (out[n - 1] == '0')
		out[--n] = '\0';
	if (out[n - 1] == '.')
		out[n - 1] = '\0';
}

static void
mt_global(struct mt_buf *b, const struct metrics_src *src)
{
	static const struct {
		const char	*name, *type, *help;
		size_t		 off;
	} fields[] = {
		{ "sluice_start_time_seconds", "gauge",
		  "When the master started, in seconds since the epoch.",
		  offsetof(struct sl_global_ctr, started_unix) },
		{ "sluice_config_generation", "gauge",
		  "The configuration generation the workers run.",
		  offsetof(struct sl_global_ctr, generation) },
		{ "sluice_reloads_total", "counter",
		  "Configuration reloads that started a new generation.",
		  offsetof(struct sl_global_ctr, reloads) },
		{ "sluice_reload_failures_total", "counter",
		  "Configuration reloads that failed.",
		  offsetof(struct sl_global_ctr, reload_failures) },
		{ "sluice_process_restarts_total", "counter",
		  "Child processes respawned by the master.",
		  offsetof(struct sl_global_ctr, worker_restarts) },
	};
	char	*g = (char *)src->shm->global;
	size_t	 i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		mt_family(b, fields[i].name, fields[i].type, fields[i].help);
		mt_sample(b, fields[i].name, NULL, 0,
		    shm_ctr_load((_Atomic uint64_t *)(void *)(g +
		    fields[i].off), SL_CTR_CLAMP));
	}
	mt_family(b, "sluice_sessions_open", "gauge",
	    "Client sessions open, in all workers.");
	mt_sample(b, "sluice_sessions_open", NULL, 0,
	    shm_sessions(src->shm, SL_CTR_CLAMP));
	mt_family(b, "sluice_handshakes_open", "gauge",
	    "Client sessions still in their handshake.");
	mt_sample(b, "sluice_handshakes_open", NULL, 0,
	    shm_handshakes(src->shm, SL_CTR_CLAMP));
}

static void
mt_listeners(struct mt_buf *b, const struct metrics_src *src)
{
	const struct sl_conf		*conf = src->conf;
	struct sl_listener_totals	 t[SL_MAX_LISTENERS];
	struct mt_label			 l[3];
	size_t				 i, n, e;

	n = conf->nlisteners < SL_MAX_LISTENERS ? conf->nlisteners :
	    SL_MAX_LISTENERS;
	for (i = 0; i < n; i++)
		shm_listener_totals(src->shm, (uint32_t)i,
		    &t[i]);
	l[0].key = "listener";
	l[1].key = "kind";
	l[2].key = "reason";
	mt_family(b, "sluice_listener_sessions_open", "gauge",
	    "Sessions of the listener open now.");
	for (i = 0; i < n; i++) {
		l[0].value = conf->listeners[i].name;
		l[1].value = conf_listen_kind_name(conf->listeners[i].kind);
		mt_sample(b, "sluice_listener_sessions_open", l, 2,
		    t[i].active);
	}
	mt_family(b, "sluice_listener_sessions_total", "counter",
	    "Clients the listener accepted.");
	for (i = 0; i < n; i++) {
		l[0].value = conf->listeners[i].name;
		l[1].value = conf_listen_kind_name(conf->listeners[i].kind);
		mt_sample(b, "sluice_listener_sessions_total", l, 2,
		    t[i].opened);
	}
	mt_family(b, "sluice_frontend_errors_total", "counter",
	    "Sessions of the listener that ended before their relay, "
	    "by reason.");
	for (i = 0; i < n; i++) {
		l[0].value = conf->listeners[i].name;
		l[1].value = conf_listen_kind_name(conf->listeners[i].kind);
		for (e = 0; e < SL_FERR_MAX; e++) {
			l[2].value = sl_ferr_names[e];
			mt_sample(b, "sluice_frontend_errors_total", l, 3,
			    t[i].errors[e]);
		}
	}
}

/*
 * A link takes sessions unless cooling down or checked down (select.c),
 * by any worker's verdict: an operator's view, not one worker's.
 */
static int
mt_link_up(const struct sl_link *lk, const struct sl_health *h)
{
	if (lk->check.enabled && h->check_down)
		return 0;
	if (lk->max_fails > 0 && h->cooling)
		return 0;
	return 1;
}

/* One family with one sample per link: which field is chosen by `what`. */
enum mt_link_field {
	MT_OPEN, MT_OPENED, MT_FAILED, MT_UP_BYTES, MT_DOWN_BYTES, MT_UP,
	MT_FAILS, MT_LINK_FIELDS
};

static uint64_t
mt_link_value(const struct metrics_src *src, uint32_t li,
    const struct sl_link_totals *t, enum mt_link_field what)
{
	const struct sl_link	*lk = &src->conf->links[li];
	struct sl_health	 h;

	switch (what) {
	case MT_OPEN:
		return t->active;
	case MT_OPENED:
		return t->opened;
	case MT_FAILED:
		return t->failed;
	case MT_UP_BYTES:
		return t->bytes_up;
	case MT_DOWN_BYTES:
		return t->bytes_down;
	case MT_UP:
		shm_health_read(src->shm, li, -1, src->now_ms,
		    lk->cooldown_ms, &h);
		return mt_link_up(lk, &h);
	default:
		shm_health_read(src->shm, li, -1, src->now_ms,
		    lk->cooldown_ms, &h);
		return h.fails;
	}
}

static void
mt_link_hist(struct mt_buf *b, const char *link,
    const struct sl_link_totals *t)
{
	static const char	*bucket = "sluice_link_connect_duration_seconds"
				    "_bucket";
	char			 le[32];
	struct mt_label		 l[2] = { { "link", link }, { "le", le } };
	uint64_t		 cum = 0, count;
	uint32_t		 i;

	for (i = 0; i < SL_CONNECT_BUCKETS; i++) {
		cum += t->connect_hist[i];
		mt_seconds(le, sizeof(le), sl_connect_bounds_ms[i]);
		mt_sample(b, bucket, l, 2, cum);
	}
	/* A scribbled region may count fewer than its buckets: +Inf wins. */
	count = t->connects > cum ? t->connects : cum;
	l[1].value = "+Inf";
	mt_sample(b, bucket, l, 2, count);
	mt_series(b, "sluice_link_connect_duration_seconds_sum", l, 1);
	mt_seconds(le, sizeof(le), t->connect_ms_sum);
	(void)mt_printf(b, " %s\n", le);
	mt_sample(b, "sluice_link_connect_duration_seconds_count", l, 1,
	    count);
}

static void
mt_links(struct mt_buf *b, const struct metrics_src *src)
{
	static const struct {
		const char	*name, *type, *help;
	} fields[MT_LINK_FIELDS] = {
		[MT_OPEN] = { "sluice_link_sessions_open", "gauge",
		    "Sessions connected over the link now." },
		[MT_OPENED] = { "sluice_link_sessions_total", "counter",
		    "Sessions connected over the link." },
		[MT_FAILED] = { "sluice_link_connect_failures_total",
		    "counter", "Connects over the link that failed." },
		[MT_UP_BYTES] = { "sluice_link_sent_bytes_total", "counter",
		    "Bytes relayed from clients to targets over the link." },
		[MT_DOWN_BYTES] = { "sluice_link_received_bytes_total",
		    "counter",
		    "Bytes relayed from targets to clients over the link." },
		[MT_UP] = { "sluice_link_up", "gauge",
		    "1 if the link takes sessions: not cooling down after "
		    "failures, not down by its health check." },
		[MT_FAILS] = { "sluice_link_consecutive_failures", "gauge",
		    "Connect failures in a row on the link." },
	};
	const struct sl_conf	*conf = src->conf;
	struct sl_link_totals	*t;
	struct mt_label		 l = { "link", NULL };
	uint32_t		 nlinks, li;
	int			 f;

	nlinks = (uint32_t)conf->nlinks;	/* the region's shape too */
	if (nlinks == 0)
		return;
	if ((t = calloc(nlinks, sizeof(*t))) == NULL) {
		b->failed = 1;
		return;
	}
	for (li = 0; li < nlinks; li++)
		shm_link_totals(src->shm, li, &t[li]);
	for (f = 0; f < MT_LINK_FIELDS; f++) {
		mt_family(b, fields[f].name, fields[f].type, fields[f].help);
		for (li = 0; li < nlinks; li++) {
			l.value = conf->links[li].name;
			mt_sample(b, fields[f].name, &l, 1,
			    mt_link_value(src, li, &t[li], f));
		}
	}
	mt_family(b, "sluice_link_connect_duration_seconds", "histogram",
	    "Time to connect over the link (TCP, and the upstream hops).");
	for (li = 0; li < nlinks; li++)
		mt_link_hist(b, conf->links[li].name, &t[li]);
	free(t);
}

static void
mt_tail(struct mt_buf *b, const struct metrics_src *src)
{
	struct sl_resolver_ctr	*r = src->shm->resolver;
	uint64_t		 dropped = 0;
	uint32_t		 w;

	mt_family(b, "sluice_resolver_lookups_total", "counter",
	    "Name lookups the workers asked the resolver for.");
	mt_sample(b, "sluice_resolver_lookups_total", NULL, 0,
	    shm_ctr_load(&r->lookups, SL_CTR_CLAMP));
	mt_family(b, "sluice_resolver_cache_hits_total", "counter",
	    "Lookups answered from the resolver's cache or hosts file.");
	mt_sample(b, "sluice_resolver_cache_hits_total", NULL, 0,
	    shm_ctr_load(&r->cache_hits, SL_CTR_CLAMP));
	mt_family(b, "sluice_resolver_failures_total", "counter",
	    "Lookups that failed (no such name, timeout, ...).");
	mt_sample(b, "sluice_resolver_failures_total", NULL, 0,
	    shm_ctr_load(&r->failures, SL_CTR_CLAMP));
	/* The workers' rows and the carried one, as counters.c sums. */
	for (w = 0; w <= src->shm->nworkers; w++)
		dropped += shm_ctr_load(&shm_worker(src->shm,
		    w)->udp_dropped, SL_CTR_CLAMP);
	mt_family(b, "sluice_udp_dropped_total", "counter",
	    "UDP datagrams dropped: strangers, fragments, refused, ...");
	mt_sample(b, "sluice_udp_dropped_total", NULL, 0, dropped);
}

int
metrics_render(struct mt_buf *b, const struct metrics_src *src)
{
	struct mt_label	l = { "version", SLUICE_VERSION };

	if (src->conf == NULL || src->shm == NULL) {
		b->failed = 1;
		return -1;
	}
	/* A tenant's workers say whose numbers these are; the one implicit
	   tenant ("default", a name "tenants" refuses) says nothing. */
	b->tenant = src->conf->tenant[0] != '\0' &&
	    strcmp(src->conf->tenant, "default") != 0 ?
	    src->conf->tenant : NULL;
	mt_family(b, "sluice_build_info", "gauge",
	    "Always 1; the labels say which sluice this is.");
	mt_sample(b, "sluice_build_info", &l, 1, 1);
	mt_global(b, src);
	mt_listeners(b, src);
	mt_links(b, src);
	mt_tail(b, src);
	return b->failed ? -1 : 0;
}

/* The request head. */

static int
mt_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
mt_refuse(struct metrics_req *req, int status, const char *why)
{
	req->status = status;
	req->why = why;
	return 1;
}

/* The line's end (the LF) from off, or len if there is none yet. */
static size_t
mt_eol(const uint8_t *buf, size_t len, size_t off)
{
	const uint8_t	*lf = memchr(buf + off, '\n', len - off);

	return lf != NULL ? (size_t)(lf - buf) : len;
}

/*
 * "METHOD SP target SP HTTP/1.x" in buf[0..len) (len: the LF, or as far
 * as bytes arrived): NULL, or why it is wrong already.
 */
static const char *
mt_request_line(const uint8_t *buf, size_t len, int complete,
    size_t *moff, size_t *mlen, size_t *toff, size_t *tlen)
{
	static const char	 v10[] = "HTTP/1.0", v11[] = "HTTP/1.1";
	size_t			 i = 0, v;

	while (i < len && mt_tchar(buf[i]))
		i++;
	if ((i < len && buf[i] != ' ') || i > 16 || (i == 0 && len > 0))
		return "bad method";
	*moff = 0;
	*mlen = i++;
	*toff = i;
	while (i < len && buf[i] > 0x20 && buf[i] < 0x7f)
		i++;
	if ((i < len && buf[i] != ' ') || (i == *toff && i < len))
		return "bad request target";
	*tlen = i - *toff;
	v = ++i;
	if (len > v && buf[len - 1] == '\r')
		len--;		/* the line's CR, or the last byte so far */
	for (; i < len; i++)
		if (i - v >= sizeof(v10) - 1 || (buf[i] != (uint8_t)v10[i - v] &&
		    buf[i] != (uint8_t)v11[i - v]))
			return "not HTTP/1.0 or 1.1";
	if (complete && (len < v || len - v != sizeof(v10) - 1))
		return "not HTTP/1.0 or 1.1";
	return NULL;
}

/* Header lines: a name, a colon; no folding, no controls but TAB. */
static int
mt_headers(const uint8_t *buf, size_t len, size_t off,
    struct metrics_req *req)
{
	size_t	eol, i;

	for (;;) {
		eol = mt_eol(buf, len, off);
		if (eol == len)
			return 0;
		i = off;
		if (eol == off || (eol == off + 1 && buf[off] == '\r')) {
			req->head_len = eol + 1;
			return 1;
		}
		while (i < eol && mt_tchar(buf[i]))
			i++;
		if (i == off || i == eol || buf[i] != ':')
			return mt_refuse(req, 400, "bad header field");
		for (; i < eol; i++)
			if ((buf[i] < 0x20 && buf[i] != '\t' &&
			    !(buf[i] == '\r' && i + 1 == eol)) || buf[i] == 0x7f)
				return mt_refuse(req, 400,
				    "control byte in a header field");
		off = eol + 1;
	}
}

/* The path of an origin-form or absolute-form target, without query. */
static int
mt_is_metrics(const uint8_t *t, size_t n)
{
	const uint8_t	*q, *p = t;

	if (n >= 7 && strncasecmp((const char *)t, "http://", 7) == 0) {
		if ((p = memchr(t + 7, '/', n - 7)) == NULL)
			return 0;
	}
	n -= (size_t)(p - t);
	if ((q = memchr(p, '?', n)) != NULL)
		n = (size_t)(q - p);
	return n == 8 && memcmp(p, "/metrics", 8) == 0;
}

int
metrics_parse_head(const uint8_t *buf, size_t len, struct metrics_req *req)
{
	const char	*why;
	size_t		 eol, moff, mlen, toff, tlen;
	int		 rc;

	memset(req, 0, sizeof(*req));
	eol = mt_eol(buf, len, 0);
	if ((why = mt_request_line(buf, eol, eol < len, &moff, &mlen, &toff,
	    &tlen)) != NULL)
		return mt_refuse(req, 400, why);
	if (eol == len)
		rc = 0;
	else if ((rc = mt_headers(buf, len, eol + 1, req)) == 1 &&
	    req->status != 0)
		return 1;
	if (rc == 0 && len < METRICS_MAX_HEAD)
		return 0;	/* more to come */
	if (rc == 0 || req->head_len > METRICS_MAX_HEAD) {
		memset(req, 0, sizeof(*req));
		return mt_refuse(req, 400, "request head too long");
	}
	if (!(mlen == 3 && memcmp(buf + moff, "GET", 3) == 0) &&
	    !(mlen == 4 && memcmp(buf + moff, "HEAD", 4) == 0))
		return mt_refuse(req, 405, "method not allowed");
	req->head_only = mlen == 4;
	if (!mt_is_metrics(buf + toff, tlen))
		return mt_refuse(req, 404, "no such path");
	return mt_refuse(req, 200, "metrics");
}
