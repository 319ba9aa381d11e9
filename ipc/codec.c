/*
 * msgpack bodies of every IPC message.
 *
 * Every body is one msgpack array of fixed arity; fields appear in the
 * order below and nothing else is accepted (no maps, no optional fields,
 * no trailing bytes).  "uint" means a msgpack positive integer in any
 * width; the encoder always picks the shortest.
 *
 *   type          fields                  checks
 *   CFG_CONF      [generation uint32,     1 <= size <= SL_MAX_CONF_BYTES
 *                  size uint64]
 *   CFG_SHM       [size uint64,           1 <= size <= CODEC_MAX_SHM,
 *                  part uint32,           1 <= part <= SL_SHM_PART_MAX,
 *                  slot uint32]           slot < SL_MAX_WORKERS
 *   CFG_PEER      [index uint32]          index < SL_MAX_WORKERS
 *   CFG_LISTENER  [index uint32]          index < SL_MAX_LISTENERS
 *   CFG_END       []
 *   LOG_LEVEL     [level uint32]          level <= SL_LOG_DEBUG
 *   DRAIN         []
 *   READY         []
 *   LOG           [level uint32,          level <= SL_LOG_DEBUG,
 *                  text str]              text <= SL_LOG_MAX_TEXT bytes
 *   RES_QUERY     [family uint8,          family 0, 4 or 6,
 *                  name str]              name <= SL_MAX_NAME bytes
 *   RES_ANSWER    [status uint8,          status < SL_RES_MAX,
 *                  ttl uint32,            at most SL_MAX_ADDRS pairs,
 *                  [[family uint8,        family 4 with 4 bytes or
 *                    addr bin], ...]]     family 6 with 16 bytes;
 *                                         no pairs unless SL_RES_OK
 *   SOCK_REQ      [link uint32,           link < SL_MAX_LINKS,
 *                  family uint8]          family 4 or 6
 *   SOCK_FD       []                      + the socket's fd
 *   SOCK_FAIL     [err uint32]            errno from the master
 *   REDIS_SOCK    []                      request id in the frame
 *   MEMFD_REQ     [size uint64]           1 <= size <= SL_MAX_CONF_BYTES
 *   SVC_TABLE     [generation uint32,     1 <= size <= SL_MAX_CONF_BYTES,
 *                  size uint64,           count <= size; + the sealed
 *                  count uint32]          memfd holding size bytes
 *   TPROXY_REQ    [listener uint32,       listener < SL_MAX_LISTENERS,
 *                  family uint8,          family 4 or 6, each address
 *                  local bin,             4 bytes for family 4, 16 for
 *                  local_port uint16,     family 6; ports not 0
 *                  peer bin,
 *                  peer_port uint16]
 *   PCAP_REC      [file uint32,           file < SL_PCAP_MAX_FILES,
 *                  ts_sec uint32,         ts_usec < 1000000,
 *                  ts_usec uint32,        1 <= packet bytes <=
 *                  packet bin]            SL_PCAP_MAX_PKT; the packet
 *                                         itself is not looked at
 *
 * Strings are msgpack str (never bin), may be empty, and must not contain
 * NUL: they are handed on as C strings.  An empty RES_QUERY name is legal
 * on the wire; the resolver answers SL_RES_BADNAME rather than treating a
 * remote client's odd request as a protocol violation.
 *
 * Decoding is two passes.  scan_body() walks the raw bytes first and
 * rejects anything whose containers claim more elements than there are
 * bytes left, nests deeper than any layout, or does not end exactly at
 * len.  Only then does msgpack_unpack_next() build objects: msgpack-c
 * allocates count * sizeof(msgpack_object) as soon as it reads an array
 * header, so without the scan a 5-byte "dd 6d 64 2a ff" asks malloc for
 * ~44 GB (platform.md, trap 6).  After the scan its zone is bounded by
 * about len * sizeof(msgpack_object_kv), and len <= the type's max_body.
 */
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "codec_priv.h"
#include "scan.h"
#include "../common/log.h"

/*
 * The counters region for SL_MAX_WORKERS x SL_MAX_LINKS is about 1 MiB;
 * the receiver checks the exact size against its own config, this only
 * keeps a liar from making it map something absurd.
 */
#define CODEC_MAX_SHM		(64u * 1024 * 1024)

struct wbuf {
	char	*p;
	size_t	 cap;
	size_t	 len;
};

struct codec_type {
	unsigned  arity;
	int	(*enc)(msgpack_packer *, const struct sl_msg *);
	int	(*dec)(struct sl_msg *, const msgpack_object *,
		    const char **);
};

/* msgpack packer callback: append to a fixed buffer, never allocate. */
static int
wbuf_write(void *arg, const char *p, size_t n)
{
	struct wbuf	*w = arg;

	if (n > w->cap - w->len)
		return -1;
	memcpy(w->p + w->len, p, n);
	w->len += n;
	return 0;
}

/* min <= v <= max, or msg. */
static int
check_range(uint64_t v, uint64_t min, uint64_t max, const char *msg,
    const char **why)
{
	if (v < min || v > max) {
		*why = msg;
		return -1;
	}
	return 0;
}

static int
check_level(uint32_t level, const char **why)
{
	if (level > SL_LOG_DEBUG) {
		*why = "log level out of range";
		return -1;
	}
	return 0;
}

static int
check_res_answer(const struct sl_msg *m, const char **why)
{
	uint32_t	i;

	if (m->u.res_answer.status >= SL_RES_MAX) {
		*why = "resolver status out of range";
		return -1;
	}
	if (m->u.res_answer.naddrs > SL_MAX_ADDRS) {
		*why = "too many addresses";
		return -1;
	}
	/* Addresses with a failure status would be a lie the worker uses. */
	if (m->u.res_answer.status != SL_RES_OK &&
	    m->u.res_answer.naddrs != 0) {
		*why = "addresses in a failed answer";
		return -1;
	}
	for (i = 0; i < m->u.res_answer.naddrs; i++) {
		if (m->u.res_answer.addrs[i].family != 4 &&
		    m->u.res_answer.addrs[i].family != 6) {
			*why = "address family not 4 or 6";
			return -1;
		}
	}
	return 0;
}

/*
 * Value checks shared by both directions: the encoder refuses what the
 * decoder would reject, so a peer never dies of our own bug.  Strings
 * are checked for termination here because an encoder's caller may hand
 * us a buffer without a NUL.
 */
static int
check_payload(unsigned type, const struct sl_msg *m, const char **why)
{
	if (SL_MSG_IS_TUN(type))
		return codec_tun_check(m, why);
	switch (type) {
	case SL_MSG_CFG_CONF:
		return check_range(m->u.cfg_conf.size, 1, SL_MAX_CONF_BYTES,
		    "config size out of range", why);
	case SL_MSG_CFG_SHM:
		if (check_range(m->u.cfg_shm.part, 1, SL_SHM_PART_MAX,
		    "counters part out of range", why) == -1 ||
		    check_range(m->u.cfg_shm.slot, 0, SL_MAX_WORKERS - 1,
		    "counters slot out of range", why) == -1)
			return -1;
		return check_range(m->u.cfg_shm.size, 1, CODEC_MAX_SHM,
		    "counters size out of range", why);
	case SL_MSG_CFG_PEER:
		if (m->u.cfg_peer.index >= SL_MAX_WORKERS) {
			*why = "peer index out of range";
			return -1;
		}
		if (m->u.cfg_peer.role == SL_PROC_MASTER ||
		    m->u.cfg_peer.role >= SL_PROC_MAX) {
			*why = "peer role out of range";
			return -1;
		}
		return 0;
	case SL_MSG_CFG_LISTENER:
		if (m->u.cfg_listener.index >= SL_MAX_LISTENERS) {
			*why = "listener index out of range";
			return -1;
		}
		return 0;
	case SL_MSG_LOG_LEVEL:
		return check_level(m->u.log_level.level, why);
	case SL_MSG_LOG:
		if (strnlen(m->u.log.text, sizeof(m->u.log.text)) >
		    SL_LOG_MAX_TEXT) {
			*why = "log text too long";
			return -1;
		}
		return check_level(m->u.log.level, why);
	case SL_MSG_RES_QUERY:
		if (m->u.res_query.family != 0 && m->u.res_query.family != 4 &&
		    m->u.res_query.family != 6) {
			*why = "query family not 0, 4 or 6";
			return -1;
		}
		if (strnlen(m->u.res_query.name, sizeof(m->u.res_query.name)) >
		    SL_MAX_NAME) {
			*why = "name too long";
			return -1;
		}
		return 0;
	case SL_MSG_RES_ANSWER:
		return check_res_answer(m, why);
	case SL_MSG_MEMFD_REQ:
		return check_range(m->u.memfd_req.size, 1, SL_MAX_CONF_BYTES,
		    "memfd size out of range", why);
	case SL_MSG_SVC_TABLE:
		/* Every service takes bytes: more of them is a lie. */
		return check_range(m->u.svc_table.size, 1, SL_MAX_CONF_BYTES,
		    "service table size out of range", why) == -1 ||
		    check_range(m->u.svc_table.count, 0, m->u.svc_table.size,
		    "service table count out of range", why) == -1 ? -1 : 0;
	case SL_MSG_SOCK_REQ:
		if (m->u.sock_req.family != 4 && m->u.sock_req.family != 6) {
			*why = "socket family not 4 or 6";
			return -1;
		}
		if (m->u.sock_req.link >= SL_MAX_LINKS) {
			*why = "link index out of range";
			return -1;
		}
		return 0;
	case SL_MSG_PCAP_REC:
		if (m->u.pcap_rec.file >= SL_PCAP_MAX_FILES) {
			*why = "pcap file index out of range";
			return -1;
		}
		if (m->u.pcap_rec.ts_usec >= 1000000) {
			*why = "pcap microseconds out of range";
			return -1;
		}
		return check_range(m->u.pcap_rec.len, 1, SL_PCAP_MAX_PKT,
		    "pcap packet length out of range", why);
	case SL_MSG_CTL_QUERY:
	case SL_MSG_CTL_ROW:
	case SL_MSG_CTL_DONE:
	case SL_MSG_CTL_ALLOW:
	case SL_MSG_ACCESS:
		return codec_ctl_check(type, m, why);
	case SL_MSG_CTL_AGENT:
		return codec_agent_check(m, why);
	case SL_MSG_TPROXY_REQ:
		if (m->u.tproxy_req.family != 4 &&
		    m->u.tproxy_req.family != 6) {
			*why = "socket family not 4 or 6";
			return -1;
		}
		if (m->u.tproxy_req.listener >= SL_MAX_LISTENERS) {
			*why = "listener index out of range";
			return -1;
		}
		if (m->u.tproxy_req.local_port == 0 ||
		    m->u.tproxy_req.peer_port == 0) {
			*why = "port 0";
			return -1;
		}
		return 0;
	}
	return 0;
}

int
codec_get_uint(const msgpack_object *o, uint64_t max, uint64_t *v,
    const char **why)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*why = "field is not an unsigned integer";
		return -1;
	}
	if (o->via.u64 > max) {
		*why = "integer field out of range";
		return -1;
	}
	*v = o->via.u64;
	return 0;
}

/* Copy a msgpack str of at most max bytes into dst[max + 1]. */
int
codec_get_str(const msgpack_object *o, char *dst, size_t max, const char **why)
{
	if (o->type != MSGPACK_OBJECT_STR) {
		*why = "field is not a string";
		return -1;
	}
	if (o->via.str.size > max) {
		*why = "string too long";
		return -1;
	}
	/* msgpack-c leaves ptr NULL for "", which memchr() may not see. */
	if (o->via.str.size == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		*why = "string contains NUL";
		return -1;
	}
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return 0;
}

/* An address as bin: 4 bytes for family 4, 16 for family 6. */
int
codec_get_addr(const msgpack_object *o, uint64_t family, uint8_t *dst,
    const char **why)
{
	if (o->type != MSGPACK_OBJECT_BIN) {
		*why = "address is not bin";
		return -1;
	}
	if (!(family == 4 && o->via.bin.size == 4) &&
	    !(family == 6 && o->via.bin.size == 16)) {
		*why = "address length does not match family";
		return -1;
	}
	memcpy(dst, o->via.bin.ptr, o->via.bin.size);
	return 0;
}

static int
enc_cfg_conf(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.cfg_conf.generation) != 0)
		return -1;
	return msgpack_pack_uint64(pk, m->u.cfg_conf.size);
}

static int
dec_cfg_conf(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_conf.generation = v;
	if (codec_get_uint(&f[1], UINT64_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_conf.size = v;
	return 0;
}

static int
enc_cfg_shm(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint64(pk, m->u.cfg_shm.size) != 0 ||
	    msgpack_pack_uint32(pk, m->u.cfg_shm.part) != 0 ? -1 :
	    msgpack_pack_uint32(pk, m->u.cfg_shm.slot);
}

static int
dec_cfg_shm(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	part, slot;

	if (codec_get_uint(&f[0], UINT64_MAX, &m->u.cfg_shm.size, why) ||
	    codec_get_uint(&f[1], UINT32_MAX, &part, why) ||
	    codec_get_uint(&f[2], UINT32_MAX, &slot, why))
		return -1;
	m->u.cfg_shm.part = (uint32_t)part;
	m->u.cfg_shm.slot = (uint32_t)slot;
	return 0;
}

static int
enc_cfg_peer(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.cfg_peer.index) != 0)
		return -1;
	return msgpack_pack_uint8(pk, m->u.cfg_peer.role);
}

static int
dec_cfg_peer(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v, r;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1 ||
	    codec_get_uint(&f[1], UINT8_MAX, &r, why) == -1)
		return -1;
	m->u.cfg_peer.index = v;
	m->u.cfg_peer.role = (uint8_t)r;
	return 0;
}

static int
enc_cfg_listener(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint32(pk, m->u.cfg_listener.index);
}

static int
dec_cfg_listener(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_listener.index = v;
	return 0;
}

static int
enc_log_level(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint32(pk, m->u.log_level.level);
}

static int
dec_log_level(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.log_level.level = v;
	return 0;
}

static int
enc_log(msgpack_packer *pk, const struct sl_msg *m)
{
	/* check_payload() found the NUL within the buffer. */
	size_t	len = strlen(m->u.log.text);

	if (msgpack_pack_uint32(pk, m->u.log.level) != 0)
		return -1;
	return msgpack_pack_str_with_body(pk, m->u.log.text, len);
}

static int
dec_log(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.log.level = v;
	return codec_get_str(&f[1], m->u.log.text, SL_LOG_MAX_TEXT, why);
}

static int
enc_res_query(msgpack_packer *pk, const struct sl_msg *m)
{
	size_t	len = strlen(m->u.res_query.name);

	if (msgpack_pack_uint8(pk, m->u.res_query.family) != 0)
		return -1;
	return msgpack_pack_str_with_body(pk, m->u.res_query.name, len);
}

static int
dec_res_query(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], UINT8_MAX, &v, why) == -1)
		return -1;
	m->u.res_query.family = v;
	return codec_get_str(&f[1], m->u.res_query.name, SL_MAX_NAME, why);
}

static int
enc_res_answer(msgpack_packer *pk, const struct sl_msg *m)
{
	const struct sl_res_addr	*a;
	uint32_t			 i;

	if (msgpack_pack_uint8(pk, m->u.res_answer.status) != 0 ||
	    msgpack_pack_uint32(pk, m->u.res_answer.ttl) != 0 ||
	    msgpack_pack_array(pk, m->u.res_answer.naddrs) != 0)
		return -1;
	for (i = 0; i < m->u.res_answer.naddrs; i++) {
		a = &m->u.res_answer.addrs[i];
		if (msgpack_pack_array(pk, 2) != 0 ||
		    msgpack_pack_uint8(pk, a->family) != 0 ||
		    msgpack_pack_bin_with_body(pk, a->addr,
		    a->family == 4 ? 4 : 16) != 0)
			return -1;
	}
	return 0;
}

static int
dec_res_addr(struct sl_res_addr *a, const msgpack_object *o,
    const char **why)
{
	const msgpack_object	*f;
	uint64_t		 family;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2) {
		*why = "address is not a [family, bytes] pair";
		return -1;
	}
	f = o->via.array.ptr;
	if (codec_get_uint(&f[0], UINT8_MAX, &family, why) == -1 ||
	    codec_get_addr(&f[1], family, a->addr, why) == -1)
		return -1;
	a->family = family;
	return 0;
}

static int
dec_res_answer(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	const msgpack_object_array	*list;
	uint64_t			 v;
	uint32_t			 i;

	if (codec_get_uint(&f[0], UINT8_MAX, &v, why) == -1)
		return -1;
	m->u.res_answer.status = v;
	if (codec_get_uint(&f[1], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.res_answer.ttl = v;
	if (f[2].type != MSGPACK_OBJECT_ARRAY) {
		*why = "address list is not an array";
		return -1;
	}
	list = &f[2].via.array;
	if (list->size > SL_MAX_ADDRS) {
		*why = "too many addresses";
		return -1;
	}
	m->u.res_answer.naddrs = list->size;
	for (i = 0; i < list->size; i++)
		if (dec_res_addr(&m->u.res_answer.addrs[i], &list->ptr[i],
		    why) == -1)
			return -1;
	return 0;
}

/* Per type: fields, encoder, decoder (NULL: an empty array). */
static const struct codec_type codec_types[SL_MSG_MAX] = {
	[SL_MSG_CFG_CONF] =	{ 2, enc_cfg_conf, dec_cfg_conf },
	[SL_MSG_CFG_SHM] =	{ 3, enc_cfg_shm, dec_cfg_shm },
	[SL_MSG_CFG_PEER] =	{ 2, enc_cfg_peer, dec_cfg_peer },
	[SL_MSG_CFG_LISTENER] =	{ 1, enc_cfg_listener,
				    dec_cfg_listener },
	[SL_MSG_CFG_END] =	{ 0, NULL, NULL },
	[SL_MSG_LOG_LEVEL] =	{ 1, enc_log_level, dec_log_level },
	[SL_MSG_DRAIN] =	{ 0, NULL, NULL },
	[SL_MSG_READY] =	{ 0, NULL, NULL },
	[SL_MSG_LOG] =		{ 2, enc_log, dec_log },
	[SL_MSG_RES_QUERY] =	{ 2, enc_res_query, dec_res_query },
	[SL_MSG_RES_ANSWER] =	{ 3, enc_res_answer, dec_res_answer },
	[SL_MSG_SOCK_REQ] =	{ 2, codec_enc_sock_req,
				    codec_dec_sock_req },
	[SL_MSG_SOCK_FD] =	{ 0, NULL, NULL },
	[SL_MSG_SOCK_FAIL] =	{ 1, codec_enc_sock_fail,
				    codec_dec_sock_fail },
	[SL_MSG_REDIS_SOCK] =	{ 0, NULL, NULL },
	[SL_MSG_MEMFD_REQ] =	{ 1, codec_enc_memfd_req, codec_dec_memfd_req },
	[SL_MSG_SVC_TABLE] =	{ 3, codec_enc_svc_table, codec_dec_svc_table },
	[SL_MSG_TPROXY_REQ] =	{ 6, codec_enc_tproxy_req, codec_dec_tproxy_req },
	[SL_MSG_PCAP_REC] =	{ 4, codec_enc_pcap_rec, codec_dec_pcap_rec },
	[SL_MSG_CTL_QUERY] =	{ 9, codec_enc_ctl_query, codec_dec_ctl_query },
	[SL_MSG_CTL_ROW] =	{ 13, codec_enc_ctl_row, codec_dec_ctl_row },
	[SL_MSG_CTL_DONE] =	{ 3, codec_enc_ctl_done, codec_dec_ctl_done },
	[SL_MSG_CTL_ALLOW] =	{ 2, codec_enc_ctl_allow, codec_dec_ctl_allow },
	[SL_MSG_ACCESS] =	{ 14, codec_enc_access, codec_dec_access },
	[SL_MSG_TUN_OPEN] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_OPENED] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_OPEN_FAIL] = { 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_STREAM] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_STREAM_RESULT] = { 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_DIAL] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_DIALED] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_DIAL_FAIL] = { 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_RESET] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_TUN_AGENT_UP] =	{ 4, codec_enc_tun, codec_dec_tun },
	[SL_MSG_CTL_AGENTS] =	{ 0, NULL, NULL },
	[SL_MSG_CTL_AGENT] =	{ 9, codec_enc_agent, codec_dec_agent },
};

/*
 * Encode m's payload into buf.  Called by ipc_frame_build() in every
 * process; the output never exceeds the type's max_body, so whatever we
 * send the peer's size check accepts.
 */
int
ipc_body_encode(const struct sl_msg *m, char *buf, size_t cap)
{
	const struct codec_type	*ct;
	const char		*why;
	struct wbuf		 w;
	msgpack_packer		 pk;

	if (m == NULL || buf == NULL || m->type == SL_MSG_NONE ||
	    m->type >= SL_MSG_MAX)
		return -1;
	if (check_payload(m->type, m, &why) == -1)
		return -1;
	ct = &codec_types[m->type];
	w.p = buf;
	w.cap = cap < sl_msg_specs[m->type].max_body ? cap :
	    sl_msg_specs[m->type].max_body;
	w.len = 0;
	msgpack_packer_init(&pk, &w, wbuf_write);
	if (msgpack_pack_array(&pk, ct->arity) != 0)
		return -1;
	if (ct->enc != NULL && ct->enc(&pk, m) != 0)
		return -1;
	return (int)w.len;
}

/*
 * Decode an untrusted body into m->u.  Called by ipc_frame_recv() after
 * the frame checks; safe on any bytes.  m->u is zeroed on failure so a
 * careless caller never sees half a message.
 */
int
ipc_body_decode(struct sl_msg *m, unsigned type, const char *body,
    size_t len, const char **why)
{
	const struct codec_type	*ct;
	const char		*dummy;
	msgpack_unpacked	 up;
	msgpack_unpack_return	 r;
	size_t			 off = 0;
	int			 rc = -1;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(&m->u, 0, sizeof(m->u));
	if (type == SL_MSG_NONE || type >= SL_MSG_MAX) {
		*why = "unknown message type";
		return -1;
	}
	if (len > sl_msg_specs[type].max_body) {
		*why = "body too large for its type";
		return -1;
	}
	if (body == NULL || len == 0) {
		*why = "empty body";
		return -1;
	}
	if (scan_body((const unsigned char *)body, len, why) == -1)
		return -1;

	ct = &codec_types[type];
	msgpack_unpacked_init(&up);
	r = msgpack_unpack_next(&up, body, len, &off);
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		*why = "malformed msgpack";
	else if (up.data.type != MSGPACK_OBJECT_ARRAY)
		*why = "body is not an array";
	else if (up.data.via.array.size != ct->arity)
		*why = "wrong number of fields";
	else if (ct->dec != NULL && ct->dec(m, up.data.via.array.ptr,
	    why) == -1)
		;	/* why set by the decoder */
	else if (check_payload(type, m, why) == 0)
		rc = 0;
	msgpack_unpacked_destroy(&up);
	if (rc == -1)
		memset(&m->u, 0, sizeof(m->u));
	return rc;
}
