/*
 * The `sni` front-end: TLS routed by the server name in the client's
 * ClientHello, without terminating TLS (tcprouter's TLS entrypoint,
 * sniproxy, HAProxy's req.ssl_sni).
 *
 * The hello is read into a buffer lent to the session, at most one full
 * record and its header (TLS_HELLO_MAX) and for at most the listener's
 * `timeout`; the parser (proto/tls_hello.c) copes with hellos split
 * across segments and records.  Every byte read goes to the backend
 * first, unchanged: the backend completes the handshake with the client.
 *
 * No server_name, or not TLS at all: the CATCH_ALL service, else closed.
 * A name no service serves: a fatal unrecognized_name alert, then closed,
 * as a TLS server without that name would answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../proto/tls_hello.h"
#include "front.h"

struct sni_state {
	struct tls_hello	 hello;
	const char		*alpn[TLS_ALPN_MAX];	/* for matchers */
	uint8_t			 alert[TLS_ALERT_LEN];
	uint8_t			 buf[TLS_HELLO_MAX];
};

static void
sni_start(struct session *s)
{
	struct sni_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;		/* sni_input closes */
	}
	s->fstate = st;
	session_set_input(s, st->buf, sizeof(st->buf));
}

static void
sni_no_service(struct session *s, struct sni_state *st, int tls)
{
	const char	*name = st->hello.sni;

	if (tls) {
		tls_alert(st->alert, 112);	/* unrecognized_name */
		if (session_send(s, st->alert, sizeof(st->alert)) == -1)
			session_close(s, "no service");
	}
	session_finish(s, "no service", "%s%s%s", name[0] ? "server name " :
	    "no server name", name, tls ? "" : " (not TLS)");
}

static void
sni_input(struct session *s)
{
	struct sni_state	*st = s->fstate;
	enum tls_hello_rc	 rc;
	size_t			 i;

	if (st == NULL) {
		session_close(s, "no memory");
		return;
	}
	rc = tls_hello_parse(s->in, s->inlen, &st->hello);
	switch (rc) {
	case TLS_HELLO_MORE:
		return;		/* the session reads on, or times out */
	case TLS_HELLO_BAD:
		session_finish(s, "bad client", "ClientHello: %s",
		    st->hello.why);
		return;
	case TLS_HELLO_NOT_TLS:
		st->hello.sni[0] = '\0';
		log_debug("session %llu: not TLS (%s): catch-all",
		    (unsigned long long)s->id, st->hello.why);
		if (session_connect_service(s, "") == -1)
			sni_no_service(s, st, 0);
		return;
	case TLS_HELLO_OK:
		for (i = 0; i < st->hello.nalpn; i++)
			st->alpn[i] = st->hello.alpn[i];
		s->hs->alpn = st->alpn;
		s->hs->nalpn = st->hello.nalpn;
		if (session_connect_service(s, st->hello.sni) == -1)
			sni_no_service(s, st, 1);
		return;
	}
}

/* The backend speaks for itself: nothing to add either way. */
static void
sni_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)s;
	(void)bound;
}

static void
sni_reply_err(struct session *s, enum sl_conn_err err)
{
	(void)s;
	(void)err;
}

static void
sni_release(struct session *s)
{
	free(s->fstate);
	s->fstate = NULL;
	if (s->hs != NULL) {		/* routing is over */
		s->hs->alpn = NULL;
		s->hs->nalpn = 0;
	}
}

const struct front_ops front_sni = {
	.name = "sni",
	.ignores_bound = 1,
	.start = sni_start,
	.input = sni_input,
	.reply_ok = sni_reply_ok,
	.reply_err = sni_reply_err,
	.release = sni_release,
};
