/*
 * SOCK_REQ floods (issue 14, item 5): the master's per-worker bound on
 * socket answers the worker has not read (master/bindany.c with
 * master/reqlimit.c), and the rate limit on its log lines.
 *
 * The pure limiter is tested alone; then bindany_request() runs for real
 * against a fake worker: the worker end of a SOCK_SEQPACKET pair that
 * asks 200 times without reading must get exactly
 * REQLIMIT_MAX_OUTSTANDING sockets and SOCK_FAIL EAGAIN for the rest, and
 * sockets again once it has read everything.  The link is on interface
 * "lo" (SO_BINDTODEVICE: root, or any user on Linux 5.7 and later).
 *
 * TPROXY_REQ (issue 11, item 1; master/tproxysock.c) against the same
 * fake worker: every request the config does not allow is refused as a
 * protocol violation without an answer, and, as root in a network
 * namespace of its own, an allowed one gets a non-blocking UDP socket
 * with IP_TRANSPARENT bound to an address this host does not have
 * (192.0.2.77:5353, 2001:db8::77) and connected to the client; the
 * outstanding cap holds for these answers too.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/codec.h"
#include "master/gen.h"
#include "master/master.h"
#include "master/reqlimit.h"
#include "policy/select.h"

struct master *ms;		/* master.c's, which is not linked here */

/* gen.c's, not linked either: one generation, the fake master's. */
const struct sl_conf *
gen_conf(uint32_t id)
{
	(void)id;
	return ms->conf;
}

static struct master	 tm;
static struct sl_conf	 tconf;
static struct sl_link	 tlink;
static struct sl_cidr	 tclients;	/* 127.0.0.0/8 */
static int		 sv[2];	/* [0] the master's end, [1] the worker's */

/* Listeners of tconf, by index. */
enum { L_UDP4, L_TCP, L_UDP6, L_MAX };

START_TEST(t_limit_outstanding)
{
	struct reqlimit	r;
	unsigned	i;

	reqlimit_init(&r);
	for (i = 0; i < REQLIMIT_MAX_OUTSTANDING; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 1);
	/* Nothing read: refused, however often it asks. */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 0);
	/* Everything read: a full allowance again. */
	ck_assert_int_eq(reqlimit_admit(&r, 1), 1);
	for (i = 1; i < REQLIMIT_MAX_OUTSTANDING; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 0), 1);
	ck_assert_int_eq(reqlimit_admit(&r, 0), 0);
	/* A worker that reads each answer is never refused. */
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(reqlimit_admit(&r, 1), 1);
}
END_TEST

START_TEST(t_log_rate)
{
	struct reqlog	l;
	uint64_t	n = 99;
	int		i;

	reqlog_init(&l);
	ck_assert_int_eq(reqlog_allow(&l, 100.0, &n), 1);
	ck_assert_uint_eq(n, 0);
	for (i = 0; i < 500; i++)
		ck_assert_int_eq(reqlog_allow(&l, 100.0 + i * 0.01, &n), 0);
	ck_assert_int_eq(reqlog_allow(&l, 100.0 + REQLIMIT_LOG_EVERY - 0.001,
	    &n), 0);
	ck_assert_int_eq(reqlog_allow(&l, 100.0 + REQLIMIT_LOG_EVERY, &n), 1);
	ck_assert_uint_eq(n, 501);
	/* Quiet for a while: the next event is logged, nothing left out. */
	ck_assert_int_eq(reqlog_allow(&l, 1000.0, &n), 1);
	ck_assert_uint_eq(n, 0);
	/* A clock that steps back does not silence the log. */
	ck_assert_int_eq(reqlog_allow(&l, 5.0, &n), 1);
	/* At most one line per period: 10 periods, 10 lines. */
	reqlog_init(&l);
	for (i = 0, n = 0; i < 10000; i++)
		n += (uint64_t)reqlog_allow(&l, i * 0.01, &(uint64_t){ 0 });
	ck_assert_uint_eq(n, 10);
}
END_TEST

static void
tconf_listener(unsigned i, const char *name, enum sl_listen_kind kind,
    int family)
{
	struct sl_listener	*l = &tconf.listeners[i];

	snprintf(l->name, sizeof(l->name), "%s", name);
	l->kind = kind;
	l->addr.ss_family = family;
	l->addrlen = family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

static void
tconf_listeners(void)
{
	memset(&tclients, 0, sizeof(tclients));
	tclients.family = AF_INET;
	tclients.addr[0] = 127;
	tclients.prefix = 8;
	tconf_listener(L_UDP4, "t4.udp", SL_LISTEN_TPROXY_UDP, AF_INET);
	tconf.listeners[L_UDP4].clients = &tclients;
	tconf.listeners[L_UDP4].nclients = 1;
	tconf_listener(L_TCP, "t4", SL_LISTEN_TPROXY, AF_INET);
	tconf_listener(L_UDP6, "t6.udp", SL_LISTEN_TPROXY_UDP, AF_INET6);
	tconf.nlisteners = L_MAX;
}

static void
fake_setup(void)
{
	memset(&tm, 0, sizeof(tm));
	memset(&tconf, 0, sizeof(tconf));
	memset(&tlink, 0, sizeof(tlink));
	snprintf(tlink.name, sizeof(tlink.name), "lo0");
	tlink.proto = SL_LINK_DIRECT;
	snprintf(tlink.interface, sizeof(tlink.interface), "lo");
	tconf.links = &tlink;
	tconf.nlinks = 1;
	tconf_listeners();
	tm.conf = &tconf;
	tm.loop = ev_default_loop(0);
	ck_assert_ptr_nonnull(tm.loop);
	ms = &tm;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sv), 0);
	/* Room for every answer, so the master never has to queue. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 },
	    sizeof(int));
	tm.procs[0].pid = 4242;
	tm.procs[0].role = SL_PROC_WORKER;
	snprintf(tm.procs[0].name, sizeof(tm.procs[0].name), "worker 0");
	tm.procs[0].chan = ipc_chan_new(tm.loop, sv[0], SL_PROC_WORKER, 1,
	    NULL, NULL, NULL);
	ck_assert_ptr_nonnull(tm.procs[0].chan);
	tm.nprocs = 1;
}

static void
fake_teardown(void)
{
	ipc_chan_free(tm.procs[0].chan);
	close(sv[1]);
}

/* n requests from "worker 0", none of the answers read yet. */
static void
ask(unsigned n, uint32_t first_id)
{
	struct sl_msg	m;
	unsigned	i;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.type = SL_MSG_SOCK_REQ;
		m.id = first_id + i;
		m.fd = -1;
		m.u.sock_req.link = 0;
		m.u.sock_req.family = 4;
		ck_assert_int_eq(bindany_request(&tm.procs[0], &m), 0);
	}
}

/* Read every answer the worker has; count sockets and EAGAIN refusals. */
static void
read_answers(unsigned *fds, unsigned *again)
{
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 rc;

	*fds = *again = 0;
	while ((rc = ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT)) == SL_RECV_OK) {
		if (m.type == SL_MSG_SOCK_FD) {
			ck_assert_int_ge(m.fd, 0);
			close(m.fd);
			(*fds)++;
		} else {
			ck_assert_int_eq(m.type, SL_MSG_SOCK_FAIL);
			ck_assert_int_eq(m.fd, -1);
			ck_assert_msg(m.u.sock_fail.err == EAGAIN,
			    "SOCK_FAIL %s (not EAGAIN): no SO_BINDTODEVICE "
			    "here?", strerror((int)m.u.sock_fail.err));
			(*again)++;
		}
	}
	ck_assert_int_eq(rc, SL_RECV_AGAIN);
}

START_TEST(t_flood_bounded)
{
	unsigned	fds, again;

	ask(200, 1);
	ck_assert_uint_eq(ipc_chan_queued(tm.procs[0].chan), 0);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, REQLIMIT_MAX_OUTSTANDING);
	ck_assert_uint_eq(again, 200 - REQLIMIT_MAX_OUTSTANDING);
	/* All read: the worker gets sockets again. */
	ask(10, 1000);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, 10);
	ck_assert_uint_eq(again, 0);
	/* One at a time, read at once: never refused. */
	for (unsigned i = 0; i < 300; i++) {
		ask(1, 2000 + i);
		read_answers(&fds, &again);
		ck_assert_uint_eq(fds, 1);
	}
}
END_TEST

/* Another process in the row starts with a full allowance. */
START_TEST(t_respawn_resets)
{
	unsigned	fds, again;

	ask(REQLIMIT_MAX_OUTSTANDING, 1);
	tm.procs[0].pid = 4243;
	ask(1, 500);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, REQLIMIT_MAX_OUTSTANDING + 1);
	ck_assert_uint_eq(again, 0);
}
END_TEST

/* A TPROXY_REQ for listener, from local to peer (text addresses). */
static void
tproxy_msg(struct sl_msg *m, uint32_t id, uint32_t listener, int family,
    const char *local, uint16_t lport, const char *peer, uint16_t pport)
{
	memset(m, 0, sizeof(*m));
	m->type = SL_MSG_TPROXY_REQ;
	m->id = id;
	m->fd = -1;
	m->u.tproxy_req.listener = listener;
	m->u.tproxy_req.family = family == AF_INET ? 4 : 6;
	ck_assert_int_eq(inet_pton(family, local, m->u.tproxy_req.local), 1);
	ck_assert_int_eq(inet_pton(family, peer, m->u.tproxy_req.peer), 1);
	m->u.tproxy_req.local_port = lport;
	m->u.tproxy_req.peer_port = pport;
}

/* What the config does not allow: -1 (the worker is killed), no answer. */
START_TEST(t_tproxy_refused)
{
	struct sl_msg	m;
	unsigned	fds, again;

	tproxy_msg(&m, 1, L_MAX, AF_INET, "192.0.2.77", 53, "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, SL_MAX_LISTENERS - 1, AF_INET, "192.0.2.77", 53,
	    "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	/* The TCP side of a tproxy listener. */
	tproxy_msg(&m, 1, L_TCP, AF_INET, "192.0.2.77", 53, "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	/* The other family than the listener's, both ways. */
	tproxy_msg(&m, 1, L_UDP4, AF_INET6, "2001:db8::77", 53, "::1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, L_UDP6, AF_INET, "192.0.2.77", 53, "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	m.u.tproxy_req.family = 5;
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	/* A client not in the listener's clients. */
	tproxy_msg(&m, 1, L_UDP4, AF_INET, "192.0.2.77", 53, "10.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	/* Unspecified addresses, ports 0. */
	tproxy_msg(&m, 1, L_UDP4, AF_INET, "0.0.0.0", 53, "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, L_UDP6, AF_INET6, "::", 53, "::1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, L_UDP6, AF_INET6, "2001:db8::77", 53, "::", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, L_UDP4, AF_INET, "192.0.2.77", 0, "127.0.0.1", 4000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	tproxy_msg(&m, 1, L_UDP4, AF_INET, "192.0.2.77", 53, "127.0.0.1", 0);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), -1);
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds + again, 0);
}
END_TEST

/*
 * A network namespace of our own with lo up (check runs each test in a
 * child of its own), or 0 when we may not: the test is then skipped.
 */
static int
own_netns(void)
{
	struct ifreq	ifr;
	int		fd;

	if (unshare(CLONE_NEWNET) == -1) {
		fprintf(stderr, "tproxy sockets not tested: unshare: %s\n",
		    strerror(errno));
		return 0;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
	return 1;
}

/* The one answer the worker has: a socket (or -1 and *err). */
static int
one_answer(int *err)
{
	struct sl_msg	 m;
	const char	*why = NULL;

	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT), SL_RECV_OK);
	ck_assert_uint_eq(m.id, 77);
	*err = m.type == SL_MSG_SOCK_FAIL ? (int)m.u.sock_fail.err : 0;
	return m.type == SL_MSG_SOCK_FD ? m.fd : -1;
}

/* fd is a non-blocking transparent UDP socket from local to peer. */
static void
check_socket(int fd, int family, const char *local, uint16_t lport,
    const char *peer, uint16_t pport)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[INET6_ADDRSTRLEN];
	const void		*addr;
	uint16_t		 port;
	int			 v;

	len = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	ck_assert_int_eq(v, SOCK_DGRAM);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	len = sizeof(v);
	if (family == AF_INET)
		ck_assert_int_eq(getsockopt(fd, SOL_IP, IP_TRANSPARENT, &v,
		    &len), 0);
	else
		ck_assert_int_eq(getsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT,
		    &v, &len), 0);
	ck_assert_int_eq(v, 1);
	for (int side = 0; side < 2; side++) {
		len = sizeof(ss);
		ck_assert_int_eq((side == 0 ? getsockname : getpeername)(fd,
		    (struct sockaddr *)&ss, &len), 0);
		ck_assert_int_eq(ss.ss_family, family);
		addr = family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		ck_assert_ptr_nonnull(inet_ntop(family, addr, text,
		    sizeof(text)));
		ck_assert_str_eq(text, side == 0 ? local : peer);
		ck_assert_uint_eq(port, side == 0 ? lport : pport);
	}
}

START_TEST(t_tproxy_socket)
{
	struct sockaddr_in	sin;
	struct sl_msg		m;
	socklen_t		len;
	char			buf[8];
	unsigned		fds, again;
	int			fd, rx, err;

	if (!own_netns())
		return;
	/* The client, so that the reply can be seen arriving. */
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(40000);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	tproxy_msg(&m, 77, L_UDP4, AF_INET, "192.0.2.77", 5353, "127.0.0.1",
	    40000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), 0);
	fd = one_answer(&err);
	ck_assert_msg(fd >= 0, "SOCK_FAIL %s", strerror(err));
	check_socket(fd, AF_INET, "192.0.2.77", 5353, "127.0.0.1", 40000);
	/* The reply leaves from the original destination. */
	ck_assert_int_eq(send(fd, "pong", 4, 0), 4);
	len = sizeof(sin);
	ck_assert_int_eq(recvfrom(rx, buf, sizeof(buf), 0,
	    (struct sockaddr *)&sin, &len), 4);
	ck_assert_uint_eq(ntohl(sin.sin_addr.s_addr), 0xc000024d);
	ck_assert_uint_eq(ntohs(sin.sin_port), 5353);
	close(fd);
	close(rx);
	tproxy_msg(&m, 77, L_UDP6, AF_INET6, "2001:db8::77", 5353, "::1",
	    40000);
	ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), 0);
	fd = one_answer(&err);
	ck_assert_msg(fd >= 0, "SOCK_FAIL %s", strerror(err));
	check_socket(fd, AF_INET6, "2001:db8::77", 5353, "::1", 40000);
	close(fd);
	/* Nobody reads: the cap holds for these answers as well. */
	for (unsigned i = 0; i < 100; i++) {
		tproxy_msg(&m, 100 + i, L_UDP4, AF_INET, "192.0.2.77", 5353,
		    "127.0.0.1", (uint16_t)(1000 + i));
		ck_assert_int_eq(tproxy_request(&tm.procs[0], &m), 0);
	}
	read_answers(&fds, &again);
	ck_assert_uint_eq(fds, REQLIMIT_MAX_OUTSTANDING);
	ck_assert_uint_eq(again, 100 - REQLIMIT_MAX_OUTSTANDING);
}
END_TEST

static Suite *
bindany_suite(void)
{
	Suite	*s = suite_create("bindany");
	TCase	*tc = tcase_create("limiter");

	tcase_add_test(tc, t_limit_outstanding);
	tcase_add_test(tc, t_log_rate);
	suite_add_tcase(s, tc);
	tc = tcase_create("flood");
	tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
	tcase_add_test(tc, t_flood_bounded);
	tcase_add_test(tc, t_respawn_resets);
	suite_add_tcase(s, tc);
	tc = tcase_create("tproxy");
	tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
	tcase_add_test(tc, t_tproxy_refused);
	tcase_add_test(tc, t_tproxy_socket);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(bindany_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
