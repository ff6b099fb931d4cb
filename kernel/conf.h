/*
 * skiff.conf: "key = value" lines, '#' starts a comment. The boot volume's file is read
 * first, then the image load options ("key=value key=value ...") override it. Unknown
 * keys, malformed lines and bad values are reported with their line number and ignored;
 * parsing never fails the boot. Hardware-free: host unit tests drive it directly.
 * New keys are one row in conf.c's table plus a field here.
 */
#ifndef SKIFF_CONF_H
#define SKIFF_CONF_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct conf {
	int log_level;          /* log_level = error|warn|info|debug */
	int shell;              /* shell = on|off */
	char hostname[64];      /* hostname = RFC 1123 label */
	int poll;               /* poll = on|off: NIC drivers never use interrupts */
	char nic[16];           /* nic = auto|e1000|e1000e|igb|virtio: which NIC to use */
	char ip[20];            /* ip = dhcp | A.B.C.D/N */
	char gateway[16];       /* gateway = A.B.C.D (static configuration) */
	int mtu;                /* mtu = 576..9000 */
	int http_port;          /* http_port = 1..65535 */
	char netconsole[24];    /* netconsole = off | A.B.C.D:PORT: the log as syslog over UDP */
	int debug;              /* debug = off|local|on: who may open /debug/ (enum conf_debug) */
	int pcap_serial;        /* pcap_serial = on|off: classic pcap of every frame on COM2 */
	char pcap_filter[128];  /* pcap_filter = EXPR (pcap-filter(7) subset) for pcap_serial */
	int tcp_pacing;         /* tcp_pacing = on|off: TCP spreads its data over the RTT (on) */
};

enum conf_debug { CONF_DEBUG_OFF, CONF_DEBUG_LOCAL, CONF_DEBUG_ON };

/* Receives one problem report, e.g. "skiff.conf:3: unknown key 'foo' (ignored)". */
typedef void (*conf_report_fn)(void *ctx, const char *msg);

void conf_defaults(struct conf *c);

/* Parses a whole file of len bytes (NULs and all); returns the number of problems. */
int conf_parse(struct conf *c, const char *text, size_t len, const char *origin,
	       conf_report_fn report, void *ctx);

/* Parses space-separated key=value words; a first word without '=' (the image
 * path the firmware passes) is skipped. Returns the number of problems. */
int conf_parse_cmdline(struct conf *c, const char *cmdline, conf_report_fn report, void *ctx);

/* "A.B.C.D:PORT" (n bytes, no spaces, octets 0..255 of at most 3 digits, port 1..65535)
 * into addr (host order) and port; 0 or -1. */
int conf_parse_hostport(const char *s, size_t n, uint32_t *addr, uint16_t *port);

/* Writes the effective configuration, one "key = value" line per key. */
void conf_show(const struct conf *c, void (*line)(void *ctx, const char *text), void *ctx);

#endif
