/*
 * UDP for in-kernel users (RFC 768, RFC 1122 §4.1): bind a port with a receive callback,
 * send datagrams. Checksums are always verified when present and always generated.
 */
#ifndef SKIFF_NET_UDP_H
#define SKIFF_NET_UDP_H

#include <stddef.h>
#include <stdint.h>
#include "net/config.h"
#include "net/pkt.h"

struct net_core;
struct net_link;
struct ipv4;
struct icmp;
struct ipv4_rx;

struct udp_rx_info {
	uint32_t src, dst;
	uint16_t sport, dport;
	int ifi;
	int bcast;              /* sent to a broadcast address */
};

/* Called from net_input() context; data is valid only during the call. The callback may
 * call udp_send() (and any other net/ function except net_input()). */
typedef void (*udp_recv_fn)(void *ctx, const struct udp_rx_info *info,
			    const uint8_t *data, size_t len);

/* An ICMP error about a datagram this socket sent (RFC 1122 §4.1.3.3: UDP MUST pass
 * ICMP errors up): from = the reporting host or router. */
struct udp_err_info {
	uint32_t from, dst;
	uint16_t sport, dport;
	uint8_t type, code;
	uint16_t next_mtu;      /* "fragmentation needed", else 0 */
};
typedef void (*udp_err_fn)(void *ctx, const struct udp_err_info *e);

struct udp_sock {
	uint16_t port;          /* 0: free slot */
	udp_recv_fn fn;
	udp_err_fn err;         /* NULL: errors are only counted */
	void *ctx;
};

struct udp {
	struct net_core *core;
	struct net_link *link;
	struct ipv4 *ip;
	struct icmp *icmp;      /* port unreachable */
	struct udp_sock socks[UDP_MAX_SOCKS];
};

/* Attaches to IPv4 as protocol 17 (broadcasts included). */
void udp_init(struct udp *u, struct ipv4 *ip, struct icmp *icmp);

/* Binds port (0: pick a random free ephemeral port). Returns the port, or -NET_EADDRINUSE,
 * -NET_ENOSPC, -NET_EINVAL. */
int udp_bind(struct udp *u, uint16_t port, udp_recv_fn fn, void *ctx);
int udp_unbind(struct udp *u, uint16_t port);
/* ICMP errors about port's datagrams go to fn (ctx as bound). 0 or -NET_ENOENT. */
int udp_set_error(struct udp *u, uint16_t port, udp_err_fn fn);
/* udp_send() with a TTL and the DF bit (tracepath's probes). */
int udp_send_ext(struct udp *u, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		 const void *data, size_t len, uint8_t ttl, int df);
/* Sends len bytes from sport to dst:dport. src 0: the route's source. 0 or negative error
 * (-NET_EMSGSIZE beyond the MTU: we do not fragment). */
int udp_send(struct udp *u, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	     const void *data, size_t len);
/* Takes ownership of p (data = payload): adds the UDP header and sends. ifi >= 0 sends a
 * limited broadcast on that interface without routing (DHCP). */
int udp_output(struct udp *u, struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst,
	       uint16_t dport, int ifi);

#endif
