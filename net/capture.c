/*
 * Capture consumers (capture.h). capture_tap() is the core's tap while any consumer
 * runs: per consumer, the interface and filter checks, then the consumer's writer. The
 * tap is cleared again when the last consumer stops, so an idle stack never calls here.
 */
#include "net/capture.h"
#include "net/core.h"
#include "net/link.h"
#include "net/pkt_print.h"
#include "lib/string.h"
#include "lib/fmt.h"

static void tap(void *ctx, const struct netdev *dev, const struct pkt *p, int dir);

void capture_init(struct capture *c, struct net_core *core, struct net_link *link)
{
	memset(c, 0, sizeof(*c));
	c->core = core;
	c->link = link;
}

uint64_t capture_now(const struct capture *c)
{
	return c->core->now_ns + c->epoch_ns;
}

static void update_tap(struct capture *c)
{
	int on = c->dump.active || c->stream.active || (c->ring_busy && c->ring_ready);
	c->core->tap = on ? tap : NULL;
	c->core->tap_ctx = on ? c : NULL;
}

/* ---- tcpdump ------------------------------------------------------------------- */

/* Token bucket over console bytes: refilled at CAPTURE_OUT_BPS, at most OUT_BURST. */
static int budget_take(struct capture_dump *d, uint64_t now, size_t n)
{
	uint64_t dt = now - d->budget_ns;
	if (dt > 0) {
		uint64_t add = dt * CAPTURE_OUT_BPS / 1000000000u;
		if (add) {
			d->budget += add;
			d->budget_ns = now;
		}
		if (d->budget > CAPTURE_OUT_BURST)
			d->budget = CAPTURE_OUT_BURST;
	}
	if (n > d->budget)
		return 0;
	d->budget -= n;
	return 1;
}

static void dump_frame(struct capture *c, const struct pkt *p, const uint8_t *frame)
{
	struct capture_dump *d = &c->dump;
	char line[CAPTURE_LINE_MAX];
	d->matched++;
	int n = pkt_print(line, sizeof(line), capture_now(c), frame, p->len, p->len, d->flags);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {        /* a long -x dump: end the cut text cleanly */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (!budget_take(d, c->core->now_ns, (size_t)n)) {
		d->dropped++;
		return;
	}
	d->printed++;
	d->out(d->ctx, line);
	if (d->limit && d->printed >= d->limit)
		capture_dump_stop(c);
}

int capture_dump_start(struct capture *c, const char *expr, unsigned flags, int ifindex,
		       uint32_t limit, capture_out_fn out, void *ctx, char *err, size_t errcap)
{
	struct capture_dump *d = &c->dump;
	if (d->active)
		return -2;
	if (pkt_filter_compile(&d->f, expr, err, errcap))
		return -1;
	d->flags = flags;
	d->ifindex = ifindex;
	d->limit = limit;
	d->seen = d->matched = d->printed = d->dropped = 0;
	d->budget = CAPTURE_OUT_BURST;
	d->budget_ns = c->core->now_ns;
	d->out = out;
	d->ctx = ctx;
	d->active = 1;
	update_tap(c);
	return 0;
}

void capture_dump_stop(struct capture *c)
{
	struct capture_dump *d = &c->dump;
	if (!d->active)
		return;
	d->active = 0;
	update_tap(c);
	/* tcpdump's closing lines: what was printed, what the filter saw, what was lost
	 * (here to the console budget rather than the kernel buffer). */
	char buf[160];
	ksnprintf(buf, sizeof(buf),
		  "\n%lu packets captured\n%lu packets received by filter\n%lu packets dropped by kernel\n",
		  (unsigned long)d->printed, (unsigned long)d->seen, (unsigned long)d->dropped);
	d->out(d->ctx, buf);
}

/* ---- the raw pcap stream ------------------------------------------------------- */

int capture_stream_start(struct capture *c, const char *expr, capture_write_fn write, void *ctx,
			 char *err, size_t errcap)
{
	struct capture_stream *s = &c->stream;
	if (s->active)
		return -2;
	if (pkt_filter_compile(&s->f, expr, err, errcap))
		return -1;
	uint8_t hdr[32];
	size_t n = pcap_file_header(hdr, sizeof(hdr), CAPTURE_SNAPLEN, 1);
	s->write = write;
	s->ctx = ctx;
	s->frames = 0;
	s->active = 1;
	write(ctx, hdr, n);
	update_tap(c);
	return 0;
}

static void stream_frame(struct capture *c, const struct pkt *p, const uint8_t *frame)
{
	uint8_t rec[16 + CAPTURE_SNAPLEN];
	uint32_t caplen = p->len < CAPTURE_SNAPLEN ? p->len : CAPTURE_SNAPLEN;
	size_t n = pcap_record(rec, sizeof(rec), capture_now(c), frame, caplen, p->len, 1);
	if (!n)
		return;
	c->stream.frames++;
	c->stream.write(c->stream.ctx, rec, n);
}

/* ---- the ring ------------------------------------------------------------------ */

void capture_ring_setup(struct capture *c, void *mem, uint32_t size)
{
	pcap_ring_init(&c->ring, mem, size, CAPTURE_SNAPLEN);
	c->ring_ready = 1;
}

int capture_ring_get(struct capture *c, const char *expr, uint32_t limit,
		     int (*exclude)(void *ctx, const uint8_t *frame, size_t len), void *ctx,
		     char *err, size_t errcap)
{
	if (!c->ring_ready) {
		strlcpy(err, "no capture memory", errcap);
		return -2;
	}
	if (c->ring_busy) {
		strlcpy(err, "another capture is running", errcap);
		return -2;
	}
	if (pkt_filter_compile(&c->ring_f, expr, err, errcap))
		return -1;
	pcap_ring_clear(&c->ring);
	c->ring_limit = limit;
	c->ring_taken = 0;
	c->exclude = exclude;
	c->exclude_ctx = ctx;
	c->ring_busy = 1;
	update_tap(c);
	return 0;
}

int capture_ring_full(const struct capture *c)
{
	return c->ring_limit && c->ring_taken >= c->ring_limit;
}

void capture_ring_put(struct capture *c)
{
	c->ring_busy = 0;
	c->exclude = NULL;
	update_tap(c);
}

static void ring_frame(struct capture *c, const struct netdev *dev, const struct pkt *p,
		       const uint8_t *frame, int dir)
{
	if (capture_ring_full(c) || (c->exclude && c->exclude(c->exclude_ctx, frame, p->len)))
		return;
	int ifi = link_find(c->link, dev);
	if (ifi < 0)
		return;
	if (pcap_ring_push(&c->ring, capture_now(c), (uint16_t)ifi, (enum pcap_dir)dir, frame,
			   p->len) == 0)
		c->ring_taken++;
}

/* ---- the tap ------------------------------------------------------------------- */

static void tap(void *ctx, const struct netdev *dev, const struct pkt *p, int dir)
{
	struct capture *c = ctx;
	const uint8_t *frame = (const uint8_t *)p + p->off;
	if (c->dump.active && (!c->dump.ifindex || c->dump.ifindex == (int)dev->ifindex)) {
		c->dump.seen++;
		if (pkt_filter_match(&c->dump.f, frame, p->len))
			dump_frame(c, p, frame);
	}
	if (c->stream.active && pkt_filter_match(&c->stream.f, frame, p->len))
		stream_frame(c, p, frame);
	if (c->ring_busy && c->ring_ready && pkt_filter_match(&c->ring_f, frame, p->len))
		ring_frame(c, dev, p, frame, dir);
}
