/*
 * The reverse tunnels' messages between a worker and its pool's tunnel
 * process (TUN_*, ipc_msg.h): one body for all of them,
 *
 *	[code, agent, target, peer]
 *
 * with the strings a type does not use left empty.  Strings are checked
 * for what they may hold, not only for length: an agent name is the PSK
 * identity's alphabet, a target a "host:port" without spaces or
 * controls, a peer text printable.  Which fields a type must fill is the
 * receiver's business (tunnel/tunnel.c, worker/tunnel_peer.c).
 */
#include <string.h>

#include "codec_priv.h"

static int
tun_name_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
}

/* Printable ASCII; no space in a target. */
static int
tun_text_ok(const char *s, int space)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < (space ? 0x20 : 0x21) ||
		    (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int
codec_tun_check(const struct sl_msg *m, const char **why)
{
	if (m->u.tun.code > SL_TUN_CODE_MAX) {
		*why = "tunnel code out of range";
		return -1;
	}
	if (strnlen(m->u.tun.agent, sizeof(m->u.tun.agent)) >
	    SL_TUN_AGENT_MAX || !tun_name_ok(m->u.tun.agent)) {
		*why = "bad agent name";
		return -1;
	}
	if (strnlen(m->u.tun.target, sizeof(m->u.tun.target)) >
	    SL_CTL_TARGET_MAX || !tun_text_ok(m->u.tun.target, 0)) {
		*why = "bad tunnel target";
		return -1;
	}
	if (strnlen(m->u.tun.peer, sizeof(m->u.tun.peer)) >
	    SL_TUN_PEER_MAX || !tun_text_ok(m->u.tun.peer, 1)) {
		*why = "bad tunnel peer text";
		return -1;
	}
	return 0;
}

int
codec_enc_tun(msgpack_packer *pk, const struct sl_msg *m)
{
	if (msgpack_pack_uint32(pk, m->u.tun.code) != 0 ||
	    msgpack_pack_str_with_body(pk, m->u.tun.agent,
	    strlen(m->u.tun.agent)) != 0 ||
	    msgpack_pack_str_with_body(pk, m->u.tun.target,
	    strlen(m->u.tun.target)) != 0)
		return -1;
	return msgpack_pack_str_with_body(pk, m->u.tun.peer,
	    strlen(m->u.tun.peer));
}

int
codec_dec_tun(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v;

	if (codec_get_uint(&f[0], SL_TUN_CODE_MAX, &v, why) == -1)
		return -1;
	m->u.tun.code = (uint32_t)v;
	if (codec_get_str(&f[1], m->u.tun.agent, SL_TUN_AGENT_MAX, why) == -1 ||
	    codec_get_str(&f[2], m->u.tun.target, SL_CTL_TARGET_MAX,
	    why) == -1)
		return -1;
	return codec_get_str(&f[3], m->u.tun.peer, SL_TUN_PEER_MAX, why);
}

/* ---- CTL_AGENT: one tunnel connection for `sluicectl agents` ---- */

int
codec_agent_check(const struct sl_msg *m, const char **why)
{
	if (strnlen(m->u.ctl_agent.agent, sizeof(m->u.ctl_agent.agent)) >
	    SL_TUN_AGENT_MAX || !tun_name_ok(m->u.ctl_agent.agent)) {
		*why = "bad agent name";
		return -1;
	}
	if (strnlen(m->u.ctl_agent.peer, sizeof(m->u.ctl_agent.peer)) >
	    SL_TUN_PEER_MAX || !tun_text_ok(m->u.ctl_agent.peer, 1) ||
	    strnlen(m->u.ctl_agent.where, sizeof(m->u.ctl_agent.where)) >
	    SL_CTL_TARGET_MAX || !tun_text_ok(m->u.ctl_agent.where, 1)) {
		*why = "bad agent row text";
		return -1;
	}
	if (m->u.ctl_agent.role > 1 || m->u.ctl_agent.state > 2) {
		*why = "agent row role or state out of range";
		return -1;
	}
	return 0;
}

int
codec_enc_agent(msgpack_packer *pk, const struct sl_msg *m)
{
	const char	*s[3] = { m->u.ctl_agent.agent, m->u.ctl_agent.peer,
			    m->u.ctl_agent.where };
	size_t		 i;

	for (i = 0; i < 3; i++)
		if (msgpack_pack_str_with_body(pk, s[i], strlen(s[i])) != 0)
			return -1;
	if (msgpack_pack_uint8(pk, m->u.ctl_agent.role) != 0 ||
	    msgpack_pack_uint8(pk, m->u.ctl_agent.state) != 0 ||
	    msgpack_pack_uint32(pk, m->u.ctl_agent.streams) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_agent.age_ms) != 0 ||
	    msgpack_pack_uint64(pk, m->u.ctl_agent.bytes_in) != 0)
		return -1;
	return msgpack_pack_uint64(pk, m->u.ctl_agent.bytes_out);
}

int
codec_dec_agent(struct sl_msg *m, const msgpack_object *f, const char **why)
{
	uint64_t	v[6];
	size_t		i;

	if (codec_get_str(&f[0], m->u.ctl_agent.agent, SL_TUN_AGENT_MAX,
	    why) == -1 || codec_get_str(&f[1], m->u.ctl_agent.peer,
	    SL_TUN_PEER_MAX, why) == -1 || codec_get_str(&f[2],
	    m->u.ctl_agent.where, SL_CTL_TARGET_MAX, why) == -1)
		return -1;
	for (i = 0; i < 6; i++)
		if (codec_get_uint(&f[3 + i], i < 2 ? UINT8_MAX : i == 2 ?
		    UINT32_MAX : UINT64_MAX, &v[i], why) == -1)
			return -1;
	m->u.ctl_agent.role = (uint8_t)v[0];
	m->u.ctl_agent.state = (uint8_t)v[1];
	m->u.ctl_agent.streams = (uint32_t)v[2];
	m->u.ctl_agent.age_ms = v[3];
	m->u.ctl_agent.bytes_in = v[4];
	m->u.ctl_agent.bytes_out = v[5];
	return 0;
}
