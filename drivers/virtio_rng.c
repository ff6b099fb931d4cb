/*
 * Virtio entropy device (virtio 1.2 §5.4): QEMU `-device virtio-rng-pci`, 1af4:1044
 * modern or 1af4:1005 transitional/legacy. Used once, at probe, to seed the kernel's
 * pool (kernel/random.c) on CPUs without RDRAND.
 *
 * Probe (§5.4.5 after §3.1.1): transport -> no features but VERSION_1 (modern) ->
 * requestq (queue 0), no interrupts -> DRIVER_OK -> one device-writable buffer ->
 * kick -> poll the used ring with a timeout -> random_add_entropy(). The device may
 * return fewer bytes than asked (§5.4.6.1); we take what it wrote, up to RNG_BYTES.
 */
#include "drivers/driver.h"
#include "drivers/pci.h"
#include "drivers/virtio.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "kernel/heap.h"
#include "kernel/random.h"
#include "kernel/time.h"

#define REQUESTQ 0
#define QUEUE_MAX 64                    /* QEMU offers 8; legacy devices fix the size */
#define RNG_BYTES 64                    /* 512 bits: more than the pool holds */
#define RNG_TIMEOUT_US 200000

struct vrng {
	struct virtio_pci vp;
	struct virtq q;
};

static int fail(struct vrng *r, const struct pci_dev *pci, const char *why)
{
	log_warn("virtio-rng: %02x:%02x.%x: %s", pci->bus, pci->dev, pci->fn, why);
	if (r->vp.common || r->vp.legacy)
		virtio_fail(&r->vp);
	r->vp.pci = NULL;               /* a second device may still be tried */
	return -1;
}

/* Returns the number of bytes the device wrote, or -1 on timeout. */
static int fetch(struct vrng *r, uint64_t phys)
{
	uint16_t id;
	uint32_t len;
	virtq_post(&r->q, 0, phys, RNG_BYTES, VIRTQ_DESC_F_WRITE);
	virtq_kick(&r->q);
	uint64_t end = time_us() + RNG_TIMEOUT_US;
	while (!virtq_get_used(&r->q, &id, &len))
		if (time_us() > end)
			return -1;
	return id == 0 && len <= RNG_BYTES ? (int)len : -1;
}

static int probe(struct pci_dev *pci, const struct pci_id *pid)
{
	(void)pid;
	static struct vrng rng;         /* one is enough; a second device is ignored */
	struct vrng *r = &rng;
	uint64_t phys;
	if (r->vp.pci)
		return -1;
	if (virtio_pci_init(&r->vp, pci) < 0)
		return fail(r, pci, "neither virtio capabilities nor a legacy I/O BAR");
	uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	if (virtio_start(&r->vp, v1, r->vp.legacy ? 0 : v1) < 0)
		return fail(r, pci, "feature negotiation failed");
	if (virtq_setup(&r->vp, &r->q, REQUESTQ, QUEUE_MAX, VIRTIO_MSI_NO_VECTOR) < 0)
		return fail(r, pci, "requestq setup failed");
	virtq_irq(&r->q, 0);
	pci_intx_disable(pci);          /* polled: no interrupt wanted */
	uint8_t *buf = dma_alloc(RNG_BYTES, 64, &phys);
	if (!buf)
		return fail(r, pci, "out of DMA memory");
	virtio_driver_ok(&r->vp);
	int n = fetch(r, phys);
	if (n <= 0) {
		dma_free(buf, RNG_BYTES);
		return fail(r, pci, "no entropy within 200 ms");
	}
	random_add_entropy(buf, (size_t)n, "virtio-rng");
	log_info("virtio-rng: %02x:%02x.%x (%s interface): %d bytes into the entropy pool",
		 pci->bus, pci->dev, pci->fn, r->vp.legacy ? "legacy" : "modern", n);
	dma_free(buf, RNG_BYTES);
	return 0;
}

static const struct pci_id ids[] = {
	{ 0x1AF4, 0x1044, "virtio 1.0 entropy device" },
	{ 0x1AF4, 0x1005, "virtio entropy device (transitional)" },
	{ 0, 0, NULL },
};

static const struct pci_driver driver = { "virtio-rng", ids, probe };

static void virtio_rng_register(void)
{
	pci_register_driver_class(&driver, 0xFF);      /* virtio-rng is class 00ff */
}

DRIVER_INIT(virtio_rng_register);
