/*
 * Bodies of what a child asks the master for and the master's answers
 * (SOCK_REQ, SOCK_FAIL, MEMFD_REQ, SVC_TABLE, TPROXY_REQ) and of the
 * pcap taps' records (PCAP_REC); the table and the checks are codec.c's.
 */
#include <string.h>

#include "codec_priv.h"

int
codec_enc_sock_req(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.sock_req.link) != 0)
		return -1;
	return msgpack_pack_uint8(pk, m->u.sock_req.family);
}

int
codec_dec_sock_req(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	link, family;

	if (codec_get_uint(&f[0], UINT32_MAX, &link, why) == -1 ||
	    codec_get_uint(&f[1], UINT8_MAX, &family, why) == -1)
		return -1;
	m->u.sock_req.link = (uint32_t)link;
	m->u.sock_req.family = (uint8_t)family;
	return 0;
}

int
codec_enc_sock_fail(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint32(pk, m->u.sock_fail.err);
}

int
codec_dec_sock_fail(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.sock_fail.err = (uint32_t)v;
	return 0;
}

int
codec_enc_memfd_req(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint64(pk, m->u.memfd_req.size);
}

int
codec_dec_memfd_req(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	return codec_get_uint(&f[0], UINT64_MAX, &m->u.memfd_req.size, why);
}

int
codec_enc_svc_table(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.svc_table.generation) != 0 ||
	    msgpack_pack_uint64(pk, m->u.svc_table.size) != 0)
		return -1;
	return msgpack_pack_uint32(pk, m->u.svc_table.count);
}

int
codec_dec_svc_table(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	gen, count;

	if (codec_get_uint(&f[0], UINT32_MAX, &gen, why) == -1 ||
	    codec_get_uint(&f[1], UINT64_MAX, &m->u.svc_table.size, why) == -1 ||
	    codec_get_uint(&f[2], UINT32_MAX, &count, why) == -1)
		return -1;
	m->u.svc_table.generation = (uint32_t)gen;
	m->u.svc_table.count = (uint32_t)count;
	return 0;
}

int
codec_enc_tproxy_req(msgpack_packer *pk, const struct sl_msg *m)
{
	size_t	alen = m->u.tproxy_req.family == 4 ? 4 : 16;

	if (msgpack_pack_uint32(pk, m->u.tproxy_req.listener) != 0 ||
	    msgpack_pack_uint8(pk, m->u.tproxy_req.family) != 0 ||
	    msgpack_pack_bin_with_body(pk, m->u.tproxy_req.local, alen) != 0 ||
	    msgpack_pack_uint16(pk, m->u.tproxy_req.local_port) != 0 ||
	    msgpack_pack_bin_with_body(pk, m->u.tproxy_req.peer, alen) != 0)
		return -1;
	return msgpack_pack_uint16(pk, m->u.tproxy_req.peer_port);
}

int
codec_dec_tproxy_req(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	listener, family, lport, pport;

	if (codec_get_uint(&f[0], UINT32_MAX, &listener, why) == -1 ||
	    codec_get_uint(&f[1], UINT8_MAX, &family, why) == -1 ||
	    codec_get_addr(&f[2], family, m->u.tproxy_req.local, why) == -1 ||
	    codec_get_uint(&f[3], UINT16_MAX, &lport, why) == -1 ||
	    codec_get_addr(&f[4], family, m->u.tproxy_req.peer, why) == -1 ||
	    codec_get_uint(&f[5], UINT16_MAX, &pport, why) == -1)
		return -1;
	m->u.tproxy_req.listener = (uint32_t)listener;
	m->u.tproxy_req.family = (uint8_t)family;
	m->u.tproxy_req.local_port = (uint16_t)lport;
	m->u.tproxy_req.peer_port = (uint16_t)pport;
	return 0;
}

int
codec_enc_pcap_rec(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.pcap_rec.file) != 0 ||
	    msgpack_pack_uint32(pk, m->u.pcap_rec.ts_sec) != 0 ||
	    msgpack_pack_uint32(pk, m->u.pcap_rec.ts_usec) != 0)
		return -1;
	return msgpack_pack_bin_with_body(pk, m->u.pcap_rec.pkt,
	    m->u.pcap_rec.len);
}

int
codec_dec_pcap_rec(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	file, sec, usec;

	if (codec_get_uint(&f[0], UINT32_MAX, &file, why) == -1 ||
	    codec_get_uint(&f[1], UINT32_MAX, &sec, why) == -1 ||
	    codec_get_uint(&f[2], UINT32_MAX, &usec, why) == -1)
		return -1;
	if (f[3].type != MSGPACK_OBJECT_BIN) {
		*why = "packet is not bin";
		return -1;
	}
	if (f[3].via.bin.size == 0 || f[3].via.bin.size > SL_PCAP_MAX_PKT) {
		*why = "pcap packet length out of range";
		return -1;
	}
	memcpy(m->u.pcap_rec.pkt, f[3].via.bin.ptr, f[3].via.bin.size);
	m->u.pcap_rec.len = f[3].via.bin.size;
	m->u.pcap_rec.file = (uint32_t)file;
	m->u.pcap_rec.ts_sec = (uint32_t)sec;
	m->u.pcap_rec.ts_usec = (uint32_t)usec;
	return 0;
}
