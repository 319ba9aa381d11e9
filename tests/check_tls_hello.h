/*
 * check_tls_hello's ClientHello builder (check_tls_hello_build.c): a
 * browser-like hello written byte by byte, with the offsets of its
 * length fields kept so tests can make them lie.
 */
#ifndef SL_CHECK_TLS_HELLO_H
#define SL_CHECK_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define EXT_CAP		64	/* TLS_EXT_MAX in tls_hello.c */
#define HB_CAP		40000

/* A handshake message under construction, with the offsets tests patch. */
struct hb {
	uint8_t	b[HB_CAP];
	size_t	n;
	size_t	open[8];	/* length fields of the open vectors */
	size_t	lb[8];		/* and their sizes in bytes */
	int	depth;
	size_t	next;		/* extensions written */
	/* offsets of length fields */
	size_t	hslen, extlen, sni_ext, sni_list, sni_name, alpn_list;
};

/* What a hello holds; zero is the default. */
struct hopt {
	const char	*sni;		/* NULL: no server_name */
	size_t		 snilen;	/* 0: strlen(sni) */
	const char	*sni2;		/* a second host_name entry */
	int		 sni_other;	/* unknown name_type first */
	/* Bytes more than the default 32, 14 and 1 (negative: fewer). */
	int		 dsid, dciph, dcomp;
	int		 noext;		/* stop after compression */
	const char	*const *alpn;	/* NULL: GREASE, h2, http/1.1 */
	size_t		 nalpn;
	int		 no_alpn;
	size_t		 extra;		/* filler extensions */
	size_t		 pad;		/* padding extension bytes */
	int		 dup;		/* one type twice */
};

/* Append a 16-bit value; overwrite the lb-byte length field at `at`. */
void	put16(struct hb *m, unsigned v);
void	putv(struct hb *m, size_t at, size_t lb, size_t v);
/* The ClientHello handshake message o describes, into m. */
void	hello(struct hb *m, const struct hopt *o);
/* The handshake in records of sizes[i % nsizes] bytes; its length. */
size_t	wrap(const uint8_t *hs, size_t n, const size_t *sizes,
	    size_t nsizes, uint8_t *out);
/* The same in one record. */
size_t	wrap1(const struct hb *m, uint8_t *out);

#endif
