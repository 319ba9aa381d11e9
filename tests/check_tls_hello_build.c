/*
 * check_tls_hello's ClientHello builder (check_tls_hello.h).
 */
#include <string.h>

#include "check_tls_hello.h"
#include "check_wire.h"

static void
put(struct hb *m, const void *p, size_t n)
{
	REQUIRE(m->n + n <= HB_CAP);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put8(struct hb *m, unsigned v)
{
	uint8_t	b = (uint8_t)v;

	put(m, &b, 1);
}

void
put16(struct hb *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

void
putv(struct hb *m, size_t at, size_t lb, size_t v)
{
	size_t	i;

	for (i = 0; i < lb; i++)
		m->b[at + i] = (uint8_t)(v >> (8 * (lb - 1 - i)));
}

/* Opens a vector with an lb-byte length; returns the length's offset. */
static size_t
vopen(struct hb *m, size_t lb)
{
	REQUIRE(m->depth < 8);
	m->open[m->depth] = m->n;
	m->lb[m->depth++] = lb;
	m->n += lb;
	return m->n - lb;
}

static void
vclose(struct hb *m)
{
	size_t	at = m->open[--m->depth], lb = m->lb[m->depth];

	putv(m, at, lb, m->n - at - lb);
}

static void
ext(struct hb *m, unsigned type)
{
	put16(m, type);
	vopen(m, 2);
	m->next++;
}

static void
ext_sni(struct hb *m, const struct hopt *o)
{
	size_t	n = o->snilen ? o->snilen : strlen(o->sni);

	m->sni_ext = m->n + 2;
	ext(m, 0);
	m->sni_list = vopen(m, 2);
	if (o->sni_other) {
		put8(m, 7);
		put16(m, 3);
		put(m, "xyz", 3);
	}
	put8(m, 0);
	m->sni_name = vopen(m, 2);
	put(m, o->sni, n);
	vclose(m);
	if (o->sni2 != NULL) {
		put8(m, 0);
		vopen(m, 2);
		put(m, o->sni2, strlen(o->sni2));
		vclose(m);
	}
	vclose(m);
	vclose(m);
}

static void
ext_alpn(struct hb *m, const struct hopt *o)
{
	static const char *const def[] = { "\x5a\x5a", "h2", "http/1.1" };
	const char *const	*names = o->alpn ? o->alpn : def;
	size_t			 i, n = o->alpn ? o->nalpn : 3;

	ext(m, 16);
	m->alpn_list = vopen(m, 2);
	for (i = 0; i < n; i++) {
		put8(m, (unsigned)strlen(names[i]));
		put(m, names[i], strlen(names[i]));
	}
	vclose(m);
	vclose(m);
}

/*
 * Extensions a current browser sends, GREASE included: type, length,
 * data.  extended_master_secret, renegotiation_info, supported_groups,
 * supported_versions, then key_share (GREASE, X25519).
 */
static void
exts_common(struct hb *m)
{
	static const char	fixed[] = "\x00\x17\x00\x00"
	    "\xff\x01\x00\x01\x00"
	    "\x00\x0a\x00\x08\x00\x06\x4a\x4a\x00\x1d\x00\x17"
	    "\x00\x2b\x00\x07\x06\x7a\x7a\x03\x04\x03\x03"
	    "\x00\x33\x00\x2b\x00\x29\x4a\x4a\x00\x01\x00"
	    "\x00\x1d\x00\x20";
	size_t			i;

	put(m, fixed, sizeof(fixed) - 1);
	for (i = 0; i < 32; i++)
		put8(m, (unsigned)(i * 7));
	m->next += 5;
}

/* Builds the handshake message (header included) into m. */
void
hello(struct hb *m, const struct hopt *o)
{
	static const uint16_t	 ciph[] = { 0x3a3a, 0x1301, 0x1302, 0x1303,
	    0xc02b, 0xc02f, 0x009c };
	size_t			 i;

	memset(m, 0, sizeof(*m));
	put8(m, 1);
	m->hslen = vopen(m, 3);
	put16(m, 0x0303);
	for (i = 0; i < 32; i++)
		put8(m, (unsigned)i);
	vopen(m, 1);
	for (i = 0; i < (size_t)(32 + o->dsid); i++)
		put8(m, 0xa0);
	vclose(m);
	vopen(m, 2);
	for (i = 0; i < (size_t)(14 + o->dciph); i++)
		put8(m, (unsigned)(ciph[(i / 2) % 7] >> (i % 2 ? 0 : 8)));
	vclose(m);
	vopen(m, 1);
	for (i = 0; i < (size_t)(1 + o->dcomp); i++)
		put8(m, 0);
	vclose(m);
	if (!o->noext) {
		m->extlen = vopen(m, 2);
		ext(m, 0x0a0a);	/* GREASE, empty */
		vclose(m);
		if (o->sni != NULL)
			ext_sni(m, o);
		exts_common(m);
		if (!o->no_alpn)
			ext_alpn(m, o);
		for (i = 0; i < o->extra; i++) {
			ext(m, 1000 + (unsigned)i);
			put8(m, (unsigned)i);
			vclose(m);
		}
		if (o->dup) {
			ext(m, 23);
			vclose(m);
		}
		ext(m, 0xfafa);	/* GREASE, one byte */
		put8(m, 0);
		vclose(m);
		if (o->pad > 0) {
			ext(m, 21);
			for (i = 0; i < o->pad; i++)
				put8(m, 0);
			vclose(m);
		}
		vclose(m);
	}
	vclose(m);
	REQUIRE(m->depth == 0);
}

/*
 * The handshake bytes in records, record i carrying sizes[i % nsizes]
 * bytes; returns the total length.  out needs room for it.
 */
size_t
wrap(const uint8_t *hs, size_t n, const size_t *sizes, size_t nsizes,
    uint8_t *out)
{
	size_t	o = 0, i, k;

	for (i = 0; n > 0; i++) {
		k = sizes[i % nsizes] < n ? sizes[i % nsizes] : n;
		out[o++] = 22;
		out[o++] = 3;
		out[o++] = i == 0 ? 1 : 3;
		out[o++] = (uint8_t)(k >> 8);
		out[o++] = (uint8_t)k;
		memcpy(out + o, hs, k);
		o += k;
		hs += k;
		n -= k;
	}
	return o;
}

size_t
wrap1(const struct hb *m, uint8_t *out)
{
	size_t	one = 16384;

	return wrap(m->b, m->n, &one, 1, out);
}
