/*
 * Private header of the check_relay executable (the "relay" suite),
 * built from check_relay.c (the tests, main) and check_relay_harness.c
 * (two libev test peers around a relay over real TCP loopback pairs).
 * The tap cases run a real chain (worker/relay/taps.c) in the relay.
 */
#ifndef SL_TESTS_CHECK_RELAY_H
#define SL_TESTS_CHECK_RELAY_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "worker/relay/pool.h"
#include "worker/relay/stream.h"
#include "worker/relay/taps.h"

#define MiB		(1024 * 1024)
#define KiB		1024
#define DEADLINE	8.0	/* seconds per ev_run, far below Check's */
#define PEER_BURST	(1 * MiB)
#define FNV_INIT	0xcbf29ce484222325ULL

struct harness;

struct peer {
	struct harness	*h;
	int		 fd;
	ev_io		 rd, wr;
	/* sending: tx_total pseudo-random bytes, then maybe SHUT_WR */
	uint64_t	 tx_total, tx_gen, tx_sent, tx_hash, rng;
	uint8_t		 txbuf[16 * KiB];
	size_t		 txoff, txlen;
	int		 tx_after_eof;	/* send only once rx saw EOF */
	int		 tx_shut;	/* shutdown(SHUT_WR) when all sent */
	int		 tx_done;
	ev_tstamp	 tx_last;	/* when tx_sent last grew */
	/* receiving */
	int		 rx_on;
	uint64_t	 rx_bytes, rx_hash;
	uint8_t		 head[RELAY_BUFSZ];	/* first bytes received */
	size_t		 headlen;
	int		 rx_eof;
	uint64_t	 reset_after;	/* abortive close after N rx bytes */
	/* relay state seen when rx saw EOF */
	int		 eof_up_shut, eof_down_shut;
	int		 eof_up_held, eof_down_held;	/* a pipe or buffer */
};

struct harness {
	struct ev_loop	*loop;
	struct relay	*r;		/* freed by the done callback */
	int		 rfd_client, rfd_target;	/* the relay's ends */
	struct peer	 cl, tg;
	ev_timer	 deadline;
	int		 timed_out;
	int		 want_eofs;	/* stop only when both peers saw EOF */
	int		 ncb;
	enum relay_end	 end;
	int		 err;
	ev_tstamp	 t_end;
	uint64_t	 up_bytes, down_bytes;
	_Atomic uint64_t ctr_up, ctr_down;
};

/* The harness, in check_relay_harness.c. */
uint64_t	 fnv(uint64_t, const uint8_t *, size_t);
void		 fill_random(uint64_t *, uint8_t *, size_t);
void		 peer_reset(struct peer *);
void		 peer_tx(struct peer *);
void		 peer_go(struct peer *);
struct harness	*h_new(int);
int		 h_start(struct harness *, const void *, size_t, int, uint32_t);
int		 h_start_taps(struct harness *, const void *, size_t, int,
		    uint32_t, struct taps *);
void		 h_run_for(struct harness *, double);
void		 h_send(struct harness *, const char *);
void		 h_run(struct harness *);
void		 h_free(struct harness *);
void		 assert_streams(struct harness *);

#endif
