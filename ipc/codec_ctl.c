/*
 * Bodies of the control messages (CTL_QUERY, CTL_ROW, CTL_DONE,
 * CTL_ALLOW) and of ACCESS: what the master asks a worker for the
 * control socket, what it answers, and a session's access-log record.
 *
 * A worker is hostile to the master: every string is length-checked and
 * NUL-free (codec_get_str), every address matches its family, every CIDR
 * prefix fits it, and check_payload() runs the same checks on both sides.
 */
#include <string.h>

#include "codec_priv.h"

static int
check_str(const char *s, size_t max, const char **why)
{
	if (strnlen(s, max + 1) > max) {
		*why = "string too long";
		return -1;
	}
	return 0;
}

static int
check_family(uint8_t family, int none_ok, const char **why)
{
	if ((family == 0 && none_ok) || family == 4 || family == 6)
		return 0;
	*why = "address family not 4 or 6";
	return -1;
}

static int
check_cidr(const struct sl_ctl_cidr *c, int none_ok, const char **why)
{
	if (check_family(c->family, none_ok, why) == -1)
		return -1;
	if (c->prefix > (c->family == 4 ? 32 : 128)) {
		*why = "CIDR prefix out of range";
		return -1;
	}
	return 0;
}

int
codec_ctl_check(unsigned type, const struct sl_msg *m, const char **why)
{
	uint32_t	i;

	switch (type) {
	case SL_MSG_CTL_QUERY:
		if (m->u.ctl_query.op >= SL_CTL_OP_MAX) {
			*why = "control operation out of range";
			return -1;
		}
		if (m->u.ctl_query.max > SL_CTL_MAX_ROWS) {
			*why = "too many rows asked for";
			return -1;
		}
		return check_cidr(&m->u.ctl_query.client, 1, why) == -1 ||
		    check_str(m->u.ctl_query.target, SL_CTL_TARGET_MAX,
		    why) == -1 || check_str(m->u.ctl_query.user,
		    SL_CTL_USER_MAX, why) == -1 ? -1 : 0;
	case SL_MSG_CTL_ROW:
		return check_family(m->u.ctl_row.family, 0, why) == -1 ||
		    check_str(m->u.ctl_row.target, SL_CTL_TARGET_MAX,
		    why) == -1 || check_str(m->u.ctl_row.user,
		    SL_CTL_USER_MAX, why) == -1 ? -1 : 0;
	case SL_MSG_CTL_DONE:
		if (m->u.ctl_done.more > 1) {
			*why = "more is not 0 or 1";
			return -1;
		}
		return 0;
	case SL_MSG_CTL_ALLOW:
		if (m->u.ctl_allow.listener >= SL_MAX_LISTENERS ||
		    m->u.ctl_allow.n > SL_CTL_MAX_ALLOW) {
			*why = "allow list out of range";
			return -1;
		}
		for (i = 0; i < m->u.ctl_allow.n; i++)
			if (check_cidr(&m->u.ctl_allow.cidrs[i], 0, why) == -1)
				return -1;
		return 0;
	case SL_MSG_ACCESS:
		return check_family(m->u.access.family, 0, why) == -1 ||
		    check_str(m->u.access.front, SL_CTL_FRONT_MAX, why) == -1 ||
		    check_str(m->u.access.target, SL_CTL_TARGET_MAX,
		    why) == -1 ||
		    check_str(m->u.access.user, SL_CTL_USER_MAX, why) == -1 ||
		    check_str(m->u.access.outcome, SL_CTL_OUTCOME_MAX,
		    why) == -1 ||
		    check_str(m->u.access.detail, SL_CTL_DETAIL_MAX,
		    why) == -1 ? -1 : 0;
	}
	return 0;
}

static int
enc_str(msgpack_packer *pk, const char *s)
{
	size_t	n = strlen(s);

	if (msgpack_pack_str(pk, n) != 0)
		return -1;
	return msgpack_pack_str_body(pk, s, n);
}

/* An address of family 4 or 6 as bin; family 0 as an empty bin. */
static int
enc_addr(msgpack_packer *pk, uint8_t family, const uint8_t *addr)
{
	size_t	n = family == 4 ? 4 : family == 6 ? 16 : 0;

	return msgpack_pack_bin_with_body(pk, addr, n);
}

static int
enc_cidr(msgpack_packer *pk, const struct sl_ctl_cidr *c)
{
	if (msgpack_pack_array(pk, 3) != 0 ||
	    msgpack_pack_uint8(pk, c->family) != 0 ||
	    enc_addr(pk, c->family, c->addr) != 0)
		return -1;
	return msgpack_pack_uint8(pk, c->prefix);
}

static int
dec_cidr(const msgpack_object *o, struct sl_ctl_cidr *c, const char **why)
{
	const msgpack_object	*f;
	uint64_t		 family, prefix;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3) {
		*why = "CIDR is not an array of 3";
		return -1;
	}
	f = o->via.array.ptr;
	if (codec_get_uint(&f[0], 6, &family, why) == -1 ||
	    codec_get_uint(&f[2], 128, &prefix, why) == -1)
		return -1;
	if (family == 0) {
		if (f[1].type != MSGPACK_OBJECT_BIN || f[1].via.bin.size != 0) {
			*why = "address without a family";
			return -1;
		}
	} else if (codec_get_addr(&f[1], family, c->addr, why) == -1)
		return -1;
	c->family = (uint8_t)family;
	c->prefix = (uint8_t)prefix;
	return 0;
}

int
codec_enc_ctl_query(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint8(pk, m->u.ctl_query.op) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_query.after) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_query.max) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_query.serial) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_query.listener) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_query.link) != 0 ||
	    enc_cidr(pk, &m->u.ctl_query.client) != 0 ||
	    enc_str(pk, m->u.ctl_query.target) != 0)
		return -1;
	return enc_str(pk, m->u.ctl_query.user);
}

int
codec_dec_ctl_query(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	op, max, listener, link;

	if (codec_get_uint(&f[0], UINT8_MAX, &op, why) == -1 ||
	    codec_get_uint(&f[1], UINT64_MAX, &m->u.ctl_query.after,
	    why) == -1 ||
	    codec_get_uint(&f[2], UINT32_MAX, &max, why) == -1 ||
	    codec_get_uint(&f[3], UINT64_MAX, &m->u.ctl_query.serial,
	    why) == -1 ||
	    codec_get_uint(&f[4], UINT32_MAX, &listener, why) == -1 ||
	    codec_get_uint(&f[5], UINT32_MAX, &link, why) == -1 ||
	    dec_cidr(&f[6], &m->u.ctl_query.client, why) == -1 ||
	    codec_get_str(&f[7], m->u.ctl_query.target, SL_CTL_TARGET_MAX,
	    why) == -1 ||
	    codec_get_str(&f[8], m->u.ctl_query.user, SL_CTL_USER_MAX,
	    why) == -1)
		return -1;
	m->u.ctl_query.op = (uint8_t)op;
	m->u.ctl_query.max = (uint32_t)max;
	m->u.ctl_query.listener = (uint32_t)listener;
	m->u.ctl_query.link = (uint32_t)link;
	return 0;
}

int
codec_enc_ctl_row(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint64(pk, m->u.ctl_row.serial) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_row.listener) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_row.link) != 0 ||
	    msgpack_pack_uint8(pk, m->u.ctl_row.state) != 0 ||
	    msgpack_pack_uint8(pk, m->u.ctl_row.family) != 0 ||
	    enc_addr(pk, m->u.ctl_row.family, m->u.ctl_row.addr) != 0 ||
	    msgpack_pack_uint16(pk, m->u.ctl_row.port) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_row.up) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_row.down) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_row.age_ms) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_row.idle_ms) != 0 ||
	    enc_str(pk, m->u.ctl_row.target) != 0)
		return -1;
	return enc_str(pk, m->u.ctl_row.user);
}

int
codec_dec_ctl_row(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	listener, link, state, family, port;

	if (codec_get_uint(&f[0], UINT64_MAX, &m->u.ctl_row.serial,
	    why) == -1 ||
	    codec_get_uint(&f[1], UINT32_MAX, &listener, why) == -1 ||
	    codec_get_uint(&f[2], UINT32_MAX, &link, why) == -1 ||
	    codec_get_uint(&f[3], UINT8_MAX, &state, why) == -1 ||
	    codec_get_uint(&f[4], UINT8_MAX, &family, why) == -1 ||
	    codec_get_addr(&f[5], family, m->u.ctl_row.addr, why) == -1 ||
	    codec_get_uint(&f[6], UINT16_MAX, &port, why) == -1 ||
	    codec_get_uint(&f[7], UINT64_MAX, &m->u.ctl_row.up, why) == -1 ||
	    codec_get_uint(&f[8], UINT64_MAX, &m->u.ctl_row.down,
	    why) == -1 ||
	    codec_get_uint(&f[9], UINT64_MAX, &m->u.ctl_row.age_ms,
	    why) == -1 ||
	    codec_get_uint(&f[10], UINT64_MAX, &m->u.ctl_row.idle_ms,
	    why) == -1 ||
	    codec_get_str(&f[11], m->u.ctl_row.target, SL_CTL_TARGET_MAX,
	    why) == -1 ||
	    codec_get_str(&f[12], m->u.ctl_row.user, SL_CTL_USER_MAX,
	    why) == -1)
		return -1;
	m->u.ctl_row.listener = (uint32_t)listener;
	m->u.ctl_row.link = (uint32_t)link;
	m->u.ctl_row.state = (uint8_t)state;
	m->u.ctl_row.family = (uint8_t)family;
	m->u.ctl_row.port = (uint16_t)port;
	return 0;
}

int
codec_enc_ctl_done(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.ctl_done.matched) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_done.killed) != 0)
		return -1;
	return msgpack_pack_uint8(pk, m->u.ctl_done.more);
}

int
codec_dec_ctl_done(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	matched, killed, more;

	if (codec_get_uint(&f[0], UINT32_MAX, &matched, why) == -1 ||
	    codec_get_uint(&f[1], UINT32_MAX, &killed, why) == -1 ||
	    codec_get_uint(&f[2], 1, &more, why) == -1)
		return -1;
	m->u.ctl_done.matched = (uint32_t)matched;
	m->u.ctl_done.killed = (uint32_t)killed;
	m->u.ctl_done.more = (uint8_t)more;
	return 0;
}

int
codec_enc_ctl_allow(msgpack_packer *pk, const struct sl_msg *m)
{
	uint32_t	i;

	if (msgpack_pack_uint32(pk, m->u.ctl_allow.listener) != 0 ||
	    msgpack_pack_array(pk, m->u.ctl_allow.n) != 0)
		return -1;
	for (i = 0; i < m->u.ctl_allow.n; i++)
		if (enc_cidr(pk, &m->u.ctl_allow.cidrs[i]) != 0)
			return -1;
	return 0;
}

int
codec_dec_ctl_allow(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	listener;
	uint32_t	i;

	if (codec_get_uint(&f[0], UINT32_MAX, &listener, why) == -1)
		return -1;
	if (f[1].type != MSGPACK_OBJECT_ARRAY ||
	    f[1].via.array.size > SL_CTL_MAX_ALLOW) {
		*why = "allow list is not an array of at most 256";
		return -1;
	}
	for (i = 0; i < f[1].via.array.size; i++)
		if (dec_cidr(&f[1].via.array.ptr[i],
		    &m->u.ctl_allow.cidrs[i], why) == -1)
			return -1;
	m->u.ctl_allow.listener = (uint32_t)listener;
	m->u.ctl_allow.n = f[1].via.array.size;
	return 0;
}

int
codec_enc_access(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint64(pk, m->u.access.serial) != 0 ||
	    msgpack_pack_uint32(pk, m->u.access.listener) != 0 ||
	    msgpack_pack_uint32(pk, m->u.access.link) != 0 ||
	    msgpack_pack_uint8(pk, m->u.access.family) != 0 ||
	    enc_addr(pk, m->u.access.family, m->u.access.addr) != 0 ||
	    msgpack_pack_uint16(pk, m->u.access.port) != 0 ||
	    msgpack_pack_uint64(pk, m->u.access.up) != 0 ||
	    msgpack_pack_uint64(pk, m->u.access.down) != 0 ||
	    msgpack_pack_uint64(pk, m->u.access.ms) != 0 ||
	    enc_str(pk, m->u.access.front) != 0 ||
	    enc_str(pk, m->u.access.target) != 0 ||
	    enc_str(pk, m->u.access.user) != 0 ||
	    enc_str(pk, m->u.access.outcome) != 0)
		return -1;
	return enc_str(pk, m->u.access.detail);
}

int
codec_dec_access(struct sl_msg *m, const msgpack_object *f,
    const char **why)
{
	uint64_t	listener, link, family, port;

	if (codec_get_uint(&f[0], UINT64_MAX, &m->u.access.serial,
	    why) == -1 ||
	    codec_get_uint(&f[1], UINT32_MAX, &listener, why) == -1 ||
	    codec_get_uint(&f[2], UINT32_MAX, &link, why) == -1 ||
	    codec_get_uint(&f[3], UINT8_MAX, &family, why) == -1 ||
	    codec_get_addr(&f[4], family, m->u.access.addr, why) == -1 ||
	    codec_get_uint(&f[5], UINT16_MAX, &port, why) == -1 ||
	    codec_get_uint(&f[6], UINT64_MAX, &m->u.access.up, why) == -1 ||
	    codec_get_uint(&f[7], UINT64_MAX, &m->u.access.down,
	    why) == -1 ||
	    codec_get_uint(&f[8], UINT64_MAX, &m->u.access.ms, why) == -1 ||
	    codec_get_str(&f[9], m->u.access.front, SL_CTL_FRONT_MAX,
	    why) == -1 ||
	    codec_get_str(&f[10], m->u.access.target, SL_CTL_TARGET_MAX,
	    why) == -1 ||
	    codec_get_str(&f[11], m->u.access.user, SL_CTL_USER_MAX,
	    why) == -1 ||
	    codec_get_str(&f[12], m->u.access.outcome, SL_CTL_OUTCOME_MAX,
	    why) == -1 ||
	    codec_get_str(&f[13], m->u.access.detail, SL_CTL_DETAIL_MAX,
	    why) == -1)
		return -1;
	m->u.access.listener = (uint32_t)listener;
	m->u.access.link = (uint32_t)link;
	m->u.access.family = (uint8_t)family;
	m->u.access.port = (uint16_t)port;
	return 0;
}
