/*
 * The control socket's wire: a 4-byte big-endian length, then that many
 * bytes of one JSON object, in both directions.  Nothing the server sends
 * is trusted: the length is capped before allocation, the text must be
 * exactly one JSON object, and every read and write has a deadline so a
 * silent or stuck sluiced cannot hang the operator's shell.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until fd is ready for events or the deadline passes.
 * 0 ready, -1 timeout or error (reported).
 */
static int
wait_fd(const struct ctl_conn *c, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			ctl_warnx("no answer from sluiced within %d s",
			    (c->timeout_ms + 999) / 1000);
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR) {
			ctl_warnx("poll: %s", strerror(errno));
			return -1;
		}
	}
}

int
ctl_open(struct ctl_conn *c, const char *path, int timeout_ms)
{
	struct sockaddr_un	sun;

	c->fd = -1;
	c->path = path;
	c->timeout_ms = timeout_ms;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		ctl_warnx("socket path too long (at most %zu bytes)",
		    sizeof(sun.sun_path) - 1);
		return CTL_EXIT_UNREACHABLE;
	}
	memcpy(sun.sun_path, path, strlen(path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd == -1) {
		ctl_warnx("socket: %s", strerror(errno));
		return CTL_EXIT_UNREACHABLE;
	}
	/*
	 * A UNIX connect does not block in the kernel; EAGAIN means the
	 * listen queue is full, which to the operator is "not reachable".
	 */
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		char	*safe = ctl_safe(path);

		ctl_warnx("cannot connect to %s: %s", safe ? safe : "socket",
		    strerror(errno));
		free(safe);
		ctl_close(c);
		return CTL_EXIT_UNREACHABLE;
	}
	return CTL_EXIT_OK;
}

void
ctl_close(struct ctl_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static int
write_all(const struct ctl_conn *c, const unsigned char *p, size_t len,
    int64_t deadline)
{
	ssize_t	n;

	while (len > 0) {
		if (wait_fd(c, POLLOUT, deadline) == -1)
			return -1;
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ctl_warnx("send to sluiced: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(const struct ctl_conn *c, unsigned char *p, size_t len,
    int64_t deadline)
{
	ssize_t	n;

	while (len > 0) {
		if (wait_fd(c, POLLIN, deadline) == -1)
			return -1;
		n = recv(c->fd, p, len, 0);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ctl_warnx("receive from sluiced: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			ctl_warnx("sluiced closed the connection before "
			    "answering");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Frame and send one request object.  CTL_EXIT_* code. */
static int
send_request(const struct ctl_conn *c, const cJSON *req, int64_t deadline)
{
	unsigned char	 hdr[4];
	char		*text;
	size_t		 len;
	int		 rc = CTL_EXIT_UNREACHABLE;

	if ((text = cJSON_PrintUnformatted(req)) == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	len = strlen(text);
	if (len > CTL_REQUEST_MAX) {
		ctl_warnx("request too large (%zu bytes, at most %u): "
		    "use fewer arguments", len, CTL_REQUEST_MAX);
		free(text);
		return CTL_EXIT_REFUSED;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	if (write_all(c, hdr, sizeof(hdr), deadline) == 0 &&
	    write_all(c, (unsigned char *)text, len, deadline) == 0)
		rc = CTL_EXIT_OK;
	free(text);
	return rc;
}

/* Read one framed answer and parse it.  NULL after a reported error. */
static cJSON *
read_answer(const struct ctl_conn *c, int64_t deadline)
{
	unsigned char	 hdr[4];
	unsigned char	*buf;
	const char	*end = NULL;
	uint32_t	 len;
	cJSON		*answer;

	if (read_all(c, hdr, sizeof(hdr), deadline) == -1)
		return NULL;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > CTL_ANSWER_MAX) {
		ctl_warnx("malformed answer from sluiced: length %u", len);
		return NULL;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		ctl_warnx("out of memory");
		return NULL;
	}
	if (read_all(c, buf, len, deadline) == -1) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	answer = cJSON_ParseWithLengthOpts((char *)buf, len, &end, 0);
	/* One object and nothing after it but blanks. */
	while (answer != NULL && end != NULL && end < (char *)buf + len &&
	    (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (answer == NULL || !cJSON_IsObject(answer) ||
	    end != (char *)buf + len) {
		ctl_warnx("malformed answer from sluiced: not one JSON "
		    "object");
		cJSON_Delete(answer);
		answer = NULL;
	}
	free(buf);
	return answer;
}

/* Split a checked answer into result or printed error. */
static int
take_result(cJSON *answer, cJSON **resultp)
{
	const cJSON	*ok = cJSON_GetObjectItemCaseSensitive(answer, "ok");
	const cJSON	*err;
	char		*safe;

	if (cJSON_IsTrue(ok)) {
		*resultp = cJSON_DetachItemFromObjectCaseSensitive(answer,
		    "result");
		if (*resultp != NULL)
			return CTL_EXIT_OK;
		ctl_warnx("malformed answer from sluiced: no \"result\"");
		return CTL_EXIT_UNREACHABLE;
	}
	err = cJSON_GetObjectItemCaseSensitive(answer, "error");
	if (!cJSON_IsFalse(ok) || !cJSON_IsString(err)) {
		ctl_warnx("malformed answer from sluiced: no \"ok\" or "
		    "\"error\"");
		return CTL_EXIT_UNREACHABLE;
	}
	safe = ctl_safe(err->valuestring);
	ctl_warnx("%s", safe != NULL ? safe : "refused");
	free(safe);
	return CTL_EXIT_REFUSED;
}

int
ctl_call(struct ctl_conn *c, const char *cmd, cJSON *args, cJSON **resultp)
{
	cJSON	*req, *answer;
	int64_t	 deadline;
	int	 rc;

	*resultp = NULL;
	if ((req = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(req, "cmd", cmd) == NULL) {
		cJSON_Delete(req);
		cJSON_Delete(args);
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	if (args != NULL)
		cJSON_AddItemToObject(req, "args", args);
	deadline = now_ms() + c->timeout_ms;
	rc = send_request(c, req, deadline);
	cJSON_Delete(req);
	if (rc != CTL_EXIT_OK)
		return rc;
	if ((answer = read_answer(c, deadline)) == NULL)
		return CTL_EXIT_UNREACHABLE;
	rc = take_result(answer, resultp);
	cJSON_Delete(answer);
	return rc;
}
