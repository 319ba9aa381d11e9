/*
 * SOCKS5 UDP ASSOCIATE, private to socks5_udp.c (the association and its
 * datagrams) and socks5_udp_dest.c (the destination table: verdict, link
 * and address per destination).
 */
#ifndef SL_FRONT_SOCKS5_UDP_H
#define SL_FRONT_SOCKS5_UDP_H

#include <sys/socket.h>
#include <stdint.h>

#include "../../common/target.h"
#include "../egress/resolve.h"
#include "../egress/udp.h"
#include "../relay/datagram.h"
#include "../session.h"

#define S5U_DESTS		16
#define S5U_LINKS		4
#define S5U_DEST_TTL_MS		30000

enum s5u_drop {
	DROP_STRANGER = 0,
	DROP_FRAG,
	DROP_BAD,
	DROP_REFUSED,
	DROP_NOLINK,
	DROP_BUSY,		/* waiting for a lookup or an upstream */
	DROP_TAP,		/* a tap dropped it, failed, or grew it
				   past a datagram */
	DROP_MAX
};

enum dest_state {
	D_FREE = 0,
	D_RESOLVING,		/* a name's lookup is in flight */
	D_READY,		/* li and (direct) to are set */
	D_REFUSED,		/* refused, no link, or no address */
};

struct s5u;

struct s5u_dest {
	enum dest_state		 st;
	struct sl_target	 t;		/* as the client named it */
	uint64_t		 expires, used;	/* ms */
	int			 li;		/* index in links[] */
	struct sockaddr_storage	 to;		/* direct: where it goes */
	socklen_t		 tolen;
	enum s5u_drop		 why;		/* D_REFUSED: counted as */
	struct res_req		 res;
	struct s5u		*a;
};

struct s5u_link {
	int			 link;		/* -1: slot free */
	int			 peer4, peer6;	/* direct; -1 until made */
	struct udp_up		 up;		/* socks5 */
	int			 peer;		/* socks5, once ready */
	int			 ready;
};

struct s5u {
	struct session		*s;
	int			 ufd;		/* the client-facing socket */
	struct datagram		 dg;
	struct sockaddr_storage	 client;	/* IP, then IP and port */
	socklen_t		 clientlen;
	int			 port_fixed;
	struct s5u_dest		 dests[S5U_DESTS];
	struct s5u_link		 links[S5U_LINKS];
	uint8_t			*held;		/* headroom + DGRAM_MAX */
	size_t			 heldlen;	/* 0: none (or an empty one) */
	int			 held_dest;	/* -1: none */
	uint64_t		 drops[DROP_MAX];
	struct taps		*taps;		/* the listener's, or NULL */
	int			 tap_failed;	/* logged once */
	char			 why[SL_MAX_NAME + 96];	/* a link failed */
};

/* socks5_udp.c */
struct sl_link_ctr *s5u_ctr(int link);
void	s5u_drop(struct s5u *, enum s5u_drop);
/* The kept datagram's turn (its lookup or upstream is done). */
void	s5u_dispatch(struct s5u *, struct s5u_dest *, uint8_t *, size_t);

/* socks5_udp_dest.c */
/* The entry for t: found, or a free/least recently used one. */
struct s5u_dest *s5u_dest_find(struct s5u *, const struct sl_target *);
/* A fresh entry for t: decide now, or start its lookup. */
void	s5u_dest_new(struct s5u *, struct s5u_dest *,
	    const struct sl_target *);
/* Keep the datagram for later (one per association): 0 or -1. */
int	s5u_hold(struct s5u *, struct s5u_dest *, const uint8_t *, size_t);

#endif
