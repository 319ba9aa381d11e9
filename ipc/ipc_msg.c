/*
 * The message spec table: for every type, who may send it, whether an fd
 * rides on it and how large its body may be.  ipc_frame_recv() checks a
 * frame against this table before a single body byte is decoded, so a
 * compromised child cannot reach a per-type decoder with a message it
 * is not allowed to send.
 *
 * max_body is the largest body the encoder in codec.c can produce for the
 * type (minimal msgpack encodings, worst-case values), rounded up a little.
 * The derivations are next to each entry; the table test in
 * tests/check_codec.c encodes a worst-case message of every type and
 * checks it fits.
 */
#include <stddef.h>

#include "ipc_msg.h"

/* fixarray / array16 */
#define SZ_ARRAY_HDR(n)	((n) < 16 ? 1 : 3)
#define SZ_UINT32	5			/* 0xce + 4 */
#define SZ_UINT64	9			/* 0xcf + 8 */
#define SZ_UINT8	2			/* 0xcc + 1 */
#define SZ_UINT16	3			/* 0xcd + 2 */
#define SZ_STR(n)	((n) < 32 ? 1 + (n) : (n) < 256 ? 2 + (n) : 3 + (n))
#define SZ_BIN(n)	(2 + (n))		/* bin8 */
#define SZ_BIN16(n)	(3 + (n))		/* bin16 */

/* [family, bin, prefix]: a CIDR of the control messages */
#define SZ_CIDR		(SZ_ARRAY_HDR(3) + SZ_UINT8 + SZ_BIN(16) + SZ_UINT8)

/* [code, agent, target, peer]: the body of every TUN_ message */
#define SZ_TUN		(SZ_ARRAY_HDR(4) + SZ_UINT32 + \
			    SZ_STR(SL_TUN_AGENT_MAX) + \
			    SZ_STR(SL_CTL_TARGET_MAX) + SZ_STR(SL_TUN_PEER_MAX))

/* [family, bin16] */
#define SZ_RES_ADDR	(SZ_ARRAY_HDR(2) + SZ_UINT8 + SZ_BIN(16))

const struct sl_msg_spec sl_msg_specs[SL_MSG_MAX] = {
	/* Never valid: from 0 means no sender is allowed. */
	[SL_MSG_NONE] = { "NONE", 0, SL_FD_FORBIDDEN, 0 },

	/* [generation, size] = 1 + 5 + 9 */
	[SL_MSG_CFG_CONF] = { "CFG_CONF", SL_FROM_MASTER, SL_FD_REQUIRED,
	    SZ_ARRAY_HDR(2) + SZ_UINT32 + SZ_UINT64 },
	/* [size, part, slot] = 1 + 9 + 5 + 5 */
	[SL_MSG_CFG_SHM] = { "CFG_SHM", SL_FROM_MASTER, SL_FD_REQUIRED,
	    SZ_ARRAY_HDR(3) + SZ_UINT64 + 2 * SZ_UINT32 },
	/* [index, role] = 1 + 5 + 2 */
	[SL_MSG_CFG_PEER] = { "CFG_PEER", SL_FROM_MASTER, SL_FD_REQUIRED,
	    SZ_ARRAY_HDR(2) + SZ_UINT32 + SZ_UINT8 },
	/* [index] = 1 + 5 */
	[SL_MSG_CFG_LISTENER] = { "CFG_LISTENER", SL_FROM_MASTER,
	    SL_FD_REQUIRED, SZ_ARRAY_HDR(1) + SZ_UINT32 },
	[SL_MSG_CFG_END] = { "CFG_END", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(0) },
	/* [level] = 1 + 5 */
	[SL_MSG_LOG_LEVEL] = { "LOG_LEVEL", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(1) + SZ_UINT32 },
	[SL_MSG_DRAIN] = { "DRAIN", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(0) },
	[SL_MSG_READY] = { "READY", SL_FROM_CHILDREN, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(0) },
	/* [level, text] = 1 + 5 + 3 + 1024 */
	[SL_MSG_LOG] = { "LOG", SL_FROM_CHILDREN, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(2) + SZ_UINT32 + SZ_STR(SL_LOG_MAX_TEXT) },
	/* [family, name] = 1 + 2 + 2 + 255 */
	[SL_MSG_RES_QUERY] = { "RES_QUERY", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(2) + SZ_UINT8 + SZ_STR(SL_MAX_NAME) },
	/* [status, ttl, [[family, addr] x 16]] = 1 + 2 + 5 + 3 + 16 * 21 */
	[SL_MSG_RES_ANSWER] = { "RES_ANSWER", SL_FROM_RESOLVER,
	    SL_FD_FORBIDDEN, SZ_ARRAY_HDR(3) + SZ_UINT8 + SZ_UINT32 +
	    SZ_ARRAY_HDR(SL_MAX_ADDRS) + SL_MAX_ADDRS * SZ_RES_ADDR },
	/* [link, family] = 1 + 5 + 2 */
	[SL_MSG_SOCK_REQ] = { "SOCK_REQ", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(2) + SZ_UINT32 + SZ_UINT8 },
	[SL_MSG_SOCK_FD] = { "SOCK_FD", SL_FROM_MASTER, SL_FD_REQUIRED,
	    SZ_ARRAY_HDR(0) },
	/* [err] = 1 + 5 */
	[SL_MSG_SOCK_FAIL] = { "SOCK_FAIL", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(1) + SZ_UINT32 },
	[SL_MSG_REDIS_SOCK] = { "REDIS_SOCK", SL_FROM_REGISTRY,
	    SL_FD_FORBIDDEN, SZ_ARRAY_HDR(0) },
	/* [size] = 1 + 9 */
	[SL_MSG_MEMFD_REQ] = { "MEMFD_REQ", SL_FROM_REGISTRY, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(1) + SZ_UINT64 },
	/*
	 * [generation, size, count] = 1 + 5 + 9 + 5.  The registry sends
	 * it to the master, the master to the workers; a worker's channel
	 * only ever has the master at its other end.
	 */
	[SL_MSG_SVC_TABLE] = { "SVC_TABLE", SL_FROM_MASTER | SL_FROM_REGISTRY,
	    SL_FD_REQUIRED, SZ_ARRAY_HDR(3) + SZ_UINT32 + SZ_UINT64 +
	    SZ_UINT32 },
	/*
	 * [listener, family, local, local_port, peer, peer_port]
	 * = 1 + 5 + 2 + 18 + 3 + 18 + 3
	 */
	[SL_MSG_TPROXY_REQ] = { "TPROXY_REQ", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(6) + SZ_UINT32 + SZ_UINT8 + 2 * (SZ_BIN(16) +
	    SZ_UINT16) },
	/* [file, ts_sec, ts_usec, packet] = 1 + 3 * 5 + 3 + 8000 */
	[SL_MSG_PCAP_REC] = { "PCAP_REC", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(4) + 3 * SZ_UINT32 + SZ_BIN16(SL_PCAP_MAX_PKT) },
	/*
	 * [op, after, max, serial, listener, link, client, target, user]
	 * = 1 + 2 + 9 + 5 + 9 + 5 + 5 + SZ_CIDR + str(263) + str(63)
	 */
	[SL_MSG_CTL_QUERY] = { "CTL_QUERY", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(9) + SZ_UINT8 + 2 * SZ_UINT64 + 3 * SZ_UINT32 +
	    SZ_CIDR + SZ_STR(SL_CTL_TARGET_MAX) + SZ_STR(SL_CTL_USER_MAX) },
	/*
	 * [serial, listener, link, state, family, addr, port, up, down,
	 * age, idle, target, user]
	 */
	[SL_MSG_CTL_ROW] = { "CTL_ROW", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(13) + 5 * SZ_UINT64 + 2 * SZ_UINT32 +
	    2 * SZ_UINT8 + SZ_BIN(16) + SZ_UINT16 +
	    SZ_STR(SL_CTL_TARGET_MAX) + SZ_STR(SL_CTL_USER_MAX) },
	/* [matched, killed, more] */
	[SL_MSG_CTL_DONE] = { "CTL_DONE", SL_FROM_WORKER | SL_FROM_TUNNEL,
	    SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(3) + 2 * SZ_UINT32 + SZ_UINT8 },
	/* [listener, [cidr x 256]] = 1 + 5 + 3 + 256 * 24 */
	[SL_MSG_CTL_ALLOW] = { "CTL_ALLOW", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(2) + SZ_UINT32 + SZ_ARRAY_HDR(SL_CTL_MAX_ALLOW) +
	    SL_CTL_MAX_ALLOW * SZ_CIDR },
	/*
	 * [serial, listener, link, family, addr, port, up, down, ms, front,
	 * target, user, outcome, detail]
	 */
	[SL_MSG_ACCESS] = { "ACCESS", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(14) + 4 * SZ_UINT64 + 2 * SZ_UINT32 + SZ_UINT8 +
	    SZ_BIN(16) + SZ_UINT16 + SZ_STR(SL_CTL_FRONT_MAX) +
	    SZ_STR(SL_CTL_TARGET_MAX) + SZ_STR(SL_CTL_USER_MAX) +
	    SZ_STR(SL_CTL_OUTCOME_MAX) + SZ_STR(SL_CTL_DETAIL_MAX) },
	/* [code, agent, target, peer] = 1 + 5 + 66 + 266 + 130, every TUN_ */
	[SL_MSG_TUN_OPEN] = { "TUN_OPEN", SL_FROM_WORKER, SL_FD_FORBIDDEN,
	    SZ_TUN },
	[SL_MSG_TUN_OPENED] = { "TUN_OPENED", SL_FROM_TUNNEL, SL_FD_REQUIRED,
	    SZ_TUN },
	[SL_MSG_TUN_OPEN_FAIL] = { "TUN_OPEN_FAIL", SL_FROM_TUNNEL,
	    SL_FD_FORBIDDEN, SZ_TUN },
	[SL_MSG_TUN_STREAM] = { "TUN_STREAM", SL_FROM_TUNNEL, SL_FD_REQUIRED,
	    SZ_TUN },
	[SL_MSG_TUN_STREAM_RESULT] = { "TUN_STREAM_RESULT", SL_FROM_WORKER,
	    SL_FD_FORBIDDEN, SZ_TUN },
	[SL_MSG_TUN_DIAL] = { "TUN_DIAL", SL_FROM_TUNNEL, SL_FD_FORBIDDEN,
	    SZ_TUN },
	[SL_MSG_TUN_DIALED] = { "TUN_DIALED", SL_FROM_WORKER, SL_FD_REQUIRED,
	    SZ_TUN },
	[SL_MSG_TUN_DIAL_FAIL] = { "TUN_DIAL_FAIL", SL_FROM_WORKER,
	    SL_FD_FORBIDDEN, SZ_TUN },
	[SL_MSG_TUN_RESET] = { "TUN_RESET", SL_FROM_TUNNEL, SL_FD_FORBIDDEN,
	    SZ_TUN },
	[SL_MSG_TUN_AGENT_UP] = { "TUN_AGENT_UP", SL_FROM_TUNNEL,
	    SL_FD_FORBIDDEN, SZ_TUN },
	[SL_MSG_CTL_AGENTS] = { "CTL_AGENTS", SL_FROM_MASTER, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(0) },
	/*
	 * [agent, peer, where, role, state, streams, age, in, out]
	 * = 1 + 66 + 130 + 266 + 2 + 2 + 5 + 3 * 9
	 */
	[SL_MSG_CTL_AGENT] = { "CTL_AGENT", SL_FROM_TUNNEL, SL_FD_FORBIDDEN,
	    SZ_ARRAY_HDR(9) + SZ_STR(SL_TUN_AGENT_MAX) +
	    SZ_STR(SL_TUN_PEER_MAX) + SZ_STR(SL_CTL_TARGET_MAX) +
	    2 * SZ_UINT8 + SZ_UINT32 + 3 * SZ_UINT64 },
};

_Static_assert(sizeof(struct sl_frame_hdr) + SZ_ARRAY_HDR(2) + SZ_UINT32 +
    SZ_ARRAY_HDR(SL_CTL_MAX_ALLOW) + SL_CTL_MAX_ALLOW * SZ_CIDR <=
    SL_IPC_MAX_FRAME, "a CTL_ALLOW of the longest list must fit a frame");

_Static_assert(sizeof(struct sl_frame_hdr) + SZ_ARRAY_HDR(4) +
    3 * SZ_UINT32 + SZ_BIN16(SL_PCAP_MAX_PKT) <= SL_IPC_MAX_FRAME,
    "a PCAP_REC of the largest packet must fit a frame");

_Static_assert(sizeof(struct sl_frame_hdr) == 12,
    "frame header must have no padding");

/*
 * Name of a message type for log lines.  type usually comes straight off
 * the wire, so it is range-checked here rather than by every caller.
 */
const char *
ipc_msg_name(unsigned type)
{
	if (type >= SL_MSG_MAX || sl_msg_specs[type].name == NULL)
		return "UNKNOWN";
	return sl_msg_specs[type].name;
}
