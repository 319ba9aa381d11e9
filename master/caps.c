/*
 * Reduce the master to the capabilities it needs.
 *
 * The master stays uid 0: it exec's its children as root so that they can
 * chroot and change ids themselves.  A root exec gives the new process
 * exactly the bounding set, so the bounding set is the children's
 * ceiling as much as the master's.  Dropping CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH means the master can afterwards read only files
 * that root owns or that are world-readable: intended.
 */
#include <sys/capability.h>
#include <sys/prctl.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "caps.h"

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
	{ CAP_NET_BIND_SERVICE,	"bind ports below 1024 again on reload" },
	{ CAP_NET_RAW,		"SO_BINDTODEVICE for interface links" },
	{ CAP_NET_ADMIN,	"transparent proxying (IP_TRANSPARENT)" },
};

#define NKEEP	(sizeof(caps_keep) / sizeof(caps_keep[0]))

static int	caps_kept(cap_value_t);
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
	return 0;
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

/* Permitted = effective = kept and held; inheritable and ambient empty. */
static void
caps_set_proc(void)
{
	cap_t		cur, want;
	cap_flag_value_t v;
	size_t		i;

	if ((cur = cap_get_proc()) == NULL || (want = cap_init()) == NULL)
		fatal("%s: cap_get_proc/cap_init", __func__);
	for (i = 0; i < NKEEP; i++) {
		if (cap_get_flag(cur, caps_keep[i].cap, CAP_PERMITTED,
		    &v) == -1)
			fatal("%s: cap_get_flag", __func__);
		if (v != CAP_SET) {
			/* A container may withhold it; only a feature fails. */
			log_warnx("%s: capability %d not held; needed for %s",
			    __func__, caps_keep[i].cap, caps_keep[i].why);
			continue;
		}
		if (cap_set_flag(want, CAP_PERMITTED, 1, &caps_keep[i].cap,
		    CAP_SET) == -1 ||
		    cap_set_flag(want, CAP_EFFECTIVE, 1, &caps_keep[i].cap,
		    CAP_SET) == -1)
			fatal("%s: cap_set_flag", __func__);
	}
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

void
caps_master_reduce(void)
{
	if (getuid() != 0 || geteuid() != 0) {
		log_warnx("%s: not running as root, no capabilities to reduce",
		    __func__);
		return;
	}
	caps_drop_bound();
	caps_set_proc();
	caps_verify();
}

const char *
caps_master_describe(char *buf, size_t len)
{
	cap_t		 cur;
	cap_value_t	 c, max = (cap_value_t)cap_max_bits();
	cap_flag_value_t v;
	char		*name;
	size_t		 off = 0;
	int		 n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if ((cur = cap_get_proc()) == NULL) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	for (c = 0; c < max && off < len; c++) {
		if (cap_get_flag(cur, c, CAP_PERMITTED, &v) == -1 ||
		    v != CAP_SET)
			continue;
		if ((name = cap_to_name(c)) == NULL)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "," : "",
		    name);
		cap_free(name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	cap_free(cur);
	if (off == 0)
		snprintf(buf, len, "none");
	return buf;
}
