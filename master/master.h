/*
 * State of the master process, shared by its files.
 */
#ifndef SL_MASTER_H
#define SL_MASTER_H

#include <sys/types.h>
#include <ev.h>
#include <limits.h>
#include <stdint.h>

#include "../common/sluice.h"
#include "../ipc/chan.h"
#include "../policy/config.h"

#define SL_LOG_MAX_TEXT_STDERR	1024

struct child {
	enum sl_proc_id	 role;
	uint32_t	 index;
	pid_t		 pid;		/* 0 when not running */
	struct ipc_chan	*chan;
	int		 ready;
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

struct master {
	struct ev_loop	*loop;
	const char	*conf_path;
	char		 self_exe[PATH_MAX];
	struct sl_conf	*conf;
	char		*conf_text;
	size_t		 conf_len;
	uid_t		 uid;
	gid_t		 gid;
	uint32_t	 nworkers;
	uint32_t	 generation;
	int		 conf_fd;
	int		 shm_fd;
	void		*shm;
	size_t		 shmsize;
	int		 lfds[SL_MAX_LISTENERS][SL_MAX_WORKERS];
	struct child	 workers[SL_MAX_WORKERS];
	struct child	 resolver;
	int		 stopping;
	ev_timer	 stop_timer;
	ev_signal	 sig_term, sig_int, sig_hup, sig_usr1;
	ev_child	 child_watch;
};

extern struct master *ms;

/* master.c: "sluiced -c FILE" and its options; never returns an error. */
int	master_main(int argc, char *argv[]);

/* bindany.c */
int	bindany_request(struct child *, const struct sl_msg *);

/* listen.c */
int	listen_open_all(char *err, size_t errlen);
void	listen_close_all(void);

/* shm.c */
int	shm_create(void);
int	conf_memfd(const char *text, size_t len);
void	shm_log_counters(void);

/* proc.c */
void	proc_init(void);
void	proc_start_all(void);
void	proc_stop_all(void);
void	proc_kill_all(int sig);
int	proc_running(void);
void	proc_child_exited(pid_t pid, int status);

#endif
