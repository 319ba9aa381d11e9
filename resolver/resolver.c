/*
 * The resolver process: answers workers' name lookups with c-ares, from
 * inside the same kind of jail as a worker.
 *
 * A lookup asks A and AAAA at once through a list of stages, each a
 * c-ares channel: the primary servers over UDP (c-ares itself retries a
 * truncated answer over TCP), the primaries over TCP, then the backup
 * servers over UDP and over TCP.  A stage that fails (SERVFAIL, REFUSED,
 * timeout, refused connection, malformed answer) or that answers only
 * with blacklisted addresses hands the lookup to the next one; an
 * answer with addresses, or a clean "no such name / no address", ends
 * it.  The stage timeouts are cut from resolve_timeout so that all of
 * them together fit in the time a worker waits.
 *
 * Answers go through the cache (cache.c): identical lookups in flight
 * share one query pair, finished ones are kept for their clamped TTL.
 * The hosts file, read into memory before the chroot, answers first.
 * c-ares never reads a file after start-up: lookups are "b" only and
 * HOSTALIASES is ignored.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <ares.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/boot.h"
#include "../ipc/chan.h"
#include "../ipc/child.h"
#include "../ipc/codec.h"
#include "../policy/config.h"
#include "../policy/counters.h"
#include "../policy/services.h"
#include "cache.h"
#include "engine.h"
#include "hosts.h"
#include "resolver.h"
#include "../common/sandbox.h"

#define RES_MAX_INFLIGHT	8192	/* per worker channel */
/*
 * Names looked up at once, all workers together: c-ares 1.18 draws
 * query ids at random until one is free, so a channel must stay well
 * below 65536 queries (two per lookup) in flight.
 */
#define RS_MAX_LOOKUPS		16384
#define RS_MAX_STAGES		4
#define RS_MIN_TIMEOUT_MS	50

struct rs_peer {
	struct ipc_chan	*chan;
	uint32_t	 gen;		/* bumped when the channel changes */
	uint32_t	 inflight;
};

/* One name being looked up, for every waiter on its cache entry. */
struct rs_lookup {
	struct cache_entry	*entry;
	struct rs_lookup	*parked;	/* waiting for the hijack gate */
	int			 stage;
	int			 pending;	/* queries out, +1 while issuing */
	int			 status[2];	/* c-ares status, A and AAAA */
	uint32_t		 ttl;
	uint32_t		 n[2];
	struct sl_res_addr	 addrs[2][SL_MAX_ADDRS];
	char			 qname[SL_MAX_NAME + 1];	/* as asked:
							   0x20 case */
};

static struct {
	struct ev_loop		*loop;
	struct sl_conf		*conf;
	uint32_t		 nworkers;
	struct ipc_chan		*master;
	struct rs_peer		 peers[SL_MAX_WORKERS];
	struct hosts_table	 hosts;
	struct cache		 cache;
	struct blacklist	 bl;
	struct rs_chan		 stages[RS_MAX_STAGES];
	size_t			 nstages;
	int			 gate_open;
	struct rs_lookup	*parked;
	uint32_t		 nlookups;	/* in flight */
	struct rs_engine_stats	 st;
	struct sl_resolver_ctr	*ctr;	/* the metrics' row; NULL in tests */
} rs;

/* One more of a metrics counter: lookups, cache_hits, failures. */
#define RS_COUNT(field)	do {						\
	if (rs.ctr != NULL)						\
		atomic_fetch_add_explicit(&rs.ctr->field, 1,		\
		    memory_order_relaxed);				\
} while (0)

static void	rs_stage_start(struct rs_lookup *, int);
static void	rs_stage_done(struct rs_lookup *);

/* ---- answers ---- */

static void
rs_send_answer(uint32_t worker, uint32_t gen, uint32_t id, uint8_t status,
    uint32_t ttl, const struct sl_res_addr *addrs, uint32_t naddrs)
{
	struct rs_peer	*p = &rs.peers[worker];
	struct sl_msg	 m;

	if (status != SL_RES_OK)
		RS_COUNT(failures);
	if (p->chan == NULL || p->gen != gen)
		return;		/* that worker went away meanwhile */
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_RES_ANSWER;
	m.id = id;
	m.fd = -1;
	m.u.res_answer.status = status;
	m.u.res_answer.ttl = ttl;
	m.u.res_answer.naddrs = naddrs;
	if (naddrs > 0)
		memcpy(m.u.res_answer.addrs, addrs, naddrs * sizeof(*addrs));
	if (ipc_chan_send(p->chan, &m) == -1)
		log_warnx("worker %u: answer queue full, dropping answer",
		    worker);
}

/* The addresses of family fam (0: all); NXDOMAIN if none is left. */
static void
rs_answer(uint32_t worker, uint32_t gen, uint32_t id, uint8_t family,
    uint8_t status, uint32_t ttl, const struct sl_res_addr *a, uint32_t n)
{
	struct sl_res_addr	out[SL_MAX_ADDRS];
	uint32_t		i, k = 0;

	for (i = 0; i < n && k < SL_MAX_ADDRS; i++)
		if (family == 0 || a[i].family == family)
			out[k++] = a[i];
	if (status == SL_RES_OK && k == 0)
		status = SL_RES_NXDOMAIN;
	rs_send_answer(worker, gen, id, status, ttl, out, k);
}

static void
rs_answer_waiters(struct cache_waiter *w, const struct cache_entry *e,
    uint8_t status)
{
	struct cache_waiter	*next;
	struct rs_peer		*p;

	for (; w != NULL; w = next) {
		next = w->next;
		p = &rs.peers[w->worker];
		if (p->gen == w->gen && p->inflight > 0)
			p->inflight--;
		rs_answer(w->worker, w->gen, w->id, w->family, status, e->ttl,
		    e->addrs, e->naddrs);
		free(w);
	}
}

static void
rs_finish(struct rs_lookup *l, enum cache_state st, uint8_t status,
    const struct sl_res_addr *a, uint32_t n)
{
	struct cache_entry	*e = l->entry;
	struct cache_waiter	*w;

	w = cache_finish(&rs.cache, e, st, a, n, l->ttl, ev_now(rs.loop));
	rs_answer_waiters(w, e, status);
	cache_settle(&rs.cache, e);
	free(l);
	rs.nlookups--;
}

/* ---- stages ---- */

static int
rs_negative(int status)
{
	return status == ARES_ENOTFOUND || status == ARES_ENODATA;
}

/*
 * The usable addresses of a finished stage, IPv4 first; when both
 * families do not fit, each keeps at least half of the slots.
 */
static uint32_t
rs_usable(struct rs_lookup *l, struct sl_res_addr *out)
{
	uint32_t	n4, n6, k4, k6, half = SL_MAX_ADDRS / 2;

	n4 = bl_filter(&rs.bl, l->addrs[0], l->n[0]);
	n6 = bl_filter(&rs.bl, l->addrs[1], l->n[1]);
	k4 = n4;
	k6 = n6 < SL_MAX_ADDRS - k4 ? n6 : SL_MAX_ADDRS - k4;
	if (k6 < n6 && k4 > half) {
		k4 = n6 < half ? SL_MAX_ADDRS - n6 : half;
		k6 = SL_MAX_ADDRS - k4 < n6 ? SL_MAX_ADDRS - k4 : n6;
	}
	memcpy(out, l->addrs[0], k4 * sizeof(*out));
	memcpy(out + k4, l->addrs[1], k6 * sizeof(*out));
	return k4 + k6;
}

static void
rs_stage_done(struct rs_lookup *l)
{
	struct sl_res_addr	a[SL_MAX_ADDRS];
	uint32_t		n, seen = l->n[0] + l->n[1];

	if (!rs.gate_open) {
		/* Judge nothing before the hijack probes had their say. */
		l->parked = rs.parked;
		rs.parked = l;
		return;
	}
	if ((n = rs_usable(l, a)) > 0) {
		rs_finish(l, CE_POSITIVE, SL_RES_OK, a, n);
		return;
	}
	if (seen > 0) {
		rs.st.bogus++;
		log_debug("%s: only blacklisted addresses from %s",
		    l->entry->name, rs.stages[l->stage].what);
	} else if (rs_negative(l->status[0]) && rs_negative(l->status[1])) {
		rs_finish(l, CE_NEGATIVE, SL_RES_NXDOMAIN, NULL, 0);
		return;
	}
	if ((size_t)l->stage + 1 < rs.nstages) {
		rs.st.fallbacks++;
		log_debug("%s: %s failed (%s, %s), asking %s", l->entry->name,
		    rs.stages[l->stage].what, ares_strerror(l->status[0]),
		    ares_strerror(l->status[1]), rs.stages[l->stage + 1].what);
		rs_stage_start(l, l->stage + 1);
		return;
	}
	rs_finish(l, CE_FAILED, l->status[0] == ARES_ETIMEOUT ||
	    l->status[1] == ARES_ETIMEOUT ? SL_RES_TIMEOUT : SL_RES_FAIL,
	    NULL, 0);
}

static void
rs_cb(struct rs_lookup *l, int fam, int status, unsigned char *abuf,
    int alen)
{
	/* Not the case asked for (0x20): not the server's answer. */
	if (abuf != NULL && rs.conf->dns_0x20 &&
	    !rs_case_ok(l->qname, abuf, alen)) {
		rs.st.case_mismatch++;
		log_debug("%s: an answer from %s without the question's case "
		    "(0x20): ignored", l->entry->name,
		    rs.stages[l->stage].what);
		status = ARES_EBADRESP;
	}
	if (status == ARES_SUCCESS)
		status = rs_parse_addrs(fam == 0 ? RS_T_A : RS_T_AAAA, abuf,
		    alen, l->addrs[fam], SL_MAX_ADDRS, &l->n[fam], &l->ttl);
	l->status[fam] = status;
	if (--l->pending == 0)
		rs_stage_done(l);
}

static void
rs_cb_a(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	rs_cb(arg, 0, status, abuf, alen);
}

static void
rs_cb_aaaa(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	(void)timeouts;
	rs_cb(arg, 1, status, abuf, alen);
}

static void
rs_stage_start(struct rs_lookup *l, int stage)
{
	struct rs_chan	*c = &rs.stages[stage];

	l->stage = stage;
	l->status[0] = l->status[1] = ARES_SUCCESS;
	l->n[0] = l->n[1] = 0;
	l->ttl = UINT32_MAX;
	/* A fresh case pattern for each stage's servers. */
	if (rs.conf->dns_0x20)
		rs_case_mix(l->entry->name, l->qname, sizeof(l->qname));
	else
		snprintf(l->qname, sizeof(l->qname), "%s", l->entry->name);
	/* +1: c-ares may call back before ares_search() returns. */
	l->pending = 3;
	rs_chan_query(c, l->qname, RS_T_A, 1, rs_cb_a, l);
	rs_chan_query(c, l->qname, RS_T_AAAA, 1, rs_cb_aaaa, l);
	if (--l->pending == 0)
		rs_stage_done(l);
}

/* The first hijack round is in: judge the lookups that waited for it. */
static void
rs_gate_open(void)
{
	struct rs_lookup	*l;

	rs.gate_open = 1;
	while ((l = rs.parked) != NULL) {
		rs.parked = l->parked;
		rs_stage_done(l);
	}
}

/* ---- lookups from workers ---- */

static void
rs_lookup_start(struct cache_entry *e)
{
	struct rs_lookup	*l = NULL;
	struct cache_waiter	*w;

	rs.st.lookups++;
	if (rs.nlookups >= RS_MAX_LOOKUPS ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		w = cache_finish(&rs.cache, e, CE_FAILED, NULL, 0, 0,
		    ev_now(rs.loop));
		rs_answer_waiters(w, e, SL_RES_FAIL);
		cache_settle(&rs.cache, e);
		return;
	}
	rs.nlookups++;
	l->entry = e;
	rs_stage_start(l, 0);
}

/* Answer from a finished entry; -1 if all its addresses went bad. */
static int
rs_answer_cached(const struct cache_waiter *q, const struct cache_entry *e)
{
	struct sl_res_addr	a[SL_MAX_ADDRS];
	uint32_t		n, ttl = cache_ttl_left(e, ev_now(rs.loop));

	if (e->state == CE_NEGATIVE) {
		rs_answer(q->worker, q->gen, q->id, q->family, SL_RES_NXDOMAIN,
		    ttl, NULL, 0);
		return 0;
	}
	/* Hijack addresses learned since the answer came in are out. */
	memcpy(a, e->addrs, e->naddrs * sizeof(*a));
	if ((n = bl_filter(&rs.bl, a, e->naddrs)) == 0)
		return -1;
	rs_answer(q->worker, q->gen, q->id, q->family, SL_RES_OK, ttl, a, n);
	return 0;
}

static void
rs_lookup(const struct cache_waiter *q, const char *name)
{
	struct cache_entry	*e;
	struct cache_waiter	*w;
	int			 created;

	if ((w = malloc(sizeof(*w))) == NULL) {
		rs_answer(q->worker, q->gen, q->id, 0, SL_RES_FAIL, 0, NULL, 0);
		return;
	}
	*w = *q;
	e = cache_get(&rs.cache, name, ev_now(rs.loop), &created);
	if (e != NULL && e->state != CE_PENDING) {
		if (rs_answer_cached(q, e) == 0) {
			RS_COUNT(cache_hits);
			free(w);
			return;
		}
		cache_forget(&rs.cache, e);
		e = cache_get(&rs.cache, name, ev_now(rs.loop), &created);
	}
	if (e == NULL) {
		free(w);
		rs_answer(q->worker, q->gen, q->id, 0, SL_RES_FAIL, 0, NULL, 0);
		return;
	}
	cache_wait(e, w);
	rs.peers[q->worker].inflight++;
	if (created)
		rs_lookup_start(e);
}

/* One RES_QUERY from worker `w`. */
static void
rs_query(uint32_t w, struct sl_msg *m)
{
	struct rs_peer		*p = &rs.peers[w];
	struct sl_res_addr	 addrs[SL_MAX_ADDRS];
	struct cache_waiter	 q;
	char			*name = m->u.res_query.name;
	size_t			 n;

	rs.st.queries++;
	RS_COUNT(lookups);
	memset(&q, 0, sizeof(q));
	q.worker = w;
	q.gen = p->gen;
	q.id = m->id;
	q.family = m->u.res_query.family;
	if (q.family != 4 && q.family != 6)
		q.family = 0;
	if (hostname_check(name) == -1) {
		rs_send_answer(w, p->gen, m->id, SL_RES_BADNAME, 0, NULL, 0);
		return;
	}
	if ((n = hosts_lookup(&rs.hosts, name, addrs, SL_MAX_ADDRS)) > 0) {
		RS_COUNT(cache_hits);
		/* The file is read once: its answers hold for the resolver's
		   life, so a worker may keep them briefly too. */
		rs_answer(w, p->gen, m->id, q.family, SL_RES_OK,
		    rs.conf->dns_min_ttl_s, addrs,
		    (uint32_t)n);
		return;
	}
	if (p->inflight >= RES_MAX_INFLIGHT) {
		rs_send_answer(w, p->gen, m->id, SL_RES_FAIL, 0, NULL, 0);
		return;
	}
	rs_lookup(&q, name);
}

static void
rs_peer_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	struct rs_peer *p = arg;

	(void)c;
	if (m->type == SL_MSG_RES_QUERY)
		rs_query((uint32_t)(p - rs.peers), m);
}

static void
rs_peer_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct rs_peer *p = arg;

	if (why != NULL)
		log_warnx("worker %u channel: %s", (unsigned)(p - rs.peers),
		    why);
	ipc_chan_free(c);
	p->chan = NULL;
	p->gen++;
	p->inflight = 0;
}

void
resolver_engine_peer(uint32_t index, int fd)
{
	struct rs_peer *p;

	if (index >= rs.nworkers) {
		log_warnx("%s: peer index %u out of range", __func__, index);
		close(fd);
		return;
	}
	p = &rs.peers[index];
	if (p->chan != NULL)
		ipc_chan_free(p->chan);
	p->gen++;
	p->inflight = 0;
	p->chan = ipc_chan_new(rs.loop, fd, SL_PROC_WORKER, 0, rs_peer_msg,
	    rs_peer_closed, p);
	if (p->chan == NULL)
		fatal("%s: ipc_chan_new", __func__);
}

/* ---- set-up ---- */

static int
rs_ms(uint32_t total_ms, double share, size_t attempts)
{
	double	ms = total_ms * share / (double)(attempts > 0 ? attempts : 1);

	return ms < RS_MIN_TIMEOUT_MS ? RS_MIN_TIMEOUT_MS : (int)ms;
}

/*
 * The stages and their timeouts.  UDP: two tries per server, the second
 * round twice as long (c-ares), so 3 * n first-try timeouts in all; TCP:
 * one try per server.  Shares of resolve_timeout, leaving 15% spare:
 * primaries alone 55% UDP + 30% TCP; with backups 30 + 15 for the
 * primaries, 25 + 15 for the backups.
 */
static void
rs_stages_init(void)
{
	const struct sl_conf	*c = rs.conf;
	struct rs_chan_opts	 o[RS_MAX_STAGES];
	double			 share[RS_MAX_STAGES] = {
		0.55, 0.30, 0, 0,
	};
	size_t			 np, nb = c->nnameservers_backup, i;

	np = c->nameservers_system ? rs_system_servers() : c->nnameservers;
	memset(o, 0, sizeof(o));
	o[0].what = "primary servers over UDP";
	o[1].what = "primary servers over TCP";
	o[2].what = "backup servers over UDP";
	o[3].what = "backup servers over TCP";
	rs.nstages = 2;
	if (nb > 0) {
		rs.nstages = 4;
		share[0] = 0.30, share[1] = 0.15;
		share[2] = 0.25, share[3] = 0.15;
	}
	for (i = 0; i < rs.nstages; i++) {
		int tcp = i % 2 == 1;
		size_t n = i < 2 ? np : nb;

		if (i >= 2 || !c->nameservers_system) {
			o[i].ns = i < 2 ? c->nameservers : c->nameservers_backup;
			o[i].nns = n;
		}
		o[i].flags = tcp ? ARES_FLAG_USEVC : 0;
		o[i].tries = tcp ? 1 : 2;
		o[i].timeout_ms = rs_ms(c->resolve_timeout_ms, share[i],
		    tcp ? n : 3 * n);
		rs_chan_init(&rs.stages[i], rs.loop, &o[i]);
		log_debug("%s: %zu server(s), first try %d ms, %d tries",
		    o[i].what, n, o[i].timeout_ms, o[i].tries);
	}
}

void
resolver_engine_init(struct ev_loop *loop, struct sl_conf *conf,
    uint32_t nworkers)
{
	struct cache_params	cp;
	struct hijack_params	hp;
	struct rs_chan		*sets[RS_MAX_STAGES];
	uint8_t			key[16];
	size_t			i;
	int			rc;

	rs.loop = loop;
	rs.conf = conf;
	rs.nworkers = nworkers;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("%s: %s", __func__, ares_strerror(rc));
	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		fatal("%s: getrandom", __func__);
	memset(&cp, 0, sizeof(cp));
	cp.capacity = conf->dns_cache_size;
	cp.min_ttl = conf->dns_min_ttl_s;
	cp.max_ttl = conf->dns_max_ttl_s;
	cp.neg_ttl = conf->dns_negative_ttl_s;
	cache_init(&rs.cache, &cp, key);
	bl_init(&rs.bl, conf->ip_blacklist, conf->nip_blacklist);
	rs_stages_init();
	memset(&hp, 0, sizeof(hp));
	for (i = 0; i < rs.nstages; i++)
		sets[i] = &rs.stages[i];
	hp.sets = sets;
	hp.nsets = rs.nstages;
	hp.probes = conf->hijack_probes;
	hp.nprobes = conf->nhijack_probes;
	hp.interval_s = conf->hijack_interval_s;
	hp.timeout_ms = conf->resolve_timeout_ms;
	hp.bl = &rs.bl;
	hp.settled = rs_gate_open;
	hijack_init(loop, &hp);
}

void
resolver_engine_run(void)
{
	hijack_run();
}

void
resolver_engine_stats(struct rs_engine_stats *st)
{
	*st = rs.st;
	st->cache = &rs.cache.st;
}

/* ---- the process ---- */

static void
rs_master_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	switch (m->type) {
	case SL_MSG_LOG_LEVEL:
		log_set_level((int)m->u.log_level.level);
		break;
	case SL_MSG_DRAIN:
		ipc_chan_flush(rs.master, 1000);
		_exit(0);
	case SL_MSG_CFG_PEER:
		resolver_engine_peer(m->u.cfg_peer.index, m->fd);
		m->fd = -1;
		break;
	default:
		log_warnx("%s: unexpected %s", __func__, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

/* Its own part of the shared region, the only one it is given. */
static struct sl_resolver_ctr *
resolver_shm(const struct child_boot *b, uint32_t nworkers, uint32_t nlinks)
{
	static struct sl_shm	view;
	size_t			i;

	shm_view_init(&view, nworkers, nlinks, -1);
	for (i = 0; i < b->nshm; i++)
		if (shm_attach(&view, b->shm[i].part, b->shm[i].slot,
		    b->shm[i].base, b->shm[i].size) == -1)
			fatalx("shared region part %u does not match config",
			    b->shm[i].part);
	if (view.resolver == NULL)
		fatalx("no resolver part of the shared region");
	return view.resolver;
}

static void
rs_setup(struct child_boot *b, uint32_t nworkers)
{
	struct sl_conf	*conf;
	struct ev_loop	*loop;
	char		 err[256];
	size_t		 i;

	/* Its copy has the agents' secrets redacted (tunnel.c has them). */
	conf_parse_redacted = 1;
	if (conf_parse(b->conf_text, b->conf_len, &conf, err,
	    sizeof(err)) == -1)
		fatalx("config from master: %s", err);
	child_boot_free_conf(b);
	/* Services are the workers' business: give their memory back. */
	services_free(conf->services);
	conf->services = NULL;
	(void)malloc_trim(0);
	log_set_level(conf->log_level);
	if ((loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("%s: ev_loop_new", __func__);
	rs.master = ipc_chan_new(loop, SL_CHILD_CHAN_FD, SL_PROC_MASTER, 1,
	    rs_master_msg, child_master_closed, NULL);
	if (rs.master == NULL)
		fatal("%s: master channel", __func__);
	hosts_load(&rs.hosts, "/etc/hosts");
	rs.ctr = resolver_shm(b, nworkers, (uint32_t)conf->nlinks);
	resolver_engine_init(loop, conf, nworkers);
	for (i = 0; i < b->npeers; i++)
		resolver_engine_peer(b->peers[i].index, b->peers[i].fd);
}

/* The resolver's filter takes no options. */
static void
rs_sandbox(const struct sandbox_opts *sb)
{
	(void)sb;
	sandbox_resolver();
}

/*
 * Entry point of "sluiced -P resolver -I 0 -N nworkers -u uid -g gid".
 */
void
resolver_main(int argc, char *argv[])
{
	static const struct child_desc d = {
		.role = "resolver", .indexed = 0, .title = "sluice-resolver",
		.sandbox = rs_sandbox,
	};
	struct child_start	cs;

	child_begin(&cs, &d, argc, argv);
	rs_setup(&cs.boot, cs.nworkers);
	child_confine(&cs, rs.conf->chroot, rs.master);
	resolver_engine_run();
	ev_run(rs.loop, 0);
	_exit(0);
}
