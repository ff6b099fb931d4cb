/*
 * Local APIC and IOAPIC (Intel SDM Vol. 3 ch. 11; 82093AA IOAPIC datasheet).
 * Init: mask the 8259s -> map and enable the local APIC (SVR) -> map every IOAPIC
 * and mask all its inputs. Routing and the timer are set up by their users.
 */
#include "kernel/apic.h"
#include "kernel/acpi.h"
#include "kernel/paging.h"
#include "kernel/trap.h"
#include "kernel/time.h"
#include "kernel/console.h"
#include "kernel/cpu.h"

/* Local APIC registers (byte offsets). */
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)

/* IOAPIC: index/data window; redirection table entries at 0x10 + 2n. */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPICVER 0x01
#define IOREDTBL(n) (0x10 + 2 * (n))
#define RED_MASKED (1u << 16)
#define RED_LEVEL (1u << 15)
#define RED_ACTIVE_LOW (1u << 13)

#define MSR_APIC_BASE 0x1B

static volatile uint8_t *lapic;
static struct { volatile uint8_t *base; uint32_t gsi_base, count; } ioapics[ACPI_MAX_IOAPIC];
static int n_ioapic;
static volatile uint64_t ticks;

static uint32_t lapic_read(uint32_t reg) { return read32(lapic + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { write32(lapic + reg, v); }

static uint32_t ioapic_read(volatile uint8_t *base, uint32_t reg)
{
	write32(base + IOREGSEL, reg);
	return read32(base + IOWIN);
}

static void ioapic_write(volatile uint8_t *base, uint32_t reg, uint32_t v)
{
	write32(base + IOREGSEL, reg);
	write32(base + IOWIN, v);
}

static void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xA1, 0xff);
}

void apic_init(void)
{
	const struct acpi_info *a = acpi_get();
	pic_mask_all();
	uint64_t base = a->lapic_base ? a->lapic_base : (rdmsr(MSR_APIC_BASE) & ~0xfffull);
	lapic = (volatile uint8_t *)map_mmio(base, 4096);
	if (!lapic)
		panic("apic: cannot map the local APIC at 0x%lx", (unsigned long)base);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	trap_set_eoi(apic_eoi);
	for (int i = 0; i < a->n_ioapic; i++) {
		volatile uint8_t *io = (volatile uint8_t *)map_mmio(a->ioapic[i].addr, 4096);
		if (!io)
			continue;
		uint32_t count = ((ioapic_read(io, IOAPICVER) >> 16) & 0xff) + 1;
		for (uint32_t n = 0; n < count; n++) {
			ioapic_write(io, IOREDTBL(n), RED_MASKED);
			ioapic_write(io, IOREDTBL(n) + 1, 0);
		}
		ioapics[n_ioapic].base = io;
		ioapics[n_ioapic].gsi_base = a->ioapic[i].gsi_base;
		ioapics[n_ioapic].count = count;
		n_ioapic++;
	}
	log_info("apic: local APIC id %u at 0x%lx (xAPIC), %d IOAPIC(s), 8259 PICs masked",
		 (unsigned)apic_id(), (unsigned long)base, n_ioapic);
}

uint32_t apic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void apic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* The IOAPIC holding gsi and its pin there; NULL if none does. */
static volatile uint8_t *ioapic_pin(uint32_t gsi, uint32_t *pin)
{
	for (int i = 0; i < n_ioapic; i++)
		if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].count) {
			*pin = gsi - ioapics[i].gsi_base;
			return ioapics[i].base;
		}
	return NULL;
}

int ioapic_route_gsi(uint32_t gsi, int vector, unsigned flags)
{
	uint32_t pin;
	volatile uint8_t *io = ioapic_pin(gsi, &pin);
	if (!io)
		return -1;
	uint32_t low = (uint32_t)vector | (flags & IOAPIC_LEVEL ? RED_LEVEL : 0) |
		       (flags & IOAPIC_ACTIVE_LOW ? RED_ACTIVE_LOW : 0);
	ioapic_write(io, IOREDTBL(pin), RED_MASKED);
	ioapic_write(io, IOREDTBL(pin) + 1, apic_id() << 24);
	ioapic_write(io, IOREDTBL(pin), low);
	return 0;
}

void ioapic_mask_gsi(uint32_t gsi)
{
	uint32_t pin;
	volatile uint8_t *io = ioapic_pin(gsi, &pin);
	if (io)
		ioapic_write(io, IOREDTBL(pin), ioapic_read(io, IOREDTBL(pin)) | RED_MASKED);
}

int ioapic_isa_gsi(int irq, uint32_t *gsi, unsigned *flags)
{
	const struct acpi_info *a = acpi_get();
	*gsi = (uint32_t)irq;
	for (int i = 0; i < a->n_iso; i++)
		if (a->iso[i].source == irq) {
			/* ACPI MADT Interrupt Source Override flags: polarity 1:0, trigger 3:2
			 * (3 = active low, level); 0 = "conforms to the bus" (ISA: edge, high). */
			*gsi = a->iso[i].gsi;
			*flags = ((a->iso[i].flags & 3) == 3 ? IOAPIC_ACTIVE_LOW : 0) |
				 (((a->iso[i].flags >> 2) & 3) == 3 ? IOAPIC_LEVEL : 0);
			return 1;
		}
	*flags = 0;
	return 0;
}

int ioapic_route_isa(int irq, int vector)
{
	uint32_t gsi;
	unsigned flags;
	(void)ioapic_isa_gsi(irq, &gsi, &flags);
	return ioapic_route_gsi(gsi, vector, flags);
}

static uint32_t tick_count;     /* TIMER_INIT for one tick */
static uint64_t counts_per_sec, tick_ns;
static uint32_t timer_vector;
static int short_period;        /* a one-shot wake-up is counting down instead of the tick */

#define WAKE_MIN_NS 2000        /* no sooner: a deadline that close is as good as due */

static void timer_tick(void *ctx)
{
	(void)ctx;
	if (short_period) {     /* a wake-up, not a tick: uptime's tick count stays true */
		short_period = 0;
		lapic_write(LAPIC_LVT_TIMER, timer_vector | LVT_PERIODIC);
		lapic_write(LAPIC_TIMER_INIT, tick_count);     /* the tick again */
		return;
	}
	ticks++;
}

/*
 * One interrupt within ns, in one-shot mode, then the periodic tick again (timer_tick).
 * Not a shorter period: a period of a few counts would fire without end (an interrupt
 * storm; under QEMU its timer callback then holds the main loop for ever), so the mode
 * changes, and no wake-up is shorter than WAKE_MIN_NS. Writing the initial count starts
 * the countdown in the mode the LVT holds (SDM Vol. 3 §11.5.4); in one-shot mode the
 * current count stays 0 once it expired.
 */
void apic_timer_wake_within(uint64_t ns)
{
	if (!counts_per_sec || ns >= tick_ns)
		return;
	if (ns < WAKE_MIN_NS)
		ns = WAKE_MIN_NS;
	uint64_t n = ns * counts_per_sec / 1000000000u + 1;    /* ns < 1 s: no overflow */
	uint32_t cur = lapic_read(LAPIC_TIMER_CUR);
	if (n >= cur)
		return;                 /* the tick or an earlier wake-up comes first */
	short_period = 1;
	lapic_write(LAPIC_LVT_TIMER, timer_vector);    /* one-shot */
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)n);
}

uint64_t apic_timer_ticks(void)
{
	return ticks;
}

void apic_timer_start(uint32_t hz)
{
	int vector = irq_register(timer_tick, NULL, "apic-timer");
	if (vector < 0)
		panic("apic: no vector for the timer");
	/* Count down from the maximum for 10 ms of TSC time to learn the timer's rate. */
	lapic_write(LAPIC_TIMER_DIV, 0x3);      /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	time_delay_us(10000);
	uint32_t elapsed = 0xffffffffu - lapic_read(LAPIC_TIMER_CUR);
	uint64_t per_sec = (uint64_t)elapsed * 100;
	uint32_t init = (uint32_t)(per_sec / hz);
	if (init == 0)
		init = 1;
	tick_count = init;
	timer_vector = (uint32_t)vector;
	counts_per_sec = per_sec;
	tick_ns = 1000000000u / hz;
	lapic_write(LAPIC_LVT_TIMER, (uint32_t)vector | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, init);
	log_info("apic: timer runs at %lu kHz (bus clock / 16), periodic tick %u Hz", (unsigned long)(per_sec / 1000), hz);
}

void apic_msi_message(int vector, uint64_t *addr, uint32_t *data)
{
	*addr = 0xFEE00000ull | ((uint64_t)apic_id() << 12);
	*data = (uint32_t)vector;       /* fixed delivery, edge triggered */
}
