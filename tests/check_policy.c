/*
 * Routing engine tests: every matcher kind, every row of the policy
 * table (select.h) on the balancer and on links, every strategy with its
 * weights, the live state (max_connections, cool-down, health check)
 * read from a real shared mapping, refusal texts, and PythTRT's README
 * example routing as its README says.
 *
 * Documents use single quotes; dq() turns them into JSON.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/config.h"
#include "policy/counters.h"
#include "policy/select.h"

/* Fixtures. */

struct fix {
	struct sl_conf		*conf;
	void			*shm;
	uint32_t		 nw;
	struct sl_route_view	 v;
	struct sl_route		 r;
};

/* A request and the storage its pointers refer to. */
struct treq {
	struct sl_request	 rq;
	struct sockaddr_storage	 addr, client;
	struct sl_res_addr	 res[SL_MAX_ADDRS];
};

static struct sl_conf *
parse(const char *sq)
{
	struct sl_conf	*conf = NULL;
	char		*text, err[512];
	size_t		 i, len = strlen(sq);

	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i <= len; i++)
		text[i] = sq[i] == '\'' ? '"' : sq[i];
	ck_assert_msg(conf_parse(text, len, &conf, err, sizeof(err)) == 0,
	    "%s: %s", sq, err);
	free(text);
	return conf;
}

static void
fix_init(struct fix *f, const char *sq, uint32_t nw)
{
	size_t	size;

	memset(f, 0, sizeof(*f));
	f->conf = parse(sq);
	f->nw = nw;
	size = shm_size(nw, (uint32_t)f->conf->nlinks);
	f->shm = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(f->shm, MAP_FAILED);
	shm_init(f->shm, nw, (uint32_t)f->conf->nlinks);
	f->v.shm = f->shm;
	f->v.nworkers = nw;
	f->v.rnd = 12345;
	f->v.now_ms = 1000000;
}

static void
fix_free(struct fix *f)
{
	munmap(f->shm, shm_size(f->nw, (uint32_t)f->conf->nlinks));
	conf_free(f->conf);
}

static void
sa_set(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
}

/* host and addr may be NULL; client NULL means 127.0.0.1. */
static const struct sl_request *
req(struct treq *t, const char *host, const char *addr, uint16_t port,
    const char *client)
{
	memset(t, 0, sizeof(*t));
	t->rq.host = host;
	if (addr != NULL) {
		sa_set(&t->addr, addr);
		t->rq.addr = (const struct sockaddr *)&t->addr;
	}
	sa_set(&t->client, client != NULL ? client : "127.0.0.1");
	t->rq.client = (const struct sockaddr *)&t->client;
	t->rq.port = port;
	t->rq.resolved = t->res;
	return &t->rq;
}

/* What the name resolved to, one more address. */
static void
resolved(struct treq *t, const char *ip)
{
	struct sl_res_addr	*a = &t->res[t->rq.nresolved++];

	if (inet_pton(AF_INET, ip, a->addr) == 1)
		a->family = 4;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, a->addr), 1);
		a->family = 6;
	}
}

/* The candidates as "1 0 2", or the verdict and why. */
static const char *
route(struct fix *f, const struct sl_request *rq)
{
	static char	buf[512];
	size_t		i, off = 0;

	policy_route(f->conf, rq, &f->v, &f->r);
	if (f->r.verdict != SL_ROUTE_OK) {
		ck_assert_uint_eq(f->r.ncand, 0);
		snprintf(buf, sizeof(buf), "%s: %s",
		    f->r.verdict == SL_ROUTE_REFUSED ? "refused" :
		    "unavailable", f->r.why);
		return buf;
	}
	ck_assert_uint_gt(f->r.ncand, 0);
	buf[0] = '\0';
	for (i = 0; i < f->r.ncand; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u",
		    i > 0 ? " " : "", f->r.cand[i]);
	return buf;
}

/* The first candidate of a routed request. */
static uint32_t
pick(struct fix *f, const struct sl_request *rq)
{
	policy_route(f->conf, rq, &f->v, &f->r);
	ck_assert_int_eq(f->r.verdict, SL_ROUTE_OK);
	return f->r.cand[0];
}

static void
set_active(struct fix *f, uint32_t worker, uint32_t link, uint64_t n)
{
	atomic_store(&shm_ctr(f->shm, f->nw, (uint32_t)f->conf->nlinks,
	    worker, link)->active, n);
}

static struct sl_link_health *
health(struct fix *f, uint32_t link)
{
	return shm_health(f->shm, f->nw, link);
}

/* matcher_match() on the balancer's first matcher. */
static int
m1(const char *sq, const struct sl_request *rq)
{
	struct sl_conf	*conf = parse(sq);
	int		 rc = matcher_match(&conf->matchers[0], rq);

	conf_free(conf);
	return rc;
}

static double
ms_since(const struct timespec *a)
{
	struct timespec	b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* Matchers. */

START_TEST(t_match_empty)
{
	struct treq	t;

	ck_assert(m1("{'balancer': {'matchers': [{}]}}",
	    req(&t, "a.com", NULL, 1, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'ports': [], 'ips': []}]}}",
	    req(&t, NULL, "10.0.0.1", 65535, "::1")));
}
END_TEST

START_TEST(t_match_ports)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ports':"
	    " [443, '8000-8999', 80, '8500-9100', 9101, 65535]}]}}";
	static const char ranges[] = "{'balancer': {'matchers': [{"
	    "'port_ranges': ['1000-1999', '22']}]}}";
	static const uint16_t in[] = { 80, 443, 8000, 8999, 9000, 9100, 9101,
	    65535 };
	static const uint16_t out[] = { 1, 79, 81, 442, 7999, 9102, 65534 };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, "h", NULL, in[i], NULL)),
		    "port %u", in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, "h", NULL, out[i], NULL)),
		    "port %u", out[i]);
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 1000, NULL)));
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 1999, NULL)));
	ck_assert(m1(ranges, req(&t, NULL, "10.0.0.1", 22, NULL)));
	ck_assert(!m1(ranges, req(&t, NULL, "10.0.0.1", 2000, NULL)));
	ck_assert(!m1(ranges, req(&t, NULL, "10.0.0.1", 23, NULL)));
}
END_TEST

/* Python's re.search: unanchored, case-sensitive, on the host name. */
START_TEST(t_match_domains_re)
{
	static const char doc[] = "{'balancer': {'matchers': [{"
	    "'domains_re': ['\\\\.intranet.com$']}]}}";
	struct treq	t;

	ck_assert(m1(doc, req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(m1(doc, req(&t, "a.b.intranet.com", NULL, 80, NULL)));
	/* "." unescaped before com matches any byte, as in Python. */
	ck_assert(m1(doc, req(&t, "x.intranet-com", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, "intranet.com", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, "x.intranet.com.evil", NULL, 80, NULL)));
	ck_assert(!m1(doc, req(&t, NULL, "10.0.0.1", 80, NULL)));
	ck_assert(!m1(doc, req(&t, "", "10.0.0.1", 80, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'domains_re': ['tra']}]}}",
	    req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'domains_re': ['^tra']}]}}",
	    req(&t, "x.intranet.com", NULL, 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'domains_re': ['Foo']}]}}",
	    req(&t, "foo.com", NULL, 80, NULL)));
	/* Any pattern of the list. */
	ck_assert(m1("{'balancer': {'matchers': [{'domains_re': ['^a\\\\.',"
	    " '(x)(y)(z)$', 'q']}]}}", req(&t, "b.xyz", NULL, 80, NULL)));
}
END_TEST

/*
 * Catastrophic backtracking hits the match limit quickly, and the answer
 * fails closed: a forbid matcher counts it as a match (the rule holds),
 * an allow matcher as no match (the rule does not open).
 */
START_TEST(t_match_redos)
{
	struct sl_conf	*conf;
	struct treq	 t;
	struct timespec	 start;
	char		 host[256];
	int		 i;

	conf = parse("{'balancer': {'matchers': [{'domains_re':"
	    " ['(a+)+$', '(x+x+)+y']}, {'policy': 'allow', 'domains_re':"
	    " ['(a+)+$']}]}}");
	memset(host, 'a', 250);
	host[250] = 'b';
	host[251] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < 10; i++) {
		ck_assert(matcher_match(&conf->matchers[0],
		    req(&t, host, NULL, 80, NULL)));
		ck_assert(!matcher_match(&conf->matchers[1],
		    req(&t, host, NULL, 80, NULL)));
	}
	ck_assert_msg(ms_since(&start) < 500, "%.1f ms", ms_since(&start));
	/* The limits did not break ordinary matching. */
	ck_assert(matcher_match(&conf->matchers[0],
	    req(&t, "aaa", NULL, 80, NULL)));
	conf_free(conf);
}
END_TEST

START_TEST(t_match_domains)
{
	static const char doc[] = "{'balancer': {'matchers': [{'domains':"
	    " ['example.com', '*.Co.UK', 'a.b.c.org']}]}}";
	static const char *const in[] = { "example.com", "www.example.com",
	    "a.b.example.com", "example.com.", "bbc.co.uk", "co.uk",
	    "a.b.c.org", "x.a.b.c.org" };
	static const char *const out[] = { "notexample.com",
	    "example.com.evil", "com", "xexample.com", "uk", "b.c.org",
	    "c.org", "example.co", "", "examplecom", ".com" };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, in[i], NULL, 80, NULL)), "%s",
		    in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, out[i], NULL, 80, NULL)), "%s",
		    out[i]);
	ck_assert(!m1(doc, req(&t, NULL, "93.184.216.34", 80, NULL)));
	/* A top-level domain covers everything under it. */
	ck_assert(m1("{'balancer': {'matchers': [{'domains': ['com']}]}}",
	    req(&t, "x.y.com", NULL, 80, NULL)));
}
END_TEST

/* Ten thousand names: every one and its subdomains, nothing else. */
START_TEST(t_match_domains_many)
{
	struct sl_conf	*conf;
	struct treq	 t;
	char		*doc, name[64];
	size_t		 i, off, cap = 10000 * 40 + 100;

	doc = malloc(cap);
	ck_assert_ptr_nonnull(doc);
	off = (size_t)snprintf(doc, cap, "{'balancer': {'matchers': "
	    "[{'domains': [");
	for (i = 0; i < 10000; i++)
		off += (size_t)snprintf(doc + off, cap - off, "%s'd%zu.example'",
		    i > 0 ? ", " : "", i * 7);
	snprintf(doc + off, cap - off, "]}]}}");
	conf = parse(doc);
	free(doc);
	for (i = 0; i < 70000; i++) {
		snprintf(name, sizeof(name), "www.d%zu.example", i);
		ck_assert_int_eq(matcher_match(&conf->matchers[0],
		    req(&t, name, NULL, 80, NULL)), i % 7 == 0);
	}
	conf_free(conf);
}
END_TEST

START_TEST(t_match_ips)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ips':"
	    " ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32',"
	    " '::ffff:198.51.100.0/120']}]}}";
	static const char v6[] = "{'balancer': {'matchers': [{'ips':"
	    " ['2001:db9::/32', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124',"
	    " '2001:db8::/32', '::/128']}]}}";
	static const char *const in[] = { "10.0.0.0", "10.255.255.255",
	    "192.0.2.1", "2001:db8::1", "2001:db8:ffff::",
	    "::ffff:10.1.2.3", "198.51.100.7", "::ffff:198.51.100.255" };
	static const char *const out[] = { "11.0.0.0", "9.255.255.255",
	    "192.0.2.2", "2001:db9::", "::1", "::ffff:11.0.0.1",
	    "198.51.101.0", "::10.1.2.3", "::" };
	struct treq	t;
	size_t		i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(m1(doc, req(&t, NULL, in[i], 80, NULL)), "%s",
		    in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!m1(doc, req(&t, NULL, out[i], 80, NULL)), "%s",
		    out[i]);
	/* A name matches through any address it resolved to. */
	req(&t, "intra.example", NULL, 80, NULL);
	ck_assert(!m1(doc, &t.rq));
	resolved(&t, "203.0.113.9");
	resolved(&t, "2001:db8::7");
	ck_assert(m1(doc, &t.rq));
	req(&t, "intra.example", NULL, 80, NULL);
	resolved(&t, "203.0.113.9");
	resolved(&t, "::ffff:10.9.9.9");
	ck_assert(m1(doc, &t.rq));
	req(&t, "intra.example", NULL, 80, NULL);
	resolved(&t, "203.0.113.9");
	ck_assert(!m1(doc, &t.rq));
	/* No address at all: no match, and the default route catches all. */
	ck_assert(!m1(doc, req(&t, "x", NULL, 80, NULL)));
	/* Adjacent prefixes merge; the ends of the space are kept. */
	ck_assert(m1(v6, req(&t, NULL, "2001:db9:ffff::1", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "2001:db8::", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "::", 80, NULL)));
	ck_assert(m1(v6, req(&t, NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "2001:dba::", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "2001:db7:ffff:ffff:ffff:ffff:ffff:"
	    "ffff", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "::1", 80, NULL)));
	ck_assert(!m1(v6, req(&t, NULL, "0.0.0.0", 80, NULL)));
	/* ::/0 is IPv6 traffic: mapped addresses are IPv4. */
	ck_assert(m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "2001:db8::1", 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "::ffff:1.2.3.4", 80, NULL)));
	ck_assert(!m1("{'balancer': {'matchers': [{'ips': ['::/0']}]}}",
	    req(&t, NULL, "1.2.3.4", 80, NULL)));
	ck_assert(m1("{'balancer': {'matchers': [{'ips': ['0.0.0.0/0']}]}}",
	    req(&t, NULL, "255.255.255.255", 80, NULL)));
}
END_TEST

static uint32_t
lcg(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + 1442695040888963407u;
	return (uint32_t)(*s >> 33);
}

/* The merged index against a linear scan, over random prefixes. */
START_TEST(t_match_ips_random)
{
	struct sl_conf	*conf;
	struct treq	 t;
	uint32_t	 net[1000], mask[1000], a;
	uint64_t	 seed = 42;
	char		*doc, ip[INET_ADDRSTRLEN];
	size_t		 i, j, off, cap = 1000 * 24 + 100;
	int		 want, plen;

	doc = malloc(cap);
	ck_assert_ptr_nonnull(doc);
	off = (size_t)snprintf(doc, cap, "{'balancer': {'matchers': [{'ips': [");
	for (i = 0; i < 1000; i++) {
		plen = 8 + (int)(lcg(&seed) % 25);
		mask[i] = plen == 32 ? UINT32_MAX : ~(UINT32_MAX >> plen);
		net[i] = (0x0a000000u | (lcg(&seed) & 0x00ffffffu)) & mask[i];
		off += (size_t)snprintf(doc + off, cap - off, "%s'%u.%u.%u.%u/%d'",
		    i > 0 ? ", " : "", net[i] >> 24, (net[i] >> 16) & 255,
		    (net[i] >> 8) & 255, net[i] & 255, plen);
	}
	snprintf(doc + off, cap - off, "]}]}}");
	conf = parse(doc);
	free(doc);
	for (i = 0; i < 20000; i++) {
		a = i < 1000 ? net[i] + (i & 1) : 0x0a000000u |
		    (lcg(&seed) & 0x00ffffffu);
		for (want = 0, j = 0; j < 1000 && !want; j++)
			want = (a & mask[j]) == net[j];
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255);
		ck_assert_int_eq(matcher_match(&conf->matchers[0],
		    req(&t, NULL, ip, 80, NULL)), want);
	}
	conf_free(conf);
}
END_TEST

START_TEST(t_match_clients)
{
	static const char doc[] = "{'balancer': {'matchers': [{'clients':"
	    " ['192.168.0.0/16', 'fd00::/8']}]}}";
	struct treq	t;

	ck_assert(m1(doc, req(&t, "h", NULL, 80, "192.168.1.1")));
	ck_assert(m1(doc, req(&t, "h", NULL, 80, "::ffff:192.168.1.1")));
	ck_assert(m1(doc, req(&t, "h", NULL, 80, "fd12::1")));
	ck_assert(!m1(doc, req(&t, "h", NULL, 80, "192.169.0.1")));
	ck_assert(!m1(doc, req(&t, "h", NULL, 80, "fe80::1")));
	/* The target address is not the client's. */
	ck_assert(!m1(doc, req(&t, NULL, "192.168.1.1", 80, "10.0.0.1")));
	req(&t, "h", NULL, 80, NULL);
	t.rq.client = NULL;
	ck_assert(!m1(doc, &t.rq));
}
END_TEST

/* Every key must match; each one alone can spoil it. */
START_TEST(t_match_all_keys)
{
	static const char doc[] = "{'balancer': {'matchers': [{'ports':"
	    " [443], 'domains': ['example.com'], 'domains_re': ['^www'],"
	    " 'clients': ['10.0.0.0/8'], 'ips': ['192.0.2.0/24']}]}}";
	struct treq	t;

	req(&t, "www.example.com", NULL, 443, "10.1.1.1");
	resolved(&t, "192.0.2.80");
	ck_assert(m1(doc, &t.rq));
	t.rq.port = 80;
	ck_assert(!m1(doc, &t.rq));
	t.rq.port = 443;
	t.rq.host = "www.example.org";
	ck_assert(!m1(doc, &t.rq));
	t.rq.host = "ftp.example.com";
	ck_assert(!m1(doc, &t.rq));
	t.rq.host = "www.example.com";
	sa_set(&t.client, "11.0.0.1");
	ck_assert(!m1(doc, &t.rq));
	sa_set(&t.client, "10.0.0.1");
	t.rq.nresolved = 0;
	ck_assert(!m1(doc, &t.rq));
}
END_TEST

/* The policy table. */

/*
 * The policy table, row by row: each policy matched and not matched, on
 * the balancer (admission) and on a link (eligibility, tier).  Links
 * are in failover order so that only the rules move them.
 */
#define BAL(m)	"{'balancer': {'strategy': 'failover', 'links': [{}, {}],"\
		" 'matchers': [" m "]}}"
#define LINK(m)	"{'balancer': {'strategy': 'failover', 'links': [{},"\
		" {'matchers': [" m "]}, {}]}}"
static const struct {
	const char	*doc;
	uint16_t	 port;		/* the matchers look at 443 */
	const char	*want;
} rows[] = {
	{ BAL("{'policy': 'allow', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'allow', 'ports': [443]}"), 80,
	    "refused: balancer.matchers[0] (allow, not matched)" },
	{ BAL("{'policy': 'allow'}, {'ports': [443]}"), 443,
	    "refused: balancer.matchers[1] (forbid)" },
	{ BAL("{'policy': 'allow'}, {'ports': [443]}"), 80, "0 1" },
	{ BAL("{'policy': 'prioritize', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'prioritize', 'ports': [443]}"), 80, "0 1" },
	{ BAL("{'policy': 'deprioritize', 'ports': [443]}"), 443, "0 1" },
	{ BAL("{'policy': 'deprioritize', 'ports': [443]}"), 80, "0 1" },
	{ LINK("{'policy': 'allow', 'ports': [443]}"), 443, "0 1 2" },
	{ LINK("{'policy': 'allow', 'ports': [443]}"), 80, "0 2" },
	{ LINK("{'policy': 'forbid', 'ports': [443]}"), 443, "0 2" },
	{ LINK("{'policy': 'forbid', 'ports': [443]}"), 80, "0 1 2" },
	{ LINK("{'policy': 'prioritize', 'ports': [443]}"), 443, "1 0 2" },
	{ LINK("{'policy': 'prioritize', 'ports': [443]}"), 80, "0 1 2" },
	{ LINK("{'policy': 'deprioritize', 'ports': [443]}"), 443, "0 2 1" },
	{ LINK("{'policy': 'deprioritize', 'ports': [443]}"), 80, "0 1 2" },
	/* PythTRT's default policy is forbid. */
	{ LINK("{'ports': [443]}"), 443, "0 2" },
	{ BAL("{'ports': [443]}"), 443,
	    "refused: balancer.matchers[0] (forbid)" },
};
#undef BAL
#undef LINK

START_TEST(t_policy_row)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, rows[_i].doc, 1);
	ck_assert_str_eq(route(&f, req(&t, "a.example", NULL, rows[_i].port,
	    NULL)), rows[_i].want);
	fix_free(&f);
}
END_TEST

/* Every matcher is evaluated: the first that refuses is named. */
START_TEST(t_bal_several)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'matchers': ["
	    "{'policy': 'allow', 'ports': [80, 443]},"
	    "{'policy': 'forbid', 'clients': ['10.66.0.0/16']},"
	    "{'policy': 'allow', 'domains_re': ['\\\\.org$', '\\\\.net$']},"
	    "{'policy': 'prioritize', 'ports': [80]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 80, NULL)), "0");
	ck_assert_str_eq(route(&f, req(&t, "a.net", NULL, 443, "10.1.0.1")),
	    "0");
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 22, "10.66.0.1")),
	    "refused: balancer.matchers[0] (allow, not matched)");
	ck_assert_str_eq(route(&f, req(&t, "a.org", NULL, 80, "10.66.0.1")),
	    "refused: balancer.matchers[1] (forbid)");
	ck_assert_str_eq(route(&f, req(&t, "a.com", NULL, 80, NULL)),
	    "refused: balancer.matchers[2] (allow, not matched)");
	fix_free(&f);
}
END_TEST

/* A deprioritized link is used only when no other link is available. */
START_TEST(t_link_deprioritize)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': ["
	    "{'matchers': [{'policy': 'deprioritize', 'ports': [443]}]},"
	    " {}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 443, NULL)), "1 0");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)), "0 1");
	atomic_store(&health(&f, 1)->down_until_ms, f.v.now_ms + 1000);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 443, NULL)), "0");
	fix_free(&f);
}
END_TEST

/* Both match: prioritize wins (select.h), whatever the order. */
START_TEST(t_link_pri_and_depri)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': [{}, "
	    "{'matchers': [{'policy': 'deprioritize', 'ports': [443]},"
	    " {'policy': 'prioritize', 'domains': ['fast.example']}]},"
	    " {'matchers': [{'policy': 'prioritize', 'ports': [443]},"
	    " {'policy': 'deprioritize', 'ports': [443]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "fast.example", NULL, 443, NULL)),
	    "1 2 0");
	ck_assert_str_eq(route(&f, req(&t, "slow.example", NULL, 443, NULL)),
	    "2 0 1");
	ck_assert_str_eq(route(&f, req(&t, "fast.example", NULL, 80, NULL)),
	    "1 0 2");
	fix_free(&f);
}
END_TEST

/* Several matchers on one link: each refusal and preference applies. */
START_TEST(t_link_several)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links': [{},"
	    " {'matchers': [{'policy': 'allow', 'ports': [443, 8443]},"
	    " {'policy': 'forbid', 'domains': ['bad.example']},"
	    " {'policy': 'prioritize', 'domains_re': ['^cdn\\\\.']},"
	    " {'policy': 'deprioritize', 'ports': [8443]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 443, NULL)), "1 0");
	ck_assert_str_eq(route(&f, req(&t, "www.a", NULL, 443, NULL)), "0 1");
	ck_assert_str_eq(route(&f, req(&t, "www.a", NULL, 8443, NULL)),
	    "0 1");
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 8443, NULL)),
	    "1 0");
	ck_assert_str_eq(route(&f, req(&t, "cdn.bad.example", NULL, 443,
	    NULL)), "0");
	ck_assert_str_eq(route(&f, req(&t, "cdn.a", NULL, 80, NULL)), "0");
	fix_free(&f);
}
END_TEST

/* Every link refuses: 0x02, naming each link's refusing rule. */
START_TEST(t_link_all_refuse)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'links': ["
	    "{'matchers': [{'policy': 'allow'}, {'ports': [25]}]},"
	    " {'matchers': [{'policy': 'allow', 'ports': [80]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "mx", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[0].matchers[1] "
	    "(forbid), balancer.links[1].matchers[0] (allow, not matched)");
	fix_free(&f);
}
END_TEST

/* Many refusals: the text stays in its buffer and says it was cut. */
START_TEST(t_why_truncated)
{
	static const char head[] = "no link may carry it: "
	    "balancer.links[0].matchers[0] (forbid), "
	    "balancer.links[1].matchers[0] (forbid), ";
	struct fix	f;
	struct treq	t;
	char		doc[8192];
	size_t		i, off, n;

	off = (size_t)snprintf(doc, sizeof(doc), "{'balancer': {'links': [");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off,
		    "%s{'matchers': [{'ports': [1]}]}", i > 0 ? ", " : "");
	snprintf(doc + off, sizeof(doc) - off, "]}}");
	fix_init(&f, doc, 1);
	policy_route(f.conf, req(&t, "a", NULL, 1, NULL), &f.v, &f.r);
	ck_assert_int_eq(f.r.verdict, SL_ROUTE_REFUSED);
	n = strlen(f.r.why);
	ck_assert_uint_lt(n, sizeof(f.r.why));
	ck_assert_msg(strncmp(f.r.why, head, strlen(head)) == 0, "%s",
	    f.r.why);
	ck_assert_str_eq(f.r.why + n - 5, ", ...");
	fix_free(&f);
}
END_TEST

/* Strategies. */

START_TEST(t_rr_equal)
{
	struct fix	f;
	struct treq	t;
	int		i;

	fix_init(&f, "{'balancer': {'links': [{}, {}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	/* Sequential order, the others following in rotation. */
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	ck_assert_str_eq(route(&f, &t.rq), "2 0 1");
	for (i = 3; i < 300; i++)
		ck_assert_uint_eq(pick(&f, &t.rq), (uint32_t)(i % 3));
	fix_free(&f);
}
END_TEST

/* Exact shares over every window of W consecutive decisions. */
START_TEST(t_rr_weights)
{
	static const uint32_t w[] = { 5, 3, 1, 1, 7 };
	struct fix	f;
	struct treq	t;
	uint32_t	seq[10000], cnt[5], i, j, W = 17;

	fix_init(&f, "{'balancer': {'links': [{'weight': 5}, {'weight': 3},"
	    " {'weight': 1}, {'weight': 1}, {'weight': 7}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++)
		seq[i] = pick(&f, &t.rq);
	for (i = 0; i + W <= 10000; i += 7) {
		memset(cnt, 0, sizeof(cnt));
		for (j = i; j < i + W; j++)
			cnt[seq[j]]++;
		for (j = 0; j < 5; j++)
			ck_assert_uint_eq(cnt[j], w[j]);
	}
	/* Interleaved: the heaviest link never runs more than twice. */
	for (i = 0; i + 2 < 10000; i++)
		ck_assert(!(seq[i] == 4 && seq[i + 1] == 4 && seq[i + 2] == 4));
	fix_free(&f);
}
END_TEST

/* Two processes share one cursor: together, exact shares. */
START_TEST(t_rr_cross_worker)
{
	struct fix	 f;
	struct treq	 t;
	pid_t		 pid[2];
	uint32_t	 k;
	int		 i, p, st;

	fix_init(&f, "{'balancer': {'links': [{'weight': 2}, {'weight': 1},"
	    " {'weight': 1}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	for (p = 0; p < 2; p++) {
		if ((pid[p] = fork()) == 0) {
			/* Each pick is counted in this worker's row. */
			for (i = 0; i < 4000; i++) {
				k = pick(&f, &t.rq);
				atomic_fetch_add(&shm_ctr(f.shm, 2, 3,
				    (uint32_t)p, k)->opened, 1);
			}
			_exit(0);
		}
		ck_assert_int_gt(pid[p], 0);
	}
	for (p = 0; p < 2; p++) {
		ck_assert_int_eq(waitpid(pid[p], &st, 0), pid[p]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (k = 0; k < 3; k++) {
		struct sl_link_totals	tot;

		shm_link_totals(f.shm, 2, 3, k, &tot);
		ck_assert_uint_eq(tot.opened, k == 0 ? 4000 : 2000);
	}
	fix_free(&f);
}
END_TEST

/* Weighted random: 3:1 over 10,000 picks within +-2.5 points. */
START_TEST(t_random_weights)
{
	struct fix	f;
	struct treq	t;
	uint64_t	seed = 7;
	uint32_t	cnt[2] = { 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'random_link', 'links':"
	    " [{'weight': 3}, {'weight': 1}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++) {
		f.v.rnd = lcg(&seed);
		cnt[pick(&f, &t.rq)]++;
		ck_assert_uint_eq(f.r.ncand, 2);
	}
	ck_assert_msg(cnt[0] >= 7250 && cnt[0] <= 7750, "%u", cnt[0]);
	fix_free(&f);
}
END_TEST

/* active / weight, summed over worker rows; ties rotate. */
START_TEST(t_least_conn)
{
	struct fix	f;
	struct treq	t;
	uint32_t	seen = 0;
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{'weight': 2}, {}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	set_active(&f, 0, 0, 2);
	set_active(&f, 1, 0, 2);	/* 4 / 2 = 2 */
	set_active(&f, 0, 1, 3);	/* 3 */
	set_active(&f, 1, 2, 1);	/* 1 */
	ck_assert_str_eq(route(&f, &t.rq), "2 0 1");
	set_active(&f, 1, 2, 5);
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* All equal: the first place rotates over every link. */
	set_active(&f, 0, 0, 0);
	set_active(&f, 1, 0, 0);
	set_active(&f, 0, 1, 0);
	set_active(&f, 1, 2, 0);
	for (i = 0; i < 3; i++)
		seen |= 1u << pick(&f, &t.rq);
	ck_assert_uint_eq(seen, 7);
	/* Huge counts do not overflow the comparison. */
	set_active(&f, 0, 0, UINT64_MAX);
	set_active(&f, 1, 0, UINT64_MAX);
	set_active(&f, 0, 1, UINT64_C(1) << 40);
	set_active(&f, 0, 2, (UINT64_C(1) << 40) + 1);
	ck_assert_str_eq(route(&f, &t.rq), "1 2 0");
	fix_free(&f);
}
END_TEST

/* Sessions that never end: active follows the weights, 3:1. */
START_TEST(t_least_conn_weights)
{
	struct fix	f;
	struct treq	t;
	uint32_t	k;
	uint64_t	a[2] = { 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{'weight': 3}, {'weight': 1}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10000; i++) {
		k = pick(&f, &t.rq);
		set_active(&f, 0, k, ++a[k]);
	}
	ck_assert_uint_eq(a[0], 7500);
	ck_assert_uint_eq(a[1], 2500);
	fix_free(&f);
}
END_TEST

/* Counters written by two other processes, in their own rows. */
START_TEST(t_least_conn_cross_worker)
{
	struct fix	f;
	struct treq	t;
	pid_t		pid;
	int		w, st, i;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections',"
	    " 'links': [{}, {}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	for (w = 0; w < 2; w++) {
		if ((pid = fork()) == 0) {
			/* Worker 0 holds 3 on link 0, worker 1 holds 2 on
			   link 0 and 4 on link 1: sums 5 and 4. */
			for (i = 0; i < (w == 0 ? 3 : 2); i++)
				atomic_fetch_add(&shm_ctr(f.shm, 2, 2,
				    (uint32_t)w, 0)->active, 1);
			for (i = 0; i < (w == 0 ? 0 : 4); i++)
				atomic_fetch_add(&shm_ctr(f.shm, 2, 2,
				    (uint32_t)w, 1)->active, 1);
			_exit(0);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	/* Neither row alone says so: link 1 is lighter only in sum. */
	ck_assert_str_eq(route(&f, &t.rq), "1 0");
	atomic_fetch_add(&shm_ctr(f.shm, 2, 2, 0, 1)->active, 2);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	fix_free(&f);
}
END_TEST

START_TEST(t_failover)
{
	struct fix	f;
	struct treq	t;
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'weight': 1}, {'weight': 9}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	for (i = 0; i < 10; i++)
		ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	atomic_store(&health(&f, 0)->down_until_ms, f.v.now_ms + 1);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	fix_free(&f);
}
END_TEST

START_TEST(t_fastest)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[4] = { 0, 0, 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'strategy': 'fastest', 'links':"
	    " [{}, {}, {}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	atomic_store(&health(&f, 0)->connect_ms_avg, 50);
	atomic_store(&health(&f, 1)->connect_ms_avg, 0);	/* unknown */
	atomic_store(&health(&f, 2)->connect_ms_avg, 20);
	atomic_store(&health(&f, 3)->connect_ms_avg, 20);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 4);
		ck_assert_uint_eq(f.r.cand[0], 1);
		ck_assert_uint_eq(f.r.cand[3], 0);
		cnt[f.r.cand[1]]++;
	}
	/* The tie takes turns. */
	ck_assert_uint_eq(cnt[2], 50);
	ck_assert_uint_eq(cnt[3], 50);
	fix_free(&f);
}
END_TEST

/* Strategy order within each tier, tiers in order. */
START_TEST(t_tiers_and_strategy)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[4] = { 0, 0, 0, 0 };
	int		i;

	fix_init(&f, "{'balancer': {'links': [{}, "
	    "{'matchers': [{'policy': 'prioritize', 'ports': [443]}]},"
	    " {'matchers': [{'policy': 'prioritize', 'ports': [443]}]},"
	    " {}]}}", 1);
	req(&t, "a", NULL, 443, NULL);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 4);
		ck_assert(f.r.cand[0] == 1 || f.r.cand[0] == 2);
		ck_assert(f.r.cand[1] == 1 || f.r.cand[1] == 2);
		cnt[f.r.cand[0]]++;
		cnt[f.r.cand[2]] += 10;
	}
	ck_assert_uint_eq(cnt[1], 50);
	ck_assert_uint_eq(cnt[2], 50);
	ck_assert_uint_eq(cnt[0], 500);
	ck_assert_uint_eq(cnt[3], 500);
	fix_free(&f);
}
END_TEST

/* Live state. */

START_TEST(t_max_connections)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'max_connections': 2}, {'max_connections': 1}]}}", 2);
	req(&t, "a", NULL, 80, NULL);
	set_active(&f, 0, 0, 1);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	set_active(&f, 1, 0, 1);	/* 2 over both workers */
	ck_assert_str_eq(route(&f, &t.rq), "1");
	set_active(&f, 1, 1, 1);
	ck_assert_str_eq(route(&f, &t.rq), "unavailable: no link available: "
	    "link0 (at max_connections), link1 (at max_connections)");
	fix_free(&f);
}
END_TEST

START_TEST(t_cooldown)
{
	struct fix	f;
	struct treq	t;
	uint64_t	now = 5000000;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'cooldown': 2}, {'max_fails': 0}, {}]}}", 1);
	f.v.now_ms = now;
	req(&t, "a", NULL, 80, NULL);
	atomic_store(&health(&f, 0)->down_until_ms, now + 1500);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	f.v.now_ms = now + 1500;
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* A scribble is cut to now + cooldown, and expires then. */
	f.v.now_ms = now;
	atomic_store(&health(&f, 0)->down_until_ms, UINT64_MAX);
	ck_assert_str_eq(route(&f, &t.rq), "1 2");
	ck_assert_uint_eq(atomic_load(&health(&f, 0)->down_until_ms),
	    now + 2000);
	f.v.now_ms = now + 2000;
	ck_assert_str_eq(route(&f, &t.rq), "0 1 2");
	/* max_fails 0: passive health off, the row is ignored. */
	f.v.now_ms = now;
	atomic_store(&health(&f, 0)->down_until_ms, 0);
	atomic_store(&health(&f, 1)->down_until_ms, now + 5000);
	atomic_store(&health(&f, 2)->down_until_ms, now + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	atomic_store(&health(&f, 0)->down_until_ms, now + 5000);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	fix_free(&f);
}
END_TEST

START_TEST(t_check_down)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'failover', 'links':"
	    " [{'check': {'target': '192.0.2.1:80'}}, {}]}}", 1);
	req(&t, "a", NULL, 80, NULL);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	atomic_store(&health(&f, 0)->check_down, 1);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	/* No check configured: nothing would bring it back, ignored. */
	atomic_store(&health(&f, 1)->check_down, 1);
	ck_assert_str_eq(route(&f, &t.rq), "1");
	atomic_store(&health(&f, 0)->check_down, 0);
	ck_assert_str_eq(route(&f, &t.rq), "0 1");
	fix_free(&f);
}
END_TEST

/* Allowed but down is 0x01; refused by every rule is 0x02. */
START_TEST(t_unavailable_vs_refused)
{
	struct fix	f;
	struct treq	t;

	/* wan refuses port 80; lte is allowed but down. */
	fix_init(&f, "{'balancer': {'links': [{'name': 'wan', 'matchers':"
	    " [{'policy': 'allow', 'ports': [25]}]},"
	    " {'name': 'lte', 'check': {'target': '[2001:db8::1]:443'}}]}}", 1);
	atomic_store(&health(&f, 1)->check_down, 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: lte (health check failing)");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)), "0");
	atomic_store(&health(&f, 1)->check_down, 0);
	atomic_store(&health(&f, 1)->down_until_ms, f.v.now_ms + 10);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: lte (cooling down)");
	fix_free(&f);
	fix_init(&f, "{'balancer': {'links': ["
	    "{'matchers': [{'ports': [25]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[0].matchers[0] "
	    "(forbid)");
	fix_free(&f);
}
END_TEST

/* No counters region (tests, tools): no live state, still routes. */
START_TEST(t_no_shm)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'strategy': 'least_connections', 'links':"
	    " [{'max_connections': 1}, {}]}}", 1);
	f.v.shm = NULL;
	policy_route(f.conf, req(&t, "a", NULL, 80, NULL), &f.v, &f.r);
	ck_assert_int_eq(f.r.verdict, SL_ROUTE_OK);
	ck_assert_uint_eq(f.r.ncand, 2);
	fix_free(&f);
}
END_TEST

/* PythTRT's README example routes exactly as its README says. */
START_TEST(t_pythtrt_example)
{
	struct fix	f;
	struct treq	t;
	static const uint16_t ports[] = { 80, 443, 8080 };
	size_t		i;

	fix_init(&f, "{'balancer': {'links': [{'protocol': 'socks5',"
	    " 'domain': '127.0.0.1', 'port': 1081, 'matchers': [{"
	    "'domains_re': ['\\\\.intranet.com$'], 'policy': 'forbid'}]},"
	    " {'matchers': [{'domains_re': ['\\\\.intranet.com$'],"
	    " 'policy': 'allow'}]}], 'matchers': [{'policy': 'allow',"
	    " 'ports': [80, 443, 8080]}]}}", 2);
	for (i = 0; i < 3; i++) {
		/* intranet.com through the direct link only ... */
		ck_assert_str_eq(route(&f, req(&t, "x.intranet.com", NULL,
		    ports[i], NULL)), "1");
		ck_assert_str_eq(route(&f, req(&t, "a.b.intranet.com", NULL,
		    ports[i], NULL)), "1");
		/* ... everything else through the socks5 link. */
		ck_assert_str_eq(route(&f, req(&t, "www.example.com", NULL,
		    ports[i], NULL)), "0");
		ck_assert_str_eq(route(&f, req(&t, NULL, "10.0.0.1",
		    ports[i], NULL)), "0");
		ck_assert_str_eq(route(&f, req(&t, NULL, "2001:db8::1",
		    ports[i], NULL)), "0");
	}
	/* Only ports 80, 443 and 8080 are admitted. */
	ck_assert_str_eq(route(&f, req(&t, "x.intranet.com", NULL, 22, NULL)),
	    "refused: balancer.matchers[0] (allow, not matched)");
	ck_assert_str_eq(route(&f, req(&t, "example.com", NULL, 8443, NULL)),
	    "refused: balancer.matchers[0] (allow, not matched)");
	fix_free(&f);
}
END_TEST

START_TEST(t_needs_addresses)
{
	static const struct {
		const char	*doc;
		int		 want;
	} t[] = {
		{ "{}", 0 },
		{ "{'balancer': {'matchers': [{'domains': ['a'],"
		    " 'clients': ['10.0.0.0/8']}]}}", 0 },
		{ "{'balancer': {'matchers': [{'ips': []}]}}", 0 },
		{ "{'balancer': {'matchers': [{'ips': ['10.0.0.0/8']}]}}", 1 },
		{ "{'balancer': {'links': [{}, {'matchers': [{},"
		    " {'ips': ['::1']}]}]}}", 1 },
	};
	struct sl_conf	*conf;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		conf = parse(t[i].doc);
		ck_assert_int_eq(policy_needs_addresses(conf), t[i].want);
		conf_free(conf);
	}
}
END_TEST

/* A hop (selectable false) is never a candidate, whatever the strategy. */
START_TEST(t_hops_never_chosen)
{
	static const char *const strat[] = { "round_robin", "random_link",
	    "least_connections", "failover", "fastest" };
	struct fix	f;
	struct treq	t;
	char		doc[512];
	size_t		i;
	int		k;

	for (i = 0; i < sizeof(strat) / sizeof(strat[0]); i++) {
		snprintf(doc, sizeof(doc), "{'balancer': {'strategy': '%s',"
		    " 'links': [{'name': 'hop', 'selectable': false,"
		    " 'weight': 1000},"
		    " {'protocol': 'socks5', 'domain': 'h', 'port': 1,"
		    " 'via': 'hop'}, {'name': 'wan'}]}}", strat[i]);
		fix_init(&f, doc, 2);
		req(&t, "a", NULL, 80, NULL);
		/* The hop would win every one of these on its own. */
		atomic_store(&health(&f, 1)->connect_ms_avg, 90);
		atomic_store(&health(&f, 2)->connect_ms_avg, 80);
		set_active(&f, 0, 1, 5);
		set_active(&f, 1, 2, 5);
		for (k = 0; k < 100; k++) {
			f.v.rnd = (uint32_t)k * 2654435761u;
			policy_route(f.conf, &t.rq, &f.v, &f.r);
			ck_assert_int_eq(f.r.verdict, SL_ROUTE_OK);
			ck_assert_uint_eq(f.r.ncand, 2);
			ck_assert_uint_ne(f.r.cand[0], 0);
			ck_assert_uint_ne(f.r.cand[1], 0);
		}
		fix_free(&f);
	}
}
END_TEST

/* Refusals and outages name only the links that could have carried it. */
START_TEST(t_hops_not_named)
{
	struct fix	f;
	struct treq	t;

	fix_init(&f, "{'balancer': {'links': [{'name': 'hop',"
	    " 'selectable': false, 'matchers': [{'ports': [80]}]},"
	    " {'name': 'px', 'protocol': 'socks5', 'domain': 'h', 'port': 1,"
	    " 'via': 'hop', 'matchers': [{'ports': [25]}]}]}}", 1);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)), "1");
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 25, NULL)),
	    "refused: no link may carry it: balancer.links[1].matchers[0] "
	    "(forbid)");
	atomic_store(&health(&f, 1)->down_until_ms, f.v.now_ms + 10);
	ck_assert_str_eq(route(&f, req(&t, "a", NULL, 80, NULL)),
	    "unavailable: no link available: px (cooling down)");
	/* A hop's matchers are never consulted, so never resolved for. */
	fix_free(&f);
	fix_init(&f, "{'balancer': {'links': [{'name': 'hop',"
	    " 'selectable': false, 'matchers': [{'ips': ['10.0.0.0/8']}]},"
	    " {'protocol': 'socks5', 'domain': 'h', 'port': 1, 'via': 'hop'}"
	    "]}}", 1);
	ck_assert_int_eq(policy_needs_addresses(f.conf), 0);
	fix_free(&f);
}
END_TEST

/* TcpRoute's README example: a race of the direct line and the proxy. */
START_TEST(t_tcproute_example)
{
	struct fix	f;
	struct treq	t;
	uint32_t	cnt[3] = { 0, 0, 0 };
	int		i;

	fix_init(&f, "{'log_level': 'INDO', 'port': 7070, 'nameservers':"
	    " 'system', 'nameservers_backup': ['8.8.8.8', '8.8.4.4',"
	    " '208.67.222.222', '208.67.220.220'], 'upstream': {'type':"
	    " 'multipath', 'list': [{'type': 'direct', 'source_ip': '0.0.0.0',"
	    " 'source_port': 0}, {'type': 'socks5', 'host': '127.0.0.1',"
	    " 'port': 5555, 'upstream': {'type': 'direct', 'source_ip':"
	    " '0.0.0.0', 'source_port': 0}}]}, 'IpBlacklist': []}", 2);
	req(&t, "www.example.com", NULL, 443, NULL);
	for (i = 0; i < 100; i++) {
		policy_route(f.conf, &t.rq, &f.v, &f.r);
		ck_assert_uint_eq(f.r.ncand, 2);
		cnt[f.r.cand[0]]++;
	}
	/* Both lines unknown: they take turns; the hop never runs alone. */
	ck_assert_uint_eq(cnt[0], 50);
	ck_assert_uint_eq(cnt[1], 50);
	ck_assert_uint_eq(cnt[2], 0);
	/* The proxy measured faster: it goes first. */
	atomic_store(&health(&f, 0)->connect_ms_avg, 40);
	atomic_store(&health(&f, 1)->connect_ms_avg, 30);
	ck_assert_str_eq(route(&f, &t.rq), "1 0");
	fix_free(&f);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc;

	tc = tcase_create("matchers");
	tcase_add_test(tc, t_match_empty);
	tcase_add_test(tc, t_match_ports);
	tcase_add_test(tc, t_match_domains_re);
	tcase_add_test(tc, t_match_redos);
	tcase_add_test(tc, t_match_domains);
	tcase_add_test(tc, t_match_domains_many);
	tcase_add_test(tc, t_match_ips);
	tcase_add_test(tc, t_match_ips_random);
	tcase_add_test(tc, t_match_clients);
	tcase_add_test(tc, t_match_all_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("policies");
	tcase_add_loop_test(tc, t_policy_row, 0,
	    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, t_bal_several);
	tcase_add_test(tc, t_link_deprioritize);
	tcase_add_test(tc, t_link_pri_and_depri);
	tcase_add_test(tc, t_link_several);
	tcase_add_test(tc, t_link_all_refuse);
	tcase_add_test(tc, t_why_truncated);
	tcase_add_test(tc, t_pythtrt_example);
	tcase_add_test(tc, t_needs_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("strategies");
	tcase_add_test(tc, t_rr_equal);
	tcase_add_test(tc, t_rr_weights);
	tcase_add_test(tc, t_rr_cross_worker);
	tcase_add_test(tc, t_random_weights);
	tcase_add_test(tc, t_least_conn);
	tcase_add_test(tc, t_least_conn_weights);
	tcase_add_test(tc, t_least_conn_cross_worker);
	tcase_add_test(tc, t_failover);
	tcase_add_test(tc, t_fastest);
	tcase_add_test(tc, t_tiers_and_strategy);
	tcase_add_test(tc, t_hops_never_chosen);
	tcase_add_test(tc, t_hops_not_named);
	tcase_add_test(tc, t_tcproute_example);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, t_max_connections);
	tcase_add_test(tc, t_cooldown);
	tcase_add_test(tc, t_check_down);
	tcase_add_test(tc, t_unavailable_vs_refused);
	tcase_add_test(tc, t_no_shm);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(policy_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
