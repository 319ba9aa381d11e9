/*
 * slbench: what its files share.  Private to bench/slbench*.c; see
 * slbench.c for the commands.
 */
#ifndef SLBENCH_H
#define SLBENCH_H

#include <sys/types.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK		(256 * 1024)	/* bulk read/write size */
#define MAX_BURST	16		/* bulk calls per event, for fairness */
#define MAX_EVENTS	512
#define MAX_PROCS	4096		/* Dante: ~370 for 9,500 sessions */
#define REQ_SIZE	32		/* cps request == response size */
#define REQ_MAX		256		/* the largest cps -b */
#define CONN_TIMEOUT	10.0		/* per connection, seconds */

extern volatile sig_atomic_t	stop_flag;
extern char			bulk[CHUNK];

/* Process accounting: CPU time and memory of a process tree */

struct proctree {
	pid_t	pids[MAX_PROCS];
	char	names[MAX_PROCS][20];
	int	n;
};

struct memsnap {
	long	pss, rss;		/* KiB, sums */
	int	nprocs;
	long	slab_kib;		/* /proc/meminfo Slab, whole machine */
	long	tcp_mem_kib;		/* /proc/net/sockstat TCP mem */
};

/* CPU of the client itself, the proxy tree, the server, the machine. */
struct cpuwin {
	struct proctree	proxy;
	pid_t		server;
	double		t0, self0, proxy0, server0, busy0, sirq0;
	double		secs, self, proxy_cpu, server_cpu, busy, sirq, other;
};

/* Client connections: connect, optional SOCKS5 handshake */

enum cstate {
	C_FREE = 0,
	C_CONNECTING,
	C_GREETING,		/* method selection sent */
	C_REQUEST,		/* CONNECT sent */
	C_READY,		/* tunnel (or direct connection) up */
	C_WAITRESP,		/* cps: request sent */
	C_PUMP,			/* tput: moving bulk data */
	C_WAITCOUNT,		/* tput up: half-closed, waiting for count */
	C_HELD,			/* hold: idle */
	C_DONE,
	C_FAILED,
};

struct cconn {
	int		 fd;
	enum cstate	 st;
	uint8_t		 buf[REQ_MAX];
	size_t		 have, need;
	double		 t_start, t_ready;
	uint64_t	 bytes;		/* tput: moved in the window */
	uint64_t	 count;		/* tput up: server's count */
	int		 err;		/* errno or -(socks reply code) */
	const char	*why;
};

struct client {
	int			 ep;
	int			 use_proxy;
	struct sockaddr_in	 proxy, target;
	char			 host[256];	/* $SLBENCH_HOST: CONNECT by
						   this name, not the address */
	size_t			 hostlen;
};

/* Common options */

struct opts {
	const char	*proxy, *target, *label, *portfile;
	long		 n, conc, port;
	long		 reqsize;	/* cps -b: request bytes, 0 REQ_SIZE */
	double		 secs, settle;
	int		 down, pdeath, echo_once;
	pid_t		 master, server;
};

/* slbench.c */
void	die(const char *, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
double	now(void);
void	sleep_s(double);
long	nofile_limit(void);
void	parse_addr(const char *, struct sockaddr_in *);
int	start_connect(const struct sockaddr_in *);
void	ep_set(int ep, int op, int fd, uint32_t events, void *ptr);
void	parse_opts(int, char **, struct opts *);

/* slbench_proc.c */
void	mem_snapshot(pid_t master, struct memsnap *, const char *label,
	    int verbose);
void	cpuwin_start(struct cpuwin *, pid_t master, pid_t server);
void	cpuwin_end(struct cpuwin *);
void	cpuwin_print(const struct cpuwin *);
void	cpuwin_result(const struct cpuwin *);

/* slbench_client.c */
void	cc_fail(struct client *, struct cconn *, const char *why, int err);
int	cc_start(struct client *, struct cconn *);
int	cc_read_exact(struct client *, struct cconn *);
int	cc_send_small(struct client *, struct cconn *, const void *, size_t);
int	cc_handshake(struct client *, struct cconn *, uint32_t events);
void	client_init(struct client *, const char *proxy, const char *target);
const char *cc_errstr(const struct cconn *, char *, size_t);
void	cc_first_err(const struct cconn *, char *, size_t);
int	cmd_probe(int, char **);

/* slbench_server.c */
int	cmd_server(int, char **);

/* slbench_load.c */
int	cmd_tput(int, char **);
int	cmd_cps(int, char **);

/* slbench_hold.c */
int	cmd_hold(int, char **);
int	cmd_mem(int, char **);

#endif
