/*
 * Virtio PCI transport (virtio 1.2 §4.1) and split virtqueues (§2.7). The device
 * driver decides what the buffers are; this file only knows capabilities, the status
 * handshake, feature bits, ring memory and doorbells.
 *
 * Two register interfaces behind one API: the modern one (vendor capabilities
 * pointing into memory BARs, §4.1.4) whenever the device offers it, which covers
 * 1af4:1041-style modern devices and transitional 1af4:1000-style ones alike; and the
 * legacy one (§4.1.4.8: a fixed register block in I/O BAR0) for devices without the
 * capabilities (QEMU disable-modern=on). Each public function branches once on
 * vp->legacy; the legacy halves are the leg_* helpers at the end of the file.
 */
#include "drivers/virtio.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "lib/string.h"
#include "kernel/time.h"

/* struct virtio_pci_cap (§4.1.4), offsets from the capability. */
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16              /* virtio_pci_notify_cap only */

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* struct virtio_pci_common_cfg (§4.1.4.3). */
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0C
#define COMMON_MSIX_CONFIG 0x10
#define COMMON_STATUS 0x14
#define COMMON_CFG_GENERATION 0x15
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1A
#define COMMON_Q_ENABLE 0x1C
#define COMMON_Q_NOTIFY_OFF 0x1E
#define COMMON_Q_DESC 0x20
#define COMMON_Q_DRIVER 0x28
#define COMMON_Q_DEVICE 0x30
#define COMMON_LEN 0x38                 /* up to and including queue_device */

/* Legacy register block in BAR0 I/O space (§4.1.4.8), offsets from its base. */
#define LEG_DEVICE_FEATURES 0x00        /* 32 bits: features 0-31 only */
#define LEG_GUEST_FEATURES 0x04
#define LEG_QUEUE_PFN 0x08              /* ring address >> 12 (§2.7.2 legacy alignment) */
#define LEG_QUEUE_SIZE 0x0C             /* read-only: the device fixes the size */
#define LEG_QUEUE_SELECT 0x0E
#define LEG_QUEUE_NOTIFY 0x10
#define LEG_STATUS 0x12
#define LEG_ISR 0x13
#define LEG_CONFIG_VECTOR 0x14          /* only while MSI-X is enabled */
#define LEG_QUEUE_VECTOR 0x16           /* only while MSI-X is enabled */
#define LEG_CONFIG 0x14                 /* device config without MSI-X ... */
#define LEG_CONFIG_MSIX 0x18            /* ... and with it: it moves by 4 */
#define LEG_QUEUE_ALIGN 4096

#define RESET_TIMEOUT_US 100000

static int leg_init(struct virtio_pci *vp);
static uint8_t leg_status(struct virtio_pci *vp);
static void leg_set_status(struct virtio_pci *vp, uint8_t v);
static int leg_features(struct virtio_pci *vp, uint64_t wanted, uint64_t required);
static uint16_t leg_config_base(const struct virtio_pci *vp);
static int leg_queue(struct virtio_pci *vp, struct virtq *q, uint16_t index, uint16_t max_size,
		     uint16_t msix);

struct cap_map {
	volatile uint8_t *base;
	uint32_t len;
};

/* Maps the structure one vendor capability points at, if it lies inside its BAR. */
static int map_cap(struct pci_dev *d, uint8_t cap, struct cap_map *m)
{
	uint8_t bar = pci_read8(d, cap + CAP_BAR);
	uint32_t off = pci_read32(d, cap + CAP_OFFSET), len = pci_read32(d, cap + CAP_LENGTH);
	if (bar > 5 || d->bar[bar].is_io || (uint64_t)off + len > d->bar[bar].size)
		return -1;
	volatile uint8_t *base = pci_map_bar(d, bar);
	if (!base)
		return -1;
	m->base = base + off;
	m->len = len;
	return 0;
}

/* §4.1.4: a device may offer several capabilities of one type; the driver uses the
 * first it can, in capability-list order (not offset order, so no pci_find_cap). */
int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci)
{
	struct cap_map common = { 0 }, notify = { 0 }, isr = { 0 }, device = { 0 };
	memset(vp, 0, sizeof(*vp));
	vp->pci = pci;
	pci_enable(pci, 1);
	for (int i = 0; i < pci->ncaps; i++) {
		uint8_t cap = pci->caps[i].off;
		if (pci->caps[i].id != PCI_CAP_VENDOR)
			continue;
		uint8_t type = pci_read8(pci, cap + CAP_CFG_TYPE);
		struct cap_map *m = type == VIRTIO_PCI_CAP_COMMON_CFG ? &common :
				    type == VIRTIO_PCI_CAP_NOTIFY_CFG ? &notify :
				    type == VIRTIO_PCI_CAP_ISR_CFG ? &isr :
				    type == VIRTIO_PCI_CAP_DEVICE_CFG ? &device : NULL;
		if (!m || m->base || map_cap(pci, cap, m) < 0)
			continue;
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			vp->notify_mult = pci_read32(pci, cap + CAP_NOTIFY_MULT);
	}
	if (!common.base || common.len < COMMON_LEN || !notify.base || !isr.base || !device.base)
		return leg_init(vp);
	vp->common = common.base;
	vp->notify_base = notify.base;
	vp->notify_len = notify.len;
	vp->isr = isr.base;
	vp->device = device.base;
	vp->device_len = device.len;
	return 0;
}

static uint8_t get_status(struct virtio_pci *vp)
{
	return vp->legacy ? leg_status(vp) : read8(vp->common + COMMON_STATUS);
}

static void set_status(struct virtio_pci *vp, uint8_t v)
{
	if (vp->legacy)
		leg_set_status(vp, v);
	else
		write8(vp->common + COMMON_STATUS, v);
}

static void add_status(struct virtio_pci *vp, uint8_t bits)
{
	set_status(vp, get_status(vp) | bits);
}

void virtio_fail(struct virtio_pci *vp)
{
	add_status(vp, VIRTIO_STATUS_FAILED);
}

void virtio_driver_ok(struct virtio_pci *vp)
{
	add_status(vp, VIRTIO_STATUS_DRIVER_OK);
}

int virtio_has(const struct virtio_pci *vp, int bit)
{
	return (vp->features >> bit) & 1;
}

/* §4.1.4.3.2: after writing 0 the driver waits until the device reads back 0. */
static int reset(struct virtio_pci *vp)
{
	set_status(vp, 0);
	uint64_t end = time_us() + RESET_TIMEOUT_US;
	while (get_status(vp) != 0)
		if (time_us() > end)
			return -1;
	return 0;
}

static uint64_t device_features(struct virtio_pci *vp)
{
	write32(vp->common + COMMON_DFSELECT, 0);
	uint64_t lo = read32(vp->common + COMMON_DF);
	write32(vp->common + COMMON_DFSELECT, 1);
	return lo | (uint64_t)read32(vp->common + COMMON_DF) << 32;
}

static void driver_features(struct virtio_pci *vp, uint64_t f)
{
	write32(vp->common + COMMON_GFSELECT, 0);
	write32(vp->common + COMMON_GF, (uint32_t)f);
	write32(vp->common + COMMON_GFSELECT, 1);
	write32(vp->common + COMMON_GF, (uint32_t)(f >> 32));
}

/* §3.1.1 steps 1-3, then step 4's read of the device's features. */
int virtio_begin(struct virtio_pci *vp, uint64_t *offered)
{
	if (reset(vp) < 0)
		return -1;
	add_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(vp, VIRTIO_STATUS_DRIVER);
	*offered = vp->legacy ? inl((uint16_t)(vp->io + LEG_DEVICE_FEATURES)) : device_features(vp);
	return 0;
}

/* §3.1.1 steps 4-6. */
int virtio_accept(struct virtio_pci *vp, uint64_t f, uint64_t required)
{
	if (vp->legacy)
		return leg_features(vp, f, required);
	f &= device_features(vp);
	if ((f & required) != required) {
		virtio_fail(vp);
		return -1;
	}
	driver_features(vp, f);
	add_status(vp, VIRTIO_STATUS_FEATURES_OK);
	/* The device may refuse this subset: it then leaves FEATURES_OK clear. */
	if (!(get_status(vp) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_fail(vp);
		return -1;
	}
	vp->features = f;
	return 0;
}

int virtio_start(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
	uint64_t offered;
	if (virtio_begin(vp, &offered) < 0)
		return -1;
	return virtio_accept(vp, offered & wanted, required);
}

/* The device answers VIRTIO_MSI_NO_VECTOR when it cannot use the entry (§4.1.5.1.2). */
int virtio_config_vector(struct virtio_pci *vp, uint16_t entry)
{
	if (vp->legacy) {
		if (!vp->pci->msix_table)       /* the register exists only with MSI-X on */
			return entry == VIRTIO_MSI_NO_VECTOR ? 0 : -1;
		outw((uint16_t)(vp->io + LEG_CONFIG_VECTOR), entry);
		return inw((uint16_t)(vp->io + LEG_CONFIG_VECTOR)) == entry ? 0 : -1;
	}
	write16(vp->common + COMMON_MSIX_CONFIG, entry);
	return read16(vp->common + COMMON_MSIX_CONFIG) == entry ? 0 : -1;
}

/* Legacy devices have no generation counter (§4.1.4.8): a constant makes the
 * callers' retry loops single passes. */
uint8_t virtio_config_generation(struct virtio_pci *vp)
{
	return vp->legacy ? 0 : read8(vp->common + COMMON_CFG_GENERATION);
}

/* Legacy config is guest-endian, which is little-endian here, like modern. */
uint8_t virtio_config8(struct virtio_pci *vp, uint32_t off)
{
	if (vp->legacy)
		return off + leg_config_base(vp) < vp->io_len ?
		       inb((uint16_t)(vp->io + leg_config_base(vp) + off)) : 0;
	return off < vp->device_len ? read8(vp->device + off) : 0;
}

uint16_t virtio_config16(struct virtio_pci *vp, uint32_t off)
{
	if (vp->legacy)
		return off + leg_config_base(vp) + 2 <= vp->io_len ?
		       inw((uint16_t)(vp->io + leg_config_base(vp) + off)) : 0;
	return off + 2 <= vp->device_len ? read16(vp->device + off) : 0;
}

uint32_t virtio_config32(struct virtio_pci *vp, uint32_t off)
{
	if (vp->legacy)
		return off + leg_config_base(vp) + 4 <= vp->io_len ?
		       inl((uint16_t)(vp->io + leg_config_base(vp) + off)) : 0;
	return off + 4 <= vp->device_len ? read32(vp->device + off) : 0;
}

uint8_t virtio_isr(struct virtio_pci *vp)
{
	return vp->legacy ? inb((uint16_t)(vp->io + LEG_ISR)) : read8(vp->isr);
}

/* 64-bit fields may be written as two 32-bit halves (§4.1.3.1). */
static void write_addr(struct virtio_pci *vp, uint32_t reg, uint64_t v)
{
	write32(vp->common + reg, (uint32_t)v);
	write32(vp->common + reg + 4, (uint32_t)(v >> 32));
}

static uint16_t pow2_floor(uint16_t n)
{
	uint16_t p = 1;
	while (p <= n / 2)
		p = (uint16_t)(p * 2);
	return p;
}

/* Descriptor table, then the driver area (avail ring + used_event), then the device
 * area (used ring + avail_event) on its own page; §2.7 alignment is 16, 2 and 4. */
static int ring_alloc(struct virtq *q, uint16_t size)
{
	size_t avail_off = (size_t)size * sizeof(struct virtq_desc);
	size_t used_off = (avail_off + 6 + 2u * size + 4095) & ~(size_t)4095;
	size_t bytes = used_off + 6 + 8u * size;
	uint8_t *mem = dma_alloc(bytes, 4096, &q->mem_phys);
	if (!mem)
		return -1;
	q->mem = mem;
	q->mem_bytes = bytes;
	q->size = size;
	q->desc = (volatile struct virtq_desc *)mem;
	q->avail = (volatile struct virtq_avail *)(mem + avail_off);
	q->used = (volatile struct virtq_used *)(mem + used_off);
	q->used_event = &q->avail->ring[size];
	q->avail_event = (volatile uint16_t *)&q->used->ring[size];
	q->avail_off = avail_off;
	q->used_off = used_off;
	return 0;
}

/* §4.1.5.1.3 virtqueue configuration. */
int virtq_setup(struct virtio_pci *vp, struct virtq *q, uint16_t index, uint16_t max_size,
		uint16_t msix)
{
	memset(q, 0, sizeof(*q));
	if (vp->legacy)
		return leg_queue(vp, q, index, max_size, msix);
	write16(vp->common + COMMON_Q_SELECT, index);
	uint16_t dev_size = read16(vp->common + COMMON_Q_SIZE);
	if (dev_size == 0 || max_size == 0)
		return -1;
	uint32_t noff = (uint32_t)read16(vp->common + COMMON_Q_NOTIFY_OFF) * vp->notify_mult;
	if (noff + 2 > vp->notify_len)
		return -1;
	if (ring_alloc(q, pow2_floor(dev_size < max_size ? dev_size : max_size)) < 0)
		return -1;
	write16(vp->common + COMMON_Q_SIZE, q->size);
	write16(vp->common + COMMON_Q_MSIX, msix);
	if (read16(vp->common + COMMON_Q_MSIX) != msix) {
		dma_free(q->mem, q->mem_bytes);
		return -1;
	}
	write_addr(vp, COMMON_Q_DESC, q->mem_phys);
	write_addr(vp, COMMON_Q_DRIVER, q->mem_phys + q->avail_off);
	write_addr(vp, COMMON_Q_DEVICE, q->mem_phys + q->used_off);
	q->notify = (volatile uint16_t *)(vp->notify_base + noff);
	q->index = index;
	q->event_idx = virtio_has(vp, VIRTIO_F_EVENT_IDX);
	write16(vp->common + COMMON_Q_ENABLE, 1);
	return 0;
}

void virtq_post(struct virtq *q, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
	volatile struct virtq_desc *d = &q->desc[id];
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = 0;
	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	q->avail_idx++;
}

void virtq_post_chain(struct virtq *q, const uint16_t *ids, const uint64_t *addrs,
		      const uint32_t *lens, unsigned n)
{
	/* Tail first: the head, written last, is what the avail ring publishes. */
	for (unsigned i = n; i-- > 0;) {
		volatile struct virtq_desc *d = &q->desc[ids[i]];
		d->addr = addrs[i];
		d->len = lens[i];
		d->flags = i + 1 < n ? VIRTQ_DESC_F_NEXT : 0;
		d->next = i + 1 < n ? ids[i + 1] : 0;
	}
	q->avail->ring[q->avail_idx & (q->size - 1)] = ids[0];
	q->avail_idx++;
}

/* Modern: a write to the queue's notify address; legacy: Queue Notify in I/O space. */
static void doorbell(struct virtq *q)
{
	if (q->notify_port)
		outw(q->notify_port, q->index);
	else
		write16(q->notify, q->index);
}

/* §2.7.7: true when the index moved past event in the step old -> new. */
static int need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * §2.7.13.3 / §2.7.10: publish, then decide. The store of avail->idx and the load of
 * avail_event are a store then a load: x86 may reorder exactly that pair, so a full
 * barrier (mfence) sits between them; without it the device could read the old
 * avail->idx after setting avail_event to it, while we read its previous avail_event,
 * and neither side would act. old_idx is the index as last published (notified or
 * not): the device asks to be told when the index moves past avail_event, so the
 * window that matters is the whole step old_idx -> new_idx (Linux
 * virtqueue_kick_prepare_split).
 */
void virtq_kick(struct virtq *q)
{
	uint16_t old_idx = q->kicked_idx, new_idx = q->avail_idx;
	if (old_idx == new_idx)
		return;
	wmb();          /* descriptors and ring entries before the index that publishes them */
	q->avail->idx = new_idx;
	q->kicked_idx = new_idx;
	mb();           /* the index store before the avail_event load (store-load order) */
	int notify = q->event_idx ? need_event(*q->avail_event, new_idx, old_idx)
				  : !(q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	if (notify) {
		doorbell(q);
		q->kicks++;
		q->notified_idx = new_idx;
	} else {
		q->kicks_suppressed++;
	}
}

void virtq_notify(struct virtq *q)
{
	mb();
	doorbell(q);
	q->kicks_forced++;
	q->notified_idx = q->kicked_idx;
}

uint16_t virtq_used_pending(const struct virtq *q)
{
	return (uint16_t)(q->used->idx - q->last_used);
}

int virtq_get_used(struct virtq *q, uint16_t *id, uint32_t *len)
{
	if (q->last_used == q->used->idx)
		return 0;
	rmb();          /* the entry is valid once the index covers it */
	volatile struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	uint32_t used_id = e->id;
	*id = used_id < q->size ? (uint16_t)used_id : 0xFFFF;  /* the caller rejects 0xFFFF */
	*len = e->len;
	q->last_used++;
	return 1;
}

void virtq_irq(struct virtq *q, int on)
{
	if (q->event_idx)
		*q->used_event = on ? q->last_used : (uint16_t)(q->last_used - 1);
	else
		q->avail->flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	if (on)
		mb();
}

/* Linux virtqueue_enable_cb_delayed: the device may have passed idx before it saw the
 * new used_event, and then raises nothing; the barrier orders our store before the
 * re-read of used->idx so that case is seen here instead. */
int virtq_irq_after(struct virtq *q, uint16_t idx)
{
	if (q->event_idx)
		*q->used_event = idx;
	else
		q->avail->flags = 0;
	mb();
	return (uint16_t)(q->used->idx - q->last_used) > (uint16_t)(idx - q->last_used);
}

/* ---- legacy interface (virtio 1.2 §4.1.4.8, §4.1.5 "Legacy Interfaces") ------------- */

static int leg_init(struct virtio_pci *vp)
{
	const struct pci_bar *b = &vp->pci->bar[0];
	if (!b->is_io || b->size < LEG_CONFIG || b->addr > 0xFFFF - b->size)
		return -1;
	vp->legacy = 1;
	vp->io = (uint16_t)b->addr;
	vp->io_len = (uint32_t)b->size;
	return 0;
}

static uint8_t leg_status(struct virtio_pci *vp)
{
	return inb((uint16_t)(vp->io + LEG_STATUS));
}

static void leg_set_status(struct virtio_pci *vp, uint8_t v)
{
	outb((uint16_t)(vp->io + LEG_STATUS), v);
}

/* Legacy negotiation is features 0-31 and no FEATURES_OK step (§4.1.4.8,
 * §3.1.2 "Legacy Interface: Device Initialization"): the device cannot refuse. */
static int leg_features(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
	uint64_t f = inl((uint16_t)(vp->io + LEG_DEVICE_FEATURES)) & wanted & 0xFFFFFFFFull;
	if ((f & required) != required) {
		virtio_fail(vp);
		return -1;
	}
	outl((uint16_t)(vp->io + LEG_GUEST_FEATURES), (uint32_t)f);
	vp->features = f;
	return 0;
}

static uint16_t leg_config_base(const struct virtio_pci *vp)
{
	return vp->pci->msix_table ? LEG_CONFIG_MSIX : LEG_CONFIG;
}

/* §4.1.5.1.3.1 legacy: the device fixes the queue size, the ring is one physically
 * contiguous block (descriptors, avail ring, then the used ring on the next
 * LEG_QUEUE_ALIGN boundary, exactly ring_alloc's layout), given as a page number. */
static int leg_queue(struct virtio_pci *vp, struct virtq *q, uint16_t index, uint16_t max_size,
		     uint16_t msix)
{
	outw((uint16_t)(vp->io + LEG_QUEUE_SELECT), index);
	uint16_t size = inw((uint16_t)(vp->io + LEG_QUEUE_SIZE));
	if (size == 0 || size > max_size || (size & (size - 1)))
		return -1;
	if (ring_alloc(q, size) < 0)
		return -1;
	_Static_assert(LEG_QUEUE_ALIGN == 4096, "ring_alloc puts the used ring on a 4 KiB boundary");
	if (vp->pci->msix_table) {
		outw((uint16_t)(vp->io + LEG_QUEUE_VECTOR), msix);
		if (inw((uint16_t)(vp->io + LEG_QUEUE_VECTOR)) != msix) {
			dma_free(q->mem, q->mem_bytes);
			return -1;
		}
	}
	outl((uint16_t)(vp->io + LEG_QUEUE_PFN), (uint32_t)(q->mem_phys / LEG_QUEUE_ALIGN));
	q->notify_port = (uint16_t)(vp->io + LEG_QUEUE_NOTIFY);
	q->index = index;
	q->event_idx = virtio_has(vp, VIRTIO_F_EVENT_IDX);
	return 0;
}
