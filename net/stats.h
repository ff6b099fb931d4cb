/*
 * The stack's counters. SNMP MIB counters carry the names Linux `nstat` prints (RFC 4293
 * IP-MIB, RFC 4022/4113 UDP-MIB, RFC 2011 ICMP), so a Skiff and a Linux peer can be
 * compared line by line; the Arp*, Neigh*, Dhcp* names are ours. Drop reasons are a
 * second table: every path that discards a packet frees it through net_drop() and bumps
 * exactly one of them, so "where did my packet go" always has a one-word answer.
 */
#ifndef SKIFF_NET_STATS_H
#define SKIFF_NET_STATS_H

#include <stdint.h>

#define NET_MIB_LIST(X) \
	X(IpInReceives) X(IpInHdrErrors) X(IpInAddrErrors) X(IpInUnknownProtos) \
	X(IpInDiscards) X(IpInDelivers) X(IpOutRequests) X(IpOutDiscards) X(IpOutNoRoutes) \
	X(IpReasmTimeout) X(IpReasmReqds) X(IpReasmOKs) X(IpReasmFails) \
	X(IpFragOKs) X(IpFragFails) X(IpFragCreates) X(IpExtReasmOverlaps) \
	X(IpExtInTruncatedPkts) X(IpExtInCsumErrors) X(IpExtInBcastPkts) X(IpExtOutBcastPkts) \
	X(IpExtInOctets) X(IpExtOutOctets) \
	X(IcmpInMsgs) X(IcmpInErrors) X(IcmpInCsumErrors) X(IcmpInDestUnreachs) \
	X(IcmpInTimeExcds) X(IcmpInParmProbs) X(IcmpInSrcQuenchs) X(IcmpInRedirects) \
	X(IcmpInEchos) X(IcmpInEchoReps) X(IcmpInTimestamps) \
	X(IcmpOutMsgs) X(IcmpOutErrors) X(IcmpOutRateLimitGlobal) X(IcmpOutRateLimitHost) \
	X(IcmpOutDestUnreachs) \
	X(IcmpOutEchos) X(IcmpOutEchoReps) \
	X(UdpInDatagrams) X(UdpNoPorts) X(UdpInErrors) X(UdpOutDatagrams) X(UdpInCsumErrors) \
	X(UdpIgnoredMulti) X(UdpSndbufErrors) \
	X(ArpInRequests) X(ArpInReplies) X(ArpOutRequests) X(ArpOutReplies) X(ArpInGratuitous) \
	X(NeighAllocs) X(NeighDestroys) X(NeighLookups) X(NeighHits) X(NeighResFailed) \
	X(NeighForcedGcRuns) X(NeighTableFulls) X(NeighUnresolvedDiscards) \
	X(NeighRcvProbesMcast) X(NeighRcvProbesUcast) \
	X(DhcpOutDiscovers) X(DhcpOutRequests) X(DhcpInOffers) X(DhcpInAcks) X(DhcpInNaks) \
	X(DhcpInBad) X(DhcpInIgnored) X(DhcpLeaseExpired) \
	X(PktAllocFails)

enum net_mib {
#define NET_MIB_ENUM(n) MIB_##n,
	NET_MIB_LIST(NET_MIB_ENUM)
#undef NET_MIB_ENUM
	MIB_COUNT
};

/* One row per reason a packet is discarded (names loosely follow Linux's
 * enum skb_drop_reason). */
#define NET_DROP_LIST(X) \
	X(NO_IFACE, "DropNoIface")               /* device not attached to this stack */ \
	X(ETH_TRUNCATED, "DropEthTruncated")     /* shorter than an Ethernet header */ \
	X(ETH_OTHERHOST, "DropEthOtherHost")     /* unicast to another MAC */ \
	X(ETH_MULTICAST, "DropEthMulticast")     /* a group we did not join */ \
	X(ETH_BAD_SRC, "DropEthBadSrc")          /* multicast or our own source MAC */ \
	X(ETH_VLAN, "DropEthVlan")               /* 802.1Q tagged */ \
	X(ETH_UNKNOWN_TYPE, "DropEthUnknownType") \
	X(ARP_TRUNCATED, "DropArpTruncated") \
	X(ARP_BAD_FORMAT, "DropArpBadFormat")    /* htype/ptype/hlen/plen/op */ \
	X(ARP_BAD_SENDER, "DropArpBadSender")    /* martian spa, multicast/own sha */ \
	X(ARP_NO_ADDR, "DropArpNoAddr")          /* interface has no address yet */ \
	X(ARP_NOT_FOR_US, "DropArpNotForUs")     /* request for another host, nothing learnt */ \
	X(ARP_UNSOLICITED, "DropArpUnsolicited") /* reply with no entry waiting for it */ \
	X(ARP_CONFLICT, "DropArpConflict")       /* someone else claims our address */ \
	X(IP_TRUNCATED, "DropIpTruncated")       /* shorter than 20 bytes */ \
	X(IP_VERSION, "DropIpVersion") \
	X(IP_HDR_LEN, "DropIpHdrLen")            /* IHL < 5 or past the frame */ \
	X(IP_TOT_LEN, "DropIpTotLen")            /* total length < IHL or > frame */ \
	X(IP_CSUM, "DropIpCsum") \
	X(IP_BAD_OPTIONS, "DropIpBadOptions") \
	X(IP_SRCROUTE, "DropIpSrcRoute")         /* LSRR/SSRR: never honoured */ \
	X(IP_MARTIAN_SRC, "DropIpMartianSrc") \
	X(IP_NOT_FOR_US, "DropIpNotForUs")       /* we do not forward */ \
	X(IP_L2_BCAST_UNICAST, "DropIpL2BcastUnicast") /* IP unicast in an L2 broadcast */ \
	X(IP_FRAGMENT, "DropIpFragment")         /* no reassembly buffers configured */ \
	X(IP_FRAG_OVERLAP, "DropIpFragOverlap")  /* overlapping fragments: whole datagram (RFC 5722 rule) */ \
	X(IP_FRAG_DUP, "DropIpFragDup")          /* exact duplicate of a fragment held */ \
	X(IP_FRAG_TINY, "DropIpFragTiny")        /* first fragment without the transport header (RFC 1858) */ \
	X(IP_FRAG_BAD_LEN, "DropIpFragBadLen")   /* empty, not a multiple of 8, or past the end */ \
	X(IP_FRAG_TOO_BIG, "DropIpFragTooBig")   /* reassembled datagram over 65535 bytes */ \
	X(IP_FRAG_TOO_MANY, "DropIpFragTooMany") /* more pieces than one datagram may have */ \
	X(IP_FRAG_TIMEOUT, "DropIpFragTimeout")  /* incomplete when its time ran out */ \
	X(IP_FRAG_EVICTED, "DropIpFragEvicted")  /* pushed out for a newer datagram */ \
	X(IP_UNKNOWN_PROTO, "DropIpUnknownProto") \
	X(IP_BCAST_PROTO, "DropIpBcastProto")    /* IP broadcast to TCP (RFC 1122 §4.2.3.10) */ \
	X(IP_NO_ROUTE, "DropIpNoRoute") \
	X(IP_TOO_BIG, "DropIpTooBig")            /* output larger than the MTU */ \
	X(ICMP_TRUNCATED, "DropIcmpTruncated") \
	X(ICMP_CSUM, "DropIcmpCsum") \
	X(ICMP_BCAST_ECHO, "DropIcmpBcastEcho")  /* icmp_echo_ignore_broadcasts */ \
	X(ICMP_BCAST_ERROR, "DropIcmpBcastError")/* an error sent to a broadcast: nobody's */ \
	X(ICMP_UNHANDLED, "DropIcmpUnhandled")   /* a type we count but do not act on */ \
	X(ICMP_UNMATCHED, "DropIcmpUnmatched")   /* echo reply for no ping of ours */ \
	X(UDP_TRUNCATED, "DropUdpTruncated") \
	X(UDP_BAD_LEN, "DropUdpBadLen") \
	X(UDP_CSUM, "DropUdpCsum") \
	X(UDP_NO_PORT, "DropUdpNoPort") \
	X(NEIGH_QUEUE_FULL, "DropNeighQueueFull")/* oldest waiting packet pushed out */ \
	X(NEIGH_FAILED, "DropNeighFailed")       /* resolution failed */ \
	X(NEIGH_EVICTED, "DropNeighEvicted")     /* entry reclaimed while packets waited */ \
	X(NEIGH_NO_ADDR, "DropNeighNoAddr")      /* cannot ARP without a source address */ \
	X(QDISC_FULL, "DropQdiscFull")           /* pfifo at its limit, fq_codel over limit */ \
	X(QDISC_CODEL, "DropQdiscCodel")         /* fq_codel: sojourn above target (RFC 8289) */ \
	X(TX_TOO_BIG, "DropTxTooBig")            /* frame would not fit a buffer */ \
	X(TX_BAD_OFFLOAD, "DropTxBadOffload")    /* offload fields that point outside the frame */ \
	X(TX_NO_BUFS, "DropTxNoBufs")            /* no packet buffer for a copy or a segment */

enum net_drop_reason {
#define NET_DROP_ENUM(e, n) DROP_##e,
	NET_DROP_LIST(NET_DROP_ENUM)
#undef NET_DROP_ENUM
	DROP_COUNT
};

extern const char *const net_mib_names[MIB_COUNT];
extern const char *const net_drop_names[DROP_COUNT];

#endif
