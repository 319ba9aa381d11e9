#ifndef SL_RESOLVER_H
#define SL_RESOLVER_H

/* resolver.c */
void	resolver_main(int argc, char *argv[]);

#endif
