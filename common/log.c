/*
 * One logging API for all processes.  Lines below the current level are
 * dropped before formatting so debug logging costs nothing when off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* A formatted line; escaping makes it up to SL_SANITIZE_GROWTH longer. */
#define LOG_LINE_MAX	1024

/* Room for a JSON line: the escaped text, twice again, and the fields. */
#define LOG_JSON_MAX	(LOG_LINE_MAX * SL_SANITIZE_GROWTH * 2 + 4096)

static const char *log_proc = "sluiced";
static int log_level = SL_LOG_INFO;
static int log_json_on;
static sl_log_sink log_sink;
static void *log_sink_arg;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *procname, int level)
{
	log_proc = procname;
	log_level = level;
	tzset();
}

void
log_set_level(int level)
{
	if (level >= SL_LOG_ERROR && level <= SL_LOG_DEBUG)
		log_level = level;
}

void
log_set_json(int on)
{
	log_json_on = on != 0;
}

int
log_json(void)
{
	return log_json_on;
}

int
log_get_level(void)
{
	return log_level;
}

const char *
log_procname(void)
{
	return log_proc;
}

void
log_set_sink(sl_log_sink sink, void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

int
log_level_parse(const char *s)
{
	size_t i;

	if (strcasecmp(s, "warning") == 0)
		return SL_LOG_WARN;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < SL_LOG_ERROR || level > SL_LOG_DEBUG)
		return "?";
	return log_names[level];
}

/*
 * The body of a JSON string (no quotes) for s, in d.  The output is pure
 * printable ASCII: quote and backslash are escaped, control bytes become
 * \n, \r, \t, \b, \f or \u00XX, DEL \u007f, and every byte >= 0x80 becomes
 * \ufffd (U+FFFD, the replacement character).  The text reaching here
 * went through str_sanitize() already, which keeps such bytes readable as
 * \xNN; this is the backstop that keeps a JSON reader from ever decoding
 * an invalid sequence, a C1 or a bidi control.  An escape that does not
 * fit is left out whole.  Returns the length written.
 */
size_t
log_json_escape(char *d, size_t dlen, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[8];
	const char		*e;
	size_t			 o = 0, n;
	unsigned char		 c;

	if (dlen == 0)
		return 0;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		e = esc;
		switch (c) {
		case '"':  e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		default:
			if (c >= 0x80)
				e = "\\ufffd";
			else if (c < 0x20 || c == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				esc[6] = '\0';
			} else {
				esc[0] = (char)c;
				esc[1] = '\0';
			}
		}
		n = strlen(e);
		if (o + n >= dlen)
			break;
		memcpy(d + o, e, n);
		o += n;
	}
	d[o] = '\0';
	return o;
}

/* RFC 3339 UTC with milliseconds: "2026-12-06T22:14:48.123Z". */
void
log_time(char *buf, size_t len)
{
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", ts, now.tv_nsec / 1000000);
}

/*
 * One JSON object and a newline in buf: time, level, process and msg,
 * then fields (already JSON: "" or ',"key":value...').  line is
 * sanitized already as a rule; whatever it holds, the object stays one
 * line of printable ASCII.  Returns the length, or 0 if it does not fit.
 */
size_t
log_format_json(char *buf, size_t len, int level, const char *origin,
    const char *line, const char *fields)
{
	char	ts[40], proc[128], *msg;
	size_t	mlen = strlen(line) * 6 + 1;	/* \u00XX per byte */
	int	n;

	if ((msg = malloc(mlen)) == NULL)
		return 0;
	log_time(ts, sizeof(ts));
	log_json_escape(proc, sizeof(proc), origin);
	log_json_escape(msg, mlen, line);
	n = snprintf(buf, len, "{\"time\":\"%s\",\"level\":\"%s\","
	    "\"process\":\"%s\",\"msg\":\"%s\"%s}\n", ts,
	    log_level_name(level), proc, msg, fields);
	free(msg);
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

/*
 * Write one line to stderr with a timestamp and the name of the process
 * it came from.  The master also calls this for lines its children send.
 * Every line is escaped here, whoever wrote it: names and other text from
 * clients end up in log lines, and the log must stay one line per event
 * and valid UTF-8 (children's lines arrive escaped already; escaping is
 * idempotent on printable ASCII).  In JSON mode the line is the "msg" of
 * an object and fields (',"key":value...', or "") follow it; text lines
 * leave fields out.
 */
void
log_emit_fields(int level, const char *origin, const char *line,
    const char *fields)
{
	char	ts[40], clean[LOG_LINE_MAX * SL_SANITIZE_GROWTH];
	char	*json;

	str_sanitize(clean, sizeof(clean), line);
	if (log_json_on) {
		/* Fields too long for the line: the line without them. */
		if ((json = malloc(LOG_JSON_MAX)) != NULL &&
		    (log_format_json(json, LOG_JSON_MAX, level, origin, clean,
		    fields) != 0 || log_format_json(json, LOG_JSON_MAX, level,
		    origin, clean, "") != 0))
			fputs(json, stderr);
		free(json);
	} else {
		log_time(ts, sizeof(ts));
		fprintf(stderr, "%s %s %s: %s\n", ts, origin,
		    log_level_name(level), clean);
	}
	fflush(stderr);
}

void
log_emit(int level, const char *origin, const char *line)
{
	log_emit_fields(level, origin, line, "");
}

static void
log_vlog(int level, const char *fmt, va_list ap, int with_errno)
{
	char	line[LOG_LINE_MAX];
	int	saved = errno, n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	if (log_sink != NULL)
		log_sink(level, line, log_sink_arg);
	else
		log_emit(level, log_proc, line);
	errno = saved;
}

/*
 * A confined child leaves with _exit(): atexit handlers and the leak
 * checker of a sanitizer build would make syscalls its filter forbids.
 */
static void __attribute__((noreturn))
log_exit(void)
{
	if (log_sink != NULL)
		_exit(1);
	exit(1);
}

#define LOG_FN(name, level, with_errno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vlog(level, fmt, ap, with_errno);		\
	va_end(ap);					\
}

LOG_FN(log_warn, SL_LOG_WARN, 1)
LOG_FN(log_warnx, SL_LOG_WARN, 0)
LOG_FN(log_info, SL_LOG_INFO, 0)
LOG_FN(log_debug, SL_LOG_DEBUG, 0)
LOG_FN(log_errorx, SL_LOG_ERROR, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(SL_LOG_ERROR, fmt, ap, 1);
	va_end(ap);
	log_exit();
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(SL_LOG_ERROR, fmt, ap, 0);
	va_end(ap);
	log_exit();
}
