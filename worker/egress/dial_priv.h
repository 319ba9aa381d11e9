/*
 * Private to the dialer: what dial.c (happy eyeballs to the first
 * endpoint) and dial_s5.c (the SOCKS5 negotiation with each upstream
 * hop) share.  Not for other users of struct dial; they have dial.h.
 */
#ifndef SL_DIAL_PRIV_H
#define SL_DIAL_PRIV_H

#include <stdint.h>

#include "dial.h"

/* dial.c */
/* Stop the dial and report failure: err to the client, why to the log. */
void	dial_fail(struct dial *, enum sl_conn_err err, const char *why);
/* Hand d->fd, connected through every hop, to the callback. */
void	dial_succeed(struct dial *);
/* A failure found before the loop runs, reported from the loop. */
void	dial_fail_soon(struct dial *, enum sl_conn_err, const char *why);

/* dial_agent.c */
/* A stream through the link's agent instead of a connection. */
void	dial_agent_start(struct dial *);

/* dial_s5.c */
/*
 * d->fd reached the innermost hop: ask each hop in turn, innermost
 * first, to CONNECT to the next, the outermost to the target.
 */
void	dial_s5_start(struct dial *);

#endif
