/*
 * The TLS ClientHello, read for routing: see tls_hello.h.
 *
 * Two passes over the buffer.  The first walks the record headers
 * (RFC 8446 section 5.1) until the records hold the whole handshake
 * message, deciding MORE, NOT_TLS or BAD from headers alone and proving
 * that every byte the second pass will touch is in the buffer.  The
 * second reads the ClientHello (RFC 8446 section 4.1.2) through a cursor
 * that steps over record headers, so a hello fragmented into many tiny
 * records needs no reassembly copy and no large stack buffer.
 *
 * Every vector is read inside its parent's bounds (the cursor's end),
 * and must end exactly where its parent does: a length that lies is
 * BAD, never an over-read.
 */
#include <string.h>

#include "tls_hello.h"

#define REC_HDR			5	/* type, version(2), length(2) */
#define REC_MAX			16384	/* 2^14, RFC 8446 section 5.1 */
#define CT_HANDSHAKE		22
#define HS_HDR			4	/* msg_type, uint24 length */
#define HS_CLIENT_HELLO		1
#define EXT_SERVER_NAME		0
#define EXT_ALPN		16
#define SNI_HOST_NAME		0
/*
 * Real clients send about twenty extensions (GREASE and padding
 * included); the cap bounds the duplicate check, which is quadratic.
 */
#define TLS_EXT_MAX		64

#define FAIL(h, rc, msg)	((h)->why = (msg), (rc))

/* Reads the handshake message across record boundaries. */
struct cur {
	const uint8_t	*buf;
	size_t		 pos;	/* buffer offset of the next byte */
	size_t		 rleft;	/* payload bytes left in pos's record */
	size_t		 off;	/* handshake offset of the next byte */
	size_t		 end;	/* handshake offset the open vector ends at */
};

static size_t
be16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA. */
static int
is_grease(size_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/*
 * Why a first byte that is not 22 came: an SSLv2 CLIENT-HELLO has a
 * two-byte length with the top bit set, then msg_type 1 and a version
 * 0x0002 or 0x03xx.  Judged on the bytes there are: the verdict (not
 * TLS) is the same either way, only the reason differs.
 */
static const char *
not_tls_why(const uint8_t *buf, size_t len)
{
	if (buf[0] < 0x80 || (len > 2 && buf[2] != 1) ||
	    (len > 3 && buf[3] != 0 && buf[3] != 3) ||
	    (len > 1 && (be16(buf) & 0x7fff) < 9))
		return "not a TLS handshake record";
	return "SSLv2 hello";
}

/*
 * The record header at p, as far as the buffer holds it.  A wrong type
 * or major version on the first record means some other protocol; on a
 * later one it means TLS that lies.
 */
static enum tls_hello_rc
record_header(const uint8_t *buf, size_t len, size_t p,
    struct tls_hello *h, size_t *rlen)
{
	size_t	avail = len - p;

	if (avail >= 1 && buf[p] != CT_HANDSHAKE) {
		if (p == 0)
			return FAIL(h, TLS_HELLO_NOT_TLS, not_tls_why(buf, len));
		return FAIL(h, TLS_HELLO_BAD, "record not handshake");
	}
	if (avail >= 2 && buf[p + 1] != 3)
		return FAIL(h, p == 0 ? TLS_HELLO_NOT_TLS : TLS_HELLO_BAD,
		    "record version not 3.x");
	if (avail >= 3 && buf[p + 2] > 4)
		return FAIL(h, TLS_HELLO_BAD, "bad record version");
	if (avail < REC_HDR) {
		/* A record holds at least one byte. */
		if (p + REC_HDR + 1 > TLS_HELLO_MAX)
			return FAIL(h, TLS_HELLO_BAD, "hello too long");
		return TLS_HELLO_MORE;
	}
	*rlen = be16(buf + p + 3);
	if (*rlen == 0 || *rlen > REC_MAX)
		return FAIL(h, TLS_HELLO_BAD, "bad record length");
	if (p + REC_HDR + *rlen > TLS_HELLO_MAX)
		return FAIL(h, TLS_HELLO_BAD, "hello too long");
	return TLS_HELLO_OK;
}

/*
 * Walks the records until they hold the whole handshake message; sets
 * *total (handshake bytes, header included) and h->len.  MORE only while
 * the bytes still needed could fit in TLS_HELLO_MAX.
 */
static enum tls_hello_rc
find_hello(const uint8_t *buf, size_t len, struct tls_hello *h,
    size_t *total)
{
	uint8_t			hdr[HS_HDR];
	size_t			p = 0, got = 0, need = HS_HDR, rlen = 0;
	size_t			i, rend;
	enum tls_hello_rc	rc;

	for (;;) {
		if ((rc = record_header(buf, len, p, h, &rlen)) !=
		    TLS_HELLO_OK)
			return rc;
		rend = p + REC_HDR + rlen;
		/* The handshake header itself may be split over records. */
		for (i = p + REC_HDR; got < HS_HDR && i < rend; i++) {
			if (i >= len)
				return TLS_HELLO_MORE;
			hdr[got++] = buf[i];
			if (got == 1 && hdr[0] != HS_CLIENT_HELLO)
				return FAIL(h, TLS_HELLO_BAD,
				    "not a client hello");
			if (got == HS_HDR)
				need = HS_HDR + ((size_t)hdr[1] << 16 |
				    be16(hdr + 2));
		}
		got += rend - i;
		/* Lower bound: the rest in one more record. */
		if (got < need && rend + REC_HDR + (need - got) >
		    TLS_HELLO_MAX)
			return FAIL(h, TLS_HELLO_BAD, "hello too long");
		if (rend > len)
			return TLS_HELLO_MORE;
		if (got >= need) {
			/* Bytes after the hello in its record ride along. */
			*total = need;
			h->len = rend;
			return TLS_HELLO_OK;
		}
		p = rend;
	}
}

/* Moves n bytes on (copying them to dst if not NULL); n is in bounds. */
static void
cur_move(struct cur *c, size_t n, uint8_t *dst)
{
	size_t	k;

	while (n > 0) {
		if (c->rleft == 0) {
			/* find_hello checked this header and its payload. */
			c->rleft = be16(c->buf + c->pos + 3);
			c->pos += REC_HDR;
		}
		k = n < c->rleft ? n : c->rleft;
		if (dst != NULL) {
			memcpy(dst, c->buf + c->pos, k);
			dst += k;
		}
		c->pos += k;
		c->rleft -= k;
		c->off += k;
		n -= k;
	}
}

/* n bytes from inside the open vector, or -1. */
static int
cur_get(struct cur *c, size_t n, uint8_t *dst)
{
	if (n > c->end - c->off)
		return -1;
	cur_move(c, n, dst);
	return 0;
}

/* A big-endian integer of n (1..3) bytes, or -1. */
static int
cur_int(struct cur *c, size_t n, size_t *v)
{
	uint8_t	b[3];
	size_t	i;

	if (cur_get(c, n, b) == -1)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/*
 * A vector's length of lbytes bytes, checked against min..max and the
 * bytes its parent has left.  Returns the length or -1.
 */
static long
cur_vec(struct cur *c, size_t lbytes, size_t min, size_t max)
{
	size_t	n;

	if (cur_int(c, lbytes, &n) == -1 || n < min || n > max ||
	    n > c->end - c->off)
		return -1;
	return (long)n;
}

/*
 * A DNS host name, RFC 1123 labels (and '_', which internal names use),
 * in place: one trailing dot dropped, lower-cased.  NULL if valid.
 */
static const char *
check_host(char *s, size_t n)
{
	size_t	i, label = 0;
	int	digits = 1;
	char	c;

	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0 || n > 253)
		return "bad server name length";
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return "bad server name label";
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			s[i] = c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return "bad character in server name";
		if ((c == '-' && label == 0) || ++label > 63)
			return "bad server name label";
		if (c < '0' || c > '9')
			digits = 0;
	}
	if (label == 0 || s[n - 1] == '-')
		return "bad server name label";
	if (digits)
		return "IP address as server name";
	return NULL;
}

/* server_name, RFC 6066 section 3: the first host_name entry wins. */
static enum tls_hello_rc
parse_sni(struct cur *c, struct tls_hello *h)
{
	size_t		 type, n;
	long		 list;
	const char	*why;
	int		 found = 0;

	if ((list = cur_vec(c, 2, 1, 0xffff)) == -1 ||
	    (size_t)list != c->end - c->off)
		return FAIL(h, TLS_HELLO_BAD, "bad server_name list");
	while (c->off < c->end) {
		/* Every name_type's data starts with a 16-bit length. */
		if (cur_int(c, 1, &type) == -1 || cur_int(c, 2, &n) == -1 ||
		    n > c->end - c->off)
			return FAIL(h, TLS_HELLO_BAD, "bad server_name entry");
		if (type != SNI_HOST_NAME || found) {
			cur_move(c, n, NULL);
			continue;
		}
		if (n == 0 || n > 254)	/* 253 and a trailing dot */
			return FAIL(h, TLS_HELLO_BAD, "bad server name length");
		cur_move(c, n, (uint8_t *)h->sni);
		h->sni[n] = '\0';
		if ((why = check_host(h->sni, n)) != NULL) {
			h->sni[0] = '\0';
			return FAIL(h, TLS_HELLO_BAD, why);
		}
		found = 1;
	}
	return TLS_HELLO_OK;
}

/* ALPN, RFC 7301 section 3.1: names kept in order, GREASE skipped. */
static enum tls_hello_rc
parse_alpn(struct cur *c, struct tls_hello *h)
{
	uint8_t	name[TLS_ALPN_NAME];
	long	list, n;

	if ((list = cur_vec(c, 2, 2, 0xffff)) == -1 ||
	    (size_t)list != c->end - c->off)
		return FAIL(h, TLS_HELLO_BAD, "bad ALPN list");
	while (c->off < c->end) {
		if ((n = cur_vec(c, 1, 1, TLS_ALPN_NAME)) == -1)
			return FAIL(h, TLS_HELLO_BAD, "bad ALPN name");
		cur_move(c, (size_t)n, name);
		if (memchr(name, '\0', (size_t)n) != NULL)
			return FAIL(h, TLS_HELLO_BAD, "NUL in ALPN name");
		if ((n == 2 && is_grease(be16(name))) ||
		    h->nalpn == TLS_ALPN_MAX)
			continue;
		memcpy(h->alpn[h->nalpn], name, (size_t)n);
		h->alpn[h->nalpn++][n] = '\0';
	}
	return TLS_HELLO_OK;
}

/*
 * The extensions block, which ends where the handshake does.  A type
 * twice is BAD (RFC 8446 section 4.2); GREASE types are not checked,
 * as they carry nothing.
 */
static enum tls_hello_rc
parse_exts(struct cur *c, struct tls_hello *h)
{
	uint16_t		seen[TLS_EXT_MAX];
	size_t			nseen = 0, count = 0, type, i, end = c->end;
	long			n;
	enum tls_hello_rc	rc;

	while (c->off < end) {
		if (++count > TLS_EXT_MAX)
			return FAIL(h, TLS_HELLO_BAD, "too many extensions");
		if (cur_int(c, 2, &type) == -1 ||
		    (n = cur_vec(c, 2, 0, 0xffff)) == -1)
			return FAIL(h, TLS_HELLO_BAD, "extension overruns");
		if (!is_grease(type)) {
			for (i = 0; i < nseen; i++)
				if (seen[i] == type)
					return FAIL(h, TLS_HELLO_BAD,
					    "duplicate extension");
			seen[nseen++] = (uint16_t)type;
		}
		c->end = c->off + (size_t)n;
		rc = TLS_HELLO_OK;
		if (type == EXT_SERVER_NAME)
			rc = parse_sni(c, h);
		else if (type == EXT_ALPN)
			rc = parse_alpn(c, h);
		else
			cur_move(c, (size_t)n, NULL);
		if (rc != TLS_HELLO_OK)
			return rc;
		/* parse_sni and parse_alpn consume their extension whole. */
		c->end = end;
	}
	return TLS_HELLO_OK;
}

/* ClientHello, RFC 8446 section 4.1.2, from after the handshake header. */
static enum tls_hello_rc
parse_body(struct cur *c, struct tls_hello *h)
{
	size_t	v;
	long	n;

	if (cur_int(c, 2, &v) == -1 || cur_get(c, 32, NULL) == -1)
		return FAIL(h, TLS_HELLO_BAD, "short client hello");
	h->version = (uint16_t)v;
	if (v >> 8 != 3)
		return FAIL(h, TLS_HELLO_BAD, "client version not 3.x");
	if ((n = cur_vec(c, 1, 0, 32)) == -1)
		return FAIL(h, TLS_HELLO_BAD, "bad session id");
	cur_move(c, (size_t)n, NULL);
	if ((n = cur_vec(c, 2, 2, 0xfffe)) == -1 || n % 2 != 0)
		return FAIL(h, TLS_HELLO_BAD, "bad cipher suites");
	cur_move(c, (size_t)n, NULL);
	if ((n = cur_vec(c, 1, 1, 0xff)) == -1)
		return FAIL(h, TLS_HELLO_BAD, "bad compression methods");
	cur_move(c, (size_t)n, NULL);
	/* SSLv3-era hellos may stop here: no extensions, no name. */
	if (c->off == c->end)
		return TLS_HELLO_OK;
	if ((n = cur_vec(c, 2, 0, 0xffff)) == -1)
		return FAIL(h, TLS_HELLO_BAD, "extensions overrun");
	if ((size_t)n != c->end - c->off)
		return FAIL(h, TLS_HELLO_BAD, "bytes after extensions");
	return parse_exts(c, h);
}

enum tls_hello_rc
tls_hello_parse(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	struct cur		c;
	size_t			total = 0;
	enum tls_hello_rc	rc;

	h->sni[0] = '\0';
	h->nalpn = 0;
	h->version = 0;
	h->len = 0;
	h->why = NULL;
	if ((rc = find_hello(buf, len, h, &total)) != TLS_HELLO_OK)
		return rc;
	c.buf = buf;
	c.pos = 0;
	c.rleft = 0;
	c.off = 0;
	c.end = total;
	cur_move(&c, HS_HDR, NULL);
	if ((rc = parse_body(&c, h)) != TLS_HELLO_OK) {
		h->sni[0] = '\0';
		h->nalpn = 0;
		h->len = 0;
	}
	return rc;
}

void
tls_alert(uint8_t out[TLS_ALERT_LEN], uint8_t description)
{
	out[0] = 21;		/* alert */
	out[1] = 3;		/* legacy_record_version 0x0303 */
	out[2] = 3;
	out[3] = 0;
	out[4] = 2;
	out[5] = 2;		/* fatal */
	out[6] = description;
}
