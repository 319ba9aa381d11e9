/*
 * systemd's readiness protocol (sd_notify(3)), for Type=notify: the
 * master tells the service manager when it is ready, reloading and
 * stopping, and a STATUS= line.  Every call is a no-op when sluiced was
 * not started with NOTIFY_SOCKET.
 */
#ifndef SL_NOTIFY_H
#define SL_NOTIFY_H

/* Read NOTIFY_SOCKET and unset it, so no child inherits it. */
void	notify_init(void);
/* READY=1 with STATUS=status. */
void	notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (systemd 253's reload protocol). */
void	notify_reloading(void);
/* STOPPING=1. */
void	notify_stopping(void);
/* STATUS=... alone. */
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
