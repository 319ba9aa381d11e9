/*
 * The start-up sequence of a confined child (see child.h): the same steps
 * in the same order for every role, so that a new role, or a fix to the
 * lockdown, is written once.
 */
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/privdrop.h"
#include "child.h"
#include "codec.h"

/* A decimal option in [min, max], or -1. */
static long
child_arg(const char *s, long min, long max)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	return v;
}

void
child_begin(struct child_start *cs, const struct child_desc *d, int argc,
    char *argv[])
{
	static char	 name[32];
	const char	*idx = NULL, *nw = NULL, *uid = NULL, *gid = NULL;
	long		 index, nworkers, u, g;
	int		 ch;

	memset(cs, 0, sizeof(*cs));
	cs->desc = d;
	/* Before anything can fail: the parent check needs the original. */
	cs->ppid = getppid();
	optind = 1;
	while ((ch = getopt(argc, argv, "P:I:N:u:g:")) != -1) {
		switch (ch) {
		case 'I': idx = optarg; break;
		case 'N': nw = optarg; break;
		case 'u': uid = optarg; break;
		case 'g': gid = optarg; break;
		default: break;
		}
	}
	index = child_arg(idx, 0, SL_MAX_WORKERS - 1);
	nworkers = child_arg(nw, 1, SL_MAX_WORKERS);
	u = child_arg(uid, 1, (long)INT32_MAX);
	g = child_arg(gid, 1, (long)INT32_MAX);
	if (d->indexed && index >= 0)
		snprintf(name, sizeof(name), "%s %ld", d->role, index);
	else
		snprintf(name, sizeof(name), "%s", d->role);
	log_init(name, SL_LOG_INFO);
	child_log_to_master(SL_CHILD_CHAN_FD);
	if (index < 0 || nworkers < 0 || index >= nworkers || u < 0 || g < 0)
		fatalx("%s: bad arguments", d->role);
	cs->index = (uint32_t)index;
	cs->nworkers = (uint32_t)nworkers;
	cs->uid = (uid_t)u;
	cs->gid = (gid_t)g;
	(void)prctl(PR_SET_NAME, d->title);
	signal(SIGPIPE, SIG_IGN);
	child_boot(SL_CHILD_CHAN_FD, &cs->boot);
}

void
child_master_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)c;
	(void)arg;
	if (why != NULL)
		log_warnx("master channel: %s", why);
	_exit(0);
}

void
child_confine(struct child_start *cs, const char *root,
    struct ipc_chan *master)
{
	const struct child_desc	*d = cs->desc;
	struct sl_msg		 ready;

	privdrop(cs->uid, cs->gid, root);
	/* The death signal is cleared by the uid change: set it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != cs->ppid)
		fatalx("%s: master gone", d->role);
	d->sandbox(&cs->sb);

	memset(&ready, 0, sizeof(ready));
	ready.type = SL_MSG_READY;
	ready.fd = -1;
	if (master == NULL || ipc_chan_send(master, &ready) == -1)
		fatalx("%s: cannot send READY", d->role);
}
