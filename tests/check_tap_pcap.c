/*
 * The pcap tap: its configuration (policy/config_taps.c), its packets
 * (worker/relay/tap_pcap.c) and the chain's calls to the sink
 * (worker/relay/taps.c), without IPC: the sink here writes the records
 * to a file the way the master does, and tcpdump reads it back.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "policy/config.h"
#include "worker/relay/tap_pcap.h"
#include "worker/relay/taps.h"

#define DOC_HEAD	"{'listeners':[{'kind':'forward','listen':" \
			"'127.0.0.1:1','target':'127.0.0.1:2','taps':"
#define DOC_TAIL	"}],'upstream':{'type':'direct'}}"

static struct sl_conf *
parse_doc(const char *text, char *err, size_t errlen)
{
	struct sl_conf	*conf = NULL;
	size_t		 len = strlen(text), i;
	char		*doc;

	doc = strdup(text);
	ck_assert_ptr_nonnull(doc);
	for (i = 0; i < len; i++)
		if (doc[i] == '\'')
			doc[i] = '"';
	err[0] = '\0';
	if (conf_parse(doc, len, &conf, err, errlen) == -1)
		conf = NULL;
	free(doc);
	return conf;
}

static struct sl_conf *
parse_taps(const char *taps, char *err, size_t errlen)
{
	char	doc[4096];

	snprintf(doc, sizeof(doc), "%s%s%s", DOC_HEAD, taps, DOC_TAIL);
	return parse_doc(doc, err, errlen);
}

START_TEST(conf_valid)
{
	struct sl_conf		*conf;
	const struct sl_tap	*t;
	char			 err[512];

	conf = parse_doc("{'listeners':["
	    "{'kind':'forward','listen':'127.0.0.1:1','target':'127.0.0.1:2',"
	    "'taps':[{'type':'pcap','file':'/tmp/a.pcap'},{'type':'log'},"
	    "{'type':'pcap','file':'/tmp/b.pcap','max_bytes':24,"
	    "'direction':'up'}]},"
	    "{'kind':'forward','listen':'127.0.0.1:3','target':'127.0.0.1:4',"
	    "'taps':[{'type':'pcap','file':'/tmp/c.pcap',"
	    "'max_bytes':1099511627776}]}],'upstream':{'type':'direct'}}",
	    err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	t = conf->listeners[0].taps;
	ck_assert_int_eq(t[0].type, SL_TAP_PCAP);
	ck_assert_str_eq(t[0].file, "/tmp/a.pcap");
	ck_assert_uint_eq(t[0].max_bytes, 100ull * 1024 * 1024);
	ck_assert_uint_eq(t[0].pcap_index, 0);
	ck_assert_uint_eq(t[0].dirs, SL_TAP_UP | SL_TAP_DOWN);
	ck_assert_uint_eq(t[2].max_bytes, 24);
	ck_assert_uint_eq(t[2].pcap_index, 1);
	ck_assert_uint_eq(t[2].dirs, SL_TAP_UP);
	t = conf->listeners[1].taps;
	ck_assert_uint_eq(t[0].pcap_index, 2);
	ck_assert_uint_eq(t[0].max_bytes, 1ull << 40);
	conf_free(conf);
}
END_TEST

static const struct {
	const char	*taps;
	const char	*err;
} conf_bad[] = {
	{ "[{'type':'pcap'}]", "listeners[0].taps[0].file: required (an "
	  "absolute path)" },
	{ "[{'type':'pcap','file':'x.pcap'}]", "listeners[0].taps[0].file: "
	  "not an absolute path" },
	{ "[{'type':'pcap','file':''}]", "listeners[0].taps[0].file: must "
	  "not be empty" },
	{ "[{'type':'pcap','file':'/a','max_bytes':23}]",
	  "listeners[0].taps[0].max_bytes: 23 is out of range "
	  "(24-1099511627776)" },
	{ "[{'type':'pcap','file':'/a','max_bytes':1099511627777}]",
	  "listeners[0].taps[0].max_bytes: 1099511627777 is out of range "
	  "(24-1099511627776)" },
	{ "[{'type':'pcap','file':'/a','search':'x'}]",
	  "listeners[0].taps[0].search: not a key of a \"pcap\" tap" },
	{ "[{'type':'log','file':'/a'}]",
	  "listeners[0].taps[0].file: not a key of a \"log\" tap" },
	{ "[{'type':'pcap','file':'/a'},{'type':'pcap','file':'/a'}]",
	  "listeners[0].taps[1].file: /a is already taps[0]'s file" },
};

START_TEST(conf_errors)
{
	struct sl_conf	*conf;
	char		 err[512];

	conf = parse_taps(conf_bad[_i].taps, err, sizeof(err));
	ck_assert_msg(conf == NULL, "%s parsed", conf_bad[_i].taps);
	ck_assert_str_eq(err, conf_bad[_i].err);
}
END_TEST

START_TEST(conf_errors_global)
{
	struct sl_conf	*conf;
	char		 err[512], doc[1024], path[300];

	conf = parse_doc("{'listeners':["
	    "{'kind':'forward','listen':'127.0.0.1:1','target':'127.0.0.1:2',"
	    "'taps':[{'type':'pcap','file':'/tmp/a.pcap'}]},"
	    "{'kind':'forward','listen':'127.0.0.1:3','target':'127.0.0.1:4',"
	    "'taps':[{'type':'log'},{'type':'pcap','file':'/tmp/a.pcap'}]}],"
	    "'upstream':{'type':'direct'}}", err, sizeof(err));
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, "listeners[1].taps[1].file: /tmp/a.pcap is "
	    "already listeners[0].taps[0]'s file");
	/* At most 255 bytes. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[256] = '\0';
	snprintf(doc, sizeof(doc), "[{'type':'pcap','file':'%s'}]", path);
	conf = parse_taps(doc, err, sizeof(err));
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, "listeners[0].taps[0].file: longer than 255 "
	    "bytes");
	path[255] = '\0';
	snprintf(doc, sizeof(doc), "[{'type':'pcap','file':'%s'}]", path);
	conf = parse_taps(doc, err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	conf_free(conf);
}
END_TEST

/* The sink: records into one file per test, as master/pcap.c writes. */
static FILE		*cap;
static char		 cap_path[64];
static uint32_t		 cap_file;
static size_t		 cap_n;

static int
test_sink(uint32_t file, const struct timespec *ts, const void *pkt,
    size_t len)
{
	uint32_t	h[4];

	ck_assert_uint_le(len, PCAP_PKT_MAX);
	cap_file = file;
	h[0] = (uint32_t)ts->tv_sec;
	h[1] = (uint32_t)(ts->tv_nsec / 1000);
	h[2] = h[3] = (uint32_t)len;
	ck_assert_uint_eq(fwrite(h, sizeof(h), 1, cap), 1);
	ck_assert_uint_eq(fwrite(pkt, len, 1, cap), 1);
	cap_n++;
	return 0;
}

static void
cap_open(void)
{
	uint32_t	h[6] = { 0xa1b2c3d4, 0, 0, 0, 65535, 101 };
	uint16_t	v[2] = { 2, 4 };
	int		fd;

	snprintf(cap_path, sizeof(cap_path), "/tmp/check_tap_pcap.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(cap_path), -1);
	ck_assert_ptr_nonnull(cap = fdopen(fd, "w"));
	memcpy((uint8_t *)h + 4, v, sizeof(v));
	ck_assert_uint_eq(fwrite(h, sizeof(h), 1, cap), 1);
	cap_n = 0;
	taps_set_pcap_sink(test_sink);
}

/* tcpdump's lines for the file (flags, NULL: none), in out. */
static size_t
cap_read(const char *flags, char *out, size_t outlen)
{
	char	cmd[256], line[1024];
	FILE	*p;
	size_t	n = 0, o = 0;

	fclose(cap);
	cap = NULL;
	taps_set_pcap_sink(NULL);
	snprintf(cmd, sizeof(cmd), "tcpdump -r %s -nn %s 2>/dev/null",
	    cap_path, flags != NULL ? flags : "");
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	out[0] = '\0';
	while (fgets(line, sizeof(line), p) != NULL) {
		if (line[0] != ' ' && line[0] != '\t')
			n++;
		o += (size_t)snprintf(out + o, outlen - o, "%s", line);
		if (o >= outlen)
			o = outlen - 1;
	}
	ck_assert_int_eq(pclose(p), 0);
	return n;
}

static void
cap_checksums(void)
{
	static char	out[65536];

	cap_read("-vv", out, sizeof(out));
	ck_assert_msg(strstr(out, "incorrect") == NULL &&
	    strstr(out, "bad cksum") == NULL, "bad checksums:\n%s", out);
	/* And they were checked: TCP says "correct", UDP "sum ok". */
	ck_assert_msg(strstr(out, "(correct)") != NULL ||
	    strstr(out, "sum ok") != NULL, "no checksum verified:\n%s", out);
	if (getenv("TAP_PCAP_SHOW") != NULL)
		fprintf(stderr, "%s", out);
	unlink(cap_path);
}

static struct taps *
chain(struct sl_conf **confp, const char *taps, const char *proto,
    const struct sockaddr *client, const char *target)
{
	struct tap_info	 info;
	struct taps	*tp;
	char		 err[512];

	*confp = parse_taps(taps, err, sizeof(err));
	ck_assert_msg(*confp != NULL, "%s", err);
	memset(&info, 0, sizeof(info));
	info.session = 7;
	info.listener = "listen0";
	info.proto = proto;
	info.client = client;
	info.target = target;
	tp = taps_new((*confp)->listeners[0].taps,
	    (*confp)->listeners[0].ntaps, &info);
	ck_assert_ptr_nonnull(tp);
	return tp;
}

static void
stream(struct taps *tp, enum tap_dir dir, const char *s)
{
	const uint8_t	*out;
	size_t		 outlen;

	ck_assert_int_eq(taps_stream(tp, dir, (const uint8_t *)s, strlen(s),
	    &out, &outlen), 0);
	/* Passed on unchanged. */
	ck_assert_uint_eq(outlen, strlen(s));
	ck_assert_mem_eq(out, s, outlen);
}

START_TEST(tcp_v4)
{
	static char		 out[65536];
	struct sockaddr_in	 sin;
	struct sl_conf		*conf;
	struct taps		*tp;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	cap_open();
	tp = chain(&conf, "[{'type':'log','direction':'down'},"
	    "{'type':'pcap','file':'/x.pcap'}]", "tcp",
	    (struct sockaddr *)&sin, "10.9.8.7:8080");
	stream(tp, TAP_UP, "GET / HTTP/1.0\r\n\r\n");
	stream(tp, TAP_DOWN, "HTTP/1.0 200 OK\r\n\r\nhello");
	stream(tp, TAP_UP, "bye");
	taps_free(tp);
	/* SYN, SYN-ACK, ACK, 3 data, FIN, FIN, ACK */
	ck_assert_uint_eq(cap_n, 9);
	ck_assert_uint_eq(cap_file, 0);
	ck_assert_uint_eq(cap_read(NULL, out, sizeof(out)), 9);
	ck_assert_msg(strstr(out, "IP 10.1.2.3.40000 > 10.9.8.7.8080: "
	    "Flags [S]") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "IP 10.9.8.7.8080 > 10.1.2.3.40000: "
	    "Flags [S.]") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Flags [P.], seq 1:19, ack 1, win 65535, "
	    "length 18") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Flags [P.], seq 1:25, ack 19, win 65535, "
	    "length 24") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Flags [P.], seq 19:22, ack 25, win 65535, "
	    "length 3") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Flags [F.], seq 22, ack 25") != NULL, "%s",
	    out);
	unlink(cap_path);
	conf_free(conf);
	/* Again for the checksums. */
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "tcp",
	    (struct sockaddr *)&sin, "10.9.8.7:8080");
	stream(tp, TAP_UP, "GET / HTTP/1.0\r\n\r\n");
	stream(tp, TAP_DOWN, "odd length!");
	taps_free(tp);
	conf_free(conf);
	cap_checksums();
}
END_TEST

START_TEST(tcp_v6_bridged)
{
	static char		 out[65536];
	struct sockaddr_in6	 sin6;
	struct sl_conf		*conf;
	struct taps		*tp;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40001);
	inet_pton(AF_INET6, "fd00::5", &sin6.sin6_addr);
	/* An IPv6 client to an IPv4 target: the target is the stand-in. */
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "tcp",
	    (struct sockaddr *)&sin6, "10.9.8.7:8080");
	stream(tp, TAP_UP, "ping");
	stream(tp, TAP_DOWN, "pong!");
	taps_free(tp);
	conf_free(conf);
	ck_assert_uint_eq(cap_read(NULL, out, sizeof(out)), 8);
	ck_assert_msg(strstr(out, "IP6 fd00::5.40001 > 2001:db8::1.8080: "
	    "Flags [P.], seq 1:5, ack 1") != NULL, "%s", out);
	unlink(cap_path);
	/* IPv6 both ends, a name target (stand-in, its port). */
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "tcp",
	    (struct sockaddr *)&sin6, "[fd00::9]:443");
	stream(tp, TAP_UP, "ping");
	taps_free(tp);
	conf_free(conf);
	ck_assert_uint_eq(cap_read(NULL, out, sizeof(out)), 7);
	ck_assert_msg(strstr(out, "IP6 fd00::5.40001 > fd00::9.443: "
	    "Flags [P.]") != NULL, "%s", out);
	unlink(cap_path);
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "tcp",
	    (struct sockaddr *)&sin6, "example.com:443");
	stream(tp, TAP_UP, "ping");
	stream(tp, TAP_DOWN, "odd");
	taps_free(tp);
	conf_free(conf);
	cap_checksums();
}
END_TEST

/* A chunk larger than PCAP_SEG: several packets, nothing lost. */
START_TEST(tcp_split)
{
	static char		 out[65536];
	static char		 big[PCAP_SEG * 2 + 100 + 1];
	struct sockaddr_in	 sin;
	struct sl_conf		*conf;
	struct taps		*tp;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	memset(big, 'x', sizeof(big) - 1);
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap',"
	    "'direction':'up'}]", "tcp", (struct sockaddr *)&sin,
	    "127.0.0.1:9");
	stream(tp, TAP_UP, big);
	stream(tp, TAP_DOWN, "not seen");
	taps_free(tp);
	conf_free(conf);
	ck_assert_uint_eq(cap_read(NULL, out, sizeof(out)), 3 + 3 + 3);
	ck_assert_msg(strstr(out, "seq 1:7681, ack 1, win 65535, length 7680")
	    != NULL, "%s", out);
	ck_assert_msg(strstr(out, "seq 15361:15461, ack 1, win 65535, "
	    "length 100") != NULL, "%s", out);
	unlink(cap_path);
}
END_TEST

START_TEST(udp_datagrams)
{
	static char		 out[65536];
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sl_conf		*conf;
	struct taps		*tp;
	const uint8_t		*o;
	size_t			 olen;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(6666);
	inet_pton(AF_INET, "192.168.1.2", &sin.sin_addr);
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "udp",
	    (struct sockaddr *)&sin, "192.168.1.1:7777");
	ck_assert_int_eq(taps_datagram(tp, TAP_UP, (const uint8_t *)"query",
	    5, &o, &olen), 1);
	ck_assert_uint_eq(olen, 5);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN,
	    (const uint8_t *)"answer", 6, &o, &olen), 1);
	ck_assert_int_eq(taps_datagram(tp, TAP_DOWN, (const uint8_t *)"", 0,
	    &o, &olen), 1);
	taps_free(tp);
	conf_free(conf);
	/* No handshake, no FIN: one packet a datagram, empty ones too. */
	ck_assert_uint_eq(cap_read(NULL, out, sizeof(out)), 3);
	ck_assert_msg(strstr(out, "IP 192.168.1.2.6666 > 192.168.1.1.7777: "
	    "UDP, length 5") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "IP 192.168.1.1.7777 > 192.168.1.2.6666: "
	    "UDP, length 6") != NULL, "%s", out);
	unlink(cap_path);
	/* Checksums, IPv4 and IPv6 (v4-mapped is IPv4). */
	cap_open();
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "udp",
	    (struct sockaddr *)&sin, "192.168.1.1:7777");
	(void)taps_datagram(tp, TAP_UP, (const uint8_t *)"abc", 3, &o, &olen);
	taps_free(tp);
	conf_free(conf);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(6666);
	inet_pton(AF_INET6, "fd00::1", &sin6.sin6_addr);
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "udp",
	    (struct sockaddr *)&sin6, "[fd00::2]:7777");
	(void)taps_datagram(tp, TAP_UP, (const uint8_t *)"abcd", 4, &o,
	    &olen);
	(void)taps_datagram(tp, TAP_DOWN, (const uint8_t *)"e", 1, &o, &olen);
	taps_free(tp);
	conf_free(conf);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6.sin6_addr);
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "udp",
	    (struct sockaddr *)&sin6, "10.0.0.2:7777");
	(void)taps_datagram(tp, TAP_UP, (const uint8_t *)"abcd", 4, &o,
	    &olen);
	taps_free(tp);
	conf_free(conf);
	ck_assert_uint_eq(cap_n, 4);
	cap_checksums();
}
END_TEST

/* Without a sink (the master's check, a test) pcap taps only pass. */
START_TEST(no_sink)
{
	struct sl_conf		*conf;
	struct taps		*tp;

	taps_set_pcap_sink(NULL);
	tp = chain(&conf, "[{'type':'pcap','file':'/x.pcap'}]", "tcp", NULL,
	    "?");
	stream(tp, TAP_UP, "abc");
	taps_free(tp);
	conf_free(conf);
}
END_TEST

/* The packet builder alone: lengths and the sequence numbers. */
START_TEST(packet_layout)
{
	struct pcap_flow	f;
	uint8_t			buf[PCAP_PKT_MAX];
	static uint8_t		data[PCAP_SEG + 1];
	size_t			n;

	pcap_flow_init(&f, 0, NULL, "garbage");
	ck_assert_int_eq(f.family, AF_INET);
	ck_assert_uint_eq(f.port[PCAP_SERVER], 0);
	n = pcap_packet(&f, PCAP_CLIENT, PCAP_SYN, NULL, 0, buf);
	ck_assert_uint_eq(n, 40);
	ck_assert_uint_eq(buf[0], 0x45);
	ck_assert_uint_eq(f.seq[PCAP_CLIENT], 0x10000001u);
	ck_assert_uint_eq(pcap_packet(&f, PCAP_CLIENT, PCAP_ACK, data,
	    PCAP_SEG + 1, buf), 0);
	n = pcap_packet(&f, PCAP_SERVER, PCAP_ACK, data, PCAP_SEG, buf);
	ck_assert_uint_eq(n, 40 + PCAP_SEG);
	ck_assert_uint_eq(f.seq[PCAP_SERVER], 0x20000000u + PCAP_SEG);
	pcap_flow_init(&f, 1, NULL, "[::1]:53");
	ck_assert_uint_eq(f.port[PCAP_SERVER], 53);
	n = pcap_packet(&f, PCAP_CLIENT, 0, data, 10, buf);
	ck_assert_uint_eq(n, 20 + 8 + 10);
}
END_TEST

static Suite *
tap_pcap_suite(void)
{
	Suite	*s = suite_create("tap_pcap");
	TCase	*tc = tcase_create("conf"), *tp = tcase_create("packets");

	tcase_add_test(tc, conf_valid);
	tcase_add_loop_test(tc, conf_errors, 0,
	    (int)(sizeof(conf_bad) / sizeof(conf_bad[0])));
	tcase_add_test(tc, conf_errors_global);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 30);
	tcase_add_test(tp, tcp_v4);
	tcase_add_test(tp, tcp_v6_bridged);
	tcase_add_test(tp, tcp_split);
	tcase_add_test(tp, udp_datagrams);
	tcase_add_test(tp, no_sink);
	tcase_add_test(tp, packet_layout);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nf;

	log_init("check_tap_pcap", SL_LOG_WARN);
	sr = srunner_create(tap_pcap_suite());
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
