/*
 * TCP inside the stack: struct tcp_env implemented on top of the IPv4 layer, protocol 6
 * registered with ipv4_register_proto(), and TCP's timers run from net_poll(). TCP is
 * on when the stack's config supplies mem_alloc/mem_free (TCP allocates its control
 * blocks and buffers; the L2/L3 layers allocate nothing).
 */
#ifndef SKIFF_NET_TRANSPORT_H
#define SKIFF_NET_TRANSPORT_H

struct net_stack;

void transport_init(struct net_stack *s);
void transport_poll(struct net_stack *s);

#endif
