/*
 * sluiced: the master process, and the entry point of every role.
 *
 * The master is the only privileged process.  It reads and validates the
 * configuration, binds the listeners, makes the shared region and the
 * channels, starts the confined children (fork + execve of itself with a
 * hidden -P role argument), keeps only the capabilities it still needs,
 * and then supervises: respawn with backoff, signals, shutdown.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl_build.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "caps.h"
#include "../policy/services.h"
#include "accesslog.h"
#include "control.h"
#include "master.h"
#include "notify.h"
#include "scripts.h"

struct master *ms;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: sluiced [-htV] -c file\n"
	    "  -c file  configuration (JSON; tcprouter's TOML if *.toml);\n"
	    "           default $SLUICE_CONFIG\n"
	    "  -t       check the configuration and exit\n"
	    "  -h       this help\n"
	    "  -V       print the version\n");
	exit(status);
}

/* Load, validate, resolve the users.  Exits 1 with the problem. */
static void
master_load_config(void)
{
	struct conf_load	 cl;
	char			 err[512];

	if (master_config_load(ms->conf_path, &cl, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: %s\n", ms->conf_path, err);
		exit(1);
	}
	ms->conf = cl.conf;
	ms->conf_text = cl.text;
	ms->conf_len = cl.len;
	ms->uid = cl.uid;
	ms->gid = cl.gid;
	ms->resolver_uid = cl.resolver_uid;
	ms->resolver_gid = cl.resolver_gid;
	ms->registry_uid = cl.registry_uid;
	ms->registry_gid = cl.registry_gid;
	ms->nworkers = cl.nworkers;
}

/*
 * -t: the start-up checks that change nothing and need no binding.  The
 * users were looked up by master_load_config(); here the chroot directory
 * gets the very check start-up gives it (privdir_prepare() writes only
 * when the directory is missing).  A missing one start-up would create,
 * so -t then only checks that its parent is a directory.  Not checked:
 * that sluiced runs as root (-t is useful to anyone) and the listeners,
 * which only a bind can tell.
 */
static void
master_check_only(void)
{
	struct stat	 st;
	char		 err[512], parent[sizeof(ms->conf->chroot)], *slash;
	const char	*dir = ms->conf->chroot;
	int		 e;

	if (lstat(dir, &st) == -1 && errno == ENOENT) {
		/* Start-up would make it: its parents must be safe all the same. */
		if (privdir_parents(dir, err, sizeof(err)) == -1) {
			fprintf(stderr, "sluiced: %s: chroot: %s\n",
			    ms->conf_path, err);
			exit(1);
		}
		snprintf(parent, sizeof(parent), "%s", dir);
		if ((slash = strrchr(parent, '/')) != NULL)
			slash[slash == parent] = '\0';
		/* What mkdir(2) at start-up would say. */
		e = stat(parent, &st) == -1 ? errno : !S_ISDIR(st.st_mode) ?
		    ENOTDIR : 0;
		if (e != 0) {
			fprintf(stderr, "sluiced: %s: chroot: mkdir %s: %s\n",
			    ms->conf_path, dir, strerror(e));
			exit(1);
		}
	} else if (privdir_prepare(dir, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: chroot: %s\n", ms->conf_path,
		    err);
		exit(1);
	}
	if (pcap_check_all(err, sizeof(err)) == -1 ||
	    accesslog_check(ms->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: %s\n", ms->conf_path, err);
		exit(1);
	}
	printf("sluiced: %s: configuration OK\n", ms->conf_path);
}

/* While stopping: drain the next stage, or leave once nothing runs. */
static void
master_check_done(void)
{
	if (!ms->stopping || proc_drain_step() > 0)
		return;
	control_close();
	log_info("all children gone, exiting");
	exit(0);
}

static void
master_sigchld(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	proc_child_exited(w->rpid, w->rstatus);
	master_check_done();
}

static void
master_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_warnx("shutdown_timeout (%u s) reached, killing what is left",
	    ms->conf->shutdown_timeout_s);
	proc_kill_all(SIGKILL);
}

void
master_stop(void)
{
	notify_stopping();
	ms->stopping = 1;
	control_close();
	listen_close_all();
	proc_stop_all();
	ev_timer_init(&ms->stop_timer, master_stop_timeout,
	    (double)ms->conf->shutdown_timeout_s, 0.);
	ev_timer_start(ms->loop, &ms->stop_timer);
	master_check_done();
}

static void
master_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	if (ms->stopping) {
		log_info("signal %d again: killing children now", w->signum);
		proc_kill_all(SIGKILL);
		return;
	}
	log_info("signal %d: draining sessions for up to %u s", w->signum,
	    ms->conf->shutdown_timeout_s);
	master_stop();
}

static void
master_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	reload_request(0);
}

static void
master_sigusr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	shm_log_counters();
}

/* SIGUSR2: the access log again, after logrotate moved it away. */
static void
master_sigusr2(struct ev_loop *loop, ev_signal *w, int revents)
{
	char	err[256];

	(void)loop;
	(void)w;
	(void)revents;
	if (accesslog_reopen(err, sizeof(err)) == -1)
		log_warnx("SIGUSR2: %s", err);
}

static void
master_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&ms->sig_term, master_sigterm, SIGTERM);
	ev_signal_init(&ms->sig_int, master_sigterm, SIGINT);
	ev_signal_init(&ms->sig_hup, master_sighup, SIGHUP);
	ev_signal_init(&ms->sig_usr1, master_sigusr1, SIGUSR1);
	ev_signal_init(&ms->sig_usr2, master_sigusr2, SIGUSR2);
	ev_signal_start(ms->loop, &ms->sig_term);
	ev_signal_start(ms->loop, &ms->sig_int);
	ev_signal_start(ms->loop, &ms->sig_hup);
	ev_signal_start(ms->loop, &ms->sig_usr1);
	ev_signal_start(ms->loop, &ms->sig_usr2);
	ev_child_init(&ms->child_watch, master_sigchld, 0, 0);
	ev_child_start(ms->loop, &ms->child_watch);
}

static void
master_setup(void)
{
	char	err[512];
	ssize_t	n;

	if (geteuid() != 0) {
		fprintf(stderr, "sluiced: must be started as root (it confines "
		    "its children with chroot and a uid change)\n");
		exit(1);
	}
	n = readlink("/proc/self/exe", ms->self_exe, sizeof(ms->self_exe) - 1);
	if (n <= 0)
		fatal("%s: readlink /proc/self/exe", __func__);
	ms->self_exe[n] = '\0';
	if (privdir_prepare(ms->conf->chroot, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: chroot: %s\n", ms->conf_path, err);
		exit(1);
	}
	if (listen_open_all(err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s\n", err);
		exit(1);
	}
	if (pcap_open_all(err, sizeof(err)) == -1 ||
	    accesslog_open(ms->conf, err, sizeof(err)) == -1 ||
	    control_open(ms->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: %s\n", ms->conf_path, err);
		exit(1);
	}
	if (shm_create() == -1)
		fatal("%s: shared counters", __func__);
	if ((ms->conf_fd = conf_memfd(ms->conf_text, ms->conf_len)) == -1)
		fatal("%s: config memfd", __func__);
	ms->generation = 1;
	atomic_store(&shm_global(ms->shm)->generation, 1);
	ms->started = time(NULL);
	atomic_store(&shm_global(ms->shm)->started_unix, (uint64_t)ms->started);
}

int
master_main(int argc, char *argv[])
{
	static struct master	m;
	char			caps[256];
	int			ch, check_only = 0;

	ms = &m;
	while ((ch = getopt(argc, argv, "c:htV")) != -1) {
		switch (ch) {
		case 'c': ms->conf_path = optarg; break;
		case 't': check_only = 1; break;
		case 'h': usage(0);
		case 'V':
			printf("sluiced %s%s\n", SLUICE_VERSION, SL_TEST_HOOKS ?
			    " (test hooks enabled: not for production)" : "");
			return 0;
		default: usage(1);
		}
	}
	/* A container passes the path in its environment. */
	if (ms->conf_path == NULL)
		ms->conf_path = getenv("SLUICE_CONFIG");
	if (ms->conf_path == NULL || optind != argc)
		usage(1);
	log_init("sluiced", SL_LOG_INFO);
	notify_init();
	master_load_config();
	(void)malloc_trim(0);	/* the parser's garbage, for a big table */
	if (check_only) {
		master_check_only();
		return 0;
	}
	log_set_level(ms->conf->log_level);
	ms->log_level = ms->conf->log_level;
	log_set_json(ms->conf->log_json);
	master_setup();
	if ((ms->loop = ev_default_loop(EVBACKEND_EPOLL)) == NULL)
		fatalx("cannot create the event loop");
	master_signals();
	control_start();
	caps_master_reduce(ms->conf);
	proc_init();
	proc_start_all();
	log_info("sluiced %s started: %u workers, %zu listeners, %zu links; "
	    "master keeps %s", SLUICE_VERSION, ms->nworkers,
	    ms->conf->nlisteners, ms->conf->nlinks,
	    caps_master_describe(caps, sizeof(caps)));
	ev_run(ms->loop, 0);
	return 0;
}
