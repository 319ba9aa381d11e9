/*
 * Private header of the check_config executable (the "config" suite),
 * built from check_config.c (shared helpers, main),
 * check_config_valid.c (documents that load), check_config_tcproute.c
 * (TcpRoute documents), check_config_errors.c (rejected documents and
 * their messages) and check_config_limits.c (via chains, size limits).
 */
#ifndef SL_TESTS_CHECK_CONFIG_H
#define SL_TESTS_CHECK_CONFIG_H

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "policy/config.h"

/* A growing string for documents too big to write out. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

/* Shared helpers, in check_config.c. */
int		 try_parse(const char *, struct sl_conf **, char *, size_t);
struct sl_conf	*must_parse(const char *);
void		 must_fail(const char *, const char *);
void		 add(struct buf *, const char *);
void		 add_repeat(struct buf *, const char *, size_t);
void		 check_addr(const struct sockaddr_storage *, socklen_t, int,
		    const char *, uint16_t);
void		 check_cidr(const struct sl_cidr *, int, const char *, int);
int		 re_matches(pcre2_code *, const char *);
void		 check_defaults(const struct sl_conf *);
void		 check_direct_default(const struct sl_link *, const char *);

/* The suite's test cases, in the order check_config.c adds them. */
TCase		*config_valid_tcase(void);	/* check_config_valid.c */
TCase		*config_tcproute_tcase(void);	/* check_config_tcproute.c */
TCase		*config_errors_tcase(void);	/* check_config_errors.c */
TCase		*config_links_tcase(void);	/* check_config_limits.c */
TCase		*config_limits_tcase(void);	/* check_config_limits.c */
TCase		*config_services_tcase(void);	/* check_config_services.c */
TCase		*config_tenants_tcase(void);	/* check_config_tenants.c */

#endif
