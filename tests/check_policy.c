/*
 * Routing engine tests: every matcher kind, every row of the policy
 * table (select.h) on the balancer and on links, every strategy with its
 * weights, the live state (max_connections, cool-down, health check)
 * read from a real shared mapping, refusal texts, and PythTRT's README
 * example routing as its README says.
 *
 * Documents use single quotes; parse() turns them into JSON.
 *
 * This file holds the fixtures the other parts share and main(); the
 * tests are in check_policy_match.c, check_policy_route.c,
 * check_policy_strategy.c and check_policy_state.c.
 */
#include "check_policy.h"

/* Fixtures. */

struct sl_conf *
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

void
fix_init(struct fix *f, const char *sq, uint32_t nw)
{
	memset(f, 0, sizeof(*f));
	f->conf = parse(sq);
	f->nw = nw;
	f->shm = shm_alloc(nw, (uint32_t)f->conf->nlinks);
	ck_assert_ptr_nonnull(f->shm);
	f->shm->self = 0;	/* routing as worker 0 */
	f->v.shm = f->shm;
	f->v.rnd = 12345;
	f->v.now_ms = 1000000;
}

void
fix_free(struct fix *f)
{
	shm_free(f->shm);
	conf_free(f->conf);
}

void
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
const struct sl_request *
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
void
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
const char *
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
uint32_t
pick(struct fix *f, const struct sl_request *rq)
{
	policy_route(f->conf, rq, &f->v, &f->r);
	ck_assert_int_eq(f->r.verdict, SL_ROUTE_OK);
	return f->r.cand[0];
}

void
set_active(struct fix *f, uint32_t worker, uint32_t link, uint64_t n)
{
	atomic_store(&shm_ctr(f->shm, worker, link)->active, n);
}

/* Worker 0's health row of a link. */
struct sl_link_health *
health(struct fix *f, uint32_t link)
{
	return shm_health(f->shm, 0, link);
}

/* Worker w failed on link once and cooled it down until `until`. */
void
cool(struct fix *f, uint32_t w, uint32_t link, uint64_t until)
{
	struct sl_link_health *h = shm_health(f->shm, w, link);

	atomic_store(&h->fails, 1);
	atomic_store(&h->streak_ms, 1);
	atomic_store(&h->down_until_ms, until);
}

/* matcher_match() on the balancer's first matcher. */
int
m1(const char *sq, const struct sl_request *rq)
{
	struct sl_conf	*conf = parse(sq);
	int		 rc = matcher_match(&conf->matchers[0], rq);

	conf_free(conf);
	return rc;
}

uint32_t
lcg(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + 1442695040888963407u;
	return (uint32_t)(*s >> 33);
}

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");

	suite_add_tcase(s, policy_matchers_tcase());
	suite_add_tcase(s, policy_policies_tcase());
	suite_add_tcase(s, policy_strategies_tcase());
	suite_add_tcase(s, policy_state_tcase());
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
