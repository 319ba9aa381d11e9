/*
 * sluiced's entry point.  Every process is this binary: the master runs
 * it as given; each child is an fork + execve of it with the hidden
 * "-P role" argument (fresh ASLR for every child), dispatched here so
 * that no role's code names another role's.
 */
#include <stdio.h>
#include <string.h>

#include "master/master.h"
#include "registry/registry.h"
#include "resolver/resolver.h"
#include "tunnel/tunnel.h"
#include "worker/worker.h"

static const struct {
	const char	*name;
	void		(*main)(int, char *[]);
} roles[] = {
	{ "worker",	worker_main },
	{ "resolver",	resolver_main },
	{ "registry",	registry_main },
	{ "tunnel",	tunnel_main },
};

int
main(int argc, char *argv[])
{
	size_t	i;

	if (argc > 2 && strcmp(argv[1], "-P") == 0) {
		for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
			if (strcmp(argv[2], roles[i].name) == 0)
				roles[i].main(argc, argv);	/* no return */
		fprintf(stderr, "sluiced: invalid process name \"%s\"\n",
		    argv[2]);
		return 1;
	}
	return master_main(argc, argv);
}
