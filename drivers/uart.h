/*
 * 16550A UART on COM1 (0x3F8), 115200 8N1. Receive is interrupt driven (IRQ 4 via the
 * IOAPIC) into a ring that the main loop drains with uart_getc(); transmit is buffered
 * in a ring and pushed into the 16-byte FIFO whenever the line is free.
 */
#ifndef SKIFF_UART_H
#define SKIFF_UART_H

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

#endif
