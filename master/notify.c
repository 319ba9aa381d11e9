/*
 * systemd's readiness protocol (sd_notify(3)), written directly.
 *
 * The protocol is one datagram of "KEY=value" lines sent to the AF_UNIX
 * SOCK_DGRAM socket named by $NOTIFY_SOCKET: a path, or "@name" for the
 * abstract namespace.  That is twenty lines of code, so sluiced does not
 * link libsystemd (and its dependencies) into the one privileged process
 * for it.  systemd learns who sent a datagram from the kernel
 * (SO_PASSCRED), so nothing else has to ride along.
 *
 * Every call is a no-op without NOTIFY_SOCKET, and a failed send only
 * logs once: readiness reporting must never stop the proxy.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "notify.h"

#define NOTIFY_MSG_MAX	1024	/* systemd reads up to its pipe size */

static struct sockaddr_un	notify_sun;
static socklen_t		notify_sunlen;	/* 0: not under systemd */
static int			notify_warned;

static void
notify_warn_once(const char *what)
{
	if (notify_warned)
		return;
	notify_warned = 1;
	log_warnx("systemd notification: %s", what);
}

void
notify_init(void)
{
	const char	*path;
	size_t		 len;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL)
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(notify_sun.sun_path))
		notify_warn_once("NOTIFY_SOCKET is not a unix socket path");
	else {
		memset(&notify_sun, 0, sizeof(notify_sun));
		notify_sun.sun_family = AF_UNIX;
		memcpy(notify_sun.sun_path, path, len);
		/* Abstract: a leading NUL and no terminating one. */
		if (path[0] == '@') {
			notify_sun.sun_path[0] = '\0';
			notify_sunlen = offsetof(struct sockaddr_un, sun_path) +
			    len;
		} else
			notify_sunlen = offsetof(struct sockaddr_un, sun_path) +
			    len + 1;
	}
	/* The children are re-executed with this environment. */
	unsetenv("NOTIFY_SOCKET");
}

/* One datagram, one sendmsg on a socket that lives only for it. */
static void
notify_send(const char *msg)
{
	struct msghdr	mh;
	struct iovec	iov;
	int		fd;

	if (notify_sunlen == 0)
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		notify_warn_once("socket failed");
		return;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)msg;
	iov.iov_len = strlen(msg);
	mh.msg_name = &notify_sun;
	mh.msg_namelen = notify_sunlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		notify_warn_once("sendmsg to NOTIFY_SOCKET failed");
	close(fd);
}

/* A newline would start a new assignment: "x\nREADY=1" in a status. */
static void
notify_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

void
notify_ready(const char *status)
{
	char	msg[NOTIFY_MSG_MAX];
	char	line[NOTIFY_MSG_MAX - 32];

	if (notify_sunlen == 0)
		return;
	snprintf(line, sizeof(line), "%s", status != NULL ? status : "");
	notify_one_line(line);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", line);
	notify_send(msg);
}

/*
 * systemd 253's Type=notify-reload wants the CLOCK_MONOTONIC time of the
 * reload request, so it can tell this reload's READY=1 from a late one.
 */
void
notify_reloading(void)
{
	struct timespec	ts;
	char		msg[96];

	if (notify_sunlen == 0)
		return;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		notify_send("RELOADING=1");
		return;
	}
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	va_list	ap;
	char	msg[NOTIFY_MSG_MAX];
	size_t	pre = sizeof("STATUS=") - 1;

	if (notify_sunlen == 0)
		return;
	memcpy(msg, "STATUS=", pre);
	va_start(ap, fmt);
	vsnprintf(msg + pre, sizeof(msg) - pre, fmt, ap);
	va_end(ap);
	notify_one_line(msg + pre);
	notify_send(msg);
}
