/*
 * "limits" on the root (the whole config: its tenant, across all its
 * workers) and on a listener:
 *
 *	"limits": {
 *		"max_sessions": 1000,
 *		"max_sessions_per_client": 20,
 *		"new_sessions_per_second_per_client": 50,
 *		"bandwidth": { "up": 10000000, "down": 50000000 },
 *		"session_bandwidth": { "up": 1000000, "down": 5000000 },
 *		"max_udp_flows": 2000
 *	}
 *
 * Every value is an integer of at least 1 (a limit of 0 would refuse
 * everything: leave the key out for none); bandwidth in bytes per
 * second.  Enforcement is the worker's (worker/limits.c).
 */
#include <stddef.h>
#include <string.h>

#include "config_priv.h"

#define LIM_MAX_PER_CLIENT	1000000u	/* sessions, sessions/s */
#define LIM_MAX_U32		4294967295u

/* "bandwidth" and "session_bandwidth": { "up": B/s, "down": B/s } */
struct bw_pair {
	uint32_t	up, down;
};

static const struct keydef bw_keys[] = {
	{ "up", K_UINT, NULL, offsetof(struct bw_pair, up), 1, LIM_MAX_U32 },
	{ "down", K_UINT, NULL, offsetof(struct bw_pair, down), 1,
	    LIM_MAX_U32 },
};

static int
get_bw(struct ctx *c, const cJSON *it, uint32_t *up, uint32_t *down)
{
	struct bw_pair	bw = { 0, 0 };
	uint64_t	seen = 0;

	if (walk(c, it, bw_keys, nitems(bw_keys), &bw, &seen) == -1)
		return -1;
	if (seen == 0)
		return fail(c, "expected \"up\", \"down\" or both");
	*up = bw.up;
	*down = bw.down;
	return 0;
}

static int
lim_bw(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_limits	*lim = dst;

	return get_bw(c, it, &lim->bw_up, &lim->bw_down);
}

static int
lim_session_bw(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_limits	*lim = dst;

	return get_bw(c, it, &lim->session_bw_up, &lim->session_bw_down);
}

static const struct keydef limit_keys[] = {
	{ "max_sessions", K_UINT, NULL,
	    offsetof(struct sl_limits, max_sessions), 1, LIM_MAX_U32 },
	{ "max_sessions_per_client", K_UINT, NULL,
	    offsetof(struct sl_limits, max_sessions_per_client), 1,
	    LIM_MAX_PER_CLIENT },
	{ "new_sessions_per_second_per_client", K_UINT, NULL,
	    offsetof(struct sl_limits, new_per_second_per_client), 1,
	    LIM_MAX_PER_CLIENT },
	{ "bandwidth", K_FN, lim_bw, 0, 0, 0 },
	{ "session_bandwidth", K_FN, lim_session_bw, 0, 0, 0 },
	{ "max_udp_flows", K_UINT, NULL,
	    offsetof(struct sl_limits, max_udp_flows), 1, LIM_MAX_U32 },
};

static int
get_limits(struct ctx *c, const cJSON *it, struct sl_limits *out)
{
	struct sl_limits	lim;

	memset(&lim, 0, sizeof(lim));
	if (walk(c, it, limit_keys, nitems(limit_keys), &lim, NULL) == -1)
		return -1;
	*out = lim;
	return 0;
}

int
r_limits(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_conf	*conf = dst;

	return get_limits(c, it, &conf->limits);
}

int
ls_limits(struct ctx *c, const cJSON *it, void *dst)
{
	struct sl_listener	*l = dst;

	return get_limits(c, it, &l->limits);
}
