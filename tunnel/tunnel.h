/*
 * The tunnel process ("sluiced -P tunnel"): one per pool whose config has
 * a tunnel listener or an "agent".  It runs every tunnel connection of
 * the pool (tunnel/conn.h) and joins their streams to the workers.
 */
#ifndef SL_TUNNEL_H
#define SL_TUNNEL_H

/* tunnel.c */
void	tunnel_main(int argc, char *argv[]);

#endif
