/*
 * What check_config_tunnel.c shares with check_config_secrets.c: the
 * documents' building blocks and the parse helpers.  Private to them.
 */
#ifndef CHECK_CONFIG_TUNNEL_H
#define CHECK_CONFIG_TUNNEL_H

#include <check.h>
#include <stddef.h>

#include "policy/config.h"

#define S16	"0123456789abcdef"		/* a 16-byte secret */
#define S20	"0123456789abcdefghij"
#define TL(agents)	"{'kind': 'tunnel', 'listen': '127.0.0.1:8443', " \
			    "'agents': [" agents "]}"
#define AG(n, s)	"{'name': '" n "', 'secret': '" s "'}"
#define SOCKS		"{'kind': 'socks5', 'listen': '127.0.0.1:1080'}"

/* ' into ": a document as the tests write it, as the loader reads it. */
char		*dq(const char *sq);
int		 try_parse(const char *sq, struct sl_conf **, char *err,
		    size_t errlen);
struct sl_conf	*must_parse(const char *sq);
void		 must_fail(const char *sq, const char *want);
/* check_config_secrets.c: secret_file inlined, secrets redacted */
TCase		*secrets_tcase(void);

#endif
