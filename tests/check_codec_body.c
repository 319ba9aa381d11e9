/*
 * IPC tests, msgpack bodies: round trips, what the encoder refuses, and
 * every way a hand-made body can be wrong (truncated, trailing bytes,
 * arity, types, strings, ranges, addresses, hostile container headers).
 * Part of the check_codec executable (see check_codec.h).
 */
#include "check_codec.h"



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
	fill(&m, SL_MSG_CFG_SHM, 0);
	m.u.cfg_shm.part = SL_SHM_PART_MAX + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_SHM, 0);
	m.u.cfg_shm.part = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CFG_SHM, 0);
	m.u.cfg_shm.slot = SL_MAX_WORKERS;
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
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, SL_MAX_WORKERS);
	msgpack_pack_uint8(&pk, SL_PROC_WORKER);
	BAD_BODY_WHY(SL_MSG_CFG_PEER, &t, "peer");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint8(&pk, SL_PROC_MASTER);
	BAD_BODY_WHY(SL_MSG_CFG_PEER, &t, "role");
	/* TUN_: an agent name out of its alphabet, a target with a space */
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_str_with_body(&pk, "a b", 3);
	msgpack_pack_str_with_body(&pk, "h:1", 3);
	msgpack_pack_str_with_body(&pk, "", 0);
	BAD_BODY_WHY(SL_MSG_TUN_OPEN, &t, "agent");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_str_with_body(&pk, "lab", 3);
	msgpack_pack_str_with_body(&pk, "h :1", 4);
	msgpack_pack_str_with_body(&pk, "", 0);
	BAD_BODY_WHY(SL_MSG_TUN_OPEN, &t, "target");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint32(&pk, SL_TUN_CODE_MAX + 1);
	msgpack_pack_str_with_body(&pk, "lab", 3);
	msgpack_pack_str_with_body(&pk, "h:1", 3);
	msgpack_pack_str_with_body(&pk, "", 0);
	BAD_BODY(SL_MSG_TUN_OPEN_FAIL, &t);
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
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint32(&pk, 0);
	BAD_BODY_WHY(SL_MSG_CFG_SHM, &t, "counters size");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 4096);
	msgpack_pack_uint32(&pk, 9);
	msgpack_pack_uint32(&pk, 0);
	BAD_BODY_WHY(SL_MSG_CFG_SHM, &t, "counters part");
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

/* SVC_TABLE [generation, size, count] */
static void
pack_table(struct tb *t, uint64_t gen, uint64_t size, uint64_t count)
{
	msgpack_packer	pk;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, gen);
	msgpack_pack_uint64(&pk, size);
	msgpack_pack_uint64(&pk, count);
}

/* The registry's messages: REDIS_SOCK is empty, SVC_TABLE bounded. */
START_TEST(t_body_registry)
{
	struct sl_msg	 m, d;
	struct tb	 t;
	char		 buf[SL_IPC_MAX_FRAME];
	const char	*why;

	pack_table(&t, 1, 1, 0);			/* smallest */
	ck_assert_ptr_null(dec_why(SL_MSG_SVC_TABLE, &t));
	pack_table(&t, UINT32_MAX, SL_MAX_CONF_BYTES, SL_MAX_CONF_BYTES);
	ck_assert_ptr_null(dec_why(SL_MSG_SVC_TABLE, &t));
	pack_table(&t, 1, 0, 0);
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "service table size");
	pack_table(&t, 1, SL_MAX_CONF_BYTES + 1ull, 1);
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "service table size");
	pack_table(&t, 1, UINT64_MAX, 1);
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "service table size");
	pack_table(&t, 1, 100, 101);			/* more than bytes */
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "service table count");
	pack_table(&t, 1ull << 32, 100, 1);
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "out of range");
	pack_table(&t, 1, 100, 1ull << 32);
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "out of range");
	tb_raw(&t, "\x92\x01\x01", 3);			/* two fields */
	BAD_BODY_WHY(SL_MSG_SVC_TABLE, &t, "number of fields");
	tb_raw(&t, "\x91\x01", 2);
	ck_assert_ptr_null(dec_why(SL_MSG_MEMFD_REQ, &t));
	tb_raw(&t, "\x91\x00", 2);
	BAD_BODY_WHY(SL_MSG_MEMFD_REQ, &t, "memfd size");
	tb_raw(&t, "\x91\xce\x01\x00\x00\x01", 6);	/* 16 MiB + 1 */
	BAD_BODY_WHY(SL_MSG_MEMFD_REQ, &t, "memfd size");
	tb_raw(&t, "\x90", 1);
	ck_assert_ptr_null(dec_why(SL_MSG_REDIS_SOCK, &t));
	tb_raw(&t, "\x91\x00", 2);
	BAD_BODY_WHY(SL_MSG_REDIS_SOCK, &t, "too large");
	/* The encoder refuses the same. */
	fill(&m, SL_MSG_SVC_TABLE, 0);
	m.u.svc_table.size = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.u.svc_table.size = SL_MAX_CONF_BYTES + 1ull;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_SVC_TABLE, 0);
	m.u.svc_table.count = (uint32_t)m.u.svc_table.size + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_SVC_TABLE, 1);
	ck_assert_int_gt(ipc_body_encode(&m, buf, sizeof(buf)), 0);
	memset(&d, 0, sizeof(d));
	d.type = SL_MSG_SVC_TABLE;
	ck_assert_int_eq(ipc_body_decode(&d, SL_MSG_SVC_TABLE, buf,
	    (size_t)ipc_body_encode(&m, buf, sizeof(buf)), &why), 0);
	assert_same(&m, &d);
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

TCase *
codec_body_tcase(void)
{
	TCase	*tc;

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
	tcase_add_test(tc, t_body_registry);
	return tc;
}
