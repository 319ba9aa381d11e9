/*
 * The pcap tap's packets (see tap_pcap.h).
 *
 * Headers are written byte by byte in network order: no struct iphdr
 * padding or alignment questions, and the buffer may sit anywhere.
 * IPv4 packets carry DF and an identification that counts up; TTL and
 * hop limit are 64.  TCP headers have no options (a window of 65535).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap_pcap.h"

#define IP4_HDR		20
#define IP6_HDR		40
#define TCP_HDR		20
#define UDP_HDR		8
#define PCAP_ISN_CLIENT	0x10000000u	/* initial sequence numbers */
#define PCAP_ISN_SERVER	0x20000000u

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's complement sum of big-endian 16-bit words (RFC 1071). */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The address of sa in the flow's terms: 1 for IPv4 (mapped too), 0. */
static int
addr_of(const struct sockaddr *sa, int *family, uint8_t *addr,
    uint16_t *port)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)sa;
		*family = AF_INET;
		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)sa;
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*family = AF_INET;
		memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		*family = AF_INET6;
		memcpy(addr, &s6->sin6_addr, 16);
	}
	return 0;
}

/*
 * "host:port" or "[v6]:port" into the server side: the host's address
 * when it is one of the flow's family, else the stand-in.
 */
static void
server_of(struct pcap_flow *f, const char *target)
{
	char		 host[300];
	const char	*colon, *port = NULL;
	unsigned long	 p;
	char		*end;
	size_t		 n = 0;

	if (target != NULL && target[0] == '[' &&
	    (colon = strchr(target, ']')) != NULL) {
		n = (size_t)(colon - target - 1);
		if (n < sizeof(host))
			memcpy(host, target + 1, n);
		port = colon[1] == ':' ? colon + 2 : NULL;
	} else if (target != NULL && (colon = strrchr(target, ':')) != NULL) {
		n = (size_t)(colon - target);
		if (n < sizeof(host))
			memcpy(host, target, n);
		port = colon + 1;
	}
	if (n >= sizeof(host))
		n = 0;
	host[n] = '\0';
	if (port != NULL) {
		p = strtoul(port, &end, 10);
		if (*end == '\0' && p <= 65535)
			f->port[PCAP_SERVER] = (uint16_t)p;
	}
	if (inet_pton(f->family, host, f->addr[PCAP_SERVER]) == 1)
		return;
	(void)inet_pton(f->family, f->family == AF_INET ? PCAP_V4_STANDIN :
	    PCAP_V6_STANDIN, f->addr[PCAP_SERVER]);
}

void
pcap_flow_init(struct pcap_flow *f, int udp, const struct sockaddr *client,
    const char *target)
{
	memset(f, 0, sizeof(*f));
	f->udp = udp;
	if (addr_of(client, &f->family, f->addr[PCAP_CLIENT],
	    &f->port[PCAP_CLIENT]) == -1) {
		f->family = AF_INET;
		(void)inet_pton(AF_INET, "192.0.2.2", f->addr[PCAP_CLIENT]);
	}
	server_of(f, target);
	f->seq[PCAP_CLIENT] = PCAP_ISN_CLIENT;
	f->seq[PCAP_SERVER] = PCAP_ISN_SERVER;
}

/* The IP header for a transport payload of tlen bytes; its length. */
static size_t
ip_header(struct pcap_flow *f, enum pcap_side from, size_t tlen,
    uint8_t *b)
{
	uint8_t	proto = f->udp ? IPPROTO_UDP : IPPROTO_TCP;
	int	to = from == PCAP_CLIENT ? PCAP_SERVER : PCAP_CLIENT;

	if (f->family == AF_INET6) {
		put32(b, 0x60000000u);
		put16(b + 4, (uint16_t)tlen);
		b[6] = proto;
		b[7] = 64;
		memcpy(b + 8, f->addr[from], 16);
		memcpy(b + 24, f->addr[to], 16);
		return IP6_HDR;
	}
	b[0] = 0x45;
	b[1] = 0;
	put16(b + 2, (uint16_t)(IP4_HDR + tlen));
	put16(b + 4, f->ip_id++);
	put16(b + 6, 0x4000);		/* DF */
	b[8] = 64;
	b[9] = proto;
	put16(b + 10, 0);
	memcpy(b + 12, f->addr[from], 4);
	memcpy(b + 16, f->addr[to], 4);
	put16(b + 10, csum_fold(csum_add(0, b, IP4_HDR)));
	return IP4_HDR;
}

/* The sum of the pseudo-header over the IP header ip. */
static uint32_t
pseudo_sum(const struct pcap_flow *f, const uint8_t *ip, size_t tlen)
{
	uint8_t		 proto = f->udp ? IPPROTO_UDP : IPPROTO_TCP;
	uint32_t	 sum;

	if (f->family == AF_INET6)
		sum = csum_add(0, ip + 8, 32);
	else
		sum = csum_add(0, ip + 12, 8);
	sum += (uint32_t)(tlen >> 16) + (uint32_t)(tlen & 0xffff);
	return sum + proto;
}

size_t
pcap_packet(struct pcap_flow *f, enum pcap_side from, uint8_t flags,
    const uint8_t *data, size_t len, uint8_t *buf)
{
	int		 to = from == PCAP_CLIENT ? PCAP_SERVER : PCAP_CLIENT;
	size_t		 thdr = f->udp ? UDP_HDR : TCP_HDR, tlen, ihl;
	uint8_t		*t;
	uint16_t	 sum;

	if (len > PCAP_SEG)
		return 0;
	tlen = thdr + len;
	ihl = ip_header(f, from, tlen, buf);
	t = buf + ihl;
	put16(t, f->port[from]);
	put16(t + 2, f->port[to]);
	if (f->udp) {
		put16(t + 4, (uint16_t)tlen);
		put16(t + 6, 0);
	} else {
		put32(t + 4, f->seq[from]);
		put32(t + 8, flags & PCAP_ACK ? f->seq[to] : 0);
		t[12] = (TCP_HDR / 4) << 4;
		t[13] = flags;
		put16(t + 14, 65535);
		put16(t + 16, 0);
		put16(t + 18, 0);
		f->seq[from] += (uint32_t)len + (flags & PCAP_SYN ? 1 : 0) +
		    (flags & PCAP_FIN ? 1 : 0);
	}
	if (len > 0)
		memcpy(t + thdr, data, len);
	sum = csum_fold(csum_add(pseudo_sum(f, buf, tlen), t, tlen));
	/* UDP: 0 says "no checksum"; all ones is the same sum. */
	if (f->udp && sum == 0)
		sum = 0xffff;
	put16(t + (f->udp ? 6 : 16), sum);
	return ihl + tlen;
}
