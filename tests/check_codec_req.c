/*
 * IPC tests, the bodies of requests a worker makes of the master for
 * things it may not do itself: TPROXY_REQ (a transparent reply socket)
 * and PCAP_REC (a packet for a pcap file).  Round trips and every
 * rejection.  Part of the check_codec executable (see check_codec.h).
 */
#include "check_codec.h"

/* TPROXY_REQ [listener, family, local, lport, peer, pport] */
static void
pack_tproxy(struct tb *t, uint64_t listener, uint64_t family, size_t llen,
    uint64_t lport, size_t plen, uint64_t pport)
{
	static const char	addr[17] = "\xc0\x00\x02\x4d\x20\x01\x0d\xb8";
	msgpack_packer		pk;

	tb_init(t, &pk);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint64(&pk, listener);
	msgpack_pack_uint64(&pk, family);
	msgpack_pack_bin_with_body(&pk, addr, llen);
	msgpack_pack_uint64(&pk, lport);
	msgpack_pack_bin_with_body(&pk, addr, plen);
	msgpack_pack_uint64(&pk, pport);
}

START_TEST(t_body_tproxy)
{
	msgpack_packer	 pk;
	struct sl_msg	 m;
	struct tb	 t;
	char		 buf[SL_IPC_MAX_FRAME];
	const char	*why = NULL;

	pack_tproxy(&t, 2, 4, 4, 5353, 4, 40000);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(ipc_body_decode(&m, SL_MSG_TPROXY_REQ, t.buf, t.len,
	    &why), 0);
	ck_assert_uint_eq(m.u.tproxy_req.listener, 2);
	ck_assert_uint_eq(m.u.tproxy_req.family, 4);
	ck_assert_mem_eq(m.u.tproxy_req.local, "\xc0\x00\x02\x4d", 4);
	ck_assert_mem_eq(m.u.tproxy_req.local + 4, "\0\0\0\0", 4);
	ck_assert_uint_eq(m.u.tproxy_req.local_port, 5353);
	ck_assert_uint_eq(m.u.tproxy_req.peer_port, 40000);
	pack_tproxy(&t, SL_MAX_LISTENERS - 1, 6, 16, 65535, 16, 1);
	ck_assert_ptr_null(dec_why(SL_MSG_TPROXY_REQ, &t));
	/* Listener, family, address lengths, ports. */
	pack_tproxy(&t, SL_MAX_LISTENERS, 4, 4, 53, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "listener index");
	pack_tproxy(&t, 1ull << 32, 4, 4, 53, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "out of range");
	pack_tproxy(&t, 0, 5, 4, 53, 4, 53);
	BAD_BODY(SL_MSG_TPROXY_REQ, &t);
	pack_tproxy(&t, 0, 0, 4, 53, 4, 53);
	BAD_BODY(SL_MSG_TPROXY_REQ, &t);
	pack_tproxy(&t, 0, 256, 4, 53, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "out of range");
	pack_tproxy(&t, 0, 4, 16, 53, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "does not match");
	pack_tproxy(&t, 0, 4, 4, 53, 16, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "does not match");
	pack_tproxy(&t, 0, 6, 4, 53, 16, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "does not match");
	pack_tproxy(&t, 0, 6, 16, 53, 17, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "does not match");
	pack_tproxy(&t, 0, 4, 0, 53, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "does not match");
	pack_tproxy(&t, 0, 4, 4, 0, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "port 0");
	pack_tproxy(&t, 0, 4, 4, 53, 4, 0);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "port 0");
	pack_tproxy(&t, 0, 4, 4, 65536, 4, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "out of range");
	pack_tproxy(&t, 0, 4, 4, 53, 4, 65536);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "out of range");
	/* An address as str, a port as a signed integer, five fields. */
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_str_with_body(&pk, "abcd", 4);
	msgpack_pack_uint16(&pk, 53);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	msgpack_pack_uint16(&pk, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "not bin");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	msgpack_pack_int16(&pk, -53);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	msgpack_pack_uint16(&pk, 53);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "unsigned");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	msgpack_pack_uint16(&pk, 53);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	BAD_BODY_WHY(SL_MSG_TPROXY_REQ, &t, "number of fields");
	/* The encoder refuses the same. */
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	m.u.tproxy_req.local_port = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	m.u.tproxy_req.peer_port = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	m.u.tproxy_req.family = 5;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_TPROXY_REQ, 0);
	m.u.tproxy_req.listener = SL_MAX_LISTENERS;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
}
END_TEST

/* PCAP_REC [file, ts_sec, ts_usec, packet] */
static void
pack_pcap(struct tb *t, uint64_t file, uint64_t sec, uint64_t usec,
    size_t len)
{
	static char	pkt[SL_PCAP_MAX_PKT + 2];
	msgpack_packer	pk;

	memset(pkt, 0x45, sizeof(pkt));
	tb_init(t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, file);
	msgpack_pack_uint64(&pk, sec);
	msgpack_pack_uint64(&pk, usec);
	msgpack_pack_bin_with_body(&pk, pkt, len);
}

START_TEST(t_body_pcap)
{
	msgpack_packer	 pk;
	static struct sl_msg m, back;
	struct tb	 t;
	char		 buf[SL_IPC_MAX_FRAME];
	const char	*why = NULL;
	int		 n;

	pack_pcap(&t, 3, 1700000000, 999999, 40);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(ipc_body_decode(&m, SL_MSG_PCAP_REC, t.buf, t.len,
	    &why), 0);
	ck_assert_uint_eq(m.u.pcap_rec.file, 3);
	ck_assert_uint_eq(m.u.pcap_rec.ts_sec, 1700000000);
	ck_assert_uint_eq(m.u.pcap_rec.ts_usec, 999999);
	ck_assert_uint_eq(m.u.pcap_rec.len, 40);
	ck_assert_uint_eq(m.u.pcap_rec.pkt[39], 0x45);
	ck_assert_uint_eq(m.u.pcap_rec.pkt[40], 0);
	/* The largest packet round-trips and fits a frame. */
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_PCAP_REC;
	m.fd = -1;
	m.u.pcap_rec.file = SL_PCAP_MAX_FILES - 1;
	m.u.pcap_rec.ts_sec = UINT32_MAX;
	m.u.pcap_rec.ts_usec = 999999;
	m.u.pcap_rec.len = SL_PCAP_MAX_PKT;
	memset(m.u.pcap_rec.pkt, 0x60, SL_PCAP_MAX_PKT);
	n = ipc_frame_build(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, SL_IPC_MAX_FRAME);
	ck_assert_int_eq(ipc_body_decode(&back, SL_MSG_PCAP_REC, buf + HDRSZ,
	    (size_t)n - HDRSZ, &why), 0);
	back.type = m.type;
	assert_same(&m, &back);
	/* File, microseconds, packet length, types, arity. */
	pack_pcap(&t, SL_PCAP_MAX_FILES, 0, 0, 40);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "file index");
	pack_pcap(&t, 1ull << 32, 0, 0, 40);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "out of range");
	pack_pcap(&t, 0, 1ull << 32, 0, 40);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "out of range");
	pack_pcap(&t, 0, 0, 1000000, 40);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "microseconds");
	pack_pcap(&t, 0, 0, 0, 0);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "packet length");
	pack_pcap(&t, 0, 0, 0, SL_PCAP_MAX_PKT);
	ck_assert_ptr_null(dec_why(SL_MSG_PCAP_REC, &t));
	pack_pcap(&t, 0, 0, 0, SL_PCAP_MAX_PKT + 1);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "packet length");
	pack_pcap(&t, UINT32_MAX, UINT32_MAX, UINT32_MAX, SL_PCAP_MAX_PKT + 1);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "too large");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_str_with_body(&pk, "abcd", 4);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "not bin");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int32(&pk, -1);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "unsigned");
	tb_init(&t, &pk);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_bin_with_body(&pk, "abcd", 4);
	BAD_BODY_WHY(SL_MSG_PCAP_REC, &t, "number of fields");
	/* The encoder refuses the same. */
	m.u.pcap_rec.len = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.u.pcap_rec.len = SL_PCAP_MAX_PKT + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.u.pcap_rec.len = 40;
	m.u.pcap_rec.ts_usec = 1000000;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	m.u.pcap_rec.ts_usec = 0;
	m.u.pcap_rec.file = SL_PCAP_MAX_FILES;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
}
END_TEST

TCase *
codec_req_tcase(void)
{
	TCase	*tc = tcase_create("requests");

	tcase_add_test(tc, t_body_tproxy);
	tcase_add_test(tc, t_body_pcap);
	return tc;
}
