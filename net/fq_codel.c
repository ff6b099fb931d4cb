/*
 * fq_codel (fq_codel.h): RFC 8290 flow queueing over RFC 8289 CoDel, following the
 * structure of Linux net/sched/sch_fq_codel.c and include/net/codel_impl.h.
 *
 *   enqueue: classify (§4.1.1) -> stamp -> tail of the flow -> an idle flow joins the
 *            new list with a quantum of credit (§4.1) -> over limit: cut the fattest
 *            flow (§4.1, drop_batch at most, down to half its backlog).
 *   dequeue: DRR over new then old flows (§4.2); a flow out of credit moves to the tail
 *            of old with a fresh quantum; an empty new flow moves to old if old is not
 *            empty (§4.2: otherwise it could starve old flows), an empty old flow leaves.
 *            Each flow dequeues through CoDel (RFC 8289 §5.3-5.5).
 */
#include "net/fq_codel.h"
#include "net/err.h"
#include "net/eth.h"
#include "net/ipv4_wire.h"
#include "lib/fmt.h"
#include "lib/string.h"

void fq_codel_params_default(struct fq_codel_params *p)
{
	p->limit = 10240;
	p->flows = 1024;
	p->quantum = 1514;
	p->target_ns = 5 * FQ_CODEL_NS_PER_MS;
	p->interval_ns = 100 * FQ_CODEL_NS_PER_MS;
	p->memory_limit = 32u << 20;
	p->mtu = 1514;
	p->drop_batch = 64;
	p->ecn = 1;
}

int fq_codel_init(struct fq_codel *fq, const struct fq_codel_params *p,
		  struct fq_codel_flow *flows, uint32_t nflows, uint32_t perturb)
{
	if (!flows || nflows == 0 || nflows != p->flows || p->limit == 0 || p->quantum == 0 ||
	    p->drop_batch == 0 || p->interval_ns == 0)
		return -NET_EINVAL;
	memset(fq, 0, sizeof(*fq));
	memset(flows, 0, sizeof(*flows) * nflows);
	fq->prm = *p;
	fq->flows = flows;
	fq->perturb = perturb;
	return 0;
}

/* ---- classification (RFC 8290 §4.1.1) --------------------------------------------- */

/* A 32-bit mix (the MurmurHash3 finaliser) over a word folded into the running hash. */
static uint32_t mix(uint32_t h, uint32_t w)
{
	h ^= w;
	h *= 0xcc9e2d51u;
	h = h << 15 | h >> 17;
	h *= 0x1b873593u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

/* Hash over what identifies a flow: the IPv4 5-tuple when the frame has one (ports
 * only from unfragmented or first fragments), else the EtherType. Every read is
 * bounded by len (the linear part); a short or odd frame still gets a bucket. */
static uint32_t flow_hash(uint32_t seed, const uint8_t *f, size_t len)
{
	if (len < ETH_HLEN)
		return mix(seed, (uint32_t)len);
	uint16_t type = wire_get16(f + 12);
	uint32_t h = mix(seed, type);
	const uint8_t *ip = f + ETH_HLEN;
	size_t iplen = len - ETH_HLEN;
	if (type != ETH_P_IP || iplen < IPV4_HDR_MIN)
		return h;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	h = mix(h, wire_get32(ip + 12));
	h = mix(h, wire_get32(ip + 16));
	h = mix(h, ip[9]);
	int first_frag = (wire_get16(ip + 6) & IPV4_OFFSET_MASK) == 0;
	int ports = ip[9] == IPV4_PROTO_TCP || ip[9] == IPV4_PROTO_UDP;
	if (ports && first_frag && ihl >= IPV4_HDR_MIN && iplen >= ihl + 4)
		h = mix(h, wire_get32(ip + ihl));
	return h;
}

uint32_t fq_codel_classify(const struct fq_codel *fq, const struct pkt *p)
{
	/* Only the slot's bytes: a scatter-gather tail (pkt.h ext) is not behind them. */
	uint32_t h = flow_hash(fq->perturb, (const uint8_t *)p + p->off, pkt_linear_len(p));
	return (uint32_t)(((uint64_t)h * fq->prm.flows) >> 32);   /* Linux reciprocal_scale */
}

/* ---- flow lists: only push-tail and pop-head are needed --------------------------- */

static void list_push(struct fq_flow_list *l, struct fq_codel_flow *f, uint8_t which)
{
	f->next = NULL;
	f->list = which;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
	l->len++;
}

static struct fq_codel_flow *list_pop(struct fq_flow_list *l)
{
	struct fq_codel_flow *f = l->head;
	if (!f)
		return NULL;
	l->head = f->next;
	if (!l->head)
		l->tail = NULL;
	l->len--;
	f->next = NULL;
	f->list = FQ_LIST_NONE;
	return f;
}

/* ---- accounting ------------------------------------------------------------------- */

static struct pkt *flow_pop(struct fq_codel *fq, struct fq_codel_flow *f)
{
	struct pkt *p = pktq_pop(&f->q);
	if (p) {
		fq->qlen--;
		fq->backlog -= p->len;
		fq->memory_usage -= PKT_SLOT_SIZE;
	}
	return p;
}

static void drop_pkt(struct fq_codel *fq, struct pkt *p)
{
	fq->st.drops++;
	pkt_free(p);
}

/* ---- enqueue ---------------------------------------------------------------------- */

/* RFC 8290 §4.1: over the limit, drop from the head of the flow with the largest
 * backlog until it has lost half of it or drop_batch packets (Linux fq_codel_drop).
 * Returns the flow that was cut. */
static struct fq_codel_flow *drop_fattest(struct fq_codel *fq)
{
	struct fq_codel_flow *fat = &fq->flows[0];
	for (uint32_t i = 1; i < fq->prm.flows; i++)
		if (fq->flows[i].q.bytes > fat->q.bytes)
			fat = &fq->flows[i];
	uint64_t threshold = fat->q.bytes >> 1, cut = 0;
	for (uint32_t n = 0; n < fq->prm.drop_batch && cut < threshold; n++) {
		struct pkt *p = flow_pop(fq, fat);
		if (!p)
			break;
		cut += p->len;
		fq->st.drop_overlimit++;
		drop_pkt(fq, p);
	}
	return fat;
}

int fq_codel_enqueue(struct fq_codel *fq, struct pkt *p, uint64_t now_ns)
{
	struct fq_codel_flow *f = &fq->flows[fq_codel_classify(fq, p)];
	p->ts_ns = now_ns;
	pktq_push(&f->q, p);
	fq->qlen++;
	fq->backlog += p->len;
	fq->memory_usage += PKT_SLOT_SIZE;
	if (f->list == FQ_LIST_NONE) {
		list_push(&fq->new_flows, f, FQ_LIST_NEW);
		fq->st.new_flow_count++;
		f->deficit = (int32_t)fq->prm.quantum;
	}
	int over_mem = fq->memory_usage > fq->prm.memory_limit;
	if (fq->qlen <= fq->prm.limit && !over_mem)
		return 0;
	fq->st.overlimits++;
	uint64_t before = fq->st.drop_overlimit;
	struct fq_codel_flow *cut = drop_fattest(fq);
	if (over_mem)
		fq->st.drop_overmemory += fq->st.drop_overlimit - before;
	return cut == f ? -NET_ENOBUFS : 0;
}

/* ---- CoDel (RFC 8289 §5) ---------------------------------------------------------- */

/* floor(sqrt(x)), bit by bit: 32 rounds, no division. */
static uint64_t isqrt64(uint64_t x)
{
	uint64_t r = 0, bit = 1ull << 62;
	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* RFC 8289 §5.5 control law: t + interval / sqrt(count), in 16.16 fixed point so that
 * count 2 and 3 still differ. */
static uint64_t control_law(const struct fq_codel *fq, uint64_t t, uint32_t count)
{
	uint64_t root = isqrt64((uint64_t)(count ? count : 1) << 32);    /* sqrt(count) << 16 */
	return t + (fq->prm.interval_ns << 16) / root;
}

/* RFC 8289 §5.3 dodequeue: the head packet and whether sojourn has stayed above target
 * for at least an interval (then it is ok to drop). */
static struct pkt *codel_head(struct fq_codel *fq, struct fq_codel_flow *f, uint64_t now,
			      int *ok_to_drop)
{
	struct codel_vars *cv = &f->cv;
	struct pkt *p = flow_pop(fq, f);
	*ok_to_drop = 0;
	if (!p) {
		cv->first_above_time = 0;
		return NULL;
	}
	if (p->len > fq->st.maxpacket)
		fq->st.maxpacket = p->len;
	uint64_t sojourn = now > p->ts_ns ? now - p->ts_ns : 0;
	/* Linux passes the qdisc's whole backlog here: a queue of one MTU never drops. */
	if (sojourn < fq->prm.target_ns || fq->backlog <= fq->prm.mtu) {
		cv->first_above_time = 0;
	} else if (cv->first_above_time == 0) {
		cv->first_above_time = now + fq->prm.interval_ns;
	} else if (now >= cv->first_above_time) {
		*ok_to_drop = 1;
	}
	return p;
}

/* RFC 3168 §5: ECT(0) or ECT(1) becomes CE; the header checksum is patched
 * incrementally (RFC 1624 eqn. 3). 1 if marked, 0 if the packet is not ECN-capable. */
static int ecn_set_ce(struct pkt *p)
{
	uint8_t *f = pkt_data(p);
	if (pkt_linear_len(p) < ETH_HLEN + IPV4_HDR_MIN || wire_get16(f + 12) != ETH_P_IP)
		return 0;       /* the header must be in the slot (pkt.h ext) */
	uint8_t *ip = f + ETH_HLEN;
	if ((ip[0] >> 4) != 4 || (ip[1] & 3) == 0)
		return 0;
	if ((ip[1] & 3) == 3)
		return 1;       /* already CE */
	uint16_t old = wire_get16(ip), new = (uint16_t)(old | 3);
	uint32_t sum = (uint16_t)~wire_get16(ip + 10) + (uint32_t)(uint16_t)~old + new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	wire_put16(ip, new);
	wire_put16(ip + 10, (uint16_t)~sum);
	return 1;
}

/* Drop p, or mark it when ECN allows; 1 if p was marked and is still ours to send. */
static int codel_signal(struct fq_codel *fq, struct pkt *p)
{
	if (fq->prm.ecn && ecn_set_ce(p)) {
		fq->st.ecn_mark++;
		return 1;
	}
	fq->st.codel_drops++;
	drop_pkt(fq, p);
	return 0;
}

/* RFC 8289 §5.4, dropping state: drop at drop_next, each next drop sooner by the
 * control law, until sojourn falls below target. */
static struct pkt *codel_dropping(struct fq_codel *fq, struct fq_codel_flow *f, struct pkt *p,
				  int ok, uint64_t now)
{
	struct codel_vars *cv = &f->cv;
	if (!ok) {
		cv->dropping = 0;
		return p;
	}
	while (p && now >= cv->drop_next && cv->dropping) {
		cv->count++;
		if (codel_signal(fq, p)) {
			cv->drop_next = control_law(fq, cv->drop_next, cv->count);
			return p;
		}
		p = codel_head(fq, f, now, &ok);
		if (!ok)
			cv->dropping = 0;
		else
			cv->drop_next = control_law(fq, cv->drop_next, cv->count);
	}
	return p;
}

/* RFC 8289 §5.4, entering the dropping state; count resumes near its last value when
 * the previous episode was recent (within 16 intervals). */
static struct pkt *codel_enter(struct fq_codel *fq, struct fq_codel_flow *f, struct pkt *p,
			       uint64_t now)
{
	struct codel_vars *cv = &f->cv;
	int ok;
	if (!codel_signal(fq, p))
		p = codel_head(fq, f, now, &ok);
	cv->dropping = 1;
	uint32_t delta = cv->count - cv->lastcount;
	cv->count = 1;
	if (delta > 1 && (int64_t)(now - cv->drop_next) < (int64_t)(16 * fq->prm.interval_ns))
		cv->count = delta;
	cv->drop_next = control_law(fq, now, cv->count);
	cv->lastcount = cv->count;
	return p;
}

static struct pkt *codel_dequeue(struct fq_codel *fq, struct fq_codel_flow *f, uint64_t now)
{
	int ok;
	struct pkt *p = codel_head(fq, f, now, &ok);
	if (!p) {
		f->cv.dropping = 0;
		return NULL;
	}
	if (f->cv.dropping)
		return codel_dropping(fq, f, p, ok, now);
	if (ok)
		return codel_enter(fq, f, p, now);
	return p;
}

/* ---- dequeue: DRR over new, then old flows (RFC 8290 §4.2) ------------------------ */

static struct pkt *sent(struct fq_codel *fq, struct pkt *p)
{
	fq->st.packets++;
	fq->st.bytes += p->len;
	return p;
}

struct pkt *fq_codel_dequeue(struct fq_codel *fq, uint64_t now_ns)
{
	struct pkt *p = pktq_pop(&fq->requeued);
	if (p) {
		fq->qlen--;
		fq->backlog -= p->len;
		fq->memory_usage -= PKT_SLOT_SIZE;
		return sent(fq, p);
	}
	for (;;) {
		struct fq_flow_list *l = fq->new_flows.head ? &fq->new_flows : &fq->old_flows;
		struct fq_codel_flow *f = l->head;
		if (!f)
			return NULL;
		if (f->deficit <= 0) {
			f->deficit += (int32_t)fq->prm.quantum;
			list_push(&fq->old_flows, list_pop(l), FQ_LIST_OLD);
			continue;
		}
		p = codel_dequeue(fq, f, now_ns);
		if (p) {
			f->deficit -= p->len;
			return sent(fq, p);
		}
		list_pop(l);
		if (l == &fq->new_flows && fq->old_flows.head)
			list_push(&fq->old_flows, f, FQ_LIST_OLD);
	}
}

void fq_codel_requeue(struct fq_codel *fq, struct pkt *p)
{
	/* Undo the Sent accounting of the dequeue that handed p out. */
	fq->st.packets--;
	fq->st.bytes -= p->len;
	fq->st.requeues++;
	pktq_push_front(&fq->requeued, p);
	fq->qlen++;
	fq->backlog += p->len;
	fq->memory_usage += PKT_SLOT_SIZE;
}

void fq_codel_purge(struct fq_codel *fq)
{
	pktq_purge(&fq->requeued);
	for (uint32_t i = 0; i < fq->prm.flows; i++) {
		pktq_purge(&fq->flows[i].q);
		memset(&fq->flows[i], 0, sizeof(fq->flows[i]));
	}
	fq->new_flows = (struct fq_flow_list){ 0 };
	fq->old_flows = (struct fq_flow_list){ 0 };
	fq->qlen = 0;
	fq->backlog = 0;
	fq->memory_usage = 0;
}

/* ---- tc -s qdisc show (iproute2 tc/q_fq_codel.c) ---------------------------------- */

static int fmt_mem(char *buf, size_t cap, uint32_t bytes)
{
	if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
		return ksnprintf(buf, cap, "%uMb", bytes >> 20);
	if (bytes >= 1024 && bytes % 1024 == 0)
		return ksnprintf(buf, cap, "%uKb", bytes >> 10);
	return ksnprintf(buf, cap, "%ub", bytes);
}

static int fmt_time(char *buf, size_t cap, uint64_t ns)
{
	if (ns % FQ_CODEL_NS_PER_MS == 0)
		return ksnprintf(buf, cap, "%llums", (unsigned long long)(ns / FQ_CODEL_NS_PER_MS));
	return ksnprintf(buf, cap, "%lluus", (unsigned long long)(ns / 1000));
}

int fq_codel_show(const struct fq_codel *fq, const char *dev, char *buf, size_t cap)
{
	const struct fq_codel_params *p = &fq->prm;
	const struct fq_codel_stats *s = &fq->st;
	char mem[16], tgt[24], ivl[24];
	fmt_mem(mem, sizeof(mem), p->memory_limit);
	fmt_time(tgt, sizeof(tgt), p->target_ns);
	fmt_time(ivl, sizeof(ivl), p->interval_ns);
	return ksnprintf(buf, cap,
		"qdisc fq_codel 0: dev %s root refcnt 2 limit %up flows %u quantum %u "
		"target %s interval %s memory_limit %s %sdrop_batch %u\n"
		" Sent %llu bytes %llu pkt (dropped %llu, overlimits %llu requeues %llu)\n"
		" backlog %llub %up requeues %llu\n"
		"  maxpacket %u drop_overlimit %llu new_flow_count %llu ecn_mark %llu\n"
		"  new_flows_len %u old_flows_len %u\n",
		dev, p->limit, p->flows, p->quantum, tgt, ivl, mem, p->ecn ? "ecn " : "",
		p->drop_batch, (unsigned long long)s->bytes, (unsigned long long)s->packets,
		(unsigned long long)s->drops, (unsigned long long)s->overlimits,
		(unsigned long long)s->requeues, (unsigned long long)fq->backlog, fq->qlen,
		(unsigned long long)s->requeues, s->maxpacket, (unsigned long long)s->drop_overlimit,
		(unsigned long long)s->new_flow_count, (unsigned long long)s->ecn_mark,
		fq->new_flows.len, fq->old_flows.len);
}
