/*
 * Logging for every sluice process, OpenBSD style.
 *
 * The master writes to stderr (what systemd and containers collect).
 * Confined children have no stderr worth trusting after lockdown, so once
 * log_set_sink() is called their lines go to the master over IPC and the
 * master prints them with the child's name.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum sl_log_level {
	SL_LOG_ERROR = 0,
	SL_LOG_WARN,
	SL_LOG_INFO,
	SL_LOG_DEBUG,
};

/* A sink receives one formatted line (no newline, NUL-terminated). */
typedef void (*sl_log_sink)(int level, const char *line, void *arg);

/* log.c */
void	log_init(const char *procname, int level);
void	log_set_level(int level);
int	log_get_level(void);
void	log_set_sink(sl_log_sink, void *);
/* Lines as one JSON object each ("log_format": "json"), or text. */
void	log_set_json(int);
int	log_json(void);
/* The body of a JSON string for s (pure ASCII); its length. */
size_t	log_json_escape(char *d, size_t dlen, const char *s);
/* RFC 3339 UTC now, with milliseconds. */
void	log_time(char *buf, size_t len);
/* A JSON log line + '\n'; fields: "" or ',"key":value...'; 0: too long. */
size_t	log_format_json(char *buf, size_t len, int level, const char *origin,
	    const char *line, const char *fields);
const char *log_procname(void);
int	log_level_parse(const char *);		/* -1 if unknown */
const char *log_level_name(int);
void	log_emit(int level, const char *origin, const char *line);
/* log_emit(), and in JSON mode fields after "msg". */
void	log_emit_fields(int level, const char *origin, const char *line,
	    const char *fields);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
