/*
 * NIC registry, the main-loop hook that drives NAPI polls, and the `nic` shell command.
 * Call order: nic_set_poll_only() -> probes call nic_register() -> loop_run() calls
 * nic_loop_poll() every turn and nic_loop_pending() before it halts.
 * The contract the hook follows is written once, in net/netdev.h.
 */
#include "drivers/nic.h"
#include "drivers/nic_test.h"
#include "kernel/console.h"
#include "kernel/dma.h"
#include "lib/fmt.h"
#include "kernel/loop.h"
#include "kernel/shell.h"
#include "lib/string.h"
#include "kernel/time.h"

#define HOUSEKEEPING_NS 1000000000ull   /* link and hardware counter refresh */
#define POLL_SPIN_NS 2000000ull         /* poll-only: spin this long after the last frame */
#define SEND_MAX 100000
#define SEND_RETRIES 1000               /* reclaim rounds while the TX ring is full */
#define TEST_FRAME_LEN 60               /* minimum Ethernet frame without FCS */
#define TEST_CSUM_PAYLOAD 200           /* `nic send DEV N csum`: bytes per UDP/TCP frame */
#define TEST_TSO_PAYLOAD 20000          /* `nic send DEV N tso`: 14 segments of NIC_TEST_MSS */
#define TEST_TSO_SLOTS 4

struct nic {
	struct netdev *dev;
	volatile int tx_event;          /* set by interrupt handlers, cleared by the hook */
	volatile int link_event;
	int link;                       /* last link state logged */
	uint64_t default_drops;         /* frames freed because no stack was attached */
	uint64_t busy_until_ns;         /* poll-only: keep polling (no hlt) until then */
};

static struct nic nics[NIC_MAX];
static int nnics;
static int poll_only;
static int ready;
static netdev_deliver_fn deliver_fn;
static void *deliver_ctx;
static uint64_t next_housekeeping;

static void setup(void);

void nic_set_poll_only(int on)
{
	setup();
	poll_only = on;
}

int nic_poll_only(void)
{
	return poll_only;
}

static struct nic *find(const struct netdev *dev)
{
	for (int i = 0; i < nnics; i++)
		if (nics[i].dev == dev)
			return &nics[i];
	return NULL;
}

void nic_register(struct netdev *dev)
{
	setup();
	if (nnics == NIC_MAX) {
		log_warn("nic: more than %d NICs, %s device ignored", NIC_MAX, dev->driver);
		return;
	}
	struct nic *n = &nics[nnics];
	memset(n, 0, sizeof(*n));
	n->dev = dev;
	n->link = -1;
	if (!dev->speed_mbps)   /* a driver that never reads duplex must not show "half" */
		dev->full_duplex = -1;
	ksnprintf(dev->name, sizeof(dev->name), "eth%d", nnics);
	dev->ifindex = (uint32_t)nnics + 1;
	nnics++;
}

int nic_count(void)
{
	return nnics;
}

struct netdev *nic_get(int i)
{
	return i >= 0 && i < nnics ? nics[i].dev : NULL;
}

static void default_deliver(void *ctx, struct netdev *dev, struct pkt *p)
{
	(void)ctx;
	struct nic *n = find(dev);
	if (n)
		n->default_drops++;
	pkt_free(p);
}

void nic_set_deliver(netdev_deliver_fn fn, void *ctx)
{
	deliver_fn = fn ? fn : default_deliver;
	deliver_ctx = fn ? ctx : NULL;
}

void nic_tx_event(struct netdev *dev)
{
	struct nic *n = find(dev);
	if (n)
		n->tx_event = 1;
}

void nic_link_event(struct netdev *dev)
{
	struct nic *n = find(dev);
	if (n)
		n->link_event = 1;
}

int nic_pool_create(struct pkt_pool *pool, uint32_t nslots)
{
	uint64_t phys;
	void *mem = dma_alloc((size_t)nslots * PKT_SLOT_SIZE, 4096, &phys);
	if (!mem)
		return -1;
	pkt_pool_init(pool, mem, phys, nslots);
	return 0;
}

/* ---- main loop hook ------------------------------------------------------------- */

/* "1000 Mb/s full duplex", or what of it the driver knows. */
static const char *link_desc(const struct netdev *d, char *buf, size_t size)
{
	const char *duplex = d->full_duplex == 1 ? "full" : d->full_duplex == 0 ? "half" : "unknown";
	if (d->speed_mbps)
		ksnprintf(buf, size, "%u Mb/s %s duplex", (unsigned)d->speed_mbps, duplex);
	else
		ksnprintf(buf, size, "speed unknown, %s duplex", duplex);
	return buf;
}

/* The first reading is the initial state, not a change. */
static void check_link(struct nic *n)
{
	struct netdev *d = n->dev;
	char desc[48];
	int up = d->ops->link_up(d);
	if (up == n->link)
		return;
	if (n->link >= 0)
		d->link_changes++;
	if (up)
		log_info("%s: link up, %s (%lu changes)", d->name, link_desc(d, desc, sizeof(desc)),
			 (unsigned long)d->link_changes);
	else
		log_info("%s: link down (%lu changes)", d->name, (unsigned long)d->link_changes);
	n->link = up;
}

/* Once a second: link (also covers poll-mode devices, which get no link interrupt)
 * and the clear-on-read hardware counters, which drivers accumulate in get_stats. */
static void housekeeping(uint64_t now)
{
	struct netdev_stats st;
	next_housekeeping = now + HOUSEKEEPING_NS;
	for (int i = 0; i < nnics; i++) {
		check_link(&nics[i]);
		nics[i].dev->ops->get_stats(nics[i].dev, &st);
	}
}

static void nic_loop_poll(void *ctx, uint64_t now)
{
	(void)ctx;
	for (int i = 0; i < nnics; i++) {
		struct nic *n = &nics[i];
		struct netdev *dev = n->dev;
		if ((dev->napi_pending || dev->poll_only) &&
		    netdev_napi_poll(dev, NIC_BUDGET, deliver_fn, deliver_ctx) > 0 && dev->poll_only)
			n->busy_until_ns = now + POLL_SPIN_NS;
		n->tx_event = 0;
		dev->ops->tx_reclaim(dev);
		if (n->link_event) {
			n->link_event = 0;
			check_link(n);
		}
	}
	if (now >= next_housekeeping)
		housekeeping(now);
}

/* Runs with interrupts off just before hlt. Poll-only devices are polled on every
 * wake-up, at least each timer tick; adaptively, one that received a frame in the last
 * POLL_SPIN_NS counts as pending, so the loop spins instead of halting while a
 * conversation is under way (its next frame is not parked until the tick), and goes
 * back to sleeping on the tick once it is quiet. */
static int nic_loop_pending(void *ctx)
{
	(void)ctx;
	uint64_t now = time_ns();
	for (int i = 0; i < nnics; i++)
		if (nics[i].dev->napi_pending || nics[i].tx_event || nics[i].link_event ||
		    now < nics[i].busy_until_ns)
			return 1;
	return 0;
}

static const struct loop_hook nic_hook = {
	.name = "nic", .poll = nic_loop_poll, .pending = nic_loop_pending,
};

/* ---- shell ---------------------------------------------------------------------- */

static struct netdev *by_name(const char *name)
{
	for (int i = 0; i < nnics; i++)
		if (strcmp(nics[i].dev->name, name) == 0)
			return nics[i].dev;
	kprintf("nic: no device %s\n", name);
	return NULL;
}

/* Decimal, no sign, at most 9 digits; -1 when malformed. */
static long parse_count(const char *s)
{
	long v = 0;
	int digits = 0;
	for (; *s; s++, digits++) {
		if (*s < '0' || *s > '9' || digits == 9)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return digits ? v : -1;
}

static void show(struct nic *n)
{
	struct netdev *d = n->dev;
	struct netdev_stats st;
	d->ops->get_stats(d, &st);
	const uint8_t *m = d->mac;
	char desc[48];
	check_link(n);          /* what we show and what we counted agree */
	int up = n->link;
	kprintf("%s: %s %02x:%02x:%02x:%02x:%02x:%02x link %s irq %s mtu %u\n", d->name,
		d->driver, m[0], m[1], m[2], m[3], m[4], m[5], up ? "up" : "down", d->irq_mode, d->mtu);
	kprintf("    link %s, %lu changes\n", up ? link_desc(d, desc, sizeof(desc)) : "down",
		(unsigned long)d->link_changes);
	kprintf("    rx %lu packets %lu bytes %lu dropped %lu errors %lu missed\n",
		(unsigned long)st.rx_packets, (unsigned long)st.rx_bytes,
		(unsigned long)st.rx_dropped, (unsigned long)st.rx_errors,
		(unsigned long)st.rx_missed);
	kprintf("    tx %lu packets %lu bytes %lu dropped %lu errors\n",
		(unsigned long)st.tx_packets, (unsigned long)st.tx_bytes,
		(unsigned long)st.tx_dropped, (unsigned long)st.tx_errors);
	kprintf("    napi irqs %lu polls %lu rearms %lu budget_exhausted %lu frames %lu\n",
		(unsigned long)d->napi.irqs, (unsigned long)d->napi.polls,
		(unsigned long)d->napi.rearms, (unsigned long)d->napi.budget_exhausted,
		(unsigned long)d->napi.rx_frames);
	kprintf("    pool %u/%u free, %lu alloc failures; unclaimed rx %lu\n",
		d->pool->stats.free, d->pool->stats.slots,
		(unsigned long)d->pool->stats.alloc_failures, (unsigned long)n->default_drops);
}

static void print_xstat(void *ctx, const char *name, uint64_t value)
{
	(void)ctx;
	kprintf("    %s: %lu\n", name, (unsigned long)value);
}

static int cmd_stats(struct netdev *d)
{
	kprintf("%s (%s):\n", d->name, d->driver);
	d->ops->xstats(d, print_xstat, NULL);
	return 0;
}

static struct pkt *test_frame(struct netdev *d, uint32_t seq)
{
	struct pkt *p = pkt_alloc(d->pool);
	if (!p)
		return NULL;
	uint8_t *f = pkt_put(p, TEST_FRAME_LEN);
	if (!f) {
		pkt_free(p);
		return NULL;
	}
	memset(f, 0, TEST_FRAME_LEN);
	memset(f, 0xFF, 6);
	memcpy(f + 6, d->mac, 6);
	f[12] = NIC_TEST_ETHERTYPE >> 8;
	f[13] = NIC_TEST_ETHERTYPE & 0xFF;
	memcpy(f + 14, "SKIFFNIC", 8);
	for (int i = 0; i < 4; i++)
		f[22 + i] = (uint8_t)(seq >> (24 - 8 * i));
	return p;
}

/*
 * Offload test frames (`nic send DEV N csum|tso`), to check a device's transmit offloads
 * end to end: broadcast UDP (csum) or TCP (tso) over IPv4 from 192.0.2.1 to 192.0.2.2
 * (RFC 5737 TEST-NET-1, never routed), the L4 checksum left to the device
 * (PKT_F_CSUM_PARTIAL: the field holds the folded pseudo-header sum over the whole L4
 * length, as Linux's CHECKSUM_PARTIAL), and for tso a 1400-byte payload to be cut into
 * TSO_TEST_MSS-byte segments (PKT_F_GSO_TCP4). Raw bytes by offset (RFC 791, 768, 9293
 * layouts): drivers include no protocol headers. A receiver that is not offload-capable
 * (a plain tap on the same bridge) sees what the device made of them.
 */
#define OFF_IP 14
#define OFF_L4 34
#define TSO_TEST_PAYLOAD 1400
#define TSO_TEST_MSS 400
#define CSUM_TEST_PAYLOAD 200

static int send_one(struct netdev *d, struct pkt *p)
{
	for (int tries = 0; tries < SEND_RETRIES; tries++) {
		if (d->ops->tx_burst(d, &p, 1) == 1)
			return 0;
		d->ops->tx_reclaim(d);
		time_delay_us(10);
	}
	pkt_free(p);
	return -1;
}

/* Large DMA-able buffers for TSO test frames, made on first use. */
static struct pkt_pool tso_pool;

static struct pkt *tso_alloc(void)
{
	if (!tso_pool.base) {
		uint64_t phys;
		size_t slot = pkt_slot_size(TEST_TSO_PAYLOAD + 128);
		void *mem = dma_alloc(TEST_TSO_SLOTS * slot, 4096, &phys);
		if (!mem)
			return NULL;
		pkt_pool_init_sized(&tso_pool, mem, phys, TEST_TSO_SLOTS, TEST_TSO_PAYLOAD + 128);
	}
	return pkt_alloc(&tso_pool);
}

/* Frame number seq of a `nic send` run: mode 0 the test EtherType, 1 UDP and TCP
 * alternately with partial checksums, 2 one TSO frame. */
static struct pkt *send_frame(struct netdev *d, int mode, uint32_t seq)
{
	if (mode == 0)
		return test_frame(d, seq);
	struct pkt *p = mode == 2 ? tso_alloc() : pkt_alloc(d->pool);
	if (!p)
		return NULL;
	enum nic_test_kind kind = mode == 2 || (seq & 1) ? NIC_TEST_TCP : NIC_TEST_UDP;
	if (nic_test_frame(p, d->mac, kind, seq, mode == 2 ? TEST_TSO_PAYLOAD : TEST_CSUM_PAYLOAD) < 0) {
		pkt_free(p);
		return NULL;
	}
	return p;
}

static int send_mode(struct netdev *d, const char *what)
{
	static const struct { const char *name; uint32_t needs; } modes[] = {
		{ "test", 0 }, { "csum", NETDEV_F_TX_CSUM }, { "tso", NETDEV_F_TSO4 },
	};
	for (int m = 0; m < 3; m++) {
		if (strcmp(what, modes[m].name) != 0)
			continue;
		if ((d->features & modes[m].needs) != modes[m].needs) {
			kprintf("%s: the driver does not offload %s\n", d->name, what);
			return -1;
		}
		return m;
	}
	kprintf("nic: frame kind is test, csum or tso\n");
	return -1;
}

static int cmd_send(struct netdev *d, const char *count, const char *what)
{
	long n = parse_count(count);
	int mode = send_mode(d, what);
	if (mode < 0)
		return -1;
	if (n < 1 || n > SEND_MAX) {
		kprintf("nic: count must be 1..%d\n", SEND_MAX);
		return -1;
	}
	long sent = 0;
	for (; sent < n; sent++) {
		struct pkt *p = send_frame(d, mode, (uint32_t)sent);
		if (!p || send_one(d, p) < 0)
			break;
	}
	if (mode == 0)
		kprintf("%s: sent %ld of %ld test frames (ethertype 0x%04x)\n", d->name, sent, n,
			NIC_TEST_ETHERTYPE);
	else
		kprintf("%s: sent %ld of %ld %s frames\n", d->name, sent, n, what);
	return sent == n ? 0 : -1;
}

static int cmd_nic(int argc, char **argv)
{
	if (argc == 1) {
		if (!nnics)
			kprintf("no NICs%s\n", poll_only ? " (poll mode)" : "");
		for (int i = 0; i < nnics; i++)
			show(&nics[i]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "stats") == 0) {
		struct netdev *d = by_name(argv[2]);
		return d ? cmd_stats(d) : -1;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "send") == 0) {
		struct netdev *d = by_name(argv[2]);
		return d ? cmd_send(d, argv[3], argc == 5 ? argv[4] : "test") : -1;
	}
	kprintf("usage: nic [stats DEV | send DEV N [test|csum|tso]]\n");
	return -1;
}

static const struct shell_cmd nic_cmd = {
	"nic", "[stats DEV | send DEV N [test|csum|tso]]",
	"list NICs; driver counters; send N broadcast test frames (csum, tso: offloaded)", cmd_nic
};

/* First call of any entry point: the kernel has its shell and loop by then. */
static void setup(void)
{
	if (ready)
		return;
	ready = 1;
	if (!deliver_fn)
		deliver_fn = default_deliver;
	shell_register(&nic_cmd);
	loop_register(&nic_hook);
}
