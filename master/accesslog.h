/*
 * The access log: one record per session (ACCESS from a worker), in the
 * main log (text or JSON, like every line) or, with "access_log", in a
 * file the master opens and reopens on SIGUSR2 or `sluicectl reopen`.
 */
#ifndef SL_ACCESSLOG_H
#define SL_ACCESSLOG_H

#include <stddef.h>

struct proc;
struct sl_conf;
struct sl_msg;

/* Open conf's access_log (if any) for appending; -1 with err. */
int	accesslog_open(const struct sl_conf *, char *err, size_t errlen);
/* -t, reload: what accesslog_open would refuse, creating nothing. */
int	accesslog_check(const struct sl_conf *, char *err, size_t errlen);
/* The file again (rotated away by logrotate); -1 with err. */
int	accesslog_reopen(char *err, size_t errlen);
/* One ACCESS record from worker row c. */
void	accesslog_record(const struct proc *c, const struct sl_msg *m);

#endif
