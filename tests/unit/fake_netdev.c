/* Test doubles for the stack tests (see fake_netdev.h). */
#include "tests/unit/fake_netdev.h"
#include "net/cmd.h"
#include "net/inet.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fake_netdev *fake(struct netdev *dev)
{
	return (struct fake_netdev *)dev;
}

static int fake_rx_burst(struct netdev *dev, struct pkt **pkts, int max)
{
	(void)dev;
	(void)pkts;
	(void)max;
	return 0;
}

static int fake_tx_burst(struct netdev *dev, struct pkt **pkts, int n)
{
	struct fake_netdev *f = fake(dev);
	int take = n;
	f->tx_calls++;
	if (f->ring_size && take > f->ring_size - f->in_flight)
		take = f->ring_size - f->in_flight;
	for (int i = 0; i < take; i++) {
		f->stats.tx_packets++;
		f->stats.tx_bytes += pkts[i]->len;
		pktq_push(&f->wire, pkts[i]);
	}
	if (f->ring_size)
		f->in_flight += take;
	return take;
}

static int fake_tx_reclaim(struct netdev *dev)
{
	struct fake_netdev *f = fake(dev);
	f->reclaim_calls++;
	return f->ring_size && !f->reclaim_lies ? f->ring_size - f->in_flight : 256;
}

static void fake_irq_enable(struct netdev *dev, int on)
{
	(void)dev;
	(void)on;
}

static int fake_link_up(struct netdev *dev)
{
	return fake(dev)->link;
}

static void fake_get_stats(struct netdev *dev, struct netdev_stats *st)
{
	*st = fake(dev)->stats;
}

static void fake_xstats(struct netdev *dev, netdev_xstat_fn fn, void *ctx)
{
	fn(ctx, "rx_packets", fake(dev)->stats.rx_packets);
	fn(ctx, "tx_packets", fake(dev)->stats.tx_packets);
	fn(ctx, "tx_burst_calls", fake(dev)->tx_calls);
}

static const struct netdev_ops fake_ops = {
	.rx_burst = fake_rx_burst,
	.tx_burst = fake_tx_burst,
	.tx_reclaim = fake_tx_reclaim,
	.irq_enable = fake_irq_enable,
	.link_up = fake_link_up,
	.get_stats = fake_get_stats,
	.xstats = fake_xstats,
};

const uint8_t *test_mac(uint8_t last)
{
	static uint8_t macs[256][6];    /* test-only table of constant MACs */
	uint8_t *m = macs[last];
	m[0] = 0x02;
	m[5] = last;
	return m;
}

void fake_netdev_init(struct fake_netdev *f, const char *name, uint8_t mac_last, uint32_t nslots)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dev.name, sizeof(f->dev.name), "%s", name);
	snprintf(f->dev.driver, sizeof(f->dev.driver), "fake");
	memcpy(f->dev.mac, test_mac(mac_last), 6);
	f->dev.mtu = 1500;
	f->dev.ops = &fake_ops;
	f->dev.irq_mode = "poll";
	f->link = 1;
	f->mem = aligned_alloc(64, (size_t)nslots * PKT_SLOT_SIZE);
	pkt_pool_init(&f->pool, f->mem, 0x100000, nslots);
	f->dev.pool = &f->pool;
}

struct pkt *fake_netdev_pop(struct fake_netdev *f)
{
	return pktq_pop(&f->wire);
}

void fake_netdev_drop_all(struct fake_netdev *f)
{
	pktq_purge(&f->wire);
}

void fake_netdev_complete(struct fake_netdev *f, int n)
{
	f->in_flight = n > f->in_flight ? 0 : f->in_flight - n;
}

int fake_netdev_destroy(struct fake_netdev *f)
{
	pktq_purge(&f->wire);
	int leaked = (int)(f->pool.stats.slots - f->pool.stats.free);
	free(f->mem);
	f->mem = NULL;
	return leaked;
}

void fake_netdev_rx(struct fake_netdev *f, struct net_stack *s, const void *frame, size_t len)
{
	fake_netdev_rx_at(f, s, frame, len, 0);
}

void fake_netdev_rx_at(struct fake_netdev *f, struct net_stack *s, const void *frame, size_t len,
		       uint64_t ts_ns)
{
	struct pkt *p = pkt_alloc(&f->pool);
	if (!p)
		return;
	p->ts_ns = ts_ns;
	p->flags |= f->rx_flags;
	memcpy(pkt_put(p, len), frame, len);
	f->stats.rx_packets++;
	f->stats.rx_bytes += len;
	net_input(s, &f->dev, p);
}

/* ---- harness --------------------------------------------------------------------- */

static uint64_t tn_random(void *ctx)
{
	struct test_net *t = ctx;
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static void tn_log(void *ctx, int level, const char *msg)
{
	struct test_net *t = ctx;
	int n = snprintf(t->log + t->log_len, sizeof(t->log) - t->log_len, "<%d>%s\n", level, msg);
	if (n > 0 && t->log_len + (size_t)n < sizeof(t->log))
		t->log_len += (size_t)n;
}

void tn_out(void *ctx, const char *text)
{
	struct test_net *t = ctx;
	size_t n = strlen(text);
	if (t->out_len + n < sizeof(t->out)) {
		memcpy(t->out + t->out_len, text, n + 1);
		t->out_len += n;
	}
}

int tn_out_is(const struct test_net *t, const char *expect)
{
	if (strcmp(t->out, expect) == 0)
		return 1;
	printf("    --- expected ---\n%s    --- got ---\n%s    ---\n", expect, t->out);
	return 0;
}

int tn_out_has(const struct test_net *t, const char *needle)
{
	if (strstr(t->out, needle))
		return 1;
	printf("    --- missing ---\n%s\n    --- in ---\n%s    ---\n", needle, t->out);
	return 0;
}

int tn_log_has(const struct test_net *t, const char *needle)
{
	if (strstr(t->log, needle))
		return 1;
	printf("    --- missing in log ---\n%s\n    --- log ---\n%s    ---\n", needle, t->log);
	return 0;
}

uint32_t ip(const char *dotted)
{
	uint32_t a = 0;
	if (inet_parse(dotted, &a))
		abort();
	return a;
}

static void *tn_mem_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void tn_mem_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void tn_init_cfg(struct test_net *t, uint8_t mac_last, const char *cidr, const char *gw,
			int use_dhcp, int tcp)
{
	memset(t, 0, sizeof(*t));
	t->rng = 0x1234567887654321ull ^ mac_last;
	struct net_config cfg = { .use_dhcp = use_dhcp, .random = tn_random, .log = tn_log, .ctx = t };
	if (tcp) {
		cfg.mem_alloc = tn_mem_alloc;
		cfg.mem_free = tn_mem_free;
	}
	snprintf(cfg.hostname, sizeof(cfg.hostname), "skiff%u", mac_last);
	if (cidr && inet_parse_cidr(cidr, &cfg.addr, &cfg.prefix_len))
		abort();
	if (gw)
		cfg.gateway = ip(gw);
	fake_netdev_init(&t->f, "eth0", mac_last, 256);
	t->reasm_mem = aligned_alloc(64, TN_REASM_SLOTS * pkt_slot_size(IPV4_REASM_BUF));
	if (!t->reasm_mem)
		abort();
	pkt_pool_init_sized(&t->reasm, t->reasm_mem, 0x40000000, TN_REASM_SLOTS, IPV4_REASM_BUF);
	cfg.reasm_pool = &t->reasm;
	t->txbig_mem = aligned_alloc(64, TN_TXBIG_SLOTS * pkt_slot_size(NET_TX_BIG_BUF));
	if (!t->txbig_mem)
		abort();
	pkt_pool_init_sized(&t->txbig, t->txbig_mem, 0x50000000, TN_TXBIG_SLOTS, NET_TX_BIG_BUF);
	cfg.tx_big_pool = &t->txbig;
	net_init(&t->s, &cfg);
	net_attach(&t->s, &t->f.dev);
}

void tn_init(struct test_net *t, uint8_t mac_last, const char *cidr, const char *gw, int use_dhcp)
{
	tn_init_cfg(t, mac_last, cidr, gw, use_dhcp, 0);
}

void tn_init_tcp(struct test_net *t, uint8_t mac_last, const char *cidr)
{
	tn_init_cfg(t, mac_last, cidr, NULL, 0, 1);
	/* These tests count segments sent at one instant of a clock they step by hand;
	 * pacing spreads them and has its own tests (test_tcp_pacing.c). */
	t->s.tcp.cfg.pacing = false;
}

void tn_init_peer(struct test_net *t)
{
	uint8_t f[64];
	tn_init(t, 1, "10.0.0.1/24", "10.0.0.254", 0);
	tn_advance(t, 0);
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t->f, &t->s, f, n);
	fake_netdev_drop_all(&t->f);
}

int tn_fini(struct test_net *t)
{
	net_fini(&t->s);
	int leaked = fake_netdev_destroy(&t->f);
	if (t->reasm_mem) {
		leaked += (int)(t->reasm.nslots - t->reasm.stats.free);
		free(t->reasm_mem);
		t->reasm_mem = NULL;
	}
	if (t->txbig_mem) {
		leaked += (int)(t->txbig.nslots - t->txbig.stats.free);
		free(t->txbig_mem);
		t->txbig_mem = NULL;
	}
	return leaked;
}

void tn_advance(struct test_net *t, uint64_t ns)
{
	tn_check_wake(t);
	net_poll(&t->s, t->s.core.now_ns + ns);
}

/* The unit harness's failure report (tests/unit/main.c); the fuzzers link this file
 * without it, and abort instead (a finding). */
void test_fail(const char *file, int line, const char *expr) __attribute__((weak));

/* Every timer armed since the last net_poll lowered the stack's deadline: a timer
 * that did not would be skipped by net_poll's idle test (net_core_arm). */
void tn_check_wake(struct test_net *t)
{
	uint64_t due = net_next_due(&t->s);
	if (t->s.core.wake_ns > due) {
		char m[128];
		snprintf(m, sizeof(m), "core.wake_ns %llu > net_next_due %llu (a timer arm did not lower it)",
			 (unsigned long long)t->s.core.wake_ns, (unsigned long long)due);
		if (!test_fail)
			abort();
		test_fail(__FILE__, __LINE__, m);
	}
}

void tn_clear(struct test_net *t)
{
	t->out[0] = t->log[0] = 0;
	t->out_len = t->log_len = 0;
}

int tn_cmd(struct test_net *t, const char *line)
{
	char buf[256], *argv[16];
	int argc = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	return net_cmd(&t->s, argc, argv, tn_out, t);
}

int tn_pump(struct test_net *a, struct test_net *b)
{
	int moved = 0;
	for (int round = 0; round < 100; round++) {
		struct pkt *p;
		int any = 0;
		while ((p = fake_netdev_pop(&a->f))) {
			fake_netdev_rx(&b->f, &b->s, pkt_data(p), p->len);
			pkt_free(p);
			fake_netdev_complete(&a->f, 1);
			any = 1;
			moved++;
		}
		while ((p = fake_netdev_pop(&b->f))) {
			fake_netdev_rx(&a->f, &a->s, pkt_data(p), p->len);
			pkt_free(p);
			fake_netdev_complete(&b->f, 1);
			any = 1;
			moved++;
		}
		if (!any)
			break;
	}
	return moved;
}

/* ---- frames ---------------------------------------------------------------------- */

static size_t eth(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint16_t type)
{
	struct eth_hdr h = { .type = type };
	memcpy(h.dst, dmac, 6);
	memcpy(h.src, smac, 6);
	eth_emit(&h, buf);
	return ETH_HLEN;
}

size_t frame_ipv4(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		  uint32_t dst, uint8_t proto, const void *l4, size_t l4len)
{
	size_t n = eth(buf, dmac, smac, ETH_P_IP);
	struct ipv4_hdr h = { .tot_len = (uint16_t)(IPV4_HDR_MIN + l4len), .id = 7, .ttl = 64,
			      .proto = proto, .src = src, .dst = dst };
	ipv4_emit(&h, buf + n);
	memcpy(buf + n + IPV4_HDR_MIN, l4, l4len);
	return n + IPV4_HDR_MIN + l4len;
}

size_t frame_udp(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		 uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	uint8_t l4[2048];
	struct udp_hdr h = { .sport = sport, .dport = dport, .len = (uint16_t)(UDP_HDR_LEN + len) };
	memcpy(l4 + UDP_HDR_LEN, data, len);
	udp_emit(&h, l4, src, dst);
	return frame_ipv4(buf, dmac, smac, src, dst, IPV4_PROTO_UDP, l4, UDP_HDR_LEN + len);
}

size_t frame_icmp_echo(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		       uint32_t dst, uint8_t type, uint16_t id, uint16_t seq, size_t datalen)
{
	uint8_t l4[2048];
	for (size_t i = 0; i < datalen; i++)
		l4[ICMP_HDR_LEN + i] = (uint8_t)(i * 7 + 3);
	struct icmp_hdr h = { .type = type, .id = id, .seq = seq };
	icmp_emit(&h, l4, ICMP_HDR_LEN + datalen);
	return frame_ipv4(buf, dmac, smac, src, dst, IPV4_PROTO_ICMP, l4, ICMP_HDR_LEN + datalen);
}

size_t frame_arp(uint8_t *buf, const uint8_t *dmac, uint16_t op, const uint8_t *sha,
		 uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	size_t n = eth(buf, dmac, sha, ETH_P_ARP);
	struct arp_pkt a = { .op = op, .spa = spa, .tpa = tpa };
	memcpy(a.sha, sha, 6);
	memcpy(a.tha, tha, 6);
	arp_emit(&a, buf + n);
	memset(buf + n + ARP_LEN, 0, 18);       /* padded to 60 like a real frame */
	return ETH_ZLEN;
}

static int decode_l4(struct frame *fr)
{
	if (fr->ip.proto == IPV4_PROTO_ICMP) {
		if (icmp_check(fr->ipdata, fr->iplen))
			return 0;
		icmp_parse(fr->ipdata, &fr->icmp);
		fr->is_icmp = 1;
		fr->l4 = fr->ipdata + ICMP_HDR_LEN;
		fr->l4len = fr->iplen - ICMP_HDR_LEN;
	} else if (fr->ip.proto == IPV4_PROTO_UDP) {
		if (udp_check(fr->ipdata, fr->iplen, fr->ip.src, fr->ip.dst))
			return 0;
		udp_parse(fr->ipdata, &fr->udp);
		fr->is_udp = 1;
		fr->l4 = fr->ipdata + UDP_HDR_LEN;
		fr->l4len = fr->iplen - UDP_HDR_LEN;
	}
	return 1;
}

int frame_decode(struct pkt *p, struct frame *fr)
{
	const uint8_t *d = pkt_data(p);
	size_t len = p->len;
	memset(fr, 0, sizeof(*fr));
	if (eth_check(d, len) || len < ETH_ZLEN)
		return 0;
	eth_parse(d, &fr->eth);
	d += ETH_HLEN;
	len -= ETH_HLEN;
	if (fr->eth.type == ETH_P_ARP) {
		if (arp_check(d, len))
			return 0;
		arp_parse(d, &fr->arp);
		fr->is_arp = 1;
		return fr->ok = 1;
	}
	if (fr->eth.type != ETH_P_IP || ipv4_check(d, len))
		return 0;
	ipv4_parse(d, &fr->ip);
	fr->is_ip = 1;
	fr->ipdata = d + fr->ip.hdr_len;
	fr->iplen = fr->ip.tot_len - fr->ip.hdr_len;
	return fr->ok = decode_l4(fr);
}

int tn_next(struct test_net *t, struct frame *fr, uint8_t *buf)
{
	struct pkt *p = fake_netdev_pop(&t->f);
	if (!p)
		return 0;
	memcpy(buf, pkt_data(p), p->len);
	int ok = frame_decode(p, fr);
	if (fr->l4)
		fr->l4 = buf + (fr->l4 - pkt_data(p));
	if (fr->ipdata)
		fr->ipdata = buf + (fr->ipdata - pkt_data(p));
	pkt_free(p);
	fake_netdev_complete(&t->f, 1);
	return ok;
}

size_t fake_netdev_pop_copy(struct fake_netdev *f, uint8_t *buf, size_t cap)
{
	struct pkt *p = fake_netdev_pop(f);
	if (!p)
		return 0;
	size_t n = p->len;
	if (n > cap)
		abort();
	memcpy(buf, pkt_data(p), n);
	pkt_free(p);
	fake_netdev_complete(f, 1);
	return n;
}
