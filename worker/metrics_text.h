/*
 * The metrics listener's pure parts: the request head it accepts and the
 * Prometheus text exposition (format 0.0.4) of the shared region, built
 * from the worker's own config and a region it must treat as hostile.
 * No I/O: both are unit tested and fuzzed on their own.
 */
#ifndef SL_METRICS_TEXT_H
#define SL_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/config.h"

#define METRICS_MAX_HEAD	4096		/* request line to empty line */
#define METRICS_MAX_TEXT	(8u << 20)	/* the body, 8 MiB */

/* A growing text buffer with a ceiling. */
struct mt_buf {
	char	*data;
	size_t	 len, cap;
	size_t	 max;		/* never grows past this */
	int	 failed;	/* out of memory or past max: text is cut */
	const char *tenant;	/* a label on every series, or NULL */
};

/* What a request head asks for. */
struct metrics_req {
	int		 status;	/* 200, 400, 404 or 405 */
	int		 head_only;	/* HEAD: no body */
	size_t		 head_len;	/* through the empty line */
	const char	*why;		/* for the log line, never NULL when
					   done */
};

struct sl_shm;

/* What the text is made of. */
struct metrics_src {
	const struct sl_conf	*conf;
	const struct sl_shm	*shm;		/* the region, sized for conf */
	uint64_t		 now_ms;	/* CLOCK_MONOTONIC, as mono_ms() */
};

/* metrics_text.c */
void	mt_buf_init(struct mt_buf *, size_t max);
void	mt_buf_free(struct mt_buf *);
/* Append n bytes; -1 (and failed set) when they do not fit. */
int	mt_buf_put(struct mt_buf *, const void *, size_t n);
/*
 * Parse the head in buf[0..len): 0 when more bytes are needed, 1 when
 * the head is complete or refused (req->status says which answer).  A
 * head still incomplete at METRICS_MAX_HEAD bytes, or a request line
 * that goes wrong before its end, is refused at once (400).
 */
int	metrics_parse_head(const uint8_t *buf, size_t len,
	    struct metrics_req *);
/*
 * Append the exposition text of src to b: 0, or -1 when b->failed (no
 * memory, or the text would pass b->max).
 */
int	metrics_render(struct mt_buf *, const struct metrics_src *);
/* Append s as a label value: \ " and newline escaped, controls '?'. */
int	mt_put_label(struct mt_buf *, const char *s);

#endif
