/*
 * One tunnel connection on a socket (tunnel/conn.c): a server tconn and
 * an agent tconn on one libev loop, joined by a socketpair, a TCP
 * loopback pair or a relay the test can freeze.  Streams end in
 * socketpairs whose far ends the harness (check_tconn_harness.c) drives:
 * a source that sends a pattern and checks what comes back, an echo, a
 * reader that never reads.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "tunnel/conn.h"
#include "check_tconn.h"

START_TEST(t_handshake)
{
	struct mux_params	 p;
	uint32_t		 id;
	int			 sv[2];

	start_pair(NULL);
	ck_assert_str_eq(tconn_name(srv.c), AGENT);
	ck_assert_str_eq(tconn_name(agt.c), AGENT);
	ck_assert_str_eq(tconn_peer(srv.c), "127.0.0.1:1000");
	ck_assert(tconn_is_up(srv.c) && tconn_is_up(agt.c));
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	printf("tconn: an idle connection holds %zu bytes (server), %zu "
	    "(agent)\n", tconn_memory(srv.c), tconn_memory(agt.c));
	ck_assert_uint_lt(tconn_memory(srv.c), 64 * 1024);
	sides_reset();
	params(&p);
	pair(sv);
	start(sv[0], sv[1], "not the secret at all", &p);
	RUN_UNTIL(srv.down && agt.down, 5);
	ck_assert_int_eq(srv.down, 1);
	ck_assert_int_eq(agt.down, 1);
	ck_assert_int_eq(srv.up + agt.up, 0);
	ck_assert_ptr_nonnull(strstr(srv.why, "wrong secret"));
	ck_assert_ptr_nonnull(strstr(agt.why, "illegal parameter"));
	ck_assert_int_eq(tconn_open(srv.c, "echo.test:1", 0, on_result, NULL,
	    &id), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

/* The agent dials over TCP with a non-blocking connect. */
START_TEST(t_tcp_connect)
{
	struct mux_params	 p;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 l, a, s;

	params(&p);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    -1);
	ck_assert(connect(a, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS);
	agt.c = tconn_client(loop, a, "127.0.0.1:x", AGENT,
	    (const uint8_t *)SECRET, strlen(SECRET), &p, HS_MS, &ops, &agt);
	ck_assert_int_ne(s = accept4(l, NULL, NULL, SOCK_NONBLOCK), -1);
	srv.c = tconn_server(loop, s, "127.0.0.1:y", lookup, NULL, &p, HS_MS,
	    &ops, &srv);
	RUN_UNTIL(srv.up && agt.up, 5);
	ck_assert(srv.up && agt.up);
	sides_reset();

	/* Nobody listens any more: the connect fails, down says why. */
	close(l);
	ck_assert_int_ne(a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    -1);
	ck_assert(connect(a, (struct sockaddr *)&sin, sizeof(sin)) == -1);
	agt.c = tconn_client(loop, a, "127.0.0.1:x", AGENT,
	    (const uint8_t *)SECRET, strlen(SECRET), &p, HS_MS, &ops, &agt);
	RUN_UNTIL(agt.down, 5);
	ck_assert_int_eq(agt.down, 1);
	ck_assert_int_eq(agt.up, 0);
	ck_assert_ptr_nonnull(strstr(agt.why, "connect"));
}
END_TEST

START_TEST(t_stream_echo)
{
	struct opening	 o = { 0 };
	struct endp	*e;
	size_t		 total = 4 * 1024 * 1024;

	start_pair(NULL);
	e = open_stream("echo.test:7", total, &o);
	ck_assert_uint_eq(tconn_streams(srv.c), 1);
	RUN_UNTIL(o.done, 5);
	ck_assert(o.done && o.ok);
	RUN_UNTIL(e->eof && tconn_streams(srv.c) == 0 &&
	    tconn_streams(agt.c) == 0, 20);
	ck_assert_uint_eq(e->sent, total);
	ck_assert_uint_eq(e->recvd, total);
	ck_assert_int_eq(e->bad, 0);
	ck_assert_int_eq(e->eof, 1);
	/* The agent's far end, an echo, saw EOF too. */
	ck_assert_int_eq(ends[1]->eof, 1);
	ck_assert_uint_eq(ends[1]->recvd, total);
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	ck_assert_uint_eq(tconn_streams(agt.c), 0);
	ck_assert_uint_eq(tconn_bytes_out(srv.c), total);
	ck_assert_uint_eq(tconn_bytes_in(srv.c), total);
	ck_assert_uint_eq(tconn_bytes_in(agt.c), total);
	ck_assert_uint_eq(tconn_bytes_out(agt.c), total);
	ck_assert(tconn_is_up(srv.c) && tconn_is_up(agt.c));
	printf("tconn: 4 MiB each way; at most %zu bytes held by both "
	    "connections\n", mem_max);
}
END_TEST

START_TEST(t_refuse)
{
	struct opening	 o = { 0 }, h = { 0 };
	struct endp	*e, *he;
	size_t		 m0, m1;

	start_pair(NULL);
	e = open_stream("refuse.test:80", 1000, &o);
	RUN_UNTIL(o.done && (e->eof || e->err), 5);
	ck_assert_int_eq(o.done, 1);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_uint_eq(o.code, MUX_C_REFUSED);
	/* The server's local closed (unread bytes in it: a reset). */
	ck_assert(e->eof || e->err == ECONNRESET);
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	ck_assert_uint_eq(tconn_streams(agt.c), 0);

	/* An idle stream's cost; then the opener gives up (reset). */
	m0 = tconn_memory(srv.c);
	m1 = tconn_memory(agt.c);
	he = open_stream("hold.test:80", 0, &h);
	RUN_UNTIL(agt.held != 0, 5);
	printf("tconn: one idle stream adds %zu bytes to the server's "
	    "connection, %zu to the agent's\n", tconn_memory(srv.c) - m0,
	    tconn_memory(agt.c) - m1);
	tconn_reset(srv.c, h.id, MUX_C_CANCEL);
	ck_assert_int_eq(h.done, 0);	/* from the loop, not from here */
	RUN_UNTIL(h.done && he->eof && tconn_streams(agt.c) == 0, 5);
	ck_assert(h.done && !h.ok);
	ck_assert_uint_eq(h.code, MUX_C_CANCEL);
	ck_assert_int_eq(he->eof, 1);
	ck_assert_int_eq(tconn_accept(agt.c, agt.held, 0), -1);
}
END_TEST

/* Peer RST closes the local at once; a local error resets the stream. */
START_TEST(t_reset)
{
	struct opening	 o = { 0 }, o2 = { 0 };
	struct endp	*e, *far;

	start_pair(NULL);
	e = open_stream("echo.test:1", 8 * 1024 * 1024, &o);
	RUN_UNTIL(e->recvd > 0, 5);
	far = ends[nends - 1];		/* the agent's echo */
	tconn_reset(srv.c, o.id, MUX_C_CANCEL);
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	RUN_UNTIL(tconn_streams(agt.c) == 0 && (far->eof || far->err) &&
	    (e->eof || e->err), 5);
	ck_assert_uint_eq(tconn_streams(agt.c), 0);
	ck_assert(far->eof || far->err);
	ck_assert(e->eof || e->err);
	/* The agent's owner hears its open stream was reset; ours not. */
	ck_assert_int_eq(agt.lost, 1);
	ck_assert_uint_eq(agt.lost_code, MUX_C_CANCEL);
	ck_assert_int_eq(srv.lost, 0);

	/* The server's far end goes away while data still comes back. */
	e = open_stream("echo.test:1", 8 * 1024 * 1024, &o2);
	RUN_UNTIL(e->recvd > 0, 5);
	far = ends[nends - 1];
	ev_io_stop(loop, &e->rd);
	ev_io_stop(loop, &e->wr);
	close(e->fd);
	e->fd = open("/dev/null", O_RDONLY);	/* ends_free closes it */
	RUN_UNTIL(tconn_streams(srv.c) == 0 && tconn_streams(agt.c) == 0 &&
	    (far->eof || far->err), 5);
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	ck_assert_uint_eq(tconn_streams(agt.c), 0);
	ck_assert(far->eof || far->err);
	ck_assert(tconn_is_up(srv.c) && tconn_is_up(agt.c));
}
END_TEST

static int
echoes_done(struct endp **e, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (!e[i]->eof || e[i]->recvd != e[i]->to_send)
			return 0;
	return 1;
}

START_TEST(t_flow)
{
	struct opening	 o[8];
	struct endp	*e[8];
	int		 i;

	memset(o, 0, sizeof(o));
	start_pair(NULL);
	e[0] = open_stream("deaf.test:1", 4 * 1024 * 1024, &o[0]);
	for (i = 1; i < 8; i++)
		e[i] = open_stream("echo.test:1", 1024 * 1024, &o[i]);
	RUN_UNTIL(echoes_done(e + 1, 7), 20);
	for (i = 1; i < 8; i++) {
		ck_assert_uint_eq(e[i]->recvd, 1024 * 1024);
		ck_assert_int_eq(e[i]->bad, 0);
		ck_assert_int_eq(e[i]->eof, 1);
	}
	ck_assert(o[0].done && o[0].ok);
	ck_assert_uint_lt(e[0]->sent, 4 * 1024 * 1024);	/* stalled */
	ck_assert_uint_eq(tconn_streams(srv.c), 1);
	ck_assert_uint_eq(tconn_streams(agt.c), 1);
	ck_assert(tconn_is_up(srv.c) && tconn_is_up(agt.c));
	printf("tconn: 7 streams of 1 MiB past a stalled one; at most %zu "
	    "bytes held by both connections\n", mem_max);
	ck_assert_uint_lt(mem_max, 2 * 1024 * 1024);
}
END_TEST

/* Small windows, frames and output: every stream parks often. */
START_TEST(t_many_small)
{
	struct mux_params	 p;
	struct opening		 o[24];
	struct endp		*e[24];
	int			 i;

	memset(o, 0, sizeof(o));
	params(&p);
	p.window = 3000;
	p.max_frame = 1024;
	p.out_cap = 4096;
	start_pair(&p);
	for (i = 0; i < 24; i++)
		e[i] = open_stream("echo.test:1", 200 * 1000 + (size_t)i * 7,
		    &o[i]);
	RUN_UNTIL(echoes_done(e, 24) && tconn_streams(srv.c) == 0 &&
	    tconn_streams(agt.c) == 0, 30);
	for (i = 0; i < 24; i++) {
		ck_assert_uint_eq(e[i]->recvd, e[i]->to_send);
		ck_assert_int_eq(e[i]->bad, 0);
		ck_assert_int_eq(e[i]->eof, 1);
	}
	ck_assert_uint_eq(tconn_streams(srv.c), 0);
	ck_assert_uint_eq(tconn_streams(agt.c), 0);
}
END_TEST

START_TEST(t_peer_dies)
{
	struct opening	 o = { 0 }, h = { 0 };
	struct endp	*e, *he;

	start_pair(NULL);
	srv.free_on_down = 1;
	e = open_stream("echo.test:1", 64 * 1024 * 1024, &o);
	he = open_stream("hold.test:1", 0, &h);
	RUN_UNTIL(e->recvd > 256 * 1024 && agt.held != 0, 10);
	ck_assert(agt.held != 0 && e->recvd > 256 * 1024);
	/* The agent's socket closes without close_notify. */
	tconn_free(agt.c);
	agt.c = NULL;
	RUN_UNTIL(srv.down && h.done && (e->eof || e->err) && he->eof, 5);
	ck_assert_int_eq(srv.down, 1);
	ck_assert_ptr_null(srv.c);
	/* EOF without close_notify, or a reset or EPIPE (unread data). */
	ck_assert_msg(strstr(srv.why, "close_notify") != NULL ||
	    strstr(srv.why, "reset") != NULL ||
	    strstr(srv.why, "Broken pipe") != NULL, "why: %s", srv.why);
	ck_assert(h.done && !h.ok);
	ck_assert_uint_eq(h.code, MUX_C_SHUTDOWN);
	/* The open stream is lost, the opening one reported by its cb. */
	ck_assert_int_eq(srv.lost, 1);
	ck_assert_uint_eq(srv.lost_code, MUX_C_SHUTDOWN);
	ck_assert(e->eof || e->err);
	ck_assert_int_eq(he->eof, 1);
	ck_assert_int_eq(e->bad, 0);
}
END_TEST

START_TEST(t_handshake_timeout)
{
	struct mux_params	 p;
	int			 sv[2], cv[2];

	params(&p);
	pair(sv);
	pair(cv);
	/* Raw peers that never answer, on both sides. */
	srv.c = tconn_server(loop, sv[0], "silent:1", lookup, NULL, &p, 200,
	    &ops, &srv);
	agt.c = tconn_client(loop, cv[0], "silent:2", AGENT,
	    (const uint8_t *)SECRET, strlen(SECRET), &p, 200, &ops, &agt);
	RUN_UNTIL(srv.down && agt.down, 5);
	ck_assert(srv.down && agt.down && !srv.up && !agt.up);
	ck_assert_str_eq(srv.why, "handshake timeout");
	ck_assert_str_eq(agt.why, "handshake timeout");
	close(sv[1]);
	close(cv[1]);
}
END_TEST

/* A relay between the two that the test can freeze. */
struct relay {
	int	 fd[2];
	ev_io	 rd[2];
	int	 frozen;
};

static void
relay_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct relay	*r = w->data;
	int		 from = w == &r->rd[1], flags;
	uint8_t		 b[4096];
	ssize_t		 n;

	(void)l;
	(void)revents;
	if ((n = recv(r->fd[from], b, sizeof(b), 0)) <= 0)
		return;
	/* Blocking writes: the other side always reads in this test. */
	flags = fcntl(r->fd[!from], F_GETFL);
	fcntl(r->fd[!from], F_SETFL, flags & ~O_NONBLOCK);
	ck_assert_int_eq(send(r->fd[!from], b, (size_t)n, MSG_NOSIGNAL), n);
	fcntl(r->fd[!from], F_SETFL, flags);
}

START_TEST(t_dead_peer)
{
	struct mux_params	 p;
	struct relay		 r;
	int			 sv[2], av[2], i;

	params(&p);
	p.ping_ms = 100;
	p.dead_ms = 300;
	pair(sv);
	pair(av);
	r.fd[0] = sv[1];
	r.fd[1] = av[1];
	for (i = 0; i < 2; i++) {
		ev_io_init(&r.rd[i], relay_cb, r.fd[i], EV_READ);
		r.rd[i].data = &r;
		ev_io_start(loop, &r.rd[i]);
	}
	start(sv[0], av[0], SECRET, &p);
	RUN_UNTIL(srv.up && agt.up, 5);
	ck_assert(srv.up && agt.up);
	/* Keepalive keeps an idle tunnel up. */
	RUN_UNTIL(srv.down || agt.down, 1.0);
	ck_assert_int_eq(srv.down + agt.down, 0);
	/* Neither hears the other any more. */
	for (i = 0; i < 2; i++)
		ev_io_stop(loop, &r.rd[i]);
	RUN_UNTIL(srv.down && agt.down, 5);
	ck_assert(srv.down && agt.down);
	ck_assert_ptr_nonnull(strstr(srv.why, "silent"));
	ck_assert_ptr_nonnull(strstr(agt.why, "silent"));
	close(r.fd[0]);
	close(r.fd[1]);
}
END_TEST

START_TEST(t_goaway)
{
	struct opening	 o = { 0 }, o2 = { 0 };
	struct endp	*e;
	uint32_t	 id;
	int		 sv[2];

	start_pair(NULL);
	srv.free_on_down = agt.free_on_down = 1;
	e = open_stream("echo.test:1", 2 * 1024 * 1024, &o);
	RUN_UNTIL(e->recvd > 0, 5);
	tconn_goaway(srv.c);
	ck_assert(tconn_going_away(srv.c));
	/* No new stream from now on. */
	pair(sv);
	ck_assert_int_eq(tconn_open(srv.c, "echo.test:1", sv[0], on_result,
	    &o2, &id), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
	close(sv[1]);
	RUN_UNTIL(agt.goaway, 5);
	ck_assert_int_eq(agt.goaway, 1);
	ck_assert(tconn_going_away(agt.c));
	RUN_UNTIL(srv.down && agt.down, 10);
	ck_assert_uint_eq(e->recvd, 2 * 1024 * 1024);
	ck_assert_int_eq(e->eof, 1);
	ck_assert_int_eq(e->bad, 0);
	ck_assert(srv.down && agt.down);
	ck_assert_ptr_nonnull(strstr(srv.why, "goaway"));
	ck_assert_str_eq(agt.why, "closed by peer");
	ck_assert_int_eq(o2.done, 0);
}
END_TEST

/* up() closes at once: down() comes from the loop, not from inside. */
static void
on_up_close(struct tconn *c, void *arg)
{
	struct side	*s = arg;

	s->up++;
	tconn_close(c, "closed from up");
	ck_assert_int_eq(s->down, 0);
}

START_TEST(t_close)
{
	static const struct tconn_ops	 close_ops = { on_up_close, on_down,
					    on_open, on_goaway, on_lost };
	struct opening	 o = { 0 }, h = { 0 };
	struct mux_params p;
	struct endp	*e, *he;
	int		 sv[2];

	start_pair(NULL);
	e = open_stream("deaf.test:1", 4096, &o);
	he = open_stream("hold.test:1", 0, &h);
	RUN_UNTIL(o.done && agt.held != 0, 5);
	tconn_close(srv.c, "enough");
	ck_assert_int_eq(srv.down, 0);
	ck_assert_int_eq(h.done, 0);
	RUN_UNTIL(srv.down && agt.down && h.done && he->eof &&
	    (e->eof || e->err), 5);
	ck_assert(e->eof || e->err);
	ck_assert_str_eq(srv.why, "enough");
	ck_assert_str_eq(agt.why, "closed by peer");
	ck_assert(h.done && !h.ok && h.code == MUX_C_SHUTDOWN);
	sides_reset();
	params(&p);
	pair(sv);
	srv.free_on_down = 1;
	srv.c = tconn_server(loop, sv[0], "x:1", lookup, NULL, &p, HS_MS,
	    &close_ops, &srv);
	agt.c = tconn_client(loop, sv[1], "x:2", AGENT,
	    (const uint8_t *)SECRET, strlen(SECRET), &p, HS_MS, &ops, &agt);
	RUN_UNTIL(srv.down && agt.down, 5);
	ck_assert_int_eq(srv.up, 1);
	ck_assert_str_eq(srv.why, "closed from up");
	ck_assert_int_eq(agt.down, 1);
}
END_TEST

static Suite *
tconn_suite(void)
{
	Suite	*s = suite_create("tconn");
	TCase	*tc = tcase_create("conn");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_handshake);
	tcase_add_test(tc, t_tcp_connect);
	tcase_add_test(tc, t_stream_echo);
	tcase_add_test(tc, t_refuse);
	tcase_add_test(tc, t_reset);
	tcase_add_test(tc, t_flow);
	tcase_add_test(tc, t_many_small);
	tcase_add_test(tc, t_peer_dies);
	tcase_add_test(tc, t_handshake_timeout);
	tcase_add_test(tc, t_dead_peer);
	tcase_add_test(tc, t_goaway);
	tcase_add_test(tc, t_close);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tconn_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
