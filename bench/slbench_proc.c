/*
 * slbench: CPU time and memory of a process tree (sluiced's master and
 * all its descendants), the server and the whole machine, from /proc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/types.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slbench.h"

/* ------------------------------------------------------------------ */
/* Process accounting: CPU time and memory of a process tree */

/* Fields of /proc/PID/stat after the ")" of comm. */
static int
read_stat(pid_t pid, char *comm, size_t commlen, pid_t *ppid,
    double *cpu)
{
	char		 path[64], buf[1024], *p, *q;
	FILE		*f;
	size_t		 n;
	unsigned long	 ut = 0, st = 0;
	int		 pp = 0, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strchr(buf, '(')) == NULL || (q = strrchr(buf, ')')) == NULL)
		return -1;
	if (comm != NULL) {
		size_t l = (size_t)(q - p - 1);

		if (l >= commlen)
			l = commlen - 1;
		memcpy(comm, p + 1, l);
		comm[l] = '\0';
	}
	/* q+2 is field 3 (state). ppid is 4, utime 14, stime 15. */
	p = q + 2;
	for (field = 3; field <= 15 && *p != '\0'; field++) {
		if (field == 4)
			pp = atoi(p);
		else if (field == 14)
			ut = strtoul(p, NULL, 10);
		else if (field == 15)
			st = strtoul(p, NULL, 10);
		while (*p != '\0' && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	if (ppid != NULL)
		*ppid = pp;
	if (cpu != NULL)
		*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* The root and all its descendants (found by ppid), root first. */
static void
proctree_find(struct proctree *t, pid_t root)
{
	struct {
		pid_t	pid, ppid;
		char	comm[20];
	}		*all;
	size_t		 nall = 0, cap = 32768, i;
	DIR		*d;
	struct dirent	*de;
	int		 k, grew;

	t->n = 0;
	if (root <= 0)
		return;
	if ((all = calloc(cap, sizeof(*all))) == NULL)
		die("out of memory");
	if ((d = opendir("/proc")) == NULL)
		die("/proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL && nall < cap) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		all[nall].pid = atoi(de->d_name);
		if (read_stat(all[nall].pid, all[nall].comm,
		    sizeof(all[nall].comm), &all[nall].ppid, NULL) == 0)
			nall++;
	}
	closedir(d);
	for (i = 0; i < nall; i++)
		if (all[i].pid == root) {
			t->pids[0] = root;
			snprintf(t->names[0], sizeof(t->names[0]), "%s",
			    all[i].comm);
			t->n = 1;
		}
	/* Repeat until no new descendant is found (depth is small). */
	do {
		grew = 0;
		for (i = 0; i < nall && t->n < MAX_PROCS; i++) {
			int in = 0, parent = 0;

			for (k = 0; k < t->n; k++) {
				if (t->pids[k] == all[i].pid)
					in = 1;
				if (t->pids[k] == all[i].ppid)
					parent = 1;
			}
			if (!in && parent) {
				t->pids[t->n] = all[i].pid;
				snprintf(t->names[t->n], sizeof(t->names[0]),
				    "%s", all[i].comm);
				t->n++;
				grew = 1;
			}
		}
	} while (grew);
	free(all);
}

static double
proctree_cpu(const struct proctree *t, double *per)
{
	double	sum = 0, c;
	int	i;

	for (i = 0; i < t->n; i++) {
		c = 0;
		if (read_stat(t->pids[i], NULL, 0, NULL, &c) == 0)
			sum += c;
		if (per != NULL)
			per[i] = c;
	}
	return sum;
}

static double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Pss and Rss in KiB from smaps_rollup (Rss from status as fallback). */
static int
proc_mem(pid_t pid, long *pss, long *rss)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 v;

	*pss = *rss = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Pss: %ld kB", &v) == 1)
				*pss = v;
			else if (sscanf(line, "Rss: %ld kB", &v) == 1)
				*rss = v;
		}
		fclose(f);
	}
	if (*rss < 0) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		if ((f = fopen(path, "re")) == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
				*rss = v;
		fclose(f);
	}
	return *rss < 0 ? -1 : 0;
}

static int
proc_nfds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long
meminfo_kib(const char *key)
{
	char	 line[256];
	FILE	*f;
	long	 v = -1, x;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 &&
		    sscanf(line + strlen(key), ": %ld kB", &x) == 1)
			v = x;
	fclose(f);
	return v;
}

static long
sockstat_tcp_mem_kib(void)
{
	char	 line[512], *p;
	FILE	*f;
	long	 v = -1;

	if ((f = fopen("/proc/net/sockstat", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "TCP:", 4) == 0 &&
		    (p = strstr(line, " mem ")) != NULL)
			v = atol(p + 5) * (sysconf(_SC_PAGESIZE) / 1024);
	fclose(f);
	return v;
}

void
mem_snapshot(pid_t master, struct memsnap *m, const char *label, int verbose)
{
	struct proctree	t;
	long		pss, rss;
	int		i;

	proctree_find(&t, master);
	m->pss = m->rss = 0;
	m->nprocs = t.n;
	for (i = 0; i < t.n; i++) {
		if (proc_mem(t.pids[i], &pss, &rss) == -1)
			continue;
		m->pss += pss < 0 ? rss : pss;
		m->rss += rss;
		if (verbose)
			printf("  %-12s pid %-7d %-15s Pss %7ld KiB  Rss %7ld "
			    "KiB  fds %d\n", label, (int)t.pids[i],
			    t.names[i], pss, rss, proc_nfds(t.pids[i]));
	}
	m->slab_kib = meminfo_kib("Slab");
	m->tcp_mem_kib = sockstat_tcp_mem_kib();
	if (verbose)
		printf("  %-12s total: %d processes, Pss %ld KiB, Rss %ld KiB; "
		    "kernel Slab %ld KiB, TCP mem %ld KiB\n", label, m->nprocs,
		    m->pss, m->rss, m->slab_kib, m->tcp_mem_kib);
}

/*
 * Whole machine, from the first line of /proc/stat, in seconds: busy
 * (everything but idle and iowait) and softirq.  On loopback much of
 * TCP's receive work runs as softirq and is not charged to any process.
 */
static void
host_cpu(double *busy, double *sirq)
{
	unsigned long long	v[8] = { 0 };
	double			hz = (double)sysconf(_SC_CLK_TCK);
	FILE			*f;

	*busy = *sirq = 0;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
		*sirq = (double)v[6] / hz;
	}
	fclose(f);
}

void
cpuwin_start(struct cpuwin *w, pid_t master, pid_t server)
{
	proctree_find(&w->proxy, master);
	w->server = server;
	w->server0 = 0;
	if (server > 0)
		read_stat(server, NULL, 0, NULL, &w->server0);
	w->proxy0 = proctree_cpu(&w->proxy, NULL);
	host_cpu(&w->busy0, &w->sirq0);
	w->self0 = self_cpu();
	w->t0 = now();
}

void
cpuwin_end(struct cpuwin *w)
{
	double	c = 0, b, si;

	w->secs = now() - w->t0;
	w->self = self_cpu() - w->self0;
	host_cpu(&b, &si);
	w->busy = b - w->busy0;
	w->sirq = si - w->sirq0;
	w->proxy_cpu = w->proxy.n > 0 ? proctree_cpu(&w->proxy, NULL) -
	    w->proxy0 : 0;
	if (w->server > 0 && read_stat(w->server, NULL, 0, NULL, &c) == 0)
		w->server_cpu = c - w->server0;
	else
		w->server_cpu = 0;
	/* What the rest of the machine used: noise from other processes. */
	w->other = w->busy - w->sirq - w->self - w->proxy_cpu - w->server_cpu;
	if (w->other < 0)
		w->other = 0;
}

void
cpuwin_print(const struct cpuwin *w)
{
	double	s = w->secs > 0 ? w->secs : 1;

	printf("  cpu over %.2f s: client %.2f s (%.0f%%), proxy %.2f s "
	    "(%.0f%%, %d procs), server %.2f s (%.0f%%), softirq %.0f%%, "
	    "other processes %.0f%%\n", w->secs, w->self,
	    100 * w->self / s, w->proxy_cpu, 100 * w->proxy_cpu / s,
	    w->proxy.n, w->server_cpu, 100 * w->server_cpu / s,
	    100 * w->sirq / s, 100 * w->other / s);
}

void
cpuwin_result(const struct cpuwin *w)
{
	double	s = w->secs > 0 ? w->secs : 1;

	printf(" cpu_secs=%.3f client_cpu_pct=%.1f proxy_cpu_pct=%.1f "
	    "server_cpu_pct=%.1f softirq_pct=%.1f other_pct=%.1f "
	    "host_busy_pct=%.1f proxy_procs=%d", w->secs, 100 * w->self / s,
	    100 * w->proxy_cpu / s, 100 * w->server_cpu / s,
	    100 * w->sirq / s, 100 * w->other / s, 100 * w->busy / s,
	    w->proxy.n);
}
