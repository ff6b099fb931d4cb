/* Capture: the tap at the driver boundary, the shell's tcpdump (lines, -c, -i, filters,
 * errors, Ctrl-C, the output budget), the raw pcap stream and the ring. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/cmd.h"
#include <stdlib.h>
#include "net/checksum.h"

static int count_lines(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* An echo request from the peer: one line in, its reply one line out. */
static void echo_from_peer(struct test_net *t, uint16_t seq)
{
	uint8_t buf[128];
	size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 7, seq, 8);
	fake_netdev_rx(&t->f, &t->s, buf, n);
	tn_advance(t, NET_NS_PER_MS);
	fake_netdev_drop_all(&t->f);
}

TEST(net_capture_tcpdump_both_directions)
{
	struct test_net t;
	tn_init_peer(&t);
	CHECK(t.s.core.tap == NULL);
	CHECK_EQ(tn_cmd(&t, "tcpdump -c 3 icmp"), 0);
	CHECK(tn_out_is(&t, "listening on any, link-type EN10MB (Ethernet), snapshot length 2048 bytes\n"));
	CHECK(t.s.core.tap != NULL);
	tn_clear(&t);
	echo_from_peer(&t, 1);
	CHECK_EQ(count_lines(t.out, "IP 10.0.0.2 > 10.0.0.1: ICMP echo request, id 7, seq 1, length 16\n"), 1);
	CHECK_EQ(count_lines(t.out, "IP 10.0.0.1 > 10.0.0.2: ICMP echo reply, id 7, seq 1, length 16\n"), 1);
	/* The third line ends it with tcpdump's counts. */
	echo_from_peer(&t, 2);
	CHECK_EQ(count_lines(t.out, "ICMP echo request, id 7, seq 2"), 1);
	CHECK_EQ(count_lines(t.out, "ICMP echo reply, id 7, seq 2"), 0);
	CHECK(tn_out_has(&t, "\n3 packets captured\n3 packets received by filter\n0 packets dropped by kernel\n"));
	CHECK(t.s.core.tap == NULL);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_capture_tcpdump_filter_and_interrupt)
{
	struct test_net t;
	tn_init_peer(&t);
	CHECK_EQ(tn_cmd(&t, "tcpdump -e -i eth0 udp port 53"), 0);
	tn_clear(&t);
	echo_from_peer(&t, 1);
	CHECK(tn_out_is(&t, ""));               /* ICMP is not "udp port 53" */
	uint8_t buf[128];
	size_t n = frame_udp(buf, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 5353,
			     53, "abcd", 4);
	fake_netdev_rx(&t.f, &t.s, buf, n);
	CHECK(tn_out_has(&t, "02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 46: "
			     "10.0.0.2.5353 > 10.0.0.1.53: "));
	tn_advance(&t, NET_NS_PER_MS);
	fake_netdev_drop_all(&t.f);
	/* A second tcpdump is refused; Ctrl-C stops the first with its counts. */
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tcpdump"), -1);
	CHECK(tn_out_is(&t, "tcpdump: another tcpdump is still running (Ctrl-C stops it)\n"));
	tn_clear(&t);
	net_cmd_interrupt(&t.s);
	CHECK(tn_out_has(&t, "1 packets captured\n"));
	CHECK(t.s.core.tap == NULL);
	/* Stopped means stopped. */
	tn_clear(&t);
	echo_from_peer(&t, 2);
	CHECK(tn_out_is(&t, ""));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_capture_tcpdump_bad_input)
{
	struct test_net t;
	tn_init_peer(&t);
	static const struct { const char *cmd, *out; } bad[] = {
		{ "tcpdump tcp port 99999", "tcpdump: col 10: '99999': illegal port number > 65535\n" },
		{ "tcpdump -c 0", "tcpdump: invalid packet count 0\n" },
		{ "tcpdump -c", "tcpdump: invalid packet count \n" },
		{ "tcpdump -i eth7", "tcpdump: eth7: No such device exists\n" },
		{ "tcpdump -i", "tcpdump: option requires an argument -- 'i'\n" },
		{ "tcpdump -q", "tcpdump: invalid option -- 'q'\n" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tn_clear(&t);
		CHECK_EQ(tn_cmd(&t, bad[i].cmd), -1);
		CHECK(tn_out_is(&t, bad[i].out));
		CHECK(t.s.core.tap == NULL);
	}
	/* Any compile error is one line naming the column. */
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tcpdump host 10.0.0.1 and ( port 80"), -1);
	CHECK(tn_out_has(&t, "tcpdump: col "));
	CHECK_EQ(count_lines(t.out, "\n"), 1);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A flood faster than the console: lines are dropped and counted, the stack goes on. */
TEST(net_capture_tcpdump_output_budget)
{
	struct test_net t;
	tn_init_peer(&t);
	CHECK_EQ(tn_cmd(&t, "tcpdump -x icmp"), 0);
	tn_clear(&t);
	uint8_t buf[256];
	for (int i = 0; i < 200; i++) {
		size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(2), ip("10.0.0.2"),
					   ip("10.0.0.1"), ICMP_ECHO, 7, (uint16_t)i, 100);
		fake_netdev_rx(&t.f, &t.s, buf, n);
	}
	tn_advance(&t, NET_NS_PER_MS);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInEchos], 200);
	struct capture_dump *d = &t.s.cap.dump;
	CHECK_EQ(d->seen, 400);
	CHECK(d->printed > 0 && d->printed < 40);
	CHECK_EQ(d->printed + d->dropped, 400);
	CHECK(t.out_len <= CAPTURE_OUT_BURST + 200);
	/* A second later the budget is back. */
	tn_advance(&t, NET_NS_PER_SEC);
	uint64_t before = d->printed;
	echo_from_peer(&t, 999);
	CHECK_EQ(d->printed, before + 2);
	net_cmd_interrupt(&t.s);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A driver that hands frames back: each is shown once, when first offered. */
TEST(net_capture_requeue_shown_once)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.ring_size = 1;
	t.f.reclaim_lies = 1;             /* so tx_burst refuses and the qdisc requeues */
	CHECK_EQ(tn_cmd(&t, "tcpdump icmp"), 0);
	tn_clear(&t);
	uint8_t buf[128];
	for (int i = 0; i < 3; i++) {
		size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(2), ip("10.0.0.2"),
					   ip("10.0.0.1"), ICMP_ECHO, 7, (uint16_t)i, 8);
		fake_netdev_rx(&t.f, &t.s, buf, n);
	}
	for (int i = 0; i < 5; i++) {
		tn_advance(&t, NET_NS_PER_MS);
		fake_netdev_complete(&t.f, 1);
	}
	tn_advance(&t, NET_NS_PER_MS);
	CHECK_EQ(count_lines(t.out, "echo reply"), 3);
	CHECK(t.s.link.ifs[0].qdisc.st.requeues > 0);
	net_cmd_interrupt(&t.s);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

struct sink {
	uint8_t buf[4096];
	size_t len;
};

static void sink_write(void *ctx, const uint8_t *data, size_t len)
{
	struct sink *k = ctx;
	if (k->len + len <= sizeof(k->buf)) {
		memcpy(k->buf + k->len, data, len);
		k->len += len;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

TEST(net_capture_pcap_stream)
{
	struct test_net t;
	tn_init_peer(&t);
	static struct sink k;
	memset(&k, 0, sizeof(k));
	char err[PKT_FILTER_ERR_LEN];
	CHECK_EQ(capture_stream_start(&t.s.cap, "icmp[", sink_write, &k, err, sizeof(err)), -1);
	CHECK_EQ(k.len, 0);
	CHECK_EQ(capture_stream_start(&t.s.cap, "icmp", sink_write, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.len, 24);
	CHECK_EQ(le32(k.buf), 0xa1b23c4d);     /* ns timestamps */
	echo_from_peer(&t, 1);
	CHECK_EQ(t.s.cap.stream.frames, 2);
	/* Records: 16-byte header, then the frame: the request as received (14 + 20 + 8 +
	 * 8 = 50 bytes), the reply padded to the 60-byte minimum as sent. */
	CHECK_EQ(k.len, 24 + 16 + 50 + 16 + 60);
	CHECK_EQ(le32(k.buf + 24 + 8), 50);
	CHECK_EQ(le32(k.buf + 24 + 12), 50);
	CHECK_EQ(le32(k.buf + 24 + 16 + 50 + 8), 60);
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- trace ---------------------------------------------------------------------- */

TEST(net_trace_echo_both_ways)
{
	struct test_net t;
	tn_init_peer(&t);
	CHECK(t.s.core.tracer == NULL);
	CHECK_EQ(tn_cmd(&t, "trace -c 2 icmp"), 0);
	CHECK(tn_out_is(&t, "tracing icmp\n"));
	CHECK(t.s.core.tracer != NULL);
	tn_clear(&t);
	echo_from_peer(&t, 1);
	CHECK(tn_out_has(&t, "rx eth0 50B → eth ok 0x0800 → ipv4 for-us icmp 16B → icmp consumed  (0 µs)\n"));
	CHECK(tn_out_has(&t, "ipv4 out icmp to 10.0.0.2 → route via 10.0.0.2 src 10.0.0.1 → "
			     "neigh hit ..:00:02 → qdisc enq backlog 1 → tx eth0 60B  (0 µs)\n"));
	CHECK(tn_out_has(&t, "\n2 packets traced, 0 lines dropped\n"));
	CHECK(t.s.core.tracer == NULL);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_trace_neigh_miss_and_drop)
{
	struct test_net t;
	tn_init_peer(&t);
	CHECK_EQ(tn_cmd(&t, "trace icmp or arp"), 0);
	tn_clear(&t);
	/* An echo request from 10.0.0.3, whose MAC Skiff does not know yet: the reply is
	 * parked until the ARP reply, a second later. */
	uint8_t buf[128];
	size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(3), ip("10.0.0.3"), ip("10.0.0.1"),
				   ICMP_ECHO, 9, 1, 8);
	fake_netdev_rx(&t.f, &t.s, buf, n);
	tn_advance(&t, NET_NS_PER_MS);
	fake_netdev_drop_all(&t.f);
	CHECK(strstr(t.out, "ipv4 out") == NULL);      /* a line appears when the trace ends */
	tn_advance(&t, 500 * NET_NS_PER_MS);
	n = frame_arp(buf, test_mac(1), ARP_OP_REPLY, test_mac(3), ip("10.0.0.3"), test_mac(1),
		      ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, buf, n);
	tn_advance(&t, NET_NS_PER_MS);
	CHECK(tn_out_has(&t, "neigh miss 10.0.0.3 parked (1 queued) → neigh resolved, released [+"));
	CHECK(tn_out_has(&t, "→ tx eth0 60B  ("));
	fake_netdev_drop_all(&t.f);
	/* A drop names its reason. */
	tn_clear(&t);
	n = frame_icmp_echo(buf, test_mac(9), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			    ICMP_ECHO, 9, 2, 8);
	fake_netdev_rx(&t.f, &t.s, buf, n);
	CHECK(tn_out_is(&t, ""));               /* lines come from the poll, not the path */
	tn_advance(&t, NET_NS_PER_MS);
	CHECK(tn_out_is(&t, "rx eth0 50B → drop DropEthOtherHost  (0 µs)\n"));
	net_cmd_interrupt(&t.s);
	CHECK(t.s.core.tracer == NULL);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "trace port 70000"), -1);
	CHECK(tn_out_is(&t, "trace: col 6: '70000': illegal port number > 65535\n"));
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- tc qdisc replace: the pluggable discipline --------------------------------- */

static void *test_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return calloc(1, n);
}

static void test_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

TEST(net_tc_replace_fq_codel_and_back)
{
	struct test_net t;
	tn_init_peer(&t);
	t.s.core.cfg.mem_alloc = test_alloc;
	t.s.core.cfg.mem_free = test_free;
	CHECK_EQ(tn_cmd(&t, "tc qdisc replace dev eth0 root fq_codel limit 100 target 2ms interval 50ms noecn"), 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tc qdisc"), 0);
	CHECK(tn_out_is(&t, "qdisc fq_codel 0: dev eth0 root refcnt 2 limit 100p flows 1024 quantum 1514\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip link"), 0);
	CHECK(tn_out_has(&t, "mtu 1500 qdisc fq_codel state UP"));
	echo_from_peer(&t, 1);
	echo_from_peer(&t, 2);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tc -s qdisc show dev eth0"), 0);
	CHECK(tn_out_has(&t, "qdisc fq_codel 0: dev eth0 root refcnt 2 limit 100p flows 1024 quantum 1514 "
			     "target 2ms interval 50ms memory_limit"));
	CHECK(tn_out_has(&t, " Sent 120 bytes 2 pkt (dropped 0, overlimits 0 requeues 0)\n backlog 0b 0p"));
	/* Queued packets move across a replace, in order. */
	t.f.ring_size = 1;
	t.f.reclaim_lies = 0;
	for (int i = 3; i < 6; i++) {
		uint8_t buf[128];
		size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(2), ip("10.0.0.2"),
					   ip("10.0.0.1"), ICMP_ECHO, 7, (uint16_t)i, 8);
		fake_netdev_rx(&t.f, &t.s, buf, n);
	}
	CHECK_EQ(qdisc_qlen(&t.s.link.ifs[0].qdisc), 2);
	CHECK_EQ(tn_cmd(&t, "tc qdisc replace dev eth0 root pfifo limit 50"), 0);
	CHECK_EQ(qdisc_qlen(&t.s.link.ifs[0].qdisc), 2);
	CHECK_STR(qdisc_kind(&t.s.link.ifs[0].qdisc), "pfifo");
	for (int i = 3; i < 6; i++) {
		struct frame fr;
		uint8_t buf[2048];
		tn_advance(&t, NET_NS_PER_MS);
		REQUIRE(tn_next(&t, &fr, buf));
		CHECK_EQ(fr.icmp.seq, i);
		fake_netdev_complete(&t.f, 1);
	}
	/* Bad input: one line each, nothing changes. */
	static const struct { const char *cmd, *out; } bad[] = {
		{ "tc qdisc replace dev eth0 root sfq", "Unknown qdisc \"sfq\", hence option \"\" is unparsable\n" },
		{ "tc qdisc replace dev eth0 root fq_codel limit 0", "Illegal \"limit\"\n" },
		{ "tc qdisc replace dev eth0 root fq_codel target 5parsecs", "Illegal \"target\"\n" },
		{ "tc qdisc replace dev eth0 root pfifo limit x", "Illegal \"limit\"\n" },
		{ "tc qdisc replace dev eth9 root pfifo", "Device \"eth9\" does not exist.\n" },
		{ "tc qdisc replace root pfifo", "Usage: tc qdisc replace dev DEV root fq_codel|pfifo [ OPTIONS ]\n" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tn_clear(&t);
		CHECK_EQ(tn_cmd(&t, bad[i].cmd), -1);
		CHECK(tn_out_is(&t, bad[i].out));
		CHECK_STR(qdisc_kind(&t.s.link.ifs[0].qdisc), "pfifo");
	}
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- tracepath and the path MTU cache -------------------------------------------- */

/* An ICMP error from router about the probe fr (its IP header and 8 bytes quoted). */
static void icmp_error_for(struct test_net *t, const uint8_t *probe_ip, uint32_t router, uint8_t type,
			   uint8_t code, uint16_t mtu)
{
	uint8_t l4[8 + 28], buf[128];
	memset(l4, 0, sizeof(l4));
	l4[0] = type;
	l4[1] = code;
	l4[6] = (uint8_t)(mtu >> 8);
	l4[7] = (uint8_t)mtu;
	memcpy(l4 + 8, probe_ip, 28);
	uint16_t c = csum_fold(csum_partial(l4, sizeof(l4), 0));
	l4[2] = (uint8_t)(c >> 8);
	l4[3] = (uint8_t)c;
	size_t n = frame_ipv4(buf, test_mac(1), test_mac(2), router, ip("10.0.0.1"), 1, l4, sizeof(l4));
	fake_netdev_rx(&t->f, &t->s, buf, n);
}

/* The next probe on the wire: its IP header and 8 bytes, TTL and size checked. */
static int next_probe(struct test_net *t, uint8_t *quote, uint8_t ttl, uint16_t tot_len, uint16_t dport)
{
	struct frame fr;
	uint8_t buf[2048];
	tn_advance(t, NET_NS_PER_MS);
	if (!tn_next(t, &fr, buf) || !fr.is_udp)
		return 0;
	memcpy(quote, buf + 14, 28);
	return fr.ip.ttl == ttl && fr.ip.tot_len == tot_len && (fr.ip.frag & 0x4000) &&
	       fr.udp.dport == dport;
}

TEST(net_tracepath_hops_pmtu_and_cache)
{
	struct test_net t;
	uint8_t q[28];
	tn_init_peer(&t);
	CHECK_EQ(tn_cmd(&t, "tracepath 10.0.0.2"), 0);
	CHECK(tn_out_is(&t, " 1?: [LOCALHOST]                      pmtu 1500\n"));
	tn_clear(&t);
	REQUIRE(next_probe(&t, q, 1, 1500, 44445));
	icmp_error_for(&t, q, ip("10.0.0.254"), ICMP_TIME_EXCEEDED, 0, 0);
	CHECK(tn_out_has(&t, " 1:  10.0.0.254                               "));
	REQUIRE(next_probe(&t, q, 2, 1500, 44446));
	icmp_error_for(&t, q, ip("10.0.0.254"), ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400);
	CHECK(tn_out_has(&t, " 2:  pmtu 1400\n"));
	REQUIRE(next_probe(&t, q, 2, 1400, 44447));
	/* An answer about an older probe is ignored. */
	tn_clear(&t);
	icmp_error_for(&t, q, ip("10.0.0.2"), ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	CHECK(tn_out_has(&t, " reached\n     Resume: pmtu 1400 hops 2 back 2\n"));
	CHECK(!t.s.tracepath.active);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route show cache"), 0);
	CHECK(tn_out_is(&t, "10.0.0.2 dev eth0 \n    cache expires 599sec mtu 1400 from 10.0.0.254\n"));
	/* Silence: "no reply", then the next TTL; Ctrl-C ends it. */
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tracepath 10.0.0.2"), 0);
	CHECK(tn_out_has(&t, "pmtu 1400\n"));           /* starts from the cached path MTU */
	REQUIRE(next_probe(&t, q, 1, 1400, 44445));
	tn_advance(&t, TRACEPATH_WAIT_NS);
	CHECK(tn_out_has(&t, " 1:  no reply\n"));
	REQUIRE(next_probe(&t, q, 2, 1400, 44446));
	net_cmd_interrupt(&t.s);
	CHECK(tn_out_has(&t, "     Stopped: pmtu 1400 hops 2\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tracepath"), -1);
	CHECK(tn_out_is(&t, "Usage: tracepath ADDR\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tracepath 10.0.0.300"), -1);
	CHECK(tn_out_is(&t, "tracepath: 10.0.0.300: Name or service not known\n"));
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* EtherType 0 (an 802.3 length field) matched the table's free slots, whose type is 0,
 * and called a NULL handler (found by fuzz_rx). */
TEST(net_link_ethertype_zero_dropped)
{
	struct test_net t;
	tn_init_peer(&t);
	uint8_t f[60];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, test_mac(2), 6);
	fake_netdev_rx(&t.f, &t.s, f, sizeof(f));
	CHECK_EQ(t.s.core.drops[DROP_ETH_UNKNOWN_TYPE], 1);
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- a scatter-gather frame at the tap ------------------------------------------------ */

struct tap_seen {
	int frames, ext_seen;
	uint32_t len;
	uint8_t bytes[256];
};

static void tap_record(void *ctx, const struct netdev *dev, const struct pkt *p, int dir)
{
	struct tap_seen *s = ctx;
	(void)dev;
	if (dir != NET_TAP_OUT)
		return;
	s->frames++;
	s->ext_seen += p->ext_len != 0;
	s->len = p->len;
	memcpy(s->bytes, (const uint8_t *)p + p->off, p->len < sizeof(s->bytes) ? p->len : sizeof(s->bytes));
}

/* The tap reads a frame's bytes: a frame whose tail lies elsewhere (pkt ext, for a
 * scatter-gather NIC) reaches it joined, byte for byte, and still reaches the device. */
TEST(net_capture_tap_sees_scatter_gather_frame_whole)
{
	struct test_net t;
	tn_init_peer(&t);
	static const uint8_t tail[100] = "the tail of the frame, which lives outside the slot";
	struct tap_seen seen = { 0 };
	t.s.core.tap = tap_record;
	t.s.core.tap_ctx = &seen;
	struct pkt *p = pkt_alloc(&t.txbig);
	REQUIRE(p);
	uint8_t *h = pkt_put(p, 60);
	for (int i = 0; i < 60; i++)
		h[i] = (uint8_t)i;
	REQUIRE(pkt_frag_add(p, tail, sizeof(tail), NULL) == 0);
	CHECK_EQ(pkt_tailroom(p), 0);            /* nothing may be appended before the tail */
	struct net_if *ifc = &t.s.link.ifs[0];
	qdisc_enqueue(&ifc->qdisc, &t.s.core, ifc->dev, p);
	CHECK_EQ(seen.frames, 1);
	CHECK_EQ(seen.ext_seen, 0);
	CHECK_EQ(seen.len, 160);
	CHECK_EQ(memcmp(seen.bytes + 60, tail, sizeof(tail)), 0);
	CHECK_EQ(seen.bytes[59], 59);
	struct pkt *q = fake_netdev_pop(&t.f);
	REQUIRE(q);
	CHECK_EQ(q->len, 160);
	CHECK_EQ(q->ext_len, 0);
	pkt_free(q);
	fake_netdev_complete(&t.f, 1);
	t.s.core.tap = NULL;
	CHECK_EQ(tn_fini(&t), 0);
}
