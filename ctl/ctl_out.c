/*
 * sluicectl's output.  Every string and number printed comes from the
 * server's answer, so each field's type is checked before use (a wrong
 * type prints "?" rather than failing the whole table) and strings are
 * reduced to printable ASCII, so no escape sequence from a client name or
 * a target can reach the operator's terminal.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* 2^53: every integer up to it is exact in a double. */
#define MAX_EXACT	9007199254740992.0

struct table {
	size_t		  ncols;
	const char	 *align;	/* per column 'l' or 'r' */
	char		**cells;	/* row-major, ncols per row */
	size_t		  ncells, cap;
	int		  oom;
};

void
ctl_warnx(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *
ctl_safe(const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*d, *p;
	size_t			 n;

	n = strlen(s);
	if (n > (SIZE_MAX - 1) / 4 || (d = malloc(n * 4 + 1)) == NULL)
		return NULL;
	for (p = d; *s != '\0'; s++) {
		unsigned char	ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f) {
			*p++ = (char)ch;
			continue;
		}
		*p++ = '\\';
		*p++ = 'x';
		*p++ = hex[ch >> 4];
		*p++ = hex[ch & 0xf];
	}
	*p = '\0';
	return d;
}

int
ctl_print_json(const cJSON *v)
{
	char	*text;

	/* cJSON escapes control characters inside strings. */
	if ((text = cJSON_Print(v)) == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	printf("%s\n", text);
	free(text);
	return CTL_EXIT_OK;
}

/* A non-negative integer field that a double holds exactly, or -1. */
static double
get_count(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > MAX_EXACT)
		return -1;
	return floor(v->valuedouble + 0.5);
}

static const char *
fmt_count(const cJSON *obj, const char *key, char *buf, size_t len)
{
	double	n = get_count(obj, key);

	if (n < 0)
		return "?";
	snprintf(buf, len, "%.0f", n);
	return buf;
}

/* 3s, 2m05s, 1h02m, 3d04h: short enough for a table column. */
static const char *
fmt_age(double ms, char *buf, size_t len)
{
	unsigned long long	s;

	if (ms < 0)
		return "?";
	s = (unsigned long long)(ms / 1000);
	if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	return buf;
}

/* A string field, "-" when null and allowed to be, "?" otherwise. */
static const char *
get_text(const cJSON *obj, const char *key, int nullable)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (nullable && (v == NULL || cJSON_IsNull(v)))
		return "-";
	return "?";
}

static void
table_init(struct table *t, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->align = align;
	t->ncols = strlen(align);
}

/* Append one cell (a safe copy of s); rows fill left to right. */
static void
table_add(struct table *t, const char *s)
{
	char	**cells;
	size_t	  cap;

	if (t->oom)
		return;
	if (t->ncells == t->cap) {
		cap = t->cap == 0 ? 64 : t->cap * 2;
		if ((cells = reallocarray(t->cells, cap, sizeof(*cells))) ==
		    NULL) {
			t->oom = 1;
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	if ((t->cells[t->ncells] = ctl_safe(s)) == NULL) {
		t->oom = 1;
		return;
	}
	t->ncells++;
}

static void
table_free(struct table *t)
{
	size_t	i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* Print and free the table; the first row is the heading. */
static int
table_print(struct table *t)
{
	size_t	width[16] = { 0 }, i, col, len;

	if (t->oom || t->ncols > 16 || t->ncells % t->ncols != 0) {
		table_free(t);
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	for (i = 0; i < t->ncells; i++) {
		len = strlen(t->cells[i]);
		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		if (col == t->ncols - 1 && t->align[col] == 'l')
			printf("%s\n", t->cells[i]);
		else if (t->align[col] == 'l')
			printf("%-*s  ", (int)width[col], t->cells[i]);
		else
			printf("%*s%s", (int)width[col], t->cells[i],
			    col == t->ncols - 1 ? "\n" : "  ");
	}
	table_free(t);
	return CTL_EXIT_OK;
}

static void
table_heading(struct table *t, const char *const *names)
{
	size_t	i;

	for (i = 0; i < t->ncols; i++)
		table_add(t, names[i]);
}

int
out_sessions(const cJSON *rows)
{
	static const char *const head[] = { "ID", "WORKER", "LISTENER",
	    "CLIENT", "TARGET", "LINK", "UP", "DOWN", "AGE", "IDLE" };
	const cJSON	*row;
	struct table	 t;
	char		 buf[32];

	table_init(&t, "llllllrrrr");
	table_heading(&t, head);
	cJSON_ArrayForEach(row, rows) {
		table_add(&t, get_text(row, "id", 0));
		table_add(&t, get_text(row, "worker", 0));
		table_add(&t, get_text(row, "listener", 0));
		table_add(&t, get_text(row, "client", 0));
		table_add(&t, get_text(row, "target", 1));
		table_add(&t, get_text(row, "link", 1));
		table_add(&t, fmt_count(row, "bytes_up", buf, sizeof(buf)));
		table_add(&t, fmt_count(row, "bytes_down", buf, sizeof(buf)));
		table_add(&t, fmt_age(get_count(row, "age_ms"), buf,
		    sizeof(buf)));
		table_add(&t, fmt_age(get_count(row, "idle_ms"), buf,
		    sizeof(buf)));
	}
	return table_print(&t);
}

/* "name", or "tenant/name" when the daemon has tenants. */
static void
add_scoped_name(struct table *t, const cJSON *obj)
{
	char	name[160];

	if (cJSON_GetObjectItemCaseSensitive(obj, "tenant") == NULL) {
		table_add(t, get_text(obj, "name", 0));
		return;
	}
	snprintf(name, sizeof(name), "%s/", get_text(obj, "tenant", 0));
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s",
	    get_text(obj, "name", 0));
	table_add(t, name);
}

static void
links_row(struct table *t, const cJSON *link)
{
	char	buf[32];
	double	n;

	add_scoped_name(t, link);
	table_add(t, get_text(link, "state", 0));
	n = get_count(link, "cooldown_s");
	if (n == 0)
		table_add(t, "-");
	else
		table_add(t, fmt_age(n < 0 ? n : n * 1000, buf, sizeof(buf)));
	table_add(t, get_text(link, "health", 0));
	table_add(t, fmt_count(link, "active", buf, sizeof(buf)));
	table_add(t, fmt_count(link, "total", buf, sizeof(buf)));
	table_add(t, fmt_count(link, "failed", buf, sizeof(buf)));
	table_add(t, fmt_count(link, "bytes_up", buf, sizeof(buf)));
	table_add(t, fmt_count(link, "bytes_down", buf, sizeof(buf)));
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(link,
	    "connect_ms_avg")))
		table_add(t, "-");
	else
		table_add(t, fmt_count(link, "connect_ms_avg", buf,
		    sizeof(buf)));
}

int
out_links(const cJSON *result)
{
	static const char *const head[] = { "NAME", "STATE", "COOLDOWN",
	    "HEALTH", "ACTIVE", "TOTAL", "FAILED", "UP", "DOWN",
	    "CONNECT_MS" };
	const cJSON	*links, *link;
	struct table	 t;

	links = cJSON_GetObjectItemCaseSensitive(result, "links");
	if (!cJSON_IsArray(links)) {
		ctl_warnx("malformed answer from sluiced: no \"links\" list");
		return CTL_EXIT_UNREACHABLE;
	}
	table_init(&t, "lllrrrrrrr");
	table_heading(&t, head);
	cJSON_ArrayForEach(link, links)
		links_row(&t, link);
	return table_print(&t);
}

/* `agents`: the tunnel connections, server ends and agent ends. */
int
out_agents(const cJSON *result)
{
	static const char *const head[] = { "AGENT", "END", "PEER", "ON",
	    "STATE", "STREAMS", "AGE", "IN", "OUT" };
	const cJSON	*rows, *row;
	struct table	 t;
	char		 buf[32];
	const char	*on;

	rows = cJSON_GetObjectItemCaseSensitive(result, "agents");
	if (!cJSON_IsArray(rows)) {
		ctl_warnx("malformed answer from sluiced: no \"agents\" list");
		return CTL_EXIT_UNREACHABLE;
	}
	table_init(&t, "lllllrrrr");
	table_heading(&t, head);
	cJSON_ArrayForEach(row, rows) {
		table_add(&t, get_text(row, "agent", 0)[0] != '\0' ?
		    get_text(row, "agent", 0) : "-");
		table_add(&t, get_text(row, "end", 0));
		table_add(&t, get_text(row, "peer", 0));
		on = get_text(row, "listener", 0);
		table_add(&t, on[0] != '\0' && strcmp(on, "?") != 0 ? on :
		    get_text(row, "server", 0));
		table_add(&t, get_text(row, "state", 0));
		table_add(&t, fmt_count(row, "streams", buf, sizeof(buf)));
		table_add(&t, fmt_age(get_count(row, "age_ms"), buf,
		    sizeof(buf)));
		table_add(&t, fmt_count(row, "bytes_in", buf, sizeof(buf)));
		table_add(&t, fmt_count(row, "bytes_out", buf, sizeof(buf)));
	}
	return table_print(&t);
}

/* Print "label value" for a string field, safely. */
static void
print_field(const char *label, const cJSON *obj, const char *key)
{
	char	*safe = ctl_safe(get_text(obj, key, 1));

	printf("%-12s%s\n", label, safe != NULL ? safe : "?");
	free(safe);
}

static void
print_count(const char *label, const cJSON *obj, const char *key)
{
	char	buf[32];

	printf("%-12s%s\n", label, fmt_count(obj, key, buf, sizeof(buf)));
}

static int
status_processes(const cJSON *procs)
{
	static const char *const head[] = { "PROCESS", "ROLE", "PID",
	    "GENERATION", "STATE" };
	const cJSON	*p;
	struct table	 t;
	char		 buf[32];

	table_init(&t, "llrrl");
	table_heading(&t, head);
	cJSON_ArrayForEach(p, procs) {
		table_add(&t, get_text(p, "name", 0));
		table_add(&t, get_text(p, "role", 0));
		table_add(&t, fmt_count(p, "pid", buf, sizeof(buf)));
		table_add(&t, fmt_count(p, "generation", buf, sizeof(buf)));
		table_add(&t, get_text(p, "state", 0));
	}
	return table_print(&t);
}

static int
status_listeners(const cJSON *listeners)
{
	static const char *const head[] = { "LISTENER", "KIND", "LISTEN",
	    "ACTIVE", "TOTAL", "CLIENTS" };
	const cJSON	*l;
	struct table	 t;
	char		 buf[32];

	table_init(&t, "lllrrr");
	table_heading(&t, head);
	cJSON_ArrayForEach(l, listeners) {
		add_scoped_name(&t, l);
		table_add(&t, get_text(l, "kind", 0));
		table_add(&t, get_text(l, "listen", 0));
		table_add(&t, fmt_count(l, "active", buf, sizeof(buf)));
		table_add(&t, fmt_count(l, "total", buf, sizeof(buf)));
		table_add(&t, fmt_count(l, "clients", buf, sizeof(buf)));
	}
	return table_print(&t);
}

static int
status_tenants(const cJSON *tenants)
{
	static const char *const head[] = { "TENANT", "GENERATION",
	    "WORKERS", "UID", "SESSIONS" };
	const cJSON	*o;
	struct table	 t;
	char		 buf[32];

	table_init(&t, "lrrrr");
	table_heading(&t, head);
	cJSON_ArrayForEach(o, tenants) {
		table_add(&t, get_text(o, "name", 0));
		table_add(&t, fmt_count(o, "generation", buf, sizeof(buf)));
		table_add(&t, fmt_count(o, "workers", buf, sizeof(buf)));
		table_add(&t, fmt_count(o, "uid", buf, sizeof(buf)));
		table_add(&t, fmt_count(o, "sessions", buf, sizeof(buf)));
	}
	return table_print(&t);
}

int
out_status(const cJSON *st)
{
	const cJSON	*procs, *listeners, *tenants;
	char		 buf[32];
	int		 rc;

	procs = cJSON_GetObjectItemCaseSensitive(st, "processes");
	listeners = cJSON_GetObjectItemCaseSensitive(st, "listeners");
	if (!cJSON_IsObject(st) || !cJSON_IsArray(procs) ||
	    !cJSON_IsArray(listeners)) {
		ctl_warnx("malformed answer from sluiced: status without "
		    "\"processes\" or \"listeners\"");
		return CTL_EXIT_UNREACHABLE;
	}
	print_field("version", st, "version");
	print_count("pid", st, "pid");
	print_count("generation", st, "generation");
	printf("%-12s%s\n", "uptime", fmt_age(get_count(st, "uptime_s") < 0 ?
	    -1 : get_count(st, "uptime_s") * 1000, buf, sizeof(buf)));
	print_count("reloads", st, "reloads");
	print_field("log_level", st, "log_level");
	print_field("config", st, "config");
	print_count("sessions", st, "sessions");
	print_count("handshakes", st, "handshakes");
	printf("\n");
	tenants = cJSON_GetObjectItemCaseSensitive(st, "tenants");
	if (cJSON_IsArray(tenants)) {
		if ((rc = status_tenants(tenants)) != CTL_EXIT_OK)
			return rc;
		printf("\n");
	}
	if ((rc = status_processes(procs)) != CTL_EXIT_OK)
		return rc;
	printf("\n");
	return status_listeners(listeners);
}

int
out_allow(const cJSON *result)
{
	const cJSON	*clients, *c;
	char		*name, *cidr;

	clients = cJSON_GetObjectItemCaseSensitive(result, "clients");
	if (!cJSON_IsArray(clients)) {
		ctl_warnx("malformed answer from sluiced: no \"clients\" "
		    "list");
		return CTL_EXIT_UNREACHABLE;
	}
	if (cJSON_GetArraySize(clients) == 0) {
		name = ctl_safe(get_text(result, "listener", 0));
		printf("%s: no client list, every client may connect\n",
		    name != NULL ? name : "?");
		free(name);
		return CTL_EXIT_OK;
	}
	cJSON_ArrayForEach(c, clients) {
		cidr = ctl_safe(cJSON_IsString(c) ? c->valuestring : "?");
		printf("%s\n", cidr != NULL ? cidr : "?");
		free(cidr);
	}
	return CTL_EXIT_OK;
}

int
out_loglevel(const cJSON *result)
{
	char	*level = ctl_safe(get_text(result, "level", 0));

	printf("%s\n", level != NULL ? level : "?");
	free(level);
	return CTL_EXIT_OK;
}

int
out_killed(const cJSON *result)
{
	char	buf[32];

	printf("killed %s\n", fmt_count(result, "killed", buf, sizeof(buf)));
	return CTL_EXIT_OK;
}

int
out_generation(const cJSON *result)
{
	char	buf[32];

	printf("generation %s\n", fmt_count(result, "generation", buf,
	    sizeof(buf)));
	return CTL_EXIT_OK;
}

/*
 * A worker that did not answer in time is named in "incomplete": the
 * listing or the kill went on without it, which the operator must know.
 */
void
ctl_warn_incomplete(const cJSON *result)
{
	const cJSON	*missing, *w;
	char		*name;

	missing = cJSON_GetObjectItemCaseSensitive(result, "incomplete");
	if (!cJSON_IsArray(missing))
		return;
	cJSON_ArrayForEach(w, missing) {
		name = ctl_safe(cJSON_IsString(w) ? w->valuestring : "?");
		ctl_warnx("warning: %s did not answer; its sessions are not "
		    "included", name != NULL ? name : "a worker");
		free(name);
	}
}
