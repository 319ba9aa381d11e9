/*
 * IPC tests: the spec table, msgpack bodies, frames over real
 * SOCK_SEQPACKET socketpairs (fd passing and every way a compromised peer
 * can lie), the libev channel, and a fixed-seed random robustness loop.
 *
 * Run under -Db_sanitize=address,undefined as well: the hostile array32
 * header test only proves "no huge allocation" there, because ASan aborts
 * on a malloc of tens of gigabytes where glibc would quietly fail.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <check.h>
#include <msgpack.h>

#include "common/log.h"
#include "ipc/chan.h"
#include "ipc/codec.h"

#define HDRSZ		sizeof(struct sl_frame_hdr)

/* A fixed buffer for hand-made msgpack bodies. */
struct tb {
	char	buf[16384];
	size_t	len;
};

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

static void
tb_init(struct tb *t, msgpack_packer *pk)
{
	t->len = 0;
	msgpack_packer_init(pk, t, tb_write);
}

static void
tb_raw(struct tb *t, const char *bytes, size_t n)
{
	memcpy(t->buf, bytes, n);
	t->len = n;
}

/* Decode t as type; return NULL on success, the reason otherwise. */
static const char *
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

#define BAD_BODY(type, t) do {						\
	const char *w_ = dec_why((type), (t));				\
	ck_assert_msg(w_ != NULL, "%s body accepted (line %d)",		\
	    ipc_msg_name(type), __LINE__);				\
} while (0)

#define BAD_BODY_WHY(type, t, frag) do {				\
	const char *w_ = dec_why((type), (t));				\
	ck_assert_msg(w_ != NULL, "%s body accepted (line %d)",		\
	    ipc_msg_name(type), __LINE__);				\
	ck_assert_msg(strstr(w_, (frag)) != NULL,			\
	    "why \"%s\" lacks \"%s\" (line %d)", w_, (frag), __LINE__);	\
} while (0)

/* A message of every type: typical values, or every field at its limit. */
static void
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
		break;
	case SL_MSG_CFG_PEER:
		m->u.cfg_peer.index = big ? SL_MAX_WORKERS - 1 : 3;
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
	}
}

static void
assert_same(const struct sl_msg *a, const struct sl_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	ck_assert_msg(memcmp(&a->u, &b->u, sizeof(a->u)) == 0,
	    "%s payload differs", ipc_msg_name(a->type));
}

/* The lowest fd number the next open() would get. */
static int
lowest_free_fd(void)
{
	int	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

static int
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

static void
seqpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* Send arbitrary bytes with nfds copies of fd as SCM_RIGHTS. */
static void
send_with_fds(int sock, const void *p, size_t len, int fd, int nfds)
{
	char		 cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 i;

	ck_assert_int_le(nfds, 64);
	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd,
			    sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

/* A frame with a header we choose, around body (hlen may lie). */
static size_t
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

/* Send a raw frame (+ fds), expect SL_RECV_BAD and no fd left behind. */
static const char *
expect_bad_frame(const char *frame, size_t len, int nfds, unsigned peer,
    int allow)
{
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 sv[2], p[2], before, nbefore;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = lowest_free_fd();
	nbefore = count_fds();
	send_with_fds(sv[0], frame, len, p[1], nfds);
	ck_assert_int_eq(ipc_frame_recv(sv[1], peer, allow, &m, &why, 0),
	    SL_RECV_BAD);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(m.fd, -1);
	/* Every received fd was closed: nothing new at the lowest slot. */
	ck_assert_int_eq(lowest_free_fd(), before);
	errno = 0;
	ck_assert_int_eq(fcntl(before, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(count_fds(), nbefore);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	return why;
}

#define BAD_FRAME_WHY(frame, len, nfds, peer, allow, frag) do {		\
	const char *w_ = expect_bad_frame((frame), (len), (nfds),	\
	    (peer), (allow));						\
	ck_assert_msg(strstr(w_, (frag)) != NULL,			\
	    "why \"%s\" lacks \"%s\" (line %d)", w_, (frag), __LINE__);	\
} while (0)

/* A sender allowed to send type, as seen by the receiver. */
static unsigned
sender_of(unsigned type)
{
	unsigned	p;

	for (p = 0; p < SL_PROC_MAX; p++)
		if (sl_msg_specs[type].from & SL_FROM(p))
			return p;
	ck_abort_msg("%s has no sender", ipc_msg_name(type));
	return 0;
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
		ck_assert_int_eq(sl_msg_specs[i].fd, i == SL_MSG_SOCK_FD ?
		    SL_FD_REQUIRED : SL_FD_FORBIDDEN);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_REQ].from, SL_FROM_WORKER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_FD].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_SOCK_FAIL].from, SL_FROM_MASTER);
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

START_TEST(t_body_roundtrip)
{
	struct sl_msg	m, d;
	char		buf[SL_IPC_MAX_FRAME];
	const char	*why = NULL;
	unsigned	t, s;
	int		big, n;

	for (t = 1; t < SL_MSG_MAX; t++)
		for (big = 0; big < 2; big++) {
			fill(&m, t, big);
			n = ipc_body_encode(&m, buf, sizeof(buf));
			ck_assert_int_gt(n, 0);
			memset(&d, 0, sizeof(d));
			d.type = t;
			ck_assert_msg(ipc_body_decode(&d, t, buf, n, &why) == 0,
			    "%s: %s", ipc_msg_name(t), why);
			assert_same(&m, &d);
		}
	/* Edge values that are legal. */
	fill(&m, SL_MSG_LOG, 0);
	memset(m.u.log.text, 0, sizeof(m.u.log.text));
	n = ipc_body_encode(&m, buf, sizeof(buf));
	memset(&d, 0, sizeof(d));
	d.type = m.type;
	ck_assert_int_eq(ipc_body_decode(&d, m.type, buf, n, &why), 0);
	assert_same(&m, &d);
	fill(&m, SL_MSG_RES_QUERY, 0);
	m.u.res_query.family = 0;
	memset(m.u.res_query.name, 0, sizeof(m.u.res_query.name));
	n = ipc_body_encode(&m, buf, sizeof(buf));
	memset(&d, 0, sizeof(d));
	d.type = m.type;
	ck_assert_int_eq(ipc_body_decode(&d, m.type, buf, n, &why), 0);
	assert_same(&m, &d);
	for (s = SL_RES_NXDOMAIN; s < SL_RES_MAX; s++) {
		fill(&m, SL_MSG_RES_ANSWER, 0);
		m.u.res_answer.status = s;
		m.u.res_answer.naddrs = 0;
		memset(m.u.res_answer.addrs, 0, sizeof(m.u.res_answer.addrs));
		n = ipc_body_encode(&m, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		memset(&d, 0, sizeof(d));
		d.type = m.type;
		ck_assert_int_eq(ipc_body_decode(&d, m.type, buf, n, &why), 0);
		assert_same(&m, &d);
	}
}
END_TEST

/* The encoder refuses what the decoder would reject. */
START_TEST(t_encode_rejects)
{
	struct sl_msg	m;
	char		buf[SL_IPC_MAX_FRAME];

	fill(&m, SL_MSG_LOG, 0);
	m.u.log.level = SL_LOG_DEBUG + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_LOG, 0);
	memset(m.u.log.text, 'a', sizeof(m.u.log.text));  /* no NUL */
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	m.u.log_level.level = 4;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_QUERY, 0);
	m.u.res_query.family = 5;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_QUERY, 0);
	memset(m.u.res_query.name, 'a', sizeof(m.u.res_query.name));
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_ANSWER, 0);
	m.u.res_answer.status = SL_RES_MAX;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_ANSWER, 0);
	m.u.res_answer.naddrs = SL_MAX_ADDRS + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_ANSWER, 0);
	m.u.res_answer.addrs[0].family = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_RES_ANSWER, 0);
	m.u.res_answer.status = SL_RES_FAIL;	/* with addresses */
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_LISTENER, 0);
	m.u.cfg_listener.index = SL_MAX_LISTENERS;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.u.cfg_peer.index = SL_MAX_WORKERS;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_CONF, 0);
	m.u.cfg_conf.size = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.u.cfg_conf.size = SL_MAX_CONF_BYTES + 1ull;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_SHM, 0);
	m.u.cfg_shm.size = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	/* Unknown types and a buffer that is too small. */
	fill(&m, SL_MSG_READY, 0);
	m.type = SL_MSG_NONE;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.type = SL_MSG_MAX;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_LOG, 1);
	ck_assert_int_eq(ipc_body_encode(&m, buf, 100), -1);
	ck_assert_int_eq(ipc_body_encode(&m, buf, 0), -1);
}
END_TEST

START_TEST(t_body_truncated)
{
	struct sl_msg	m, d;
	char		buf[SL_IPC_MAX_FRAME];
	const char	*why;
	unsigned	t;
	int		n, k;

	for (t = 1; t < SL_MSG_MAX; t++) {
		fill(&m, t, 1);
		n = ipc_body_encode(&m, buf, sizeof(buf));
		for (k = 0; k < n; k++) {
			why = NULL;
			ck_assert_msg(ipc_body_decode(&d, t, buf, k, &why) ==
			    -1, "%s: prefix %d accepted", ipc_msg_name(t), k);
			ck_assert_ptr_nonnull(why);
		}
	}
	fill(&m, SL_MSG_LOG, 0);
	n = ipc_body_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(ipc_body_decode(&d, SL_MSG_LOG, buf, n - 1, &why),
	    -1);
	ck_assert_str_eq(why, "truncated body");
}
END_TEST

START_TEST(t_body_trailing)
{
	struct sl_msg	m;
	struct tb	t;
	unsigned	ty;
	int		n;

	for (ty = 1; ty < SL_MSG_MAX; ty++) {
		fill(&m, ty, 0);
		n = ipc_body_encode(&m, t.buf, sizeof(t.buf));
		t.buf[n] = 0x00;
		t.len = n + 1;
		if (t.len <= sl_msg_specs[ty].max_body)
			BAD_BODY_WHY(ty, &t, "trailing");
		else
			BAD_BODY_WHY(ty, &t, "too large");
		/* Two whole objects back to back. */
		memcpy(t.buf + n, t.buf, n);
		t.len = 2 * n;
		BAD_BODY(ty, &t);
	}
}
END_TEST

START_TEST(t_body_arity)
{
	msgpack_packer	pk;
	struct tb	t;

	tb_init(&t, &pk);			/* LOG [level] */
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "number of fields");
	tb_init(&t, &pk);			/* LOG [level, text, extra] */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "number of fields");
	tb_init(&t, &pk);			/* LOG_LEVEL [] */
	msgpack_pack_array(&pk, 0);
	BAD_BODY_WHY(SL_MSG_LOG_LEVEL, &t, "number of fields");
	tb_init(&t, &pk);			/* DRAIN [0]: over its cap */
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 0);
	BAD_BODY_WHY(SL_MSG_DRAIN, &t, "too large");
	tb_init(&t, &pk);			/* CFG_CONF [gen] */
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY(SL_MSG_CFG_CONF, &t);
	tb_init(&t, &pk);			/* RES_ANSWER [status, ttl] */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	tb_init(&t, &pk);			/* a map, not an array */
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY_WHY(SL_MSG_LOG_LEVEL, &t, "not an array");
	tb_init(&t, &pk);			/* a bare integer */
	msgpack_pack_uint32(&pk, 1);
	BAD_BODY_WHY(SL_MSG_LOG_LEVEL, &t, "not an array");
	tb_init(&t, &pk);			/* READY as nil */
	msgpack_pack_nil(&pk);
	BAD_BODY(SL_MSG_READY, &t);
}
END_TEST

/* LOG [level, text] with level packed by fn. */
static void
log_with_level(struct tb *t, int kind)
{
	msgpack_packer	pk;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 2);
	switch (kind) {
	case 0: msgpack_pack_int32(&pk, -1); break;
	case 1: msgpack_pack_float(&pk, 1.0f); break;
	case 2: msgpack_pack_double(&pk, 2.0); break;
	case 3: msgpack_pack_true(&pk); break;
	case 4: msgpack_pack_nil(&pk); break;
	case 5: msgpack_pack_str_with_body(&pk, "1", 1); break;
	case 6: msgpack_pack_bin_with_body(&pk, "\1", 1); break;
	case 7: msgpack_pack_ext_with_body(&pk, "\1", 1, 1); break;
	case 8: msgpack_pack_array(&pk, 0); break;
	default: msgpack_pack_map(&pk, 0); break;
	}
	msgpack_pack_str_with_body(&pk, "x", 1);
}

START_TEST(t_body_wrong_types)
{
	msgpack_packer	pk;
	struct tb	t;
	int		k;

	for (k = 0; k <= 9; k++) {
		log_with_level(&t, k);
		BAD_BODY(SL_MSG_LOG, &t);
	}
	tb_init(&t, &pk);			/* text as bin */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_bin_with_body(&pk, "abc", 3);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "not a string");
	tb_init(&t, &pk);			/* name as an integer */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_uint32(&pk, 7);
	BAD_BODY_WHY(SL_MSG_RES_QUERY, &t, "not a string");
	tb_init(&t, &pk);			/* generation negative */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int64(&pk, -5);
	msgpack_pack_uint64(&pk, 10);
	BAD_BODY_WHY(SL_MSG_CFG_CONF, &t, "unsigned");
	tb_init(&t, &pk);			/* address as str */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_str_with_body(&pk, "\1\2\3\4", 4);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "not bin");
	tb_init(&t, &pk);			/* address list as a map */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_map(&pk, 0);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	tb_init(&t, &pk);			/* address as a bare bin */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_bin_with_body(&pk, "\1\2\3\4", 4);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "pair");
	tb_init(&t, &pk);			/* address pair of three */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_bin_with_body(&pk, "\1\2\3\4", 4);
	msgpack_pack_nil(&pk);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "pair");
}
END_TEST

static void
pack_log(struct tb *t, uint64_t level, const char *text, size_t len)
{
	msgpack_packer	pk;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, level);
	msgpack_pack_str_with_body(&pk, text, len);
}

static void
pack_query(struct tb *t, uint64_t family, const char *name, size_t len)
{
	msgpack_packer	pk;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, family);
	msgpack_pack_str_with_body(&pk, name, len);
}

START_TEST(t_body_strings)
{
	static char	big[SL_LOG_MAX_TEXT + 2];
	struct sl_msg	m;
	struct tb	t;
	const char	*why;

	memset(big, 'a', sizeof(big));
	pack_log(&t, 1, big, SL_LOG_MAX_TEXT);	/* exactly the max */
	ck_assert_int_eq(ipc_body_decode(&m, SL_MSG_LOG, t.buf, t.len, &why),
	    0);
	ck_assert_uint_eq(strlen(m.u.log.text), SL_LOG_MAX_TEXT);
	pack_log(&t, 1, big, SL_LOG_MAX_TEXT + 1);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "too long");
	pack_log(&t, 1, "ab\0cd", 5);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "NUL");
	pack_log(&t, 1, "abcd\0", 5);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "NUL");

	pack_query(&t, 4, big, SL_MAX_NAME);
	ck_assert_int_eq(ipc_body_decode(&m, SL_MSG_RES_QUERY, t.buf, t.len,
	    &why), 0);
	ck_assert_uint_eq(strlen(m.u.res_query.name), SL_MAX_NAME);
	/* str16 header + 256 bytes is past the cap before the length. */
	pack_query(&t, 4, big, SL_MAX_NAME + 1);
	BAD_BODY(SL_MSG_RES_QUERY, &t);
	pack_query(&t, 4, "exa\0mple.org", 12);
	BAD_BODY_WHY(SL_MSG_RES_QUERY, &t, "NUL");
	pack_query(&t, 4, "\0", 1);
	BAD_BODY_WHY(SL_MSG_RES_QUERY, &t, "NUL");
}
END_TEST

START_TEST(t_body_ranges)
{
	msgpack_packer	pk;
	struct tb	t;

	pack_log(&t, 4, "x", 1);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "log level");
	pack_log(&t, UINT32_MAX, "x", 1);
	BAD_BODY(SL_MSG_LOG, &t);
	pack_log(&t, 1ull << 32, "x", 1);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "out of range");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, 4);
	BAD_BODY_WHY(SL_MSG_LOG_LEVEL, &t, "log level");
	pack_query(&t, 1, "a", 1);
	BAD_BODY_WHY(SL_MSG_RES_QUERY, &t, "family");
	pack_query(&t, 5, "a", 1);
	BAD_BODY(SL_MSG_RES_QUERY, &t);
	pack_query(&t, 256, "a", 1);
	BAD_BODY(SL_MSG_RES_QUERY, &t);
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, SL_MAX_LISTENERS);
	BAD_BODY_WHY(SL_MSG_CFG_LISTENER, &t, "listener");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint32(&pk, SL_MAX_WORKERS);
	BAD_BODY_WHY(SL_MSG_CFG_PEER, &t, "peer");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint64(&pk, SL_MAX_CONF_BYTES + 1ull);
	BAD_BODY_WHY(SL_MSG_CFG_CONF, &t, "config size");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint64(&pk, 0);
	BAD_BODY_WHY(SL_MSG_CFG_CONF, &t, "config size");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	BAD_BODY_WHY(SL_MSG_CFG_SHM, &t, "counters size");
	tb_init(&t, &pk);			/* status out of range */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, SL_RES_MAX);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_array(&pk, 0);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "status");
	tb_init(&t, &pk);			/* ttl beyond 32 bits */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint64(&pk, 1ull << 32);
	msgpack_pack_array(&pk, 0);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "out of range");
}
END_TEST

/* RES_ANSWER [status, ttl, [[fam, bin(len)] x n]] */
static void
pack_answer(struct tb *t, unsigned status, unsigned n, unsigned fam,
    size_t alen)
{
	static const char	zero[32];
	msgpack_packer		pk;
	unsigned		i;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, status);
	msgpack_pack_uint32(&pk, 60);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint8(&pk, fam);
		msgpack_pack_bin_with_body(&pk, zero, alen);
	}
}

START_TEST(t_body_addrs)
{
	struct tb	t;

	pack_answer(&t, SL_RES_OK, SL_MAX_ADDRS, 4, 4);
	ck_assert_ptr_null(dec_why(SL_MSG_RES_ANSWER, &t));
	pack_answer(&t, SL_RES_OK, SL_MAX_ADDRS + 1, 4, 4);
	ck_assert_uint_le(t.len, sl_msg_specs[SL_MSG_RES_ANSWER].max_body);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "too many");
	pack_answer(&t, SL_RES_OK, 1, 4, 16);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "does not match");
	pack_answer(&t, SL_RES_OK, 1, 6, 4);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "does not match");
	pack_answer(&t, SL_RES_OK, 1, 0, 4);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	pack_answer(&t, SL_RES_OK, 1, 4, 5);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	pack_answer(&t, SL_RES_OK, 1, 6, 17);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	pack_answer(&t, SL_RES_OK, 1, 4, 0);
	BAD_BODY(SL_MSG_RES_ANSWER, &t);
	pack_answer(&t, SL_RES_NXDOMAIN, 1, 4, 4);
	BAD_BODY_WHY(SL_MSG_RES_ANSWER, &t, "failed answer");
}
END_TEST

/*
 * Array and map headers that claim billions of elements.  Without the
 * shape scan msgpack-c would try to allocate ~44 GB; ASan would abort.
 */
START_TEST(t_body_hostile)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
	} cases[] = {
		{ "\xdd\x6d\x64\x2a\xff", 5 },
		{ "\xdd\xff\xff\xff\xff", 5 },
		{ "\xdf\xff\xff\xff\xff", 5 },
		{ "\xdc\xff\xff", 3 },
		{ "\xde\xff\xff", 3 },
		{ "\x92\xdd\xff\xff\xff\xff\x00", 7 },
		{ "\x93\x00\x00\xdd\x6d\x64\x2a\xff", 8 },
		{ "\x93\x00\x00\x91\xdd\x6d\x64\x2a\xff", 9 },
		{ "\x92\x01\xdb\xff\xff\xff\xff", 7 },	/* str32 4 GB */
		{ "\x93\x00\x00\x91\x92\x04\xc6\xff\xff\xff\xff", 11 },
		{ "\x92\x01\xc9\xff\xff\xff\xff\x01", 8 }, /* ext32 */
		{ "\x91\xc1", 2 },			/* never used */
		{ "\x91\x91\x91\x91\x91\x91\x91\x91\x00", 9 },
		{ "\x9f", 1 },
		{ "\x92\x01", 2 },
	};
	struct tb	t;
	size_t		i;
	unsigned	ty;

	for (ty = 1; ty < SL_MSG_MAX; ty++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			tb_raw(&t, cases[i].bytes, cases[i].len);
			BAD_BODY(ty, &t);
		}
	tb_raw(&t, "\xdd\x6d\x64\x2a\xff", 5);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "container larger than body");
	tb_raw(&t, "\x91\x91\x91\x91\x91\x91\x91\x91\x00", 9);
	BAD_BODY_WHY(SL_MSG_LOG, &t, "too deep");
	tb_raw(&t, "\x91\xc1", 2);
	BAD_BODY_WHY(SL_MSG_LOG_LEVEL, &t, "tag");
	/* Empty body, and one over the cap. */
	t.len = 0;
	BAD_BODY_WHY(SL_MSG_READY, &t, "empty");
	memset(t.buf, 0, sizeof(t.buf));
	t.buf[0] = (char)0x90;
	t.len = sl_msg_specs[SL_MSG_READY].max_body + 1;
	BAD_BODY_WHY(SL_MSG_READY, &t, "too large");
	t.len = sl_msg_specs[SL_MSG_LOG].max_body + 1;
	BAD_BODY_WHY(SL_MSG_LOG, &t, "too large");
}
END_TEST

START_TEST(t_body_bad_type)
{
	struct tb	t;

	tb_raw(&t, "\x90", 1);
	ck_assert_ptr_null(dec_why(SL_MSG_READY, &t));
	BAD_BODY_WHY(SL_MSG_NONE, &t, "unknown");
	BAD_BODY_WHY(SL_MSG_MAX, &t, "unknown");
	BAD_BODY_WHY(0xffff, &t, "unknown");
	BAD_BODY_WHY(~0u, &t, "unknown");
}
END_TEST

/* ---------------------------------------------------------------- */

/* Every type over a real socketpair; fd types carry a working pipe. */
START_TEST(t_frame_roundtrip)
{
	struct sl_msg	 m, d;
	const char	*why = NULL;
	char		 c;
	unsigned	 t;
	int		 sv[2], p[2], big, nfds;

	seqpair(sv);
	nfds = count_fds();
	for (t = 1; t < SL_MSG_MAX; t++)
		for (big = 0; big < 2; big++) {
			fill(&m, t, big);
			ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
			if (sl_msg_specs[t].fd == SL_FD_REQUIRED)
				m.fd = p[1];
			ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
			ck_assert_int_eq(ipc_frame_recv(sv[1], sender_of(t), 1,
			    &d, &why, 0), SL_RECV_OK);
			ck_assert_ptr_null(why);
			assert_same(&m, &d);
			ck_assert_uint_eq(d.id, m.id);
			if (sl_msg_specs[t].fd == SL_FD_REQUIRED) {
				ck_assert_int_ge(d.fd, 0);
				ck_assert_int_ne(d.fd, p[1]);
				ck_assert_int_ne(fcntl(d.fd, F_GETFD), -1);
				ck_assert(fcntl(d.fd, F_GETFD) & FD_CLOEXEC);
				close(p[1]);	/* only d.fd writes now */
				ck_assert_int_eq(write(d.fd, "z", 1), 1);
				ck_assert_int_eq(read(p[0], &c, 1), 1);
				ck_assert_int_eq(c, 'z');
				close(d.fd);
				/* The pipe is closed for good: EOF. */
				ck_assert_int_eq(read(p[0], &c, 1), 0);
			} else {
				ck_assert_int_eq(d.fd, -1);
				close(p[1]);
			}
			close(p[0]);
		}
	ck_assert_int_eq(count_fds(), nfds);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* An fd on m for a type without fds is simply not sent. */
START_TEST(t_frame_send_ignores_fd)
{
	struct sl_msg	 m, d;
	const char	*why;
	int		 sv[2], n;

	seqpair(sv);
	fill(&m, SL_MSG_READY, 0);
	m.fd = 0;
	n = count_fds();
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), 0);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_WORKER, 1, &d, &why,
	    0), SL_RECV_OK);
	ck_assert_int_eq(d.fd, -1);
	ck_assert_int_eq(count_fds(), n);
	/* Required fd missing, request without id: refused at the source. */
	fill(&m, SL_MSG_CFG_CONF, 0);
	errno = 0;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	fill(&m, SL_MSG_RES_QUERY, 0);
	m.id = 0;
	errno = 0;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	fill(&m, SL_MSG_LOG, 0);
	m.u.log.level = 9;
	ck_assert_int_eq(ipc_frame_send(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(t_frame_unknown_type)
{
	char	f[64];
	size_t	n;

	n = mkframe(f, 1, SL_MSG_NONE, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown message type");
	n = mkframe(f, 1, SL_MSG_MAX, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown message type");
	n = mkframe(f, 1, 0xffff, 0, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "unknown message type");
	/* With an fd riding on it, which must be closed. */
	n = mkframe(f, 1, 200, SL_FRAME_FD, 0, "\x90", 1);
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 1, "unknown message type");
}
END_TEST

START_TEST(t_frame_sender)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_RES_QUERY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	ck_assert_int_gt(n, 0);
	BAD_FRAME_WHY(f, n, 0, SL_PROC_RESOLVER, 0, "not allowed");
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 0, "not allowed");
	fill(&m, SL_MSG_CFG_CONF, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 1, "not allowed");
	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	fill(&m, SL_MSG_READY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MAX, 1, "not allowed");
	BAD_FRAME_WHY(f, n, 0, 1000, 1, "not allowed");
	fill(&m, SL_MSG_DRAIN, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "not allowed");
}
END_TEST

START_TEST(t_frame_fd_forbidden)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_READY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "carries no fd");
	/* Same with the header owning up to the fd. */
	((struct sl_frame_hdr *)(void *)f)->flags = SL_FRAME_FD;
	BAD_FRAME_WHY(f, n, 1, SL_PROC_WORKER, 1, "carries no fd");
	/* The flag without an fd. */
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "carries no fd");
	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 1, "carries no fd");
}
END_TEST

START_TEST(t_frame_fd_missing)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_SHM, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "fd missing");
	((struct sl_frame_hdr *)(void *)f)->flags = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "fd flag missing");
	/* An fd without the flag is not good enough either. */
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 1, "fd flag missing");
}
END_TEST

START_TEST(t_frame_surplus_fds)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_CONF, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 2, SL_PROC_MASTER, 1, "more than one fd");
	BAD_FRAME_WHY(f, n, 8, SL_PROC_MASTER, 1, "more than one fd");
	/* More than our control buffer holds: MSG_CTRUNC. */
	BAD_FRAME_WHY(f, n, 20, SL_PROC_MASTER, 1, "too many fds");
	BAD_FRAME_WHY(f, n, 64, SL_PROC_MASTER, 1, "too many fds");
}
END_TEST

START_TEST(t_frame_allow_fds)
{
	struct sl_msg	m;
	char		f[SL_IPC_MAX_FRAME];
	int		n;

	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = 0;
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_MASTER, 0, "channel that carries none");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	BAD_FRAME_WHY(f, n, 1, SL_PROC_RESOLVER, 0,
	    "channel that carries none");
}
END_TEST

START_TEST(t_frame_len_mismatch)
{
	struct sl_msg		 m;
	struct sl_frame_hdr	*h;
	char			 f[SL_IPC_MAX_FRAME];
	int			 n;

	fill(&m, SL_MSG_LOG, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h = (struct sl_frame_hdr *)(void *)f;
	h->len++;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len -= 2;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	h->len = UINT32_MAX;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 1, "length does not match");
	/* Shorter than a header, with and without an fd. */
	BAD_FRAME_WHY(f, 5, 0, SL_PROC_WORKER, 1, "shorter");
	BAD_FRAME_WHY(f, HDRSZ - 1, 1, SL_PROC_WORKER, 1, "shorter");
	/* An empty record with an fd is not an EOF. */
	BAD_FRAME_WHY(f, 0, 1, SL_PROC_WORKER, 1, "shorter");
	/* A header alone for a type that needs a body. */
	h->len = 0;
	BAD_FRAME_WHY(f, HDRSZ, 0, SL_PROC_WORKER, 1, "empty body");
}
END_TEST

START_TEST(t_frame_too_long)
{
	static char		 f[SL_IPC_MAX_FRAME + 64];
	struct sl_frame_hdr	*h = (struct sl_frame_hdr *)(void *)f;

	memset(f, 0, sizeof(f));
	h->type = SL_MSG_LOG;
	h->len = SL_IPC_MAX_FRAME + 1 - HDRSZ;
	f[HDRSZ] = (char)0x92;
	BAD_FRAME_WHY(f, SL_IPC_MAX_FRAME + 1, 0, SL_PROC_WORKER, 1,
	    "larger than SL_IPC_MAX_FRAME");
	h->len = sizeof(f) - HDRSZ;
	BAD_FRAME_WHY(f, sizeof(f), 1, SL_PROC_WORKER, 1,
	    "larger than SL_IPC_MAX_FRAME");
	/* Exactly the frame size fits, but not the LOG body cap. */
	h->len = SL_IPC_MAX_FRAME - HDRSZ;
	BAD_FRAME_WHY(f, SL_IPC_MAX_FRAME, 0, SL_PROC_WORKER, 1,
	    "too large");
}
END_TEST

START_TEST(t_frame_flags_id)
{
	struct sl_msg		 m;
	struct sl_frame_hdr	*h;
	char			 f[SL_IPC_MAX_FRAME];
	int			 n;

	fill(&m, SL_MSG_DRAIN, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h = (struct sl_frame_hdr *)(void *)f;
	h->flags = 0x8000;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "unknown frame flags");
	fill(&m, SL_MSG_RES_QUERY, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h->id = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_WORKER, 0, "request id");
	fill(&m, SL_MSG_RES_ANSWER, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	h->id = 0;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_RESOLVER, 0, "request id");
	/* A bad body behind a good header. */
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	n = ipc_frame_build(&m, f, sizeof(f));
	f[HDRSZ + 1] = 9;
	BAD_FRAME_WHY(f, n, 0, SL_PROC_MASTER, 1, "log level");
}
END_TEST

START_TEST(t_frame_eof_again)
{
	struct sl_msg	 m;
	const char	*why;
	int		 sv[2];

	seqpair(sv);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT), SL_RECV_AGAIN);
	close(sv[0]);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    MSG_DONTWAIT), SL_RECV_EOF);
	ck_assert_int_eq(m.fd, -1);
	close(sv[1]);
	ck_assert_int_eq(ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &m, &why,
	    0), SL_RECV_ERROR);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---------------------------------------------------------------- */

struct tctx {
	struct ev_loop	*loop;
	struct ipc_chan	*chan;
	int		 nmsg;
	int		 nclose;
	int		 close_null;
	char		 why[160];
	int		 free_in_handler;
	int		 free_in_close;
	int		 bad;
	int		 fdbytes;
};

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/*
 * Run the loop until *cnt reaches target; fail after secs.  A 10 ms tick
 * wakes ev_run(EVRUN_ONCE) so the condition is checked even when the
 * awaited callback ran from libev's pending queue and nothing else is
 * left to wait for.
 */
static void
run_until(struct ev_loop *loop, const int *cnt, int target, double secs)
{
	ev_timer	tick;
	ev_tstamp	end;

	ev_now_update(loop);
	end = ev_now(loop) + secs;
	ev_timer_init(&tick, tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (*cnt < target && ev_now(loop) < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	ck_assert_msg(*cnt >= target, "timed out: %d of %d", *cnt, target);
}

static void
t_handler(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	struct tctx	*x = arg;
	int		 seq;

	if (m->type == SL_MSG_LOG) {
		seq = atoi(m->u.log.text);
		if (seq != x->nmsg)
			x->bad++;
	}
	if (m->type == SL_MSG_CFG_PEER) {
		if (m->fd < 0 || write(m->fd, "f", 1) != 1)
			x->bad++;
		x->fdbytes++;
	}
	if (m->fd != -1)
		close(m->fd);
	x->nmsg++;
	if (x->free_in_handler) {
		ipc_chan_free(c);
		x->chan = NULL;
	}
}

static void
t_close(struct ipc_chan *c, const char *why, void *arg)
{
	struct tctx	*x = arg;

	x->nclose++;
	x->close_null = why == NULL;
	snprintf(x->why, sizeof(x->why), "%s", why ? why : "");
	if (x->free_in_close) {
		ipc_chan_free(c);
		x->chan = NULL;
	}
}

static void
tctx_init(struct tctx *x, struct ev_loop *loop)
{
	memset(x, 0, sizeof(*x));
	x->loop = loop;
	x->free_in_close = 1;
}

/* Worker -> master LOG lines, far more than the socket holds. */
START_TEST(t_chan_queue_order)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 wx, mx;
	struct ipc_chan	*w, *ma;
	struct sl_msg	 m;
	int		 sv[2], i, n = 2000, nfds;

	nfds = count_fds();
	seqpair(sv);
	tctx_init(&wx, loop);
	tctx_init(&mx, loop);
	w = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler, t_close,
	    &wx);
	ma = ipc_chan_new(loop, sv[1], SL_PROC_WORKER, 0, t_handler, t_close,
	    &mx);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(ma);
	for (i = 0; i < n; i++) {
		fill(&m, SL_MSG_LOG, 0);
		snprintf(m.u.log.text, sizeof(m.u.log.text), "%d %0900d", i,
		    0);
		ck_assert_int_eq(ipc_chan_send(w, &m), 0);
	}
	ck_assert_uint_gt(ipc_chan_queued(w), 0);
	ck_assert_uint_lt(ipc_chan_queued(w), (size_t)n);
	ck_assert_int_eq(ipc_chan_fd(w), sv[0]);
	run_until(loop, &mx.nmsg, n, 20);
	ck_assert_int_eq(mx.nmsg, n);
	ck_assert_int_eq(mx.bad, 0);
	ck_assert_uint_eq(ipc_chan_queued(w), 0);
	ck_assert_int_eq(mx.nclose + wx.nclose, 0);
	ipc_chan_free(w);
	ipc_chan_free(ma);
	ck_assert_int_eq(count_fds(), nfds);
	ev_loop_destroy(loop);
}
END_TEST

/* Queued frames keep their fds (as dups) and deliver them in order. */
START_TEST(t_chan_queue_fds)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 wx, mx;
	struct ipc_chan	*w, *ma;
	struct sl_msg	 m;
	char		 buf[64];
	int		 sv[2], p[2], i, ndrain = 0, base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	tctx_init(&wx, loop);
	tctx_init(&mx, loop);
	ma = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &mx);
	w = ipc_chan_new(loop, sv[1], SL_PROC_MASTER, 1, t_handler, t_close,
	    &wx);
	fill(&m, SL_MSG_DRAIN, 0);
	while (ipc_chan_queued(ma) == 0) {
		ck_assert_int_eq(ipc_chan_send(ma, &m), 0);
		ck_assert_int_lt(++ndrain, 100000);
	}
	base = count_fds();
	for (i = 0; i < 50; i++) {
		fill(&m, SL_MSG_CFG_PEER, 0);
		m.u.cfg_peer.index = i % SL_MAX_WORKERS;
		m.fd = p[1];
		ck_assert_int_eq(ipc_chan_send(ma, &m), 0);
	}
	/* 50 dups of p[1] wait in the queue. */
	ck_assert_int_eq(count_fds(), base + 50);
	run_until(loop, &wx.nmsg, ndrain + 50, 20);
	ck_assert_int_eq(wx.nmsg, ndrain + 50);
	ck_assert_int_eq(wx.bad, 0);
	ck_assert_int_eq(wx.fdbytes, 50);
	ck_assert_uint_eq(ipc_chan_queued(ma), 0);
	ck_assert_int_eq(count_fds(), base);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 50);
	ipc_chan_free(w);
	ipc_chan_free(ma);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_queue_bound)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct ipc_chan	*c;
	struct sl_msg	 m;
	int		 sv[2], p[2], i, base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	tctx_init(&x, loop);
	c = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; ipc_chan_queued(c) < IPC_CHAN_MAX_QUEUE - 1; i++) {
		ck_assert_int_eq(ipc_chan_send(c, &m), 0);
		ck_assert_int_lt(i, 1000000);
	}
	base = count_fds();
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = p[1];
	ck_assert_int_eq(ipc_chan_send(c, &m), 0);
	ck_assert_uint_eq(ipc_chan_queued(c), IPC_CHAN_MAX_QUEUE);
	ck_assert_int_eq(count_fds(), base + 1);
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	ck_assert_uint_eq(ipc_chan_queued(c), IPC_CHAN_MAX_QUEUE);
	ck_assert_int_eq(count_fds(), base + 1);
	/* A message that does not encode is refused, queue or not. */
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	m.u.log_level.level = 77;
	ck_assert_int_eq(ipc_chan_send(c, &m), -1);
	/* Free closes the socket and the queued dup. */
	ipc_chan_free(c);
	ck_assert_int_eq(count_fds(), base - 1);
	ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
	ck_assert_int_eq(x.nclose, 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_peer_close)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_LOG_LEVEL, 0);
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	close(sv[1]);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 1);	/* delivered before the EOF */
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_int_eq(x.close_null, 1);
	ck_assert_ptr_null(x.chan);
	/* Nothing left on the loop: the channel stopped its watchers. */
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nclose, 1);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_violation)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	char		 f[SL_IPC_MAX_FRAME];
	int		 sv[2], n;

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 0, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_RES_QUERY, 0);		/* the master may not */
	n = ipc_frame_build(&m, f, sizeof(f));
	ck_assert_int_eq(ipc_frame_send_raw(sv[1], f, n, -1, 0), 0);
	fill(&m, SL_MSG_DRAIN, 0);		/* never delivered */
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_int_eq(x.nmsg, 0);
	ck_assert_int_eq(x.close_null, 0);
	ck_assert_ptr_nonnull(strstr(x.why, "not allowed"));
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nclose, 1);
	close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* An fd on a channel that allows none: violation, fd closed. */
START_TEST(t_chan_violation_fd)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2], p[2], base;

	seqpair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 0, t_handler,
	    t_close, &x);
	base = count_fds();
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = p[1];
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 0);
	ck_assert_ptr_nonnull(strstr(x.why, "carries none"));
	ck_assert_int_eq(count_fds(), base - 1);	/* sv[0] freed */
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* The handler frees the channel in the middle of a batch. */
START_TEST(t_chan_free_in_handler)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2], i;

	seqpair(sv);
	tctx_init(&x, loop);
	x.free_in_handler = 1;
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_MASTER, 1, t_handler,
	    t_close, &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	run_until(loop, &x.nmsg, 1, 5);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(x.nmsg, 1);
	ck_assert_int_eq(x.nclose, 0);
	ck_assert_ptr_null(x.chan);
	/*
	 * The socket went with the channel: the peer sees EOF, or a reset
	 * because four frames were left unread.
	 */
	errno = 0;
	i = recv(sv[1], &i, sizeof(i), MSG_DONTWAIT);
	ck_assert(i == 0 || (i == -1 && errno == ECONNRESET));
	close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* Sending into a dead peer: 0, then a close callback from the loop. */
START_TEST(t_chan_send_broken)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler,
	    t_close, &x);
	/* The peer's last words, then it is gone. */
	fill(&m, SL_MSG_READY, 0);
	ck_assert_int_eq(ipc_frame_send(sv[1], &m, 0), 0);
	close(sv[1]);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);
	ck_assert_int_eq(x.nclose, 0);		/* not from inside send */
	ck_assert_uint_eq(ipc_chan_queued(x.chan), 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);	/* dropped */
	run_until(loop, &x.nclose, 1, 5);
	ck_assert_int_eq(x.nmsg, 1);		/* delivered first */
	ck_assert_int_eq(x.nclose, 1);
	ck_assert_ptr_null(x.chan);
	ev_loop_destroy(loop);
}
END_TEST

/* A bad fd on a message is the caller's error, not the channel's end. */
START_TEST(t_chan_send_bad_fd)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x, px;
	struct ipc_chan	*peer;
	struct sl_msg	 m;
	int		 sv[2];

	seqpair(sv);
	tctx_init(&x, loop);
	tctx_init(&px, loop);
	x.chan = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler,
	    t_close, &x);
	peer = ipc_chan_new(loop, sv[1], SL_PROC_MASTER, 1, t_handler,
	    t_close, &px);
	fill(&m, SL_MSG_CFG_PEER, 0);
	m.fd = lowest_free_fd();		/* not open */
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), -1);
	m.fd = -1;
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), -1);
	fill(&m, SL_MSG_DRAIN, 0);
	ck_assert_int_eq(ipc_chan_send(x.chan, &m), 0);
	run_until(loop, &px.nmsg, 1, 5);
	ck_assert_int_eq(px.nmsg, 1);
	ck_assert_int_eq(x.nclose + px.nclose, 0);
	ipc_chan_free(x.chan);
	ipc_chan_free(peer);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(t_chan_flush)
{
	struct ev_loop	*loop = ev_loop_new(0);
	struct tctx	 x;
	struct ipc_chan	*c;
	struct sl_msg	 m, d;
	struct timespec	 t0, t1;
	const char	*why;
	pid_t		 pid;
	int		 sv[2], i, st, got;
	double		 el;

	seqpair(sv);
	tctx_init(&x, loop);
	c = ipc_chan_new(loop, sv[0], SL_PROC_WORKER, 1, t_handler, t_close,
	    &x);
	fill(&m, SL_MSG_DRAIN, 0);
	for (i = 0; ipc_chan_queued(c) < 500; i++)
		ck_assert_int_eq(ipc_chan_send(c, &m), 0);
	/* Nobody reads: flush gives up after its timeout. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ipc_chan_flush(c, 150);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(el >= 0.14 && el < 5, "flush took %f s", el);
	ck_assert_uint_eq(ipc_chan_queued(c), 500);
	/* A reader in another process: flush empties the queue. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		for (got = 0; got < i; got++)
			if (ipc_frame_recv(sv[1], SL_PROC_MASTER, 1, &d, &why,
			    0) != SL_RECV_OK || d.type != SL_MSG_DRAIN)
				_exit(1);
		_exit(0);
	}
	ipc_chan_flush(c, 10000);
	ck_assert_uint_eq(ipc_chan_queued(c), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ipc_chan_free(c);
	close(sv[1]);
	ev_loop_destroy(loop);
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

	tc = tcase_create("body");
	tcase_add_test(tc, t_body_roundtrip);
	tcase_add_test(tc, t_encode_rejects);
	tcase_add_test(tc, t_body_truncated);
	tcase_add_test(tc, t_body_trailing);
	tcase_add_test(tc, t_body_arity);
	tcase_add_test(tc, t_body_wrong_types);
	tcase_add_test(tc, t_body_strings);
	tcase_add_test(tc, t_body_ranges);
	tcase_add_test(tc, t_body_addrs);
	tcase_add_test(tc, t_body_hostile);
	tcase_add_test(tc, t_body_bad_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("frame");
	tcase_add_test(tc, t_frame_roundtrip);
	tcase_add_test(tc, t_frame_send_ignores_fd);
	tcase_add_test(tc, t_frame_unknown_type);
	tcase_add_test(tc, t_frame_sender);
	tcase_add_test(tc, t_frame_fd_forbidden);
	tcase_add_test(tc, t_frame_fd_missing);
	tcase_add_test(tc, t_frame_surplus_fds);
	tcase_add_test(tc, t_frame_allow_fds);
	tcase_add_test(tc, t_frame_len_mismatch);
	tcase_add_test(tc, t_frame_too_long);
	tcase_add_test(tc, t_frame_flags_id);
	tcase_add_test(tc, t_frame_eof_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("chan");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_chan_queue_order);
	tcase_add_test(tc, t_chan_queue_fds);
	tcase_add_test(tc, t_chan_queue_bound);
	tcase_add_test(tc, t_chan_peer_close);
	tcase_add_test(tc, t_chan_violation);
	tcase_add_test(tc, t_chan_violation_fd);
	tcase_add_test(tc, t_chan_free_in_handler);
	tcase_add_test(tc, t_chan_send_broken);
	tcase_add_test(tc, t_chan_send_bad_fd);
	tcase_add_test(tc, t_chan_flush);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_random_bodies);
	tcase_add_test(tc, t_random_frames);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(codec_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
