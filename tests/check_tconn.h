/*
 * What the tests of one tunnel connection (check_tconn.c) share with
 * their harness (check_tconn_harness.c): a server tconn and an agent
 * tconn on one libev loop, and the far ends of their streams.
 */
#ifndef SL_CHECK_TCONN_H
#define SL_CHECK_TCONN_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "tunnel/conn.h"

#define SECRET		"correct horse battery staple"
#define AGENT		"alpha"
#define HS_MS		2000
#define MAX_ENDS	64

extern struct ev_loop	*loop;

/*
 * The far end of a stream's socketpair: a source that sends to_send
 * bytes of a pattern and checks what comes back, an echo, or (deaf) a
 * reader that never reads.
 */
struct endp {
	int	 fd;
	ev_io	 rd, wr;
	int	 echo, deaf;
	size_t	 to_send, sent, recvd;
	int	 eof, err, bad, shut;
	uint8_t	 buf[64 * 1024];
	size_t	 blen;
};

extern struct endp	*ends[MAX_ENDS];
extern int		 nends;

/* One of the two tconns and what its callbacks saw. */
struct side {
	struct tconn	*c;
	int		 up, down, goaway, free_on_down;
	int		 lost;		/* stream_lost calls */
	uint32_t	 lost_code;
	char		 why[160];
	uint32_t	 held;		/* agent: an open left unanswered */
	int		 opens;
};

/* A tconn_open in flight and its result. */
struct opening {
	int		 done, ok;
	uint32_t	 code, id;
};

extern struct side	 srv, agt;
extern size_t		 mem_max;	/* most both tconns held at once */
extern const struct tconn_ops	ops;

void	 pair(int sv[2]);
/* A socketpair: *near for the tconn, the far end driven by an endp. */
struct endp *endp_new(int *near, int echo, int deaf, size_t to_send);

/* tconn_ops; on_open answers by the target's host (refuse., hold.). */
void	 on_up(struct tconn *, void *);
void	 on_down(struct tconn *, const char *, void *);
void	 on_open(struct tconn *, uint32_t, const char *, void *);
void	 on_goaway(struct tconn *, void *);
void	 on_lost(struct tconn *, uint32_t, uint32_t, void *);
/* tconn_open's result callback; arg is the struct opening. */
void	 on_result(struct tconn *, uint32_t, int, uint32_t, void *);
/* The server's secret lookup: AGENT has SECRET. */
int	 lookup(void *, const char *, uint8_t *, size_t *);

/* For RUN_UNTIL only. */
void	 tick_cb(struct ev_loop *, ev_timer *, int);
void	 track_memory(void);

/* Run the loop until cond holds or secs pass. */
#define RUN_UNTIL(cond, secs) do {					\
	ev_timer	 tick_;						\
	double		 end_ = ev_time() + (secs);			\
									\
	ev_timer_init(&tick_, tick_cb, 0.01, 0.01);			\
	ev_timer_start(loop, &tick_);					\
	while (!(cond) && ev_time() < end_) {				\
		ev_run(loop, EVRUN_ONCE);				\
		track_memory();						\
	}								\
	ev_timer_stop(loop, &tick_);					\
} while (0)

void	 params(struct mux_params *);
/* The checked fixture: loop, sides, and no fd left open afterwards. */
void	 setup(void);
void	 teardown(void);
void	 sides_reset(void);
/* Both tconns on the two ends of sv (or of a TCP pair). */
void	 start(int sfd, int afd, const char *secret,
	    const struct mux_params *);
/* start on a socketpair and wait for both up; p NULL: defaults. */
void	 start_pair(const struct mux_params *p);
/* Server opens target; the far end sends to_send bytes and checks. */
struct endp *open_stream(const char *target, size_t to_send,
	    struct opening *o);

#endif
