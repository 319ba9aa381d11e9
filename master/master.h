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
	uint32_t	 pool;		/* 0 until tenants add pools */
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
	char		 name[24];	/* "worker 2", "resolver" */
};

/*
 * Every row of every role, pool and generation: workers, resolver,
 * registry, for up to GEN_MAX_LIVE generations at once (a reload's new
 * one while older ones drain).
 */
#define GEN_MAX_LIVE	4
#define PROC_MAX_ROWS	(GEN_MAX_LIVE * (SL_MAX_WORKERS + 2))

/* A listener's clients as changed at run time (`sluicectl allow`). */
struct allow_rt {
	int		 set;		/* differs from the config's */
	uint32_t	 n;
	struct sl_cidr	 v[SL_CTL_MAX_ALLOW];
};

struct master {
	struct ev_loop	*loop;
	const char	*conf_path;
	char		 self_exe[PATH_MAX];
	struct sl_conf	*conf;
	char		*conf_text;
	size_t		 conf_len;
	uid_t		 uid;		/* conf->user: workers, registry */
	gid_t		 gid;
	uid_t		 resolver_uid;	/* conf->resolver_user */
	gid_t		 resolver_gid;
	uid_t		 registry_uid;	/* conf->registry_user */
	gid_t		 registry_gid;
	uint32_t	 nworkers;
	uint32_t	 generation;
	int		 conf_fd;
	int		 shm_fd;
	void		*shm;
	size_t		 shmsize;
	int		 lfds[SL_MAX_LISTENERS][SL_MAX_WORKERS];
	struct proc	 procs[PROC_MAX_ROWS];
	size_t		 nprocs;
	int		 stopping;
	int		 announced;	/* READY=1 went to systemd */
	int		 log_level;	/* now: the config's or `loglevel` */
	uint64_t	 reloads;	/* good ones */
	time_t		 started;	/* for status: kept here, as workers
					   can write the shared region */
	struct allow_rt	 allow[SL_MAX_LISTENERS];
	ev_timer	 stop_timer;
	ev_signal	 sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
	ev_child	 child_watch;
	/* svctable.c: the registry's newest service table, its sockets */
	int		 svc_fd;		/* sealed memfd, -1: none yet */
	uint64_t	 svc_size;
	uint32_t	 svc_count;
	uint32_t	 svc_generation;	/* the master's, per table */
	double		 svc_sock_tokens;	/* REDIS_SOCK rate limit */
	ev_tstamp	 svc_sock_last;
	ev_tstamp	 svc_sock_logged;
};

extern struct master *ms;

/* conf_load.c: a config file, parsed and checked, with its users' ids */
struct conf_load {
	struct sl_conf	*conf;
	char		*text;		/* JSON, for the children's memfd */
	size_t		 len;
	uid_t		 uid, resolver_uid, registry_uid;
	gid_t		 gid, resolver_gid, registry_gid;
	uint32_t	 nworkers;
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
void	svc_init(void);
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
int	listen_open_all(char *err, size_t errlen);
void	listen_close_all(void);
/* A reload's sockets: kept where a listener stays, else new. */
int	listen_reload(const struct sl_conf *, uint32_t nworkers,
	    int fds[SL_MAX_LISTENERS][SL_MAX_WORKERS], char *err,
	    size_t errlen);
/* Close fds' sockets that keep does not hold; all of fds become -1. */
void	listen_close_unused(int fds[SL_MAX_LISTENERS][SL_MAX_WORKERS],
	    int keep[SL_MAX_LISTENERS][SL_MAX_WORKERS]);

/* steer.c: new connections only to sockets a ready worker serves */
void	steer_update(void);

/* shm.c */
int	shm_create(void);
int	shm_make(uint32_t nworkers, uint32_t nlinks, int *fd, void **base,
	    size_t *size);
int	conf_memfd(const char *text, size_t len);
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
/* The newest service table to every ready row whose role takes it. */
void	proc_table_broadcast(void);
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
void	ctl_allow_all(uint32_t listener);
void	ctl_allow_to(struct proc *, uint32_t listener);

/* ctl_sessions.c: sessions listed and killed through the workers */
struct ctl_client;
void	ctl_sessions(struct ctl_client *, const cJSON *args);
void	ctl_kill(struct ctl_client *, const cJSON *args);
/* CTL_ROW and CTL_DONE from a worker; -1 when it is bogus. */
int	ctl_sessions_row(struct proc *, const struct sl_msg *);
int	ctl_sessions_done(struct proc *, const struct sl_msg *);
/* A worker row went away: its part of a query is skipped. */
void	ctl_sessions_gone(struct proc *);

/* reload.c */
/* Read the config again and start a generation; client_id 0: SIGHUP. */
void	reload_request(uint64_t client_id);
/* Every process of the starting generation is ready. */
void	reload_ready(void);
/* A process of a generation other than the current one exited. */
void	reload_row_gone(uint32_t generation);

/* proc_log.c: what a child says, on its channel or its stderr */
void	proc_log_init(struct proc *);
void	proc_log(struct proc *, const struct sl_msg *);
void	proc_stderr_watch(struct proc *, int fd);

#endif
