/* sluicectl: placeholder until the client lands. */
#include <stdio.h>

#include "ctl.h"

int
main(void)
{
	fprintf(stderr, "sluicectl: not built yet\n");
	return 2;
}
