/*
 * check_mux: what the back-to-back tests (check_mux.c) and the hostile
 * frame tests (check_mux_bad.c) share.
 */
#ifndef CHECK_MUX_H
#define CHECK_MUX_H

#include <check.h>
#include <stdint.h>

#include "tunnel/frame.h"
#include "tunnel/mux.h"

#define IDS	512		/* stream ids the tests use stay below */

struct side {
	struct mux	*m;
	struct side	*peer;
	uint64_t	 now;
	int		 ready;
	int		 accept;	/* on_open: 1 yes, 2 refuse, 0 wait */
	int		 rc;		/* last mux_input */
	const char	*why;
	uint32_t	 goaway;	/* code + 1 */
	char		 target[MUX_TARGET_MAX + 1];
	uint32_t	 opened[IDS];	/* on_open count */
	int		 result[IDS];	/* on_open_result: 1 ok, -code */
	size_t		 rx[IDS];
	int		 bad[IDS];	/* a byte not in the pattern */
	int		 stall[IDS];	/* do not consume */
	int		 fin[IDS];
	uint32_t	 reset[IDS];	/* code + 1 */
	const char	*reset_why[IDS];
	size_t		 tx[IDS], tx_total[IDS];
	int		 tx_fin[IDS];	/* FIN once tx_total is sent */
	int		 writable[IDS];
};

/* What a mux sent, frame by frame: the last frame of a type on an id. */
struct sent {
	int		 n[MUX_F_MAX];
	uint32_t	 last_id[MUX_F_MAX];
	uint32_t	 last_code[MUX_F_MAX];
	size_t		 data;
};

/* check_mux.c */
uint8_t		 pattern(uint32_t id, size_t off);
/* A mux with default limits (p NULL) and the recording callbacks. */
struct side	*side_new(const struct mux_params *p, int is_server);
void		 side_free(struct side *);
/* One frame into s's mux as its peer would write it; mux_input's rc. */
int		 inject(struct side *, uint8_t type, uint32_t id,
		    const void *payload, size_t len);
int		 inject_code(struct side *, uint8_t type, uint32_t id,
		    uint32_t code);
/* Everything s's mux has written, decoded and counted. */
void		 drain(struct side *, struct sent *);

/* check_mux_bad.c */
void		 mux_bad_tests(Suite *);

#endif
