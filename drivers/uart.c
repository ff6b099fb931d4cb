/*
 * 16550A driver (National Semiconductor PC16550D datasheet).
 * Init: IER off -> LCR.DLAB, divisor 1 (115200) -> LCR 8N1 -> FCR enable and clear
 * FIFOs -> MCR DTR|RTS|OUT2 (OUT2 gates the IRQ line on PCs).
 */
#include "drivers/uart.h"
#include "kernel/console.h"
#include "kernel/apic.h"
#include "kernel/trap.h"
#include "kernel/cpu.h"

#define COM1 0x3F8
#define RBR 0       /* receive buffer (read) */
#define THR 0       /* transmit holding (write) */
#define IER 1
#define IIR 2       /* read */
#define FCR 2       /* write */
#define LCR 3
#define MCR 4
#define LSR 5
#define DLL 0
#define DLM 1

#define IER_RDA 0x01
#define IER_THRE 0x02
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define FIFO_DEPTH 16

#define RX_RING 512
#define TX_RING 8192

static uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail;      /* head: producer (IRQ), tail: consumer */
static uint8_t tx_ring[TX_RING];
static uint32_t tx_head, tx_tail;
static int irq_on;
static struct uart_stats stats;

static void rx_drain(void)
{
	uint8_t lsr;
	while ((lsr = inb(COM1 + LSR)) & LSR_DR) {
		if (lsr & LSR_OE)
			stats.rx_overruns++;
		uint8_t c = inb(COM1 + RBR);
		if (rx_head - rx_tail < RX_RING) {
			rx_ring[rx_head % RX_RING] = c;
			rx_head++;
			stats.rx_bytes++;
		} else {
			stats.rx_overruns++;
		}
	}
}

/* Moves up to a FIFO's worth of bytes to the chip when its transmitter is empty. */
static void tx_kick(void)
{
	if (!(inb(COM1 + LSR) & LSR_THRE))
		return;
	for (int i = 0; i < FIFO_DEPTH && tx_tail != tx_head; i++) {
		outb(COM1 + THR, tx_ring[tx_tail % TX_RING]);
		tx_tail++;
		stats.tx_bytes++;
	}
}

/* The THRE interrupt is wanted only while bytes wait in the ring. */
static void tx_update_ier(void)
{
	if (irq_on)
		outb(COM1 + IER, IER_RDA | (tx_tail != tx_head ? IER_THRE : 0));
}

static void uart_flush(void)
{
	for (uint64_t spins = 0; tx_tail != tx_head && spins < 50000000ull; spins++) {
		tx_kick();
		pause();
	}
}

static void uart_write(const char *s, size_t n)
{
	uint64_t f = irq_save();
	for (size_t i = 0; i < n; i++) {
		if (tx_head - tx_tail >= TX_RING)
			uart_flush();   /* full ring: wait for the wire rather than drop output */
		tx_ring[tx_head % TX_RING] = (uint8_t)s[i];
		tx_head++;
	}
	tx_kick();
	tx_update_ier();
	irq_restore(f);
}

static const struct console_sink uart_sink = { uart_write, uart_flush };

void uart_init(void)
{
	outb(COM1 + IER, 0);
	outb(COM1 + LCR, LCR_DLAB);
	outb(COM1 + DLL, 1);
	outb(COM1 + DLM, 0);
	outb(COM1 + LCR, LCR_8N1);
	outb(COM1 + FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
	console_add_sink(&uart_sink);
}

static void uart_irq(void *ctx)
{
	(void)ctx;
	stats.irqs++;
	(void)inb(COM1 + IIR);
	rx_drain();
	tx_kick();
	tx_update_ier();
}

void uart_enable_irq(void)
{
	int vec = irq_register(uart_irq, NULL, "uart0 (COM1)");
	if (vec < 0 || ioapic_route_isa(4, vec) < 0) {
		log_warn("uart: IRQ 4 not routed, receive is polled");
		return;
	}
	irq_on = 1;
	tx_update_ier();
	log_info("uart: COM1 115200 8N1, receive on IRQ 4 -> vector 0x%x", vec);
}

int uart_getc(void)
{
	if (!irq_on)
		rx_drain();
	if (rx_tail == rx_head)
		return -1;
	uint8_t c = rx_ring[rx_tail % RX_RING];
	rx_tail++;
	return c;
}

int uart_rx_pending(void)
{
	return rx_tail != rx_head;
}

void uart_poll(void)
{
	uint64_t f = irq_save();
	tx_kick();
	irq_restore(f);
	if (!irq_on)
		rx_drain();
	com2_poll();
}

void uart_get_stats(struct uart_stats *s)
{
	*s = stats;
}

/* ---- COM2: a write-only byte stream (the serial packet capture) ------------------- */

#define COM2 0x2F8
#define SCR 7       /* scratch register: present on a 16550A, absent = no port */
#define COM2_RING (64 * 1024)

static uint8_t com2_ring[COM2_RING];
static uint32_t com2_head, com2_tail;   /* head: next byte written, tail: next sent */
static int com2_on;
static struct com2_stats com2_st;

int com2_init(void)
{
	outb(COM2 + SCR, 0x5A);
	if (inb(COM2 + SCR) != 0x5A)
		return -1;      /* no UART answers at 0x2F8 */
	outb(COM2 + IER, 0);
	outb(COM2 + LCR, LCR_DLAB);
	outb(COM2 + DLL, 1);
	outb(COM2 + DLM, 0);
	outb(COM2 + LCR, LCR_8N1);
	outb(COM2 + FCR, FCR_ENABLE_CLEAR);
	outb(COM2 + MCR, MCR_DTR_RTS_OUT2 & ~0x08);     /* no IRQ: polled */
	com2_on = 1;
	return 0;
}

/* Whole writes or nothing: a pcap record cut in the middle would wreck the stream. */
int com2_write(const void *data, size_t n)
{
	if (!com2_on || n > COM2_RING - (com2_head - com2_tail)) {
		com2_st.dropped_writes++;
		return -1;
	}
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++)
		com2_ring[(com2_head + i) % COM2_RING] = p[i];
	com2_head += (uint32_t)n;
	com2_poll();
	return 0;
}

/* A FIFO's worth each time the transmitter is empty, a bounded number of times. */
void com2_poll(void)
{
	for (int rounds = 0; com2_on && com2_tail != com2_head && rounds < 512; rounds++) {
		if (!(inb(COM2 + LSR) & LSR_THRE))
			return;
		for (int i = 0; i < FIFO_DEPTH && com2_tail != com2_head; i++) {
			outb(COM2 + THR, com2_ring[com2_tail % COM2_RING]);
			com2_tail++;
			com2_st.tx_bytes++;
		}
	}
}

void com2_get_stats(struct com2_stats *s)
{
	*s = com2_st;
}
