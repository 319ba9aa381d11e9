/*
 * Private header of the check_policy executable (the "policy" suite),
 * built from check_policy.c (fixtures, main), check_policy_match.c
 * (matchers), check_policy_route.c (the policy table),
 * check_policy_strategy.c (strategies) and check_policy_state.c (live
 * link state).
 */
#ifndef SL_TESTS_CHECK_POLICY_H
#define SL_TESTS_CHECK_POLICY_H

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

struct fix {
	struct sl_conf		*conf;
	struct sl_shm		*shm;
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

/* Fixtures, in check_policy.c. */
struct sl_conf	*parse(const char *);
void		 fix_init(struct fix *, const char *, uint32_t);
void		 fix_free(struct fix *);
void		 sa_set(struct sockaddr_storage *, const char *);
const struct sl_request *req(struct treq *, const char *, const char *,
		    uint16_t, const char *);
void		 resolved(struct treq *, const char *);
const char	*route(struct fix *, const struct sl_request *);
uint32_t	 pick(struct fix *, const struct sl_request *);
void		 set_active(struct fix *, uint32_t, uint32_t, uint64_t);
struct sl_link_health *health(struct fix *, uint32_t);
void	cool(struct fix *, uint32_t worker, uint32_t link, uint64_t until);
int		 m1(const char *, const struct sl_request *);
uint32_t	 lcg(uint64_t *);

/* The suite's test cases, in the order check_policy.c adds them. */
TCase		*policy_matchers_tcase(void);	/* check_policy_match.c */
TCase		*policy_policies_tcase(void);	/* check_policy_route.c */
TCase		*policy_strategies_tcase(void);	/* check_policy_strategy.c */
TCase		*policy_state_tcase(void);	/* check_policy_state.c */

#endif
