/*
 * Taps, part 1: the "taps" configuration (policy/config_taps.c) and
 * loading it (taps_load).  The chain is in check_taps.c, the relay with
 * a chain over real sockets in check_relay.c.
 *
 * Configurations are written with single quotes (turned into double
 * quotes here) inside a minimal forward listener.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "worker/relay/taps.h"

#include "check_taps.h"

#define DOC_HEAD	"{'listeners':[{'kind':'forward','listen':" \
			"'127.0.0.1:1','target':'127.0.0.1:2','taps':"
#define DOC_TAIL	"}],'upstream':{'type':'direct'}}"

/* Parse a document whose listener has taps `taps`; NULL with err. */
static struct sl_conf *
parse_taps(const char *taps, char *err, size_t errlen)
{
	struct sl_conf	*conf = NULL;
	size_t		 len, i;
	char		*doc;

	len = strlen(DOC_HEAD) + strlen(taps) + strlen(DOC_TAIL);
	doc = malloc(len + 1);
	ck_assert_ptr_nonnull(doc);
	snprintf(doc, len + 1, "%s%s%s", DOC_HEAD, taps, DOC_TAIL);
	for (i = 0; i < len; i++)
		if (doc[i] == '\'')
			doc[i] = '"';
	err[0] = '\0';
	if (conf_parse(doc, len, &conf, err, errlen) == -1)
		conf = NULL;
	free(doc);
	return conf;
}

struct sl_conf *
must_taps(const char *taps)
{
	struct sl_conf	*conf;
	char		 err[512];

	conf = parse_taps(taps, err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s: %s", taps, err);
	return conf;
}

static void
fail_taps(const char *taps, const char *want)
{
	struct sl_conf	*conf;
	char		 err[512];

	conf = parse_taps(taps, err, sizeof(err));
	ck_assert_msg(conf == NULL, "%s parsed", taps);
	ck_assert_str_eq(err, want);
}

START_TEST(conf_valid)
{
	struct sl_conf		*conf;
	const struct sl_tap	*t;

	conf = must_taps("[{'type':'log'},"
	    "{'type':'hexdump','bytes':16,'direction':'down'},"
	    "{'type':'replace','search':'/api','replace':'/forbidden'},"
	    "{'type':'replace','search_hex':'00ff','replace':''},"
	    "{'type':'drop','direction':'down'},"
	    "{'type':'drop','match':'DELETE '},"
	    "{'type':'drop','match_hex':'DEADbeef','direction':'up'},"
	    "{'type':'throttle','rate':10000000000},"
	    "{'type':'lua','script':'/etc/sluice/upper.lua'},"
	    "{'type':'lua','script':'/x.lua','max_instructions':1000,"
	    "'max_memory':65536},"
	    "{'type':'hexdump'}]");
	ck_assert_uint_eq(conf->listeners[0].ntaps, 11);
	t = conf->listeners[0].taps;
	ck_assert_int_eq(t[0].type, SL_TAP_LOG);
	ck_assert_uint_eq(t[0].dirs, SL_TAP_UP | SL_TAP_DOWN);
	ck_assert_int_eq(t[1].type, SL_TAP_HEXDUMP);
	ck_assert_uint_eq(t[1].bytes, 16);
	ck_assert_uint_eq(t[1].dirs, SL_TAP_DOWN);
	ck_assert_uint_eq(t[10].bytes, 64);
	ck_assert_int_eq(t[2].type, SL_TAP_REPLACE);
	ck_assert_uint_eq(t[2].nsearch, 4);
	ck_assert_mem_eq(t[2].search, "/api", 4);
	ck_assert_uint_eq(t[2].nreplace, 10);
	ck_assert_mem_eq(t[2].replace, "/forbidden", 10);
	ck_assert_uint_eq(t[3].nsearch, 2);
	ck_assert_mem_eq(t[3].search, "\x00\xff", 2);
	ck_assert_uint_eq(t[3].nreplace, 0);
	ck_assert_int_eq(t[4].type, SL_TAP_DROP);
	ck_assert_ptr_null(t[4].search);
	ck_assert_uint_eq(t[4].dirs, SL_TAP_DOWN);
	ck_assert_mem_eq(t[5].search, "DELETE ", 7);
	ck_assert_mem_eq(t[6].search, "\xde\xad\xbe\xef", 4);
	ck_assert_uint_eq(t[6].dirs, SL_TAP_UP);
	ck_assert_int_eq(t[7].type, SL_TAP_THROTTLE);
	ck_assert(t[7].rate == 10000000000ULL);
	ck_assert_int_eq(t[8].type, SL_TAP_LUA);
	ck_assert_str_eq(t[8].script, "/etc/sluice/upper.lua");
	ck_assert_uint_eq(t[8].max_instructions, 1000000);
	ck_assert_uint_eq(t[8].max_memory, 16 * 1024 * 1024);
	ck_assert_ptr_null(t[8].rt);
	ck_assert_uint_eq(t[9].max_instructions, 1000);
	ck_assert_uint_eq(t[9].max_memory, 65536);
	conf_free(conf);
}
END_TEST

static const struct {
	const char	*taps, *want;
} bad_taps[] = {
	{ "{}", "listeners[0].taps: expected an array, got object" },
	{ "[]", "listeners[0].taps: empty: leave \"taps\" out for none" },
	{ "[{'type':'log'},{'type':'log'},{'type':'log'},{'type':'log'},"
	  "{'type':'log'},{'type':'log'},{'type':'log'},{'type':'log'},"
	  "{'type':'log'},{'type':'log'},{'type':'log'},{'type':'log'},"
	  "{'type':'log'},{'type':'log'},{'type':'log'},{'type':'log'},"
	  "{'type':'log'}]",
	  "listeners[0].taps: too many entries (max 16)" },
	{ "['log']", "listeners[0].taps[0]: expected an object, got string" },
	{ "[{'direction':'up'}]", "listeners[0].taps[0].type: required (log, "
	  "hexdump, replace, drop, throttle, lua or pcap)" },
	{ "[{'type':'pcap2'}]", "listeners[0].taps[0].type: \"pcap2\" is not "
	  "one of log, hexdump, replace, drop, throttle, lua, pcap" },
	{ "[{'type':'log','colour':1}]",
	  "listeners[0].taps[0].colour: unknown key" },
	{ "[{'type':'log','rate':5}]",
	  "listeners[0].taps[0].rate: not a key of a \"log\" tap" },
	{ "[{'type':'throttle','rate':5,'search':'a'}]",
	  "listeners[0].taps[0].search: not a key of a \"throttle\" tap" },
	{ "[{'type':'log','direction':'sideways'}]",
	  "listeners[0].taps[0].direction: \"sideways\" is not one of up, "
	  "down, both" },
	{ "[{'type':'log','direction':1}]",
	  "listeners[0].taps[0].direction: expected a string, got number" },
	{ "[{'type':'log'},{'type':'replace','search':'','replace':'x'}]",
	  "listeners[0].taps[1].search: empty" },
	{ "[{'type':'replace','search_hex':'abc','replace':'x'}]",
	  "listeners[0].taps[0].search_hex: odd number of hex digits" },
	{ "[{'type':'replace','search_hex':'zz','replace':'x'}]",
	  "listeners[0].taps[0].search_hex: not hex (two digits 0-9a-f a "
	  "byte)" },
	{ "[{'type':'replace','search':'a','search_hex':'61','replace':'x'}]",
	  "listeners[0].taps[0].search_hex: give \"search\" or \"search_hex\", "
	  "not both" },
	{ "[{'type':'replace','replace':'x'}]",
	  "listeners[0].taps[0].search: required (or \"search_hex\")" },
	{ "[{'type':'replace','search':'x'}]",
	  "listeners[0].taps[0].replace: required (or \"replace_hex\")" },
	{ "[{'type':'replace','search':'x','replace':1}]",
	  "listeners[0].taps[0].replace: expected a string, got number" },
	{ "[{'type':'drop'}]", "listeners[0].taps[0].direction: required "
	  "(\"up\", \"down\" or \"both\"), or a \"match\"" },
	{ "[{'type':'drop','match':''}]", "listeners[0].taps[0].match: empty" },
	{ "[{'type':'drop','match':'a','match_hex':'61'}]",
	  "listeners[0].taps[0].match_hex: give \"match\" or \"match_hex\", "
	  "not both" },
	{ "[{'type':'drop','search':'a'}]",
	  "listeners[0].taps[0].search: not a key of a \"drop\" tap" },
	{ "[{'type':'hexdump','bytes':0}]",
	  "listeners[0].taps[0].bytes: 0 is out of range (1-4096)" },
	{ "[{'type':'hexdump','bytes':4097}]",
	  "listeners[0].taps[0].bytes: 4097 is out of range (1-4096)" },
	{ "[{'type':'hexdump','bytes':1.5}]",
	  "listeners[0].taps[0].bytes: 1.5 is not an integer" },
	{ "[{'type':'throttle'}]",
	  "listeners[0].taps[0].rate: required (bytes/s)" },
	{ "[{'type':'throttle','rate':0}]",
	  "listeners[0].taps[0].rate: 0 is out of range (1-10000000000)" },
	{ "[{'type':'throttle','rate':10000000001}]",
	  "listeners[0].taps[0].rate: 10000000001 is out of range "
	  "(1-10000000000)" },
	{ "[{'type':'throttle','rate':'fast'}]",
	  "listeners[0].taps[0].rate: expected a number, got string" },
	{ "[{'type':'lua'}]",
	  "listeners[0].taps[0].script: required (an absolute path)" },
	{ "[{'type':'lua','script':'upper.lua'}]",
	  "listeners[0].taps[0].script: not an absolute path" },
	{ "[{'type':'lua','script':''}]",
	  "listeners[0].taps[0].script: must not be empty" },
	{ "[{'type':'lua','script':'/a','max_instructions':999}]",
	  "listeners[0].taps[0].max_instructions: 999 is out of range "
	  "(1000-1000000000)" },
	{ "[{'type':'lua','script':'/a','max_memory':65535}]",
	  "listeners[0].taps[0].max_memory: 65535 is out of range "
	  "(65536-1073741824)" },
	{ "[{'type':'lua','script':'/a','max_memory':1073741825}]",
	  "listeners[0].taps[0].max_memory: 1073741825 is out of range "
	  "(65536-1073741824)" },
	{ "[{'type':'log','type':'log'}]",
	  "listeners[0].taps[0].type: duplicate key" },
};

/* One test for all: a forked test each costs more than the parse. */
START_TEST(conf_errors)
{
	size_t	i;

	for (i = 0; i < sizeof(bad_taps) / sizeof(bad_taps[0]); i++)
		fail_taps(bad_taps[i].taps, bad_taps[i].want);
}
END_TEST

/* Long byte strings: search 4096 is fine, 4097 is not; replace 65536. */
START_TEST(conf_lengths)
{
	struct sl_conf	*conf;
	char		*taps, *p;
	size_t		 cap = 200000;
	char		 err[512];

	taps = malloc(cap);
	ck_assert_ptr_nonnull(taps);
	p = taps + sprintf(taps, "[{'type':'replace','search':'");
	memset(p, 'a', 4096 + _i);
	p += 4096 + _i;
	p += sprintf(p, "','replace_hex':'");
	memset(p, 'b', 2 * 65536 + 2 * _i);
	p += 2 * 65536 + 2 * _i;
	sprintf(p, "'}]");
	conf = parse_taps(taps, err, sizeof(err));
	if (_i == 0) {
		ck_assert_msg(conf != NULL, "%s", err);
		ck_assert_uint_eq(conf->listeners[0].taps[0].nsearch, 4096);
		ck_assert_uint_eq(conf->listeners[0].taps[0].nreplace, 65536);
		conf_free(conf);
	} else {
		ck_assert_ptr_null(conf);
		ck_assert_str_eq(err, "listeners[0].taps[0].search: longer "
		    "than 4096 bytes");
	}
	free(taps);
}
END_TEST

/* Lua taps load before lockdown; a failure names the tap. */
START_TEST(load_names_tap)
{
	struct sl_conf	*conf;
	char		 err[600];

	conf = must_taps("[{'type':'log'},{'type':'lua',"
	    "'script':'/nonexistent/sluice-test.lua'}]");
	ck_assert_int_eq(taps_load(conf, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "listeners[0].taps[1]: ", 22) == 0, "%s",
	    err);
	ck_assert_ptr_null(conf->listeners[0].taps[1].rt);
	taps_unload(conf);
	conf_free(conf);
}
END_TEST

TCase *
taps_conf_tcase(void)
{
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, conf_valid);
	tcase_add_test(tc, conf_errors);
	tcase_add_loop_test(tc, conf_lengths, 0, 2);
	tcase_add_test(tc, load_names_tap);
	return tc;
}
