/*
 * DHCP/BOOTP messages, bytes only (RFC 2131 §2 "Protocol Summary", RFC 2132 options,
 * RFC 951 BOOTP). dhcp_check() validates the fixed part, the magic cookie and walks the
 * option area with a loop that advances at least one byte per step and stops at END or
 * the end of the buffer; an option whose length runs past the buffer, or a known option
 * with an impossible length (including zero), refuses the whole message. Option
 * overload (52: options in sname/file) is not honoured: those fields are ignored.
 */
#ifndef SKIFF_NET_DHCP_WIRE_H
#define SKIFF_NET_DHCP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"

#define DHCP_FIXED_LEN 236              /* op .. file */
#define DHCP_OPTS_OFF 240               /* after the magic cookie */
#define DHCP_MAGIC 0x63825363u
#define DHCP_MIN_LEN 300                /* RFC 1542 §3.4: some relays drop shorter BOOTP */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_FLAG_BROADCAST 0x8000
#define DHCP_MAX_DNS 3
#define BOOTP_REQUEST 1
#define BOOTP_REPLY 2

enum dhcp_msg_type {
	DHCP_DISCOVER = 1, DHCP_OFFER, DHCP_REQUEST, DHCP_DECLINE, DHCP_ACK, DHCP_NAK,
	DHCP_RELEASE, DHCP_INFORM,
};

enum dhcp_opt {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_END = 255,
};

/* Flags in dhcp_msg.has for options whose zero value is meaningful. */
#define DHCP_HAS_MASK 0x01
#define DHCP_HAS_LEASE 0x02
#define DHCP_HAS_T1 0x04
#define DHCP_HAS_T2 0x08

/* A parsed (or to-be-emitted) message, host byte order. Absent options read as 0. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t msg_type;
	uint8_t has;
	uint32_t server_id, requested_ip, subnet_mask, router;
	uint32_t lease_time, t1, t2;
	uint32_t dns[DHCP_MAX_DNS];
	uint8_t ndns;
	/* emit only */
	const char *hostname;   /* option 12 if non-NULL and non-empty */
	uint8_t param_list;     /* option 55 asking for mask, router, DNS, lease, T1, T2 */
	uint8_t client_id;      /* option 61 = htype + chaddr */
	uint16_t max_size;      /* option 57 if non-zero */
};

enum wire_err dhcp_check(const uint8_t *buf, size_t len);
/* After dhcp_check() == WIRE_OK. First occurrence of a repeated option wins. */
void dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);
/* Writes a whole message (padded to DHCP_MIN_LEN); returns its length or -1 if cap
 * is too small. */
int dhcp_emit(const struct dhcp_msg *m, uint8_t *buf, size_t cap);

#endif
