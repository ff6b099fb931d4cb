/*
 * Syslog over UDP: the log as RFC 5424 messages (framing §6) in UDP datagrams (RFC 5426),
 * an application on top of net/udp.h, hardware-free.
 *
 *   syslog_format()     one message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
 *   netconsole_log()    queues a line (the kernel's log hook calls it; it never sends)
 *   netconsole_poll()   sends queued lines (the main loop's net hook calls it)
 *
 * Lines logged before the interface has an address wait in a bounded ring (the oldest
 * fall out and are counted) and go out once a route to the target exists. Sending never
 * happens inside netconsole_log(), so a line the stack logs while a datagram is being
 * sent is queued behind it, never sent recursively.
 */
#ifndef SKIFF_NET_SYSLOG_H
#define SKIFF_NET_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

struct udp;

/* RFC 5424 §6.2.1 Table 1 (facilities) and Table 2 (severities): the ones we use. */
#define SYSLOG_FAC_USER 1
#define SYSLOG_FAC_LOCAL0 16
#define SYSLOG_SEV_ERR 3
#define SYSLOG_SEV_WARNING 4
#define SYSLOG_SEV_INFO 6
#define SYSLOG_SEV_DEBUG 7

struct syslog_msg {
	int facility;           /* 0..23 */
	int severity;           /* 0..7 */
	uint64_t unix_us;       /* time of the event; 0: unknown (TIMESTAMP is NILVALUE) */
	const char *hostname;   /* NULL, empty or not PRINTUSASCII: NILVALUE */
	const char *app;        /* APP-NAME, same rule */
	const char *text;       /* MSG, text_len bytes; control characters become spaces */
	size_t text_len;
};

/* Writes one message into buf (NUL terminated) and returns its length without the NUL;
 * MSG is cut to fit. 0 when cap cannot hold the header or a field is out of range. */
size_t syslog_format(char *buf, size_t cap, const struct syslog_msg *m);

#define NETCONSOLE_RING 128             /* lines held while the interface has no address */
#define NETCONSOLE_LINE_MAX 400         /* bytes of text kept per line */
#define NETCONSOLE_BUDGET 16            /* datagrams per poll */
#define NETCONSOLE_DGRAM_MAX 1024       /* RFC 5426 §3.2: receivers SHOULD take 2048 octets */
#define NETCONSOLE_SPORT 514            /* RFC 5426 §3.3 allows any source port */

struct netconsole_line {
	uint8_t severity;
	uint16_t len;
	uint64_t unix_us;
	char text[NETCONSOLE_LINE_MAX];
};

struct netconsole_stats {
	uint64_t queued;        /* lines handed to netconsole_log */
	uint64_t sent;          /* datagrams udp_send accepted */
	uint64_t overflow;      /* lines that fell out of the full ring unsent */
	uint64_t errors;        /* udp_send refused (no buffer, no route...): line lost */
};

struct netconsole {
	struct udp *udp;        /* NULL until netconsole_attach: lines only queue */
	uint32_t dst;           /* host order */
	uint16_t dport;
	int facility;
	char hostname[64];
	uint64_t head;          /* next line to send (counts lines ever taken) */
	uint64_t tail;          /* next free slot (counts lines ever queued) */
	uint64_t next_try_ns;   /* while the next hop is unresolved: one datagram per second */
	/* Optional: make netconsole_log and the ring pop atomic with each other (the
	 * kernel disables interrupts; log lines may come from an interrupt handler). */
	uint64_t (*lock)(void);
	void (*unlock)(uint64_t);
	struct netconsole_stats stats;
	struct netconsole_line sending;         /* the line being sent, out of the ring */
	struct netconsole_line ring[NETCONSOLE_RING];
};

/* dst/dport in host order; hostname is copied (cut to 63 bytes). */
void netconsole_init(struct netconsole *nc, uint32_t dst, uint16_t dport, int facility,
		     const char *hostname);
/* The stack is up: from now on netconsole_poll sends through u. */
void netconsole_attach(struct netconsole *nc, struct udp *u);
/* Queues one line; never sends, never logs. Safe in any context the lock covers. */
void netconsole_log(struct netconsole *nc, int severity, uint64_t unix_us, const char *text,
		    size_t len);
/* Sends up to NETCONSOLE_BUDGET queued lines when a route with a source address exists
 * and the next hop's MAC is known (one at a time while ARP resolves, so the neighbour
 * hold queue never overflows). Main-loop context, never from inside udp/net calls. */
void netconsole_poll(struct netconsole *nc, uint64_t now_ns);
/* Lines queued and not yet sent. */
uint64_t netconsole_waiting(const struct netconsole *nc);

#endif
