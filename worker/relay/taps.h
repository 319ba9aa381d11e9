/*
 * Tap chains: a session's payload passes through its listener's taps
 * in order, each direction on its own (transmitm's Tap contract: each
 * tap gets the bytes the previous one returned).
 *
 * A chain is made per session from the listener's config (struct
 * sl_tap) and holds the per-session state: replace's carry-over, the
 * throttle's rate, the output buffers.  The relays call it; it knows
 * no socket.  Output is valid until the next call in that direction.
 */
#ifndef SL_TAPS_H
#define SL_TAPS_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../policy/config.h"

/* Hard cap on what one call may return: a tap that grows data past it
 * fails the session rather than eat the worker's memory. */
#define TAPS_OUT_MAX		(1024 * 1024)
/* A partial match held back is let go after this long without input. */
#define TAPS_FLUSH_MS		100

enum tap_dir {
	TAP_UP = 0,		/* client -> target */
	TAP_DOWN = 1,		/* target -> client */
};

/* Who a session is, for log lines and Lua's `info` (copied by taps_new). */
struct tap_info {
	uint64_t		 session;
	const char		*listener;	/* listener name */
	const char		*proto;		/* "tcp" or "udp" */
	const struct sockaddr	*client;	/* the client's address */
	const struct sockaddr	*local;		/* where it reached us, or
						   NULL */
	const char		*target;	/* "host:port" as routed */
};

struct taps;

/* A chain for one session (or one UDP flow); NULL on ENOMEM. */
struct taps *taps_new(const struct sl_tap *, size_t n,
	    const struct tap_info *);
void	taps_free(struct taps *);

/*
 * Stream bytes in direction dir: 0 with *out, *outlen (may be empty: a
 * tap holds back a carry-over or drops the direction), or -1: end the
 * session, taps_why() says why (a Lua error, a drop pattern seen,
 * output over TAPS_OUT_MAX).
 */
int	taps_stream(struct taps *, enum tap_dir, const uint8_t *in,
	    size_t len, const uint8_t **out, size_t *outlen);
/*
 * What the taps still hold in dir (replace's carry-over: a partial match
 * at the end of the last read), at EOF or when nothing more came for
 * TAPS_FLUSH_MS; 0 or -1.
 */
int	taps_stream_flush(struct taps *, enum tap_dir, const uint8_t **out,
	    size_t *outlen);
/* Bytes held back in dir (the relay arms its flush timer when > 0). */
size_t	taps_held(const struct taps *, enum tap_dir);
/* One datagram: 1 send *out, *outlen, 0 drop it, -1 end the flow. */
int	taps_datagram(struct taps *, enum tap_dir, const uint8_t *in,
	    size_t len, const uint8_t **out, size_t *outlen);
/* The throttle's bytes/s in dir (0: none). */
uint64_t taps_rate(const struct taps *, enum tap_dir);
/* Why the last call failed. */
const char *taps_why(const struct taps *);

/*
 * Where pcap taps' packets go (tap_pcap.h): file is the tap's
 * sl_tap.pcap_index, ts the time it saw the bytes, pkt a raw IP packet
 * of at most PCAP_PKT_MAX bytes; 0, or -1 when the packet was dropped.
 * The worker installs one that sends them to the master; without one
 * pcap taps pass the bytes on and record nothing.
 */
typedef int	(*taps_pcap_sink)(uint32_t file, const struct timespec *ts,
		    const void *pkt, size_t len);
void	taps_set_pcap_sink(taps_pcap_sink);

/*
 * Worker start-up, before lockdown: load and compile every Lua tap of
 * conf (sets sl_tap.rt).  -1 with err ("listeners[0].taps[1]: file:
 * line: message").
 */
int	taps_load(struct sl_conf *, char *err, size_t errlen);
void	taps_unload(struct sl_conf *);

#endif
