/*
 * tcprouter's service records as they sit in Redis, checked and turned
 * into the table the workers load (worker/service.h).  Pure code: no
 * I/O, no globals; tests/check_redis_records.c and
 * fuzz/fuzz_redis_record.c drive it directly.
 *
 * A record is one string key under one of four prefixes, whose value
 * is either valkeyrie's wrapper (tcprouter's Go code stores through it)
 *
 *	{"Key": "...", "Value": "<base64 of the record>", "LastIndex": N}
 *
 * or the record itself, in one of two shapes:
 *
 *	{"addr": "172.217.19.46", "tlsport": 443, "httpport": 80}
 *	{"addr": "172.217.19.46:443", "sni": "www.google.com",
 *	 "name": "google"}
 *
 * The service's name is "sni" when the record has one, else the key's
 * last segment.  The Redis server is shared with other programs and
 * may be hostile: every field is checked, wrong types refuse the
 * record, unknown fields are ignored (tcprouter may add some).
 */
#ifndef SL_REGISTRY_RECORDS_H
#define SL_REGISTRY_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define RG_NPREFIXES	4
#define RG_MAX_KEY	1024		/* longer keys are skipped */
#define RG_MAX_VALUE	(64 * 1024)	/* longer values are skipped */
#define RG_ADDR_MAX	64		/* "[v6]:65535" and its NUL */
#define RG_WHY_MAX	160

/* The key prefixes tcprouter and its clients write, in SCAN order. */
extern const char *const rg_prefixes[RG_NPREFIXES];

struct rg_record {
	char		*name;		/* lower case, "*.x", or CATCH_ALL */
	char		*key;		/* the Redis key, for log lines */
	char		 addr[RG_ADDR_MAX];	/* "IP", "IP:port", "[v6]:port",
					   canonical (inet_ntop) */
	uint16_t	 tlsport;	/* 0: not given */
	uint16_t	 httpport;
};

/* The prefix index key falls under, or -1. */
int	rg_key_prefix(const char *key, size_t len);

/*
 * Check one key and its value.  Returns 0 with *r filled (r owns its
 * name and key: rg_record_free), or -1 with a short problem in
 * why[whylen] ("addr: 0.0.0.0 is not an address to connect to") and
 * nothing allocated.  key and val need not be NUL-terminated.
 */
int	rg_record_parse(const char *key, size_t keylen, const char *val,
	    size_t vallen, struct rg_record *r, char *why, size_t whylen);
void	rg_record_free(struct rg_record *);

/*
 * A service name as tcprouter writes it: a host name (<= 253 bytes,
 * labels of 1..63 letters, digits and hyphens), "*." and a host name,
 * or CATCH_ALL.  One trailing dot is dropped and letters are lowered.
 * Returns 0 with out[outlen] set, or -1 with *why.
 */
int	rg_name_check(const char *in, size_t len, char *out, size_t outlen,
	    const char **why);
/*
 * An address a worker may connect to: an IPv4 or IPv6 literal with an
 * optional port ("IP", "IP:port", "[v6]", "[v6]:port"), never
 * unspecified, broadcast, multicast or IPv4-mapped.  0 with the
 * canonical form in out[RG_ADDR_MAX], or -1 with *why.
 */
int	rg_addr_check(const char *in, char *out, const char **why);
/*
 * Strict base64 (RFC 4648 section 4, with padding, no whitespace, zero
 * pad bits), as Go's encoding/json writes []byte.  Returns the decoded
 * length (<= outlen), or -1.
 */
long	rg_base64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outlen);

/* The records of one scan, in arrival order. */
struct rg_table {
	struct rg_record	*v;
	size_t			 n, cap;
};

/* A record left out because another holds its name (or its key). */
typedef void (*rg_dup_fn)(const struct rg_record *kept,
	    const struct rg_record *dropped, void *arg);

void	rg_table_init(struct rg_table *);
/* Append r (moved: *r is emptied).  0, or -1 when out of memory. */
int	rg_table_add(struct rg_table *, struct rg_record *r);
void	rg_table_free(struct rg_table *);
/*
 * The table as the workers load it: a JSON object from name to
 * {"addr", "tlsport", "httpport"}, names in byte order, so the same
 * records always give the same bytes whatever order SCAN returned them
 * in.  The same key seen twice (SCAN may return a key more than once)
 * counts once, silently; of records with the same name, the one with
 * the smallest key wins and dup (may be NULL) hears of each loser.
 * Returns the text (malloc'd, NUL-terminated; *len without the NUL,
 * *count services), or NULL when out of memory.  Sorts t in place.
 */
char	*rg_table_json(struct rg_table *t, size_t *len, size_t *count,
	    rg_dup_fn dup, void *arg);

#endif
