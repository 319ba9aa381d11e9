/*
 * The tunnel process's seccomp allowlist (tunnel/sandbox.c), in a header
 * of its own: <seccomp.h> must not meet <ev.h> (common/sandbox.h).
 */
#ifndef SL_TN_SANDBOX_H
#define SL_TN_SANDBOX_H

struct sandbox;

/* Build (tests) or build and load (after privdrop, before READY). */
struct sandbox	*sandbox_tunnel_build(void);
void		 sandbox_tunnel(void);

#endif
