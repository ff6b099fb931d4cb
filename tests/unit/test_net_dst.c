/*
 * A connection's cached output path (net/dst.h, ipv4_output_dst in net/ipv4.c).
 *
 * Twins: two stacks built alike, one sending through the full path (ipv4_output_ext:
 * route_get, ip_send, neigh_output, link_output), the other through the cache; every
 * frame must be byte-identical and every counter equal (IP and neighbour MIBs, drop
 * reasons, the neighbour entries' state and times, tracer records). Then each change
 * the cache depends on (route, neighbour MAC, entry gone or its slot reused, link down
 * and up, MTU, address) must show in the very next frame. Last, two TCP pairs, one with
 * env.ip_output_dst and one without, run the same conversation (handshake, data both
 * ways, super-segments, a neighbour gone STALE, TOS set midway, close) to the same bytes
 * and counters.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"
#include "net/neigh.h"
#include "net/route.h"
#include <stdlib.h>

#define MS NET_NS_PER_MS
#define SEC NET_NS_PER_SEC

static const struct ipv4_out tcp_out = { .proto = IPV4_PROTO_TCP, .ttl = 64, .df = 1 };

/* n bytes of transport payload (a pattern from seed) in a fresh transmit packet. */
static struct pkt *l4(struct test_net *t, size_t n, uint8_t seed)
{
	struct pkt *p = link_alloc(&t->s.link, 0);
	if (!p)
		abort();
	uint8_t *d = pkt_put(p, n);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(seed + i * 7);
	return p;
}

/* The next frame t sent, copied to buf (2048 bytes); its length, 0 if none. */
static size_t pop(struct test_net *t, uint8_t *buf)
{
	return fake_netdev_pop_copy(&t->f, buf, 2048);
}

/* Both wires carry the same frames, in order; returns how many (-1 on a difference). */
static int same_wires(struct test_net *a, struct test_net *b)
{
	uint8_t fa[2048], fb[2048];
	int n = 0;
	for (;;) {
		size_t la = pop(a, fa), lb = pop(b, fb);
		if (la != lb || memcmp(fa, fb, la) != 0) {
			printf("    frame %d differs: %zu vs %zu bytes\n", n, la, lb);
			return -1;
		}
		if (!la)
			return n;
		n++;
	}
}

/* Every counter and every neighbour entry agree. */
static int same_state(const struct test_net *a, const struct test_net *b)
{
	int ok = 1;
	for (int i = 0; i < MIB_COUNT; i++) {
		if (a->s.core.mib[i] != b->s.core.mib[i]) {
			printf("    %s: %llu vs %llu\n", net_mib_names[i],
			       (unsigned long long)a->s.core.mib[i], (unsigned long long)b->s.core.mib[i]);
			ok = 0;
		}
	}
	for (int i = 0; i < DROP_COUNT; i++) {
		if (a->s.core.drops[i] != b->s.core.drops[i]) {
			printf("    drop reason %d: %llu vs %llu\n", i,
			       (unsigned long long)a->s.core.drops[i], (unsigned long long)b->s.core.drops[i]);
			ok = 0;
		}
	}
	for (int i = 0; i < NEIGH_MAX; i++) {
		const struct neigh_entry *x = &a->s.neigh.e[i], *y = &b->s.neigh.e[i];
		if (x->state != y->state || x->addr != y->addr || memcmp(x->mac, y->mac, ETH_ALEN) ||
		    x->used_ns != y->used_ns || x->updated_ns != y->updated_ns ||
		    x->confirmed_ns != y->confirmed_ns || x->timer_ns != y->timer_ns ||
		    x->probes != y->probes || x->queue.len != y->queue.len) {
			printf("    neighbour slot %d differs (%s vs %s)\n", i,
			       neigh_state_name(x->state), neigh_state_name(y->state));
			ok = 0;
		}
	}
	if (a->s.neigh.next_ns != b->s.neigh.next_ns) {
		printf("    neighbour timers differ\n");
		ok = 0;
	}
	if (memcmp(a->s.ip.idents, b->s.ip.idents, sizeof(a->s.ip.idents)) != 0) {
		printf("    IP ID counters differ\n");
		ok = 0;
	}
	return ok;
}

struct twin {
	struct test_net full, fast;
	struct net_dst d;       /* the fast twin's connection */
};

static void twin_init(struct twin *w)
{
	tn_init_peer(&w->full);
	tn_init_peer(&w->fast);
	memset(&w->d, 0, sizeof(w->d));
}

/* The same datagram (n payload bytes) both ways; 1 if the results, the frames and the
 * counters agree. */
static int twin_send(struct twin *w, uint32_t src, uint32_t dst, const struct ipv4_out *o,
		     size_t n, uint8_t seed)
{
	int ra = ipv4_output_ext(&w->full.s.ip, l4(&w->full, n, seed), src, dst, o);
	int rb = ipv4_output_dst(&w->fast.s.ip, &w->d, l4(&w->fast, n, seed), src, dst, o);
	if (ra != rb)
		printf("    returned %d vs %d\n", ra, rb);
	return ra == rb && same_wires(&w->full, &w->fast) >= 0 && same_state(&w->full, &w->fast);
}

static void twin_advance(struct twin *w, uint64_t ns)
{
	tn_advance(&w->full, ns);
	tn_advance(&w->fast, ns);
}

/* An ARP reply from mac for addr to both twins. */
static void twin_arp_reply(struct twin *w, uint8_t mac_last, uint32_t addr)
{
	uint8_t f[64];
	size_t n = frame_arp(f, test_mac(1), ARP_OP_REPLY, test_mac(mac_last), addr, test_mac(1),
			     ip("10.0.0.1"));
	fake_netdev_rx(&w->full.f, &w->full.s, f, n);
	fake_netdev_rx(&w->fast.f, &w->fast.s, f, n);
}

static int twin_fini(struct twin *w)
{
	return tn_fini(&w->full) + tn_fini(&w->fast);
}

/* The cache was used for the last datagram: route_get's own one-entry memory still
 * names another destination (the full path would have asked it about dst). */
static int cache_hit(struct twin *w, uint32_t other)
{
	return w->fast.s.routes.last_dst == other;
}

/* Fills, then uses the cache: frames and counters as the full path's, for datagrams of
 * every size class (a runt the link pads, a full MTU), header fields (TOS with ECN bits,
 * TTL, DF or not) and the route's source address. */
TEST(dst_same_frames_and_counters_as_full_path)
{
	static struct twin w;
	twin_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 1));
	CHECK_EQ(w.d.ok, 1);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 2));
	CHECK(twin_send(&w, me, peer, &tcp_out, 8, 3));          /* 42-byte frame: padded */
	CHECK(twin_send(&w, me, peer, &tcp_out, 1480, 4));       /* exactly the MTU */
	CHECK(twin_send(&w, me, peer, &tcp_out, 1481, 5));       /* DF over the MTU: dropped */
	CHECK_EQ(w.fast.s.core.mib[MIB_IpFragFails], 1);
	struct ipv4_out o = { .proto = IPV4_PROTO_UDP, .ttl = 7, .tos = 0xb9, .df = 0 };
	CHECK(twin_send(&w, me, peer, &o, 60, 6));               /* a new key: refilled */
	CHECK(twin_send(&w, me, peer, &o, 1600, 7));             /* fragments (full path) */
	CHECK(twin_send(&w, 0, peer, &o, 60, 8));                /* the route's source */
	CHECK(twin_send(&w, 0, peer, &o, 61, 9));
	CHECK(twin_send(&w, ip("10.0.0.9"), peer, &o, 61, 9));   /* the caller's source */
	CHECK(twin_send(&w, me, peer, &o, 61, 9));
	/* The header's checksum, filled from the template's sum, over many IDs. */
	for (int i = 0; i < 300; i++)
		CHECK(twin_send(&w, me, peer, &tcp_out, 20 + (size_t)i, (uint8_t)i));
	/* The cache serves them: after route_get answered for another destination, the
	 * next datagram to the peer leaves without asking it. */
	uint32_t other = ip("10.0.0.3");
	ipv4_output_ext(&w.full.s.ip, l4(&w.full, 40, 10), me, other, &tcp_out);
	ipv4_output_ext(&w.fast.s.ip, l4(&w.fast, 40, 10), me, other, &tcp_out);
	CHECK(same_wires(&w.full, &w.fast) == 1);        /* ARP request; the datagram waits */
	CHECK(twin_send(&w, me, peer, &tcp_out, 40, 11));
	CHECK(cache_hit(&w, other));
	CHECK_EQ(twin_fini(&w), 0);
}

/* A next hop not yet resolved: the full path queues and asks ARP; once the reply is in,
 * the cache fills and the next datagrams go the short way, as the full path sends them. */
TEST(dst_unresolved_next_hop_then_cached)
{
	static struct twin w;
	twin_init(&w);
	uint32_t me = ip("10.0.0.1"), far = ip("192.0.2.9");     /* via 10.0.0.254 */
	CHECK(twin_send(&w, me, far, &tcp_out, 100, 1));
	CHECK_EQ(w.d.ok, 0);
	twin_arp_reply(&w, 0xfe, ip("10.0.0.254"));
	CHECK(same_wires(&w.full, &w.fast) == 1);        /* the queued datagram */
	CHECK(twin_send(&w, me, far, &tcp_out, 100, 2));
	CHECK_EQ(w.d.ok, 1);
	CHECK(twin_send(&w, me, far, &tcp_out, 100, 3));
	CHECK(same_state(&w.full, &w.fast));
	CHECK_EQ(twin_fini(&w), 0);
}

/* RFC 1122 §2.3.2.1 as neigh.c does it: an entry gone STALE is used, moved to DELAY with
 * its timer, then probed by unicast; used_ns moves with every datagram. */
TEST(dst_stale_neighbour_moves_to_delay_and_is_probed)
{
	static struct twin w;
	twin_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	twin_arp_reply(&w, 2, peer);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 1));
	twin_advance(&w, 50 * SEC);     /* REACHABLE for 15-45 s, then STALE */
	const struct neigh_entry *e = neigh_lookup(&w.fast.s.neigh, 0, peer);
	REQUIRE(e && e->state == NEIGH_STALE);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 2));
	CHECK_EQ(e->state, NEIGH_DELAY);
	CHECK_EQ(e->used_ns, w.fast.s.core.now_ns);
	twin_advance(&w, 6 * SEC);      /* DELAY -> PROBE: a unicast request */
	CHECK_EQ(e->state, NEIGH_PROBE);
	CHECK(same_wires(&w.full, &w.fast) == 1);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 3));        /* PROBE still sends */
	twin_arp_reply(&w, 2, peer);
	CHECK_EQ(e->state, NEIGH_REACHABLE);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 4));
	CHECK(same_state(&w.full, &w.fast));
	CHECK_EQ(twin_fini(&w), 0);
}

/* While a trace runs, every floor's records are written as the full path writes them. */
static int trace_all(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx, (void)frame, (void)len;
	return 1;
}

static void trace_done(void *ctx, const struct trace_rec *recs, int n)
{
	(void)ctx, (void)recs, (void)n;
}

TEST(dst_tracing_takes_the_full_path)
{
	static struct twin w;
	static struct net_tracer ta, tb;
	twin_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 1));        /* filled */
	net_trace_init(&ta);
	net_trace_init(&tb);
	ta.match = tb.match = trace_all;
	ta.done = tb.done = trace_done;
	net_trace_attach(&w.full.s.core, &ta);
	net_trace_attach(&w.fast.s.core, &tb);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 2));
	CHECK(ta.head > 0);
	CHECK_EQ(ta.head, tb.head);
	for (uint32_t i = 0; i < ta.head && i < TRACE_RING; i++) {
		CHECK_EQ(ta.ring[i].event, tb.ring[i].event);
		CHECK_EQ(ta.ring[i].layer, tb.ring[i].layer);
		CHECK_EQ(ta.ring[i].a, tb.ring[i].a);
		CHECK_EQ(ta.ring[i].b, tb.ring[i].b);
	}
	net_trace_detach(&w.full.s.core);
	net_trace_detach(&w.fast.s.core);
	CHECK_EQ(twin_fini(&w), 0);
}

/* ---- invalidation: the next frame after each change ----------------------------- */

/* Sends one datagram through the cache; its frame into buf, the length returned. */
static size_t send_one(struct test_net *t, struct net_dst *d, uint32_t src, uint32_t dst,
		       size_t n, uint8_t *buf)
{
	CHECK_EQ(ipv4_output_dst(&t->s.ip, d, l4(t, n, 0), src, dst, &tcp_out), 0);
	size_t len = pop(t, buf);
	CHECK(!fake_netdev_pop(&t->f));
	return len;
}

static int is_ip_to(const uint8_t *f, size_t len, uint8_t mac_last)
{
	return len >= 34 && wire_get16(f + 12) == ETH_P_IP && memcmp(f, test_mac(mac_last), 6) == 0;
}

static int is_arp_request_for(const uint8_t *f, size_t len, uint32_t addr)
{
	return len >= 42 && wire_get16(f + 12) == ETH_P_ARP && wire_get16(f + 20) == ARP_OP_REQUEST &&
	       wire_get32(f + 38) == addr;
}

TEST(dst_route_change_redirects_next_frame)
{
	static struct test_net t;
	struct net_dst d = { 0 };
	uint8_t f[2048];
	tn_init_peer(&t);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2"), gw = ip("10.0.0.254");
	neigh_update(&t.s.neigh, 0, gw, test_mac(0xfe), NEIGH_REACHABLE, 1);
	size_t n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	struct route r = { .dst = peer, .prefix_len = 32, .gateway = gw, .ifi = 0,
			   .proto = RTPROT_STATIC };
	REQUIRE(route_add(&t.s.routes, &r) == 0);
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 0xfe));            /* through the gateway now */
	struct net_dst fresh = { 0 };           /* a new connection: not the old answer */
	REQUIRE(route_del(&t.s.routes, peer, 32) == 0);
	n = send_one(&t, &fresh, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	REQUIRE(route_add(&t.s.routes, &r) == 0);
	struct net_dst fresh2 = { 0 };
	n = send_one(&t, &fresh2, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 0xfe));
	REQUIRE(route_del(&t.s.routes, peer, 32) == 0);
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(dst_neighbour_mac_change_shows_in_next_frame)
{
	static struct test_net t;
	struct net_dst d = { 0 };
	uint8_t f[2048];
	tn_init_peer(&t);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	size_t n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	neigh_update(&t.s.neigh, 0, peer, test_mac(0x22), NEIGH_REACHABLE, 0);
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 0x22));
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 0x22));
	CHECK_EQ(tn_fini(&t), 0);
}

/* The entry is destroyed and its slot at once serves another address with a resolved
 * MAC: the cache must not take the new occupant for its own. */
TEST(dst_neighbour_gone_or_slot_reused_resolves_again)
{
	static struct test_net t;
	struct net_dst d = { 0 };
	uint8_t f[2048];
	tn_init_peer(&t);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2"), other = ip("10.0.0.3");
	size_t n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	const struct neigh_entry *slot = neigh_lookup(&t.s.neigh, 0, peer);
	neigh_flush(&t.s.neigh, -1);
	CHECK(neigh_update(&t.s.neigh, 0, other, test_mac(3), NEIGH_REACHABLE, 1) == slot);
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_arp_request_for(f, n, peer));  /* queued, resolution started */
	CHECK_EQ(d.ok, 0);
	neigh_flush(&t.s.neigh, -1);
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_arp_request_for(f, n, peer));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Probes unanswered: the entry FAILS with its MAC still in place; the next datagram
 * starts a new resolution (a broadcast request), as the full path does. */
TEST(dst_failed_neighbour_resolves_again)
{
	static struct twin w;
	twin_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	twin_arp_reply(&w, 2, peer);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 1));
	twin_advance(&w, 50 * SEC);                             /* STALE */
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 2));       /* DELAY */
	for (int i = 0; i < 12; i++)
		twin_advance(&w, SEC);                          /* PROBE x3, FAILED */
	const struct neigh_entry *e = neigh_lookup(&w.fast.s.neigh, 0, peer);
	REQUIRE(e && e->state == NEIGH_FAILED);
	CHECK(same_wires(&w.full, &w.fast) == 3);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 3));
	CHECK_EQ(e->state, NEIGH_INCOMPLETE);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 4));       /* waits too */
	twin_arp_reply(&w, 2, peer);
	CHECK(same_wires(&w.full, &w.fast) == 2);
	CHECK(twin_send(&w, me, peer, &tcp_out, 100, 5));
	CHECK_EQ(w.d.ok, 1);
	CHECK_EQ(twin_fini(&w), 0);
}

/* Carrier loss forgets the neighbours (stack.c), and the link's generation moves: the
 * first datagram after it resolves again, the next one is cached anew. */
TEST(dst_link_down_up_and_mtu_change_refill)
{
	static struct test_net t;
	struct net_dst d = { 0 };
	uint8_t f[2048];
	tn_init_peer(&t);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	send_one(&t, &d, me, peer, 100, f);
	uint32_t gen = d.link_gen;
	t.f.link = 0;
	tn_advance(&t, 2 * SEC);                /* link_check sees it down */
	t.f.link = 1;
	tn_advance(&t, 2 * SEC);
	fake_netdev_drop_all(&t.f);             /* announcements */
	CHECK(t.s.link.gen != gen);
	size_t n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_arp_request_for(f, n, peer));
	uint8_t a[64];
	n = frame_arp(a, test_mac(1), ARP_OP_REPLY, test_mac(2), peer, test_mac(1), me);
	fake_netdev_rx(&t.f, &t.s, a, n);
	n = pop(&t, f);
	CHECK(is_ip_to(f, n, 2));               /* the datagram that waited */
	n = send_one(&t, &d, me, peer, 100, f);
	CHECK(is_ip_to(f, n, 2));
	CHECK_EQ(d.ok, 1);
	CHECK_EQ(d.link_gen, t.s.link.gen);
	/* No path changes an interface MTU at run time today; the cache checks it anyway. */
	t.s.link.ifs[0].mtu = 1000;
	CHECK_EQ(ipv4_output_dst(&t.s.ip, &d, l4(&t, 1000, 0), me, peer, &tcp_out), -NET_EMSGSIZE);
	CHECK(!fake_netdev_pop(&t.f));
	CHECK_EQ(t.s.core.mib[MIB_IpFragFails], 1);
	n = send_one(&t, &d, me, peer, 980, f);
	CHECK_EQ(n, 14 + 1000);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A caller that lets the route pick the source (src 0) gets the new address at once. */
TEST(dst_address_change_new_source)
{
	static struct test_net t;
	struct net_dst d = { 0 };
	uint8_t f[2048];
	tn_init_peer(&t);
	uint32_t peer = ip("10.0.0.2");
	size_t n = send_one(&t, &d, 0, peer, 100, f);
	CHECK(n && wire_get32(f + 14 + 12) == ip("10.0.0.1"));
	ipv4_set_addr(&t.s.ip, 0, ip("10.0.0.7"), 24, IFACE_ADDR_STATIC, 0);
	fake_netdev_drop_all(&t.f);
	n = send_one(&t, &d, 0, peer, 100, f);
	CHECK(n && wire_get32(f + 14 + 12) == ip("10.0.0.7"));
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- TCP: one pair with the cache, one without ------------------------------------ */

#define LOG_MAX (4u << 20)

struct tworld {
	struct test_net a, b;
	struct tcp_sock *l, *cs, *ss;
	uint8_t *log;           /* every frame a and b sent, in wire order */
	size_t log_len;
	uint32_t rcvd_b, rcvd_a;
	uint32_t nodf, nodf_max;        /* a's frames without DF, the longest */
	int cached;             /* both ends' caches were filled and valid at the end */
};

static void tw_move(struct tworld *w, struct test_net *from, struct test_net *to)
{
	struct pkt *p;
	while ((p = fake_netdev_pop(&from->f))) {
		fake_netdev_complete(&from->f, 1);
		if (w->log_len + 2 + p->len <= LOG_MAX) {
			w->log[w->log_len++] = (uint8_t)(p->len >> 8);
			w->log[w->log_len++] = (uint8_t)p->len;
			memcpy(w->log + w->log_len, pkt_data(p), p->len);
			w->log_len += p->len;
		}
		const uint8_t *f = pkt_data(p);
		if (from == &w->a && p->len >= 34 && wire_get16(f + 12) == ETH_P_IP &&
		    !(f[20] & 0x40)) {
			w->nodf++;
			w->nodf_max = p->len > w->nodf_max ? p->len : w->nodf_max;
		}
		if (p->len <= PKT_BUF_SIZE)
			fake_netdev_rx(&to->f, &to->s, pkt_data(p), p->len);
		pkt_free(p);
	}
}

static void tw_step(struct tworld *w, uint64_t ns)
{
	for (int round = 0; round < 50; round++) {
		size_t before = w->log_len;
		tw_move(w, &w->a, &w->b);
		tw_move(w, &w->b, &w->a);
		if (w->log_len == before)
			break;
	}
	tn_advance(&w->a, ns);
	tn_advance(&w->b, ns);
}

static void tw_drain(struct tworld *w)
{
	uint8_t buf[4096];
	long r;
	while (w->ss && (r = tcp_recv(w->ss, buf, sizeof(buf))) > 0)
		w->rcvd_b += (uint32_t)r;
	while (w->cs && (r = tcp_recv(w->cs, buf, sizeof(buf))) > 0)
		w->rcvd_a += (uint32_t)r;
}

/* A router's "fragmentation needed", next-hop MTU mtu, about a's connection, through
 * a's IP as a received ICMP error would come (RFC 1191). */
static void frag_needed(struct tworld *w, uint16_t mtu)
{
	uint8_t q[28];
	th_icmp_quote(q, w->cs, w->cs->snd_una);
	ipv4_proto_error(&w->a.s.ip, IPV4_PROTO_TCP, 3, 4, mtu, q, sizeof(q));
}

/* The conversation: handshake, requests and responses of several sizes (bare ACKs,
 * runts without timestamps, super-segments), an idle minute (the neighbours go STALE,
 * are used, DELAY, PROBE), TOS set midway, a path MTU below TCP's floor reported
 * (a's segments then leave at 576 bytes without DF), then both close. */
static void tw_run(struct tworld *w, int cached, int timestamps)
{
	static uint8_t data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 5);
	tn_init_tcp(&w->a, 1, "10.0.0.1/24");
	tn_init_tcp(&w->b, 2, "10.0.0.2/24");
	w->a.s.tcp.cfg.timestamps = w->b.s.tcp.cfg.timestamps = timestamps != 0;
	if (!cached)
		w->a.s.tcp.env.ip_output_dst = w->b.s.tcp.env.ip_output_dst = NULL;
	w->log = malloc(LOG_MAX);
	if (!w->log)
		abort();
	tw_step(w, MS);
	if (tcp_listen(&w->b.s.tcp, 0, 80, 0, NULL, NULL, &w->l) ||
	    tcp_connect(&w->a.s.tcp, 0, ip("10.0.0.2"), 80, NULL, NULL, &w->cs))
		abort();
	static const uint32_t sizes[] = { 1, 64, 1024, 1460, 5000, 70000, 3 };
	uint32_t sent_a = 0, sent_b = 0;
	for (int i = 0; i < 400; i++) {
		if (!w->ss)
			tcp_accept(w->l, &w->ss);
		if (i == 120 && w->cs)
			tcp_setopt(w->cs, TCP_OPT_TOS, 0x2e << 2 | 1);
		if (i % 20 == 5 && w->ss && (tcp_ready(w->cs) & TCP_EV_CONNECTED)) {
			uint32_t n = sizes[(i / 20) % 7];
			long r = tcp_send(w->cs, data, n);
			sent_a += r > 0 ? (uint32_t)r : 0;
			r = tcp_send(w->ss, data + 1, n * 2 % 9000 + 1);
			sent_b += r > 0 ? (uint32_t)r : 0;
		}
		/* About a's segment just sent, still in flight: a report quoting nothing in
		 * flight is not believed (RFC 5927 §4.1, tcp_icmp_error). */
		if (i == 305 && w->cs && w->cs->snd_una != w->cs->snd_max)
			frag_needed(w, 296);
		tw_step(w, i == 200 ? 70 * SEC : 10 * MS);
		tw_drain(w);
	}
	if (w->rcvd_b != sent_a || w->rcvd_a != sent_b)
		printf("    stream short: %u/%u %u/%u\n", w->rcvd_b, sent_a, w->rcvd_a, sent_b);
	w->cached = w->cs && w->ss && w->cs->dst.ok && w->ss->dst.ok &&
		    w->cs->dst.route_gen == w->a.s.routes.gen && w->ss->dst.link_gen == w->b.s.link.gen;
	tcp_close(w->cs);
	if (w->ss)
		tcp_close(w->ss);
	for (int i = 0; i < 100; i++)
		tw_step(w, 100 * MS);
}

static int same_tcp(const struct tworld *x, const struct tworld *y)
{
	int ok = x->log_len == y->log_len && memcmp(x->log, y->log, x->log_len) == 0;
	if (!ok)
		printf("    wire logs differ (%zu vs %zu bytes)\n", x->log_len, y->log_len);
	ok &= same_state(&x->a, &y->a) & same_state(&x->b, &y->b);
	if (memcmp(x->a.s.tcp.mib, y->a.s.tcp.mib, sizeof(x->a.s.tcp.mib)) ||
	    memcmp(x->b.s.tcp.mib, y->b.s.tcp.mib, sizeof(x->b.s.tcp.mib))) {
		printf("    TCP counters differ\n");
		ok = 0;
	}
	return ok;
}

static void tw_fini(struct tworld *w)
{
	tcp_close(w->l);
	CHECK_EQ(tn_fini(&w->a), 0);
	CHECK_EQ(tn_fini(&w->b), 0);
	free(w->log);
}

static void tcp_twins(int timestamps)
{
	static struct tworld x, y;
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	tw_run(&x, 1, timestamps);
	tw_run(&y, 0, timestamps);
	CHECK(x.rcvd_b > 100000 && x.rcvd_b == y.rcvd_b && x.rcvd_a == y.rcvd_a);
	CHECK(x.cached && !y.cached);
	CHECK(x.a.s.core.mib[MIB_NeighLookups] > 50);
	CHECK(x.nodf > 10 && x.nodf == y.nodf);
	CHECK(x.nodf_max == ETH_HLEN + 576);
	CHECK(same_tcp(&x, &y));
	tw_fini(&x);
	tw_fini(&y);
}

TEST(dst_tcp_conversation_same_with_and_without_cache)
{
	tcp_twins(1);
}

/* Without timestamps a bare ACK is 54 bytes: the link pads it on the cached path too. */
TEST(dst_tcp_conversation_runts_same_with_and_without_cache)
{
	tcp_twins(0);
}
