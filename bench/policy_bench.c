/*
 * policy_bench: routing decisions per second on one core.
 *
 * The configuration has 10,000 domain-suffix rules and 1,000 CIDRs
 * spread over balancer and link matchers, a PythTRT-style pattern and
 * four links; the requests mix names that hit and miss those rules, IP
 * literals in and out of the prefixes, and names with resolved
 * addresses.  Each strategy runs N decisions (default 2,000,000) over
 * a real counters region.
 *
 * usage: policy_bench [decisions]
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/config.h"
#include "policy/counters.h"
#include "policy/select.h"

#define NDOMAINS	10000
#define NCIDRS		1000
#define NREQ		4096

struct breq {
	struct sl_request	 rq;
	struct sockaddr_in	 addr, client;
	struct sl_res_addr	 res[2];
	char			 host[64];
};

struct text {
	char	*s;
	size_t	 len, cap;
};

static void	put(struct text *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + 4096;
		if ((t->s = realloc(t->s, t->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	t->len += (size_t)n;
}

/* Rules from..to-1 of a list: d<i>.example, or 10.<i/256>.<i%256>.0/24. */
static void
put_list(struct text *t, const char *key, unsigned from, unsigned to)
{
	unsigned	i;

	put(t, "\"%s\": [", key);
	for (i = from; i < to; i++) {
		if (strcmp(key, "domains") == 0)
			put(t, "\"d%u.example\"", i);
		else
			put(t, "\"10.%u.%u.0/24\"", i / 256, i % 256);
		put(t, i + 1 < to ? ", " : "]");
	}
}

static struct sl_conf *
build_conf(const char *strategy)
{
	struct text	 t = { NULL, 0, 0 };
	struct sl_conf	*conf;
	char		 err[256];

	put(&t, "{\"balancer\": {\"matchers\": [");
	put(&t, "{\"policy\": \"allow\", \"ports\": [80, 443, \"8000-8999\"]},"
	    " {\"policy\": \"forbid\", ");
	put_list(&t, "domains", 0, NDOMAINS / 2);
	put(&t, "}, {\"policy\": \"forbid\", ");
	put_list(&t, "ips", 0, NCIDRS / 2);
	put(&t, "}], \"links\": [{\"matchers\": [{\"policy\": \"prioritize\", ");
	put_list(&t, "domains", NDOMAINS / 2, NDOMAINS);
	put(&t, "}, {\"policy\": \"forbid\", ");
	put_list(&t, "ips", NCIDRS / 2, NCIDRS);
	put(&t, "}]}, {\"weight\": 2, \"matchers\": [{\"domains_re\":"
	    " [\"\\\\.intranet\\\\.example$\"]}]}, {\"matchers\": [{\"policy\":"
	    " \"deprioritize\", \"clients\": [\"192.168.0.0/16\"]}]}, {}],");
	put(&t, " \"strategy\": \"%s\"}}", strategy);
	if (conf_parse(t.s, t.len, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "policy_bench: %s\n", err);
		exit(1);
	}
	free(t.s);
	return conf;
}

static uint32_t
next_rnd(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + 1442695040888963407u;
	return (uint32_t)(*s >> 33);
}

/* A mix: names in each list, missing names, literals, resolved names. */
static void
build_req(struct breq *b, unsigned i, uint64_t *seed)
{
	unsigned	r = next_rnd(seed), k = r % (NDOMAINS * 2);
	uint32_t	a = 0x0a000000u | (next_rnd(seed) & 0x0007ffffu);

	memset(b, 0, sizeof(*b));
	b->client.sin_family = AF_INET;
	b->client.sin_addr.s_addr = htonl(i % 3 ? 0x7f000001u : 0xc0a80105u);
	b->rq.client = (const struct sockaddr *)&b->client;
	b->rq.port = i % 16 == 0 ? 22 : i % 2 ? 443 : 8080;
	b->rq.resolved = b->res;
	switch (i % 4) {
	case 0:		/* an IP literal, often inside a prefix */
		b->addr.sin_family = AF_INET;
		b->addr.sin_addr.s_addr = htonl(a);
		b->rq.addr = (const struct sockaddr *)&b->addr;
		return;
	case 1:
		snprintf(b->host, sizeof(b->host), "host%u.intranet.example",
		    k);
		break;
	default:	/* half of these hit a list, at some depth */
		snprintf(b->host, sizeof(b->host), "%s%s.d%u.example",
		    k % 3 ? "www" : "a.b.cdn", k % 5 ? "" : ".x", k);
		break;
	}
	b->rq.host = b->host;
	if (i % 8 == 2) {
		b->res[0].family = 4;
		memcpy(b->res[0].addr, &b->addr.sin_addr, 4);
		a = htonl(a);
		memcpy(b->res[1].addr, &a, 4);
		b->res[1].family = 4;
		b->rq.nresolved = 2;
	}
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* verdicts[3] counts each verdict, first[4] each first candidate. */
static double
run(const char *strategy, const struct breq *reqs, unsigned long n,
    unsigned long *verdicts, unsigned long *first)
{
	struct sl_conf		*conf = build_conf(strategy);
	struct sl_route_view	 v;
	struct sl_route		 r;
	struct sl_shm		*sh = shm_alloc(1, (uint32_t)conf->nlinks);
	uint64_t		 seed = 1;
	unsigned long		 i;
	double			 t0, dt;

	if (sh == NULL) {
		perror("shm_alloc");
		exit(1);
	}
	v.shm = sh;
	v.now_ms = 1000;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		v.rnd = next_rnd(&seed);
		policy_route(conf, &reqs[i % NREQ].rq, &v, &r);
		verdicts[r.verdict]++;
		first[r.ncand > 0 ? r.cand[0] : 0] += r.ncand > 0;
	}
	dt = now_s() - t0;
	shm_free(sh);
	conf_free(conf);
	return (double)n / dt;
}

int
main(int argc, char *argv[])
{
	static const char *const strategies[] = { "round_robin",
	    "random_link", "least_connections", "failover", "fastest" };
	static struct breq	 reqs[NREQ];
	unsigned long		 n = 2000000, v[3], f[4];
	uint64_t		 seed = 99;
	unsigned		 i;
	double			 rate;

	if (argc > 1 && (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: policy_bench [decisions]\n");
		return 2;
	}
	for (i = 0; i < NREQ; i++)
		build_req(&reqs[i], i, &seed);
	printf("policy_bench: %d domain rules, %d CIDRs, 4 links, %lu "
	    "decisions per strategy, one core\n", NDOMAINS, NCIDRS, n);
	for (i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++) {
		memset(v, 0, sizeof(v));
		memset(f, 0, sizeof(f));
		rate = run(strategies[i], reqs, n, v, f);
		printf("%-18s %9.0f decisions/s  ok %lu (first link "
		    "%lu/%lu/%lu/%lu), refused %lu, unavailable %lu\n",
		    strategies[i], rate, v[0], f[0], f[1], f[2], f[3], v[1],
		    v[2]);
	}
	return 0;
}
