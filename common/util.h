/*
 * Small helpers every process uses: address formatting and parsing,
 * fd flags, monotonic time.
 */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define SL_ADDRSTRLEN	64	/* "[v6addr%scope]:port" */

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/*
 * An IPv4 or IPv6 peer, in the room it needs (28 bytes, not a
 * sockaddr_storage's 128): kept per session.
 */
union sl_peer_addr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* util.c */
const char	*sockaddr_fmt(const struct sockaddr *, char *, size_t);
uint16_t	 sockaddr_port(const struct sockaddr *);
socklen_t	 sockaddr_len(int family);
/* Parse an IP literal (no DNS) with port into ss.  0 or -1. */
int		 sockaddr_from_ip(const char *ip, uint16_t port,
		    struct sockaddr_storage *ss, socklen_t *len);
/* An IPv4-mapped IPv6 address becomes plain IPv4 (in place). */
void		 sockaddr_unmap(struct sockaddr_storage *, socklen_t *);
int		 fd_nonblock(int fd);
uint64_t	 mono_ms(void);
void		 close_from(int lowfd);
/*
 * Copy s to d (not overlapping) for a log line: bytes < 0x20, 0x7f and
 * >= 0x80 become \xNN, so d is printable ASCII and up to 4 times as long
 * as s; truncated to dlen - 1 bytes, never inside an escape.
 */
#define SL_SANITIZE_GROWTH	4
void		 str_sanitize(char *d, size_t dlen, const char *s);
/* The same for n bytes that may hold NULs. */
void		 mem_sanitize(char *d, size_t dlen, const char *s, size_t n);

#endif
