/*
 * Client credentials against a listener's `users`, for every front-end
 * that authenticates (SOCKS5's RFC 1929, HTTP's Proxy-Authorization).
 */
#ifndef SL_FRONT_AUTH_H
#define SL_FRONT_AUTH_H

#include <stddef.h>

#include "../../policy/config.h"

/*
 * The account whose name and password match, or NULL.  Plain passwords
 * are compared in constant time; hashed ones through crypt(3).  A wrong
 * name costs about as long as a wrong password, so timing does not tell
 * which names exist.
 */
const struct sl_user *auth_check(const struct sl_listener *,
	    const char *user, size_t ulen, const char *pass, size_t plen);

#endif
