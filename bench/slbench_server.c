/*
 * slbench: the test server (sink, source, echo or idle by the first
 * byte of each connection).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slbench.h"

/* ------------------------------------------------------------------ */
/* server */

enum smode { S_NEW = 0, S_SINK, S_SOURCE, S_ECHO };

struct sconn {
	int		 fd;
	enum smode	 mode;
	uint64_t	 count;
	char		*ebuf;		/* echo: pending bytes */
	size_t		 eoff, elen;
};

#define ECHO_BUFSZ	(16 * 1024)

static struct sconn	 listen_tag;

static void
s_close(int ep, struct sconn *s, long *nopen)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->ebuf);
	free(s);
	(*nopen)--;
}

/* Returns -1 when the connection was closed. */
static int
s_echo_flush(int ep, struct sconn *s, long *nopen)
{
	ssize_t	n;

	while (s->eoff < s->elen) {
		n = send(s->fd, s->ebuf + s->eoff, s->elen - s->eoff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			s->eoff += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			ep_set(ep, EPOLL_CTL_MOD, s->fd, EPOLLOUT, s);
			return 0;
		}
		s_close(ep, s, nopen);
		return -1;
	}
	s->eoff = s->elen = 0;
	ep_set(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, s);
	return 0;
}

static void
s_readable(int ep, struct sconn *s, long *nopen)
{
	static char	rbuf[CHUNK];
	ssize_t		n;
	int		i, j;
	uint64_t	be;
	uint8_t		cnt[8];

	for (i = 0; i < MAX_BURST; i++) {
		if (s->mode == S_ECHO) {
			if (s->ebuf == NULL &&
			    (s->ebuf = malloc(ECHO_BUFSZ)) == NULL)
				die("out of memory");
			n = recv(s->fd, s->ebuf, ECHO_BUFSZ, 0);
		} else {
			/* The first read may become echo data: ECHO_BUFSZ. */
			n = recv(s->fd, rbuf, s->mode == S_NEW ? ECHO_BUFSZ :
			    sizeof(rbuf), 0);
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (n == 0 && s->mode == S_SINK) {
				be = s->count;
				for (j = 7; j >= 0; j--) {
					cnt[j] = (uint8_t)(be & 0xff);
					be >>= 8;
				}
				(void)!send(s->fd, cnt, sizeof(cnt),
				    MSG_NOSIGNAL);
			}
			s_close(ep, s, nopen);
			return;
		}
		if (s->mode == S_NEW) {
			if (rbuf[0] == 'U') {
				s->mode = S_SINK;
				s->count = (uint64_t)n - 1;
			} else if (rbuf[0] == 'D') {
				s->mode = S_SOURCE;
				ep_set(ep, EPOLL_CTL_MOD, s->fd,
				    EPOLLIN | EPOLLOUT, s);
			} else {
				s->mode = S_ECHO;
				if ((s->ebuf = malloc(ECHO_BUFSZ)) == NULL)
					die("out of memory");
				memcpy(s->ebuf, rbuf, (size_t)n);
				s->eoff = 0;
				s->elen = (size_t)n;
				if (s_echo_flush(ep, s, nopen) == -1)
					return;
				if (s->elen != 0)
					return;	/* wait for EPOLLOUT */
			}
			continue;
		}
		switch (s->mode) {
		case S_SINK:
			s->count += (uint64_t)n;
			break;
		case S_SOURCE:
			break;		/* ignore anything after 'D' */
		case S_ECHO:
			s->eoff = 0;
			s->elen = (size_t)n;
			if (s_echo_flush(ep, s, nopen) == -1)
				return;
			if (s->elen != 0)
				return;	/* wait for EPOLLOUT */
			break;
		default:
			break;
		}
	}
}

static void
s_writable(int ep, struct sconn *s, long *nopen)
{
	ssize_t	n;
	int	i;

	if (s->mode == S_ECHO) {
		s_echo_flush(ep, s, nopen);
		return;
	}
	if (s->mode != S_SOURCE)
		return;
	for (i = 0; i < MAX_BURST; i++) {
		n = send(s->fd, bulk, sizeof(bulk), MSG_NOSIGNAL);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		s_close(ep, s, nopen);
		return;
	}
}

int
cmd_server(int argc, char **argv)
{
	struct opts		 o;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	struct epoll_event	 evs[MAX_EVENTS];
	int			 lfd, ep, i, n, one = 1;
	double			 deadline;
	long			 nopen = 0, maxopen = 0, accepted = 0;

	parse_opts(argc, argv, &o);
	if (o.secs < 0)
		o.secs = 3600;
	if (o.pdeath) {
		/* Go away with the script that started us. */
		pid_t	parent = getppid();

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			die("server: parent already gone");
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)o.port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind 127.0.0.1:%ld: %s", o.port, strerror(errno));
	if (listen(lfd, 4096) == -1)
		die("listen: %s", strerror(errno));
	getsockname(lfd, (struct sockaddr *)&sin, &slen);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, &listen_tag);
	if (o.portfile != NULL) {
		char	tmp[PATH_MAX];
		FILE	*f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", o.portfile);
		if ((f = fopen(tmp, "we")) == NULL)
			die("%s: %s", tmp, strerror(errno));
		fprintf(f, "%d\n", ntohs(sin.sin_port));
		if (fclose(f) != 0 || rename(tmp, o.portfile) == -1)
			die("%s: %s", o.portfile, strerror(errno));
	}
	printf("slbench server: listening on 127.0.0.1:%d (pid %d, "
	    "max %.0f s)\n", ntohs(sin.sin_port), (int)getpid(), o.secs);
	fflush(stdout);

	deadline = now() + o.secs;
	while (!stop_flag && now() < deadline) {
		n = epoll_wait(ep, evs, MAX_EVENTS, 500);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct sconn	*s = evs[i].data.ptr;

			if (s == &listen_tag) {
				int	k, fd;

				for (k = 0; k < 256; k++) {
					fd = accept4(lfd, NULL, NULL,
					    SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd == -1) {
						if (errno == EMFILE ||
						    errno == ENFILE)
							fprintf(stderr,
							    "slbench server: "
							    "accept: %s\n",
							    strerror(errno));
						break;
					}
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					if ((s = calloc(1, sizeof(*s))) ==
					    NULL)
						die("out of memory");
					s->fd = fd;
					ep_set(ep, EPOLL_CTL_ADD, fd,
					    EPOLLIN, s);
					accepted++;
					if (++nopen > maxopen)
						maxopen = nopen;
				}
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				long before = nopen;

				s_readable(ep, s, &nopen);
				if (nopen != before)
					continue;	/* closed */
			}
			if (evs[i].events & EPOLLOUT)
				s_writable(ep, s, &nopen);
		}
	}
	printf("slbench server: exiting (%s); accepted %ld, max open %ld\n",
	    stop_flag ? "signal" : "time limit", accepted, maxopen);
	return 0;
}
