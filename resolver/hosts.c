/*
 * hosts(5) parsing and host-name checks for the resolver.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/log.h"
#include "hosts.h"

int
hostname_check(char *name)
{
	size_t	len = strlen(name), label = 0, i;

	if (len == 0 || len > SL_MAX_NAME)
		return -1;
	if (name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return -1;
		if (++label > 63)
			return -1;
		name[i] = (char)tolower(c);
	}
	return 0;
}

static int
hosts_addr(const char *s, struct sl_res_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->addr) == 1) {
		a->family = 6;
		return 0;
	}
	return -1;
}

static void
hosts_add(struct hosts_table *t, const char *name,
    const struct sl_res_addr *a)
{
	char			 n[SL_MAX_NAME + 1];
	struct hosts_entry	*e;

	if (t->n >= HOSTS_MAX_ENTRIES || strlen(name) > SL_MAX_NAME)
		return;
	strcpy(n, name);
	if (hostname_check(n) == -1)
		return;
	if (t->e == NULL &&
	    (t->e = calloc(HOSTS_MAX_ENTRIES, sizeof(*t->e))) == NULL)
		fatal("%s: calloc", __func__);
	e = &t->e[t->n++];
	strcpy(e->name, n);
	e->addr = *a;
}

static void
hosts_line(struct hosts_table *t, char *line)
{
	struct sl_res_addr	 a;
	char			*tok, *save = NULL, *hash;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	if ((tok = strtok_r(line, " \t\r", &save)) == NULL ||
	    hosts_addr(tok, &a) == -1)
		return;
	while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL)
		hosts_add(t, tok, &a);
}

void
hosts_parse(struct hosts_table *t, const char *text, size_t len)
{
	char	*copy, *line, *save = NULL;

	if ((copy = malloc(len + 1)) == NULL)
		fatal("%s: malloc", __func__);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		hosts_line(t, line);
	free(copy);
}

void
hosts_load(struct hosts_table *t, const char *path)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	memset(t, 0, sizeof(*t));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_debug("%s: %s: %s", __func__, path, strerror(errno));
		return;
	}
	if ((buf = malloc(HOSTS_MAX_BYTES)) == NULL)
		fatal("%s: malloc", __func__);
	while (len < HOSTS_MAX_BYTES &&
	    (n = read(fd, buf + len, HOSTS_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	close(fd);
	hosts_parse(t, buf, len);
	free(buf);
}

size_t
hosts_lookup(const struct hosts_table *t, const char *name,
    struct sl_res_addr *out, size_t cap)
{
	size_t	i, k = 0;

	for (i = 0; i < t->n && k < cap; i++)
		if (strcmp(t->e[i].name, name) == 0)
			out[k++] = t->e[i].addr;
	if (k == 0 && cap >= 2 && strcmp(name, "localhost") == 0) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = 4;
		out[0].addr[0] = 127;
		out[0].addr[3] = 1;
		out[1].family = 6;
		out[1].addr[15] = 1;
		k = 2;
	}
	return k;
}

void
hosts_free(struct hosts_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}
