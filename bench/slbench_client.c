/*
 * slbench: client connections (connect, optional SOCKS5 handshake to a
 * proxy) and the probe command.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slbench.h"

/* ------------------------------------------------------------------ */
/* Client connections: connect, optional SOCKS5 handshake */

void
cc_fail(struct client *cl, struct cconn *c, const char *why, int err)
{
	(void)cl;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->st = C_FAILED;
	c->why = why;
	c->err = err;
}

/* Start a connection: to the proxy or directly to the target. */
int
cc_start(struct client *cl, struct cconn *c)
{
	c->have = c->need = 0;
	c->bytes = c->count = 0;
	c->why = NULL;
	c->err = 0;
	c->t_start = now();
	c->fd = start_connect(cl->use_proxy ? &cl->proxy : &cl->target);
	if (c->fd == -1) {
		cc_fail(cl, c, "connect", errno);
		return -1;
	}
	c->st = C_CONNECTING;
	ep_set(cl->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
	return 0;
}

/* Read up to c->need bytes into c->buf; 1 when complete, 0 more, -1. */
int
cc_read_exact(struct client *cl, struct cconn *c)
{
	ssize_t	n;

	while (c->have < c->need) {
		n = recv(c->fd, c->buf + c->have, c->need - c->have, 0);
		if (n > 0) {
			c->have += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		cc_fail(cl, c, n == 0 ? "eof" : "recv", n == 0 ? 0 : errno);
		return -1;
	}
	return 1;
}

int
cc_send_small(struct client *cl, struct cconn *c, const void *p, size_t len)
{
	ssize_t	n = send(c->fd, p, len, MSG_NOSIGNAL);

	if (n != (ssize_t)len) {
		cc_fail(cl, c, "send", n == -1 ? errno : EAGAIN);
		return -1;
	}
	return 0;
}

/*
 * Drive the connection/handshake states.  Returns 1 when the connection
 * just became C_READY, 0 while in progress, -1 on failure.
 */
int
cc_handshake(struct client *cl, struct cconn *c, uint32_t events)
{
	static const uint8_t	greet[3] = { 5, 1, 0 };
	uint8_t			req[7 + 255];
	size_t			reqlen;
	int			err = 0, r;
	socklen_t		len = sizeof(err);

	switch (c->st) {
	case C_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			cc_fail(cl, c, "connect", err);
			return -1;
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		if (!cl->use_proxy) {
			c->st = C_READY;
			c->t_ready = now();
			return 1;
		}
		if (cc_send_small(cl, c, greet, sizeof(greet)) == -1)
			return -1;
		c->st = C_GREETING;
		c->have = 0;
		c->need = 2;
		ep_set(cl->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
		return 0;
	case C_GREETING:
		if ((r = cc_read_exact(cl, c)) <= 0)
			return r;
		if (c->buf[0] != 5 || c->buf[1] != 0) {
			cc_fail(cl, c, "socks5 method", -(int)c->buf[1]);
			return -1;
		}
		req[0] = 5;
		req[1] = 1;		/* CONNECT */
		req[2] = 0;
		if (cl->hostlen > 0) {
			req[3] = 3;	/* a name, with the target's port */
			req[4] = (uint8_t)cl->hostlen;
			memcpy(req + 5, cl->host, cl->hostlen);
			memcpy(req + 5 + cl->hostlen, &cl->target.sin_port, 2);
			reqlen = 7 + cl->hostlen;
		} else {
			req[3] = 1;	/* IPv4 */
			memcpy(req + 4, &cl->target.sin_addr, 4);
			memcpy(req + 8, &cl->target.sin_port, 2);
			reqlen = 10;
		}
		if (cc_send_small(cl, c, req, reqlen) == -1)
			return -1;
		c->st = C_REQUEST;
		c->have = 0;
		c->need = 5;
		return 0;
	case C_REQUEST:
		/* VER REP RSV ATYP ADDR PORT; the length depends on ATYP. */
		if ((r = cc_read_exact(cl, c)) <= 0)
			return r;
		if (c->need == 5) {
			if (c->buf[0] != 5 || c->buf[1] != 0) {
				cc_fail(cl, c, "socks5 reply", -(int)c->buf[1]);
				return -1;
			}
			switch (c->buf[3]) {
			case 1: c->need = 4 + 4 + 2; break;
			case 4: c->need = 4 + 16 + 2; break;
			case 3: c->need = 4 + 1 + c->buf[4] + 2; break;
			default:
				cc_fail(cl, c, "socks5 atyp", EPROTO);
				return -1;
			}
			if (c->need > sizeof(c->buf)) {
				/* long domain BND.ADDR: just drain it */
				c->need = sizeof(c->buf);
			}
			if ((r = cc_read_exact(cl, c)) <= 0)
				return r;
		}
		c->st = C_READY;
		c->t_ready = now();
		return 1;
	default:
		return 0;
	}
}

void
client_init(struct client *cl, const char *proxy, const char *target)
{
	const char	*host;

	memset(cl, 0, sizeof(*cl));
	if (target == NULL)
		die("-t TARGET is required");
	parse_addr(target, &cl->target);
	if (proxy != NULL) {
		parse_addr(proxy, &cl->proxy);
		cl->use_proxy = 1;
	}
	if ((cl->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((host = getenv("SLBENCH_HOST")) != NULL && host[0] != '\0') {
		if ((cl->hostlen = strlen(host)) >= sizeof(cl->host))
			die("SLBENCH_HOST: longer than 255 bytes");
		memcpy(cl->host, host, cl->hostlen);
	}
}

const char *
cc_errstr(const struct cconn *c, char *buf, size_t len)
{
	if (c->err < 0)
		snprintf(buf, len, "%s: SOCKS5 code %d", c->why, -c->err);
	else if (c->err > 0)
		snprintf(buf, len, "%s: %s", c->why, strerror(c->err));
	else
		snprintf(buf, len, "%s", c->why != NULL ? c->why : "?");
	return buf;
}

/* Keep the first error of a run: c's, unless buf holds one already. */
void
cc_first_err(const struct cconn *c, char *buf, size_t len)
{
	if (buf[0] == '\0')
		cc_errstr(c, buf, len);
}

/* ------------------------------------------------------------------ */
/* probe: one echo exchange, retried until the deadline */

static char	probe_err[160];

static int
probe_once(struct client *cl, double timeout)
{
	struct cconn		 c;
	struct epoll_event	 evs[4];
	char			 req[REQ_SIZE], resp[REQ_SIZE];
	size_t			 got = 0;
	double			 deadline = now() + timeout;
	int			 n, r, sent = 0;

	memset(&c, 0, sizeof(c));
	memset(req, 'p', sizeof(req));
	if (cc_start(cl, &c) == -1) {
		cc_errstr(&c, probe_err, sizeof(probe_err));
		return -1;
	}
	while (now() < deadline && !stop_flag) {
		n = epoll_wait(cl->ep, evs, 4, 100);
		if (n <= 0)
			continue;
		if (c.st < C_READY) {
			r = cc_handshake(cl, &c, evs[0].events);
			if (r < 0) {
				cc_errstr(&c, probe_err, sizeof(probe_err));
				return -1;
			}
			if (r == 0)
				continue;
		}
		if (!sent) {
			if (cc_send_small(cl, &c, req, sizeof(req)) == -1)
				return -1;
			ep_set(cl->ep, EPOLL_CTL_MOD, c.fd, EPOLLIN, &c);
			sent = 1;
			continue;
		}
		ssize_t k = recv(c.fd, resp + got, sizeof(resp) - got, 0);

		if (k > 0)
			got += (size_t)k;
		else if (!(k == -1 && errno == EAGAIN))
			break;
		if (got == sizeof(resp)) {
			close(c.fd);
			return memcmp(req, resp, sizeof(req)) == 0 ? 0 : -1;
		}
	}
	if (c.fd != -1)
		close(c.fd);
	return -1;
}

int
cmd_probe(int argc, char **argv)
{
	struct opts	o;
	struct client	cl;
	double		deadline;
	int		tries = 0;

	parse_opts(argc, argv, &o);
	client_init(&cl, o.proxy, o.target);
	if (o.secs < 0)
		o.secs = 10;
	deadline = now() + o.secs;
	while (!stop_flag && tries < 10000) {
		tries++;
		if (probe_once(&cl, 2.0) == 0) {
			printf("probe ok after %d tries\n", tries);
			return 0;
		}
		if (now() + 0.1 >= deadline)
			break;
		sleep_s(0.1);
	}
	fprintf(stderr, "probe: no echo through %s after %d tries%s%s\n",
	    o.proxy != NULL ? o.proxy : o.target, tries,
	    probe_err[0] != '\0' ? "; last error: " : "", probe_err);
	return 1;
}
