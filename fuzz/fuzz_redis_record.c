/*
 * libFuzzer harness for registry/records.c: what a hostile Redis server
 * can put in a key and its value.
 *
 * Input: one flag byte, one key-length byte, the key, the value.  Flag
 * bit 0 wraps the value the way valkeyrie does ({"Value": base64}), so
 * the record parser is reached through both paths.  Checked, beyond "no
 * crash": a record that parses has a name rg_name_check() accepts again
 * unchanged and an address rg_addr_check() gives back unchanged; the
 * table of what parsed is JSON with exactly one entry per name it
 * reports; base64 never decodes to more than it says.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I BUILDDIR \
 *       fuzz/fuzz_redis_record.c registry/records.c -lcjson \
 *       -o fuzz_redis_record
 *   ./fuzz_redis_record -max_total_time=20 fuzz/corpus/redis_record
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "registry/records.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz0123456789+/";

/* {"Value":"<base64 of p>"} in a malloc'd, exact-size block. */
static char *
wrap(const uint8_t *p, size_t n, size_t *outlen)
{
	static const char	head[] = "{\"Value\":\"", tail[] = "\"}";
	size_t			i, o = sizeof(head) - 1;
	unsigned long		v;
	char			*out;

	if ((out = malloc(sizeof(head) + (n + 2) / 3 * 4 + sizeof(tail))) ==
	    NULL)
		return NULL;
	memcpy(out, head, o);
	for (i = 0; i < n; i += 3) {
		v = (unsigned long)p[i] << 16;
		v |= i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0;
		v |= i + 2 < n ? p[i + 2] : 0;
		out[o++] = b64tab[v >> 18 & 63];
		out[o++] = b64tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64tab[v & 63] : '=';
	}
	memcpy(out + o, tail, sizeof(tail) - 1);
	*outlen = o + sizeof(tail) - 1;
	return out;
}

/* What parsed is what the checks accept, unchanged. */
static void
check_record(const struct rg_record *r)
{
	char		 name[256], addr[RG_ADDR_MAX];
	const char	*why;

	if (rg_name_check(r->name, strlen(r->name), name, sizeof(name),
	    &why) != 0 || strcmp(name, r->name) != 0)
		abort();
	if (rg_addr_check(r->addr, addr, &why) != 0 ||
	    strcmp(addr, r->addr) != 0)
		abort();
	if (rg_key_prefix(r->key, strlen(r->key)) < 0)
		abort();
}

/* The table of one record, and of it twice: one entry either way. */
static void
check_table(struct rg_record *r)
{
	struct rg_record	 dup = *r;
	struct rg_table		 t;
	cJSON			*j;
	size_t			 len, count;
	char			*text;

	rg_table_init(&t);
	dup.name = strdup(r->name);
	dup.key = strdup(r->key);
	if (dup.name == NULL || dup.key == NULL || rg_table_add(&t, r) != 0 ||
	    rg_table_add(&t, &dup) != 0) {
		rg_record_free(r);
		rg_record_free(&dup);
		rg_table_free(&t);
		return;
	}
	if ((text = rg_table_json(&t, &len, &count, NULL, NULL)) != NULL) {
		if (count != 1 || strlen(text) != len)
			abort();
		if ((j = cJSON_ParseWithLength(text, len)) == NULL ||
		    cJSON_GetArraySize(j) != 1)
			abort();
		cJSON_Delete(j);
		free(text);
	}
	rg_table_free(&t);
}

static void
check_base64(const uint8_t *data, size_t size)
{
	unsigned char	out[64];
	long		n;

	n = rg_base64_decode((const char *)data, size, out, sizeof(out));
	if (n > (long)sizeof(out) || (n >= 0 && size % 4 != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rg_record	 r;
	char			 why[RG_WHY_MAX];
	char			*key, *val;
	size_t			 klen, vlen;

	if (size < 2)
		return 0;
	klen = data[1];
	if (klen > size - 2)
		klen = size - 2;
	vlen = size - 2 - klen;
	/* Exact-size copies: ASan sees any read past the end. */
	if ((key = malloc(klen > 0 ? klen : 1)) == NULL)
		return 0;
	memcpy(key, data + 2, klen);
	if (data[0] & 1)
		val = wrap(data + 2 + klen, vlen, &vlen);
	else if ((val = malloc(vlen > 0 ? vlen : 1)) != NULL)
		memcpy(val, data + 2 + klen, vlen);
	if (val != NULL) {
		why[0] = '\0';
		if (rg_record_parse(key, klen, val, vlen, &r, why,
		    sizeof(why)) == 0) {
			check_record(&r);
			check_table(&r);
		} else if (why[0] == '\0')
			abort();	/* every refusal says why */
		free(val);
	}
	free(key);
	check_base64(data, size);
	return 0;
}
