/*
 * The pcap tap's packets: a session's bytes as raw IPv4/IPv6 packets
 * (LINKTYPE_RAW) that Wireshark and tcpdump take for the real thing.
 *
 * Pure code: it builds one packet into a buffer and knows no file, no
 * socket and no IPC (taps.c hands the packets to the sink the worker
 * installed; the master writes them).  A flow is the session as the
 * client saw it: the client's address and port on one side, the
 * target's on the other, in the client's family.  When the target is a
 * name, or of the other family (a bridged session), its address is a
 * documentation stand-in (PCAP_V4_STANDIN, PCAP_V6_STANDIN) and its port
 * is the target's.
 */
#ifndef SL_TAP_PCAP_H
#define SL_TAP_PCAP_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_SEG		7680	/* payload bytes in one packet, at most */
#define PCAP_HDR_MAX		60	/* IPv6 (40) + TCP (20) */
#define PCAP_PKT_MAX		(PCAP_SEG + PCAP_HDR_MAX)
#define PCAP_V4_STANDIN		"192.0.2.1"	/* RFC 5737 TEST-NET-1 */
#define PCAP_V6_STANDIN		"2001:db8::1"	/* RFC 3849 */

/* TCP flags */
#define PCAP_FIN		0x01
#define PCAP_SYN		0x02
#define PCAP_PSH		0x08
#define PCAP_ACK		0x10

enum pcap_side {
	PCAP_CLIENT = 0,
	PCAP_SERVER = 1,
};

struct pcap_flow {
	int		 family;	/* AF_INET or AF_INET6 */
	int		 udp;
	uint8_t		 addr[2][16];	/* [side], network order */
	uint16_t	 port[2];	/* [side], host order */
	uint32_t	 seq[2];	/* [side]: its next sequence number */
	uint16_t	 ip_id;		/* IPv4 identification, per packet */
};

/*
 * A flow between client (NULL or not IP: the stand-in) and target
 * ("host:port", "[v6]:port", or a name and a port).
 */
void	pcap_flow_init(struct pcap_flow *, int udp,
	    const struct sockaddr *client, const char *target);
/*
 * One packet from side into buf (PCAP_PKT_MAX bytes): IP header, TCP
 * (with flags; ACK acknowledges the other side) or UDP header, then
 * len <= PCAP_SEG bytes of data, every checksum computed.  Advances the
 * side's sequence number.  Returns the packet's length, 0 when len is
 * over PCAP_SEG.
 */
size_t	pcap_packet(struct pcap_flow *, enum pcap_side from, uint8_t flags,
	    const uint8_t *data, size_t len, uint8_t *buf);

#endif
