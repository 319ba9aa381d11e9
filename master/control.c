/*
 * The control socket: accepting sluicectl's connections, checking who is
 * at the other end, and moving length-prefixed JSON in and out without
 * ever blocking the master (master/control.h).
 *
 * Requests come from root or the control_group only (SO_PEERCRED), and
 * are still read as untrusted bytes: a length over CTL_MAX_REQUEST, a
 * body that is not a JSON object with a "cmd" string, silence for
 * CTL_IDLE_S or an answer left unread for CTL_WRITE_S ends that client
 * with a log line, never the master.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "control.h"
#include "ctl_req.h"
#include "master.h"

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	uint64_t		 id;
	int			 fd;
	ev_io			 io;
	ev_timer		 timer;
	uid_t			 uid;
	pid_t			 pid;
	uint8_t			 hdr[4];
	size_t			 hdrlen;
	char			*req;		/* the body being read */
	size_t			 reqlen, reqwant;
	char			*out;		/* the answer being written */
	size_t			 outlen, outoff;
};

static struct {
	int			 fd;
	ev_io			 io;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	gid_t			 gid;		/* control_group, or 0 */
	TAILQ_HEAD(, ctl_client) clients;
	size_t			 nclients;
	uint64_t		 next_id;
	ev_tstamp		 refused_logged;
} ctl = { .fd = -1 };

#define CTL_ACCEPT_BURST	8	/* connections taken per wakeup */

static void	ctl_client_io(struct ev_loop *, ev_io *, int);
static void	ctl_client_timeout(struct ev_loop *, ev_timer *, int);

static void
ctl_client_free(struct ctl_client *c, const char *why)
{
	if (why != NULL)
		log_warnx("control client (uid %u, pid %d): %s, dropped",
		    (unsigned)c->uid, (int)c->pid, why);
	ev_io_stop(ms->loop, &c->io);
	ev_timer_stop(ms->loop, &c->timer);
	close(c->fd);
	free(c->req);
	free(c->out);
	TAILQ_REMOVE(&ctl.clients, c, entry);
	ctl.nclients--;
	free(c);
}

static void
ctl_timer_set(struct ctl_client *c, double s)
{
	ev_timer_stop(ms->loop, &c->timer);
	ev_timer_set(&c->timer, s, 0.);
	ev_timer_start(ms->loop, &c->timer);
}

/* Read the next request's header: the previous answer is written. */
static void
ctl_client_reading(struct ctl_client *c)
{
	c->hdrlen = 0;
	ev_io_stop(ms->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(ms->loop, &c->io);
	ctl_timer_set(c, CTL_IDLE_S);
}

struct ctl_client *
ctl_client_find(uint64_t id)
{
	struct ctl_client *c;

	TAILQ_FOREACH(c, &ctl.clients, entry)
		if (c->id == id)
			return c;
	return NULL;
}

uint64_t
ctl_client_id(const struct ctl_client *c)
{
	return c->id;
}

/* Queue an answer (text, malloc'd, taken) and write it as it drains. */
static void
ctl_send(struct ctl_client *c, char *text)
{
	size_t	n = text != NULL ? strlen(text) : 0;

	if (text == NULL || n == 0 || n > CTL_MAX_ANSWER) {
		free(text);
		text = strdup("{\"ok\":false,\"error\":\"answer too large or "
		    "out of memory\"}");
		if (text == NULL) {
			ctl_client_free(c, "out of memory");
			return;
		}
		n = strlen(text);
	}
	free(c->out);
	if ((c->out = malloc(n + 4)) == NULL) {
		free(text);
		ctl_client_free(c, "out of memory");
		return;
	}
	c->out[0] = (char)(n >> 24);
	c->out[1] = (char)(n >> 16);
	c->out[2] = (char)(n >> 8);
	c->out[3] = (char)n;
	memcpy(c->out + 4, text, n);
	free(text);
	c->outlen = n + 4;
	c->outoff = 0;
	ev_io_stop(ms->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(ms->loop, &c->io);
	ctl_timer_set(c, CTL_WRITE_S);
}

void
ctl_reply(struct ctl_client *c, cJSON *result)
{
	cJSON	*root = cJSON_CreateObject();

	if (result == NULL)
		result = cJSON_CreateObject();
	if (root == NULL || result == NULL) {
		cJSON_Delete(root);
		cJSON_Delete(result);
		ctl_send(c, NULL);
		return;
	}
	cJSON_AddBoolToObject(root, "ok", 1);
	cJSON_AddItemToObject(root, "result", result);
	ctl_send(c, cJSON_PrintUnformatted(root));
	cJSON_Delete(root);
}

void
ctl_fail(struct ctl_client *c, const char *fmt, ...)
{
	cJSON	*root;
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((root = cJSON_CreateObject()) == NULL) {
		ctl_send(c, NULL);
		return;
	}
	cJSON_AddBoolToObject(root, "ok", 0);
	cJSON_AddStringToObject(root, "error", msg);
	ctl_send(c, cJSON_PrintUnformatted(root));
	cJSON_Delete(root);
}

/* A whole request is in: parse and dispatch it. */
static void
ctl_request(struct ctl_client *c)
{
	cJSON		*req;
	const cJSON	*args;
	const char	*cmd;
	char		 why[160];
	int		 fatal, rc;

	ev_io_stop(ms->loop, &c->io);
	ev_timer_stop(ms->loop, &c->timer);
	rc = ctl_req_parse(c->req, c->reqlen, &req, &cmd, &args, why,
	    sizeof(why), &fatal);
	free(c->req);
	c->req = NULL;
	if (rc == -1 && fatal)
		ctl_client_free(c, why);
	else if (rc == -1)
		ctl_fail(c, "%s", why);
	else
		ctl_dispatch(c, cmd, args);
	cJSON_Delete(req);
}

/* 1: a whole request was read (and handled), 0: more to come, -1: gone. */
static int
ctl_read(struct ctl_client *c)
{
	ssize_t	 n;

	if (c->hdrlen < sizeof(c->hdr)) {
		n = read(c->fd, c->hdr + c->hdrlen, sizeof(c->hdr) - c->hdrlen);
		if (n <= 0)
			goto eof;
		if ((c->hdrlen += (size_t)n) < sizeof(c->hdr))
			return 0;
		c->reqwant = (size_t)c->hdr[0] << 24 | (size_t)c->hdr[1] << 16 |
		    (size_t)c->hdr[2] << 8 | c->hdr[3];
		if (c->reqwant == 0 || c->reqwant > CTL_MAX_REQUEST) {
			ctl_client_free(c, "request length out of range");
			return -1;
		}
		if ((c->req = malloc(c->reqwant)) == NULL) {
			ctl_client_free(c, "out of memory");
			return -1;
		}
		c->reqlen = 0;
		ctl_timer_set(c, CTL_WRITE_S);	/* the body comes at once */
	}
	n = read(c->fd, c->req + c->reqlen, c->reqwant - c->reqlen);
	if (n <= 0)
		goto eof;
	if ((c->reqlen += (size_t)n) < c->reqwant)
		return 0;
	ctl_request(c);
	return 1;
eof:
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* A clean close between requests is how a client says goodbye. */
	ctl_client_free(c, n == 0 && c->hdrlen == 0 ? NULL : n == 0 ?
	    "closed in the middle of a request" : strerror(errno));
	return -1;
}

static void
ctl_write(struct ctl_client *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_client_free(c, n == 0 ? "closed" : strerror(errno));
			return;
		}
		c->outoff += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	ctl_client_reading(c);
}

static void
ctl_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = container_of(w, struct ctl_client, io);

	(void)loop;
	if (revents & EV_WRITE)
		ctl_write(c);
	else if (revents & EV_READ)
		(void)ctl_read(c);
}

static void
ctl_client_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = container_of(w, struct ctl_client, timer);

	(void)loop;
	(void)revents;
	ctl_client_free(c, c->out != NULL ? "answer not read in time" :
	    c->hdrlen > 0 ? "request not sent in time" : NULL);
}

/* Root, the control_group as primary group, or a member of it. */
static int
ctl_peer_allowed(const struct ucred *cr)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = (int)(sizeof(groups) / sizeof(groups[0])), i;

	if (cr->uid == 0)
		return 1;
	if (ctl.gid == 0)
		return 0;
	if (cr->gid == ctl.gid)
		return 1;
	if ((pw = getpwuid(cr->uid)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == ctl.gid)
			return 1;
	return 0;
}

/* Refuse a peer with one answer, written as far as the socket takes. */
static void
ctl_refuse(int fd, const char *why, const struct ucred *cr)
{
	char	buf[160];
	int	n;

	n = snprintf(buf + 4, sizeof(buf) - 4,
	    "{\"ok\":false,\"error\":\"%s\"}", why);
	buf[0] = buf[1] = 0;
	buf[2] = (char)(n >> 8);
	buf[3] = (char)n;
	(void)send(fd, buf, (size_t)n + 4, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	if (ev_now(ms->loop) - ctl.refused_logged >= 10.) {
		ctl.refused_logged = ev_now(ms->loop);
		log_warnx("control: refused uid %d pid %d: %s",
		    cr != NULL ? (int)cr->uid : -1,
		    cr != NULL ? (int)cr->pid : -1, why);
	}
}

static void
ctl_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client	*c;
	struct ucred		 cr;
	socklen_t		 len;
	int			 fd, i;

	(void)loop;
	(void)w;
	(void)revents;
	for (i = 0; i < CTL_ACCEPT_BURST; i++) {
		fd = accept4(ctl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
			ctl_refuse(fd, "no peer credentials", NULL);
			continue;
		}
		if (!ctl_peer_allowed(&cr)) {
			ctl_refuse(fd, "permission denied", &cr);
			continue;
		}
		if (ctl.nclients >= CTL_MAX_CLIENTS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			ctl_refuse(fd, "too many control clients", &cr);
			continue;
		}
		c->id = ++ctl.next_id;
		c->fd = fd;
		c->uid = cr.uid;
		c->pid = cr.pid;
		ev_io_init(&c->io, ctl_client_io, fd, EV_READ);
		ev_init(&c->timer, ctl_client_timeout);
		TAILQ_INSERT_TAIL(&ctl.clients, c, entry);
		ctl.nclients++;
		ctl_client_reading(c);
	}
}

/* The socket's directory: made (0750, root and the group) if missing. */
static int
ctl_dir(const char *path, gid_t gid, char *err, size_t errlen)
{
	char		 dir[sizeof(ctl.path)], *slash;
	struct stat	 st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "control: %s is not a directory",
			    dir);
			return -1;
		}
		return 0;
	}
	/* Made under the group's egid (ctl_bind): no chown, no CAP_CHOWN. */
	if (errno != ENOENT || mkdir(dir, 0750) == -1) {
		snprintf(err, errlen, "control: mkdir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket left by a dead sluiced goes; a live one's is an error. */
static int
ctl_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, live;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control: %s exists and is not a socket",
		    path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (live) {
		snprintf(err, errlen, "control: %s: another sluiced serves it",
		    path);
		return -1;
	}
	(void)unlink(path);
	return 0;
}

/*
 * The socket (and its directory, if missing), made while the master's
 * effective gid is the control group: the files get that group without
 * a chown, which would need CAP_CHOWN (systemd's bounding set leaves it
 * out); CAP_SETGID, kept for the children, covers the setegid.
 */
static int
ctl_bind(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	gid_t			 egid = getegid();
	int			 fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "control: socket: %s", strerror(errno));
		return -1;
	}
	if (setegid(gid) == -1) {
		snprintf(err, errlen, "control: setegid %u: %s",
		    (unsigned)gid, strerror(errno));
		close(fd);
		return -1;
	}
	if (ctl_dir(path, gid, err, errlen) == -1 ||
	    ctl_stale(path, err, errlen) == -1) {
		if (setegid(egid) == -1)
			fatal("%s: setegid back", __func__);
		close(fd);
		return -1;
	}
	/* Never a moment with the socket open to more than its group. */
	old = umask(gid != 0 ? 0117 : 0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (setegid(egid) == -1)
		fatal("%s: setegid back", __func__);
	if (rc == -1 || listen(fd, CTL_MAX_CLIENTS) == -1) {
		snprintf(err, errlen, "control: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
ctl_group(const struct sl_conf *conf, gid_t *gid, char *err, size_t errlen)
{
	struct group	*gr;

	*gid = 0;
	if (conf->control_group[0] == '\0')
		return 0;
	if ((gr = getgrnam(conf->control_group)) == NULL) {
		snprintf(err, errlen, "control_group: unknown group \"%s\"",
		    conf->control_group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int
control_open(const struct sl_conf *conf, char *err, size_t errlen)
{
	gid_t	gid;
	int	fd;

	if (ctl.fd == -1 && ctl.nclients == 0)
		TAILQ_INIT(&ctl.clients);
	if (conf->control[0] == '\0')
		return 0;
	if (ctl_group(conf, &gid, err, errlen) == -1 ||
	    (fd = ctl_bind(conf->control, gid, err, errlen)) == -1)
		return -1;
	ctl.fd = fd;
	ctl.gid = gid;
	snprintf(ctl.path, sizeof(ctl.path), "%s", conf->control);
	ev_io_init(&ctl.io, ctl_accept, fd, EV_READ);
	if (ms->loop != NULL)
		ev_io_start(ms->loop, &ctl.io);
	return 0;
}

/* Once the loop exists (control_open runs before it at start-up). */
void
control_start(void)
{
	if (ctl.fd != -1 && !ev_is_active(&ctl.io))
		ev_io_start(ms->loop, &ctl.io);
}

/*
 * Another group for the same path: a new socket beside the old one,
 * renamed over it, so the path never lacks a socket and connected
 * clients keep theirs.
 */
static int
ctl_regroup(gid_t gid, char *err, size_t errlen)
{
	char	tmp[sizeof(ctl.path) + 8];
	int	fd;

	if (snprintf(tmp, sizeof(tmp), "%s.new", ctl.path) >=
	    (int)sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "control: %s: path too long to change "
		    "its group at a reload", ctl.path);
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = ctl_bind(tmp, gid, err, errlen)) == -1)
		return -1;
	if (rename(tmp, ctl.path) == -1) {
		snprintf(err, errlen, "control: rename %s: %s", tmp,
		    strerror(errno));
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	ev_io_stop(ms->loop, &ctl.io);
	close(ctl.fd);
	ctl.fd = fd;
	ctl.gid = gid;
	ev_io_init(&ctl.io, ctl_accept, fd, EV_READ);
	ev_io_start(ms->loop, &ctl.io);
	return 0;
}

int
control_reconf(const struct sl_conf *conf, char *err, size_t errlen)
{
	gid_t	gid;
	int	fd;

	if (ctl_group(conf, &gid, err, errlen) == -1)
		return -1;
	if (ctl.fd != -1 && strcmp(conf->control, ctl.path) == 0) {
		if (gid == ctl.gid)
			return 0;
		return ctl_regroup(gid, err, errlen);
	}
	/* The new socket first: a failure leaves the old one serving. */
	if (conf->control[0] != '\0' &&
	    (fd = ctl_bind(conf->control, gid, err, errlen)) == -1)
		return -1;
	control_close();
	if (conf->control[0] == '\0')
		return 0;
	ctl.fd = fd;
	ctl.gid = gid;
	snprintf(ctl.path, sizeof(ctl.path), "%s", conf->control);
	ev_io_init(&ctl.io, ctl_accept, fd, EV_READ);
	ev_io_start(ms->loop, &ctl.io);
	return 0;
}

/* The listening socket goes (and its path); clients finish their answer. */
void
control_close(void)
{
	if (ctl.fd == -1)
		return;
	ev_io_stop(ms->loop, &ctl.io);
	close(ctl.fd);
	ctl.fd = -1;
	(void)unlink(ctl.path);
	ctl.path[0] = '\0';
}
