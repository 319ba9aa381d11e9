/*
 * What codec.c shares with the per-family codec files (codec_ctl.c):
 * the field readers and the control messages' encoders, decoders and
 * checks.  Private to ipc/.
 */
#ifndef SL_CODEC_PRIV_H
#define SL_CODEC_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "ipc_msg.h"

/* Field readers: -1 with *why on anything but the expected value. */
int	codec_get_uint(const msgpack_object *, uint64_t max, uint64_t *,
	    const char **why);
/* A msgpack str of at most max bytes into dst[max + 1]. */
int	codec_get_str(const msgpack_object *, char *dst, size_t max,
	    const char **why);
/* bin of 4 bytes for family 4, 16 for family 6. */
int	codec_get_addr(const msgpack_object *, uint64_t family, uint8_t *dst,
	    const char **why);

/* codec_ctl.c */
int	codec_ctl_check(unsigned type, const struct sl_msg *, const char **);
int	codec_enc_ctl_query(msgpack_packer *, const struct sl_msg *);
int	codec_dec_ctl_query(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_ctl_row(msgpack_packer *, const struct sl_msg *);
int	codec_dec_ctl_row(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_ctl_done(msgpack_packer *, const struct sl_msg *);
int	codec_dec_ctl_done(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_ctl_allow(msgpack_packer *, const struct sl_msg *);
int	codec_dec_ctl_allow(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_access(msgpack_packer *, const struct sl_msg *);
int	codec_dec_access(struct sl_msg *, const msgpack_object *,
	    const char **);

/* codec_req.c: a child's requests of the master, and pcap records */
int	codec_enc_sock_req(msgpack_packer *, const struct sl_msg *);
int	codec_dec_sock_req(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_sock_fail(msgpack_packer *, const struct sl_msg *);
int	codec_dec_sock_fail(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_memfd_req(msgpack_packer *, const struct sl_msg *);
int	codec_dec_memfd_req(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_svc_table(msgpack_packer *, const struct sl_msg *);
int	codec_dec_svc_table(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_tproxy_req(msgpack_packer *, const struct sl_msg *);
int	codec_dec_tproxy_req(struct sl_msg *, const msgpack_object *,
	    const char **);
int	codec_enc_pcap_rec(msgpack_packer *, const struct sl_msg *);
int	codec_dec_pcap_rec(struct sl_msg *, const msgpack_object *,
	    const char **);

/* codec_tun.c: the body every TUN_ message shares */
int	codec_tun_check(const struct sl_msg *, const char **);
int	codec_enc_tun(msgpack_packer *, const struct sl_msg *);
int	codec_dec_tun(struct sl_msg *, const msgpack_object *, const char **);
/* codec_tun.c: a row of `sluicectl agents` (CTL_AGENT) */
int	codec_agent_check(const struct sl_msg *, const char **);
int	codec_enc_agent(msgpack_packer *, const struct sl_msg *);
int	codec_dec_agent(struct sl_msg *, const msgpack_object *,
	    const char **);

#endif
