/*
 * The byte pump between a client and a target socket.
 *
 * Never read from a side whose peer cannot take more: each direction
 * has one fixed buffer (copy mode) or one pipe (splice mode); while it
 * holds bytes the source's read watcher is stopped and the destination's
 * write watcher runs.  So a slow reader costs at most one buffer per
 * direction, never more.  EOF in one direction is propagated with
 * shutdown(SHUT_WR) once everything before it was written; the other
 * direction goes on until its own EOF.  No allocation per chunk.
 */
#ifndef SL_RELAY_H
#define SL_RELAY_H

#include <ev.h>
#include <stdatomic.h>
#include <stdint.h>

#define RELAY_BUFSZ		(64 * 1024)
#define RELAY_PIPESZ		(1024 * 1024)	/* deepest splice pipe (pool.c) */
#define RELAY_PIPE_BUDGET	(24 * 1024 * 1024) /* deep pipes' bytes over
						      a pool's workers */

enum relay_end {
	RELAY_END_DONE = 0,	/* both directions reached EOF and flushed */
	RELAY_END_ERROR,	/* a socket error; err holds errno */
	RELAY_END_IDLE,		/* no byte moved for idle_ms */
	RELAY_END_TAP,		/* a tap ended it: taps_why() says why */
};

struct taps;

struct relay;

/*
 * A bandwidth limit on a relay (worker/limits.c makes them): before a
 * direction reads, allow() says how many of `want` bytes it may read now;
 * 0 pauses the direction for *wait_ns, then it asks again.  used() is
 * told what was read.  dir: 0 up (client -> target), 1 down.  The relay
 * owns the timers; the limit's maker owns the memory and must outlive
 * the relay (relay_stop() before freeing it).
 */
struct relay_limit {
	size_t		(*allow)(struct relay_limit *, int dir, size_t want,
			    uint64_t *wait_ns);
	void		(*used)(struct relay_limit *, int dir, size_t n);
	ev_timer	 wait[2];
	int		 paused[2];
	struct relay	*r;
};

typedef void (*relay_done_cb)(struct relay *, enum relay_end, int err,
    void *arg);

struct relay_dir {
	int			 from, to;	/* fds, not owned */
	ev_io			 rd, wr;
	char			*buf;		/* copy mode */
	int			 pipe[2];	/* splice mode; -1 if unused */
	uint32_t		 off, len;	/* bytes pending in buf/pipe
						   (at most RELAY_BUFSZ, or
						   RELAY_PIPESZ in a pipe) */
	/* Small on purpose: an idle session is mostly this struct. */
	uint8_t			 buf_early;	/* buf only holds early bytes */
	uint8_t			 eof;		/* read side saw EOF */
	uint8_t			 drained;	/* the last read got less than
						   asked: `from` is likely empty */
	uint8_t			 shut;		/* SHUT_WR done on `to` */
	uint8_t			 deep;		/* pipe's depth: RELAY_BUFSZ
						   << 2 * deep (pool.h) */
	uint64_t		 bytes;		/* written to `to` */
	_Atomic uint64_t	*ctr;		/* shared counter or NULL */
	struct relay		*r;
};

struct relay {
	struct ev_loop		*loop;
	struct relay_dir	 up;		/* client -> target */
	struct relay_dir	 down;		/* target -> client */
	ev_timer		 idle;		/* idle.data: a tapped relay's
						   timers and token buckets
						   (stream.c), else NULL */
	uint32_t		 idle_ms;
	ev_tstamp		 last_io;
	int			 splice;
	int			 done;
	relay_done_cb		 cb;
	void			*arg;
	struct taps		*taps;		/* not owned; NULL: none */
	struct relay_limit	*limit;		/* not owned; NULL: none */
};

/* relay.c */

/*
 * Start relaying between client and target (non-blocking sockets, not
 * owned).  `early` holds bytes already read from the client that must be
 * sent to the target first (may be NULL).  ctr_up/ctr_down, when not
 * NULL, are incremented with relaxed atomics as bytes are written.
 * Returns 0, or -1 with errno (pipe or buffer allocation failed; falls
 * back to copy mode when pipes cannot be made).  cb is called exactly
 * once, from the loop, never from relay_start().
 */
/*
 * taps (not owned, may be NULL): the session's tap chain; with one, both
 * directions copy (no splice) and every chunk passes through it.
 */
int	relay_start(struct relay *, struct ev_loop *, int client, int target,
	    const void *early, size_t nearly, int use_splice, uint32_t idle_ms,
	    struct taps *taps,
	    _Atomic uint64_t *ctr_up, _Atomic uint64_t *ctr_down,
	    relay_done_cb cb, void *arg);
/*
 * Throttle a started relay (before the loop runs it again): reads in
 * both directions, copy or splice, ask lim first.  Nothing is dropped:
 * a direction out of allowance just stops reading until its timer.
 */
void	relay_set_limit(struct relay *, struct relay_limit *);
/* Stop watchers and release buffers and pipes (fds are not closed). */
void	relay_stop(struct relay *);

#endif
