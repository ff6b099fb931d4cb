/*
 * tracepath from the shell (iputils tracepath(8)): UDP probes to ADDR with TTL 1, 2, ...
 * and DF set, sized to the path MTU; each hop's ICMP time exceeded names it, a
 * "fragmentation needed" lowers the MTU and the probe goes again, the destination's
 * port unreachable ends the walk. One probe in flight; TRACEPATH_WAIT_NS without an
 * answer prints "no reply" and moves on. Errors reach us through UDP's error handler.
 */
#ifndef SKIFF_NET_TRACEPATH_H
#define SKIFF_NET_TRACEPATH_H

#include <stdint.h>

struct net_core;
struct net_link;
struct udp;
struct udp_err_info;

#define TRACEPATH_BASE_PORT 44444       /* probe n goes to port BASE + n, as iputils */
#define TRACEPATH_MAX_HOPS 30
#define TRACEPATH_WAIT_NS (1000ull * 1000000ull)

struct tracepath_session {
	struct net_core *core;
	struct net_link *link;
	struct udp *udp;
	uint8_t active, waiting;
	uint16_t sport;                 /* our bound port */
	uint32_t dst;
	uint16_t pmtu;
	uint8_t ttl;                    /* of the probe in flight / next probe */
	uint16_t probes;                /* sent: the probe's port is BASE + probes */
	uint64_t sent_ns;
	void (*out)(void *ctx, const char *text);
	void *ctx;
};

void tracepath_init(struct tracepath_session *t, struct net_core *core, struct net_link *link,
		    struct udp *udp);
/* 0; -NET_EBUSY when one runs; -NET_ENETUNREACH without a route; -NET_ENOSPC (no port). */
int tracepath_start(struct tracepath_session *t, uint32_t dst,
		    void (*out)(void *ctx, const char *text), void *ctx);
void tracepath_poll(struct tracepath_session *t);
/* When tracepath_poll next has something to do, UINT64_MAX if no session runs. */
uint64_t tracepath_next_ns(const struct tracepath_session *t);
void tracepath_stop(struct tracepath_session *t);

#endif
