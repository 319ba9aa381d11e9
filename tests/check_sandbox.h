/*
 * Private header of the check_sandbox executable (the "sandbox" suite),
 * built from check_sandbox.c (fixtures, main), check_sandbox_worker.c
 * (worker and resolver allowlists), check_sandbox_registry.c (the
 * registry's allowlist), check_sandbox_filter.c (pfc export,
 * golden file, rule reasons) and check_sandbox_priv.c (privdir, privdrop,
 * master capabilities).
 */
#ifndef SL_TESTS_CHECK_SANDBOX_H
#define SL_TESTS_CHECK_SANDBOX_H

#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>		/* before <seccomp.h>: EV_NONE (platform.md) */
#include <seccomp.h>
#include <check.h>

#include "sl_build.h"
#include "../common/privdrop.h"
#include "../common/sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

typedef int (*body_fn)(void);

/* Fixtures made before lockdown, used by the bodies after it. */
struct sb_fixtures {
	int			epfd;		/* epoll_create1 */
	struct ev_loop		*loop;		/* ev_loop_new(EPOLL) */
	int			lsn;		/* TCP listener on 127.0.0.1 */
	struct sockaddr_in	lsn_addr;
	int			udp;		/* UDP socket on 127.0.0.1 */
	struct sockaddr_in	udp_addr;
	int			sp[2];		/* SEQPACKET pair for fd passing */
};

/* Shared fixtures, in check_sandbox.c. */
extern struct sb_fixtures		fx;
extern const struct sandbox_opts	worker_opts;
extern const int			sanitized;

void		 fixtures(void);
void		 load_worker(void);
void		 load_resolver(void);
int		 run_sandboxed(void (*)(void), body_fn);
void		 assert_exit0(int);
void		 assert_violation(int, const char *);
int		 wait_fd(int, uint32_t);

/* The worker's whole allowed path, in check_sandbox_worker.c. */
int		 body_worker_ok(void);

/* The suite's test cases, in the order check_sandbox.c adds them. */
TCase		*sandbox_worker_tcase(void);		/* _worker.c */
TCase		*sandbox_resolver_tcase(void);		/* _worker.c */
TCase		*sandbox_registry_tcase(void);		/* _registry.c */
TCase		*sandbox_tunnel_tcase(void);		/* _tunnel.c */
TCase		*sandbox_filter_tcase(void);		/* _filter.c */
TCase		*sandbox_privdir_tcase(void);		/* _priv.c */
TCase		*sandbox_privdrop_tcase(void);		/* _priv.c */
TCase		*sandbox_privdrop_sandbox_tcase(void);	/* _priv.c */

#endif
