#define _POSIX_C_SOURCE 200809L     /* popen, mkstemp: the test runs tshark */
/* Capture files and the capture ring (net/pcapng.h). The files are read back by the
 * real tshark (Debian's, installed by make deps): no warnings, the same packet count,
 * interface names, directions (frame.packet_flags_direction), lengths, timestamps. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/pcapng.h"
#include "net/err.h"
#include <stdlib.h>
#include <unistd.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Every block: total length at both ends, a multiple of 4. */
static int blocks_ok(const uint8_t *b, size_t n, int *count)
{
	size_t off = 0;
	*count = 0;
	while (off < n) {
		uint32_t len = le32(b + off + 4);
		if (len % 4 || len < 12 || off + len > n || le32(b + off + len - 4) != len)
			return 0;
		off += len;
		(*count)++;
	}
	return 1;
}

TEST(net_pcapng_blocks_layout)
{
	uint8_t b[512];
	uint8_t frame[3] = { 1, 2, 3 };
	size_t n = pcapng_shb(b, sizeof(b), "Skiff");
	CHECK_EQ(n, 44);
	CHECK_EQ(le32(b), 0x0A0D0D0A);
	CHECK_EQ(le32(b + 8), 0x1A2B3C4D);
	CHECK_MEM(b + 24, "\x04\x00\x05\x00Skiff\0\0\0", 12);   /* shb_userappl, padded */
	CHECK_EQ(pcapng_shb(b, 43, "Skiff"), 0);
	n = pcapng_idb(b, sizeof(b), "eth0", 2048);
	CHECK_EQ(n, 16 + 8 + 8 + 4 + 4);
	CHECK_EQ(b[8], 1);                                      /* LINKTYPE_ETHERNET */
	CHECK_EQ(le32(b + 12), 2048);
	CHECK_MEM(b + 24, "\x09\x00\x01\x00\x09\0\0\0", 8);     /* if_tsresol 9 */
	n = pcapng_epb(b, sizeof(b), 3, 0x0000000100000002ull, frame, 3, 70, PCAP_DIR_OUT);
	CHECK_EQ(n, pcapng_epb_size(3));
	CHECK_EQ(n, 28 + 4 + 8 + 4 + 4);
	CHECK_EQ(le32(b + 8), 3);
	CHECK_EQ(le32(b + 12), 1);                              /* timestamp high */
	CHECK_EQ(le32(b + 16), 2);
	CHECK_EQ(le32(b + 20), 3);
	CHECK_EQ(le32(b + 24), 70);
	CHECK_MEM(b + 28, "\x01\x02\x03\x00", 4);
	CHECK_MEM(b + 32, "\x02\x00\x04\x00\x02\0\0\0", 8);     /* epb_flags: outbound */
	CHECK_EQ(pcapng_epb(b, sizeof(b), 0, 0, frame, 3, 3, PCAP_DIR_UNKNOWN), n - 8);
	CHECK_EQ(pcapng_epb(b, n - 1, 0, 0, frame, 3, 3, PCAP_DIR_IN), 0);
	CHECK_EQ(pcap_file_header(b, sizeof(b), 65535, 1), 24);
	CHECK_EQ(le32(b), 0xa1b23c4d);
	CHECK_EQ(pcap_record(b, sizeof(b), 1500000000ull, frame, 3, 3, 0), 19);
	CHECK_EQ(le32(b), 1);
	CHECK_EQ(le32(b + 4), 500000);                          /* microseconds */
	CHECK_EQ(pcap_record(b, 18, 0, frame, 3, 3, 0), 0);
}

/* Writes n bytes to a temp file and runs tshark on it; its stdout+stderr (less the
 * "running as root" notice) go to out. 0 if tshark ran. */
static int tshark(const uint8_t *b, size_t n, const char *args, char *out, size_t cap)
{
	char path[] = "/tmp/skiff-pcap-XXXXXX", cmd[512];
	if (access("/usr/bin/tshark", X_OK) != 0) {
		fprintf(stderr, "    tshark not installed: file check skipped (make deps)\n");
		return -1;
	}
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, b, n) != (ssize_t)n)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "tshark -r %s %s 2>&1", path, args);
	FILE *p = popen(cmd, "r");
	size_t len = 0;
	char line[512];
	while (p && fgets(line, sizeof(line), p))
		if (!strstr(line, "Running as user") && len + strlen(line) < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s", line);
	out[len] = 0;
	int rc = p ? pclose(p) : -1;
	unlink(path);
	return rc;
}

static int text_is(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "--- got:\n%s--- want:\n%s", got, want);
	return 0;
}

#define FIELDS "-T fields -E separator=, -e frame.interface_name -e frame.packet_flags_direction " \
	       "-e frame.len -e frame.cap_len -e frame.time_epoch -e frame.protocols"

TEST(net_pcapng_file_reads_in_tshark)
{
	static uint8_t b[8192];
	uint8_t f[3][256];
	size_t fl[3];
	char out[4096];
	fl[0] = frame_udp(f[0], test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 5353, 53,
			  "hello", 5);
	fl[1] = frame_arp(f[1], eth_broadcast, ARP_OP_REQUEST, test_mac(1), ip("10.0.0.1"),
			  (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.2"));
	fl[2] = frame_icmp_echo(f[2], test_mac(2), test_mac(1), ip("10.0.0.1"), ip("10.0.0.2"),
				ICMP_ECHO, 1, 1, 56);
	size_t n = pcapng_shb(b, sizeof(b), "Skiff unit test");
	n += pcapng_idb(b + n, sizeof(b) - n, "eth0", 2048);
	n += pcapng_idb(b + n, sizeof(b) - n, "eth1", 64);
	n += pcapng_epb(b + n, sizeof(b) - n, 0, 1700000000000000001ull, f[0], (uint32_t)fl[0],
			(uint32_t)fl[0], PCAP_DIR_IN);
	n += pcapng_epb(b + n, sizeof(b) - n, 1, 1700000000500000000ull, f[1], (uint32_t)fl[1],
			(uint32_t)fl[1], PCAP_DIR_OUT);
	n += pcapng_epb(b + n, sizeof(b) - n, 1, 1700000001000000000ull, f[2], 64,
			(uint32_t)fl[2], PCAP_DIR_OUT);         /* cut to eth1's snaplen */
	n += pcapng_epb(b + n, sizeof(b) - n, 0, 1700000002123456789ull, f[2], (uint32_t)fl[2],
			(uint32_t)fl[2], PCAP_DIR_UNKNOWN);
	int blocks;
	CHECK(blocks_ok(b, n, &blocks));
	CHECK_EQ(blocks, 7);
	if (tshark(b, n, FIELDS, out, sizeof(out)) != 0)
		return;
	CHECK(text_is(out,
		"eth0,0x00000001,47,47,1700000000.000000001,eth:ethertype:ip:udp:dns\n"
		"eth1,0x00000002,60,60,1700000000.500000000,eth:ethertype:arp\n"      /* padded */
		"eth1,0x00000002,98,64,1700000001.000000000,eth:ethertype:ip:icmp:data\n"
		"eth0,,98,98,1700000002.123456789,eth:ethertype:ip:icmp:data\n"));
}

TEST(net_pcap_classic_reads_in_tshark)
{
	static uint8_t b[4096];
	uint8_t f[256];
	char out[2048];
	size_t fl = frame_udp(f, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 1000,
			      2000, "x", 1);
	for (int nsec = 0; nsec < 2; nsec++) {
		size_t n = pcap_file_header(b, sizeof(b), 65535, nsec);
		n += pcap_record(b + n, sizeof(b) - n, 1700000000123456789ull, f, (uint32_t)fl,
				 (uint32_t)fl, nsec);
		n += pcap_record(b + n, sizeof(b) - n, 1700000001000000000ull, f, 20, (uint32_t)fl,
				 nsec);
		if (tshark(b, n, "-T fields -E separator=, -e frame.len -e frame.cap_len "
				 "-e frame.time_epoch", out, sizeof(out)) != 0)
			return;
		CHECK(text_is(out, nsec ? "43,43,1700000000.123456789\n43,20,1700000001.000000000\n"
					: "43,43,1700000000.123456000\n43,20,1700000001.000000000\n"));
	}
}

/* ---- the ring --------------------------------------------------------------------- */

/* Parses the EPBs in b; each frame's first byte is its tag. Returns how many. */
static int epb_tags(const uint8_t *b, size_t n, int *tags, uint32_t *caplens, int max)
{
	int k = 0;
	for (size_t off = 0; off < n && k < max; off += le32(b + off + 4)) {
		if (le32(b + off) != 6)
			return -1;
		caplens[k] = le32(b + off + 20);
		tags[k++] = b[off + 28];
	}
	return k;
}

static void push_tagged(struct pcap_ring *r, int tag, uint32_t len)
{
	uint8_t frame[1600];
	memset(frame, tag, sizeof(frame));
	CHECK_EQ(pcap_ring_push(r, (uint64_t)tag * 1000, 0, PCAP_DIR_IN, frame, len), 0);
}

TEST(net_pcap_ring_keeps_newest_and_counts_drops)
{
	static uint8_t mem[4096], out[65536];
	struct pcap_ring r;
	struct pcap_ring_cursor c;
	int tags[64];
	uint32_t caps[64];
	pcap_ring_init(&r, mem, sizeof(mem), 1514);
	for (int i = 1; i <= 20; i++)
		push_tagged(&r, i, 400);                /* 424 bytes each: 9 fit in 4096 */
	CHECK_EQ(r.st.pushed, 20);
	CHECK_EQ(r.count, 9);
	CHECK_EQ(r.st.overwritten, 11);
	CHECK(r.used <= r.size);
	pcap_ring_cursor_oldest(&r, &c);
	size_t n = pcap_ring_read(&r, &c, out, sizeof(out));
	REQUIRE(epb_tags(out, n, tags, caps, 64) == 9);
	for (int i = 0; i < 9; i++)
		CHECK_EQ(tags[i], 12 + i);              /* the newest nine, oldest first */
	CHECK_EQ(pcap_ring_read(&r, &c, out, sizeof(out)), 0);      /* nothing new */
	push_tagged(&r, 21, 100);
	n = pcap_ring_read(&r, &c, out, sizeof(out));
	CHECK(epb_tags(out, n, tags, caps, 64) == 1 && tags[0] == 21);
	CHECK_EQ(c.lost, 0);
	for (int i = 22; i <= 40; i++)
		push_tagged(&r, i, 400);                /* the reader falls behind */
	n = pcap_ring_read(&r, &c, out, sizeof(out));
	int k = epb_tags(out, n, tags, caps, 64);
	REQUIRE(k > 0);
	CHECK_EQ(tags[k - 1], 40);
	CHECK_EQ(c.lost + (uint64_t)k, 19);         /* every record read or counted lost */
	for (int i = 1; i < k; i++)
		CHECK_EQ(tags[i], tags[i - 1] + 1);
}

TEST(net_pcap_ring_snaplen_too_big_and_partial_reads)
{
	static uint8_t mem[1024], out[4096];
	struct pcap_ring r;
	struct pcap_ring_cursor c;
	int tags[16];
	uint32_t caps[16];
	pcap_ring_init(&r, mem, 1023, 96);          /* rounded down to 1016 */
	CHECK_EQ(r.size, 1016);
	push_tagged(&r, 1, 1500);                   /* kept: 96 bytes, origlen 1500 */
	pcap_ring_init(&r, mem, 64, 1514);
	uint8_t big[100] = { 0 };
	CHECK_EQ(pcap_ring_push(&r, 0, 0, PCAP_DIR_IN, big, 100), -NET_EMSGSIZE);
	CHECK_EQ(r.st.too_big, 1);
	CHECK_EQ(r.count, 0);
	pcap_ring_init(&r, mem, sizeof(mem), 96);
	for (int i = 1; i <= 5; i++)
		push_tagged(&r, i, 1500);
	pcap_ring_cursor_oldest(&r, &c);
	size_t one = pcapng_epb_size(96);
	size_t n = pcap_ring_read(&r, &c, out, 2 * one + one / 2);      /* room for two */
	CHECK_EQ(n, 2 * one);
	CHECK(epb_tags(out, n, tags, caps, 16) == 2 && tags[0] == 1 && caps[0] == 96);
	n = pcap_ring_read(&r, &c, out, sizeof(out));
	CHECK(epb_tags(out, n, tags, caps, 16) == 3 && tags[0] == 3 && tags[2] == 5);
	CHECK_EQ(le32(out + 24), 1500);             /* original length kept */
	pcap_ring_clear(&r);
	CHECK_EQ(pcap_ring_read(&r, &c, out, sizeof(out)), 0);
	push_tagged(&r, 9, 10);
	n = pcap_ring_read(&r, &c, out, sizeof(out));
	CHECK(epb_tags(out, n, tags, caps, 16) == 1 && tags[0] == 9);
}

/* Random sizes through many wraps: what a reader gets is always a run of consecutive
 * tags ending with the newest, with the bytes that were pushed. */
TEST(net_pcap_ring_random_wraps)
{
	static uint8_t mem[3000], out[16384];
	struct pcap_ring r;
	struct pcap_ring_cursor c;
	int tags[128];
	uint32_t caps[128];
	uint32_t seed = 7;
	pcap_ring_init(&r, mem, sizeof(mem), 600);
	pcap_ring_cursor_oldest(&r, &c);
	uint64_t got = 0;
	for (int i = 1; i <= 2000; i++) {
		seed = seed * 1103515245u + 12345u;
		push_tagged(&r, i & 0xff, 1 + (seed >> 16) % 700);
		REQUIRE(r.used <= r.size);
		if ((seed >> 8) % 5 == 0) {
			size_t n = pcap_ring_read(&r, &c, out, sizeof(out));
			int k = epb_tags(out, n, tags, caps, 128);
			REQUIRE(k >= 1);
			CHECK_EQ(tags[k - 1], i & 0xff);
			for (int j = 1; j < k; j++)
				CHECK_EQ(tags[j], (tags[j - 1] + 1) & 0xff);
			got += (uint64_t)k;
		}
	}
	pcap_ring_read(&r, &c, out, sizeof(out));
	uint64_t tail_read = c.seq - (got + c.lost);
	CHECK_EQ(got + c.lost + tail_read, 2000);
	CHECK_EQ(r.st.pushed, 2000);
	CHECK_EQ(r.st.pushed - r.st.overwritten, r.count);
}

TEST(net_pcap_ring_stream_reads_in_tshark)
{
	static uint8_t mem[8192], b[32768];
	struct pcap_ring r;
	struct pcap_ring_cursor c;
	char out[8192];
	uint8_t f[256];
	size_t fl = frame_udp(f, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 1000,
			      2000, "abc", 3);
	pcap_ring_init(&r, mem, sizeof(mem), 2048);
	for (int i = 0; i < 300; i++)
		pcap_ring_push(&r, 1700000000000000000ull + (uint64_t)i * 1000, (uint16_t)(i & 1),
			       (i & 1) ? PCAP_DIR_OUT : PCAP_DIR_IN, f, (uint32_t)fl);
	size_t n = pcapng_shb(b, sizeof(b), "Skiff");
	n += pcapng_idb(b + n, sizeof(b) - n, "eth0", 2048);
	n += pcapng_idb(b + n, sizeof(b) - n, "eth1", 2048);
	pcap_ring_cursor_oldest(&r, &c);
	size_t chunk;
	while ((chunk = pcap_ring_read(&r, &c, b + n, 700)) > 0)  /* an HTTP handler's chunks */
		n += chunk;
	CHECK(r.count >= 8192 / 72 - 1);     /* 72-byte records, less a wrap gap */
	if (tshark(b, n, "-T fields -E separator=, -e frame.interface_name "
			 "-e frame.packet_flags_direction", out, sizeof(out)) != 0)
		return;
	int lines = 0, in0 = 0, out1 = 0;
	for (char *s = out; *s; s = strchr(s, '\n') + 1) {
		lines++;
		in0 += strncmp(s, "eth0,0x00000001\n", 16) == 0;
		out1 += strncmp(s, "eth1,0x00000002\n", 16) == 0;
		if (!strchr(s, '\n'))
			break;
	}
	CHECK_EQ(lines, (int)r.count);
	CHECK_EQ(in0 + out1, lines);                /* no warnings, no other lines */
	CHECK(in0 >= lines / 2 - 1 && out1 >= lines / 2 - 1);
}
