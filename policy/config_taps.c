/*
 * A listener's "taps": the ordered chain its payload passes through,
 * each direction on its own (run by worker/relay/taps.c).
 *
 *   "taps": [ { "type": "replace", "search": "/api",
 *               "replace": "/forbidden" },
 *             { "type": "log", "direction": "up" } ]
 *
 * Byte strings come as JSON strings taken as their bytes ("search") or
 * as hex ("search_hex"), exactly one of the two.  A Lua script is only
 * named here: policy/ does no I/O, the master's check and the worker
 * read it (taps_load).  A pcap tap's file is opened by the master at
 * start-up (master/pcap.c); every pcap tap gets its pcap_index here, the
 * number both the worker and the master call it by.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "services.h"

#define TAP_MAX_SEARCH		4096
#define TAP_MAX_REPLACE		65536
#define TAP_MAX_HEXDUMP		4096
#define TAP_MAX_RATE		10000000000.0	/* 10^10 bytes/s */
#define TAP_MAX_SCRIPT		1024		/* path length */
#define TAP_MAX_PCAP_FILE	255		/* path length */
#define TAP_PCAP_MIN_BYTES	24		/* the global header */
#define TAP_PCAP_MAX_BYTES	1099511627776.0	/* 2^40 */
#define TAP_PCAP_DEF_BYTES	(100ull * 1024 * 1024)

static const char *const type_names[SL_TAP_TYPE_MAX] = {
	[SL_TAP_LOG] = "log",
	[SL_TAP_HEXDUMP] = "hexdump",
	[SL_TAP_REPLACE] = "replace",
	[SL_TAP_DROP] = "drop",
	[SL_TAP_THROTTLE] = "throttle",
	[SL_TAP_LUA] = "lua",
	[SL_TAP_PCAP] = "pcap",
};

static const char *const dir_names[] = { "up", "down", "both" };

enum {
	T_TYPE, T_DIRECTION, T_BYTES, T_SEARCH, T_SEARCH_HEX, T_REPLACE,
	T_REPLACE_HEX, T_MATCH, T_MATCH_HEX, T_RATE, T_SCRIPT, T_MAX_INSN,
	T_MAX_MEM, T_FILE, T_MAX_BYTES
};

/* Keys each type takes besides "type" and "direction". */
static const uint64_t type_keys[SL_TAP_TYPE_MAX] = {
	[SL_TAP_LOG] = 0,
	[SL_TAP_HEXDUMP] = BIT(T_BYTES),
	[SL_TAP_REPLACE] = BIT(T_SEARCH) | BIT(T_SEARCH_HEX) |
	    BIT(T_REPLACE) | BIT(T_REPLACE_HEX),
	[SL_TAP_DROP] = BIT(T_MATCH) | BIT(T_MATCH_HEX),
	[SL_TAP_THROTTLE] = BIT(T_RATE),
	[SL_TAP_LUA] = BIT(T_SCRIPT) | BIT(T_MAX_INSN) | BIT(T_MAX_MEM),
	[SL_TAP_PCAP] = BIT(T_FILE) | BIT(T_MAX_BYTES),
};

/* A tap being read: the type is known only once the whole object is. */
struct tap_read {
	struct sl_tap	*t;
	int		 type;
};

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * A byte string, as text or as hex (two digits a byte, no separators),
 * min..max bytes, into *p (replacing what an earlier key put there).
 */
static int
get_bytes(struct ctx *c, const cJSON *it, int hex, size_t min, size_t max,
    uint8_t **p, size_t *n)
{
	const char	*s;
	uint8_t		*b;
	size_t		 len, i;
	int		 hi, lo;

	if (get_str(c, it, 0, SIZE_MAX, &s) == -1)
		return -1;
	len = strlen(s);
	if (hex && len % 2 != 0)
		return fail(c, "odd number of hex digits");
	if (hex)
		len /= 2;
	if (len < min)
		return fail(c, "empty");
	if (len > max)
		return fail(c, "longer than %zu bytes", max);
	if ((b = malloc(len > 0 ? len : 1)) == NULL)
		return fail(c, "out of memory");
	for (i = 0; i < len; i++) {
		if (!hex) {
			b[i] = (uint8_t)s[i];
			continue;
		}
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi == -1 || lo == -1) {
			free(b);
			return fail(c, "not hex (two digits 0-9a-f a byte)");
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	free(*p);
	*p = b;
	*n = len;
	return 0;
}

/* An integer lo..hi that may not fit 32 bits. */
static int
get_u64(struct ctx *c, const cJSON *it, double lo, double hi, uint64_t *out)
{
	double	d;

	if (!cJSON_IsNumber(it))
		return type_err(c, it, "a number");
	d = it->valuedouble;
	if (isfinite(d) && d != floor(d))
		return fail(c, "%g is not an integer", d);
	if (!(d >= lo && d <= hi))
		return fail(c, "%.17g is out of range (%.0f-%.0f)", d, lo, hi);
	*out = (uint64_t)d;
	return 0;
}

static int
t_type(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_enum(c, it, type_names, nitems(type_names), 0, &r->type);
}

static int
t_direction(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	int		 v;

	if (get_enum(c, it, dir_names, nitems(dir_names), 0, &v) == -1)
		return -1;
	r->t->dirs = v == 0 ? SL_TAP_UP : v == 1 ? SL_TAP_DOWN :
	    SL_TAP_UP | SL_TAP_DOWN;
	return 0;
}

static int
t_bytes(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	uint64_t	 v = 0;

	if (get_u64(c, it, 1, TAP_MAX_HEXDUMP, &v) == -1)
		return -1;
	r->t->bytes = (uint32_t)v;
	return 0;
}

static int
t_search(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_bytes(c, it, 0, 1, TAP_MAX_SEARCH, &r->t->search,
	    &r->t->nsearch);
}

static int
t_search_hex(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_bytes(c, it, 1, 1, TAP_MAX_SEARCH, &r->t->search,
	    &r->t->nsearch);
}

static int
t_replace(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_bytes(c, it, 0, 0, TAP_MAX_REPLACE, &r->t->replace,
	    &r->t->nreplace);
}

static int
t_replace_hex(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_bytes(c, it, 1, 0, TAP_MAX_REPLACE, &r->t->replace,
	    &r->t->nreplace);
}

static int
t_rate(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_u64(c, it, 1, TAP_MAX_RATE, &r->t->rate);
}

/* Read later, before lockdown; here only its form is checked. */
static int
t_script(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	const char	*s;

	if (get_str(c, it, 1, TAP_MAX_SCRIPT, &s) == -1)
		return -1;
	if (s[0] != '/')
		return fail(c, "not an absolute path");
	free(r->t->script);
	if ((r->t->script = strdup(s)) == NULL)
		return fail(c, "out of memory");
	return 0;
}

static int
t_max_insn(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	uint64_t	 v = 0;

	if (get_u64(c, it, 1000, 1000000000, &v) == -1)
		return -1;
	r->t->max_instructions = (uint32_t)v;
	return 0;
}

static int
t_max_mem(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	uint64_t	 v = 0;

	if (get_u64(c, it, 64 * 1024, 1024 * 1024 * 1024, &v) == -1)
		return -1;
	r->t->max_memory = (uint32_t)v;
	return 0;
}

/* Opened by the master at start-up; here only its form is checked. */
static int
t_file(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;
	const char	*s;

	if (get_str(c, it, 1, TAP_MAX_PCAP_FILE, &s) == -1)
		return -1;
	if (s[0] != '/')
		return fail(c, "not an absolute path");
	free(r->t->file);
	if ((r->t->file = strdup(s)) == NULL)
		return fail(c, "out of memory");
	return 0;
}

static int
t_max_bytes(struct ctx *c, const cJSON *it, void *dst)
{
	struct tap_read	*r = dst;

	return get_u64(c, it, TAP_PCAP_MIN_BYTES, TAP_PCAP_MAX_BYTES,
	    &r->t->max_bytes);
}

/* Key T_X is at tap_keys[T_X]: the seen bits index both. */
static const struct keydef tap_keys[] = {
	[T_TYPE] = { "type", K_FN, t_type, 0, 0, 0 },
	[T_DIRECTION] = { "direction", K_FN, t_direction, 0, 0, 0 },
	[T_BYTES] = { "bytes", K_FN, t_bytes, 0, 0, 0 },
	[T_SEARCH] = { "search", K_FN, t_search, 0, 0, 0 },
	[T_SEARCH_HEX] = { "search_hex", K_FN, t_search_hex, 0, 0, 0 },
	[T_REPLACE] = { "replace", K_FN, t_replace, 0, 0, 0 },
	[T_REPLACE_HEX] = { "replace_hex", K_FN, t_replace_hex, 0, 0, 0 },
	[T_MATCH] = { "match", K_FN, t_search, 0, 0, 0 },
	[T_MATCH_HEX] = { "match_hex", K_FN, t_search_hex, 0, 0, 0 },
	[T_RATE] = { "rate", K_FN, t_rate, 0, 0, 0 },
	[T_SCRIPT] = { "script", K_FN, t_script, 0, 0, 0 },
	[T_MAX_INSN] = { "max_instructions", K_FN, t_max_insn, 0, 0, 0 },
	[T_MAX_MEM] = { "max_memory", K_FN, t_max_mem, 0, 0, 0 },
	[T_FILE] = { "file", K_FN, t_file, 0, 0, 0 },
	[T_MAX_BYTES] = { "max_bytes", K_FN, t_max_bytes, 0, 0, 0 },
};

/* Exactly one of key and key_hex; required says whether none is fine. */
static int
one_form(struct ctx *c, uint64_t seen, int k, int khex, int required)
{
	char	msg[128];

	if ((seen & BIT(k)) && (seen & BIT(khex))) {
		snprintf(msg, sizeof(msg), "give \"%s\" or \"%s\", not both",
		    tap_keys[k].name, tap_keys[khex].name);
		return fail_key(c, tap_keys[khex].name, msg);
	}
	if (required && !(seen & (BIT(k) | BIT(khex)))) {
		snprintf(msg, sizeof(msg), "required (or \"%s\")",
		    tap_keys[khex].name);
		return fail_key(c, tap_keys[k].name, msg);
	}
	return 0;
}

/* What the type needs, once every key was read. */
static int
tap_check(struct ctx *c, const struct sl_tap *t, uint64_t seen)
{
	uint64_t	 extra;
	char		 msg[96];
	size_t		 k;

	extra = seen & ~(BIT(T_TYPE) | BIT(T_DIRECTION) | type_keys[t->type]);
	for (k = 0; k < nitems(tap_keys); k++)
		if (extra & BIT(k)) {
			snprintf(msg, sizeof(msg), "not a key of a \"%s\" tap",
			    type_names[t->type]);
			return fail_key(c, tap_keys[k].name, msg);
		}
	switch (t->type) {
	case SL_TAP_REPLACE:
		if (one_form(c, seen, T_SEARCH, T_SEARCH_HEX, 1) == -1)
			return -1;
		return one_form(c, seen, T_REPLACE, T_REPLACE_HEX, 1);
	case SL_TAP_DROP:
		if (one_form(c, seen, T_MATCH, T_MATCH_HEX, 0) == -1)
			return -1;
		if (!(seen & (BIT(T_MATCH) | BIT(T_MATCH_HEX) |
		    BIT(T_DIRECTION))))
			return fail_key(c, "direction", "required (\"up\", "
			    "\"down\" or \"both\"), or a \"match\"");
		return 0;
	case SL_TAP_THROTTLE:
		if (!(seen & BIT(T_RATE)))
			return fail_key(c, "rate", "required (bytes/s)");
		return 0;
	case SL_TAP_LUA:
		if (!(seen & BIT(T_SCRIPT)))
			return fail_key(c, "script", "required (an absolute "
			    "path)");
		return 0;
	case SL_TAP_PCAP:
		if (!(seen & BIT(T_FILE)))
			return fail_key(c, "file", "required (an absolute "
			    "path)");
		return 0;
	default:
		return 0;
	}
}

/*
 * A pcap tap's number among all of them, and no file twice: two taps
 * appending to one file would interleave records of unrelated flows.
 * The listeners before this one are read whole; this one's taps up to
 * t.  A tproxy's UDP twin shares its TCP listener's taps (and their
 * numbers); twins are made after every listener is read.
 */
static int
pcap_number(struct ctx *c, struct sl_tap *base, struct sl_tap *t)
{
	const struct sl_listener	*l;
	const struct sl_tap		*o;
	char				 msg[128];
	size_t				 i, j, n = 0;

	for (i = 0; c->conf != NULL && i < c->conf->nlisteners; i++) {
		l = &c->conf->listeners[i];
		if (l->taps == base)
			break;
		for (j = 0; l->taps != NULL && j < l->ntaps; j++) {
			o = &l->taps[j];
			if (o->type != SL_TAP_PCAP || o->file == NULL)
				continue;
			if (strcmp(o->file, t->file) == 0) {
				snprintf(msg, sizeof(msg), "%s is already "
				    "listeners[%zu].taps[%zu]'s file",
				    t->file, i, j);
				return fail_key(c, "file", msg);
			}
			n++;
		}
	}
	for (o = base; o < t; o++) {
		if (o->type != SL_TAP_PCAP || o->file == NULL)
			continue;
		if (strcmp(o->file, t->file) == 0) {
			snprintf(msg, sizeof(msg), "%s is already taps[%zu]'s "
			    "file", t->file, (size_t)(o - base));
			return fail_key(c, "file", msg);
		}
		n++;
	}
	t->pcap_index = (uint32_t)n;
	return 0;
}

static int
tap_item(struct ctx *c, const cJSON *it, void *arg, size_t i)
{
	struct sl_tap	*t = (struct sl_tap *)arg + i;
	struct tap_read	 r = { t, -1 };
	uint64_t	 seen = 0;

	t->dirs = SL_TAP_UP | SL_TAP_DOWN;
	t->bytes = 64;
	t->max_instructions = 1000000;
	t->max_memory = 16 * 1024 * 1024;
	t->max_bytes = TAP_PCAP_DEF_BYTES;
	if (walk(c, it, tap_keys, nitems(tap_keys), &r, &seen) == -1)
		return -1;
	if (r.type == -1)
		return fail_key(c, "type", "required (log, hexdump, replace, "
		    "drop, throttle, lua or pcap)");
	t->type = (enum sl_tap_type)r.type;
	if (tap_check(c, t, seen) == -1)
		return -1;
	return t->type == SL_TAP_PCAP ? pcap_number(c, arg, t) : 0;
}

int
taps_read(struct ctx *c, const cJSON *it, struct sl_tap **tp, size_t *np)
{
	size_t	n;

	if (get_array(c, it, SL_MAX_TAPS, &n) == -1)
		return -1;
	if (n == 0)
		return fail(c, "empty: leave \"taps\" out for none");
	if ((*tp = alloc_array(c, n, sizeof(**tp))) == NULL)
		return -1;
	/* Counted before they are read so that conf_free() frees them. */
	*np = n;
	return each(c, it, tap_item, *tp);
}

int
r_taps(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;

	return taps_read(c, it, &l->taps, &l->ntaps);
}

/* The worker's loaded scripts (rt) are taps_unload()'s, not ours. */
void
taps_conf_free(struct sl_tap *t, size_t n)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(t[i].search);
		free(t[i].replace);
		free(t[i].script);
		free(t[i].file);
	}
	free(t);
}

/*
 * Every tap chain of conf: each listener's (a tproxy's UDP twin shares
 * its listener's, and is skipped) and each config service's.
 */
int
conf_each_taps(const struct sl_conf *conf, conf_taps_fn fn, void *arg)
{
	const struct sl_service	*sv;
	char			 path[SL_MAX_NAME + 32];
	size_t			 i, n;
	int			 rc;

	for (i = 0; i < conf->nlisteners; i++) {
		if (conf->listeners[i].borrowed ||
		    conf->listeners[i].ntaps == 0)
			continue;
		snprintf(path, sizeof(path), "listeners[%zu].taps", i);
		if ((rc = fn(conf->listeners[i].taps,
		    conf->listeners[i].ntaps, path, arg)) != 0)
			return rc;
	}
	n = conf->services != NULL ? services_count(conf->services) : 0;
	for (i = 0; i < n; i++) {
		sv = services_at(conf->services, i);
		if (sv->ntaps == 0)
			continue;
		snprintf(path, sizeof(path), "services.%s.taps", sv->name);
		if ((rc = fn(sv->taps, sv->ntaps, path, arg)) != 0)
			return rc;
	}
	return 0;
}
