/*
 * The registry process ("sluiced -P registry"): tcprouter's services,
 * read from Redis, for the workers.
 *
 * It starts like every confined child (ipc/child.c): config from the
 * master, chroot, uid drop, NO_NEW_PRIVS, its own seccomp allowlist
 * (sandbox.c), READY.  Its only network peer is the configured Redis
 * address, and that holds by construction: the filter has no socket()
 * and no connect(), so it asks the master for each connection
 * (SL_MSG_REDIS_SOCK) and the master, which knows the address from its
 * own config, answers with a socket it connected there (SL_MSG_SOCK_FD).
 * A compromised registry can talk to that Redis server and to the
 * master, nothing else.
 *
 * What it produces is a JSON table in a sealed memfd (SL_MSG_SVC_TABLE):
 * the master checks the seals and the size without reading it and
 * passes it on to every worker; no worker ever talks to Redis.  The
 * memfd itself comes from the master (SL_MSG_MEMFD_REQ): like every
 * child, the registry runs with RLIMIT_FSIZE 0, so it can neither grow
 * a file nor write() one, and fills it through a shared mapping.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "../common/log.h"
#include "../common/sandbox.h"
#include "../ipc/boot.h"
#include "../ipc/chan.h"
#include "../ipc/child.h"
#include "../ipc/codec.h"
#include "registry.h"

static struct {
	struct ev_loop	*loop;
	struct sl_conf	*conf;
	struct ipc_chan	*master;
	uint32_t	 generation;	/* of the tables sent */
	char		*table;		/* the next table, waiting for a */
	size_t		 table_len;	/* memfd from the master */
	uint32_t	 table_count;
	uint32_t	 memfd_id;	/* MEMFD_REQ out, 0: none */
	uint64_t	 memfd_size;
} reg;

static uint32_t
registry_new_id(void)
{
	uint32_t	id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			fatal("%s: getrandom", __func__);
	return id;
}

/* A request to the master: REDIS_SOCK, or MEMFD_REQ of size bytes. */
static uint32_t
registry_request(uint16_t type, uint64_t size)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.id = registry_new_id();
	m.fd = -1;
	if (type == SL_MSG_MEMFD_REQ)
		m.u.memfd_req.size = size;
	if (reg.master == NULL || ipc_chan_send(reg.master, &m) == -1)
		return 0;
	return m.id;
}

uint32_t
registry_ask_socket(void)
{
	return registry_request(SL_MSG_REDIS_SOCK, 0);
}

static void
registry_table_drop(void)
{
	free(reg.table);
	reg.table = NULL;
	reg.table_len = 0;
}

/* Ask for a memfd the size of the table waiting, unless one is asked. */
static void
registry_table_ask(void)
{
	if (reg.memfd_id != 0 || reg.table == NULL)
		return;
	reg.memfd_size = reg.table_len;
	if ((reg.memfd_id = registry_request(SL_MSG_MEMFD_REQ,
	    reg.table_len)) == 0) {
		log_warnx("cannot ask the master for a table memfd");
		registry_table_drop();
		scan_table_lost();
	}
}

void
registry_send_table(const char *json, size_t len, uint32_t count)
{
	registry_table_drop();
	if ((reg.table = malloc(len)) == NULL) {
		log_warnx("service table: out of memory");
		scan_table_lost();
		return;
	}
	memcpy(reg.table, json, len);
	reg.table_len = len;
	reg.table_count = count;
	registry_table_ask();
}

/*
 * Fill the master's memfd through a shared mapping (write() would hit
 * RLIMIT_FSIZE 0), then seal it for good: from now on nobody, this
 * process included, can change a byte of it or its size.
 */
static int
registry_table_fill(int fd)
{
	void	*p;

	p = mmap(NULL, reg.table_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (p == MAP_FAILED)
		return -1;
	memcpy(p, reg.table, reg.table_len);
	if (munmap(p, reg.table_len) == -1)
		return -1;
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL);
}

/* The master's answer to MEMFD_REQ. */
static void
registry_memfd(int fd, int err)
{
	struct sl_msg	m;

	reg.memfd_id = 0;
	if (fd == -1 || reg.table == NULL || reg.memfd_size != reg.table_len) {
		if (fd != -1)
			close(fd);	/* a newer table of another size */
		else if (reg.table != NULL) {
			log_warnx("no memfd for the service table: %s",
			    strerror(err));
			registry_table_drop();
			scan_table_lost();
		}
		registry_table_ask();
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SVC_TABLE;
	m.fd = fd;
	m.u.svc_table.generation = ++reg.generation;
	m.u.svc_table.size = reg.table_len;
	m.u.svc_table.count = reg.table_count;
	if (registry_table_fill(fd) == -1) {
		log_warn("service table memfd");
		scan_table_lost();
	} else if (reg.master == NULL || ipc_chan_send(reg.master, &m) == -1) {
		log_warnx("cannot send the service table to the master");
		scan_table_lost();
	}
	close(fd);
	registry_table_drop();
}

static void
registry_master_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	switch (m->type) {
	case SL_MSG_LOG_LEVEL:
		log_set_level((int)m->u.log_level.level);
		break;
	case SL_MSG_DRAIN:
		ipc_chan_flush(reg.master, 1000);
		_exit(0);
	case SL_MSG_SOCK_FD:
	case SL_MSG_SOCK_FAIL:
		if (m->id == reg.memfd_id)
			registry_memfd(m->fd, (int)m->u.sock_fail.err);
		else
			scan_socket(m->id, m->fd, (int)m->u.sock_fail.err);
		m->fd = -1;
		break;
	default:
		log_warnx("%s: unexpected %s", __func__, ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

static void
registry_setup(struct child_boot *b)
{
	char	err[256];
	size_t	i;

	/* Its copy has the agents' secrets redacted (tunnel.c has them). */
	conf_parse_redacted = 1;
	if (conf_parse(b->conf_text, b->conf_len, &reg.conf, err,
	    sizeof(err)) == -1)
		fatalx("config from master: %s", err);
	child_boot_free_conf(b);
	log_set_level(reg.conf->log_level);
	if (!reg.conf->dbbackend.enabled)
		fatalx("started without a dbbackend in the config");
	/* Nothing else the master sends at boot is of use here. */
	for (i = 0; i < b->npeers; i++)
		close(b->peers[i].fd);
	for (i = 0; i < b->nlisteners; i++)
		close(b->listeners[i].fd);
	child_boot_unmap(b);
	if ((reg.loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
		fatalx("%s: ev_loop_new", __func__);
	reg.master = ipc_chan_new(reg.loop, SL_CHILD_CHAN_FD, SL_PROC_MASTER,
	    1, registry_master_msg, child_master_closed, NULL);
	if (reg.master == NULL)
		fatal("%s: master channel", __func__);
	scan_init(reg.loop, &reg.conf->dbbackend);
}

/* The registry's filter takes no options. */
static void
registry_sandbox(const struct sandbox_opts *sb)
{
	(void)sb;
	sandbox_registry();
}

/*
 * Entry point of "sluiced -P registry -I 0 -N nworkers -u uid -g gid".
 */
void
registry_main(int argc, char *argv[])
{
	static const struct child_desc d = {
		.role = "registry", .indexed = 0, .title = "sluice-registry",
		.sandbox = registry_sandbox,
	};
	struct child_start	cs;

	child_begin(&cs, &d, argc, argv);
	registry_setup(&cs.boot);
	child_confine(&cs, reg.conf->chroot, reg.master);
	scan_start();
	ev_run(reg.loop, 0);
	_exit(0);
}
