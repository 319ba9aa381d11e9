/*
 * The control messages (CTL_QUERY, CTL_ROW, CTL_DONE, CTL_ALLOW) and
 * ACCESS: fixtures for the shared worst-case and random tests, and the
 * value checks a hostile worker or a careless master meets.
 */
#include "check_codec.h"

static void
fill_str(char *dst, size_t max, int big, const char *small)
{
	size_t	i;

	if (!big) {
		snprintf(dst, max + 1, "%s", small);
		return;
	}
	for (i = 0; i < max; i++)
		dst[i] = (char)('a' + i % 26);
	dst[max] = '\0';
}

static void
fill_cidr(struct sl_ctl_cidr *c, int big)
{
	c->family = big ? 6 : 4;
	memset(c->addr, big ? 0xfe : 0x0a, big ? 16 : 4);
	c->prefix = big ? 128 : 8;
}

void
fill_ctl(struct sl_msg *m, unsigned type, int big)
{
	uint32_t	i;

	switch (type) {
	case SL_MSG_CTL_QUERY:
		m->u.ctl_query.op = big ? SL_CTL_KILL : SL_CTL_LIST;
		m->u.ctl_query.after = big ? UINT64_MAX : 17;
		m->u.ctl_query.max = big ? SL_CTL_MAX_ROWS : 10;
		m->u.ctl_query.serial = big ? UINT64_MAX : 0;
		m->u.ctl_query.listener = big ? UINT32_MAX : 1;
		m->u.ctl_query.link = big ? UINT32_MAX : 2;
		fill_cidr(&m->u.ctl_query.client, big);
		fill_str(m->u.ctl_query.target, SL_CTL_TARGET_MAX, big,
		    "example");
		fill_str(m->u.ctl_query.user, SL_CTL_USER_MAX, big, "alice");
		break;
	case SL_MSG_CTL_ROW:
		m->u.ctl_row.serial = big ? UINT64_MAX : 5;
		m->u.ctl_row.listener = big ? UINT32_MAX : 0;
		m->u.ctl_row.link = big ? UINT32_MAX : 1;
		m->u.ctl_row.state = big ? UINT8_MAX : 4;
		m->u.ctl_row.family = big ? 6 : 4;
		memset(m->u.ctl_row.addr, 0x7f, big ? 16 : 4);
		m->u.ctl_row.port = big ? UINT16_MAX : 40000;
		m->u.ctl_row.up = m->u.ctl_row.down = big ? UINT64_MAX : 100;
		m->u.ctl_row.age_ms = m->u.ctl_row.idle_ms = big ?
		    UINT64_MAX : 1500;
		fill_str(m->u.ctl_row.target, SL_CTL_TARGET_MAX, big,
		    "example.org:443");
		fill_str(m->u.ctl_row.user, SL_CTL_USER_MAX, big, "");
		break;
	case SL_MSG_CTL_DONE:
		m->u.ctl_done.matched = big ? UINT32_MAX : 3;
		m->u.ctl_done.killed = big ? UINT32_MAX : 0;
		m->u.ctl_done.more = big ? 1 : 0;
		break;
	case SL_MSG_CTL_ALLOW:
		m->u.ctl_allow.listener = big ? SL_MAX_LISTENERS - 1 : 0;
		m->u.ctl_allow.n = big ? SL_CTL_MAX_ALLOW : 2;
		for (i = 0; i < m->u.ctl_allow.n; i++)
			fill_cidr(&m->u.ctl_allow.cidrs[i], big || i == 1);
		break;
	case SL_MSG_ACCESS:
		m->u.access.serial = big ? UINT64_MAX : 9;
		m->u.access.listener = big ? UINT32_MAX : 0;
		m->u.access.link = big ? UINT32_MAX : 0;
		m->u.access.family = big ? 6 : 4;
		memset(m->u.access.addr, 0x7f, big ? 16 : 4);
		m->u.access.port = big ? UINT16_MAX : 5000;
		m->u.access.up = m->u.access.down = big ? UINT64_MAX : 64;
		m->u.access.ms = big ? UINT64_MAX : 12;
		fill_str(m->u.access.front, SL_CTL_FRONT_MAX, big, "socks5");
		fill_str(m->u.access.target, SL_CTL_TARGET_MAX, big,
		    "127.0.0.1:80");
		fill_str(m->u.access.user, SL_CTL_USER_MAX, big, "");
		fill_str(m->u.access.outcome, SL_CTL_OUTCOME_MAX, big, "done");
		fill_str(m->u.access.detail, SL_CTL_DETAIL_MAX, big, "");
		break;
	}
}

/* Values a peer must not get through, on either side of the codec. */
START_TEST(t_ctl_bad_values)
{
	struct sl_msg	m;
	char		buf[SL_IPC_MAX_FRAME];

	fill(&m, SL_MSG_CTL_QUERY, 0);
	m.u.ctl_query.op = SL_CTL_OP_MAX;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_QUERY, 0);
	m.u.ctl_query.max = SL_CTL_MAX_ROWS + 1;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_QUERY, 0);
	m.u.ctl_query.client.prefix = 33;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_ROW, 0);
	m.u.ctl_row.family = 0;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_ALLOW, 0);
	m.u.ctl_allow.cidrs[1].family = 5;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_ALLOW, 0);
	m.u.ctl_allow.listener = SL_MAX_LISTENERS;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, SL_MSG_CTL_DONE, 0);
	m.u.ctl_done.more = 2;
	ck_assert_int_eq(ipc_body_encode(&m, buf, sizeof(buf)), -1);
}
END_TEST

/* Who may send them: a worker never asks, the master never answers. */
START_TEST(t_ctl_senders)
{
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_CTL_QUERY].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_CTL_ALLOW].from, SL_FROM_MASTER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_CTL_ROW].from, SL_FROM_WORKER);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_CTL_DONE].from,
	    SL_FROM_WORKER | SL_FROM_TUNNEL);
	ck_assert_uint_eq(sl_msg_specs[SL_MSG_ACCESS].from, SL_FROM_WORKER);
}
END_TEST

Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("ctl");
	TCase	*tc = tcase_create("ctl");

	tcase_add_test(tc, t_ctl_bad_values);
	tcase_add_test(tc, t_ctl_senders);
	suite_add_tcase(s, tc);
	return s;
}
