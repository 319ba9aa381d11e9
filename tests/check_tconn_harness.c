/*
 * The harness of check_tconn.c: a server tconn and an agent tconn on one
 * libev loop, and the far ends of their streams' socketpairs, driven
 * here: a source that sends a pattern and checks what comes back, an
 * echo, a reader that never reads.
 */
#include <sys/socket.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "tunnel/conn.h"
#include "check_tconn.h"

struct ev_loop	*loop;

/* Far ends of the streams' socketpairs */

struct endp	*ends[MAX_ENDS];
int		 nends;

void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv), 0);
}

static uint8_t
pat(size_t i)
{
	return (uint8_t)((i * 2654435761U) >> 13);
}

static void
endp_shut(struct endp *e)
{
	if (!e->shut) {
		shutdown(e->fd, SHUT_WR);
		e->shut = 1;
	}
}

static void
endp_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct endp	*e = w->data;
	uint8_t		 b[16384];
	ssize_t		 n, i;
	size_t		 cap = sizeof(b);

	(void)revents;
	if (e->echo)
		cap = sizeof(e->buf) - e->blen;
	if ((n = recv(e->fd, e->echo ? e->buf + e->blen : b, cap, 0)) == -1) {
		if (errno != EAGAIN) {
			e->err = errno;
			ev_io_stop(l, &e->rd);
		}
		return;
	}
	if (n == 0) {
		e->eof = 1;
		ev_io_stop(l, &e->rd);
		if (e->echo && e->blen == 0)
			endp_shut(e);
		return;
	}
	if (e->echo) {
		e->blen += (size_t)n;
		e->recvd += (size_t)n;
		if (e->blen == sizeof(e->buf))
			ev_io_stop(l, &e->rd);
		ev_io_start(l, &e->wr);
		return;
	}
	for (i = 0; i < n; i++)
		if (b[i] != pat(e->recvd + (size_t)i))
			e->bad = 1;
	e->recvd += (size_t)n;
}

static void
endp_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct endp	*e = w->data;
	uint8_t		 b[16384];
	size_t		 n, i;
	ssize_t		 k;

	(void)revents;
	if (e->echo) {
		if ((k = send(e->fd, e->buf, e->blen, MSG_NOSIGNAL)) <= 0) {
			if (k == -1 && errno != EAGAIN) {
				e->err = errno;
				ev_io_stop(l, &e->wr);
			}
			return;
		}
		memmove(e->buf, e->buf + k, e->blen - (size_t)k);
		e->blen -= (size_t)k;
		e->sent += (size_t)k;
		if (!e->eof)
			ev_io_start(l, &e->rd);
		if (e->blen == 0) {
			ev_io_stop(l, &e->wr);
			if (e->eof)
				endp_shut(e);
		}
		return;
	}
	n = e->to_send - e->sent < sizeof(b) ? e->to_send - e->sent :
	    sizeof(b);
	for (i = 0; i < n; i++)
		b[i] = pat(e->sent + i);
	if ((k = send(e->fd, b, n, MSG_NOSIGNAL)) == -1) {
		if (errno != EAGAIN) {
			e->err = errno;
			ev_io_stop(l, &e->wr);
		}
		return;
	}
	e->sent += (size_t)k;
	if (e->sent == e->to_send) {
		ev_io_stop(l, &e->wr);
		endp_shut(e);
	}
}

/* A socketpair: *near for the tconn, the far end driven by an endp. */
struct endp *
endp_new(int *near, int echo, int deaf, size_t to_send)
{
	struct endp	*e;
	int		 sv[2];

	ck_assert_int_lt(nends, MAX_ENDS);
	pair(sv);
	ck_assert_ptr_nonnull(e = calloc(1, sizeof(*e)));
	e->fd = sv[1];
	e->echo = echo;
	e->deaf = deaf;
	e->to_send = to_send;
	ev_io_init(&e->rd, endp_read_cb, e->fd, EV_READ);
	ev_io_init(&e->wr, endp_write_cb, e->fd, EV_WRITE);
	e->rd.data = e->wr.data = e;
	if (!deaf)
		ev_io_start(loop, &e->rd);
	if (!echo && to_send > 0)
		ev_io_start(loop, &e->wr);
	else if (!echo)
		endp_shut(e);
	ends[nends++] = e;
	*near = sv[0];
	return e;
}

static void
ends_free(void)
{
	int	 i;

	for (i = 0; i < nends; i++) {
		ev_io_stop(loop, &ends[i]->rd);
		ev_io_stop(loop, &ends[i]->wr);
		close(ends[i]->fd);
		free(ends[i]);
	}
	nends = 0;
}

/* The two tconns */

struct side	 srv, agt;
size_t		 mem_max;
static int	 fds_before;

static int
fds_open(void)
{
	int	 fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

void
on_up(struct tconn *c, void *arg)
{
	(void)c;
	((struct side *)arg)->up++;
}

void
on_down(struct tconn *c, const char *why, void *arg)
{
	struct side	*s = arg;

	ck_assert_ptr_eq(c, s->c);
	s->down++;
	snprintf(s->why, sizeof(s->why), "%s", why);
	if (s->free_on_down) {
		tconn_free(c);
		s->c = NULL;
	}
}

/* Agent: the target's host says what to do. */
void
on_open(struct tconn *c, uint32_t id, const char *target, void *arg)
{
	struct side	*s = arg;
	int		 near;

	s->opens++;
	if (strncmp(target, "refuse.", 7) == 0)
		tconn_refuse(c, id, MUX_C_REFUSED);
	else if (strncmp(target, "hold.", 5) == 0)
		s->held = id;
	else {
		endp_new(&near, strncmp(target, "echo.", 5) == 0,
		    strncmp(target, "deaf.", 5) == 0, 0);
		ck_assert_int_eq(tconn_accept(c, id, near), 0);
	}
}

void
on_goaway(struct tconn *c, void *arg)
{
	(void)c;
	((struct side *)arg)->goaway++;
}

void
on_lost(struct tconn *c, uint32_t id, uint32_t code, void *sarg)
{
	struct side	*sd = c == srv.c ? &srv : &agt;

	(void)id;
	(void)sarg;
	sd->lost++;
	sd->lost_code = code;
}

const struct tconn_ops	ops = { on_up, on_down, on_open, on_goaway,
			    on_lost };

void
on_result(struct tconn *c, uint32_t id, int ok, uint32_t code, void *arg)
{
	struct opening	*o = arg;

	(void)c;
	ck_assert_int_eq(o->done, 0);
	ck_assert_uint_eq(id, o->id);
	o->done = 1;
	o->ok = ok;
	o->code = code;
}

int
lookup(void *arg, const char *name, uint8_t *secret, size_t *len)
{
	(void)arg;
	if (strcmp(name, AGENT) != 0 || *len < strlen(SECRET))
		return -1;
	memcpy(secret, SECRET, strlen(SECRET));
	*len = strlen(SECRET);
	return 0;
}

void
tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

void
track_memory(void)
{
	size_t	 n = 0;

	if (srv.c != NULL)
		n += tconn_memory(srv.c);
	if (agt.c != NULL)
		n += tconn_memory(agt.c);
	if (n > mem_max)
		mem_max = n;
}

void
params(struct mux_params *p)
{
	mux_params_default(p);
}

void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("check_tconn", getenv("TCONN_DEBUG") ? SL_LOG_DEBUG :
	    SL_LOG_WARN);
	loop = ev_loop_new(EVFLAG_AUTO);
	memset(&srv, 0, sizeof(srv));
	memset(&agt, 0, sizeof(agt));
	mem_max = 0;
	fds_before = fds_open();
}

void
teardown(void)
{
	tconn_free(srv.c);
	tconn_free(agt.c);
	srv.c = agt.c = NULL;
	ends_free();
	ev_loop_destroy(loop);
	/* Every socket and local fd closed (the loop's own are gone too). */
	ck_assert_int_le(fds_open(), fds_before);
}

void
sides_reset(void)
{
	tconn_free(srv.c);
	tconn_free(agt.c);
	memset(&srv, 0, sizeof(srv));
	memset(&agt, 0, sizeof(agt));
}

/* Both tconns on the two ends of sv (or of a TCP pair). */
void
start(int sfd, int afd, const char *secret, const struct mux_params *p)
{
	srv.c = tconn_server(loop, sfd, "127.0.0.1:1000", lookup, NULL, p,
	    HS_MS, &ops, &srv);
	agt.c = tconn_client(loop, afd, "127.0.0.1:2000", AGENT,
	    (const uint8_t *)secret, strlen(secret), p, HS_MS, &ops, &agt);
	ck_assert_ptr_nonnull(srv.c);
	ck_assert_ptr_nonnull(agt.c);
}

void
start_pair(const struct mux_params *p)
{
	struct mux_params	 def;
	int			 sv[2];

	if (p == NULL) {
		params(&def);
		p = &def;
	}
	pair(sv);
	start(sv[0], sv[1], SECRET, p);
	RUN_UNTIL(srv.up && agt.up, 5);
	ck_assert_int_eq(srv.up, 1);
	ck_assert_int_eq(agt.up, 1);
}

/* Server opens target; the far end sends to_send bytes and checks. */
struct endp *
open_stream(const char *target, size_t to_send, struct opening *o)
{
	struct endp	*e;
	int		 near;

	e = endp_new(&near, 0, 0, to_send);
	ck_assert_int_eq(tconn_open(srv.c, target, near, on_result, o,
	    &o->id), 0);
	return e;
}
