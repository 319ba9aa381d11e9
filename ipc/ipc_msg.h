/*
 * Every IPC message sluice processes exchange, in one place.
 *
 * Channels are SOCK_SEQPACKET socketpairs made by the master: one
 * sendmsg() is one frame, so a passed fd is bound to the frame it rides
 * on and no reassembly state exists.  A frame is a struct sl_frame_hdr
 * followed by exactly hdr.len bytes of msgpack body.  The receiver checks
 * type, sender, fd presence and the per-type size cap from sl_msg_specs[]
 * before it decodes a byte of the body (msgpack-c will otherwise try to
 * allocate gigabytes for a 5-byte hostile array header).
 *
 * Bump SL_IPC_VERSION on ANY change to this file.
 */
#ifndef SL_IPC_MSG_H
#define SL_IPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/sluice.h"

#define SL_IPC_VERSION		10
#define SL_IPC_MAX_FRAME	8192	/* header + body, any type */
#define SL_LOG_MAX_TEXT		1024
/* A PCAP_REC's packet: a TCP segment of 7680 payload bytes over IPv6
   fits, and so does the frame (ipc_msg.c). */
#define SL_PCAP_MAX_PKT		8000
/* Every pcap tap of a config, an upper bound for the codec. */
#define SL_PCAP_MAX_FILES	(SL_MAX_LISTENERS * 16)

enum sl_msg_type {
	SL_MSG_NONE = 0,
	/* master -> child, during start-up, in this order */
	SL_MSG_CFG_CONF,	/* + fd: sealed memfd with the validated config */
	SL_MSG_CFG_SHM,		/* + fd: sealed memfd with the counters */
	SL_MSG_CFG_PEER,	/* + fd: a channel to a peer (worker <->
				   resolver, worker <-> tunnel); also at
				   run time when either end was respawned */
	SL_MSG_CFG_LISTENER,	/* + fd: one listening socket; repeated */
	SL_MSG_CFG_END,		/* nothing more; lock down and report READY */
	/* master -> child, at run time */
	SL_MSG_LOG_LEVEL,	/* change the log level */
	SL_MSG_DRAIN,		/* stop accepting, finish sessions, exit */
	/* child -> master */
	SL_MSG_READY,		/* confined and serving */
	SL_MSG_LOG,		/* one log line; children never print */
	/* worker -> resolver; frame id is the request id */
	SL_MSG_RES_QUERY,
	/* resolver -> worker; frame id echoes the request id */
	SL_MSG_RES_ANSWER,
	/*
	 * worker -> master: a socket only the master may make (bound to a
	 * link's interface); frame id is the request id.
	 */
	SL_MSG_SOCK_REQ,
	/* master -> worker, registry: + fd, the socket (or memfd) asked
	   for; id echoes */
	SL_MSG_SOCK_FD,
	/* master -> worker, registry: no socket; id echoes */
	SL_MSG_SOCK_FAIL,
	/*
	 * registry -> master: a socket connecting to the configured Redis
	 * address (the registry may not make sockets); frame id is the
	 * request id, answered by SOCK_FD or SOCK_FAIL.
	 */
	SL_MSG_REDIS_SOCK,
	/*
	 * registry -> master: an empty memfd of the given size for the next
	 * service table.  The registry's RLIMIT_FSIZE is 0 (privdrop), so
	 * it cannot write or grow a file: it fills the master's memfd
	 * through a shared mapping and seals it.  Frame id is the request
	 * id, answered by SOCK_FD or SOCK_FAIL.
	 */
	SL_MSG_MEMFD_REQ,
	/*
	 * registry -> master, master -> worker: + fd, a sealed memfd with
	 * the service table (JSON, worker/service.h).  The master checks
	 * the seals and the size, keeps the newest and forwards it to
	 * every ready worker, and to each worker that becomes ready.
	 */
	SL_MSG_SVC_TABLE,
	/*
	 * worker -> master: a UDP socket with IP_TRANSPARENT bound to a
	 * tproxy flow's original destination and connected to its client,
	 * for the replies (master/tproxysock.c); frame id is the request
	 * id, answered by SOCK_FD or SOCK_FAIL.
	 */
	SL_MSG_TPROXY_REQ,
	/*
	 * worker -> master: one packet a pcap tap made, for the master to
	 * append to that tap's file (master/pcap.c) behind a record header
	 * of its own; the worker cannot open files.
	 */
	SL_MSG_PCAP_REC,
	/*
	 * master -> worker: list or kill sessions for the control socket
	 * (master/control.c); frame id is the request id.  Answered by
	 * CTL_ROW frames (list), then one CTL_DONE.
	 */
	SL_MSG_CTL_QUERY,
	/* worker -> master: one session of a list; id echoes */
	SL_MSG_CTL_ROW,
	/* worker -> master: the end of an answer; id echoes */
	SL_MSG_CTL_DONE,
	/*
	 * master -> worker: a listener's `clients`, in full, as changed at
	 * run time (`sluicectl allow`); sent again to a worker that starts.
	 */
	SL_MSG_CTL_ALLOW,
	/* worker -> master: a session's access-log record */
	SL_MSG_ACCESS,
	/*
	 * Reverse tunnels, between a worker and its pool's tunnel process
	 * (tunnel/tunnel.c); all share one body, sl_msg.u.tun.
	 *
	 * Server side: a session routed to an agent link.
	 *   worker -> tunnel TUN_OPEN (id: request; agent, target): open a
	 *   stream through an agent of that name;
	 *   tunnel -> worker TUN_OPENED (id echoes; + fd, the stream: one
	 *   end of a socketpair; agent, peer: which connection) or
	 *   TUN_OPEN_FAIL (id echoes; code; peer: the connection's address,
	 *   or why when no agent answered).
	 * Agent side: a stream the server opened.
	 *   tunnel -> worker TUN_STREAM (id: the stream's key; + fd; agent,
	 *   target, peer): connect target, relay it over fd;
	 *   worker -> tunnel TUN_STREAM_RESULT (id echoes; code 0: connected,
	 *   else why not).
	 *   tunnel -> worker TUN_DIAL (id: request; target: the server): the
	 *   tunnel process makes no sockets; a worker dials it over links;
	 *   worker -> tunnel TUN_DIALED (id echoes; + fd, connected) or
	 *   TUN_DIAL_FAIL (id echoes; peer: why).
	 * Either side, once a stream is relaying:
	 *   tunnel -> worker TUN_RESET (id: the TUN_OPEN's or TUN_STREAM's
	 *   id; peer: why): the stream broke (the agent reset it, the tunnel
	 *   died); the worker fails its session visibly instead of taking
	 *   the socketpair's EOF for the end of the data.
	 *   tunnel -> worker TUN_AGENT_UP (agent): an agent of that name
	 *   (re)connected; its links' failures are forgotten.
	 */
	SL_MSG_TUN_OPEN,
	SL_MSG_TUN_OPENED,
	SL_MSG_TUN_OPEN_FAIL,
	SL_MSG_TUN_STREAM,
	SL_MSG_TUN_STREAM_RESULT,
	SL_MSG_TUN_DIAL,
	SL_MSG_TUN_DIALED,
	SL_MSG_TUN_DIAL_FAIL,
	SL_MSG_TUN_RESET,
	SL_MSG_TUN_AGENT_UP,
	/*
	 * master -> tunnel: list the tunnel connections (`sluicectl
	 * agents`); frame id is the request id.  Answered by CTL_AGENT
	 * frames, then one CTL_DONE.
	 */
	SL_MSG_CTL_AGENTS,
	/* tunnel -> master: one tunnel connection; id echoes */
	SL_MSG_CTL_AGENT,
	SL_MSG_MAX
};

/* CTL_QUERY operations */
enum sl_ctl_op {
	SL_CTL_LIST = 0,
	SL_CTL_KILL,
	SL_CTL_OP_MAX
};
#define SL_CTL_ANY		UINT32_MAX	/* listener, link: no filter */
#define SL_CTL_MAX_ROWS		256	/* rows per CTL_QUERY answer */
#define SL_CTL_MAX_ALLOW	256	/* a listener's clients at run time */
#define SL_CTL_USER_MAX		63	/* bytes of a user name */
#define SL_CTL_TARGET_MAX	(SL_MAX_NAME + 8)	/* "name:port" */
#define SL_CTL_OUTCOME_MAX	31
#define SL_CTL_DETAIL_MAX	383
#define SL_CTL_FRONT_MAX	15
#define SL_TUN_AGENT_MAX	64	/* an agent's name */
#define SL_TUN_PEER_MAX		127	/* "addr:port", or a reason */
/*
 * A TUN_ message's code is an enum sl_conn_err (0: OK), never a mux code:
 * the tunnel process alone knows the wire's codes and maps them.  On
 * TUN_OPEN_FAIL, SL_TUN_LINK_FAULT is or'ed in when the link is to blame
 * (no agent connected, the tunnel broke) rather than the target.
 */
#define SL_TUN_CODE_MAX		255
#define SL_TUN_LINK_FAULT	0x80
/* The TUN_ messages, first to last: one body, sockets may pass. */
#define SL_MSG_IS_TUN(t)	((t) >= SL_MSG_TUN_OPEN && \
				    (t) <= SL_MSG_TUN_AGENT_UP)

/* A client CIDR of a filter or an allow list; family 0: none. */
struct sl_ctl_cidr {
	uint8_t		family;		/* 0, 4 or 6 */
	uint8_t		addr[16];	/* network order */
	uint8_t		prefix;		/* <= 32 or 128 */
};

enum sl_fd_rule {
	SL_FD_FORBIDDEN = 0,
	SL_FD_REQUIRED,
};

struct sl_msg_spec {
	const char	*name;
	unsigned	 from;		/* SL_FROM_* mask of allowed senders */
	enum sl_fd_rule	 fd;
	uint32_t	 max_body;	/* body bytes, checked before decoding */
};

/* Frame header; both ends run the same binary, so host byte order. */
struct sl_frame_hdr {
	uint32_t	len;		/* msgpack body bytes that follow */
	uint16_t	type;		/* enum sl_msg_type */
	uint16_t	flags;		/* SL_FRAME_FD */
	uint32_t	id;		/* request id, 0 = none */
};
#define SL_FRAME_FD		0x0001

/* Resolver answer status. */
enum sl_res_status {
	SL_RES_OK = 0,
	SL_RES_NXDOMAIN,	/* name does not exist / no address */
	SL_RES_FAIL,		/* servers failed, refused, bogus answers */
	SL_RES_TIMEOUT,
	SL_RES_BADNAME,		/* not a valid host name */
	SL_RES_MAX
};

/*
 * A decoded message.  Payloads are fixed-size: decoding never allocates,
 * and every string is NUL-terminated and length-checked by the codec.
 */
struct sl_msg {
	uint16_t	type;
	uint32_t	id;
	int		fd;		/* -1 unless the spec requires one */
	union {
		struct {
			uint32_t generation;
			uint64_t size;		/* bytes of JSON in the memfd */
		} cfg_conf;
		struct {
			uint64_t size;		/* bytes of the mapping */
			uint32_t part;		/* enum sl_shm_part */
			uint32_t slot;		/* a worker part's slot */
		} cfg_shm;
		struct {
			uint32_t index;		/* worker slot at the other end */
			uint8_t	 role;		/* enum sl_proc_id there */
		} cfg_peer;
		struct {
			uint32_t index;		/* listener index in config */
		} cfg_listener;
		struct {
			uint32_t level;		/* enum sl_log_level */
		} log_level;
		struct {
			uint32_t level;
			char	 text[SL_LOG_MAX_TEXT + 1];
		} log;
		struct {
			uint8_t	 family;	/* 0 = any, 4, 6 */
			char	 name[SL_MAX_NAME + 1];
		} res_query;
		struct {
			uint32_t link;		/* direct link with interface */
			uint8_t	 family;	/* 4 or 6 */
		} sock_req;
		struct {
			uint32_t err;		/* errno */
		} sock_fail;
		/* Addresses in network order, 4 or 16 bytes used; ports
		   in host order, never 0. */
		struct {
			uint32_t listener;	/* SL_LISTEN_TPROXY_UDP */
			uint8_t	 family;	/* 4 or 6 */
			uint8_t	 local[16];	/* original destination */
			uint16_t local_port;
			uint8_t	 peer[16];	/* the client */
			uint16_t peer_port;
		} tproxy_req;
		struct {
			uint64_t size;		/* bytes, <= SL_MAX_CONF_BYTES */
		} memfd_req;
		struct {
			uint32_t file;		/* pcap tap's sl_tap.pcap_index */
			uint32_t ts_sec;	/* CLOCK_REALTIME */
			uint32_t ts_usec;	/* < 1000000 */
			uint32_t len;		/* 1..SL_PCAP_MAX_PKT */
			uint8_t	 pkt[SL_PCAP_MAX_PKT];	/* raw IPv4/IPv6 */
		} pcap_rec;
		struct {
			uint32_t generation;	/* increases per table */
			uint64_t size;		/* bytes of JSON in the memfd */
			uint32_t count;		/* services in it */
		} svc_table;
		/* Every filter given must match; kill takes what matches. */
		struct {
			uint8_t	 op;		/* enum sl_ctl_op */
			uint64_t after;		/* list: serials > after */
			uint32_t max;		/* list: <= SL_CTL_MAX_ROWS */
			uint64_t serial;	/* 0: any */
			uint32_t listener;	/* SL_CTL_ANY: any */
			uint32_t link;		/* SL_CTL_ANY: any */
			struct sl_ctl_cidr client;	/* family 0: any */
			char	 target[SL_CTL_TARGET_MAX + 1];	/* substring */
			char	 user[SL_CTL_USER_MAX + 1];	/* exact */
		} ctl_query;
		struct {
			uint64_t serial;	/* the worker's session id */
			uint32_t listener;
			uint32_t link;		/* SL_CTL_ANY: none yet */
			uint8_t	 state;		/* enum session_state */
			uint8_t	 family;	/* 4 or 6: the client */
			uint8_t	 addr[16];
			uint16_t port;
			uint64_t up, down;	/* bytes */
			uint64_t age_ms, idle_ms;
			char	 target[SL_CTL_TARGET_MAX + 1];
			char	 user[SL_CTL_USER_MAX + 1];
		} ctl_row;
		struct {
			uint32_t matched;	/* sessions the filter took */
			uint32_t killed;
			uint8_t	 more;		/* list: rows left past max */
		} ctl_done;
		struct {
			uint32_t listener;
			uint32_t n;		/* <= SL_CTL_MAX_ALLOW; 0: all */
			struct sl_ctl_cidr cidrs[SL_CTL_MAX_ALLOW];
		} ctl_allow;
		struct {
			uint64_t serial;
			uint32_t listener;
			uint32_t link;		/* SL_CTL_ANY: none */
			uint8_t	 family;	/* 4 or 6: the client */
			uint8_t	 addr[16];
			uint16_t port;
			uint64_t up, down;	/* bytes */
			uint64_t ms;		/* the session's life */
			char	 front[SL_CTL_FRONT_MAX + 1];
			char	 target[SL_CTL_TARGET_MAX + 1];
			char	 user[SL_CTL_USER_MAX + 1];
			char	 outcome[SL_CTL_OUTCOME_MAX + 1];
			char	 detail[SL_CTL_DETAIL_MAX + 1];
		} access;
		struct {
			char	 agent[SL_TUN_AGENT_MAX + 1];	/* "" before
							   it is known */
			char	 peer[SL_TUN_PEER_MAX + 1];
			char	 where[SL_CTL_TARGET_MAX + 1];	/* listener
							   or server */
			uint8_t	 role;		/* 0 server end, 1 agent end */
			uint8_t	 state;		/* 0 handshake, 1 up, 2 going
						   away */
			uint32_t streams;
			uint64_t age_ms, bytes_in, bytes_out;
		} ctl_agent;
		struct {
			uint32_t code;		/* <= SL_TUN_CODE_MAX */
			char	 agent[SL_TUN_AGENT_MAX + 1];
			char	 target[SL_CTL_TARGET_MAX + 1];
			char	 peer[SL_TUN_PEER_MAX + 1];
		} tun;
		struct {
			uint8_t	 status;	/* enum sl_res_status */
			uint32_t ttl;		/* seconds the answer may be kept */
			uint32_t naddrs;
			struct sl_res_addr addrs[SL_MAX_ADDRS];
		} res_answer;
	} u;
};

/* ipc_msg.c */
extern const struct sl_msg_spec sl_msg_specs[SL_MSG_MAX];
const char	*ipc_msg_name(unsigned type);

#endif
