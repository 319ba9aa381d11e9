/*
 * One Redis connection on a socket the master made: hiredis formats the
 * commands and parses the replies (its RESP reader), libev watchers move
 * the bytes.
 *
 * Why not hiredis's async API with its libev adapter: in hiredis 0.14
 * an async context only comes from redisAsyncConnect*(), which create
 * the socket and connect themselves, and this process may do neither
 * (its filter has no socket() or connect(): its only network peer is
 * the socket the master opened to the configured address).  0.14 has
 * no way to adopt an fd for an async context (redisAsyncConnectFd and
 * redisOptions came with 1.0), and poking an fd into the context's
 * internals would tie us to one version's struct layout.  The reader
 * and the formatter are hiredis's public, stable API, and with our own
 * loop every limit stays ours: the bytes buffered for one reply, the
 * elements of an array, the length of a string, the time a reply may
 * take.
 */
#ifndef SL_REGISTRY_REDIS_H
#define SL_REGISTRY_REDIS_H

#include <ev.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#define RC_MAX_BUFFER		(16u << 20)	/* bytes of one reply */
#define RC_MAX_ELEMENTS		100000		/* of one array */
#define RC_MAX_QUEUE		16		/* replies awaited */
#define RC_MAX_OUT		(4u << 20)	/* bytes not yet written */
#define RC_CONNECT_TIMEOUT	5.0		/* s, connect to ready */
#define RC_REPLY_TIMEOUT	10.0		/* s with no reply due */

struct rconn;

/* A reply to one command: its callback may close the connection. */
typedef void (*rconn_reply_cb)(struct rconn *, const redisReply *,
	    void *arg);

struct rconn_cbs {
	void	(*connected)(struct rconn *, void *arg);
	/* Closed already when called; why is for a log line. */
	void	(*failed)(struct rconn *, const char *why, void *arg);
	/* A reply nobody waits for (pub/sub messages); NULL: a failure. */
	void	(*push)(struct rconn *, const redisReply *, void *arg);
};

struct rconn {
	struct ev_loop		*loop;
	const struct rconn_cbs	*cb;
	void			*arg;
	const char		*name;		/* "commands", for messages */
	int			 fd;		/* -1: closed */
	int			 connecting;
	ev_io			 rd, wr;
	ev_timer		 timer;
	redisReader		*reader;
	char			*out;
	size_t			 outlen, outoff;
	struct {
		rconn_reply_cb	 fn;
		void		*arg;
	}			 q[RC_MAX_QUEUE];
	size_t			 qhead, qlen;
};

/* redis.c */
void	rconn_init(struct rconn *, struct ev_loop *, const struct rconn_cbs *,
	    void *arg, const char *name);
/*
 * Adopt fd, a non-blocking TCP socket whose connect() is in progress (or
 * done).  connected or failed follows.  Returns 0, or -1 (fd closed).
 */
int	rconn_attach(struct rconn *, int fd);
/*
 * Queue a command; fn (NULL: the reply goes to push) gets its reply.
 * Returns 0, or -1 when the queue is full or the connection closed.
 */
int	rconn_command(struct rconn *, rconn_reply_cb fn, void *arg, int argc,
	    const char **argv, const size_t *argvlen);
/* Stop, close the socket, drop what is queued.  No callback. */
void	rconn_close(struct rconn *);
int	rconn_is_open(const struct rconn *);
/* "127.0.0.1:6379" style helpers are the caller's; this is the RESP check:
   a status reply equal to s ("OK"). */
int	rconn_is_status(const redisReply *, const char *s);

#endif
