/*
 * The hijack defence (TcpRoute's), on the resolver's channels (chan.c):
 * at start and every hijack_interval seconds, ask every
 * server channel (primaries and backups, UDP and TCP) for random names
 * under the reserved TLD .invalid (RFC 6761: no honest server has an
 * address for them), and ask each hijack_probes address, which is not a
 * DNS server at all, for a random ordinary-looking name.  Whatever
 * addresses come back are an interceptor's: they join the learned
 * blacklist (cache.c), and answers made only of them send a lookup to
 * the next servers.  Lookups that finish before the first round is in
 * wait for it (at most a second), so that a hijacker's address is not
 * handed out in the first moments after a (re)start.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cache.h"
#include "engine.h"

#define HJ_MAX_PROBES		16
#define HJ_NAMES		2	/* .invalid names per channel, round */
#define HJ_LABEL		20	/* random characters in such a name */
#define HJ_GATE_MAX_S		1.0	/* lookups wait at most this long */
#define HJ_PROBE_MAX_MS		2000

/* ---- the hijack defence ---- */

struct hj_query {
	char		 name[SL_MAX_NAME + 1];
	const char	*from;		/* channel, for the log */
	int		 type;
};

static struct {
	struct hijack_params	 p;
	struct ev_loop		*loop;
	struct rs_chan		*sets[8];
	struct rs_chan		 probes[HJ_MAX_PROBES];
	char			 probe_what[HJ_MAX_PROBES][SL_ADDRSTRLEN + 16];
	size_t			 nprobes;
	ev_timer		 interval, gate;
	double			 gate_s;
	unsigned		 outstanding;	/* queries of the round, +1 */
	int			 settled;	/* the first round is in */
} hj;

static int
hj_random(char *buf, size_t len, const char *alphabet)
{
	unsigned char	r[64];
	size_t		i, k = strlen(alphabet);

	if (len >= sizeof(r) ||
	    getrandom(r, len, GRND_NONBLOCK) != (ssize_t)len)
		return -1;
	for (i = 0; i < len; i++)
		buf[i] = alphabet[r[i] % k];
	buf[len] = '\0';
	return 0;
}

int
hijack_label(char *buf, size_t len)
{
	return hj_random(buf, len, "abcdefghijklmnopqrstuvwxyz0123456789");
}

static void
hj_settle(void)
{
	if (hj.settled)
		return;
	hj.settled = 1;
	ev_timer_stop(hj.loop, &hj.gate);
	hj.p.settled();
}

static void
hj_done_one(void)
{
	if (--hj.outstanding == 0)
		hj_settle();
}

static void
hj_learn(const struct hj_query *q, const struct sl_res_addr *a, uint32_t n)
{
	char		text[INET6_ADDRSTRLEN];
	uint32_t	i;

	for (i = 0; i < n; i++) {
		if (!bl_learn(hj.p.bl, &a[i]))
			continue;
		if (inet_ntop(a[i].family == 4 ? AF_INET : AF_INET6,
		    a[i].addr, text, sizeof(text)) == NULL)
			snprintf(text, sizeof(text), "?");
		log_warnx("learned hijack address %s from %s (answer for %s)",
		    text, q->from, q->name);
	}
}

static void
hj_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct hj_query		*q = arg;
	struct sl_res_addr	 a[SL_MAX_ADDRS];
	uint32_t		 n = 0, ttl = UINT32_MAX;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = rs_parse_addrs(q->type, abuf, alen, a, SL_MAX_ADDRS,
		    &n, &ttl);
	if (status == ARES_SUCCESS)
		hj_learn(q, a, n);
	else
		log_debug("hijack check %s via %s: %s", q->name, q->from,
		    ares_strerror(status));
	free(q);
	hj_done_one();
}

static void
hj_ask(struct rs_chan *c, const char *name, const char *from)
{
	static const int	 types[] = { RS_T_A, RS_T_AAAA };
	struct hj_query		*q;
	size_t			 i;

	for (i = 0; i < nitems(types); i++) {
		if ((q = calloc(1, sizeof(*q))) == NULL) {
			log_warn("%s: calloc", __func__);
			return;
		}
		snprintf(q->name, sizeof(q->name), "%s", name);
		q->from = from;
		q->type = types[i];
		hj.outstanding++;
		rs_chan_query(c, name, q->type, 0, hj_cb, q);
	}
}

/* One round: .invalid names through every server channel, an ordinary
   looking name to every probe address. */
static void
hj_round(void)
{
	char	label[HJ_LABEL + 1], name[64];
	size_t	i, k;

	if (hj.outstanding > 0) {
		log_debug("hijack check: last round still out, skipping");
		return;
	}
	hj.outstanding = 1;
	for (i = 0; i < hj.p.nsets; i++) {
		for (k = 0; k < HJ_NAMES; k++) {
			if (hijack_label(label, HJ_LABEL) == -1)
				break;
			snprintf(name, sizeof(name), "%s.invalid", label);
			hj_ask(hj.sets[i], name, hj.sets[i]->what);
		}
	}
	for (i = 0; i < hj.nprobes; i++) {
		if (hj_random(label, 10, "abcdefghijklmnopqrstuvwxyz") == -1)
			break;
		snprintf(name, sizeof(name), "www.%s.com", label);
		hj_ask(&hj.probes[i], name, hj.probes[i].what);
	}
	hj_done_one();
}

static void
hj_interval_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	hj_round();
}

static void
hj_gate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_info("hijack check still running after %.1f s: answering "
	    "lookups meanwhile", hj.gate_s);
	hj_settle();
}

void
hijack_init(struct ev_loop *loop, const struct hijack_params *p)
{
	struct rs_chan_opts	o;
	size_t			i;

	memset(&hj, 0, sizeof(hj));
	hj.loop = loop;
	hj.p = *p;
	if (hj.p.nsets > nitems(hj.sets))
		hj.p.nsets = nitems(hj.sets);
	for (i = 0; i < hj.p.nsets; i++)
		hj.sets[i] = p->sets[i];
	hj.p.sets = NULL;	/* the caller's array was on its stack */
	if (p->nprobes > HJ_MAX_PROBES)
		log_warnx("hijack_probes: only the first %d are used",
		    HJ_MAX_PROBES);
	memset(&o, 0, sizeof(o));
	o.nns = 1;
	o.tries = 1;
	o.timeout_ms = (int)(p->timeout_ms / 2 < HJ_PROBE_MAX_MS ?
	    p->timeout_ms / 2 : HJ_PROBE_MAX_MS);
	for (i = 0; i < p->nprobes && i < HJ_MAX_PROBES; i++) {
		char addr[SL_ADDRSTRLEN];

		sockaddr_fmt((const void *)&p->probes[i].addr, addr,
		    sizeof(addr));
		snprintf(hj.probe_what[i], sizeof(hj.probe_what[i]),
		    "hijack probe %s", addr);
		o.ns = &p->probes[i];
		o.what = hj.probe_what[i];
		rs_chan_init(&hj.probes[i], loop, &o);
	}
	hj.nprobes = i;
	hj.gate_s = p->timeout_ms / 4000.0;
	if (hj.gate_s > HJ_GATE_MAX_S)
		hj.gate_s = HJ_GATE_MAX_S;
	ev_timer_init(&hj.gate, hj_gate_cb, hj.gate_s, 0.);
	ev_timer_init(&hj.interval, hj_interval_cb, p->interval_s,
	    p->interval_s);
}

void
hijack_run(void)
{
	ev_timer_start(hj.loop, &hj.gate);
	if (hj.p.interval_s > 0)
		ev_timer_start(hj.loop, &hj.interval);
	hj_round();
}
