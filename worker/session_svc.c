/*
 * Sessions routed by name (sni and host listeners) and the PROXY
 * protocol on either side of any session.
 *
 * A service may have several addresses.  They are put in the service's
 * strategy order once, when the session starts (addresses cooling down
 * after a failure go last); each address is dialed over the links the
 * policy allows for it, and only when every link failed to reach it is
 * the next address tried.  The session keeps copies of what it needs:
 * the registry may replace the table it came from at any moment.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "front/front.h"
#include "proto/proxy_wire.h"
#include "service.h"
#include "worker.h"

#define BACKEND_COOLDOWN_MS	10000
#define COOL_SLOTS		256

struct session_svc {
	char			 name[SL_MAX_NAME + 1];	/* for the log */
	uint16_t		 only[SL_SVC_MAX_LINKS];
	size_t			 nonly;
	const struct sl_tap	*taps;		/* the config service's */
	size_t			 ntaps;
	size_t			 n, i;		/* targets, the one dialed */
	struct sl_target	 t[];
};

/*
 * Addresses that failed recently, per worker: direct-mapped by a hash
 * of the target, so a collision only forgets a cool-down early.
 */
static struct {
	uint64_t	key;
	uint64_t	until;
} cool[COOL_SLOTS];

static uint64_t
target_key(const struct sl_target *t)
{
	char		 buf[SL_MAX_NAME + 16];
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	sl_target_fmt(t, buf, sizeof(buf));
	for (i = 0; buf[i] != '\0'; i++) {
		h ^= (unsigned char)buf[i];
		h *= 0x100000001b3ULL;
	}
	return h | 1;
}

static int
target_cooling(const struct sl_target *t, uint64_t now)
{
	uint64_t	k = target_key(t);

	return cool[k % COOL_SLOTS].key == k && cool[k % COOL_SLOTS].until > now;
}

static void
target_failed(const struct sl_target *t)
{
	uint64_t	k = target_key(t);

	cool[k % COOL_SLOTS].key = k;
	cool[k % COOL_SLOTS].until = mono_ms() + BACKEND_COOLDOWN_MS;
}

static int
backend_target(const struct sl_service *sv, const struct sl_backend *b,
    uint16_t port, struct sl_target *t)
{
	memset(t, 0, sizeof(*t));
	t->proto = SL_L4_TCP;
	if (b->port != 0)
		port = b->port;
	if (b->host != NULL)
		return sl_target_set_name(t, b->host, strlen(b->host), port);
	sl_target_set_addr(t, &b->addr.sa, b->addr.sa.sa_family == AF_INET ?
	    sizeof(b->addr.sin) : sizeof(b->addr.sin6));
	(void)sv;
	t->port = port;
	if (t->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&t->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&t->addr)->sin6_port = htons(port);
	return 0;
}

/* The strategy's order, then the addresses cooling down. */
static void
order_targets(struct session_svc *ss, uint8_t strategy)
{
	static uint32_t		 rr;
	struct sl_target	 tmp;
	uint64_t		 now = mono_ms();
	size_t			 i, j, start = 0, k = 0;

	if (ss->n < 2)
		return;
	if (strategy == SL_STRAT_ROUND_ROBIN)
		start = rr++ % ss->n;
	else if (strategy == SL_STRAT_RANDOM)
		start = arc4random_uniform((uint32_t)ss->n);
	for (i = 0; i < start; i++) {		/* rotate left by start */
		tmp = ss->t[0];
		memmove(&ss->t[0], &ss->t[1], (ss->n - 1) * sizeof(tmp));
		ss->t[ss->n - 1] = tmp;
	}
	/* Stable partition: healthy addresses first. */
	for (i = 0; i < ss->n; i++) {
		if (target_cooling(&ss->t[i], now))
			continue;
		tmp = ss->t[i];
		for (j = i; j > k; j--)
			ss->t[j] = ss->t[j - 1];
		ss->t[k++] = tmp;
	}
}

int
session_connect_service(struct session *s, const char *name)
{
	const struct sl_service	*sv;
	struct session_svc	*ss;
	uint16_t		 port;
	size_t			 n, i;

	if (session_limited(s))
		return 0;
	if ((sv = service_lookup(name, 1)) == NULL)
		return -1;
	port = s->listener->kind == SL_LISTEN_HOST ? sv->httpport :
	    sv->tlsport;
	n = sv->nbackends > 0 ? sv->nbackends : 1;
	if (sv->nbackends == 0 && name[0] == '\0')
		return -1;	/* CATCH_ALL without addr: nowhere to go */
	if ((ss = calloc(1, sizeof(*ss) + n * sizeof(ss->t[0]))) == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	for (i = 0; i < sv->nbackends; i++)
		if (backend_target(sv, &sv->backends[i], port,
		    &ss->t[ss->n]) == 0)
			ss->n++;
	if (sv->nbackends == 0 && sl_target_set_name(&ss->t[ss->n++], name,
	    strlen(name), port) == -1)
		ss->n--;
	if (ss->n == 0) {
		free(ss);
		return -1;
	}
	snprintf(ss->name, sizeof(ss->name), "%s", sv->name);
	ss->nonly = sv->nlinks;
	if (sv->nlinks > 0)	/* links is NULL then: memcpy's UB */
		memcpy(ss->only, sv->links, sv->nlinks * sizeof(ss->only[0]));
	/* Only config services have taps: they live as long as the conf. */
	ss->taps = sv->taps;
	ss->ntaps = sv->ntaps;
	order_targets(ss, sv->strategy);
	session_svc_free(s);
	s->svc = ss;
	if (sv->proxy_protocol != 0)
		s->pp_out = sv->proxy_protocol;
	session_detail(s, "service %s", sv->name);
	*s->target = ss->t[0];
	session_connect(s);
	return 0;
}

int
session_next_backend(struct session *s)
{
	struct session_svc	*ss = s->svc;

	if (ss == NULL)
		return 0;
	target_failed(&ss->t[ss->i]);
	if (ss->i + 1 >= ss->n)
		return 0;
	ss->i++;
	log_debug("session %llu: %s", (unsigned long long)s->id,
	    session_detail_text(s));
	*s->target = ss->t[ss->i];
	s->link = -1;
	session_connect(s);
	return 1;
}

/* The log line names the service that routed the session. */
void
session_svc_connected(struct session *s)
{
	if (s->svc != NULL)
		session_detail(s, "service %s", s->svc->name);
}

const struct sl_tap *
session_service_taps(const struct session *s, size_t *n)
{
	*n = s->svc != NULL ? s->svc->ntaps : 0;
	return *n > 0 ? s->svc->taps : NULL;
}

const uint16_t *
session_service_links(const struct session *s, size_t *n)
{
	if (s->svc == NULL || s->svc->nonly == 0) {
		*n = 0;
		return NULL;
	}
	*n = s->svc->nonly;
	return s->svc->only;
}

void
session_svc_free(struct session *s)
{
	free(s->svc);
	s->svc = NULL;
}

int
session_pp_read(struct session *s)
{
	const struct sl_listener	*l = s->listener;
	struct proxy_hdr		 h;
	const char			*why = NULL;
	char				 a[SL_ADDRSTRLEN];
	long				 n;

	n = proxy_parse(s->in, s->inlen, &h, &why);
	if (n == 0 && s->inlen < PROXY_MAX)
		return 0;
	if (n <= 0) {
		session_detail(s, "PROXY header: %s", why != NULL ? why :
		    "too long");
		session_close(s, "bad client");
		return -1;
	}
	if (!h.local) {
		socklen_t len = h.srclen;

		/* The header's source (IPv4 or IPv6), unmapped. */
		sockaddr_unmap(&h.src, &len);
		if (h.src.ss_family != AF_INET && h.src.ss_family != AF_INET6) {
			session_detail(s, "PROXY header: not an IP source");
			session_close(s, "bad client");
			return -1;
		}
		memcpy(&s->client, &h.src, h.src.ss_family == AF_INET ?
		    sizeof(s->client.sin) : sizeof(s->client.sin6));
		/* The listener's client list is about the real client. */
		if (l->nclients > 0 && !policy_cidrs_match(l->clients,
		    l->nclients, (const struct sockaddr *)&s->client)) {
			session_detail(s, "%s is not in listener %s's clients",
			    sockaddr_fmt((const void *)&s->client, a,
			    sizeof(a)), l->name);
			session_close(s, "refused");
			return -1;
		}
	}
	/* The limits count the real client (the balancer's, for LOCAL). */
	(void)limits_admit(l, (const struct sockaddr *)&s->client, &s->lim);
	s->pp_in = 0;
	session_consume(s, (size_t)n);
	return 1;
}

const void *
session_pp_early(struct session *s, const void *early, size_t nearly,
    size_t *out_len, void **freeme)
{
	struct sockaddr_storage	 dst;
	socklen_t		 dlen = sizeof(dst);
	uint8_t			*buf;
	size_t			 n;

	*freeme = NULL;
	*out_len = nearly;
	if (s->pp_out == 0)
		return early;
	if (getsockname(s->cfd, (struct sockaddr *)&dst, &dlen) == -1)
		memset(&dst, 0, sizeof(dst));
	sockaddr_unmap(&dst, &dlen);
	if ((buf = malloc(PROXY_BUILD_MAX + nearly)) == NULL)
		return NULL;
	n = proxy_build(s->pp_out, (const struct sockaddr *)&s->client,
	    (const struct sockaddr *)&dst, buf, PROXY_BUILD_MAX);
	if (nearly > 0)
		memcpy(buf + n, early, nearly);
	*out_len = n + nearly;
	*freeme = buf;
	return buf;
}
