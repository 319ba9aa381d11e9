/*
 * The listener-kind table: which front-end serves which kind.
 */
#include "front.h"

static const struct front_ops *const fronts[SL_LISTEN_KIND_MAX] = {
	[SL_LISTEN_SOCKS5] = &front_socks5,
	[SL_LISTEN_HTTP] = &front_http,
	[SL_LISTEN_MIXED] = &front_mixed,
	[SL_LISTEN_SNI] = &front_sni,
	[SL_LISTEN_HOST] = &front_host,
	[SL_LISTEN_FORWARD] = &front_forward,
	[SL_LISTEN_REDIRECT] = &front_redirect,
	[SL_LISTEN_TPROXY] = &front_tproxy,
	[SL_LISTEN_METRICS] = &front_metrics,
	[SL_LISTEN_AGENT] = &front_agent,
};

const struct front_ops *
front_for(enum sl_listen_kind kind)
{
	if ((unsigned)kind >= SL_LISTEN_KIND_MAX || fronts[kind] == NULL)
		return &front_socks5;
	return fronts[kind];
}
