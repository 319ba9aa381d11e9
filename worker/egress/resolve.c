/*
 * Asynchronous lookups through the resolver process.
 *
 * Pending requests live in a small hash keyed by request id; each has its
 * own timeout so one slow name never holds up another session.
 */
#include <sys/random.h>
#include <errno.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "resolve.h"

#define RES_BUCKETS	1024

static struct res_req	*res_table[RES_BUCKETS];
static struct ev_loop	*res_loop;
static struct ipc_chan	*res_chan;
static uint32_t		 res_timeout_ms;

void
resolve_init(struct ev_loop *loop, uint32_t timeout_ms)
{
	res_loop = loop;
	res_timeout_ms = timeout_ms;
}

void
resolve_set_channel(struct ipc_chan *chan)
{
	res_chan = chan;
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

static void
res_unlink(struct res_req *r)
{
	struct res_req **pp = res_slot(r->id);

	if (*pp == r)
		*pp = r->hnext;
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

static void
res_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct res_req *r = container_of(w, struct res_req, timer);

	(void)loop;
	(void)revents;
	res_finish(r, SL_RES_TIMEOUT, NULL);
}

int
resolve_start(struct res_req *r, const char *name, res_cb cb, void *arg)
{
	struct sl_msg	m;
	size_t		len = strlen(name);

	if (res_chan == NULL || len == 0 || len > SL_MAX_NAME)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_RES_QUERY;
	m.fd = -1;
	m.id = res_new_id();
	m.u.res_query.family = 0;
	memcpy(m.u.res_query.name, name, len + 1);
	if (ipc_chan_send(res_chan, &m) == -1)
		return -1;
	r->id = m.id;
	r->cb = cb;
	r->arg = arg;
	r->hnext = NULL;
	*res_slot(r->id) = r;
	ev_timer_init(&r->timer, res_timeout, res_timeout_ms / 1000.0, 0.);
	ev_timer_start(res_loop, &r->timer);
	return 0;
}

void
resolve_cancel(struct res_req *r)
{
	if (r->id != 0)
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
