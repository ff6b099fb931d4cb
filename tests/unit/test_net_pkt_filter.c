/* Capture filters (net/pkt_filter.h). Each expression is run over the same eight
 * frames; the expected verdicts are what tcpdump 4.99 / libpcap 1.10 print for the
 * same frames written to a pcap (tests/system/test_pkt_filter_tcpdump.py checks a
 * larger set against the real tcpdump when it is installed). */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/pkt_filter.h"
#include "net/tcp_wire.h"
#include <stdlib.h>

#define NFRAMES 8

struct frames {
	uint8_t b[NFRAMES][128];
	size_t len[NFRAMES];
};

static size_t frame_tcp(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
			uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint8_t seg[TCP_HDR_LEN];
	struct tcp_hdr h = { .sport = sport, .dport = dport, .seq = 1, .flags = TCP_SYN,
			     .wnd = 1000 };
	tcp_wire_emit(&h, seg, sizeof(seg));
	tcp_wire_set_csum(seg, sizeof(seg), src, dst);
	return frame_ipv4(buf, dmac, smac, src, dst, IPV4_PROTO_TCP, seg, sizeof(seg));
}

/*  0 TCP 10.0.0.1:1234 > 10.0.0.2:80       (MAC :01 > :02)
 *  1 TCP 192.168.1.5:443 > 10.0.0.1:40000  (MAC :05 > :01)
 *  2 UDP 10.0.0.3:5353 > 8.8.8.8:53        (MAC :03 > :02)
 *  3 ARP who-has 10.0.0.2 tell 10.0.0.1    (MAC :01 > broadcast)
 *  4 ICMP echo 10.0.0.2 > 10.0.0.1         (MAC :02 > :01)
 *  5 UDP 10.0.0.1 > 10.0.0.2, a non-first fragment whose bytes look like ports 80 > 80
 *  6 frame 0 cut at 36 bytes: the source port is there, the destination port is not
 *  7 LLDP (EtherType 0x88cc), 60 bytes                                              */
static void build(struct frames *fs)
{
	static const uint8_t zero[6];
	uint8_t ports[8] = { 0, 80, 0, 80, 0, 8, 0, 0 };
	memset(fs, 0, sizeof(*fs));
	fs->len[0] = frame_tcp(fs->b[0], test_mac(2), test_mac(1), ip("10.0.0.1"), ip("10.0.0.2"),
			       1234, 80);
	fs->len[1] = frame_tcp(fs->b[1], test_mac(1), test_mac(5), ip("192.168.1.5"),
			       ip("10.0.0.1"), 443, 40000);
	fs->len[2] = frame_udp(fs->b[2], test_mac(2), test_mac(3), ip("10.0.0.3"), ip("8.8.8.8"),
			       5353, 53, "q", 1);
	fs->len[3] = frame_arp(fs->b[3], eth_broadcast, ARP_OP_REQUEST, test_mac(1),
			       ip("10.0.0.1"), zero, ip("10.0.0.2"));
	fs->len[4] = frame_icmp_echo(fs->b[4], test_mac(1), test_mac(2), ip("10.0.0.2"),
				     ip("10.0.0.1"), ICMP_ECHO, 7, 1, 8);
	fs->len[5] = frame_ipv4(fs->b[5], test_mac(2), test_mac(1), ip("10.0.0.1"), ip("10.0.0.2"),
				IPV4_PROTO_UDP, ports, sizeof(ports));
	fs->b[5][14 + 6] = 0x00;
	fs->b[5][14 + 7] = 0x01;        /* offset 8 bytes (checksum left stale: filters skip it) */
	memcpy(fs->b[6], fs->b[0], 36);
	fs->len[6] = 36;
	memcpy(fs->b[7], eth_broadcast, 6);
	memcpy(fs->b[7] + 6, test_mac(7), 6);
	fs->b[7][12] = 0x88;
	fs->b[7][13] = 0xcc;
	fs->len[7] = 60;
}

/* "10100000": which of the frames the expression passes. */
static int verdicts(const char *expr, const char *want)
{
	struct frames fs;
	struct pkt_filter f;
	char err[PKT_FILTER_ERR_LEN], got[NFRAMES + 1];
	build(&fs);
	if (pkt_filter_compile(&f, expr, err, sizeof(err)) != 0) {
		fprintf(stderr, "    '%s': %s\n", expr, err);
		return 0;
	}
	for (int i = 0; i < NFRAMES; i++)
		got[i] = pkt_filter_match(&f, fs.b[i], fs.len[i]) ? '1' : '0';
	got[NFRAMES] = 0;
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "    '%s': got %s want %s\n", expr, got, want);
	return 0;
}

TEST(net_pkt_filter_protocols)
{
	CHECK(verdicts("", "11111111"));
	CHECK(verdicts("   ", "11111111"));
	CHECK(verdicts("tcp", "11000010"));
	CHECK(verdicts("udp", "00100100"));
	CHECK(verdicts("icmp", "00001000"));
	CHECK(verdicts("arp", "00010000"));
	CHECK(verdicts("ip", "11101110"));
	CHECK(verdicts("not ip", "00010001"));
	CHECK(verdicts("!(tcp || udp)", "00011001"));
	CHECK(verdicts("not tcp and not arp", "00101101"));
	CHECK(verdicts("not not tcp", "11000010"));
}

TEST(net_pkt_filter_hosts_and_nets)
{
	CHECK(verdicts("host 10.0.0.1", "11011110"));
	CHECK(verdicts("src host 10.0.0.1", "10010110"));
	CHECK(verdicts("dst 10.0.0.1", "01001000"));
	CHECK(verdicts("ip host 10.0.0.2", "10001110"));
	CHECK(verdicts("arp host 10.0.0.2", "00010000"));
	CHECK(verdicts("host 10.0.0.3 or 8.8.8.8", "00100000"));      /* inherits 'host' */
	CHECK(verdicts("net 10.0.0.0/24", "11111110"));
	CHECK(verdicts("net 192.168", "01000000"));                   /* 192.168.0.0/16 */
	CHECK(verdicts("dst net 8.0.0.0/8", "00100000"));
	CHECK(verdicts("net 0.0.0.0/0", "11111110"));
	CHECK(verdicts("src and dst net 10.0.0.0/8", "10011110"));
	CHECK(verdicts("src or dst host 8.8.8.8", "00100000"));
	CHECK(verdicts("ether host 02:00:00:00:00:05", "01000000"));
	CHECK(verdicts("ether dst ff:ff:ff:ff:ff:ff", "00010001"));
	CHECK(verdicts("ether src 2:0:0:0:0:1", "10010110"));
}

TEST(net_pkt_filter_ports)
{
	CHECK(verdicts("port 80", "10000000"));         /* 5 is a later fragment; 6 ends early */
	CHECK(verdicts("port 1234", "10000010"));       /* the source port of 6 is there */
	CHECK(verdicts("not port 80", "01111101"));     /* 6: the read past the end rejects */
	CHECK(verdicts("port 80 or 443", "11000000"));
	CHECK(verdicts("udp dst port 53", "00100000"));
	CHECK(verdicts("tcp port 53", "00000000"));
	CHECK(verdicts("udp port 80", "00000000"));
	CHECK(verdicts("src or dst port 53", "00100000"));
	CHECK(verdicts("tcp src port 443 and dst 10.0.0.1", "01000000"));
	CHECK(verdicts("port 22 and not 443", "00000000"));
}

TEST(net_pkt_filter_precedence_is_left_to_right)
{
	/* pcap-filter(7): and/or have equal precedence, left to right. */
	CHECK(verdicts("tcp or udp and arp", "00000000"));
	CHECK(verdicts("arp or udp and ip", "00100100"));
	CHECK(verdicts("tcp and port 80 or arp", "10010000"));
	CHECK(verdicts("tcp && port 80 || arp", "10010000"));
	CHECK(verdicts("arp or (udp and ip)", "00110100"));
	CHECK(verdicts("host 10.0.0.1 and not port 80", "01011100"));
	CHECK(verdicts("ip and (port 80 or port 53)", "10100000"));
	CHECK(verdicts("host 10.0.0.1 and (10.0.0.2 or 192.168.1.5)", "11011110"));
}

/* The error for expr, which must fail to compile. */
static const char *error_of(const char *expr)
{
	static char err[PKT_FILTER_ERR_LEN];
	struct pkt_filter f;
	uint8_t frame[60] = { 0 };
	if (pkt_filter_compile(&f, expr, err, sizeof(err)) == 0)
		return "(compiled)";
	if (pkt_filter_match(&f, frame, sizeof(frame)))
		return "(a failed filter matched)";
	return err;
}

TEST(net_pkt_filter_errors_point_at_the_token)
{
	CHECK_STR(error_of("tcp port"), "col 9: at end: expected an address or a number");
	CHECK_STR(error_of("host foo"), "col 6: 'foo': unknown host (names are not resolved)");
	CHECK_STR(error_of("port http"), "col 6: 'http': unknown port (names are not resolved)");
	CHECK_STR(error_of("port 70000"), "col 6: '70000': illegal port number > 65535");
	CHECK_STR(error_of("tcp host 10.0.0.1"), "col 10: '10.0.0.1': 'tcp' modifier applied to host");
	CHECK_STR(error_of("net 10.0.0.1/8"), "col 5: '10.0.0.1/8': non-network bits set");
	CHECK_STR(error_of("net 10.0.0.0/33"), "col 5: '10.0.0.0/33': bad mask length (0..32)");
	CHECK_STR(error_of("host 10.0.0.0/8"), "col 6: '10.0.0.0/8': mask syntax for networks only");
	CHECK_STR(error_of("host 10.0.0.256"), "col 6: '10.0.0.256': unknown host (names are not resolved)");
	CHECK_STR(error_of("host 1.2.3.4.5"), "col 6: '1.2.3.4.5': unknown host (names are not resolved)");
	CHECK_STR(error_of("(port 80 or 443"), "col 16: at end: expected ')'");
	CHECK(strstr(error_of("tcp and 80"), "col 9: '80': expected a primitive") != NULL);
	CHECK(strstr(error_of("10.0.0.1"), "col 1: '10.0.0.1': expected a primitive") != NULL);
	CHECK_STR(error_of("port 80 )"), "col 9: ')': unbalanced ')'");
	CHECK_STR(error_of("tcp udp"), "col 5: 'udp': expected 'and', 'or' or the end");
	CHECK_STR(error_of("tcp & udp"), "col 5: '&': use '&&' or '||'");
	CHECK_STR(error_of("ip and"), "col 7: at end: expected a primitive, 'not' or '('");
	CHECK_STR(error_of("ether host 1:2:3"), "col 12: '1:2:3': bad MAC address (want xx:xx:xx:xx:xx:xx)");
	CHECK_STR(error_of("ether"), "col 6: at end: 'ether' needs host, src or dst");
	CHECK_STR(error_of("ip src port 80"), "col 13: '80': illegal qualifier of 'port'");
	CHECK_STR(error_of("icmp port 80"), "col 11: '80': illegal qualifier of 'port'");
	CHECK_STR(error_of("tcp net 10.0.0.0/8"), "col 9: '10.0.0.0/8': illegal qualifier of 'net'");
	CHECK_STR(error_of("host 10.0.0.1 and port 80 or 10.0.0.2"),
		  "col 30: '10.0.0.2': unknown port (names are not resolved)");
	CHECK_STR(error_of("host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		  "col 6: 'aaaaaaaaaaaaaaaaaaaaaaaa...': unknown host (names are not resolved)");
}

TEST(net_pkt_filter_limits)
{
	char expr[1024];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%s(", "");
	snprintf(expr + n, sizeof(expr) - n, "tcp");
	CHECK(strstr(error_of(expr), "nested too deeply") != NULL);
	n = (size_t)snprintf(expr, sizeof(expr), "port 1");
	for (int i = 2; i < 80; i++)
		n += (size_t)snprintf(expr + n, sizeof(expr) - n, " or %d", i);
	CHECK(strstr(error_of(expr), "expression too long") != NULL);
	/* 32 ports and 31 ors: 63 nodes still fit. */
	n = (size_t)snprintf(expr, sizeof(expr), "port 1");
	for (int i = 2; i <= 32; i++)
		n += (size_t)snprintf(expr + n, sizeof(expr) - n, " or %d", i);
	CHECK(verdicts(expr, "00000000"));
	CHECK(verdicts("not not not not not not not not not not not not not not not tcp",
		       "00111101"));
}

TEST(net_pkt_filter_short_frames_never_overread)
{
	static const char *const exprs[] = {
		"tcp", "port 80", "host 10.0.0.1", "ether src 2:0:0:0:0:1", "arp net 10.0.0.0/8",
		"not (udp or icmp) and dst 10.0.0.2",
	};
	struct frames fs;
	build(&fs);
	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct pkt_filter f;
		char err[PKT_FILTER_ERR_LEN];
		REQUIRE(pkt_filter_compile(&f, exprs[e], err, sizeof(err)) == 0);
		for (int i = 0; i < NFRAMES; i++)
			for (size_t len = 0; len <= fs.len[i]; len++) {
				/* An exact-size heap copy so ASan sees a read past len. */
				uint8_t *copy = malloc(len ? len : 1);
				memcpy(copy, fs.b[i], len);
				int m = pkt_filter_match(&f, copy, len);
				CHECK(m == 0 || m == 1);
				free(copy);
			}
	}
}
