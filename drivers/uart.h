/*
 * 16550A UART on COM1 (0x3F8), 115200 8N1. Receive is interrupt driven (IRQ 4 via the
 * IOAPIC) into a ring that the main loop drains with uart_getc(); transmit is buffered
 * in a ring and pushed into the 16-byte FIFO whenever the line is free.
 */
#ifndef SKIFF_UART_H
#define SKIFF_UART_H

#include <stddef.h>
#include <stdint.h>

void uart_init(void);           /* polled mode; registers the console sink */
void uart_enable_irq(void);     /* after the IOAPIC is up */
int uart_getc(void);            /* -1 when no byte is waiting */
int uart_rx_pending(void);
void uart_poll(void);           /* drains TX (and RX if the IRQ is not wired) */

struct uart_stats {
	uint64_t rx_bytes, tx_bytes, rx_overruns, irqs;
};
void uart_get_stats(struct uart_stats *s);

/* COM2 (0x2F8) as a polled, write-only byte stream (QEMU: a second -serial). */
struct com2_stats {
	uint64_t tx_bytes, dropped_writes;
};
int com2_init(void);                    /* 0, or -1 when there is no COM2 */
/* Queues all n bytes or none (-1, counted) when the 64 KiB ring lacks room. */
int com2_write(const void *data, size_t n);
void com2_poll(void);                   /* also run by uart_poll() */
void com2_get_stats(struct com2_stats *s);

#endif
