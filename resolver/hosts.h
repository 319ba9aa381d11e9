/*
 * The hosts file, read once before the resolver locks itself down (it
 * cannot open files afterwards).  "localhost" always resolves to the
 * loopback addresses, as RFC 6761 asks, even without a hosts file.
 */
#ifndef SL_HOSTS_H
#define SL_HOSTS_H

#include <stddef.h>

#include "../ipc/ipc_msg.h"

#define HOSTS_MAX_ENTRIES	4096
#define HOSTS_MAX_BYTES		(1024 * 1024)

struct hosts_entry {
	char			name[SL_MAX_NAME + 1];	/* lower case */
	struct sl_res_addr	addr;
};

struct hosts_table {
	struct hosts_entry	*e;
	size_t			 n;
};

/* hosts.c */
/* Parse hosts(5) text; unreadable lines are skipped.  Never fails. */
void	hosts_parse(struct hosts_table *, const char *text, size_t len);
void	hosts_load(struct hosts_table *, const char *path);
size_t	hosts_lookup(const struct hosts_table *, const char *name,
	    struct sl_res_addr *out, size_t cap);
void	hosts_free(struct hosts_table *);
/* 0 if name is a syntactically valid host name (lower-cased in place). */
int	hostname_check(char *name);

#endif
