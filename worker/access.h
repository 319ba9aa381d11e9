/*
 * A session's record when it ends (its outcome, bytes, life): sent to
 * the master, which writes the access log (master/accesslog.c).
 */
#ifndef SL_ACCESS_H
#define SL_ACCESS_H

#include "session.h"

void	access_session(const struct session *, const char *outcome);

#endif
