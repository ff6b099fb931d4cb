/*
 * Virtio over PCI (virtio 1.2 §4.1): the modern interface when the device has the
 * vendor capabilities, else the legacy I/O-port interface (§4.1.4.8); split
 * virtqueues (§2.7). Device drivers (virtio_net.c) use it in the order of §3.1.1:
 *   virtio_pci_init -> virtio_start (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK)
 *   -> virtq_setup per queue -> buffers posted -> virtio_driver_ok -> virtq_kick.
 * Descriptors are managed by the device driver: it chooses the id (the descriptor
 * index) of every buffer it posts and gets the id back from virtq_get_used().
 */
#ifndef SKIFF_VIRTIO_H
#define SKIFF_VIRTIO_H

#include <stddef.h>
#include <stdint.h>
#include "drivers/pci.h"

/* Feature bits (§6 reserved features, §5.1.3 network device features). */
#define VIRTIO_F_ANY_LAYOUT 27         /* legacy only: header and data may share a buffer */
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* Split virtqueue layout (§2.7.5, §2.7.6, §2.7.8). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq descriptor is 16 bytes");

#define VIRTQ_DESC_F_NEXT 1     /* the buffer continues in desc[next] (§2.7.5) */
#define VIRTQ_DESC_F_WRITE 2    /* device writes (receive buffers) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];        /* size entries, then used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element is 8 bytes");

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];  /* size entries, then avail_event */
};

struct virtq {
	uint16_t index;                 /* queue number */
	uint16_t size;                  /* entries, a power of two */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile uint16_t *used_event;  /* in the avail ring: interrupt me after this */
	volatile uint16_t *avail_event; /* in the used ring: notify the device after this */
	volatile uint16_t *notify;      /* doorbell (modern) */
	uint16_t notify_port;           /* doorbell (legacy I/O port), 0 for modern */
	uint16_t avail_idx;             /* next avail-ring entry to fill (published on kick) */
	uint16_t kicked_idx;            /* avail->idx as last published */
	uint16_t notified_idx;          /* avail->idx at the last doorbell (diagnostics) */
	uint16_t last_used;             /* next used-ring entry to consume */
	void *mem;                      /* desc, driver area, device area */
	uint64_t mem_phys;
	size_t mem_bytes, avail_off, used_off;
	int event_idx;                  /* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t kicks, kicks_suppressed, kicks_forced;
};

struct virtio_pci {
	struct pci_dev *pci;
	volatile uint8_t *common, *isr, *device, *notify_base;
	uint32_t notify_mult, notify_len, device_len;
	int legacy;                     /* legacy I/O interface (no vendor capabilities) */
	uint16_t io;                    /* legacy: BAR0 I/O base */
	uint32_t io_len;
	uint64_t features;              /* negotiated */
};

/* Finds the common, notify, ISR and device configuration structures through the
 * vendor capabilities (§4.1.4) and maps them; without them, uses the legacy register
 * block if BAR0 is I/O space (vp->legacy = 1). Enables decoding and bus mastering.
 * 0, or -1 if neither interface is usable. A legacy device's config space moves when
 * MSI-X is enabled, so call pci_msix_enable() before reading it. */
int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci);

/* Reset, ACKNOWLEDGE, DRIVER, then negotiate: accepts (offered & wanted), fails unless
 * every bit in required is among them and the device keeps FEATURES_OK (§3.1.1;
 * legacy: bits 0-31 only, no FEATURES_OK). On failure the status is FAILED. 0 or -1. */
int virtio_start(struct virtio_pci *vp, uint64_t wanted, uint64_t required);
/* The same in two steps, for drivers whose wanted set depends on what is offered
 * (feature dependencies, §5.1.3.1): virtio_begin resets, sets ACKNOWLEDGE and DRIVER
 * and reads the offered bits; virtio_accept negotiates f (masked by the offer). */
int virtio_begin(struct virtio_pci *vp, uint64_t *offered);
int virtio_accept(struct virtio_pci *vp, uint64_t f, uint64_t required);
int virtio_has(const struct virtio_pci *vp, int bit);
void virtio_driver_ok(struct virtio_pci *vp);
void virtio_fail(struct virtio_pci *vp);

/* MSI-X entry for configuration changes; 0, or -1 if the device refused it. */
int virtio_config_vector(struct virtio_pci *vp, uint16_t entry);
/* Device configuration fields, each read at its natural width (§4.1.3.1); 0 outside
 * the structure. Multi-field reads repeat while the generation changes (§2.5.1). */
uint8_t virtio_config_generation(struct virtio_pci *vp);
uint8_t virtio_config8(struct virtio_pci *vp, uint32_t off);
uint16_t virtio_config16(struct virtio_pci *vp, uint32_t off);
uint32_t virtio_config32(struct virtio_pci *vp, uint32_t off);
/* Reads (and so clears) the ISR status: bit 0 queue interrupt, bit 1 config change
 * (§4.1.4.5). Only meaningful for INTx. */
uint8_t virtio_isr(struct virtio_pci *vp);
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

/* Sets up queue index with at most max_size entries (a power of two) in DMA memory
 * (legacy: exactly the device's size, which must not exceed max_size),
 * interrupts on MSI-X entry msix (VIRTIO_MSI_NO_VECTOR: none), and enables it.
 * Before DRIVER_OK. 0, or -1 (no such queue, no memory, vector refused). */
int virtq_setup(struct virtio_pci *vp, struct virtq *q, uint16_t index, uint16_t max_size,
		uint16_t msix);

/* Fills descriptor id and appends it to the avail ring; not visible until virtq_kick. */
void virtq_post(struct virtq *q, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags);
/* A device-readable buffer in n pieces: descriptors ids[0] (the head, what the used
 * ring returns) to ids[n-1], chained by NEXT (§2.7.5, §2.7.6). Published by
 * virtq_kick as virtq_post. */
void virtq_post_chain(struct virtq *q, const uint16_t *ids, const uint64_t *addrs,
		      const uint32_t *lens, unsigned n);
/* Publishes posted buffers (after a write barrier) and notifies the device unless its
 * avail_event says it will look anyway (§2.7.10). Never before DRIVER_OK (§3.1.1). */
void virtq_kick(struct virtq *q);
/* Rings the doorbell whatever avail_event says (virtio_net.c's counted rescue). */
void virtq_notify(struct virtq *q);
/* Used entries published by the device and not yet taken by virtq_get_used(). */
uint16_t virtq_used_pending(const struct virtq *q);
/* Next used buffer: 1 with *id and *len (bytes the device wrote), or 0 if none. An id
 * the device should never return (>= size) comes back as 0xFFFF. */
int virtq_get_used(struct virtq *q, uint16_t *id, uint32_t *len);
/* Used-buffer notification suppression (§2.7.7): used_event with VIRTIO_F_EVENT_IDX,
 * else the avail ring's NO_INTERRUPT flag (which the device may ignore).
 * virtq_irq(q, 1): interrupt for the next used buffer; a full barrier follows so a
 * virtq_get_used() after it sees any buffer the device published before reading
 * used_event. virtq_irq(q, 0): none until about 64 Ki buffers from now.
 * virtq_irq_after(q, idx): interrupt once the used index moves past idx; returns 1
 * when it already has (no interrupt may come for it: the caller polls instead). */
void virtq_irq(struct virtq *q, int on);
int virtq_irq_after(struct virtq *q, uint16_t idx);

#endif
