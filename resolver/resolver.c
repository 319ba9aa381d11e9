/*
 * The resolver process: answers workers' name lookups with c-ares, from
 * inside the same kind of jail as a worker.
 *
 * c-ares reads resolv.conf when its channel is created, before lockdown;
 * it is told never to read the hosts file itself ("b" lookups), because
 * the hosts file was read into memory before the chroot.  Each lookup
 * asks A and AAAA at once and answers when both are in.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>

#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/util.h"
#include "../ipc/boot.h"
#include "../ipc/chan.h"
#include "../ipc/codec.h"
#include "../policy/config.h"
#include "hosts.h"
#include "resolver.h"
#include "../common/sandbox.h"

#define RES_MAX_INFLIGHT	8192	/* per worker channel */
#define RES_T_A			1
#define RES_T_AAAA		28
#define RES_C_IN		1

struct rs_peer {
	struct ipc_chan	*chan;
	uint32_t	 gen;		/* bumped when the channel changes */
	uint32_t	 inflight;
};

struct rs_lookup {
	uint32_t		worker, gen, id;
	int			pending;	/* queries still out */
	int			status[2];	/* c-ares status, A and AAAA */
	uint32_t		ttl;
	uint32_t		naddrs;
	struct sl_res_addr	addrs[SL_MAX_ADDRS];
	struct sl_res_addr	v6[SL_MAX_ADDRS];
	uint32_t		nv6;
};

struct rs_sock {
	ev_io		 io;
	ares_socket_t	 fd;
	struct rs_sock	*next;
};

static struct {
	struct ev_loop		*loop;
	struct sl_conf		*conf;
	uint32_t		 nworkers;
	struct ipc_chan		*master;
	struct rs_peer		 peers[SL_MAX_WORKERS];
	struct hosts_table	 hosts;
	ares_channel		 ares;
	struct rs_sock		*socks;
	ev_timer		 ares_timer;
} rs;

static void
rs_ares_rearm(void)
{
	struct timeval	tv, *tvp;

	ev_timer_stop(rs.loop, &rs.ares_timer);
	if ((tvp = ares_timeout(rs.ares, NULL, &tv)) == NULL)
		return;
	ev_timer_set(&rs.ares_timer, tvp->tv_sec + tvp->tv_usec / 1e6, 0.);
	ev_timer_start(rs.loop, &rs.ares_timer);
}

static void
rs_ares_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	ares_process_fd(rs.ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rs_ares_rearm();
}

static void
rs_ares_io(struct ev_loop *loop, ev_io *w, int revents)
{
	ares_socket_t fd = container_of(w, struct rs_sock, io)->fd;

	(void)loop;
	/* The watcher may be freed inside: do not touch w afterwards. */
	ares_process_fd(rs.ares, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rs_ares_rearm();
}

static void
rs_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rs_sock	**pp, *s;

	(void)data;
	for (pp = &rs.socks; (s = *pp) != NULL && s->fd != fd; pp = &s->next)
		;
	if (!readable && !writable) {
		if (s != NULL) {
			ev_io_stop(rs.loop, &s->io);
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("%s: calloc", __func__);
		s->fd = fd;
		s->next = rs.socks;
		rs.socks = s;
		ev_init(&s->io, rs_ares_io);
	}
	ev_io_stop(rs.loop, &s->io);
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0));
	ev_io_start(rs.loop, &s->io);
}

static void
rs_send_answer(uint32_t worker, uint32_t gen, uint32_t id, uint8_t status,
    uint32_t ttl, const struct sl_res_addr *addrs, uint32_t naddrs)
{
	struct rs_peer	*p = &rs.peers[worker];
	struct sl_msg	 m;

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

static uint8_t
rs_status(const struct rs_lookup *l)
{
	int a = l->status[0], aaaa = l->status[1];

	if (l->naddrs > 0)
		return SL_RES_OK;
	if ((a == ARES_ENOTFOUND || a == ARES_ENODATA || a == ARES_SUCCESS) &&
	    (aaaa == ARES_ENOTFOUND || aaaa == ARES_ENODATA ||
	    aaaa == ARES_SUCCESS))
		return SL_RES_NXDOMAIN;
	if (a == ARES_ETIMEOUT || aaaa == ARES_ETIMEOUT)
		return SL_RES_TIMEOUT;
	return SL_RES_FAIL;
}

static void
rs_lookup_done(struct rs_lookup *l)
{
	uint32_t	i;

	/* IPv4 answers first, then IPv6, as many as fit. */
	for (i = 0; i < l->nv6 && l->naddrs < SL_MAX_ADDRS; i++)
		l->addrs[l->naddrs++] = l->v6[i];
	if (rs.peers[l->worker].gen == l->gen &&
	    rs.peers[l->worker].inflight > 0)
		rs.peers[l->worker].inflight--;
	rs_send_answer(l->worker, l->gen, l->id, rs_status(l), l->ttl,
	    l->addrs, l->naddrs);
	free(l);
}

static void
rs_ttl(struct rs_lookup *l, int ttl)
{
	if (ttl >= 0 && (l->ttl == 0 || (uint32_t)ttl < l->ttl))
		l->ttl = (uint32_t)ttl;
}

static void
rs_parse_a(struct rs_lookup *l, unsigned char *abuf, int alen)
{
	struct ares_addrttl	t[SL_MAX_ADDRS];
	int			n = SL_MAX_ADDRS, i;

	if (ares_parse_a_reply(abuf, alen, NULL, t, &n) != ARES_SUCCESS)
		return;
	for (i = 0; i < n && l->naddrs < SL_MAX_ADDRS; i++) {
		l->addrs[l->naddrs].family = 4;
		memcpy(l->addrs[l->naddrs++].addr, &t[i].ipaddr, 4);
		rs_ttl(l, t[i].ttl);
	}
}

static void
rs_parse_aaaa(struct rs_lookup *l, unsigned char *abuf, int alen)
{
	struct ares_addr6ttl	t[SL_MAX_ADDRS];
	int			n = SL_MAX_ADDRS, i;

	if (ares_parse_aaaa_reply(abuf, alen, NULL, t, &n) != ARES_SUCCESS)
		return;
	for (i = 0; i < n && l->nv6 < SL_MAX_ADDRS; i++) {
		l->v6[l->nv6].family = 6;
		memcpy(l->v6[l->nv6++].addr, &t[i].ip6addr, 16);
		rs_ttl(l, t[i].ttl);
	}
}

static void
rs_cb_a(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rs_lookup *l = arg;

	(void)timeouts;
	l->status[0] = status;
	if (status == ARES_SUCCESS)
		rs_parse_a(l, abuf, alen);
	if (--l->pending == 0)
		rs_lookup_done(l);
}

static void
rs_cb_aaaa(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rs_lookup *l = arg;

	(void)timeouts;
	l->status[1] = status;
	if (status == ARES_SUCCESS)
		rs_parse_aaaa(l, abuf, alen);
	if (--l->pending == 0)
		rs_lookup_done(l);
}

/* One RES_QUERY from worker `w`. */
static void
rs_query(uint32_t w, struct sl_msg *m)
{
	struct rs_peer		*p = &rs.peers[w];
	struct sl_res_addr	 addrs[SL_MAX_ADDRS];
	struct rs_lookup	*l;
	char			*name = m->u.res_query.name;
	size_t			 n;

	if (hostname_check(name) == -1) {
		rs_send_answer(w, p->gen, m->id, SL_RES_BADNAME, 0, NULL, 0);
		return;
	}
	if ((n = hosts_lookup(&rs.hosts, name, addrs, SL_MAX_ADDRS)) > 0) {
		rs_send_answer(w, p->gen, m->id, SL_RES_OK, 0, addrs,
		    (uint32_t)n);
		return;
	}
	if (p->inflight >= RES_MAX_INFLIGHT ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		rs_send_answer(w, p->gen, m->id, SL_RES_FAIL, 0, NULL, 0);
		return;
	}
	p->inflight++;
	l->worker = w;
	l->gen = p->gen;
	l->id = m->id;
	l->pending = 2;
	ares_search(rs.ares, name, RES_C_IN, RES_T_A, rs_cb_a, l);
	ares_search(rs.ares, name, RES_C_IN, RES_T_AAAA, rs_cb_aaaa, l);
	rs_ares_rearm();
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

static void
rs_set_peer(uint32_t index, int fd)
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
		rs_set_peer(m->u.cfg_peer.index, m->fd);
		m->fd = -1;
		break;
	default:
		log_warnx("%s: unexpected %s", __func__, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

static void
rs_master_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)c;
	(void)arg;
	if (why != NULL)
		log_warnx("master channel: %s", why);
	_exit(0);
}

static void
rs_ares_init(void)
{
	struct ares_options		 o;
	struct ares_addr_port_node	 ns[16];
	char				*lookups = "b";
	size_t				 i;
	int				 rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("%s: %s", __func__, ares_strerror(rc));
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = rs_sock_state;
	o.lookups = lookups;
	o.timeout = (int)(rs.conf->resolve_timeout_ms / 2);
	o.tries = 2;
	rc = ares_init_options(&rs.ares, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS)
		fatalx("%s: ares_init_options: %s", __func__, ares_strerror(rc));
	if (rs.conf->nameservers_system)
		return;
	memset(ns, 0, sizeof(ns));
	for (i = 0; i < rs.conf->nnameservers && i < nitems(ns); i++) {
		const struct sockaddr *sa = (const void *)
		    &rs.conf->nameservers[i].addr;

		ns[i].family = sa->sa_family;
		if (sa->sa_family == AF_INET)
			memcpy(&ns[i].addr.addr4,
			    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		else
			memcpy(&ns[i].addr.addr6,
			    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		ns[i].udp_port = ns[i].tcp_port = sockaddr_port(sa);
		ns[i].next = i + 1 < rs.conf->nnameservers && i + 1 < nitems(ns) ?
		    &ns[i + 1] : NULL;
	}
	if ((rc = ares_set_servers_ports(rs.ares, ns)) != ARES_SUCCESS)
		fatalx("%s: ares_set_servers_ports: %s", __func__,
		    ares_strerror(rc));
}

static void
rs_setup(struct child_boot *b)
{
	char	err[256];
	size_t	i;

	if (conf_parse(b->conf_text, b->conf_len, &rs.conf, err,
	    sizeof(err)) == -1)
		fatalx("config from master: %s", err);
	child_boot_free_conf(b);
	log_set_level(rs.conf->log_level);
	if ((rs.loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("%s: ev_loop_new", __func__);
	rs.master = ipc_chan_new(rs.loop, SL_CHILD_CHAN_FD, SL_PROC_MASTER, 1,
	    rs_master_msg, rs_master_closed, NULL);
	if (rs.master == NULL)
		fatal("%s: master channel", __func__);
	for (i = 0; i < b->npeers; i++)
		rs_set_peer(b->peers[i].index, b->peers[i].fd);
	hosts_load(&rs.hosts, "/etc/hosts");
	ev_init(&rs.ares_timer, rs_ares_timer);
	rs_ares_init();
}

/*
 * Entry point of "sluiced -P resolver -N nworkers -u uid -g gid".
 */
void
resolver_main(int argc, char *argv[])
{
	struct child_boot	 b;
	struct sl_msg		 ready;
	pid_t			 ppid = getppid();
	long			 uid = -1, gid = -1;
	int			 ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "P:I:N:u:g:")) != -1) {
		switch (ch) {
		case 'N': rs.nworkers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'u': uid = strtol(optarg, NULL, 10); break;
		case 'g': gid = strtol(optarg, NULL, 10); break;
		default: break;
		}
	}
	log_init("resolver", SL_LOG_INFO);
	child_log_to_master(SL_CHILD_CHAN_FD);
	if (rs.nworkers == 0 || rs.nworkers > SL_MAX_WORKERS || uid <= 0 ||
	    gid <= 0)
		fatalx("%s: bad arguments", __func__);
	(void)prctl(PR_SET_NAME, "sluice-resolver");
	signal(SIGPIPE, SIG_IGN);
	child_boot(SL_CHILD_CHAN_FD, &b);
	rs_setup(&b);

	privdrop((uid_t)uid, (gid_t)gid, rs.conf->chroot);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != ppid)
		fatalx("%s: master gone", __func__);
	sandbox_resolver();

	memset(&ready, 0, sizeof(ready));
	ready.type = SL_MSG_READY;
	ready.fd = -1;
	if (ipc_chan_send(rs.master, &ready) == -1)
		fatalx("%s: cannot send READY", __func__);
	ev_run(rs.loop, 0);
	_exit(0);
}
