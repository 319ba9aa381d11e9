/*
 * The registry's allowlist (sandbox.c).  Its own header, without libev:
 * sandbox.c includes <seccomp.h>, whose <elf.h> breaks <ev.h>.
 */
#ifndef SL_REGISTRY_RG_SANDBOX_H
#define SL_REGISTRY_RG_SANDBOX_H

struct sandbox;

/* After privdrop() and before SL_MSG_READY: build and load. */
void		 sandbox_registry(void);
/* The same filter, built but not loaded (tests). */
struct sandbox	*sandbox_registry_build(void);

#endif
