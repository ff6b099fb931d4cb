/* The scatter-gather test pair (sg_pair.h). */
#include "tests/unit/sg_pair.h"
#include "tests/unit/test.h"
#include "net/gso.h"
#include "net/tcp_int.h"
#include "net/wire.h"

struct pkt *sgp_wire_copy(struct test_net *to, struct pkt *p)
{
	struct pkt *q = p->len <= PKT_BUF_SIZE ? pkt_alloc(&to->f.pool) : pkt_alloc(&to->txbig);
	if (!q)
		return NULL;
	pkt_copy_out(p, 0, pkt_put(q, p->len), p->len);
	if (p->flags & PKT_F_CSUM_PARTIAL) {
		q->flags = PKT_F_CSUM_PARTIAL;
		q->csum_start = p->csum_start - p->off + q->off;
		q->csum_off = p->csum_off;
		CHECK_EQ(gso_csum_help(q), 0);
	}
	q->flags = 0;
	return q;
}

int sgp_a_to_b(struct sg_pair *s, int hold, int deliver)
{
	struct pkt *p;
	int n = 0;
	while ((p = fake_netdev_pop(&s->a.f))) {
		fake_netdev_complete(&s->a.f, 1);
		n++;
		if (deliver) {
			struct pkt *q = sgp_wire_copy(&s->b, p);
			if (q)
				net_input(&s->b.s, &s->b.f.dev, q);
		}
		if (hold && p->nfrags && s->nheld < SGP_HOLD_MAX)
			s->held[s->nheld++] = p;
		else
			pkt_free(p);
	}
	net_input_flush(&s->b.s);
	return n;
}

int sgp_b_to_a(struct sg_pair *s)
{
	struct pkt *p;
	int n = 0;
	while ((p = fake_netdev_pop(&s->b.f))) {
		fake_netdev_complete(&s->b.f, 1);
		struct pkt *q = sgp_wire_copy(&s->a, p);
		if (q)
			net_input(&s->a.s, &s->a.f.dev, q);
		pkt_free(p);
		n++;
	}
	net_input_flush(&s->a.s);
	return n;
}

void sgp_pump(struct sg_pair *s, int hold, int deliver)
{
	for (int i = 0; i < 50; i++)
		if (sgp_a_to_b(s, hold, deliver) + sgp_b_to_a(s) == 0)
			break;
}

void sgp_complete_held(struct sg_pair *s)
{
	for (int i = 0; i < s->nheld; i++)
		pkt_free(s->held[i]);
	s->nheld = 0;
}

void sgp_init(struct sg_pair *s, uint32_t features, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	tn_init_tcp(&s->a, 1, "10.0.0.1/24");
	tn_init_tcp(&s->b, 2, "10.0.0.2/24");
	s->a.f.dev.features = features;
	s->a.f.dev.tso_max = 65536;
	s->b.f.dev.features = NETDEV_F_RX_LRO;
	s->a.s.tcp.cfg.gso = true;
	sgp_pump(s, 0, 1);
	REQUIRE(tcp_listen(&s->b.s.tcp, 0, port, 0, NULL, NULL, &s->l) == 0);
	REQUIRE(tcp_connect(&s->a.s.tcp, 0, ip("10.0.0.2"), port, NULL, NULL, &s->cs) == 0);
	for (int i = 0; i < 10 && !s->ss; i++) {
		sgp_pump(s, 0, 1);
		tcp_accept(s->l, &s->ss);
	}
	REQUIRE(s->ss);
	REQUIRE(tcp_ready(s->cs) & TCP_EV_CONNECTED);
	REQUIRE(s->cs->tx_sg);
}

void sgp_fini(struct sg_pair *s)
{
	sgp_complete_held(s);
	if (s->cs)
		tcp_abort(s->cs);
	if (s->ss)
		tcp_abort(s->ss);
	if (s->l)
		tcp_close(s->l);
	sgp_pump(s, 0, 0);
	CHECK_EQ(s->a.s.tcp.sg_pins, 0);
	CHECK_EQ(s->a.s.tcp.sg_held_bytes, 0);
	CHECK_EQ(tn_fini(&s->a), 0);
	CHECK_EQ(tn_fini(&s->b), 0);
}

uint8_t sgp_pat(uint32_t i, uint8_t salt)
{
	return (uint8_t)(i * 7u + salt + (i >> 9));
}

uint32_t sgp_recv_check(struct tcp_sock *c, uint32_t *at, uint8_t salt)
{
	uint8_t buf[4096];
	long r;
	uint32_t bad = 0;
	while ((r = tcp_recv(c, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < r; i++)
			bad += buf[i] != sgp_pat(*at + (uint32_t)i, salt);
		*at += (uint32_t)r;
	}
	return bad;
}

int sgp_frame_payload_ok(struct pkt *p, uint32_t seq0, uint8_t salt)
{
	static uint8_t f[70000];
	if (p->len > sizeof(f))
		return 0;
	pkt_copy_out(p, 0, f, p->len);
	size_t hlen = 14 + 20 + (size_t)(f[14 + 20 + 12] >> 4) * 4;
	uint32_t at = wire_get32(f + 14 + 20 + 4) - seq0;
	int bad = 0;
	for (size_t i = hlen; i < p->len; i++)
		bad += f[i] != sgp_pat(at + (uint32_t)(i - hlen), salt);
	return bad == 0;
}
