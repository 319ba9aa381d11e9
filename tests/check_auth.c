/*
 * Unit tests for worker/front/auth.c (auth_check) and the loader's rules
 * for `users` passwords: plain passwords compared exactly (right, wrong,
 * a prefix, a longer guess, empty against non-empty, a NUL inside),
 * names compared exactly, crypt(3) hashes (yescrypt, SHA-512) made with
 * mkpasswd(1), a stored hash crypt rejects, and a `$` password that is no
 * supported hash refused by conf_parse.
 *
 * Guesses are copied into heap blocks of exactly their length (xdup), so
 * an ASan build catches a read past what the client sent.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "worker/front/auth.h"

/* mkpasswd -m yescrypt wonderland */
#define ALICE_YESCRYPT	"$y$j9T$N6gdhQSe5r2cgEaseb7Te0$" \
			"m5bgPx6CEYMlQGIinukXgfNIXMqug4dVQz1xUrwcKAC"
/* mkpasswd -m sha-512 builder */
#define BOB_SHA512	"$6$LitM5Ad32kYDit1P$H0GXIr/wdna/JjPatvWD9uAqIMGNaImw" \
			"peH9ygphhwEFW9BAKrCgC4QicPJtxfyw0aiUGMkCKmXXm.32mXAtC1"

static struct sl_user		users[4];
static struct sl_listener	lis;

static void
add_user(const char *name, const char *password)
{
	struct sl_user	*u = &users[lis.nusers++];

	ck_assert_uint_le(lis.nusers, sizeof(users) / sizeof(users[0]));
	memset(u, 0, sizeof(*u));
	ck_assert_uint_lt(strlen(name), sizeof(u->name));
	ck_assert_uint_lt(strlen(password), sizeof(u->password));
	strcpy(u->name, name);
	strcpy(u->password, password);
	u->hashed = password[0] == '$';
}

static void
setup(void)
{
	memset(&lis, 0, sizeof(lis));
	strcpy(lis.name, "test");
	lis.users = users;
	lis.nusers = 0;
}

/* auth_check over exact-size heap copies of user and pass. */
static const struct sl_user *
check_n(const char *user, size_t ulen, const char *pass, size_t plen)
{
	char			*u = malloc(ulen > 0 ? ulen : 1);
	char			*p = malloc(plen > 0 ? plen : 1);
	const struct sl_user	*r;

	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_nonnull(p);
	memcpy(u, user, ulen);
	memcpy(p, pass, plen);
	r = auth_check(&lis, u, ulen, p, plen);
	free(u);
	free(p);
	return r;
}

static const struct sl_user *
check(const char *user, const char *pass)
{
	return check_n(user, strlen(user), pass, strlen(pass));
}

START_TEST(plain_right)
{
	add_user("alice", "wonderland");
	add_user("bob", "builder");
	ck_assert_ptr_eq(check("alice", "wonderland"), &users[0]);
	ck_assert_ptr_eq(check("bob", "builder"), &users[1]);
}
END_TEST

START_TEST(plain_wrong)
{
	add_user("alice", "wonderland");
	add_user("bob", "builder");
	ck_assert_ptr_null(check("alice", "Wonderland"));
	ck_assert_ptr_null(check("alice", "wonderlanD"));
	ck_assert_ptr_null(check("alice", "builder"));	/* bob's */
	ck_assert_ptr_null(check("bob", "wonderland"));	/* alice's */
	ck_assert_ptr_null(check("alice", "xxxxxxxxxx"));
}
END_TEST

START_TEST(plain_prefix_and_longer)
{
	add_user("alice", "wonderland");
	ck_assert_ptr_null(check("alice", "wonder"));
	ck_assert_ptr_null(check("alice", "w"));
	ck_assert_ptr_null(check("alice", "wonderland!"));
	ck_assert_ptr_null(check("alice", "wonderlandwonderland"));
	/* A NUL inside: only the bytes the client sent count. */
	ck_assert_ptr_null(check_n("alice", 5, "wonderland\0", 11));
	ck_assert_ptr_null(check_n("alice", 5, "wonder\0land", 11));
}
END_TEST

START_TEST(plain_empty)
{
	add_user("alice", "wonderland");
	ck_assert_ptr_null(check("alice", ""));
	ck_assert_ptr_null(check("", "wonderland"));
	ck_assert_ptr_null(check("", ""));
}
END_TEST

START_TEST(plain_longest)
{
	char	pw[256], guess[256];

	memset(pw, 'p', 255);
	pw[255] = '\0';
	add_user("alice", pw);
	ck_assert_ptr_eq(check("alice", pw), &users[0]);
	memcpy(guess, pw, sizeof(guess));
	guess[254] = 'q';
	ck_assert_ptr_null(check("alice", guess));
	guess[254] = '\0';
	ck_assert_ptr_null(check("alice", guess));	/* 254 bytes */
}
END_TEST

START_TEST(unknown_user)
{
	add_user("alice", "wonderland");
	ck_assert_ptr_null(check("mallory", "wonderland"));
	ck_assert_ptr_null(check("alic", "wonderland"));	/* a prefix */
	ck_assert_ptr_null(check("alicee", "wonderland"));
	ck_assert_ptr_null(check("Alice", "wonderland"));
	ck_assert_ptr_null(check_n("alice\0", 6, "wonderland", 10));
}
END_TEST

START_TEST(no_users)
{
	ck_assert_ptr_null(check("alice", "wonderland"));
}
END_TEST

START_TEST(yescrypt)
{
	add_user("bob", "builder");
	add_user("alice", ALICE_YESCRYPT);
	ck_assert_int_eq(users[1].hashed, 1);
	ck_assert_ptr_eq(check("alice", "wonderland"), &users[1]);
	ck_assert_ptr_null(check("alice", "wonderlan"));
	ck_assert_ptr_null(check("alice", "wonderland "));
	ck_assert_ptr_null(check("alice", ""));
	ck_assert_ptr_null(check_n("alice", 5, "wonderland\0", 11));
	/* The hash itself is not the password. */
	ck_assert_ptr_null(check("alice", ALICE_YESCRYPT));
	ck_assert_ptr_eq(check("bob", "builder"), &users[0]);
}
END_TEST

START_TEST(sha512)
{
	add_user("bob", BOB_SHA512);
	ck_assert_ptr_eq(check("bob", "builder"), &users[0]);
	ck_assert_ptr_null(check("bob", "Builder"));
	ck_assert_ptr_null(check("bob", "builde"));
	ck_assert_ptr_null(check("bob", "builderr"));
	ck_assert_ptr_null(check("bob", ""));
	ck_assert_ptr_null(check("bob", BOB_SHA512));
}
END_TEST

/* A wrong name against a hashed first account still costs a hash. */
START_TEST(unknown_user_hashed)
{
	add_user("alice", ALICE_YESCRYPT);
	ck_assert_ptr_null(check("mallory", "wonderland"));
}
END_TEST

/* Stored lines crypt(3) rejects: nothing matches, not even themselves. */
START_TEST(hash_rejected)
{
	static const char *bad[] = {
		"$y$", "$y$j9T$", "$9$nosuchmethod$abc", "$6$", "$",
		"$y$j9T$N6gdhQSe5r2cgEaseb7Te0$", "*0", "$1",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		add_user("alice", bad[i]);
		users[0].hashed = 1;
		ck_assert_msg(check("alice", bad[i]) == NULL, "%s", bad[i]);
		ck_assert_msg(check("alice", "") == NULL, "%s", bad[i]);
		ck_assert_msg(check("alice", "wonderland") == NULL, "%s",
		    bad[i]);
		ck_assert_msg(check("alice", "*0") == NULL, "%s", bad[i]);
	}
}
END_TEST

/* A password longer than crypt's guess buffer never matches a hash. */
START_TEST(hash_long_guess)
{
	char	guess[300];

	add_user("alice", ALICE_YESCRYPT);
	memset(guess, 'w', sizeof(guess) - 1);
	guess[sizeof(guess) - 1] = '\0';
	ck_assert_ptr_null(check("alice", guess));
}
END_TEST

static int
parse(const char *password, struct sl_conf **conf, char *err, size_t len)
{
	char	text[1024];
	int	n;

	n = snprintf(text, sizeof(text), "{\"listeners\": [{\"kind\": "
	    "\"socks5\", \"listen\": \"127.0.0.1:1080\", \"users\": "
	    "[{\"username\": \"alice\", \"password\": \"%s\"}]}]}", password);
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	*conf = NULL;
	return conf_parse(text, (size_t)n, conf, err, len);
}

START_TEST(config_hashes)
{
	struct sl_conf	*conf;
	char		 err[512];

	ck_assert_msg(parse(ALICE_YESCRYPT, &conf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(conf->listeners[0].nusers, 1);
	ck_assert_int_eq(conf->listeners[0].users[0].hashed, 1);
	ck_assert_ptr_nonnull(auth_check(&conf->listeners[0], "alice", 5,
	    "wonderland", 10));
	conf_free(conf);
	ck_assert_msg(parse(BOB_SHA512, &conf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(conf->listeners[0].users[0].hashed, 1);
	ck_assert_ptr_nonnull(auth_check(&conf->listeners[0], "alice", 5,
	    "builder", 7));
	conf_free(conf);
	ck_assert_msg(parse("wonderland", &conf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(conf->listeners[0].users[0].hashed, 0);
	ck_assert_ptr_nonnull(auth_check(&conf->listeners[0], "alice", 5,
	    "wonderland", 10));
	conf_free(conf);
}
END_TEST

START_TEST(config_bad_hash)
{
	static const char *bad[] = {
		"$", "$$", "$9$nosuchmethod$abc", "$secret", "$ab",
		"$1$x",		/* MD5: legacy, refused */
	};
	struct sl_conf	*conf;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &conf, err, sizeof(err)) == -1,
		    "%s loaded", bad[i]);
		ck_assert_ptr_null(conf);
		ck_assert_msg(strstr(err, "listeners[0].users[0].password: "
		    "starts with \"$\"") == err, "%s: %s", bad[i], err);
	}
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("plain");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, plain_right);
	tcase_add_test(tc, plain_wrong);
	tcase_add_test(tc, plain_prefix_and_longer);
	tcase_add_test(tc, plain_empty);
	tcase_add_test(tc, plain_longest);
	tcase_add_test(tc, unknown_user);
	tcase_add_test(tc, no_users);
	suite_add_tcase(s, tc);

	tc = tcase_create("hashed");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, yescrypt);
	tcase_add_test(tc, sha512);
	tcase_add_test(tc, unknown_user_hashed);
	tcase_add_test(tc, hash_rejected);
	tcase_add_test(tc, hash_long_guess);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_hashes);
	tcase_add_test(tc, config_bad_hash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(auth_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
