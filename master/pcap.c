/*
 * pcap taps' files: opened by the master at start-up, written by it for
 * the workers, which cannot open files (worker/relay/tap_pcap.h).
 *
 * A worker sends each packet as a PCAP_REC; the master writes the record
 * header itself (the time from the message, both lengths the packet's)
 * and the packet with one write().  It does not look inside the packet:
 * a hostile worker can write garbage packets, never a file a reader
 * cannot walk.  A write that fails or comes up short is cut off again
 * (ftruncate) and ends the file's capture, for the same reason.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "master.h"

#define PCAP_MAGIC		0xa1b2c3d4u	/* microseconds, our order */
#define PCAP_SNAPLEN		65535
#define PCAP_LINKTYPE_RAW	101		/* raw IPv4 or IPv6 */
#define PCAP_FILE_HDR		24
#define PCAP_REC_HDR		16

struct pcap_file {
	int		 fd;
	uint64_t	 max_bytes;
	uint64_t	 written;	/* bytes in the file */
	int		 stopped;	/* full, or a write failed */
	const char	*path;		/* the config's */
};

static struct pcap_file	*pcap_files;
static size_t		 npcap_files;

/* The global header, in our byte order: version 2.4, snaplen, raw IP. */
static int
pcap_header(int fd)
{
	uint8_t		h[PCAP_FILE_HDR];
	uint32_t	magic = PCAP_MAGIC, snaplen = PCAP_SNAPLEN;
	uint32_t	linktype = PCAP_LINKTYPE_RAW;
	uint16_t	major = 2, minor = 4;
	ssize_t		n;

	memset(h, 0, sizeof(h));	/* thiszone, sigfigs */
	memcpy(h, &magic, 4);
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 16, &snaplen, 4);
	memcpy(h + 20, &linktype, 4);
	n = write(fd, h, sizeof(h));
	if (n == (ssize_t)sizeof(h))
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

static size_t
pcap_count(const struct sl_conf *conf)
{
	size_t	i, j, n = 0;

	for (i = 0; i < conf->nlisteners; i++)
		for (j = 0; !conf->listeners[i].borrowed &&
		    j < conf->listeners[i].ntaps; j++)
			if (conf->listeners[i].taps[j].type == SL_TAP_PCAP)
				n++;
	return n;
}

/*
 * -t: what opening would say, without creating anything: the file's
 * directory must be a directory, and the file, if there, not a link.
 */
int
pcap_check_all(char *err, size_t errlen)
{
	const struct sl_listener	*l;
	const struct sl_tap		*t;
	struct stat			 st;
	char				 dir[PATH_MAX], *slash;
	size_t				 i, j;
	int				 e;

	for (i = 0; i < ms->conf->nlisteners; i++) {
		l = &ms->conf->listeners[i];
		for (j = 0; !l->borrowed && j < l->ntaps; j++) {
			t = &l->taps[j];
			if (t->type != SL_TAP_PCAP)
				continue;
			snprintf(dir, sizeof(dir), "%s", t->file);
			if ((slash = strrchr(dir, '/')) != NULL)
				slash[slash == dir] = '\0';
			e = stat(dir, &st) == -1 ? errno :
			    !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
			if (e == 0 && lstat(t->file, &st) == 0 &&
			    S_ISLNK(st.st_mode))
				e = ELOOP;	/* what O_NOFOLLOW says */
			if (e != 0) {
				snprintf(err, errlen, "listeners[%zu].taps[%zu]"
				    ".file: %s: %s", i, j, t->file,
				    strerror(e));
				return -1;
			}
		}
	}
	return 0;
}

int
pcap_open_all(char *err, size_t errlen)
{
	const struct sl_listener	*l;
	const struct sl_tap		*t;
	struct pcap_file		*f;
	size_t				 i, j, n;

	if ((n = pcap_count(ms->conf)) == 0)
		return 0;
	if ((pcap_files = calloc(n, sizeof(*pcap_files))) == NULL) {
		snprintf(err, errlen, "pcap files: out of memory");
		return -1;
	}
	for (i = 0; i < ms->conf->nlisteners; i++) {
		l = &ms->conf->listeners[i];
		for (j = 0; !l->borrowed && j < l->ntaps; j++) {
			t = &l->taps[j];
			if (t->type != SL_TAP_PCAP)
				continue;
			/* config_taps.c numbers them in this very order. */
			if (t->pcap_index != npcap_files)
				fatalx("%s: pcap tap numbers out of order",
				    __func__);
			f = &pcap_files[npcap_files];
			f->path = t->file;
			f->max_bytes = t->max_bytes;
			f->fd = open(t->file, O_WRONLY | O_CREAT | O_TRUNC |
			    O_NOFOLLOW | O_CLOEXEC, 0640);
			if (f->fd == -1 || pcap_header(f->fd) == -1) {
				snprintf(err, errlen, "listeners[%zu].taps[%zu]"
				    ".file: %s: %s", i, j, t->file,
				    strerror(errno));
				return -1;
			}
			f->written = PCAP_FILE_HDR;
			npcap_files++;
		}
	}
	return 0;
}

/* Put the file back to its last whole record and stop writing it. */
static void
pcap_stop(struct pcap_file *f, const char *why)
{
	log_warnx("pcap %s: %s; no more records", f->path, why);
	if (ftruncate(f->fd, (off_t)f->written) == -1)
		log_warn("pcap %s: ftruncate", f->path);
	f->stopped = 1;
}

int
pcap_record(struct proc *c, const struct sl_msg *m)
{
	static uint8_t		 rec[PCAP_REC_HDR + SL_PCAP_MAX_PKT];
	const uint32_t		*len = &m->u.pcap_rec.len;
	struct pcap_file	*f;
	uint32_t		 h[4];
	char			 why[128];
	ssize_t			 n;

	(void)c;
	if (m->u.pcap_rec.file >= npcap_files)
		return -1;
	f = &pcap_files[m->u.pcap_rec.file];
	if (f->stopped)
		return 0;
	if (f->written + PCAP_REC_HDR + *len > f->max_bytes) {
		snprintf(why, sizeof(why), "max_bytes (%llu) reached",
		    (unsigned long long)f->max_bytes);
		log_info("pcap %s: %s; no more records", f->path, why);
		f->stopped = 1;
		return 0;
	}
	h[0] = m->u.pcap_rec.ts_sec;
	h[1] = m->u.pcap_rec.ts_usec;
	h[2] = *len;		/* incl_len */
	h[3] = *len;		/* orig_len */
	memcpy(rec, h, sizeof(h));
	memcpy(rec + PCAP_REC_HDR, m->u.pcap_rec.pkt, *len);
	n = write(f->fd, rec, PCAP_REC_HDR + *len);
	if (n == (ssize_t)(PCAP_REC_HDR + *len)) {
		f->written += (uint64_t)n;
		return 0;
	}
	snprintf(why, sizeof(why), "write: %s", n == -1 ? strerror(errno) :
	    "short write");
	pcap_stop(f, why);
	return 0;
}

/* The pcap taps' files of conf, in pcap_index order, as one list. */
static size_t
pcap_paths(const struct sl_conf *conf, const char **v, size_t max)
{
	const struct sl_listener	*l;
	size_t				 i, j, n = 0;

	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		for (j = 0; !l->borrowed && j < l->ntaps; j++)
			if (l->taps[j].type == SL_TAP_PCAP && n < max)
				v[n++] = l->taps[j].file;
	}
	return n;
}

/*
 * A reload keeps the open capture files, so the new config must name
 * the same ones in the same order (their numbers ride on PCAP_REC).
 */
int
pcap_same(const struct sl_conf *conf)
{
	const char	*a[SL_PCAP_MAX_FILES], *b[SL_PCAP_MAX_FILES];
	size_t		 na, nb, i;

	na = pcap_paths(ms->conf, a, SL_PCAP_MAX_FILES);
	nb = pcap_paths(conf, b, SL_PCAP_MAX_FILES);
	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}
