/*
 * Start-up of a confined child, and its log sink.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "boot.h"
#include "codec.h"

static void
boot_conf(struct child_boot *b, const struct sl_msg *m)
{
	void	*p;
	size_t	 len = m->u.cfg_conf.size;

	if (b->conf_text != NULL || len == 0 || len > SL_MAX_CONF_BYTES)
		fatalx("%s: bad config size %zu", __func__, len);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (p == MAP_FAILED)
		fatal("%s: mmap", __func__);
	if ((b->conf_text = malloc(len + 1)) == NULL)
		fatal("%s: malloc", __func__);
	memcpy(b->conf_text, p, len);
	b->conf_text[len] = '\0';
	b->conf_len = len;
	b->generation = m->u.cfg_conf.generation;
	munmap(p, len);
}

/*
 * A part is mapped writable only if the master's fd is: the parts of
 * other writers come read-only, and no mprotect can change that.
 */
static void
boot_shm(struct child_boot *b, const struct sl_msg *m)
{
	struct boot_shm	*p;
	size_t		 len = m->u.cfg_shm.size;
	int		 fl;

	if (b->nshm >= sizeof(b->shm) / sizeof(b->shm[0]) || len == 0 ||
	    len > (64u << 20))
		fatalx("%s: bad shm part (%zu bytes)", __func__, len);
	if ((fl = fcntl(m->fd, F_GETFL)) == -1)
		fatal("%s: fcntl", __func__);
	p = &b->shm[b->nshm];
	p->writable = (fl & O_ACCMODE) == O_RDWR;
	p->base = mmap(NULL, len, p->writable ? PROT_READ | PROT_WRITE :
	    PROT_READ, MAP_SHARED, m->fd, 0);
	if (p->base == MAP_FAILED)
		fatal("%s: mmap", __func__);
	p->size = len;
	p->part = m->u.cfg_shm.part;
	p->slot = m->u.cfg_shm.slot;
	b->nshm++;
}

static void
boot_add(struct boot_fd *arr, size_t *n, size_t cap, struct sl_msg *m,
    uint32_t index)
{
	if (*n >= cap)
		fatalx("%s: too many %s", __func__, ipc_msg_name(m->type));
	arr[*n].fd = m->fd;
	arr[*n].index = index;
	arr[*n].role = m->type == SL_MSG_CFG_PEER ? m->u.cfg_peer.role : 0;
	(*n)++;
	m->fd = -1;
}

void
child_boot(int chan, struct child_boot *b)
{
	struct sl_msg	 m;
	const char	*why = NULL;
	int		 rc;

	memset(b, 0, sizeof(*b));
	for (;;) {
		rc = ipc_frame_recv(chan, SL_PROC_MASTER, 1, &m, &why, 0);
		if (rc == SL_RECV_EOF)
			_exit(0);
		if (rc != SL_RECV_OK)
			fatalx("%s: %s", __func__, rc == SL_RECV_BAD ? why :
			    strerror(errno));
		switch (m.type) {
		case SL_MSG_CFG_CONF:
			boot_conf(b, &m);
			break;
		case SL_MSG_CFG_SHM:
			boot_shm(b, &m);
			break;
		case SL_MSG_CFG_PEER:
			boot_add(b->peers, &b->npeers, SL_MAX_WORKERS * 2, &m,
			    m.u.cfg_peer.index);
			break;
		case SL_MSG_CFG_LISTENER:
			boot_add(b->listeners, &b->nlisteners,
			    SL_MAX_LISTENERS, &m, m.u.cfg_listener.index);
			break;
		case SL_MSG_CFG_END:
			if (b->conf_text == NULL)
				fatalx("%s: no config", __func__);
			return;
		default:
			fatalx("%s: unexpected %s", __func__,
			    ipc_msg_name(m.type));
		}
		if (m.fd != -1)
			close(m.fd);
	}
}

void
child_boot_free_conf(struct child_boot *b)
{
	if (b->conf_text != NULL)
		explicit_bzero(b->conf_text, b->conf_len);
	free(b->conf_text);
	b->conf_text = NULL;
}

void
child_boot_unmap(struct child_boot *b)
{
	size_t	i;

	for (i = 0; i < b->nshm; i++)
		munmap(b->shm[i].base, b->shm[i].size);
	b->nshm = 0;
}

static void
child_log_sink(int level, const char *line, void *arg)
{
	struct sl_msg	m;
	size_t		len = strlen(line);

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_LOG;
	m.fd = -1;
	m.u.log.level = (uint32_t)level;
	if (len > SL_LOG_MAX_TEXT)
		len = SL_LOG_MAX_TEXT;
	memcpy(m.u.log.text, line, len);
	m.u.log.text[len] = '\0';
	/* Never block the loop on logging: a full channel drops the line. */
	(void)ipc_frame_send(*(int *)arg, &m, MSG_DONTWAIT);
}

void
child_log_to_master(int chan)
{
	static int	fd;

	fd = chan;
	log_set_sink(child_log_sink, &fd);
}
