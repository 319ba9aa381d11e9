/*
 * SOCKS4 and SOCKS4a wire formats.
 *
 * Every byte handed to the parser comes from a client and is hostile.  As
 * in socks5_wire.c, a byte is looked at only after checking that len
 * covers it, a request is declared invalid as soon as the bytes seen
 * allow (a NUL-free USERID past 255 bytes, an empty HOST), so a client
 * cannot hold a session by dribbling a request already known to be bad,
 * and the caller's output is written only once the request is valid.
 *
 * SOCKS4 has no length prefixes: the strings end at a NUL.  Bounding both
 * strings to 255 bytes bounds the whole request to S4_MAX_MSG, which the
 * front-end checks fits the session's inline input buffer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "socks4_wire.h"

/*
 * A NUL-terminated string starting at buf[off] of at most max bytes
 * (without the NUL): its length, -2 when more bytes are needed, -1 when
 * max bytes arrived without a NUL.
 */
static ssize_t
cstr_len(const uint8_t *buf, size_t len, size_t off, size_t max)
{
	const uint8_t	*nul;
	size_t		 avail;

	if (len <= off)
		return -2;
	avail = len - off;
	if (avail > max + 1)
		avail = max + 1;
	nul = memchr(buf + off, '\0', avail);
	if (nul != NULL)
		return nul - (buf + off);
	return avail > max ? -1 : -2;
}

int
socks4_parse_request(const uint8_t *buf, size_t len,
    struct socks4_request *req)
{
	struct sockaddr_in	 sin;
	ssize_t			 ulen, hlen = 0;
	size_t			 hoff;
	int			 is4a;

	if (len < 1)
		return 0;
	if (buf[0] != S4_VERSION)
		return -1;
	if (len < S4_HDR)
		return 0;
	/* DSTIP 0.0.0.0 is neither an address nor the 4a marker. */
	if (buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0)
		return -1;
	is4a = buf[4] == 0 && buf[5] == 0 && buf[6] == 0;
	ulen = cstr_len(buf, len, S4_HDR, S4_MAX_USERID);
	if (ulen < 0)
		return ulen == -1 ? -1 : 0;
	hoff = S4_HDR + (size_t)ulen + 1;
	if (is4a) {
		hlen = cstr_len(buf, len, hoff, S4_MAX_HOST);
		if (hlen == 0 || hlen == -1)
			return -1;
		if (hlen < 0)
			return 0;
	}

	memset(req, 0, sizeof(*req));
	req->cmd = buf[1];
	req->is4a = is4a;
	if (is4a) {
		/* 1-255 bytes without NUL, checked above: cannot fail. */
		if (sl_target_set_name(&req->t, (const char *)buf + hoff,
		    (size_t)hlen, (uint16_t)((buf[2] << 8) | buf[3])) == -1)
			return -1;
		return (int)(hoff + (size_t)hlen + 1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_port, buf + 2, 2);
	memcpy(&sin.sin_addr, buf + 4, 4);
	sl_target_set_addr(&req->t, (const struct sockaddr *)&sin,
	    sizeof(sin));
	return (int)hoff;
}

size_t
socks4_build_reply(uint8_t *out, uint8_t cd, const struct sockaddr *bound)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)bound;

	memset(out, 0, S4_REPLY_LEN);
	out[0] = S4_REPLY_VERSION;
	out[1] = cd;
	/* SOCKS4 has no room for IPv6: a client gets 0.0.0.0:0 then. */
	if (cd == S4_REP_GRANTED && bound != NULL &&
	    bound->sa_family == AF_INET) {
		memcpy(out + 2, &sin->sin_port, 2);
		memcpy(out + 4, &sin->sin_addr, 4);
	}
	return S4_REPLY_LEN;
}
