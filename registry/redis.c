/*
 * One Redis connection: hiredis's RESP reader and command formatter on
 * our own libev watchers (see redis.h for why not its async API).
 *
 * The server is not trusted.  A reply may not buffer more than
 * RC_MAX_BUFFER bytes (hiredis would wait forever for a bulk string of
 * a length it was told), nor announce an array of more than
 * RC_MAX_ELEMENTS elements (hiredis allocates the element vector as
 * soon as it reads the header); the reader's nesting limit is its own
 * (7 levels).  What a reply holds is checked by whoever asked.  A reply
 * must come within RC_REPLY_TIMEOUT of the last one while any is due.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "redis.h"

#define RC_READ_CHUNK		(64 * 1024)

static redisReplyObjectFunctions	 rc_fns;
static void *(*rc_default_array)(const redisReadTask *, int);
static const char			*rc_refused;

static void	rconn_fail(struct rconn *, const char *);

/* hiredis's element vector is allocated from the header: bound it. */
static void *
rc_create_array(const redisReadTask *task, int elements)
{
	if (elements > RC_MAX_ELEMENTS) {
		rc_refused = "array reply with too many elements";
		return NULL;
	}
	return rc_default_array(task, elements);
}

/* hiredis's default reply objects, with the array bound above. */
static redisReader *
rc_reader_new(void)
{
	redisReader	*r;

	if (rc_default_array == NULL) {
		if ((r = redisReaderCreate()) == NULL)
			return NULL;
		rc_fns = *r->fn;
		redisReaderFree(r);
		rc_default_array = rc_fns.createArray;
		rc_fns.createArray = rc_create_array;
	}
	return redisReaderCreateWithFunctions(&rc_fns);
}

int
rconn_is_status(const redisReply *r, const char *s)
{
	return r != NULL && r->type == REDIS_REPLY_STATUS && r->str != NULL &&
	    strcmp(r->str, s) == 0;
}

int
rconn_is_open(const struct rconn *c)
{
	return c->fd != -1;
}

void
rconn_close(struct rconn *c)
{
	ev_io_stop(c->loop, &c->rd);
	ev_io_stop(c->loop, &c->wr);
	ev_timer_stop(c->loop, &c->timer);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->connecting = 0;
	if (c->reader != NULL)
		redisReaderFree(c->reader);
	c->reader = NULL;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->qhead = c->qlen = 0;
}

static void
rconn_fail(struct rconn *c, const char *why)
{
	rconn_close(c);
	c->cb->failed(c, why, c->arg);
}

/* Restart the deadline: connecting, or while a reply is due. */
static void
rconn_deadline(struct rconn *c)
{
	ev_timer_stop(c->loop, &c->timer);
	if (c->connecting || c->qlen > 0) {
		ev_timer_set(&c->timer, c->connecting ? RC_CONNECT_TIMEOUT :
		    RC_REPLY_TIMEOUT, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
}

static void
rconn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rconn	*c = w->data;

	(void)loop;
	(void)revents;
	rconn_fail(c, c->connecting ? "connect timed out" :
	    "reply timed out");
}

/* Write what we can; the write watcher runs while something is left. */
static int
rconn_flush(struct rconn *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			rconn_fail(c, strerror(n == -1 ? errno : EPIPE));
			return -1;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		ev_io_stop(c->loop, &c->wr);
	} else
		ev_io_start(c->loop, &c->wr);
	return 0;
}

/* The connect finished: SO_ERROR says how. */
static void
rconn_connected(struct rconn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		rconn_fail(c, strerror(err));
		return;
	}
	c->connecting = 0;
	ev_io_stop(c->loop, &c->wr);
	ev_io_start(c->loop, &c->rd);
	rconn_deadline(c);
	c->cb->connected(c, c->arg);
}

static void
rconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rconn	*c = w->data;

	(void)loop;
	(void)revents;
	if (c->connecting) {
		rconn_connected(c);
		if (c->fd == -1 || c->outlen == 0)
			return;
	}
	(void)rconn_flush(c);
}

/* One reply: to whoever waits for it, else to push. */
static void
rconn_dispatch(struct rconn *c, redisReply *r)
{
	rconn_reply_cb	 fn = NULL;
	void		*arg = c->arg;

	if (c->qlen > 0) {
		fn = c->q[c->qhead].fn;
		arg = c->q[c->qhead].arg;
		c->qhead = (c->qhead + 1) % RC_MAX_QUEUE;
		c->qlen--;
		rconn_deadline(c);
	}
	if (fn != NULL)
		fn(c, r, arg);
	else if (c->cb->push != NULL)
		c->cb->push(c, r, c->arg);
	else
		rconn_fail(c, "reply nobody asked for");
}

/* Feed what arrived to the reader, then hand out every whole reply. */
static void
rconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	static char	 buf[RC_READ_CHUNK];
	struct rconn	*c = w->data;
	void		*reply;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(c->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		rconn_fail(c, n == 0 ? "connection closed by the server" :
		    strerror(errno));
		return;
	}
	if (c->reader->len - c->reader->pos + (size_t)n > RC_MAX_BUFFER) {
		rconn_fail(c, "reply larger than 16 MiB");
		return;
	}
	if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
		rconn_fail(c, "out of memory");
		return;
	}
	for (;;) {
		reply = NULL;
		rc_refused = NULL;
		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
			rconn_fail(c, rc_refused != NULL ? rc_refused :
			    "protocol error");
			return;
		}
		if (reply == NULL)
			return;
		rconn_dispatch(c, reply);
		freeReplyObject(reply);
		if (c->fd == -1)
			return;		/* closed by a callback */
	}
}

void
rconn_init(struct rconn *c, struct ev_loop *loop, const struct rconn_cbs *cb,
    void *arg, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->cb = cb;
	c->arg = arg;
	c->name = name;
	c->fd = -1;
	ev_init(&c->rd, rconn_read_cb);
	ev_init(&c->wr, rconn_write_cb);
	ev_init(&c->timer, rconn_timeout);
	c->rd.data = c->wr.data = c->timer.data = c;
}

int
rconn_attach(struct rconn *c, int fd)
{
	rconn_close(c);
	if ((c->reader = rc_reader_new()) == NULL) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->connecting = 1;
	ev_io_set(&c->rd, fd, EV_READ);
	ev_io_set(&c->wr, fd, EV_WRITE);
	ev_io_start(c->loop, &c->wr);
	rconn_deadline(c);
	return 0;
}

int
rconn_command(struct rconn *c, rconn_reply_cb fn, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	char	*cmd, *p;
	int	 len;

	if (c->fd == -1 || c->qlen == RC_MAX_QUEUE)
		return -1;
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, argvlen)) < 0)
		return -1;
	if ((size_t)len > RC_MAX_OUT - c->outlen ||
	    (p = realloc(c->out, c->outlen + (size_t)len)) == NULL) {
		redisFreeCommand(cmd);
		return -1;
	}
	memcpy(p + c->outlen, cmd, (size_t)len);
	redisFreeCommand(cmd);
	c->out = p;
	c->outlen += (size_t)len;
	if (fn != NULL) {
		c->q[(c->qhead + c->qlen) % RC_MAX_QUEUE].fn = fn;
		c->q[(c->qhead + c->qlen) % RC_MAX_QUEUE].arg = arg;
		c->qlen++;
	}
	/*
	 * Written from the write watcher, never from here: a write error
	 * then reaches the failed callback outside of the caller.
	 */
	if (!c->connecting) {
		if (fn != NULL && c->qlen == 1)
			rconn_deadline(c);
		ev_io_start(c->loop, &c->wr);
	}
	return 0;
}
