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

static const char *log_proc = "sluiced";
static int log_level = SL_LOG_INFO;
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

/* Placeholder: the JSON format is not there yet. */
void
log_set_json(int on)
{
	(void)on;
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
 * Write one line to stderr with a timestamp and the name of the process
 * it came from.  The master also calls this for lines its children send.
 * Every line is escaped here, whoever wrote it: names and other text from
 * clients end up in log lines, and the log must stay one line per event
 * and valid UTF-8 (children's lines arrive escaped already; escaping is
 * idempotent on printable ASCII).
 */
void
log_emit(int level, const char *origin, const char *line)
{
	char		 ts[32], clean[LOG_LINE_MAX * SL_SANITIZE_GROWTH];
	struct timespec	 now;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	str_sanitize(clean, sizeof(clean), line);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", ts, now.tv_nsec / 1000000,
	    origin, log_level_name(level), clean);
	fflush(stderr);
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
