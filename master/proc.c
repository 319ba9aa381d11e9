/*
 * The process table: starting, feeding, watching and respawning the
 * confined children.
 *
 * Every child is fork + execve of sluiced itself, so each one gets a
 * fresh address-space layout: a crash-respawn loop never lets an attacker
 * probe the same layout twice.  Respawns back off exponentially while a
 * child keeps dying soon after it started.
 */
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "../policy/counters.h"
#include "master.h"

#define READY_TIMEOUT		10.0	/* s for a child to confine itself */
#define QUICK_DEATH		10.0	/* s; dying sooner counts as a loop */
#define RESPAWN_FIRST		0.05	/* s */
#define RESPAWN_MAX		30.0	/* s */
#define LOG_RATE		200.0	/* lines/s forwarded per child */
#define LOG_BURST		1000.0

static void	proc_spawn(struct child *);
static int	proc_log_allowed(struct child *);
static void	proc_msg(struct ipc_chan *, struct sl_msg *, void *);
static void	proc_chan_closed(struct ipc_chan *, const char *, void *);

static void
proc_send(struct child *c, uint16_t type, int fd, uint32_t index)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.fd = fd;
	switch (type) {
	case SL_MSG_CFG_CONF:
		m.u.cfg_conf.generation = ms->generation;
		m.u.cfg_conf.size = ms->conf_len;
		break;
	case SL_MSG_CFG_SHM:
		m.u.cfg_shm.size = ms->shmsize;
		break;
	case SL_MSG_CFG_PEER:
		m.u.cfg_peer.index = index;
		break;
	case SL_MSG_CFG_LISTENER:
		m.u.cfg_listener.index = index;
		break;
	default:
		break;
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, &m) == -1)
		log_warnx("%s: cannot send %s", c->name, ipc_msg_name(type));
}

/* A fresh worker <-> resolver channel for worker slot w. */
static void
proc_peer(uint32_t w)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	proc_send(&ms->workers[w], SL_MSG_CFG_PEER, sv[0], w);
	proc_send(&ms->resolver, SL_MSG_CFG_PEER, sv[1], w);
	close(sv[0]);
	close(sv[1]);
}

static void
proc_feed(struct child *c)
{
	size_t		i;
	uint32_t	w;

	proc_send(c, SL_MSG_CFG_CONF, ms->conf_fd, 0);
	proc_send(c, SL_MSG_CFG_SHM, ms->shm_fd, 0);
	if (c->role == SL_PROC_WORKER) {
		for (i = 0; i < ms->conf->nlisteners; i++)
			proc_send(c, SL_MSG_CFG_LISTENER,
			    ms->lfds[i][c->index], (uint32_t)i);
		if (ms->resolver.pid != 0)
			proc_peer(c->index);
	} else {
		/* Running workers get their new pairs at run time too. */
		proc_send(c, SL_MSG_CFG_END, -1, 0);
		for (w = 0; w < ms->nworkers; w++)
			if (ms->workers[w].pid != 0)
				proc_peer(w);
		return;
	}
	proc_send(c, SL_MSG_CFG_END, -1, 0);
}

static void
proc_exec(struct child *c, int fd, int errfd)
{
	char	idx[16], nw[16], uid[16], gid[16];
	char	*argv[] = { ms->self_exe, "-P", NULL, "-I", idx, "-N", nw,
		    "-u", uid, "-g", gid, NULL };
	sigset_t all;

	argv[2] = c->role == SL_PROC_WORKER ? "worker" : "resolver";
	snprintf(idx, sizeof(idx), "%u", c->index);
	snprintf(nw, sizeof(nw), "%u", ms->nworkers);
	snprintf(uid, sizeof(uid), "%u", (unsigned)ms->uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)ms->gid);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(127);
	/*
	 * stderr is a pipe the master reads: a child can never write into
	 * the master's log directly (to forge lines), and its RLIMIT_FSIZE
	 * of 0 cannot kill it when the master's stderr is a file.
	 */
	if (errfd != -1 && dup2(errfd, STDERR_FILENO) == -1)
		_exit(127);
	if (fd != SL_CHILD_CHAN_FD) {
		if (dup2(fd, SL_CHILD_CHAN_FD) == -1)
			_exit(127);
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		_exit(127);
	close_from(SL_CHILD_CHAN_FD + 1);
	execv(ms->self_exe, argv);
	_exit(127);
}

static void
proc_stderr_line(struct child *c, const char *line)
{
	char	clean[SL_LOG_MAX_TEXT_STDERR + 1];

	str_sanitize(clean, sizeof(clean), line);
	if (proc_log_allowed(c))
		log_emit(SL_LOG_WARN, c->name, clean);
}

/* Forget the pipe, flushing a last unterminated line. */
static void
proc_stderr_finish(struct child *c)
{
	if (c->errlen > 0) {
		c->errbuf[c->errlen] = '\0';
		proc_stderr_line(c, c->errbuf);
	}
	ev_io_stop(ms->loop, &c->errio);
	close(c->errfd);
	c->errfd = -1;
	c->errlen = 0;
}

/*
 * Read once and log complete lines; long lines are cut.  Returns 1 when
 * bytes came, 0 when none are waiting, -1 at EOF or on error.
 */
static int
proc_stderr_read(struct child *c)
{
	char	*nl;
	ssize_t	 n;

	n = read(c->errfd, c->errbuf + c->errlen,
	    sizeof(c->errbuf) - 1 - c->errlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	c->errlen += (size_t)n;
	c->errbuf[c->errlen] = '\0';
	while ((nl = memchr(c->errbuf, '\n', c->errlen)) != NULL) {
		*nl = '\0';
		proc_stderr_line(c, c->errbuf);
		c->errlen -= (size_t)(nl + 1 - c->errbuf);
		memmove(c->errbuf, nl + 1, c->errlen);
	}
	if (c->errlen == sizeof(c->errbuf) - 1) {
		proc_stderr_line(c, c->errbuf);
		c->errlen = 0;
	}
	return 1;
}

static void
proc_stderr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct child *c = container_of(w, struct child, errio);

	(void)loop;
	(void)revents;
	if (proc_stderr_read(c) == -1)
		proc_stderr_finish(c);
}

/* A dead child's last words (a sanitizer report) may still be queued. */
static void
proc_stderr_close(struct child *c)
{
	int	i;

	if (c->errfd == -1)
		return;
	for (i = 0; i < 64 && proc_stderr_read(c) == 1; i++)
		;
	proc_stderr_finish(c);
}

static void
proc_stderr_watch(struct child *c, int fd)
{
	proc_stderr_close(c);
	if (fd_nonblock(fd) == -1) {
		close(fd);
		return;
	}
	c->errfd = fd;
	ev_io_init(&c->errio, proc_stderr_cb, fd, EV_READ);
	ev_io_start(ms->loop, &c->errio);
}

static void
proc_ready_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = container_of(w, struct child, ready_timer);

	(void)loop;
	(void)revents;
	if (c->pid != 0 && !c->ready) {
		log_warnx("%s (pid %d) not ready after %.0f s, killing it",
		    c->name, (int)c->pid, READY_TIMEOUT);
		kill(c->pid, SIGKILL);
	}
}

static void
proc_spawn(struct child *c)
{
	int	sv[2], ep[2];
	pid_t	pid;

	if (ms->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair for %s", __func__, c->name);
		goto retry;
	}
	if (pipe2(ep, O_CLOEXEC) == -1) {
		log_warn("%s: pipe for %s", __func__, c->name);
		close(sv[0]);
		close(sv[1]);
		goto retry;
	}
	if ((pid = fork()) == -1) {
		log_warn("%s: fork for %s", __func__, c->name);
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		goto retry;
	}
	if (pid == 0)
		proc_exec(c, sv[1], ep[1]);
	close(sv[1]);
	close(ep[1]);
	proc_stderr_watch(c, ep[0]);
	c->pid = pid;
	c->ready = 0;
	c->started = ev_now(ms->loop);
	c->chan = ipc_chan_new(ms->loop, sv[0], c->role, 0, proc_msg,
	    proc_chan_closed, c);
	if (c->chan == NULL)
		fatal("%s: ipc_chan_new", __func__);
	log_debug("%s started, pid %d", c->name, (int)pid);
	proc_feed(c);
	ev_timer_set(&c->ready_timer, READY_TIMEOUT, 0.);
	ev_timer_start(ms->loop, &c->ready_timer);
	return;
retry:
	ev_timer_set(&c->respawn, 1., 0.);
	ev_timer_start(ms->loop, &c->respawn);
}

static void
proc_respawn_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	proc_spawn(container_of(w, struct child, respawn));
}

static void
proc_child_init(struct child *c, enum sl_proc_id role, uint32_t index)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->index = index;
	c->log_tokens = LOG_BURST;
	c->errfd = -1;
	if (role == SL_PROC_WORKER)
		snprintf(c->name, sizeof(c->name), "worker %u", index);
	else
		snprintf(c->name, sizeof(c->name), "resolver");
	ev_init(&c->respawn, proc_respawn_cb);
	ev_init(&c->ready_timer, proc_ready_timeout);
}

void
proc_init(void)
{
	uint32_t	w;

	proc_child_init(&ms->resolver, SL_PROC_RESOLVER, 0);
	for (w = 0; w < ms->nworkers; w++)
		proc_child_init(&ms->workers[w], SL_PROC_WORKER, w);
}

void
proc_start_all(void)
{
	uint32_t	w;

	proc_spawn(&ms->resolver);
	for (w = 0; w < ms->nworkers; w++)
		proc_spawn(&ms->workers[w]);
}

/* Forward a child's log line, sanitized and rate-limited. */
static void
proc_log(struct child *c, const struct sl_msg *m)
{
	char	line[SL_LOG_MAX_TEXT + 1];

	if (!proc_log_allowed(c) || (int)m->u.log.level > log_get_level())
		return;
	str_sanitize(line, sizeof(line), m->u.log.text);
	log_emit((int)m->u.log.level, c->name, line);
}

static void
proc_msg(struct ipc_chan *chan, struct sl_msg *m, void *arg)
{
	struct child *c = arg;

	(void)chan;
	switch (m->type) {
	case SL_MSG_READY:
		if (c->ready) {
			log_warnx("%s (pid %d): READY twice, killing it",
			    c->name, (int)c->pid);
			kill(c->pid, SIGKILL);
			break;
		}
		c->ready = 1;
		ev_timer_stop(ms->loop, &c->ready_timer);
		log_debug("%s (pid %d) confined and ready", c->name,
		    (int)c->pid);
		break;
	case SL_MSG_LOG:
		proc_log(c, m);
		break;
	case SL_MSG_SOCK_REQ:
		if (bindany_request(c, m) == -1) {
			log_warnx("%s (pid %d): bogus socket request, killing "
			    "it", c->name, (int)c->pid);
			kill(c->pid, SIGKILL);
		}
		break;
	default:
		/* The codec only lets through what children may send. */
		log_warnx("%s: unexpected %s", c->name, ipc_msg_name(m->type));
	}
}

/* A child that breaks the protocol is not trusted for another message. */
static void
proc_chan_closed(struct ipc_chan *chan, const char *why, void *arg)
{
	struct child *c = arg;

	if (why != NULL && c->pid != 0) {
		log_warnx("%s (pid %d): %s, killing it", c->name, (int)c->pid,
		    why);
		kill(c->pid, SIGKILL);
	}
	ipc_chan_free(chan);
	c->chan = NULL;
}

/* Token bucket per child: a chatty or hostile child cannot flood the log. */
static int
proc_log_allowed(struct child *c)
{
	ev_tstamp	now = ev_now(ms->loop);

	c->log_tokens += (now - c->log_last) * LOG_RATE;
	if (c->log_tokens > LOG_BURST)
		c->log_tokens = LOG_BURST;
	c->log_last = now;
	if (c->log_tokens < 1.0) {
		c->log_dropped++;
		return 0;
	}
	c->log_tokens -= 1.0;
	if (c->log_dropped > 0) {
		log_emit(SL_LOG_WARN, c->name, "log lines dropped (rate limit)");
		c->log_dropped = 0;
	}
	return 1;
}

static const char *
proc_signame(int sig)
{
	static char buf[16];

	switch (sig) {
	case SIGSYS: return "SIGSYS";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGTERM: return "SIGTERM";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	default:
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
}

static void
proc_log_death(const struct child *c, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %d) killed by %s%s", c->name, (int)pid,
		    proc_signame(WTERMSIG(status)), WTERMSIG(status) == SIGSYS ?
		    ": seccomp violation (see the kernel audit log)" : "");
	else if (WEXITSTATUS(status) != 0 || !ms->stopping)
		log_warnx("%s (pid %d) exited with status %d", c->name,
		    (int)pid, WEXITSTATUS(status));
	else
		log_debug("%s (pid %d) exited", c->name, (int)pid);
}

static void
proc_schedule_respawn(struct child *c)
{
	double	delay;

	if (ev_now(ms->loop) - c->started < QUICK_DEATH)
		c->quick_deaths++;
	else
		c->quick_deaths = 0;
	delay = RESPAWN_FIRST;
	if (c->quick_deaths > 1)
		delay = RESPAWN_FIRST * (double)(1u << (c->quick_deaths > 12 ?
		    11 : c->quick_deaths - 1));
	if (delay > RESPAWN_MAX)
		delay = RESPAWN_MAX;
	log_info("respawning %s in %.2f s", c->name, delay);
	ev_timer_stop(ms->loop, &c->respawn);
	ev_timer_set(&c->respawn, delay, 0.);
	ev_timer_start(ms->loop, &c->respawn);
}

static struct child *
proc_find(pid_t pid)
{
	uint32_t	w;

	if (ms->resolver.pid == pid)
		return &ms->resolver;
	for (w = 0; w < ms->nworkers; w++)
		if (ms->workers[w].pid == pid)
			return &ms->workers[w];
	return NULL;
}

void
proc_child_exited(pid_t pid, int status)
{
	struct child	*c;

	if ((c = proc_find(pid)) == NULL)
		return;
	proc_log_death(c, pid, status);
	c->pid = 0;
	c->ready = 0;
	ev_timer_stop(ms->loop, &c->ready_timer);
	if (c->chan != NULL) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	/* Its sessions died with it: their live counts must go too. */
	if (c->role == SL_PROC_WORKER)
		shm_worker_reset(ms->shm, ms->nworkers,
		    (uint32_t)ms->conf->nlinks, c->index);
	if (!ms->stopping)
		proc_schedule_respawn(c);
}

int
proc_running(void)
{
	uint32_t	w;
	int		n = ms->resolver.pid != 0;

	for (w = 0; w < ms->nworkers; w++)
		n += ms->workers[w].pid != 0;
	return n;
}

/* Shutdown: workers drain; the resolver goes once they are all gone. */
void
proc_stop_all(void)
{
	uint32_t	w;
	int		workers = 0;

	for (w = 0; w < ms->nworkers; w++) {
		ev_timer_stop(ms->loop, &ms->workers[w].respawn);
		if (ms->workers[w].pid != 0) {
			workers++;
			proc_send(&ms->workers[w], SL_MSG_DRAIN, -1, 0);
		}
	}
	ev_timer_stop(ms->loop, &ms->resolver.respawn);
	if (workers == 0 && ms->resolver.pid != 0)
		proc_send(&ms->resolver, SL_MSG_DRAIN, -1, 0);
}

void
proc_kill_all(int sig)
{
	uint32_t	w;

	if (ms->resolver.pid != 0)
		kill(ms->resolver.pid, sig);
	for (w = 0; w < ms->nworkers; w++)
		if (ms->workers[w].pid != 0)
			kill(ms->workers[w].pid, sig);
}
