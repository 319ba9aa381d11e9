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
const char *log_procname(void);
int	log_level_parse(const char *);		/* -1 if unknown */
const char *log_level_name(int);
void	log_emit(int level, const char *origin, const char *line);
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
