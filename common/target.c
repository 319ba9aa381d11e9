/*
 * The neutral target and connection error: names and formatting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"
#include "util.h"

static const char *const conn_err_names[SL_CONN_MAX] = {
	[SL_CONN_OK]		= "ok",
	[SL_CONN_FAIL]		= "failure",
	[SL_CONN_NOT_ALLOWED]	= "not allowed",
	[SL_CONN_NET_UNREACH]	= "network unreachable",
	[SL_CONN_HOST_UNREACH]	= "host unreachable",
	[SL_CONN_REFUSED]	= "refused",
	[SL_CONN_TIMEOUT]	= "timeout",
	[SL_CONN_TTL_EXPIRED]	= "ttl expired",
	[SL_CONN_UNSUPPORTED]	= "unsupported",
	[SL_CONN_ADDR_UNSUPP]	= "address type unsupported",
	[SL_CONN_NO_LINK]	= "no link",
};

const char *
sl_conn_err_name(enum sl_conn_err e)
{
	if ((unsigned)e >= SL_CONN_MAX)
		return "failure";
	return conn_err_names[e];
}

void
sl_target_fmt(const struct sl_target *t, char *buf, size_t len)
{
	if (t->host[0] != '\0')
		snprintf(buf, len, "%s:%u", t->host, t->port);
	else if (t->addrlen != 0)
		sockaddr_fmt((const struct sockaddr *)&t->addr, buf, len);
	else
		snprintf(buf, len, "-");
}

void
sl_target_set_addr(struct sl_target *t, const struct sockaddr *sa,
    socklen_t len)
{
	t->host[0] = '\0';
	if (len > sizeof(t->addr))
		len = sizeof(t->addr);
	memcpy(&t->addr, sa, len);
	t->addrlen = len;
	t->port = sockaddr_port(sa);
}

int
sl_target_set_name(struct sl_target *t, const char *name, size_t len,
    uint16_t port)
{
	if (len == 0 || len > SL_MAX_NAME || memchr(name, '\0', len) != NULL)
		return -1;
	memcpy(t->host, name, len);
	t->host[len] = '\0';
	t->addrlen = 0;
	t->port = port;
	return 0;
}

/*
 * "name:port", "1.2.3.4:port" or "[v6]:port" (what sl_target_fmt makes)
 * into t; the port 1-65535 in decimal.  0, or -1 when malformed.
 */
int
sl_target_parse(struct sl_target *t, const char *text)
{
	const char	*colon = strrchr(text, ':');
	char		 host[SL_MAX_NAME + 1], *end;
	struct sockaddr_storage ss;
	socklen_t	 sslen;
	size_t		 n;
	long		 port;

	if (colon == NULL || (n = (size_t)(colon - text)) == 0 ||
	    colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(t, 0, sizeof(*t));
	if (text[0] == '[') {
		if (n < 3 || text[n - 1] != ']' || n - 2 >= sizeof(host))
			return -1;
		memcpy(host, text + 1, n - 2);
		host[n - 2] = '\0';
		if (sockaddr_from_ip(host, (uint16_t)port, &ss, &sslen) == -1 ||
		    ss.ss_family != AF_INET6)
			return -1;
		sl_target_set_addr(t, (struct sockaddr *)&ss, sslen);
		return 0;
	}
	if (n >= sizeof(host) || memchr(text, '[', n) != NULL ||
	    memchr(text, ':', n) != NULL)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	if (sockaddr_from_ip(host, (uint16_t)port, &ss, &sslen) == 0) {
		sl_target_set_addr(t, (struct sockaddr *)&ss, sslen);
		return 0;
	}
	return sl_target_set_name(t, host, n, (uint16_t)port);
}
