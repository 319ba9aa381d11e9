/*
 * The master's part in the registry's work (registry/registry.c): it
 * connects the registry's sockets to Redis, and passes the service
 * tables the registry makes on to the workers.
 *
 * Sockets: the registry may not make sockets, so it can reach nothing
 * but the one address in the master's own config.  The master never
 * blocks for it (non-blocking connect, handed over in progress; the
 * registry waits for the result), never reads a byte from Redis, and
 * makes at most SVC_SOCK_BURST sockets at once and SVC_SOCK_RATE a
 * second: a compromised registry cannot make the master a connection
 * flood.
 *
 * Tables: the registry fills a memfd the master made for it
 * (svc_memfd_request) and sends it back sealed.  The master does not
 * read them.  It checks that the fd is a
 * memfd sealed against any change (so what a worker reads is what the
 * registry sent, however often it is read) and that its size is what the
 * message says and within SL_MAX_CONF_BYTES; it keeps the newest (so a
 * worker that is respawned, or starts later, gets it) and sends it to
 * every ready worker.  The generation the workers see is the master's,
 * so it keeps increasing when the registry itself is respawned.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../ipc/codec.h"
#include "master.h"
#include "proc_priv.h"

#define SVC_SOCK_BURST		2	/* the registry's two connections */
#define SVC_SOCK_RATE		4.0	/* sockets per second, sustained */
#define SVC_SOCK_LOG_EVERY	10.0	/* s between "refusing" lines */
#define SVC_SEALS		(F_SEAL_SHRINK | F_SEAL_GROW | \
				    F_SEAL_WRITE | F_SEAL_SEAL)

void
svc_pool_init(struct pool *p)
{
	p->svc.fd = -1;
	p->svc.sock_tokens = SVC_SOCK_BURST;
	p->svc.sock_last = 0;
	p->svc.sock_logged = -SVC_SOCK_LOG_EVERY;
}


/* Every ready row of the pool that takes the tables gets the newest. */
void
proc_table_broadcast(uint32_t pool)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].desc->tables && ms->procs[i].pool == pool &&
		    ms->procs[i].state == PROC_READY)
			svc_table_send(&ms->procs[i]);
}

/* The pool's table gone with the pool. */
void
svc_pool_free(struct pool *p)
{
	if (p->svc.fd != -1)
		close(p->svc.fd);
	p->svc.fd = -1;
}

/* Token bucket: 1 when a socket may be made now. */
static int
svc_sock_allowed(struct svc_state *sv)
{
	ev_tstamp	now = ev_now(ms->loop);

	sv->sock_tokens += (now - sv->sock_last) * SVC_SOCK_RATE;
	if (sv->sock_tokens > SVC_SOCK_BURST)
		sv->sock_tokens = SVC_SOCK_BURST;
	sv->sock_last = now;
	if (sv->sock_tokens < 1.0)
		return 0;
	sv->sock_tokens -= 1.0;
	return 1;
}

/*
 * A TCP socket whose connect to the Redis address is under way.
 * Keepalive finds a server that vanished while the registry only
 * listens for notifications.
 */
static int
svc_redis_socket(const struct sl_dbbackend *db)
{
	int	fd, saved;

	fd = socket(db->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 },
	    sizeof(int));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 30 },
	    sizeof(int));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &(int){ 10 },
	    sizeof(int));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &(int){ 3 },
	    sizeof(int));
	if (connect(fd, (const struct sockaddr *)&db->addr, db->addrlen) ==
	    -1 && errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
svc_sock_request(struct proc *c, const struct sl_msg *m)
{
	const struct sl_conf	*conf = gen_conf(c->generation);
	struct svc_state	*sv = &ms->pools[c->pool].svc;
	struct sl_msg		 r;
	int			 fd = -1;

	if (conf == NULL || !conf->dbbackend.enabled || m->id == 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.id = m->id;
	r.type = SL_MSG_SOCK_FAIL;
	r.fd = -1;
	if (!svc_sock_allowed(sv)) {
		r.u.sock_fail.err = EAGAIN;
		if (ev_now(ms->loop) - sv->sock_logged >= SVC_SOCK_LOG_EVERY) {
			log_warnx("%s asks for Redis sockets faster than %.0f/s; "
			    "refusing", c->name, SVC_SOCK_RATE);
			sv->sock_logged = ev_now(ms->loop);
		}
	} else if ((fd = svc_redis_socket(&conf->dbbackend)) == -1) {
		r.u.sock_fail.err = (uint32_t)errno;
		log_debug("%s: redis socket: %s", c->name, strerror(errno));
	} else {
		r.type = SL_MSG_SOCK_FD;
		r.fd = fd;
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, &r) == -1)
		log_warnx("%s: cannot answer a socket request", c->name);
	if (fd != -1)
		close(fd);
	return 0;
}

/*
 * MEMFD_REQ: an empty memfd of the size asked for, for the registry to
 * fill and seal (its RLIMIT_FSIZE of 0 lets it neither write() nor grow
 * a file).  The master never reads it: the SVC_TABLE that brings it
 * back is checked by its seals and size alone.
 */
int
svc_memfd_request(struct proc *c, const struct sl_msg *m)
{
	const struct sl_conf	*conf = gen_conf(c->generation);
	struct sl_msg		 r;
	int			 fd;

	if (conf == NULL || !conf->dbbackend.enabled || m->id == 0 ||
	    m->u.memfd_req.size == 0 ||
	    m->u.memfd_req.size > SL_MAX_CONF_BYTES)
		return -1;
	memset(&r, 0, sizeof(r));
	r.id = m->id;
	r.type = SL_MSG_SOCK_FD;
	fd = memfd_create("sluice-services", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd != -1 && ftruncate(fd, (off_t)m->u.memfd_req.size) == -1) {
		close(fd);
		fd = -1;
	}
	if ((r.fd = fd) == -1) {
		r.type = SL_MSG_SOCK_FAIL;
		r.u.sock_fail.err = (uint32_t)errno;
		log_warn("%s: service table memfd", c->name);
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, &r) == -1)
		log_warnx("%s: cannot answer a memfd request", c->name);
	if (fd != -1)
		close(fd);
	return 0;
}

/* A memfd nobody can change, of the size announced. */
static int
svc_table_ok(const struct sl_msg *m, const char **why)
{
	struct stat	st;
	int		seals;

	if ((seals = fcntl(m->fd, F_GET_SEALS)) == -1)
		*why = "not a memfd";
	else if ((seals & SVC_SEALS) != SVC_SEALS)
		*why = "memfd not sealed";
	else if (fstat(m->fd, &st) == -1 || !S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if ((uint64_t)st.st_size != m->u.svc_table.size ||
	    m->u.svc_table.size == 0 ||
	    m->u.svc_table.size > SL_MAX_CONF_BYTES)
		*why = "size does not match";
	else
		return 0;
	return -1;
}

int
svc_table_in(struct proc *c, struct sl_msg *m)
{
	struct svc_state	*sv = &ms->pools[c->pool].svc;
	const char		*why = NULL;

	if (svc_table_ok(m, &why) == -1) {
		log_warnx("%s: service table refused: %s", c->name, why);
		return -1;
	}
	if (sv->fd != -1)
		close(sv->fd);
	sv->fd = m->fd;
	m->fd = -1;
	sv->size = m->u.svc_table.size;
	sv->count = m->u.svc_table.count;
	sv->generation++;
	log_debug("%s: service table %u: %u services, %llu bytes", c->name,
	    sv->generation, sv->count, (unsigned long long)sv->size);
	proc_table_broadcast(c->pool);
	return 0;
}

void
svc_table_send(struct proc *c)
{
	const struct svc_state	*sv = &ms->pools[c->pool].svc;
	struct sl_msg		 m;

	if (sv->fd == -1 || c->chan == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SVC_TABLE;
	m.fd = sv->fd;
	m.u.svc_table.generation = sv->generation;
	m.u.svc_table.size = sv->size;
	m.u.svc_table.count = sv->count;
	if (ipc_chan_send(c->chan, &m) == -1)
		log_warnx("%s: cannot send the service table", c->name);
}
