/*
 * State of the master process, shared by its files.
 */
#ifndef SL_MASTER_H
#define SL_MASTER_H

#include <sys/types.h>
#include <time.h>
#include <ev.h>
#include <limits.h>
#include <stdint.h>

#include "../common/sluice.h"
#include <cjson/cJSON.h>

#include "../ipc/chan.h"
#include "../ipc/ipc_msg.h"
#include "../policy/config.h"
#include "gen.h"
#include "proc_state.h"
#include "reqlimit.h"

#define SL_LOG_MAX_TEXT_STDERR	1024

struct proc_role;

/*
 * One row of the process table (proc.c): one confined child, or the slot
 * it is respawned into.  A row never changes role, pool, generation or
 * index; only its process, channel and state come and go.
 */
struct proc {
	const struct proc_role *desc;	/* the role's line in proc_roles[] */
	enum sl_proc_id	 role;
	uint32_t	 pool;		/* its tenant's, in ms->pools */
	uint32_t	 generation;	/* of the config it was started with */
	uint32_t	 index;		/* instance in role, pool, generation */
	pid_t		 pid;		/* 0 when not running */
	struct ipc_chan	*chan;
	enum proc_state	 state;
	int		 ready;		/* READY came from this process */
	ev_tstamp	 started;
	unsigned	 quick_deaths;	/* died soon after start, in a row */
	ev_timer	 respawn;
	ev_timer	 ready_timer;
	double		 log_tokens;	/* rate limit on forwarded lines */
	ev_tstamp	 log_last;
	uint64_t	 log_dropped;
	int		 errfd;		/* read end of the child's stderr */
	ev_io		 errio;
	char		 errbuf[SL_LOG_MAX_TEXT_STDERR];
	size_t		 errlen;
	char		 name[64];	/* "worker 2", "tenant a resolver" */
};

/*
 * Every row of every role, pool and generation: workers, resolver,
 * registry, for up to GEN_MAX_LIVE generations at once (a reload's new
 * one while older ones drain).
 */
#define PROC_MAX_ROWS	(GEN_MAX_LIVE * (SL_MAX_WORKERS + 2) * 2)

/* A listener's clients as changed at run time (`sluicectl allow`). */
struct allow_rt {
	int		 set;		/* differs from the config's */
	uint32_t	 n;
	struct sl_cidr	 v[SL_CTL_MAX_ALLOW];
};

/* The registry's newest service table (svctable.c), per pool. */
struct svc_state {
	int		 fd;		/* sealed memfd, -1: none yet */
	uint64_t	 size;
	uint32_t	 count;
	uint32_t	 generation;	/* the master's, per table */
	double		 sock_tokens;	/* REDIS_SOCK rate limit */
	ev_tstamp	 sock_last;
	ev_tstamp	 sock_logged;
};

/*
 * A tenant's pool of processes (the one implicit tenant without
 * "tenants"): its generations are in gen.c's table, by pool index.  A
 * reload that drops the tenant marks it removed; the slot is free again
 * when its last generation is gone.
 */
#define SL_MAX_POOLS	(SL_MAX_TENANTS * 2)
struct pool {
	int		 used;
	int		 removed;
	char		 name[SL_TENANT_NAME_MAX + 1];
	struct allow_rt	 allow[SL_MAX_LISTENERS];
	struct svc_state svc;
};

struct master {
	struct ev_loop	*loop;
	const char	*conf_path;
	char		 self_exe[PATH_MAX];
	/*
	 * The root config: its process-wide keys (control, logs, ...).
	 * Without "tenants" it is also what the one pool runs (parsed
	 * again into that pool's generation).
	 */
	struct sl_conf	*conf;
	struct pool	 pools[SL_MAX_POOLS];
	struct proc	 procs[PROC_MAX_ROWS];
	size_t		 nprocs;
	int		 stopping;
	int		 announced;	/* READY=1 went to systemd */
	int		 log_level;	/* now: the config's or `loglevel` */
	uint64_t	 reloads;	/* good ones */
	time_t		 started;	/* for status: kept here, as workers
					   can write the shared region */
	ev_timer	 stop_timer;
	ev_signal	 sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
	ev_child	 child_watch;
};

extern struct master *ms;

/*
 * conf_load.c: a config file, parsed and checked: the root config and
 * one generation per tenant (GEN_LOADED: its config, text, users' ids
 * and worker count; pool not set yet).
 */
struct conf_load {
	struct sl_conf	*root;
	struct gen	*gens[SL_MAX_TENANTS];
	size_t		 ngens;
};
/* 0, or -1 with err ("PATH: problem" as -t says it). */
int	master_config_load(const char *path, struct conf_load *, char *err,
	    size_t errlen);
void	master_config_unload(struct conf_load *);

/* master.c: "sluiced -c FILE" and its options; never returns an error. */
int	master_main(int argc, char *argv[]);
/* Drain and exit, as on SIGTERM. */
void	master_stop(void);

/* bindany.c: sockets the master makes for a child's request */
/* Per process row; reset when another process takes the row. */
struct sockans_row {
	pid_t		pid;
	struct reqlimit	lim;
	struct reqlog	refused;	/* over the limit, or not answered */
	struct reqlog	failed;		/* no socket made */
};
int	bindany_request(struct proc *, const struct sl_msg *);
/* c's row in rows[PROC_MAX_ROWS], reset for a new process. */
struct sockans_row *sockans_row(struct sockans_row *rows,
	    const struct proc *c);
/* 1 when c has read every frame sent to it. */
int	sockans_drained(const struct proc *c);
/* " (N more since the last line)", or "". */
const char *sockans_more(char *buf, size_t len, uint64_t n);
/* Send r to c (and close r's fd); a failure is logged, rate-limited. */
void	sockans_answer(struct proc *c, struct sockans_row *,
	    struct sl_msg *r);
/* tproxysock.c: TPROXY_REQ; -1 when the request itself is bogus. */
int	tproxy_request(struct proc *, const struct sl_msg *);

/* svctable.c: the registry's Redis sockets and service tables */
void	svc_pool_init(struct pool *);
void	svc_pool_free(struct pool *);
/* REDIS_SOCK from the registry; -1 when the request itself is bogus. */
int	svc_sock_request(struct proc *, const struct sl_msg *);
/* MEMFD_REQ from the registry; -1 when the request itself is bogus. */
int	svc_memfd_request(struct proc *, const struct sl_msg *);
/* SVC_TABLE from the registry (takes m->fd); -1 when it is bogus. */
int	svc_table_in(struct proc *, struct sl_msg *);
/* The newest table, if any, to one row. */
void	svc_table_send(struct proc *);

/* pcap.c: pcap taps' files */
/* Open each (truncated) and write its header; -1 with err. */
int	pcap_open_all(char *err, size_t errlen);
/* -t: the checks pcap_open_all() would fail, creating nothing. */
int	pcap_check_all(char *err, size_t errlen);
/* conf names the very capture files open now (a reload keeps them). */
int	pcap_same(const struct sl_conf *conf);
/* PCAP_REC from a worker; -1 when the message itself is bogus. */
int	pcap_record(struct proc *, const struct sl_msg *);

/* listen.c */
/* A starting generation's sockets: a live generation's where a
   listener stays (same address, same kind of socket), else new. */
int	listen_open_gen(struct gen *, char *err, size_t errlen);
void	listen_close_all(void);
/* Close g's sockets that no other generation holds; all become -1. */
void	listen_close_unused(struct gen *);

/* steer.c: new connections only to sockets a ready worker serves */
void	steer_update(void);

/* pool.c */
/* The pool named name, or -1. */
int	pool_find(const char *name);
/* A free pool slot for name (used, not removed), or -1. */
int	pool_add(const char *name);
/* Every current generation (in pool order) into out[]; their number. */
size_t	pool_currents(struct gen **out, size_t max);
/* More than the one implicit tenant, or one named by "tenants". */
int	pool_tenanted(void);

/* shm.c */
/* g's region and config memfd, named after its tenant; -1: errno. */
int	shm_gen_make(struct gen *g);
void	shm_gen_free(struct gen *g);
int	conf_memfd(const char *tenant, const char *text, size_t len);
void	shm_log_counters(void);

/* proc.c */
void	proc_init(void);
void	proc_start_all(void);
/* Shutdown: no more respawns; drain the first stop stage. */
void	proc_stop_all(void);
/* Drain the next stop stage once the one before is gone; rows running. */
size_t	proc_drain_step(void);
void	proc_kill_all(int sig);
size_t	proc_running(void);
void	proc_child_exited(pid_t pid, int status);
/* The pool's newest service table to its ready rows that take it. */
void	proc_table_broadcast(uint32_t pool);
/* Rows for every process of a generation; -1: the table is full. */
int	proc_add_rows(uint32_t pool, uint32_t generation);
void	proc_start_gen(uint32_t generation);
size_t	proc_gen_running(uint32_t generation);
void	proc_kill_gen(uint32_t generation, int sig);
/* Drain an older generation's next stage; its running rows. */
size_t	proc_drain_gen(uint32_t generation);
/* Its (dead) rows become free for another generation. */
void	proc_release_gen(uint32_t generation);
/* "worker", "resolver", "registry". */
const char *proc_role_name(const struct proc *);
/* ctl_cmds.c: every running child's log level; a listener's run-time
   clients to every worker of the current generation, or to one worker
   (as it starts) */
void	ctl_log_level_all(int level);
void	ctl_allow_all(uint32_t pool, uint32_t listener);
void	ctl_allow_to(struct proc *, uint32_t listener);
struct ctl_client;
/* ctl_allow.c: the "allow" command */
void	cmd_allow(struct ctl_client *, const cJSON *args);
/* ctl_cmds.c: the "tenant" argument to a pool (-1: all); -1 answered */
int	ctl_arg_tenant(struct ctl_client *, const cJSON *args, int *pool);

/* ctl_sessions.c: sessions listed and killed through the workers */
struct ctl_client;
void	ctl_sessions(struct ctl_client *, const cJSON *args);
void	ctl_kill(struct ctl_client *, const cJSON *args);
/* CTL_ROW and CTL_DONE from a worker; -1 when it is bogus. */
int	ctl_sessions_row(struct proc *, const struct sl_msg *);
int	ctl_sessions_done(struct proc *, const struct sl_msg *);
/* ctl_agents.c: `sluicectl agents`, from the tunnel processes */
void	cmd_agents(struct ctl_client *, const cJSON *args);
int	ctl_agents_row(struct proc *, const struct sl_msg *);
int	ctl_agents_done(struct proc *, const struct sl_msg *);
/* A worker row went away: its part of a query is skipped. */
void	ctl_sessions_gone(struct proc *);

/* reload.c */
/*
 * Read the config again and start what changed; client_id 0: SIGHUP;
 * tenant non-NULL: only that tenant's part of the file is applied.
 */
void	reload_request(uint64_t client_id, const char *tenant);
/* Every process of a starting generation is ready. */
void	reload_ready(void);
/* Ids above id only (start-up's generations took 1..id). */
void	reload_set_last_id(uint32_t id);
/* A process of a generation other than the current one exited. */
void	reload_row_gone(uint32_t generation);

/* proc_log.c: what a child says, on its channel or its stderr */
void	proc_log_init(struct proc *);
void	proc_log(struct proc *, const struct sl_msg *);
void	proc_stderr_watch(struct proc *, int fd);

#endif
