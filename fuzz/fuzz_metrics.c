/*
 * libFuzzer harness for worker/metrics_text.c.  The first byte picks:
 *
 *   odd:  the request-head parser on the rest, whole and cut where the
 *         second byte says.  A verdict on the first part must be the
 *         verdict on the whole (the head is read as it arrives), and
 *         every verdict keeps its promises (a status from the list, a
 *         head inside the buffer and the cap).
 *   even: the renderer on a region image made of the rest, with a
 *         config of 1-3 workers, 0-3 links and 0-3 listeners whose names
 *         come from the input too (quotes, backslashes, controls).  The
 *         text must stay under its cap, and be whole lines that start
 *         with "# " or "sluice_".
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_metrics.c worker/metrics_text.c policy/counters.c \
 *       policy/config_listen.c ... -o fuzz_metrics
 *   ./fuzz_metrics -max_total_time=20
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "policy/counters.h"
#include "worker/metrics_text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_verdict(int rc, const struct metrics_req *r, size_t len)
{
	if (rc == 0) {
		if (len >= METRICS_MAX_HEAD || r->status != 0)
			abort();	/* the cap must end the wait */
		return;
	}
	if (rc != 1 || r->why == NULL)
		abort();
	switch (r->status) {
	case 200:
		if (r->head_len == 0 || r->head_len > len ||
		    r->head_len > METRICS_MAX_HEAD)
			abort();
		break;
	case 400:
	case 404:
	case 405:
		if (r->head_only)
			abort();
		break;
	default:
		abort();
	}
}

static void
fuzz_head(const uint8_t *data, size_t size)
{
	struct metrics_req	 whole, part;
	uint8_t			*copy;
	size_t			 at;
	int			 rw, rp;

	if (size == 0)
		return;
	at = (size_t)data[0] * (size - 1) / 255;
	data++;
	size--;
	/* An exact-size copy: ASan sees any read past the end. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return;
	memcpy(copy, data, size);
	rw = metrics_parse_head(copy, size, &whole);
	check_verdict(rw, &whole, size);
	rp = metrics_parse_head(copy, at, &part);
	check_verdict(rp, &part, at);
	if (rp == 1 && (rw != 1 || whole.status != part.status ||
	    whole.head_only != part.head_only ||
	    whole.head_len != part.head_len))
		abort();
	free(copy);
}

/* A name from the input: up to 7 bytes, NUL-terminated. */
static void
take_name(char *name, const uint8_t **p, size_t *n)
{
	size_t	len = 0;

	while (len < 7 && *n > 0 && **p != 0) {
		name[len++] = (char)**p;
		(*p)++;
		(*n)--;
	}
	name[len] = '\0';
	if (*n > 0) {
		(*p)++;
		(*n)--;
	}
}

static void
check_text(const struct mt_buf *b)
{
	size_t	i, start = 0;

	if (b->len > b->max || b->len == 0 || b->data[b->len - 1] != '\n')
		abort();
	for (i = 0; i < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		if (i == start || (strncmp(b->data + start, "# ", 2) != 0 &&
		    strncmp(b->data + start, "sluice_", 7) != 0))
			abort();
		start = i + 1;
	}
}

static void
fuzz_render(const uint8_t *data, size_t size)
{
	struct sl_conf		*c;
	struct metrics_src	 src;
	struct mt_buf		 b;
	uint32_t		 nworkers, i;
	size_t			 m, off;
	struct sl_shm		*shm;
	uint8_t			*part;

	if (size < 4)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	nworkers = 1 + data[0] % 3;
	c->nlinks = data[1] % 4;
	c->nlisteners = data[2] % 4;
	/* Mostly the real cap; sometimes a small one, to end early. */
	mt_buf_init(&b, data[3] < 16 ? (size_t)data[3] * 64 :
	    METRICS_MAX_TEXT);
	data += 4;
	size -= 4;
	if (c->nlinks > 0 &&
	    (c->links = calloc(c->nlinks, sizeof(*c->links))) == NULL)
		goto out;
	for (i = 0; i < c->nlinks; i++) {
		take_name(c->links[i].name, &data, &size);
		c->links[i].max_fails = i & 1;
		c->links[i].check.enabled = (i >> 1) & 1;
	}
	for (i = 0; i < c->nlisteners; i++) {
		take_name(c->listeners[i].name, &data, &size);
		c->listeners[i].kind = (enum sl_listen_kind)(i * 4 %
		    SL_LISTEN_KIND_MAX);
	}
	if ((shm = shm_alloc(nworkers, (uint32_t)c->nlinks)) == NULL)
		goto out;
	/* The rest of the input, over and over: every part scribbled. */
	for (m = 0; m < SL_SHM_MAPS; m++) {
		part = shm->map[m].base;
		for (off = 0; part != NULL && size > 0 &&
		    off < shm->map[m].size; off += size)
			memcpy(part + off, data, shm->map[m].size - off < size ?
			    shm->map[m].size - off : size);
	}
	memset(&src, 0, sizeof(src));
	src.conf = c;
	src.shm = shm;
	src.now_ms = 1000000;
	if (metrics_render(&b, &src) == 0) {
		if (b.failed)
			abort();
		check_text(&b);
	} else if (!b.failed || b.len > b.max)
		abort();
	shm_free(shm);
out:
	mt_buf_free(&b);
	free(c->links);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_head(data + 1, size - 1);
	else
		fuzz_render(data + 1, size - 1);
	return 0;
}
