/*
 * Private header of the check_codec executable (the "ipc" suite), built
 * from check_codec.c (shared fixtures, spec table, random loop, main),
 * check_codec_body.c (msgpack bodies), check_codec_frame.c (frames and
 * fd passing) and check_codec_chan.c (the libev channel).
 */
#ifndef SL_TESTS_CHECK_CODEC_H
#define SL_TESTS_CHECK_CODEC_H

#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <check.h>
#include <msgpack.h>

#include "common/log.h"
#include "ipc/chan.h"
#include "ipc/codec.h"

#define HDRSZ		sizeof(struct sl_frame_hdr)

/* Shared fixtures, in check_codec.c. */
void		 fill(struct sl_msg *, unsigned, int);
/* check_codec_ctl.c: fill() of the control and access messages */
void		 fill_ctl(struct sl_msg *, unsigned, int);
Suite		*ctl_suite(void);
void		 assert_same(const struct sl_msg *, const struct sl_msg *);
int		 lowest_free_fd(void);
int		 count_fds(void);
void		 seqpair(int [2]);
size_t		 mkframe(char *, uint32_t, unsigned, unsigned, uint32_t,
		    const void *, size_t);

/* A fixed buffer for hand-made msgpack bodies (check_codec.c). */
struct tb {
	char	buf[16384];
	size_t	len;
};
void		 tb_init(struct tb *, msgpack_packer *);
void		 tb_raw(struct tb *, const char *, size_t);
/* Decode t as type; NULL on success, the reason otherwise. */
const char	*dec_why(unsigned type, const struct tb *t);

#define BAD_BODY(type, t) do {						\
	const char *w_ = dec_why((type), (t));				\
	ck_assert_msg(w_ != NULL, "%s body accepted (line %d)",		\
	    ipc_msg_name(type), __LINE__);				\
} while (0)

#define BAD_BODY_WHY(type, t, frag) do {				\
	const char *w_ = dec_why((type), (t));				\
	ck_assert_msg(w_ != NULL, "%s body accepted (line %d)",		\
	    ipc_msg_name(type), __LINE__);				\
	ck_assert_msg(strstr(w_, (frag)) != NULL,			\
	    "why \"%s\" lacks \"%s\" (line %d)", w_, (frag), __LINE__);	\
} while (0)

/* The suite's test cases, in the order check_codec.c adds them. */
TCase		*codec_body_tcase(void);	/* check_codec_body.c */
TCase		*codec_req_tcase(void);		/* check_codec_req.c */
TCase		*codec_frame_tcase(void);	/* check_codec_frame.c */
TCase		*codec_chan_tcase(void);	/* check_codec_chan.c */

#endif
