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

static struct conf_load	start_load;	/* until master_setup() */

/* Load, validate, resolve the users.  Exits 1 with the problem. */
static void
master_load_config(void)
{
	char	err[512];

	if (master_config_load(ms->conf_path, &start_load, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: %s\n", ms->conf_path, err);
		exit(1);
	}
	ms->conf = start_load.root;
}

/* A directory -t checks as start-up would; exits 1 with the problem. */
static void
master_check_chroot(const char *dir)
{
	struct stat	 st;
	char		 err[512], parent[sizeof(ms->conf->chroot)], *slash;
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
	char	err[512];
	size_t	i;

	for (i = 0; i < start_load.ngens; i++)
		master_check_chroot(start_load.gens[i]->conf->chroot);
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
	reload_request(0, NULL);
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

/* Start-up's generations, one per pool, current; exits 1 on failure. */
static void
master_setup_pools(void)
{
	struct gen	*g;
	char		 err[512];
	size_t		 i;
	int		 pool;

	for (i = 0; i < start_load.ngens; i++) {
		g = start_load.gens[i];
		if (privdir_prepare(g->conf->chroot, err, sizeof(err)) == -1) {
			fprintf(stderr, "sluiced: %s: chroot: %s\n",
			    ms->conf_path, err);
			exit(1);
		}
		if (listen_open_gen(g, err, sizeof(err)) == -1) {
			fprintf(stderr, "sluiced: %s\n", err);
			exit(1);
		}
		if ((pool = pool_add(g->tenant)) == -1)
			fatalx("%s: no pool left", __func__);
		g->pool = (uint32_t)pool;
		g->id = (uint32_t)i + 1;
		if (shm_gen_make(g) == -1)
			fatal("%s: shared counters or config memfd", __func__);
		atomic_store(&g->shm->global->generation, g->id);
		atomic_store(&g->shm->global->started_unix,
		    (uint64_t)ms->started);
		if (gen_add(g, GEN_CURRENT) == -1)
			fatalx("%s: generation table full", __func__);
		start_load.gens[i] = NULL;
	}
	reload_set_last_id((uint32_t)start_load.ngens);
	start_load.ngens = 0;
	start_load.root = NULL;		/* ms->conf now */
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
	ms->started = time(NULL);
	master_setup_pools();
	if (pcap_open_all(err, sizeof(err)) == -1 ||
	    accesslog_open(ms->conf, err, sizeof(err)) == -1 ||
	    control_open(ms->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluiced: %s: %s\n", ms->conf_path, err);
		exit(1);
	}
}

/* Capabilities every tenant's config needs, and no more. */
static void
master_caps(void)
{
	struct gen		*cur[SL_MAX_POOLS];
	const struct sl_conf	*confs[SL_MAX_POOLS];
	size_t			 i, n = pool_currents(cur, SL_MAX_POOLS);

	for (i = 0; i < n; i++)
		confs[i] = cur[i]->conf;
	caps_master_reduce(confs, n);
}

/* "N workers, N listeners, N links", or per tenant. */
static void
master_started_line(char *caps, size_t capslen)
{
	struct gen	*cur[SL_MAX_POOLS];
	char		 what[1024];
	size_t		 i, n = pool_currents(cur, SL_MAX_POOLS), off = 0;

	what[0] = '\0';
	for (i = 0; i < n && off < sizeof(what); i++)
		off += (size_t)snprintf(what + off, sizeof(what) - off,
		    "%s%s%s%s%u workers, %zu listeners, %zu links%s",
		    i > 0 ? "; " : "", pool_tenanted() ? "tenant " : "",
		    pool_tenanted() ? cur[i]->tenant : "",
		    pool_tenanted() ? " (" : "", cur[i]->nworkers,
		    cur[i]->conf->nlisteners, cur[i]->conf->nlinks,
		    pool_tenanted() ? ")" : "");
	log_info("sluiced %s started: %s; master keeps %s", SLUICE_VERSION,
	    what, caps_master_describe(caps, capslen));
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
	master_caps();
	proc_init();
	proc_start_all();
	master_started_line(caps, sizeof(caps));
	ev_run(ms->loop, 0);
	return 0;
}
