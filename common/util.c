/*
 * Small helpers every process uses.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *
sockaddr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];

	if (sa == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
		break;
	}
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

uint16_t
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

socklen_t
sockaddr_len(int family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

int
sockaddr_from_ip(const char *ip, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

void
sockaddr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in	 sin;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

int
fd_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

uint64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* close_range(2) where the kernel has it, a loop otherwise. */
void
close_from(int lowfd)
{
	long	maxfd;
	int	fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
		return;
#endif
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 1048576)
		maxfd = 1048576;
	for (fd = lowfd; fd < maxfd; fd++)
		(void)close(fd);
}

/*
 * Every byte but printable ASCII becomes \xNN.  Control bytes could end
 * a line early and forge the next one or drive a terminal; bytes >= 0x80
 * would make the log invalid UTF-8, or carry C1 controls and bidi
 * overrides (U+202E) that make a line read otherwise than it is.  The
 * text is escaped byte by byte, never decoded, so what a client sent is
 * still there to read.  An escape that does not fit is left out whole.
 */
void
mem_sanitize(char *d, size_t dlen, const char *s, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, o = 0;
	unsigned char		c;

	if (dlen == 0)
		return;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 >= dlen)
				break;
			d[o++] = (char)c;
			continue;
		}
		if (o + 4 >= dlen)
			break;
		d[o++] = '\\';
		d[o++] = 'x';
		d[o++] = hex[c >> 4];
		d[o++] = hex[c & 0xf];
	}
	d[o] = '\0';
}

void
str_sanitize(char *d, size_t dlen, const char *s)
{
	mem_sanitize(d, dlen, s, strlen(s));
}
