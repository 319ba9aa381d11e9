/*
 * The control socket (sluicectl's end in the master): a UNIX stream
 * socket, peers checked by SO_PEERCRED, requests and answers as
 * length-prefixed JSON (README "Control protocol").
 *
 * A control client is one connection.  It has at most one request in
 * flight: the next is read only once the answer is written, so a client
 * that does not read its answers cannot make the master queue more than
 * one answer (a page) for it.  Handlers answer now (ctl_reply,
 * ctl_fail) or later, for requests that wait on workers or a reload: they
 * keep the client's id and look it up again with ctl_client_find(), as
 * the client may be gone meanwhile.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define CTL_MAX_REQUEST		(64 * 1024)
#define CTL_MAX_ANSWER		(4 * 1024 * 1024)
#define CTL_MAX_CLIENTS		16
#define CTL_IDLE_S		30.0	/* between two requests */
#define CTL_WRITE_S		10.0	/* for an answer to be read */

struct ctl_client;
struct sl_conf;

/* control.c */
/* Bind conf's control socket (if any); -1 with err. */
int	control_open(const struct sl_conf *, char *err, size_t errlen);
/* A reload's new config: the same path keeps its socket. */
int	control_reconf(const struct sl_conf *, char *err, size_t errlen);
void	control_close(void);
/* Start accepting once the master's loop exists. */
void	control_start(void);
/* The client with that id, or NULL when it went away. */
struct ctl_client *ctl_client_find(uint64_t id);
uint64_t ctl_client_id(const struct ctl_client *);
/* Answer {"ok": true, "result": result} (takes result; NULL: {}). */
void	ctl_reply(struct ctl_client *, cJSON *result);
/* Answer {"ok": false, "error": ...}. */
void	ctl_fail(struct ctl_client *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ctl_cmds.c: one request; answers through ctl_reply/ctl_fail. */
void	ctl_dispatch(struct ctl_client *, const char *cmd, const cJSON *args);
/* A string argument, or NULL; -1 (answered) when it is not a string. */
int	ctl_arg_str(struct ctl_client *, const cJSON *args, const char *key,
	    const char **out);

#endif
