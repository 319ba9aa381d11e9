/*
 * IPC tests: the spec table, msgpack bodies, frames over real
 * SOCK_SEQPACKET socketpairs (fd passing and every way a compromised peer
 * can lie), the libev channel, and a fixed-seed random robustness loop.
 *
 * Run under -Db_sanitize=address,undefined as well: the hostile array32
 * header test only proves "no huge allocation" there, because ASan aborts
 * on a malloc of tens of gigabytes where glibc would quietly fail.
 *
 * This file holds the fixtures the other parts share (fill(), fd
 * counting, socketpairs, hand-made frames), the spec table tests, the
 * random loop and main(); bodies are in check_codec_body.c, frames in
 * check_codec_frame.c, the channel in check_codec_chan.c.
 */

#include "check_codec.h"

/* A message of every type: typical values, or every field at its limit. */
void
fill(struct sl_msg *m, unsigned type, int big)
{
	unsigned	i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->fd = -1;
	m->id = big ? UINT32_MAX : 40 + type;
	switch (type) {
	case SL_MSG_CFG_CONF:
		m->u.cfg_conf.generation = big ? UINT32_MAX : 7;
		m->u.cfg_conf.size = big ? SL_MAX_CONF_BYTES : 1234;
		break;
	case SL_MSG_CFG_SHM:
		m->u.cfg_shm.size = big ? 64u << 20 : 4096;
		m->u.cfg_shm.part = big ? SL_SHM_PART_MAX : 1;
		m->u.cfg_shm.slot = big ? SL_MAX_WORKERS - 1 : 0;
		break;
	case SL_MSG_CFG_PEER:
		m->u.cfg_peer.index = big ? SL_MAX_WORKERS - 1 : 3;
		m->u.cfg_peer.role = big ? SL_PROC_MAX - 1 : SL_PROC_WORKER;
		break;
	case SL_MSG_TUN_OPEN:
	case SL_MSG_TUN_OPENED:
	case SL_MSG_TUN_OPEN_FAIL:
	case SL_MSG_TUN_STREAM:
	case SL_MSG_TUN_STREAM_RESULT:
	case SL_MSG_TUN_DIAL:
	case SL_MSG_TUN_DIALED:
	case SL_MSG_TUN_DIAL_FAIL:
	case SL_MSG_TUN_RESET:
	case SL_MSG_TUN_AGENT_UP:
		m->u.tun.code = big ? SL_TUN_CODE_MAX : 2;
		for (i = 0; i < (big ? SL_TUN_AGENT_MAX : 3); i++)
			m->u.tun.agent[i] = 'a';
		for (i = 0; i < (big ? SL_CTL_TARGET_MAX : 6); i++)
			m->u.tun.target[i] = i == 1 && !big ? ':' : '7';
		for (i = 0; i < (big ? SL_TUN_PEER_MAX : 9); i++)
			m->u.tun.peer[i] = ' ';
		break;
	case SL_MSG_CFG_LISTENER:
		m->u.cfg_listener.index = big ? SL_MAX_LISTENERS - 1 : 2;
		break;
	case SL_MSG_LOG_LEVEL:
		m->u.log_level.level = big ? SL_LOG_DEBUG : SL_LOG_INFO;
		break;
	case SL_MSG_LOG:
		m->u.log.level = big ? SL_LOG_DEBUG : SL_LOG_WARN;
		if (big)
			for (i = 0; i < SL_LOG_MAX_TEXT; i++)
				m->u.log.text[i] = (char)(1 + i % 255);
		else
			strcpy(m->u.log.text, "hello, master");
		break;
	case SL_MSG_RES_QUERY:
		m->u.res_query.family = big ? 6 : 4;
		if (big)
			memset(m->u.res_query.name, 'n', SL_MAX_NAME);
		else
			strcpy(m->u.res_query.name, "example.org");
		break;
	case SL_MSG_RES_ANSWER:
		m->u.res_answer.status = SL_RES_OK;
		m->u.res_answer.ttl = big ? UINT32_MAX : 300;
		m->u.res_answer.naddrs = big ? SL_MAX_ADDRS : 2;
		for (i = 0; i < m->u.res_answer.naddrs; i++) {
			struct sl_res_addr *a = &m->u.res_answer.addrs[i];

			a->family = (big || i == 1) ? 6 : 4;
			memset(a->addr, 0xa0 + i, a->family == 4 ? 4 : 16);
		}
		break;
	case SL_MSG_SOCK_REQ:
		m->u.sock_req.link = big ? SL_MAX_LINKS - 1 : 1;
		m->u.sock_req.family = big ? 6 : 4;
		break;
	case SL_MSG_SOCK_FAIL:
		m->u.sock_fail.err = big ? UINT32_MAX : 19;
		break;
	case SL_MSG_MEMFD_REQ:
		m->u.memfd_req.size = big ? SL_MAX_CONF_BYTES : 4096;
		break;
	case SL_MSG_SVC_TABLE:
		m->u.svc_table.generation = big ? UINT32_MAX : 3;
		m->u.svc_table.size = big ? SL_MAX_CONF_BYTES : 812;
		m->u.svc_table.count = big ? SL_MAX_CONF_BYTES : 9;
		break;
	case SL_MSG_TPROXY_REQ:
		m->u.tproxy_req.listener = big ? SL_MAX_LISTENERS - 1 : 1;
		m->u.tproxy_req.family = big ? 6 : 4;
		memset(m->u.tproxy_req.local, big ? 0xff : 0xc0, big ? 16 : 4);
		memset(m->u.tproxy_req.peer, big ? 0xfe : 0x7f, big ? 16 : 4);
		m->u.tproxy_req.local_port = big ? UINT16_MAX : 53;
		m->u.tproxy_req.peer_port = big ? UINT16_MAX : 40000;
		break;
	case SL_MSG_PCAP_REC:
		m->u.pcap_rec.file = big ? SL_PCAP_MAX_FILES - 1 : 2;
		m->u.pcap_rec.ts_sec = big ? UINT32_MAX : 1700000000;
		m->u.pcap_rec.ts_usec = big ? 999999 : 250000;
		m->u.pcap_rec.len = big ? SL_PCAP_MAX_PKT : 40;
		memset(m->u.pcap_rec.pkt, 0x45, m->u.pcap_rec.len);
		break;
	case SL_MSG_CTL_AGENT:
		for (i = 0; i < (big ? SL_TUN_AGENT_MAX : 3); i++)
			m->u.ctl_agent.agent[i] = 'l';
		for (i = 0; i < (big ? SL_TUN_PEER_MAX : 9); i++)
			m->u.ctl_agent.peer[i] = '1';
		for (i = 0; i < (big ? SL_CTL_TARGET_MAX : 4); i++)
			m->u.ctl_agent.where[i] = 't';
		m->u.ctl_agent.role = big ? 1 : 0;
		m->u.ctl_agent.state = big ? 2 : 1;
		m->u.ctl_agent.streams = big ? UINT32_MAX : 5;
		m->u.ctl_agent.age_ms = big ? UINT64_MAX : 1000;
		m->u.ctl_agent.bytes_in = big ? UINT64_MAX : 77;
		m->u.ctl_agent.bytes_out = big ? UINT64_MAX : 88;
		break;
	default:
		fill_ctl(m, type, big);
		break;
	}
}

void
assert_same(const struct sl_msg *a, const struct sl_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	ck_assert_msg(memcmp(&a->u, &b->u, sizeof(a->u)) == 0,
	    "%s payload differs", ipc_msg_name(a->type));
}

/* The lowest fd number the next open() would get. */
int
lowest_free_fd(void)
{
	int	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own fd */
}

void
seqpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* A frame with a header we choose, around body (hlen may lie). */
size_t
mkframe(char *out, uint32_t hlen, unsigned type, unsigned flags,
    uint32_t id, const void *body, size_t blen)
{
	struct sl_frame_hdr	h;

	h.len = hlen;
	h.type = (uint16_t)type;
	h.flags = (uint16_t)flags;
	h.id = id;
	memcpy(out, &h, HDRSZ);
	memcpy(out + HDRSZ, body, blen);
	return HDRSZ + blen;
}

/* ---------------------------------------------------------------- */

START_TEST(t_spec_table)
{
	unsigned	i, j;

	ck_assert_str_eq(sl_msg_specs[SL_MSG_NONE].name, "NONE");
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_NONE].from, 0);
	for (i = 1; i < SL_MSG_MAX; i++) {
		const struct sl_msg_spec *s = &sl_msg_specs[i];

		ck_assert_msg(s->name != NULL, "type %u has no spec", i);
		ck_assert_msg(s->from != 0, "%s: no sender", s->name);
		ck_assert_msg((s->from & ~(SL_FROM(SL_PROC_MAX) - 1)) == 0,
		    "%s: unknown sender bits", s->name);
		ck_assert_msg(s->max_body > 0, "%s: max_body 0", s->name);
		ck_assert_msg(s->max_body <= SL_IPC_MAX_FRAME - HDRSZ,
		    "%s: max_body too large", s->name);
		ck_assert(s->fd == SL_FD_FORBIDDEN || s->fd == SL_FD_REQUIRED);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(s->name,
			    sl_msg_specs[j].name) != 0, "duplicate %s",
			    s->name);
	}
	/* The directions the brief fixes. */
	for (i = SL_MSG_CFG_CONF; i <= SL_MSG_DRAIN; i++)
		ck_assert_uint_eq(sl_msg_specs[i].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_READY].from, SL_FROM_CHILDREN);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_LOG].from, SL_FROM_CHILDREN);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_RES_QUERY].from, SL_FROM_WORKER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_RES_ANSWER].from,
	    SL_FROM_RESOLVER);
	for (i = SL_MSG_CFG_CONF; i <= SL_MSG_CFG_LISTENER; i++)
		ck_assert_int_eq(sl_msg_specs[i].fd, SL_FD_REQUIRED);
	for (i = SL_MSG_CFG_END; i < SL_MSG_MAX; i++)
		ck_assert_int_eq(sl_msg_specs[i].fd, i == SL_MSG_SOCK_FD ||
		    i == SL_MSG_SVC_TABLE || i == SL_MSG_TUN_OPENED ||
		    i == SL_MSG_TUN_STREAM || i == SL_MSG_TUN_DIALED ?
		    SL_FD_REQUIRED : SL_FD_FORBIDDEN);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_REQ].from, SL_FROM_WORKER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_FD].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_FAIL].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_REDIS_SOCK].from,
	    SL_FROM_REGISTRY);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_MEMFD_REQ].from,
	    SL_FROM_REGISTRY);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SVC_TABLE].from,
	    SL_FROM_MASTER | SL_FROM_REGISTRY);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_TPROXY_REQ].from,
	    SL_FROM_WORKER);
}
END_TEST

START_TEST(t_msg_name)
{
	ck_assert_str_eq(ipc_msg_name(SL_MSG_LOG), "LOG");
	ck_assert_str_eq(ipc_msg_name(SL_MSG_RES_ANSWER), "RES_ANSWER");
	ck_assert_str_eq(ipc_msg_name(SL_MSG_NONE), "NONE");
	ck_assert_str_eq(ipc_msg_name(SL_MSG_MAX), "UNKNOWN");
	ck_assert_str_eq(ipc_msg_name(0xffff), "UNKNOWN");
	ck_assert_str_eq(ipc_msg_name(~0u), "UNKNOWN");
}
END_TEST

/* The worst case of every type encodes within its cap, and back. */
START_TEST(t_worst_case_fits)
{
	struct sl_msg	m, d;
	char		buf[SL_IPC_MAX_FRAME];
	const char	*why;
	unsigned	t;
	int		n;

	for (t = 1; t < SL_MSG_MAX; t++) {
		fill(&m, t, 1);
		n = ipc_body_encode(&m, buf, sizeof(buf));
		ck_assert_msg(n > 0, "%s does not encode", ipc_msg_name(t));
		ck_assert_msg((uint32_t)n <= sl_msg_specs[t].max_body,
		    "%s: %d > max_body %u", ipc_msg_name(t), n,
		    sl_msg_specs[t].max_body);
		memset(&d, 0, sizeof(d));
		d.type = t;
		ck_assert_int_eq(ipc_body_decode(&d, t, buf, n, &why), 0);
		assert_same(&m, &d);
	}
}
END_TEST

/* ---------------------------------------------------------------- */

/* A body: valid-then-mutated, random, or random behind an array tag. */
static size_t
random_body(unsigned *seed, char *buf, size_t cap)
{
	struct sl_msg	m;
	size_t		len, i, k;
	int		n, kind = rand_r(seed) % 10;

	if (kind < 5) {
		fill(&m, 1 + rand_r(seed) % (SL_MSG_MAX - 1),
		    rand_r(seed) % 2);
		n = ipc_body_encode(&m, buf, cap);
		len = n > 0 ? (size_t)n : 0;
		for (k = rand_r(seed) % 4; k > 0 && len > 0; k--)
			buf[rand_r(seed) % len] = (char)rand_r(seed);
		if (rand_r(seed) % 8 == 0 && len > 0)
			len = rand_r(seed) % len;
		return len;
	}
	len = rand_r(seed) % (kind < 8 ? 48 : 600);
	if (len > cap)
		len = cap;
	for (i = 0; i < len; i++)
		buf[i] = (char)rand_r(seed);
	if (kind < 8 && len > 0)
		buf[0] = (char)(0x90 | rand_r(seed) % 4);
	return len;
}

START_TEST(t_random_bodies)
{
	struct sl_msg	 m;
	char		 buf[2048], out[SL_IPC_MAX_FRAME];
	const char	*why;
	unsigned	 seed = 12345, type;
	size_t		 len;
	int		 i, ok = 0;

	for (i = 0; i < 200000; i++) {
		len = random_body(&seed, buf, sizeof(buf));
		type = rand_r(&seed) % (SL_MSG_MAX + 2);
		memset(&m, 0, sizeof(m));
		if (ipc_body_decode(&m, type, buf, len, &why) == 0) {
			/* Whatever decodes is in range: it encodes again. */
			m.type = type;
			ck_assert_int_gt(ipc_body_encode(&m, out,
			    sizeof(out)), 0);
			ok++;
		} else
			ck_assert_ptr_nonnull(why);
	}
	ck_assert_int_gt(ok, 0);
}
END_TEST

START_TEST(t_random_frames)
{
	struct sl_msg	 m;
	char		 f[SL_IPC_MAX_FRAME + 16], out[SL_IPC_MAX_FRAME];
	char		 body[SL_IPC_MAX_FRAME];
	const char	*why;
	unsigned	 seed = 4242, type, flags, peer;
	size_t		 blen;
	uint32_t	 hlen;
	int		 sv[2], i, r, ok = 0, bad = 0, nfds;

	seqpair(sv);
	nfds = count_fds();
	for (i = 0; i < 20000; i++) {
		blen = random_body(&seed, body, sizeof(body));
		type = rand_r(&seed) % 4 == 0 ? (unsigned)rand_r(&seed) %
		    0x10000 : (unsigned)rand_r(&seed) % (SL_MSG_MAX + 1);
		flags = rand_r(&seed) % 8 == 0 ? (unsigned)rand_r(&seed) : 0;
		hlen = rand_r(&seed) % 10 == 0 ? (uint32_t)rand_r(&seed) :
		    (uint32_t)blen;
		mkframe(f, hlen, type, flags & 0xffff,
		    rand_r(&seed) % 16 ? (uint32_t)rand_r(&seed) : 0,
		    body, blen);
		ck_assert_int_eq(ipc_frame_send_raw(sv[0], f, HDRSZ + blen, -1,
		    0), 0);
		peer = rand_r(&seed) % SL_PROC_MAX;
		r = ipc_frame_recv(sv[1], peer, rand_r(&seed) % 2, &m, &why,
		    MSG_DONTWAIT);
		ck_assert_msg(r == SL_RECV_OK || r == SL_RECV_BAD,
		    "frame %d: result %d", i, r);
		if (r == SL_RECV_OK) {
			ck_assert_int_eq(m.fd, -1);
			ck_assert(sl_msg_specs[m.type].from & SL_FROM(peer));
			ck_assert_int_gt(ipc_body_encode(&m, out,
			    sizeof(out)), 0);
			ok++;
		} else {
			ck_assert_ptr_nonnull(why);
			bad++;
		}
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(bad, 0);
	ck_assert_int_eq(count_fds(), nfds);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc;

	tc = tcase_create("spec");
	tcase_add_test(tc, t_spec_table);
	tcase_add_test(tc, t_msg_name);
	tcase_add_test(tc, t_worst_case_fits);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, codec_body_tcase());
	suite_add_tcase(s, codec_req_tcase());
	suite_add_tcase(s, codec_frame_tcase());
	suite_add_tcase(s, codec_chan_tcase());

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_random_bodies);
	tcase_add_test(tc, t_random_frames);
	suite_add_tcase(s, tc);
	return s;
}

/* Hand-made msgpack bodies (the body and request tests). */
static int
tb_write(void *arg, const char *p, size_t n)
{
	struct tb	*t = arg;

	if (n > sizeof(t->buf) - t->len)
		return -1;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return 0;
}

void
tb_init(struct tb *t, msgpack_packer *pk)
{
	t->len = 0;
	msgpack_packer_init(pk, t, tb_write);
}

void
tb_raw(struct tb *t, const char *bytes, size_t n)
{
	memcpy(t->buf, bytes, n);
	t->len = n;
}

/* Decode t as type; return NULL on success, the reason otherwise. */
const char *
dec_why(unsigned type, const struct tb *t)
{
	struct sl_msg	 m;
	const char	*why = NULL;

	memset(&m, 0, sizeof(m));
	if (ipc_body_decode(&m, type, t->buf, t->len, &why) == 0)
		return NULL;
	ck_assert_ptr_nonnull(why);
	return why;
}

int
main(void)
{
	SRunner	*sr = srunner_create(codec_suite());
	int	 failed;

	srunner_add_suite(sr, ctl_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
