/*
 * sluicectl: a client for sluiced's control socket.  The wire format and
 * the commands are described in README.md ("Operations: sluicectl") and
 * sluicectl(8); this header joins the three files:
 *
 *	sluicectl.c	command line, argument checks, the command table
 *	ctl_wire.c	connect, framing, timeouts, answer validation
 *	ctl_out.c	tables, human ages, safe strings, JSON output
 */
#ifndef SL_CTL_H
#define SL_CTL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Exit codes (sluicectl(8)). */
#define CTL_EXIT_OK		0	/* the command succeeded */
#define CTL_EXIT_REFUSED	1	/* ok:false, or a usage error */
#define CTL_EXIT_UNREACHABLE	2	/* no connection, bad answer */

#define CTL_SOCKET_DEFAULT	"/run/sluice/sluiced.sock"
#define CTL_REQUEST_MAX		65536U	/* protocol limit */
#define CTL_ANSWER_MAX		(4U * 1024 * 1024)
#define CTL_TIMEOUT_MS		10000	/* per request */
#define CTL_RELOAD_TIMEOUT_MS	30000	/* until the new generation */

struct ctl_conn {
	int		 fd;
	int		 timeout_ms;	/* per request */
	const char	*path;
};

/* ctl_wire.c: each returns one of the CTL_EXIT_* codes. */
int	ctl_open(struct ctl_conn *, const char *path, int timeout_ms);
/*
 * Send {"cmd": cmd, "args": args} (args consumed, may be NULL) and wait
 * for the answer.  On CTL_EXIT_OK *resultp is the answer's "result",
 * owned by the caller; on CTL_EXIT_REFUSED the server's error is printed.
 */
int	ctl_call(struct ctl_conn *, const char *cmd, cJSON *args,
	    cJSON **resultp);
void	ctl_close(struct ctl_conn *);

/* ctl_out.c */
void	ctl_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* A printable ASCII copy of untrusted text, or NULL when out of memory. */
char	*ctl_safe(const char *);
int	ctl_print_json(const cJSON *);
void	ctl_warn_incomplete(const cJSON *);
int	out_status(const cJSON *);
int	out_sessions(const cJSON *rows);
int	out_links(const cJSON *);
int	out_agents(const cJSON *);
int	out_allow(const cJSON *);
int	out_loglevel(const cJSON *);
int	out_killed(const cJSON *);
int	out_generation(const cJSON *);

#endif /* SL_CTL_H */
