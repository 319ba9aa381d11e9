/*
 * What a child says: log lines on its channel and bytes on its stderr
 * pipe, both sanitized, prefixed with the row's name and rate-limited,
 * so a chatty or hostile child can neither flood nor forge the master's
 * log.
 */
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "master.h"
#include "proc_priv.h"

#define LOG_RATE		200.0	/* lines/s forwarded per child */
#define LOG_BURST		1000.0

void
proc_log_init(struct proc *c)
{
	c->log_tokens = LOG_BURST;
	c->errfd = -1;
}

/* Token bucket per row. */
static int
proc_log_allowed(struct proc *c)
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

/* Forward a child's log line, sanitized and rate-limited. */
void
proc_log(struct proc *c, const struct sl_msg *m)
{
	char	line[SL_LOG_MAX_TEXT + 1];

	if (!proc_log_allowed(c) || (int)m->u.log.level > log_get_level())
		return;
	str_sanitize(line, sizeof(line), m->u.log.text);
	log_emit((int)m->u.log.level, c->name, line);
}

static void
proc_stderr_line(struct proc *c, const char *line)
{
	char	clean[SL_LOG_MAX_TEXT_STDERR + 1];

	str_sanitize(clean, sizeof(clean), line);
	if (proc_log_allowed(c))
		log_emit(SL_LOG_WARN, c->name, clean);
}

/* Forget the pipe, flushing a last unterminated line. */
static void
proc_stderr_finish(struct proc *c)
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
proc_stderr_read(struct proc *c)
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
	struct proc *c = container_of(w, struct proc, errio);

	(void)loop;
	(void)revents;
	if (proc_stderr_read(c) == -1)
		proc_stderr_finish(c);
}

/* A dead child's last words (a sanitizer report) may still be queued. */
static void
proc_stderr_close(struct proc *c)
{
	int	i;

	if (c->errfd == -1)
		return;
	for (i = 0; i < 64 && proc_stderr_read(c) == 1; i++)
		;
	proc_stderr_finish(c);
}

/* The read end of a new process's stderr; the last one's is drained. */
void
proc_stderr_watch(struct proc *c, int fd)
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

/* ---- deaths ---- */

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

/* A clean exit is news only when nobody asked the row to go. */
void
proc_log_death(const struct proc *c, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %d) killed by %s%s", c->name, (int)pid,
		    proc_signame(WTERMSIG(status)), WTERMSIG(status) == SIGSYS ?
		    ": seccomp violation (see the kernel audit log)" : "");
	else if (WEXITSTATUS(status) != 0 ||
	    (!ms->stopping && c->state != PROC_DRAINING))
		log_warnx("%s (pid %d) exited with status %d", c->name,
		    (int)pid, WEXITSTATUS(status));
	else
		log_debug("%s (pid %d) exited", c->name, (int)pid);
}
