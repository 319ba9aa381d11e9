/*
 * Password checks.  crypt_rn() needs no heap of ours and no file: the
 * hash's own parameters decide the cost (yescrypt, SHA-512 crypt...).
 */
#include <crypt.h>
#include <string.h>

#include "auth.h"

/* Compare a and b, both of length n, in time that depends only on n. */
static int
ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Constant time over the stored password's length, not the guess's. */
static int
plain_equal(const char *stored, const char *pass, size_t plen)
{
	size_t	slen = strlen(stored);
	char	guess[sizeof(((struct sl_user *)0)->password)];

	memset(guess, 0, sizeof(guess));
	memcpy(guess, pass, plen < slen ? plen : slen);
	return ct_equal(stored, guess, slen) & (plen == slen);
}

static int
hash_equal(const char *stored, const char *pass, size_t plen)
{
	struct crypt_data	cd;
	char			guess[256];
	const char		*h;
	int			ok;

	if (plen >= sizeof(guess) || memchr(pass, '\0', plen) != NULL)
		return 0;
	memcpy(guess, pass, plen);
	guess[plen] = '\0';
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(guess, stored, &cd);
	ok = h != NULL && h[0] != '*' && strlen(h) == strlen(stored) &&
	    ct_equal(h, stored, strlen(stored));
	explicit_bzero(guess, sizeof(guess));
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

const struct sl_user *
auth_check(const struct sl_listener *l, const char *user, size_t ulen,
    const char *pass, size_t plen)
{
	const struct sl_user	*u;
	size_t			 i;

	for (i = 0; i < l->nusers; i++) {
		u = &l->users[i];
		if (strlen(u->name) != ulen || memcmp(u->name, user, ulen) != 0)
			continue;
		if (u->hashed ? hash_equal(u->password, pass, plen) :
		    plain_equal(u->password, pass, plen))
			return u;
		return NULL;
	}
	/*
	 * No such name: spend the time a real account would have, a hashed
	 * one when there is one (the dearer check), so timing does not tell.
	 */
	for (i = 0, u = NULL; i < l->nusers && (u == NULL || !u->hashed); i++)
		if (u == NULL || l->users[i].hashed)
			u = &l->users[i];
	if (u != NULL)
		(void)(u->hashed ? hash_equal(u->password, pass, plen) :
		    plain_equal(u->password, pass, plen));
	return NULL;
}
