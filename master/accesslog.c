/*
 * The access log: one record per session, sent by the worker that ran it
 * (ACCESS) and written here.  Without "access_log" the record is a line of
 * the main log, exactly the text line workers used to log themselves
 * ("session N: ..."), or in JSON mode an object with typed fields.  With
 * "access_log" it goes to that file only, opened by the master at start
 * and again on SIGUSR2 or `sluicectl reopen` (logrotate moves the old one
 * away first).
 *
 * A record comes from a confined worker and is treated as hostile: every
 * string is escaped by the log sanitiser, and the link and listener
 * indexes are checked against the master's config before they are named.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "accesslog.h"
#include "master.h"

#define AL_FAIL_LOG_S	10.0	/* a failed write is logged this often */
#define AL_RATE		1000.0	/* records/s into the main log */
#define AL_BURST	5000.0
#define AL_LINE_MAX	16384

/* One record's strings, escaped for the text line and again for JSON. */
struct al_rec {
	char	front[(SL_CTL_FRONT_MAX + 1) * SL_SANITIZE_GROWTH];
	char	target[(SL_CTL_TARGET_MAX + 1) * SL_SANITIZE_GROWTH];
	char	user[(SL_CTL_USER_MAX + 1) * SL_SANITIZE_GROWTH];
	char	outcome[(SL_CTL_OUTCOME_MAX + 1) * SL_SANITIZE_GROWTH];
	char	detail[(SL_CTL_DETAIL_MAX + 1) * SL_SANITIZE_GROWTH];
	char	link[64 * SL_SANITIZE_GROWTH];
	char	listener[64 * SL_SANITIZE_GROWTH];
	char	client[SL_ADDRSTRLEN];
	char	line[4096];		/* the text line, "session N: ..." */
};

static int		 al_fd = -1;
static char		 al_path[sizeof(((struct sl_conf *)0)->access_log)];
static uint64_t		 al_failed;	/* records a write lost */
static ev_tstamp	 al_failed_logged;
static double		 al_tokens = AL_BURST;
static ev_tstamp	 al_tokens_last;
static uint64_t		 al_dropped;

/*
 * Append-only, never through a symbolic link, never a FIFO or a device
 * (O_NONBLOCK: opening a FIFO with no reader must not hang the master).
 */
static int
al_open_path(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "access_log %s: is a symbolic link "
		    "(refused)", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "access_log %s: %s", path,
		    errno == ELOOP ? "is a symbolic link (refused)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "access_log %s: not a regular file "
		    "(refused)", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
accesslog_open(const struct sl_conf *conf, char *err, size_t errlen)
{
	int	fd;

	if (conf->access_log[0] == '\0') {
		if (al_fd != -1)
			close(al_fd);
		al_fd = -1;
		al_path[0] = '\0';
		return 0;
	}
	if ((fd = al_open_path(conf->access_log, err, errlen)) == -1)
		return -1;
	if (al_fd != -1)
		close(al_fd);
	al_fd = fd;
	snprintf(al_path, sizeof(al_path), "%s", conf->access_log);
	return 0;
}

int
accesslog_reopen(char *err, size_t errlen)
{
	int	fd;

	if (al_fd == -1)
		return 0;
	if ((fd = al_open_path(al_path, err, errlen)) == -1)
		return -1;
	close(al_fd);
	al_fd = fd;
	log_info("access_log %s reopened", al_path);
	return 0;
}

/* Token bucket on records into the main log, like a child's lines. */
static int
al_main_allowed(void)
{
	ev_tstamp	now = ev_now(ms->loop);

	al_tokens += (now - al_tokens_last) * AL_RATE;
	if (al_tokens > AL_BURST)
		al_tokens = AL_BURST;
	al_tokens_last = now;
	if (al_tokens < 1.0) {
		al_dropped++;
		return 0;
	}
	al_tokens -= 1.0;
	if (al_dropped > 0) {
		log_warnx("%llu access records dropped (rate limit)",
		    (unsigned long long)al_dropped);
		al_dropped = 0;
	}
	return 1;
}

static void
al_client(const struct sl_msg *m, char *buf, size_t len)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	if (m->u.access.family == 4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, m->u.access.addr, 4);
		sin.sin_port = htons(m->u.access.port);
		sockaddr_fmt((const struct sockaddr *)&sin, buf, len);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, m->u.access.addr, 16);
		sin6.sin6_port = htons(m->u.access.port);
		sockaddr_fmt((const struct sockaddr *)&sin6, buf, len);
	}
}

/* Escape the strings, name the indexes, and make the text line. */
static void
al_prepare(struct al_rec *r, const struct sl_conf *conf,
    const struct sl_msg *m)
{
	uint32_t		 link = m->u.access.link;
	uint32_t		 lsn = m->u.access.listener;
	uint64_t		 dur = m->u.access.ms;

	str_sanitize(r->front, sizeof(r->front), m->u.access.front);
	str_sanitize(r->target, sizeof(r->target), m->u.access.target);
	str_sanitize(r->user, sizeof(r->user), m->u.access.user);
	str_sanitize(r->outcome, sizeof(r->outcome), m->u.access.outcome);
	str_sanitize(r->detail, sizeof(r->detail), m->u.access.detail);
	if (link == SL_CTL_ANY)
		snprintf(r->link, sizeof(r->link), "-");
	else if (link < conf->nlinks)
		str_sanitize(r->link, sizeof(r->link), conf->links[link].name);
	else
		snprintf(r->link, sizeof(r->link), "#%u", link);
	if (lsn < conf->nlisteners)
		str_sanitize(r->listener, sizeof(r->listener),
		    conf->listeners[lsn].name);
	else
		r->listener[0] = '\0';
	al_client(m, r->client, sizeof(r->client));
	snprintf(r->line, sizeof(r->line), "session %llu: %s%s%s %s -> %s "
	    "via %s: up %llu down %llu bytes, %llu.%03llu s, %s%s%s",
	    (unsigned long long)m->u.access.serial, r->front,
	    r->user[0] != '\0' ? " user " : "", r->user, r->client, r->target,
	    r->link, (unsigned long long)m->u.access.up,
	    (unsigned long long)m->u.access.down,
	    (unsigned long long)(dur / 1000), (unsigned long long)(dur % 1000),
	    r->outcome, r->detail[0] != '\0' ? ": " : "", r->detail);
}

/* The typed JSON fields after "msg": ',"session":N,...'. */
static void
al_fields(const struct al_rec *r, const struct sl_msg *m, char *buf,
    size_t len)
{
	char	front[sizeof(r->front) * 2], target[sizeof(r->target) * 2];
	char	user[sizeof(r->user) * 2], outcome[sizeof(r->outcome) * 2];
	char	detail[sizeof(r->detail) * 2], link[sizeof(r->link) * 2];
	char	listener[sizeof(r->listener) * 2], client[SL_ADDRSTRLEN * 2];

	log_json_escape(front, sizeof(front), r->front);
	log_json_escape(target, sizeof(target), r->target);
	log_json_escape(user, sizeof(user), r->user);
	log_json_escape(outcome, sizeof(outcome), r->outcome);
	log_json_escape(detail, sizeof(detail), r->detail);
	log_json_escape(link, sizeof(link), r->link);
	log_json_escape(listener, sizeof(listener), r->listener);
	log_json_escape(client, sizeof(client), r->client);
	snprintf(buf, len, ",\"session\":%llu,\"front\":\"%s\",\"user\":\"%s\","
	    "\"client\":\"%s\",\"target\":\"%s\",\"link\":\"%s\","
	    "\"listener\":\"%s\",\"bytes_up\":%llu,\"bytes_down\":%llu,"
	    "\"duration_ms\":%llu,\"outcome\":\"%s\",\"detail\":\"%s\"",
	    (unsigned long long)m->u.access.serial, front, user, client,
	    target, link, listener, (unsigned long long)m->u.access.up,
	    (unsigned long long)m->u.access.down,
	    (unsigned long long)m->u.access.ms, outcome, detail);
}

/*
 * The file is a regular file, so a write does not block for long; one
 * that fails or comes up short is counted, and said at most every
 * AL_FAIL_LOG_S seconds.
 */
static void
al_write(const char *buf, size_t len)
{
	ssize_t		n;
	ev_tstamp	now;
	int		saved;

	n = write(al_fd, buf, len);
	if (n >= 0 && (size_t)n == len)
		return;
	saved = n == -1 ? errno : ENOSPC;
	al_failed++;
	now = ev_now(ms->loop);
	if (al_failed_logged == 0 || now - al_failed_logged >= AL_FAIL_LOG_S) {
		log_warnx("access_log %s: write: %s (%llu records lost so "
		    "far)", al_path, strerror(saved),
		    (unsigned long long)al_failed);
		al_failed_logged = now;
	}
}

void
accesslog_record(const struct proc *c, const struct sl_msg *m)
{
	static struct al_rec	 r;		/* 8 KiB: not on the stack */
	static char		 fields[AL_LINE_MAX], out[AL_LINE_MAX];
	const struct sl_conf	*conf;
	char			 ts[40];
	int			 n;

	if (al_fd == -1 && (log_get_level() < SL_LOG_INFO ||
	    !al_main_allowed()))
		return;
	/* Names from the config the worker runs (its tenant's, its
	   generation's), whatever is current now. */
	if ((conf = gen_conf(c->generation)) == NULL)
		return;
	al_prepare(&r, conf, m);
	fields[0] = '\0';
	if (log_json()) {
		al_fields(&r, m, fields, sizeof(fields));
		if (pool_tenanted())
			snprintf(fields + strlen(fields), sizeof(fields) -
			    strlen(fields), ",\"tenant\":\"%s\"",
			    conf->tenant);
	}
	if (al_fd == -1) {
		log_emit_fields(SL_LOG_INFO, c->name, r.line, fields);
		return;
	}
	if (log_json()) {
		n = (int)log_format_json(out, sizeof(out), SL_LOG_INFO, c->name,
		    r.line, fields);
	} else {
		log_time(ts, sizeof(ts));
		n = snprintf(out, sizeof(out), "%s %s %s\n", ts, c->name,
		    r.line);
	}
	if (n > 0 && (size_t)n < sizeof(out))
		al_write(out, (size_t)n);
}

/*
 * -t and a reload's check: what opening would refuse, creating nothing:
 * the directory must exist; the file, if there, must be a regular file
 * and no link.
 */
int
accesslog_check(const struct sl_conf *conf, char *err, size_t errlen)
{
	struct stat	 st;
	char		 dir[sizeof(conf->access_log)], *slash;

	if (conf->access_log[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s", conf->access_log);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir] = '\0';
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "access_log: %s: no such directory", dir);
		return -1;
	}
	if (lstat(conf->access_log, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "access_log: %s: not a regular file",
		    conf->access_log);
		return -1;
	}
	return 0;
}
