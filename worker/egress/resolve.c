/*
 * Asynchronous lookups through the resolver process.
 *
 * Pending requests live in a small hash keyed by request id; each has its
 * own timeout so one slow name never holds up another session.  Lookups
 * that arrive while the resolver is being respawned wait in a FIFO linked
 * through the requests themselves; their names sit in a fixed pool whose
 * size is the queue's bound, so waiting costs no allocation.  Only the
 * lookups the dead resolver had already been sent fail: it took their
 * answers with it.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "namecache.h"
#include "resolve.h"

/* A cached answer on its way to the callback. */
struct res_hit {
	uint32_t		naddrs;
	struct sl_res_addr	addrs[SL_MAX_ADDRS];
};

#define RES_BUCKETS	1024

static struct res_req	*res_table[RES_BUCKETS];
static TAILQ_HEAD(, res_req) res_waitq = TAILQ_HEAD_INITIALIZER(res_waitq);
static char		 res_wname[RES_WAIT_MAX][SL_MAX_NAME + 1];
static uint16_t		 res_wfree[RES_WAIT_MAX];	/* free name slots */
static size_t		 res_nwfree;
static struct ev_loop	*res_loop;
static struct ipc_chan	*res_chan;
static uint32_t		 res_timeout_ms;

static void	res_flush(void);

void
resolve_init(struct ev_loop *loop, uint32_t timeout_ms)
{
	size_t	i;

	res_loop = loop;
	res_timeout_ms = timeout_ms;
	for (i = 0; i < RES_WAIT_MAX; i++)
		res_wfree[i] = (uint16_t)(RES_WAIT_MAX - 1 - i);
	res_nwfree = RES_WAIT_MAX;
	if (namecache_init() == -1)
		log_warnx("%s: no name cache (out of memory)", __func__);
}

void
resolve_set_channel(struct ipc_chan *chan)
{
	res_chan = chan;
	if (chan != NULL)
		res_flush();
}

struct ipc_chan *
resolve_channel(void)
{
	return res_chan;
}

static struct res_req **
res_slot(uint32_t id)
{
	struct res_req **pp = &res_table[id % RES_BUCKETS];

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->hnext;
	return pp;
}

static uint32_t
res_new_id(void)
{
	uint32_t id;

	do {
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			fatal("%s: getrandom", __func__);
	} while (id == 0 || *res_slot(id) != NULL);
	return id;
}

/* Take r off the wait queue and give its name slot back. */
static void
res_unwait(struct res_req *r)
{
	TAILQ_REMOVE(&res_waitq, r, wait);
	res_wfree[res_nwfree++] = (uint16_t)(r->wslot - 1);
	r->wslot = 0;
}

static void
res_unlink(struct res_req *r)
{
	struct res_req **pp;

	if (r->wslot != 0)
		res_unwait(r);
	else if (r->id != 0 && *(pp = res_slot(r->id)) == r)
		*pp = r->hnext;
	free(r->hit);
	r->hit = NULL;
	ev_timer_stop(res_loop, &r->timer);
	r->id = 0;
	r->hnext = NULL;
}

static void
res_finish(struct res_req *r, int status, const struct sl_msg *ans)
{
	res_unlink(r);
	r->cb(r, status, ans, r->arg);
}

/* A cached answer, as the resolver would have sent it. */
static void
res_deliver_hit(struct res_req *r)
{
	static struct sl_msg	m;	/* 8 KiB: not on the stack */

	memset(&m.u.res_answer, 0, sizeof(m.u.res_answer));
	m.type = SL_MSG_RES_ANSWER;
	m.id = 0;
	m.fd = -1;
	m.u.res_answer.status = SL_RES_OK;
	m.u.res_answer.ttl = NC_MAX_TTL_S;
	m.u.res_answer.naddrs = r->hit->naddrs;
	memcpy(m.u.res_answer.addrs, r->hit->addrs,
	    r->hit->naddrs * sizeof(r->hit->addrs[0]));
	res_finish(r, SL_RES_OK, &m);
}

static void
res_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct res_req *r = container_of(w, struct res_req, timer);

	(void)loop;
	(void)revents;
	if (r->hit != NULL)
		res_deliver_hit(r);
	else
		res_finish(r, SL_RES_TIMEOUT, NULL);
}

/* A fresh answer from this worker's cache: delivered on the next turn. */
static int
res_from_cache(struct res_req *r)
{
	struct sl_res_addr	a[SL_MAX_ADDRS];
	uint32_t		n;

	if ((n = namecache_get(r->key, mono_ms(), a)) == 0 ||
	    (r->hit = malloc(sizeof(*r->hit))) == NULL)
		return -1;
	r->hit->naddrs = n;
	memcpy(r->hit->addrs, a, n * sizeof(a[0]));
	ev_timer_init(&r->timer, res_timeout, 0., 0.);
	ev_timer_start(res_loop, &r->timer);
	return 0;
}

/* Send r's query on the resolver channel; -1 (errno set) if not sent. */
static int
res_send(struct res_req *r, const char *name)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_RES_QUERY;
	m.fd = -1;
	m.id = res_new_id();
	m.u.res_query.family = 0;
	memcpy(m.u.res_query.name, name, strlen(name) + 1);
	if (ipc_chan_send(res_chan, &m) == -1)
		return -1;
	r->id = m.id;
	r->hnext = NULL;
	*res_slot(r->id) = r;
	return 0;
}

/* Park r until a resolver channel arrives; -1 when the queue is full. */
static int
res_wait(struct res_req *r, const char *name)
{
	uint16_t	slot;

	if (res_nwfree == 0) {
		log_debug("%s: %d lookups already wait for the resolver",
		    __func__, RES_WAIT_MAX);
		return -1;
	}
	slot = res_wfree[--res_nwfree];
	memcpy(res_wname[slot], name, strlen(name) + 1);
	r->wslot = (uint16_t)(slot + 1);
	TAILQ_INSERT_TAIL(&res_waitq, r, wait);
	return 0;
}

/*
 * The waiting lookups, oldest first, on the new channel.  Their timers
 * keep running: the wait counts against each lookup's timeout.  A
 * callback may start lookups or lose the channel again, so take the head
 * afresh every time.
 */
static void
res_flush(void)
{
	struct res_req	*r;
	char		 name[SL_MAX_NAME + 1];
	size_t		 n = 0;

	while (res_chan != NULL && (r = TAILQ_FIRST(&res_waitq)) != NULL) {
		memcpy(name, res_wname[r->wslot - 1], sizeof(name));
		res_unwait(r);
		if (res_send(r, name) == -1)
			res_finish(r, SL_RES_FAIL, NULL);
		else
			n++;
	}
	if (n > 0)
		log_info("resolver channel back: sent %zu waiting lookups", n);
}

int
resolve_start(struct res_req *r, const char *name, res_cb cb, void *arg)
{
	size_t	len = strlen(name);

	if (len == 0 || len > SL_MAX_NAME)
		return -1;
	r->id = 0;
	r->wslot = 0;
	r->hnext = NULL;
	r->cb = cb;
	r->arg = arg;
	r->hit = NULL;
	r->key = namecache_key(name);
	if (res_from_cache(r) == 0)
		return 0;
	/* EPIPE: the channel is closed and its close callback is due. */
	if (res_chan == NULL || (res_send(r, name) == -1 && errno == EPIPE)) {
		if (res_wait(r, name) == -1)
			return -1;
	} else if (r->id == 0)
		return -1;
	ev_timer_init(&r->timer, res_timeout, res_timeout_ms / 1000.0, 0.);
	ev_timer_start(res_loop, &r->timer);
	return 0;
}

void
resolve_cancel(struct res_req *r)
{
	if (r->id != 0 || r->wslot != 0 || r->hit != NULL)
		res_unlink(r);
}

void
resolve_dispatch(struct ipc_chan *chan, struct sl_msg *m, void *arg)
{
	struct res_req **pp;

	(void)chan;
	(void)arg;
	if (m->type != SL_MSG_RES_ANSWER) {
		log_warnx("%s: unexpected %s from resolver", __func__,
		    ipc_msg_name(m->type));
		return;
	}
	if (m->id == 0 || *(pp = res_slot(m->id)) == NULL) {
		/* Late answers after a timeout are normal; say so quietly. */
		log_debug("%s: answer for unknown request %u", __func__, m->id);
		return;
	}
	if (m->u.res_answer.status == SL_RES_OK)
		namecache_put((*pp)->key, m->u.res_answer.ttl,
		    m->u.res_answer.addrs, m->u.res_answer.naddrs, mono_ms());
	res_finish(*pp, m->u.res_answer.status, m->u.res_answer.status ==
	    SL_RES_OK ? m : NULL);
}

void
resolve_fail_all(void)
{
	size_t		 i;
	struct res_req	*r;

	for (i = 0; i < RES_BUCKETS; i++)
		while ((r = res_table[i]) != NULL)
			res_finish(r, SL_RES_FAIL, NULL);
}
