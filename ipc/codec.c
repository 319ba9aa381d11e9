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
 *   CFG_SHM       [size uint64]           1 <= size <= CODEC_MAX_SHM
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
#include "../common/log.h"

/*
 * The counters region for SL_MAX_WORKERS x SL_MAX_LINKS is about 1 MiB;
 * the receiver checks the exact size against its own config, this only
 * keeps a liar from making it map something absurd.
 */
#define CODEC_MAX_SHM		(64u * 1024 * 1024)

/* Deepest layout: RES_ANSWER -> address list -> [family, addr]. */
#define SCAN_MAX_DEPTH		3

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

enum scan_kind { SCAN_DATA, SCAN_ARRAY, SCAN_MAP };

struct scan_item {
	size_t	 hdr;		/* tag and length bytes */
	uint64_t data;		/* payload bytes after hdr */
	uint64_t count;		/* objects contained (2 per map entry) */
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

/*
 * Classify a msgpack tag byte: bytes of length field that follow it,
 * extra fixed header bytes (ext type), fixed payload or inline
 * length/count, and whether the length field counts bytes or elements.
 * Returns -1 for the one byte msgpack never uses (0xc1).
 */
static int
scan_tag(unsigned char b, size_t *lenbytes, size_t *extra, uint64_t *n,
    enum scan_kind *kind)
{
	*lenbytes = *extra = 0;
	*n = 0;
	*kind = SCAN_DATA;
	if (b <= 0x7f || b >= 0xe0)		/* fixint */
		return 0;
	if (b <= 0x8f) {			/* fixmap */
		*kind = SCAN_MAP;
		*n = b & 0x0f;
		return 0;
	}
	if (b <= 0x9f) {			/* fixarray */
		*kind = SCAN_ARRAY;
		*n = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) {			/* fixstr */
		*n = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc0: case 0xc2: case 0xc3:	/* nil, false, true */
		return 0;
	case 0xc4: case 0xc5: case 0xc6:	/* bin 8/16/32 */
	case 0xd9: case 0xda: case 0xdb:	/* str 8/16/32 */
		*lenbytes = (b == 0xc4 || b == 0xd9) ? 1 :
		    (b == 0xc5 || b == 0xda) ? 2 : 4;
		return 0;
	case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32 + type byte */
		*lenbytes = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
		*extra = 1;
		return 0;
	case 0xca: *n = 4; return 0;		/* float32 */
	case 0xcb: *n = 8; return 0;		/* float64 */
	case 0xcc: case 0xd0: *n = 1; return 0;	/* (u)int8 */
	case 0xcd: case 0xd1: *n = 2; return 0;	/* (u)int16 */
	case 0xce: case 0xd2: *n = 4; return 0;	/* (u)int32 */
	case 0xcf: case 0xd3: *n = 8; return 0;	/* (u)int64 */
	case 0xd4: case 0xd5: case 0xd6:	/* fixext 1/2/4 */
	case 0xd7: case 0xd8:			/* fixext 8/16 */
		*extra = 1;
		*n = 1u << (b - 0xd4);
		return 0;
	case 0xdc: case 0xdd:			/* array 16/32 */
		*kind = SCAN_ARRAY;
		*lenbytes = b == 0xdc ? 2 : 4;
		return 0;
	case 0xde: case 0xdf:			/* map 16/32 */
		*kind = SCAN_MAP;
		*lenbytes = b == 0xde ? 2 : 4;
		return 0;
	}
	return -1;				/* 0xc1 */
}

/* Size up the object at p (avail > 0 bytes) without trusting it. */
static int
scan_one(const unsigned char *p, size_t avail, struct scan_item *it,
    const char **why)
{
	size_t		 lenbytes, extra, i;
	uint64_t	 n;
	enum scan_kind	 kind;

	if (scan_tag(p[0], &lenbytes, &extra, &n, &kind) == -1) {
		*why = "invalid msgpack tag";
		return -1;
	}
	it->hdr = 1 + lenbytes + extra;
	if (avail < it->hdr) {
		*why = "truncated body";
		return -1;
	}
	/* The length field is big-endian. */
	for (i = 0; i < lenbytes; i++)
		n = (n << 8) | p[1 + i];
	it->data = kind == SCAN_DATA ? n : 0;
	it->count = kind == SCAN_ARRAY ? n : kind == SCAN_MAP ? 2 * n : 0;
	if (it->data > avail - it->hdr) {
		*why = "truncated body";
		return -1;
	}
	return 0;
}

/*
 * Check that p[0..len) is exactly one msgpack object whose containers
 * are plausible: every element still owed needs at least one byte, so
 * the objects msgpack-c will allocate never outnumber the body's bytes.
 */
static int
scan_body(const unsigned char *p, size_t len, const char **why)
{
	uint64_t		left[SCAN_MAX_DEPTH];
	uint64_t		owed = 1;
	size_t			off = 0;
	int			depth = 0;
	struct scan_item	it;

	while (owed > 0) {
		if (off == len) {
			*why = "truncated body";
			return -1;
		}
		if (scan_one(p + off, len - off, &it, why) == -1)
			return -1;
		off += it.hdr + it.data;
		owed--;
		if (depth > 0)
			left[depth - 1]--;
		if (it.count > 0) {
			if (depth == SCAN_MAX_DEPTH) {
				*why = "msgpack nested too deep";
				return -1;
			}
			if (owed + it.count > len - off) {
				*why = "msgpack container larger than body";
				return -1;
			}
			left[depth++] = it.count;
			owed += it.count;
		}
		while (depth > 0 && left[depth - 1] == 0)
			depth--;
	}
	if (off != len) {
		*why = "trailing bytes after body";
		return -1;
	}
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
	switch (type) {
	case SL_MSG_CFG_CONF:
		return check_range(m->u.cfg_conf.size, 1, SL_MAX_CONF_BYTES,
		    "config size out of range", why);
	case SL_MSG_CFG_SHM:
		return check_range(m->u.cfg_shm.size, 1, CODEC_MAX_SHM,
		    "counters size out of range", why);
	case SL_MSG_CFG_PEER:
		if (m->u.cfg_peer.index >= SL_MAX_WORKERS) {
			*why = "peer index out of range";
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
	}
	return 0;
}

static int
get_uint(const msgpack_object *o, uint64_t max, uint64_t *v,
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
static int
get_str(const msgpack_object *o, char *dst, size_t max, const char **why)
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

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_conf.generation = v;
	if (get_uint(&f[1], UINT64_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_conf.size = v;
	return 0;
}

static int
enc_cfg_shm(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint64(pk, m->u.cfg_shm.size);
}

static int
dec_cfg_shm(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	return get_uint(&f[0], UINT64_MAX, &m->u.cfg_shm.size, why);
}

static int
enc_cfg_peer(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint32(pk, m->u.cfg_peer.index);
}

static int
dec_cfg_peer(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.cfg_peer.index = v;
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

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
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

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
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

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.log.level = v;
	return get_str(&f[1], m->u.log.text, SL_LOG_MAX_TEXT, why);
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

	if (get_uint(&f[0], UINT8_MAX, &v, why) == -1)
		return -1;
	m->u.res_query.family = v;
	return get_str(&f[1], m->u.res_query.name, SL_MAX_NAME, why);
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
	if (get_uint(&f[0], UINT8_MAX, &family, why) == -1)
		return -1;
	if (f[1].type != MSGPACK_OBJECT_BIN) {
		*why = "address is not bin";
		return -1;
	}
	if (!(family == 4 && f[1].via.bin.size == 4) &&
	    !(family == 6 && f[1].via.bin.size == 16)) {
		*why = "address length does not match family";
		return -1;
	}
	a->family = family;
	memcpy(a->addr, f[1].via.bin.ptr, f[1].via.bin.size);
	return 0;
}

static int
dec_res_answer(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	const msgpack_object_array	*list;
	uint64_t			 v;
	uint32_t			 i;

	if (get_uint(&f[0], UINT8_MAX, &v, why) == -1)
		return -1;
	m->u.res_answer.status = v;
	if (get_uint(&f[1], UINT32_MAX, &v, why) == -1)
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

static int
enc_sock_req(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.sock_req.link) != 0)
		return -1;
	return msgpack_pack_uint8(pk, m->u.sock_req.family);
}

static int
dec_sock_req(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	link, family;

	if (get_uint(&f[0], UINT32_MAX, &link, why) == -1 ||
	    get_uint(&f[1], UINT8_MAX, &family, why) == -1)
		return -1;
	m->u.sock_req.link = (uint32_t)link;
	m->u.sock_req.family = (uint8_t)family;
	return 0;
}

static int
enc_sock_fail(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint32(pk, m->u.sock_fail.err);
}

static int
dec_sock_fail(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (get_uint(&f[0], UINT32_MAX, &v, why) == -1)
		return -1;
	m->u.sock_fail.err = (uint32_t)v;
	return 0;
}

static int
enc_memfd_req(msgpack_packer *pk, const struct sl_msg *m)
{
	return msgpack_pack_uint64(pk, m->u.memfd_req.size);
}

static int
dec_memfd_req(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	return get_uint(&f[0], UINT64_MAX, &m->u.memfd_req.size, why);
}

static int
enc_svc_table(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.svc_table.generation) != 0 ||
	    msgpack_pack_uint64(pk, m->u.svc_table.size) != 0)
		return -1;
	return msgpack_pack_uint32(pk, m->u.svc_table.count);
}

static int
dec_svc_table(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	gen, count;

	if (get_uint(&f[0], UINT32_MAX, &gen, why) == -1 ||
	    get_uint(&f[1], UINT64_MAX, &m->u.svc_table.size, why) == -1 ||
	    get_uint(&f[2], UINT32_MAX, &count, why) == -1)
		return -1;
	m->u.svc_table.generation = (uint32_t)gen;
	m->u.svc_table.count = (uint32_t)count;
	return 0;
}

/* Per type: fields, encoder, decoder (NULL: an empty array). */
static const struct codec_type codec_types[SL_MSG_MAX] = {
	[SL_MSG_CFG_CONF] =	{ 2, enc_cfg_conf, dec_cfg_conf },
	[SL_MSG_CFG_SHM] =	{ 1, enc_cfg_shm, dec_cfg_shm },
	[SL_MSG_CFG_PEER] =	{ 1, enc_cfg_peer, dec_cfg_peer },
	[SL_MSG_CFG_LISTENER] =	{ 1, enc_cfg_listener,
				    dec_cfg_listener },
	[SL_MSG_CFG_END] =	{ 0, NULL, NULL },
	[SL_MSG_LOG_LEVEL] =	{ 1, enc_log_level, dec_log_level },
	[SL_MSG_DRAIN] =	{ 0, NULL, NULL },
	[SL_MSG_READY] =	{ 0, NULL, NULL },
	[SL_MSG_LOG] =		{ 2, enc_log, dec_log },
	[SL_MSG_RES_QUERY] =	{ 2, enc_res_query, dec_res_query },
	[SL_MSG_RES_ANSWER] =	{ 3, enc_res_answer, dec_res_answer },
	[SL_MSG_SOCK_REQ] =	{ 2, enc_sock_req, dec_sock_req },
	[SL_MSG_SOCK_FD] =	{ 0, NULL, NULL },
	[SL_MSG_SOCK_FAIL] =	{ 1, enc_sock_fail, dec_sock_fail },
	[SL_MSG_REDIS_SOCK] =	{ 0, NULL, NULL },
	[SL_MSG_MEMFD_REQ] =	{ 1, enc_memfd_req, dec_memfd_req },
	[SL_MSG_SVC_TABLE] =	{ 3, enc_svc_table, dec_svc_table },
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
