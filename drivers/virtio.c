/*
 * Virtio 1.x PCI transport, modern interface only (virtio 1.2 §4.1), and split
 * virtqueues (§2.7). The device driver decides what the buffers are; this file only
 * knows capabilities, the status handshake, feature bits, ring memory and doorbells.
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

#define RESET_TIMEOUT_US 100000

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
		return -1;
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
	return read8(vp->common + COMMON_STATUS);
}

static void add_status(struct virtio_pci *vp, uint8_t bits)
{
	write8(vp->common + COMMON_STATUS, get_status(vp) | bits);
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
	write8(vp->common + COMMON_STATUS, 0);
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

/* §3.1.1 steps 1-6. */
int virtio_start(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
	if (reset(vp) < 0)
		return -1;
	add_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(vp, VIRTIO_STATUS_DRIVER);
	uint64_t f = device_features(vp) & wanted;
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

/* The device answers VIRTIO_MSI_NO_VECTOR when it cannot use the entry (§4.1.5.1.2). */
int virtio_config_vector(struct virtio_pci *vp, uint16_t entry)
{
	write16(vp->common + COMMON_MSIX_CONFIG, entry);
	return read16(vp->common + COMMON_MSIX_CONFIG) == entry ? 0 : -1;
}

uint8_t virtio_config_generation(struct virtio_pci *vp)
{
	return read8(vp->common + COMMON_CFG_GENERATION);
}

uint8_t virtio_config8(struct virtio_pci *vp, uint32_t off)
{
	return off < vp->device_len ? read8(vp->device + off) : 0;
}

uint16_t virtio_config16(struct virtio_pci *vp, uint32_t off)
{
	return off + 2 <= vp->device_len ? read16(vp->device + off) : 0;
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

/* §2.7.7: true when the index moved past event in the step old -> new. */
static int need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

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
		write16(q->notify, q->index);
		q->kicks++;
	} else {
		q->kicks_suppressed++;
	}
}

void virtq_notify(struct virtq *q)
{
	mb();
	write16(q->notify, q->index);
	q->kicks_forced++;
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

void virtq_irq_after(struct virtq *q, uint16_t idx)
{
	if (q->event_idx)
		*q->used_event = idx;
	else
		q->avail->flags = 0;
}
