/*
 * Compiled request matchers: the indexes the loader builds once per
 * matcher so that matcher_match() (select.h) answers in a bounded
 * number of steps with no allocation.  Private to policy/.
 *
 *   ports	 sorted, merged ranges; binary search.
 *   domains	 open-addressing hash set of the names; a host is looked
 *		 up once per label suffix, all suffix hashes from one
 *		 right-to-left pass.
 *   ips,	 sorted, merged address intervals, one list for IPv4 and one
 *   clients	 for IPv6; binary search.  IPv4-mapped addresses are IPv4:
 *		 a prefix inside ::ffff:0:0/96 goes to the IPv4 list, and a
 *		 mapped address is looked up there.
 *   domains_re	 the patterns compiled by the loader (no JIT: the sandbox
 *		 forbids executable memory), one match data block per
 *		 matcher and the configuration's match context, whose limits
 *		 turn a runaway pattern into "no match".
 *
 * The match data is written by every match, so a compiled configuration
 * serves one thread; each sluice process is single-threaded.
 */
#ifndef SL_MATCH_H
#define SL_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* pcre2 limits: a pattern that hits one does not match. */
#define SL_RE_MATCH_LIMIT	100000
#define SL_RE_DEPTH_LIMIT	10000
#define SL_RE_HEAP_LIMIT	1024		/* KiB of backtracking frames */

struct sl_u128 {
	uint64_t	hi, lo;
};

/*
 * An interval of ports, IPv4 or IPv6 addresses (all held as 128-bit
 * numbers so one sort, merge and search serves them all).
 */
struct sl_iv {
	struct sl_u128	lo, hi;			/* inclusive */
};

struct sl_ivset {
	struct sl_iv	*iv;
	size_t		 n;
};

struct sl_ipset {
	struct sl_ivset	 v4;
	struct sl_ivset	 v6;
};

struct sl_domslot {
	uint64_t	hash;
	uint32_t	idx;			/* into sl_matcher.domains */
	uint32_t	len;			/* 0 = empty slot */
};

struct sl_match_idx {
	struct sl_ivset		 ports;
	struct sl_domslot	*dom;
	size_t			 dommask;	/* slots - 1 */
	size_t			 dommax;	/* longest name */
	struct sl_ipset		 ips;
	struct sl_ipset		 clients;
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;		/* the conf's, not owned */
};

/* match.c */

/*
 * Build m->idx from m's lists.  The first matcher with patterns creates
 * the configuration's match context in *mctxp.  Returns 0, or -1 when
 * memory runs out.
 */
int	match_compile(struct sl_matcher *m, pcre2_match_context **mctxp);
void	match_free(struct sl_matcher *m);

#endif
