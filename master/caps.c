/*
 * Reduce the master to the capabilities it needs.
 *
 * The master stays uid 0: it exec's its children as root so that they can
 * chroot and change ids themselves.  A root exec gives the new process
 * exactly the bounding set, so the bounding set is the children's
 * ceiling as much as the master's.  Dropping CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH means the master can afterwards read only files
 * that root owns or that are world-readable: intended.
 *
 * Network capabilities are kept only for work the master does after the
 * drop, and only when the config asks for that work: listeners are bound
 * before it (with IP_TRANSPARENT for tproxy ones), Redis sockets are a
 * plain connect.  What is left is bindany.c, the sockets for links bound
 * to an interface, and tproxysock.c, the transparent UDP sockets tproxy
 * flows reply from.
 */
#include <sys/capability.h>
#include <sys/prctl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../policy/config.h"
#include "caps.h"

/* Every config: the children's privdrop() and signalling them. */
static const struct {
	cap_value_t	 cap;
	const char	*why;
} caps_keep[] = {
	/* Children, exec'd as root, to drop privileges (privdrop()). */
	{ CAP_SETUID,		"children: setresuid" },
	{ CAP_SETGID,		"children: setgroups, setresgid" },
	{ CAP_SYS_CHROOT,	"children: chroot into the empty directory" },
	/* The master itself. */
	{ CAP_KILL,		"signal children running as another uid" },
};

/*
 * Kept only when the config needs them (caps_master_plan()).
 * CAP_NET_ADMIN only for IP_TRANSPARENT on tproxy UDP reply sockets;
 * nothing sets SO_MARK.
 */
static struct {
	cap_value_t	 cap;
	const char	*name;
	int		 on;
	char		 why[160];
} caps_opt[] = {
#define OPT_RAW		0
	{ CAP_NET_RAW,		"CAP_NET_RAW", 0, "" },
#define OPT_BIND	1
	{ CAP_NET_BIND_SERVICE,	"CAP_NET_BIND_SERVICE", 0, "" },
#define OPT_ADMIN	2
	{ CAP_NET_ADMIN,	"CAP_NET_ADMIN", 0, "" },
};

#define NKEEP	(sizeof(caps_keep) / sizeof(caps_keep[0]))
#define NOPT	(sizeof(caps_opt) / sizeof(caps_opt[0]))

static int	caps_kept(cap_value_t);
static void	caps_want(cap_t, cap_t, cap_value_t, const char *);
static void	caps_append(char *, size_t, size_t *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	caps_plan_tproxy(const struct sl_conf *);
static void	caps_drop_bound(void);
static void	caps_set_proc(void);
static void	caps_verify(void);

static int
caps_kept(cap_value_t c)
{
	size_t	i;

	for (i = 0; i < NKEEP; i++)
		if (caps_keep[i].cap == c)
			return 1;
	for (i = 0; i < NOPT; i++)
		if (caps_opt[i].on && caps_opt[i].cap == c)
			return 1;
	return 0;
}

/* CAP_NET_ADMIN when some listener is a tproxy UDP side. */
static void
caps_plan_tproxy(const struct sl_conf *conf)
{
	char		*why = caps_opt[OPT_ADMIN].why;
	const size_t	 len = sizeof(caps_opt[0].why);
	size_t		 i, n = 0;

	why[0] = '\0';
	for (i = 0; conf != NULL && i < conf->nlisteners; i++) {
		if (conf->listeners[i].kind != SL_LISTEN_TPROXY_UDP ||
		    n++ != 0)
			continue;
		snprintf(why, len, "listener %s: tproxy UDP replies from "
		    "original destinations", conf->listeners[i].name);
	}
	caps_opt[OPT_ADMIN].on = n != 0;
	if (n > 1)
		snprintf(why + strlen(why), len - strlen(why),
		    " (and %zu more)", n - 1);
}

/*
 * What run-time work the config asks of the master.  SO_BINDTODEVICE
 * needs CAP_NET_RAW (kernels before 5.7 always; later ones to re-bind),
 * and binding a link's source_port below 1024 at run time needs
 * CAP_NET_BIND_SERVICE.  Both happen only in bindany.c, for direct links
 * with an interface; everything else is bound before the drop.  A tproxy
 * listener's UDP side needs CAP_NET_ADMIN for IP_TRANSPARENT on each
 * flow's reply socket (tproxysock.c).
 */
void
caps_master_plan(const struct sl_conf *conf)
{
	const struct sl_link	*l;
	char			*raw = caps_opt[OPT_RAW].why;
	char			*low = caps_opt[OPT_BIND].why;
	const size_t		 len = sizeof(caps_opt[0].why);
	size_t			 i, nraw = 0, nbind = 0;
	uint16_t		 port;

	caps_plan_tproxy(conf);
	raw[0] = low[0] = '\0';
	for (i = 0; conf != NULL && i < conf->nlinks; i++) {
		l = &conf->links[i];
		if (l->proto != SL_LINK_DIRECT || l->interface[0] == '\0')
			continue;
		if (nraw++ == 0)
			snprintf(raw, len, "link %s binds to interface %s",
			    l->name, l->interface);
		port = l->sourcelen == 0 ? 0 :
		    sockaddr_port((const struct sockaddr *)&l->source);
		if (port == 0 || port >= 1024 || nbind++ != 0)
			continue;
		snprintf(low, len, "link %s binds source port %u on "
		    "interface %s", l->name, (unsigned)port, l->interface);
	}
	caps_opt[OPT_RAW].on = nraw != 0;
	caps_opt[OPT_BIND].on = nbind != 0;
	if (nraw > 1)
		snprintf(raw + strlen(raw), len - strlen(raw),
		    " (and %zu more)", nraw - 1);
	if (nbind > 1)
		snprintf(low + strlen(low), len - strlen(low),
		    " (and %zu more)", nbind - 1);
}

/*
 * The bounding set first: PR_CAPBSET_DROP needs CAP_SETPCAP, which the
 * next step gives up.
 */
static void
caps_drop_bound(void)
{
	cap_value_t	c, max = (cap_value_t)cap_max_bits();

	for (c = 0; c < max; c++) {
		if (caps_kept(c) || cap_get_bound(c) != 1)
			continue;
		if (cap_drop_bound(c) == -1)
			fatal("%s: cannot drop capability %d from the bounding "
			    "set (no CAP_SETPCAP?)", __func__, c);
	}
}

/* Add c to want's permitted and effective sets if cur holds it. */
static void
caps_want(cap_t cur, cap_t want, cap_value_t c, const char *why)
{
	cap_flag_value_t v;

	if (cap_get_flag(cur, c, CAP_PERMITTED, &v) == -1)
		fatal("%s: cap_get_flag", __func__);
	if (v != CAP_SET) {
		/* A container may withhold it; only a feature fails. */
		log_warnx("%s: capability %d not held; needed for %s",
		    __func__, c, why);
		return;
	}
	if (cap_set_flag(want, CAP_PERMITTED, 1, &c, CAP_SET) == -1 ||
	    cap_set_flag(want, CAP_EFFECTIVE, 1, &c, CAP_SET) == -1)
		fatal("%s: cap_set_flag", __func__);
}

/* Permitted = effective = kept and held; inheritable and ambient empty. */
static void
caps_set_proc(void)
{
	cap_t		cur, want;
	size_t		i;

	if ((cur = cap_get_proc()) == NULL || (want = cap_init()) == NULL)
		fatal("%s: cap_get_proc/cap_init", __func__);
	for (i = 0; i < NKEEP; i++)
		caps_want(cur, want, caps_keep[i].cap, caps_keep[i].why);
	for (i = 0; i < NOPT; i++)
		if (caps_opt[i].on)
			caps_want(cur, want, caps_opt[i].cap, caps_opt[i].why);
	if (cap_reset_ambient() == -1 && errno != EINVAL)
		fatal("%s: cap_reset_ambient", __func__);
	if (cap_set_proc(want) == -1)
		fatal("%s: cap_set_proc", __func__);
	cap_free(want);
	cap_free(cur);
}

/* Read everything back; any surprise is fatal. */
static void
caps_verify(void)
{
	cap_t		 cur;
	cap_value_t	 c, max = (cap_value_t)cap_max_bits();
	cap_flag_value_t p, e, i;

	if ((cur = cap_get_proc()) == NULL)
		fatal("%s: cap_get_proc", __func__);
	for (c = 0; c < max; c++) {
		if (cap_get_flag(cur, c, CAP_PERMITTED, &p) == -1 ||
		    cap_get_flag(cur, c, CAP_EFFECTIVE, &e) == -1 ||
		    cap_get_flag(cur, c, CAP_INHERITABLE, &i) == -1)
			fatal("%s: cap_get_flag %d", __func__, c);
		if (i == CAP_SET || p != e)
			fatalx("%s: capability %d: unexpected flags", __func__,
			    c);
		if (!caps_kept(c) && (p == CAP_SET || cap_get_bound(c) == 1))
			fatalx("%s: capability %d still held", __func__, c);
		if (cap_get_ambient(c) == 1)
			fatalx("%s: ambient capability %d left", __func__, c);
	}
	cap_free(cur);
}

/* What every config of confs needs (each tenant's, at start-up). */
static void
caps_master_plan_all(const struct sl_conf *const *confs, size_t n)
{
	int	on[NOPT];
	char	why[NOPT][sizeof(caps_opt[0].why)];
	size_t	i, k;

	memset(on, 0, sizeof(on));
	memset(why, 0, sizeof(why));
	caps_master_plan(NULL);
	for (i = 0; i < n; i++) {
		caps_master_plan(confs[i]);
		for (k = 0; k < NOPT; k++)
			if (caps_opt[k].on && !on[k]) {
				on[k] = 1;
				memcpy(why[k], caps_opt[k].why, sizeof(why[k]));
			}
	}
	for (k = 0; k < NOPT; k++) {
		caps_opt[k].on = on[k];
		memcpy(caps_opt[k].why, why[k], sizeof(why[k]));
	}
}

void
caps_master_reduce(const struct sl_conf *const *confs, size_t n)
{
	caps_master_plan_all(confs, n);
	if (getuid() != 0 || geteuid() != 0) {
		log_warnx("%s: not running as root, no capabilities to reduce",
		    __func__);
		return;
	}
	caps_drop_bound();
	caps_set_proc();
	caps_verify();
}

/* Append to buf at *off, never past len; a cut stays terminated. */
static void
caps_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	*off = (size_t)n >= len - *off ? len : *off + (size_t)n;
}

/*
 * "cap_kill,cap_setgid,...; keeping CAP_NET_RAW: link x binds to
 * interface eth0", or "...; keeping no network capabilities".  The
 * reasons are caps_master_plan()'s, shown only for what is held.
 */
const char *
caps_master_describe(char *buf, size_t len)
{
	cap_t		 cur;
	cap_value_t	 c, max = (cap_value_t)cap_max_bits();
	cap_flag_value_t v;
	char		*name;
	size_t		 off = 0, i, nnet = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if ((cur = cap_get_proc()) == NULL) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	for (c = 0; c < max; c++) {
		if (cap_get_flag(cur, c, CAP_PERMITTED, &v) == -1 ||
		    v != CAP_SET || (name = cap_to_name(c)) == NULL)
			continue;
		caps_append(buf, len, &off, "%s%s", off ? "," : "", name);
		cap_free(name);
	}
	if (off == 0)
		caps_append(buf, len, &off, "none");
	for (i = 0; i < NOPT; i++) {
		if (!caps_opt[i].on || cap_get_flag(cur, caps_opt[i].cap,
		    CAP_PERMITTED, &v) == -1 || v != CAP_SET)
			continue;
		caps_append(buf, len, &off, "; keeping %s: %s",
		    caps_opt[i].name, caps_opt[i].why);
		nnet++;
	}
	if (nnet == 0)
		caps_append(buf, len, &off,
		    "; keeping no network capabilities");
	cap_free(cur);
	return buf;
}
