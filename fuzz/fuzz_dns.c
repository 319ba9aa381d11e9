/*
 * libFuzzer harness for the resolver's answer parser (resolver/hijack.c
 * rs_parse_addrs, over c-ares's ares_parse_a_reply/aaaa_reply, and the
 * 0x20 question check rs_case_ok): a DNS
 * answer from a hostile server.  The first byte picks A or AAAA and a
 * capacity; the rest is the answer.  Whatever the bytes: no crash or
 * leak, never more addresses than the capacity, the family the query
 * asked for, a TTL never raised, and SUCCESS only with an address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "common/sluice.h"
#include "resolver/engine.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sl_res_addr	out[SL_MAX_ADDRS];
	uint32_t		cap, got, ttl = 3600, i;
	int			type, rc;

	if (n < 1)
		return 0;
	type = (d[0] & 1) ? RS_T_AAAA : RS_T_A;
	cap = 1 + (uint32_t)(d[0] >> 1) % SL_MAX_ADDRS;
	rc = rs_parse_addrs(type, d + 1, (int)(n - 1), out, cap, &got, &ttl);
	if (got > cap || ttl > 3600)
		abort();
	if (rc == ARES_SUCCESS && got == 0)
		abort();
	if (rc != ARES_SUCCESS && got != 0 && rc != ARES_ENODATA)
		abort();
	for (i = 0; i < got; i++)
		if (out[i].family != (type == RS_T_A ? 4 : 6))
			abort();
	/*
	 * The 0x20 check reads the same hostile answer's question: the
	 * question it was asked, and one the answer itself claims (so the
	 * match path is reached too).
	 */
	(void)rs_case_ok("wWw.ExAmple.CoM", d + 1, (int)(n - 1));
	if (n > 14) {
		char	q[64];
		size_t	k, len = d[13] < sizeof(q) - 1 ? d[13] : sizeof(q) - 1;

		for (k = 0; k < len && 14 + k < n; k++)
			q[k] = d[14 + k] != '\0' ? (char)d[14 + k] : 'x';
		q[k] = '\0';
		(void)rs_case_ok(q, d + 1, (int)(n - 1));
	}
	return 0;
}
