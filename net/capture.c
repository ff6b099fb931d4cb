/*
 * Capture consumers (capture.h). capture_tap() is the core's tap while any consumer
 * runs: per consumer, the interface and filter checks, then the consumer's writer. The
 * tap is cleared again when the last consumer stops, so an idle stack never calls here.
 */
#include "net/capture.h"
#include "net/core.h"
#include "net/link.h"
#include "net/pkt_print.h"
#include "net/inet.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include <stdarg.h>

static void tap(void *ctx, const struct netdev *dev, const struct pkt *p, int dir);
static int trace_match(void *ctx, const uint8_t *frame, size_t len);
static void trace_done(void *ctx, const struct trace_rec *r, int n);

void capture_init(struct capture *c, struct net_core *core, struct net_link *link)
{
	memset(c, 0, sizeof(*c));
	c->core = core;
	c->link = link;
	net_trace_init(&c->tracer);
	c->tracer.match = trace_match;
	c->tracer.done = trace_done;
	c->tracer.ctx = c;
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
static int bucket_take(uint64_t *budget, uint64_t *budget_ns, uint64_t now, size_t n)
{
	uint64_t dt = now - *budget_ns;
	if (dt > 0) {
		uint64_t add = dt * CAPTURE_OUT_BPS / 1000000000u;
		if (add) {
			*budget += add;
			*budget_ns = now;
		}
		if (*budget > CAPTURE_OUT_BURST)
			*budget = CAPTURE_OUT_BURST;
	}
	if (n > *budget)
		return 0;
	*budget -= n;
	return 1;
}

static int budget_take(struct capture_dump *d, uint64_t now, size_t n)
{
	return bucket_take(&d->budget, &d->budget_ns, now, n);
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

/* ---- the tracer's user ---------------------------------------------------------- */

static const char *dev_name(const struct capture *c, uint32_t ifindex)
{
	for (int i = 0; i < c->link->nifs; i++)
		if (c->link->ifs[i].dev->ifindex == ifindex)
			return c->link->ifs[i].dev->name;
	return "?";
}

static const char *proto_name(uint32_t proto)
{
	return proto == 1 ? "icmp" : proto == 6 ? "tcp" : proto == 17 ? "udp" : "proto";
}

/* One step in words: what was decided at this floor. */
static void step_text(const struct capture *c, const struct trace_rec *r, struct fmt_buf *b)
{
	char a[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	switch (r->event) {
	case TE_RX: fmt_put(b, "rx %s %uB", dev_name(c, r->a), r->b); break;
	case TE_ETH_OK: fmt_put(b, "eth ok 0x%04x", r->a); break;
	case TE_IP_LOCAL: fmt_put(b, "ipv4 for-us %s %uB", proto_name(r->a), r->b); break;
	case TE_L4: fmt_put(b, "%s %s:%u→:%u", r->layer == TL_TCP ? "tcp" : "udp", inet_fmt(a, r->b),
			 r->a >> 16, r->a & 0xffff); break;
	case TE_DELIVER: fmt_put(b, "%s consumed", proto_name(r->a)); break;
	case TE_DROP: fmt_put(b, "drop %s", r->a < DROP_COUNT ? net_drop_names[r->a] : "?"); break;
	case TE_IP_OUT: fmt_put(b, "ipv4 out %s to %s", proto_name(r->b), inet_fmt(a, r->a)); break;
	case TE_ROUTE:
		if (r->a)
			fmt_put(b, "route via %s src %s", inet_fmt(a, r->a), inet_fmt(s, r->b));
		else
			fmt_put(b, "route broadcast src %s", inet_fmt(s, r->b));
		break;
	case TE_NEIGH_HIT: fmt_put(b, "neigh hit ..:%02x:%02x", r->b >> 8, r->b & 0xff); break;
	case TE_NEIGH_PARK: fmt_put(b, "neigh miss %s parked (%u queued)", inet_fmt(a, r->a), r->b); break;
	case TE_NEIGH_RELEASE: fmt_put(b, "neigh resolved, released"); break;
	case TE_QDISC_ENQ: fmt_put(b, "qdisc enq backlog %u", r->a); break;
	case TE_QDISC_DEQ: fmt_put(b, "qdisc deq backlog %u", r->a); break;
	case TE_TX: fmt_put(b, "tx %s %uB", dev_name(c, r->a), r->b); break;
	default: fmt_put(b, "%s", r->event < TE_COUNT ? trace_event_names[r->event] : "?"); break;
	}
}

static uint64_t us_between(uint64_t from, uint64_t to)
{
	return to > from ? (to - from) / 1000u : 0;
}

int capture_trace_text(const struct capture *c, const struct trace_rec *r, int n, char *buf,
		       size_t cap)
{
	struct fmt_buf b = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	for (int i = 0; i < n; i++) {
		if (i)
			fmt_put(&b, " → ");
		step_text(c, &r[i], &b);
		uint64_t gap = i ? us_between(r[i - 1].ts_ns, r[i].ts_ns) : 0;
		if (gap >= 100)         /* a wait worth seeing: parked, queued */
			fmt_put(&b, " [+%lu µs]", (unsigned long)gap);
	}
	fmt_put(&b, "  (%lu µs)\n", (unsigned long)(n ? us_between(r[0].ts_ns, r[n - 1].ts_ns) : 0));
	return (int)b.len;
}

int capture_trace_json(const struct capture *c, const struct trace_rec *r, int n, char *buf,
		       size_t cap)
{
	struct fmt_buf b = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	fmt_put(&b, "{\"id\":%u,\"total_ns\":%lu,\"steps\":[", n ? r[0].id : 0,
	     (unsigned long)(n ? r[n - 1].ts_ns - r[0].ts_ns : 0));
	for (int i = 0; i < n; i++) {
		char text[96];
		struct fmt_buf t = { text, sizeof(text), 0 };
		step_text(c, &r[i], &t);
		/* step texts hold no quote or backslash: names, numbers, addresses */
		fmt_put(&b, "%s{\"ns\":%lu,\"layer\":\"%s\",\"event\":\"%s\",\"text\":\"%s\"}", i ? "," : "",
		     (unsigned long)(r[i].ts_ns - r[0].ts_ns),
		     r[i].layer < TL_COUNT ? trace_layer_names[r[i].layer] : "drop",
		     r[i].event < TE_COUNT ? trace_event_names[r[i].event] : "?", text);
	}
	fmt_put(&b, "]}\n");
	return (int)b.len;
}

static int trace_match(void *ctx, const uint8_t *frame, size_t len)
{
	struct capture *c = ctx;
	return pkt_filter_match(&c->trace.f, frame, len);
}

static void trace_done(void *ctx, const struct trace_rec *r, int n)
{
	struct capture *c = ctx;
	struct capture_trace *t = &c->trace;
	uint32_t k = (uint32_t)(t->seq++ % CAPTURE_TRACE_KEEP);
	memcpy(t->keep[k], r, (size_t)n * sizeof(*r));
	t->keep_n[k] = (uint8_t)n;
	t->done++;
	if (t->limit && t->done >= t->limit) {
		/* Enough: no more records; the lines and the count follow from the poll. */
		net_trace_detach(c->core);
		t->ending = 1;
	}
}

/* The shell's lines, printed from net_poll() rather than from inside the packet's path
 * (console output there would be part of the times measured). */
static void trace_flush(struct capture *c)
{
	struct capture_trace *t = &c->trace;
	char line[CAPTURE_LINE_MAX];
	if (t->seq - t->shown > CAPTURE_TRACE_KEEP) {
		t->dropped += t->seq - t->shown - CAPTURE_TRACE_KEEP;
		t->shown = t->seq - CAPTURE_TRACE_KEEP;
	}
	for (; t->shown < t->seq; t->shown++) {
		uint32_t k = (uint32_t)(t->shown % CAPTURE_TRACE_KEEP);
		int len = capture_trace_text(c, t->keep[k], t->keep_n[k], line, sizeof(line));
		if (len >= (int)sizeof(line)) {
			len = sizeof(line) - 1;
			line[len - 1] = '\n';
		}
		if (!bucket_take(&t->budget, &t->budget_ns, c->core->now_ns, (size_t)len)) {
			t->dropped++;
			continue;
		}
		t->printed++;
		t->out(t->ctx, line);
	}
}

void capture_poll(struct capture *c)
{
	struct capture_trace *t = &c->trace;
	if (!t->out)
		return;
	if (t->ending)
		capture_trace_stop(c);
	else if (t->active)
		trace_flush(c);
}

int capture_trace_start(struct capture *c, const char *expr, uint32_t limit, capture_out_fn out,
			void *ctx, char *err, size_t errcap)
{
	struct capture_trace *t = &c->trace;
	if (t->active) {
		strlcpy(err, "another trace is running", errcap);
		return -2;
	}
	if (pkt_filter_compile(&t->f, expr, err, errcap))
		return -1;
	t->limit = limit;
	t->done = t->printed = t->dropped = 0;
	t->shown = t->seq;
	t->ending = 0;
	t->budget = CAPTURE_OUT_BURST;
	t->budget_ns = c->core->now_ns;
	t->out = out;
	t->ctx = ctx;
	t->active = 1;
	memset(c->tracer.active, 0, sizeof(c->tracer.active));
	net_trace_attach(c->core, &c->tracer);
	return 0;
}

void capture_trace_stop(struct capture *c)
{
	struct capture_trace *t = &c->trace;
	if (!t->active)
		return;
	t->active = 0;
	t->ending = 0;
	net_trace_detach(c->core);
	if (t->out) {
		char buf[120];
		trace_flush(c);
		ksnprintf(buf, sizeof(buf), "\n%lu packets traced, %lu lines dropped\n",
			  (unsigned long)t->done, (unsigned long)t->dropped);
		t->out(t->ctx, buf);
		t->out = NULL;
	}
}
