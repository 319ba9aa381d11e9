/*
 * UDP ASSOCIATE: the SOCKS5 UDP header codec (proto/socks5_wire.c) with
 * every malformed field, and the datagram pump (relay/datagram.c) on a
 * real libev loop over loopback sockets.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../worker/proto/socks5_wire.h"
#include "../worker/relay/datagram.h"

/* ---- the header codec ---- */

static const uint8_t v4_hdr[] = { 0, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90,
	'h', 'i' };

START_TEST(parse_ipv4)
{
	struct sl_target	t;
	uint8_t			frag = 9;
	const struct sockaddr_in *sin = (const void *)&t.addr;

	ck_assert_int_eq(socks5_parse_udp(v4_hdr, sizeof(v4_hdr), &frag, &t),
	    10);
	ck_assert_int_eq(frag, 0);
	ck_assert_str_eq(t.host, "");
	ck_assert_int_eq(t.port, 8080);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 8080);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	/* No payload at all is a valid (empty) datagram. */
	ck_assert_int_eq(socks5_parse_udp(v4_hdr, 10, &frag, &t), 10);
}
END_TEST

START_TEST(parse_ipv6_and_name)
{
	uint8_t			b[64] = { 0, 0, 0, 4 };
	struct sl_target	t;
	uint8_t			frag;
	const struct sockaddr_in6 *sin6 = (const void *)&t.addr;

	b[4 + 15] = 1;			/* ::1 */
	b[20] = 0;
	b[21] = 53;
	ck_assert_int_eq(socks5_parse_udp(b, 22, &frag, &t), 22);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_int_eq(t.port, 53);

	memcpy(b, "\0\0\0\3\x0b" "example.org\x01\xbb" "XYZ", 21);
	ck_assert_int_eq(socks5_parse_udp(b, 21, &frag, &t), 18);
	ck_assert_str_eq(t.host, "example.org");
	ck_assert_int_eq(t.port, 443);
}
END_TEST

START_TEST(parse_truncated)
{
	static const uint8_t name[] = "\0\0\0\3\x03" "abc\0\x35";
	struct sl_target	t;
	uint8_t			frag;
	size_t			n;

	/* Every strict prefix of a header is truncated. */
	for (n = 0; n < 10; n++)
		ck_assert_int_eq(socks5_parse_udp(v4_hdr, n, &frag, &t), -1);
	for (n = 0; n < 10; n++)
		ck_assert_int_eq(socks5_parse_udp(name, n, &frag, &t), -1);
	ck_assert_int_eq(socks5_parse_udp(name, 10, &frag, &t), 10);
	ck_assert_str_eq(t.host, "abc");
}
END_TEST

START_TEST(parse_bad_fields)
{
	uint8_t			b[32];
	struct sl_target	t;
	uint8_t			frag = 0;
	int			atyp;

	/* Unknown address types: 0, 2, 5..255. */
	for (atyp = 0; atyp < 256; atyp++) {
		if (atyp == 1 || atyp == 3 || atyp == 4)
			continue;
		memset(b, 0, sizeof(b));
		b[3] = (uint8_t)atyp;
		b[4] = 4;
		ck_assert_int_eq(socks5_parse_udp(b, sizeof(b), &frag, &t),
		    -1);
	}
	/* A zero-length name. */
	memcpy(b, "\0\0\0\3\0\0\x35pp", 9);
	ck_assert_int_eq(socks5_parse_udp(b, 9, &frag, &t), -1);
	/* A NUL inside a name ("a\0b"). */
	memcpy(b, "\0\0\0\3\3a\0b\0\x35", 10);
	ck_assert_int_eq(socks5_parse_udp(b, 10, &frag, &t), -1);
	/* FRAG set: parsed, and reported to the caller, who drops it. */
	memcpy(b, v4_hdr, sizeof(v4_hdr));
	b[2] = 1;
	ck_assert_int_eq(socks5_parse_udp(b, sizeof(v4_hdr), &frag, &t), 10);
	ck_assert_int_eq(frag, 1);
	b[2] = 0x80;
	ck_assert_int_eq(socks5_parse_udp(b, sizeof(v4_hdr), &frag, &t), 10);
	ck_assert_int_eq(frag, 0x80);
	/* RSV is not judged. */
	b[0] = b[1] = 0xff;
	b[2] = 0;
	ck_assert_int_eq(socks5_parse_udp(b, sizeof(v4_hdr), &frag, &t), 10);
}
END_TEST

START_TEST(build_roundtrip)
{
	uint8_t			b[S5_UDP_HDR_MAX];
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct sl_target	t;
	char			name[300];
	uint8_t			frag;
	int			n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8080);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	n = socks5_build_udp(b, sizeof(b), NULL, 0, (struct sockaddr *)&sin);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(memcmp(b, v4_hdr, 10), 0);
	ck_assert_int_eq(socks5_udp_hdrlen(NULL, (struct sockaddr *)&sin), 10);
	ck_assert_int_eq(socks5_build_udp(b, 9, NULL, 0,
	    (struct sockaddr *)&sin), -1);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	sin6.sin6_addr = in6addr_loopback;
	n = socks5_build_udp(b, sizeof(b), NULL, 0, (struct sockaddr *)&sin6);
	ck_assert_int_eq(n, 22);
	ck_assert_int_eq(socks5_parse_udp(b, (size_t)n, &frag, &t), 22);
	ck_assert_int_eq(t.port, 53);
	ck_assert_int_eq(t.addr.ss_family, AF_INET6);
	/* An IPv4-mapped address goes out as IPv4. */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	n = socks5_build_udp(b, sizeof(b), NULL, 0, (struct sockaddr *)&sin6);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(b[3], S5_ATYP_IPV4);
	ck_assert_int_eq(b[4], 10);

	n = socks5_build_udp(b, sizeof(b), "Example.ORG", 443, NULL);
	ck_assert_int_eq(n, 4 + 1 + 11 + 2);
	ck_assert_int_eq(socks5_parse_udp(b, (size_t)n, &frag, &t), n);
	ck_assert_str_eq(t.host, "Example.ORG");
	ck_assert_int_eq(t.port, 443);
	ck_assert_int_eq(frag, 0);

	/* Names: empty and over 255 bytes are refused; 255 fits. */
	ck_assert_int_eq(socks5_build_udp(b, sizeof(b), "", 1, NULL), -1);
	memset(name, 'a', sizeof(name));
	name[256] = '\0';
	ck_assert_int_eq(socks5_build_udp(b, sizeof(b), name, 1, NULL), -1);
	name[255] = '\0';
	ck_assert_int_eq(socks5_build_udp(b, sizeof(b), name, 1, NULL),
	    S5_UDP_HDR_MAX);
	/* No name and no known family. */
	memset(&sin, 0, sizeof(sin));
	ck_assert_int_eq(socks5_build_udp(b, sizeof(b), NULL, 1,
	    (struct sockaddr *)&sin), -1);
	ck_assert_int_eq(socks5_udp_hdrlen(NULL, NULL), -1);
}
END_TEST

START_TEST(build_associate)
{
	uint8_t			b[32];
	struct sockaddr_in	sin;
	static const uint8_t	zero[] = { 5, 3, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t	want[] = { 5, 3, 0, 1, 127, 0, 0, 2, 0x30,
	    0x39 };

	ck_assert_int_eq(socks5_build_udp_associate(b, sizeof(b), NULL), 10);
	ck_assert_int_eq(memcmp(b, zero, 10), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(12345);
	sin.sin_addr.s_addr = htonl(0x7f000002);
	ck_assert_int_eq(socks5_build_udp_associate(b, sizeof(b),
	    (struct sockaddr *)&sin), 10);
	ck_assert_int_eq(memcmp(b, want, 10), 0);
	ck_assert_int_eq(socks5_build_udp_associate(b, 9,
	    (struct sockaddr *)&sin), -1);
}
END_TEST

/* ---- the pump ----
 *
 * A toy protocol stands in for SOCKS: a client datagram is a 2-byte port
 * then the payload, sent to 127.0.0.1:port through peer 0; a target's
 * datagram goes back to the client behind the 2-byte port it came from.
 * Only the app socket may use the client side.
 */
struct rig {
	struct ev_loop		*loop;
	struct datagram		 d;
	int			 cfd;		/* the pump's client side */
	int			 app, target, stranger;
	struct sockaddr_in	 app_sa, c_sa, target_sa;
	int			 peer;
	int			 ended, end_kind;
	ev_tstamp		 ended_at;
	struct sockaddr_in	 to;
};

static int
udp_bound(struct sockaddr_in *sa)
{
	socklen_t	len = sizeof(*sa);
	int		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ne(fd, -1);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static enum dgram_verdict
toy_client(void *arg, const struct sockaddr *from, socklen_t fromlen,
    uint8_t *data, size_t len, struct dgram_out *out)
{
	struct rig	*r = arg;
	const struct sockaddr_in *f = (const void *)from;

	(void)fromlen;
	if (f->sin_port != r->app_sa.sin_port || len < 2)
		return DGRAM_DROP;
	memset(&r->to, 0, sizeof(r->to));
	r->to.sin_family = AF_INET;
	r->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(&r->to.sin_port, data, 2);
	out->peer = r->peer;
	out->to = (struct sockaddr *)&r->to;
	out->tolen = sizeof(r->to);
	out->data = data + 2;
	out->len = len - 2;
	return DGRAM_SEND;
}

static enum dgram_verdict
toy_peer(void *arg, int peer, const struct sockaddr *from, socklen_t fromlen,
    uint8_t *data, size_t len, struct dgram_out *out)
{
	struct rig	*r = arg;

	(void)fromlen;
	ck_assert_int_eq(peer, r->peer);
	data -= 2;			/* into the headroom */
	memcpy(data, &((const struct sockaddr_in *)from)->sin_port, 2);
	out->peer = DGRAM_CLIENT;
	out->to = (struct sockaddr *)&r->app_sa;
	out->tolen = sizeof(r->app_sa);
	out->data = data;
	out->len = len + 2;
	return DGRAM_SEND;
}

static void
toy_end(void *arg, enum dgram_end end, int err)
{
	struct rig	*r = arg;

	(void)err;
	r->ended++;
	r->end_kind = end;
	r->ended_at = ev_time();
}

static const struct dgram_ops toy_ops = { toy_client, toy_peer, toy_end };

static void
rig_up(struct rig *r, uint32_t idle_ms)
{
	struct sockaddr_in	psa;

	memset(r, 0, sizeof(*r));
	r->loop = ev_loop_new(EVFLAG_AUTO);
	r->cfd = udp_bound(&r->c_sa);
	r->app = udp_bound(&r->app_sa);
	r->target = udp_bound(&r->target_sa);
	r->stranger = udp_bound(&psa);
	ck_assert_int_eq(datagram_start(&r->d, r->loop, r->cfd, idle_ms,
	    &toy_ops, r), 0);
	r->peer = datagram_add_peer(&r->d, udp_bound(&psa), NULL, NULL);
	ck_assert_int_eq(r->peer, 0);
}

static void
rig_down(struct rig *r)
{
	datagram_stop(&r->d);
	close(r->cfd);
	close(r->app);
	close(r->target);
	close(r->stranger);
	ev_loop_destroy(r->loop);
}

/* Run the loop until a datagram arrives on fd (2 s at most). */
static ssize_t
rig_recv(struct rig *r, int fd, uint8_t *buf, size_t cap,
    struct sockaddr_in *from)
{
	socklen_t	len;
	ssize_t		n;
	int		i;

	for (i = 0; i < 2000; i++) {
		len = sizeof(*from);
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT,
		    (struct sockaddr *)from, &len);
		if (n >= 0)
			return n;
		ck_assert(errno == EAGAIN);
		ev_run(r->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	return -1;
}

static void
app_send(struct rig *r, int fd, const void *p, size_t n)
{
	uint8_t	b[2048];

	memcpy(b, &r->target_sa.sin_port, 2);
	memcpy(b + 2, p, n);
	ck_assert_int_eq(sendto(fd, b, n + 2, 0, (struct sockaddr *)&r->c_sa,
	    sizeof(r->c_sa)), (ssize_t)(n + 2));
}

START_TEST(pump_both_ways)
{
	struct rig		r;
	struct sockaddr_in	from, peer_sa;
	uint8_t			big[1400], buf[2048];
	ssize_t			n;
	size_t			i;

	rig_up(&r, 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	app_send(&r, r.app, big, sizeof(big));
	n = rig_recv(&r, r.target, buf, sizeof(buf), &peer_sa);
	ck_assert_int_eq(n, sizeof(big));
	ck_assert_int_eq(memcmp(buf, big, sizeof(big)), 0);
	/* An empty datagram is a datagram. */
	app_send(&r, r.app, "", 0);
	ck_assert_int_eq(rig_recv(&r, r.target, buf, sizeof(buf), &from), 0);

	/* Back: from the target to the peer socket, out to the app. */
	ck_assert_int_eq(sendto(r.target, "world", 5, 0,
	    (struct sockaddr *)&peer_sa, sizeof(peer_sa)), 5);
	n = rig_recv(&r, r.app, buf, sizeof(buf), &from);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(memcmp(buf, &r.target_sa.sin_port, 2), 0);
	ck_assert_int_eq(memcmp(buf + 2, "world", 5), 0);
	ck_assert_int_eq(from.sin_port, r.c_sa.sin_port);

	/* A burst larger than one callback's share arrives whole. */
	for (i = 0; i < 150; i++)
		app_send(&r, r.app, &i, sizeof(i));
	for (i = 0; i < 150; i++) {
		size_t	got;

		ck_assert_int_eq(rig_recv(&r, r.target, buf, sizeof(buf),
		    &from), sizeof(i));
		memcpy(&got, buf, sizeof(got));
		ck_assert_uint_eq(got, i);
	}
	ck_assert_uint_eq(r.d.st.up, 152);
	ck_assert_uint_eq(r.d.st.up_bytes, 1400 + 150 * sizeof(i));
	ck_assert_uint_eq(r.d.st.down, 1);
	ck_assert_uint_eq(r.d.st.down_bytes, 7);
	ck_assert_uint_eq(r.d.st.dropped, 0);
	ck_assert_int_eq(r.ended, 0);
	rig_down(&r);
}
END_TEST

START_TEST(pump_drops_stranger)
{
	struct rig		r;
	struct sockaddr_in	from;
	uint8_t			buf[64];
	int			i;

	rig_up(&r, 0);
	app_send(&r, r.stranger, "evil", 4);
	app_send(&r, r.app, "good", 4);
	ck_assert_int_eq(rig_recv(&r, r.target, buf, sizeof(buf), &from), 4);
	ck_assert_int_eq(memcmp(buf, "good", 4), 0);
	for (i = 0; i < 20; i++)
		ev_run(r.loop, EVRUN_NOWAIT);
	ck_assert_int_eq(recv(r.target, buf, sizeof(buf), MSG_DONTWAIT), -1);
	ck_assert_uint_eq(r.d.st.dropped, 1);
	ck_assert_uint_eq(r.d.st.up, 1);
	rig_down(&r);
}
END_TEST

START_TEST(pump_idle_timeout)
{
	struct rig		r;
	struct sockaddr_in	from;
	uint8_t			buf[64];
	ev_tstamp		t0;
	int			i;

	rig_up(&r, 300);
	t0 = ev_time();
	/* Traffic after 150 ms pushes the end out; a stranger does not. */
	usleep(150000);
	app_send(&r, r.app, "x", 1);
	ck_assert_int_eq(rig_recv(&r, r.target, buf, sizeof(buf), &from), 1);
	for (i = 0; i < 3000 && !r.ended; i++) {
		if (i % 50 == 0)
			app_send(&r, r.stranger, "y", 1);
		ev_run(r.loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	ck_assert_int_eq(r.ended, 1);
	ck_assert_int_eq(r.end_kind, DGRAM_END_IDLE);
	ck_assert(r.ended_at - t0 >= 0.44);
	ck_assert(r.ended_at - t0 < 2.0);
	ck_assert(r.d.st.dropped >= 1);
	rig_down(&r);
}
END_TEST

START_TEST(pump_peers_full)
{
	struct rig		r;
	struct sockaddr_in	sa;
	int			i;

	rig_up(&r, 0);
	for (i = 1; i < DGRAM_PEERS; i++)
		ck_assert_int_eq(datagram_add_peer(&r.d, udp_bound(&sa), NULL,
		    NULL), i);
	ck_assert_int_eq(datagram_add_peer(&r.d, udp_bound(&sa), NULL, NULL),
	    -1);
	datagram_drop_peer(&r.d, 3);
	ck_assert_int_eq(datagram_add_peer(&r.d, udp_bound(&sa), NULL, NULL),
	    3);
	/* Sending on a peer that is gone fails and is counted. */
	datagram_drop_peer(&r.d, 5);
	ck_assert_int_eq(datagram_send(&r.d, 5, (struct sockaddr *)&sa,
	    sizeof(sa), "z", 1), -1);
	ck_assert_uint_eq(r.d.st.send_failed, 1);
	rig_down(&r);
}
END_TEST

static Suite *
datagram_suite(void)
{
	Suite	*s = suite_create("datagram");
	TCase	*tc = tcase_create("udp header");

	tcase_add_test(tc, parse_ipv4);
	tcase_add_test(tc, parse_ipv6_and_name);
	tcase_add_test(tc, parse_truncated);
	tcase_add_test(tc, parse_bad_fields);
	tcase_add_test(tc, build_roundtrip);
	tcase_add_test(tc, build_associate);
	suite_add_tcase(s, tc);
	tc = tcase_create("pump");
	tcase_add_test(tc, pump_both_ways);
	tcase_add_test(tc, pump_drops_stranger);
	tcase_add_test(tc, pump_idle_timeout);
	tcase_add_test(tc, pump_peers_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(datagram_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
