/*
 * What tests/check_tls_psk.c (an agent and a server in one process) and
 * tests/check_tls_psk_raw.c (a hand-built OpenSSL client against our
 * server) share.
 */
#ifndef SL_CHECK_TLS_PSK_H
#define SL_CHECK_TLS_PSK_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel/tls_psk.h"

#define SECRET		"correct horse battery staple"
#define WIRE_CAP	(256 * 1024)

/* Everything one side sent, in the order sent. */
struct wire {
	uint8_t	b[WIRE_CAP];
	size_t	n;
};

/* Server-side secret lookups since the counter was last zeroed. */
extern int	lookups;
/* What the server sends for a bad binder: a fatal illegal_parameter. */
extern const uint8_t	refusal[7];

void	record(struct wire *, const uint8_t *, size_t);
struct tun_tls *client(const char *name, const char *secret);
struct tun_tls *server(void);
/* Move bytes both ways until neither side has any; cw/sw record them. */
void	shuttle(struct tun_tls *c, struct tun_tls *s, struct wire *cw,
	    struct wire *sw);
void	feed_all(struct tun_tls *, const uint8_t *, size_t);

/* check_tls_psk_raw.c: early data, suites and groups, bad names. */
TCase	*tls_psk_raw_tcase(void);

#endif
