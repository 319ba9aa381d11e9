/*
 * A session's record when it ends (its outcome, bytes, life): sent to
 * the master, which writes the access log (master/accesslog.c).
 */
#ifndef SL_ACCESS_H
#define SL_ACCESS_H

#include "session.h"

void	access_session(const struct session *, const char *outcome);
/*
 * Why a session failed before its relay, for the metrics (enum sl_ferr),
 * or -1: a relayed session, a drain's shutdown.
 */
int	access_ferr(const struct session *, const char *outcome);

#endif
