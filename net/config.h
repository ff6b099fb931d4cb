/*
 * Every tunable of the stack in one place (STYLE: one config.h of constants). Times are
 * nanoseconds. Where Linux has a sysctl for the same knob its default is used and named
 * next to the value, so `sysctl -a` on a Linux peer explains our behaviour.
 */
#ifndef SKIFF_NET_CONFIG_H
#define SKIFF_NET_CONFIG_H

#include <stdint.h>

#define NET_NS_PER_US UINT64_C(1000)
#define NET_NS_PER_MS UINT64_C(1000000)
#define NET_NS_PER_SEC UINT64_C(1000000000)

#define NET_MAX_IFS 4                   /* net_attach() limit */
#define NET_DEFAULT_MTU 1500
#define NET_MIN_MTU 576                 /* RFC 791: every host accepts 576-byte datagrams */
#define NET_DEFAULT_TTL 64              /* net.ipv4.ip_default_ttl */
#define NET_LINK_CHECK_NS (1 * NET_NS_PER_SEC)  /* how often net_poll reads link state */

/* Neighbour (ARP) table: net.ipv4.neigh.default.* */
#define NEIGH_MAX 64                    /* table entries (gc_thresh3 is 1024; we are small) */
#define NEIGH_QUEUE_LEN 48              /* packets held per INCOMPLETE entry (a 64 KiB datagram's pieces) */
#define NEIGH_QUEUE_TOTAL 256           /* held in all entries (unres_qlen_bytes bounds Linux's) */
#define NEIGH_RETRANS_NS (1 * NET_NS_PER_SEC)        /* retrans_time_ms */
#define NEIGH_MCAST_PROBES 3            /* mcast_solicit: broadcast requests, INCOMPLETE */
#define NEIGH_UCAST_PROBES 3            /* ucast_solicit: unicast requests, PROBE */
#define NEIGH_REACHABLE_NS (30 * NET_NS_PER_SEC)     /* base_reachable_time_ms, x[0.5,1.5) */
#define NEIGH_DELAY_NS (5 * NET_NS_PER_SEC)          /* delay_first_probe_time */
#define NEIGH_GC_STALE_NS (60 * NET_NS_PER_SEC)      /* gc_stale_time: idle STALE dropped */
#define NEIGH_GC_FAILED_NS (60 * NET_NS_PER_SEC)     /* FAILED entries shown this long */
#define ARP_ANNOUNCE_NUM 2              /* RFC 5227 §1.1 ANNOUNCE_NUM */
#define ARP_ANNOUNCE_INTERVAL_NS (2 * NET_NS_PER_SEC) /* RFC 5227 ANNOUNCE_INTERVAL */

/* IPv4 reassembly (RFC 791, RFC 815; limits as Linux's net.ipv4.ipfrag_*, scaled down).
 * Each datagram in progress holds one big buffer (IPV4_REASM_BUF bytes, from the
 * stack's reassembly pool), so memory is bounded by the pool; fragments are copied in
 * as they arrive and their receive buffers freed at once. */
#define IPV4_REASM_MAX 8                /* datagrams in progress (ipfrag_high_thresh) */
#define IPV4_REASM_PER_SRC 4            /* of those, from one source address */
#define IPV4_REASM_MAX_FRAGS 64         /* pieces of one datagram (tiny-fragment floods) */
#define IPV4_REASM_TIMEOUT_NS (30 * NET_NS_PER_SEC)   /* ipfrag_time */
#define IPV4_REASM_BUF 65536            /* a buffer holds any legal payload */
/* Transmit super-segments (PKT_F_GSO_TCP4): TCP builds up to 64 KiB frames in these and
 * the device (TSO) or net/gso.c cuts them into wire frames. DMA-able like the NIC's pool. */
#define NET_TX_BIG_SLOTS 16
#define NET_TX_BIG_BUF 65536
#define IPV4_IDENTS 256                 /* IP ID counters, by a keyed hash of the destination */

#define ROUTE_MAX 16
#define IPV4_MAX_PROTOS 6               /* ICMP, UDP, TCP and room to spare */

/* ICMP errors: token bucket, like net.ipv4.icmp_msgs_per_sec / icmp_msgs_burst. */
#define ICMP_RATE_PER_SEC 1000
#define ICMP_BURST 50
#define ICMP_QUOTE_MAX (576 - 20 - 8)   /* RFC 1812 §4.3.2.3: error fits in 576 bytes */
/* And per destination, like Linux's icmp_ratelimit (1 s) with XRLIM_BURST_FACTOR 6. */
#define ICMP_PEER_INTERVAL_NS NET_NS_PER_SEC
#define ICMP_PEER_BURST 6
#define ICMP_PEERS 64                   /* destinations remembered (least recent replaced) */

#define UDP_MAX_SOCKS 16
#define UDP_EPHEMERAL_LO 49152          /* RFC 6335 dynamic range */
#define UDP_EPHEMERAL_HI 65535

#define QDISC_LIMIT 1000                /* pfifo limit = txqueuelen */
#define QDISC_BURST 32                  /* packets handed to tx_burst at once */
#define QDISC_BQL_MAX (1u << 30)        /* dql's limit ceiling (Linux DQL_MAX_LIMIT: no real cap) */
#define QDISC_RECLAIM_NS NET_NS_PER_MS  /* idle devices: tx_reclaim at most this often */

/* DHCP client, RFC 2131 §4.1 and §4.4.5. */
#define DHCP_BACKOFF_FIRST_S 4          /* 4, 8, 16, 32, 64 s, each +-1 s */
#define DHCP_BACKOFF_MAX_S 64
#define DHCP_REQUEST_TRIES 4            /* REQUESTING retries before starting over */
#define DHCP_WARN_AFTER 3               /* DISCOVERs unanswered before the warning/fallback */
#define DHCP_RENEW_MIN_S 60             /* §4.4.5: retransmit no more often than 60 s */
#define DHCP_NAK_DELAY_NS (1 * NET_NS_PER_SEC)   /* pause before restarting after a NAK */
#define DHCP_DEFAULT_LEASE_S 3600       /* used if an ACK omits option 51 */

/* ping / arping from the shell. */
#define PING_DEFAULT_COUNT 4
#define PING_MAX_COUNT 10000            /* keeps the squared-RTT sum inside 64 bits */
#define PING_DEFAULT_SIZE 56
#define PING_INTERVAL_NS (1 * NET_NS_PER_SEC)
#define PING_LINGER_NS (2 * NET_NS_PER_SEC)   /* wait after the last request */
#define PING_TRACK 64                   /* send times kept, by sequence modulo this */
#define ARPING_DEFAULT_COUNT 3

#endif
