/*
 * TCP attached to the IPv4 floor: struct tcp_env implemented on top of IPv4, routing and
 * the link's packet pools; protocol 6 registered with ipv4_register_proto() like ICMP and
 * UDP. TCP is on when the config supplies mem_alloc/mem_free (TCP allocates its control
 * blocks and buffers; the floors below allocate nothing).
 */
#ifndef SKIFF_NET_TRANSPORT_H
#define SKIFF_NET_TRANSPORT_H

#include <stdint.h>
#include "net/tcp.h"

struct tcp_stack;
struct ipv4;
struct gro;

/* 1 if TCP is on (registered with ip), else 0. gro (may be NULL): received segments
 * go through it (net/gro.h), merged within bursts the caller brackets with gro->open
 * and gro_flush(). */
int transport_init(struct tcp_stack *t, struct ipv4 *ip, struct gro *gro);
/* TCP's timers, from net_poll(). */
static inline void transport_poll(struct tcp_stack *t, uint64_t now_ns)
{
	tcp_poll(t, now_ns);
}

#endif
