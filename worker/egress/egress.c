/*
 * The egress layer's environment, set once by the worker.
 */
#include "egress.h"

struct egress_env eg;

void
egress_init(const struct egress_env *env)
{
	eg = *env;
}

void
egress_master_gone(void)
{
	eg.master = NULL;
}
