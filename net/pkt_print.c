/*
 * tcpdump-style packet printer (pkt_print.h). One layer per function, each given the
 * bytes it may read (a pointer and the captured length left) and the length the
 * header above says the layer has; a layer that needs more than was captured prints
 * its "[|proto]" marker and stops, as tcpdump's ND_TCHECK does.
 *
 *   pkt_print -> time -> [-e link header] -> ip | arp | other
 *   ip -> [-v header line] -> tcp | udp (-> bootp) | icmp | "ip-proto-N"
 *   then the -x / -xx hex dump.
 */
#include "net/pkt_print.h"
#include "net/checksum.h"
#include "net/wire.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include <stdarg.h>

struct out {
	char *buf;
	size_t cap;
	size_t len;             /* the length wanted; what fits is in buf */
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	char dummy[1];
	int n = kvsnprintf(room ? o->buf + o->len : dummy, room ? room : 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* A view of one layer: p[0..cap) captured, len bytes by its own or the outer header. */
struct view {
	const uint8_t *p;
	size_t cap;
	size_t len;
};

static void put_ip(struct out *o, const uint8_t *a)
{
	put(o, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void put_mac(struct out *o, const uint8_t *m)
{
	put(o, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- hex dumps (print-ascii.c) ---------------------------------------------------- */

/* -x: "\t0x0000:  4500 0054 ..." 16 bytes a line. */
static void hex_dump(struct out *o, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		put(o, "\t0x%04zx: ", off);
		for (size_t i = off; i < off + 16 && i < n; i += 2)
			put(o, i + 1 < n ? " %02x%02x" : " %02x", p[i], i + 1 < n ? p[i + 1] : 0);
		put(o, "\n");
	}
}

/* Unknown EtherTypes: hex and ASCII side by side (hex_and_ascii_print). */
static void hex_ascii_dump(struct out *o, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t end = off + 16 < n ? off + 16 : n, w = 0;
		put(o, "\t0x%04zx: ", off);
		for (size_t i = off; i < end; i += 2, w += 5)
			put(o, i + 1 < end ? " %02x%02x" : " %02x  ", p[i], i + 1 < end ? p[i + 1] : 0);
		put(o, "%*s  ", (int)(40 - w), "");
		for (size_t i = off; i < end; i++)
			put(o, "%c", p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
		put(o, "\n");
	}
}

/* ---- TCP (print-tcp.c) ------------------------------------------------------------ */

static void tcp_flags(struct out *o, uint8_t f)
{
	static const struct { uint8_t bit; char c; } tab[] = {
		{ 0x01, 'F' }, { 0x02, 'S' }, { 0x04, 'R' }, { 0x08, 'P' },
		{ 0x10, '.' }, { 0x20, 'U' }, { 0x40, 'E' }, { 0x80, 'W' },
	};
	put(o, "Flags [");
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (f & tab[i].bit)
			put(o, "%c", tab[i].c);
	put(o, "%s]", f ? "" : "none");
}

/* One option at p (n bytes left in the option area); returns its length, 0 to stop. */
static size_t tcp_opt(struct out *o, const uint8_t *p, size_t n)
{
	if (p[0] == 0 || p[0] == 1) {
		put(o, p[0] ? "nop" : "eol");
		return 1;
	}
	if (n < 2 || p[1] < 2 || p[1] > n)
		return 0;
	size_t l = p[1];
	if (p[0] == 2 && l == 4)
		put(o, "mss %u", wire_get16(p + 2));
	else if (p[0] == 3 && l == 3)
		put(o, "wscale %u", p[2]);
	else if (p[0] == 4 && l == 2)
		put(o, "sackOK");
	else if (p[0] == 8 && l == 10)
		put(o, "TS val %u ecr %u", wire_get32(p + 2), wire_get32(p + 6));
	else if (p[0] == 5 && (l - 2) % 8 == 0) {
		put(o, "sack %zu ", (l - 2) / 8);
		for (size_t i = 2; i < l; i += 8)
			put(o, "{%u:%u}", wire_get32(p + i), wire_get32(p + i + 4));
	} else if (p[0] == 254 && l >= 4) {
		put(o, "exp-%04x", wire_get16(p + 2));
	} else if (p[0] == 2 || p[0] == 3 || p[0] == 4 || p[0] == 8 || p[0] == 5) {
		return 0;       /* a known option with a wrong length */
	} else {
		put(o, "opt-%u:", p[0]);
		for (size_t i = 2; i < l; i++)
			put(o, "%02x", p[i]);
	}
	return l;
}

/* The option area (n bytes, have of them captured). 0 when the line must end here:
 * a malformed option ("[bad opt]") or one cut off by the capture (" [|tcp]"). */
static int tcp_opts(struct out *o, const uint8_t *p, size_t n, size_t have)
{
	put(o, ", options [");
	for (size_t i = 0; i < n;) {
		if (i)
			put(o, ",");
		size_t need = p + i < p + have && p[i] > 1 ? (i + 1 < have ? p[i + 1] : 2) : 1;
		if (i + need > have && i + need <= n) {
			put(o, " [|tcp]");
			return 0;
		}
		size_t l = tcp_opt(o, p + i, n - i);
		if (!l) {
			put(o, "[bad opt]");
			return 0;
		}
		if (p[i] == 0)
			break;                  /* EOL ends the list */
		i += l;
	}
	put(o, "]");
	return 1;
}

static int is_http_port(uint16_t p)
{
	return p == 80 || p == 8080 || p == 3128;
}

/* print-http.c via txtproto_print: the first line if it is a request or status line. */
static void http_line(struct out *o, const uint8_t *p, size_t n)
{
	static const char *const starts[] = { "GET ", "PUT ", "POST ", "HEAD ", "DELETE ",
		"OPTIONS ", "TRACE ", "CONNECT ", "PATCH ", "HTTP/" };
	size_t eol = 0;
	while (eol < n && eol < 300 && p[eol] != '\r' && p[eol] != '\n')
		eol++;
	int ok = eol < n && eol < 300;
	for (size_t i = 0; ok && i < eol; i++)
		ok = p[i] >= 0x20 && p[i] < 0x7f;
	int known = 0;
	for (size_t i = 0; ok && i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t l = strlen(starts[i]);
		known |= eol >= l && memcmp(p, starts[i], l) == 0;
	}
	if (ok && known)
		put(o, ": HTTP: %.*s", (int)eol, (const char *)p);
	else
		put(o, ": HTTP");
}

static void tcp_cksum(struct out *o, struct view *s, const uint8_t *iph)
{
	uint32_t src = wire_get32(iph + 12), dst = wire_get32(iph + 16);
	uint32_t sum = csum_partial(s->p, s->len, csum_pseudo_v4(src, dst, 6, (uint16_t)s->len));
	uint16_t field = wire_get16(s->p + 16);
	if (csum_fold(sum) == 0)
		put(o, ", cksum 0x%04x (correct)", field);
	else
		put(o, ", cksum 0x%04x (incorrect -> 0x%04x)", field,
		    csum_fold(sum + (uint16_t)~field));
}

static void tcp_print(struct out *o, struct view *s, const uint8_t *iph, unsigned flags)
{
	const uint8_t *t = s->p;
	if (s->cap < 4) {
		put(o, " > ");
		put_ip(o, iph + 16);
		put(o, ": [|tcp]");
		return;
	}
	put(o, ".%u > ", wire_get16(t));
	put_ip(o, iph + 16);
	put(o, ".%u: ", wire_get16(t + 2));
	if (s->cap < 20) {
		put(o, " [|tcp]");
		return;
	}
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > s->len) {
		put(o, "tcp %zu [bad hdr length %zu - too short, < 20]", s->len, doff);
		return;
	}
	uint8_t f = t[13];
	size_t dlen = s->len - doff;
	uint32_t seq = wire_get32(t + 4);
	tcp_flags(o, f);
	if ((flags & PKT_PRINT_VERBOSE) && s->cap >= s->len)
		tcp_cksum(o, s, iph);
	if (dlen || (f & 0x07))
		put(o, dlen ? ", seq %u:%u" : ", seq %u", seq, seq + (uint32_t)dlen);
	if (f & 0x10)
		put(o, ", ack %u", wire_get32(t + 8));
	put(o, ", win %u", wire_get16(t + 14));
	if (f & 0x20)
		put(o, ", urg %u", wire_get16(t + 18));
	if (doff > 20 && !tcp_opts(o, t + 20, doff - 20, (s->cap < doff ? s->cap : doff) - 20))
		return;
	put(o, ", length %zu", dlen);
	if (dlen && (is_http_port(wire_get16(t)) || is_http_port(wire_get16(t + 2))))
		http_line(o, t + doff, s->cap > doff ? s->cap - doff : 0);
}

/* ---- UDP and BOOTP (print-udp.c, print-bootp.c) ----------------------------------- */

static void bootp_print(struct out *o, const uint8_t *b, size_t cap, size_t len, unsigned flags)
{
	put(o, "BOOTP/DHCP, ");
	if (cap < 1) {
		put(o, " [|bootp]");
		return;
	}
	if (b[0] == 1) {
		put(o, "Request");
		if (cap < 34) {
			put(o, " [|bootp]");
			return;
		}
		put(o, " from ");
		put_mac(o, b + 28);
	} else {
		put(o, b[0] == 2 ? "Reply" : "op-#%u", b[0]);
	}
	put(o, ", length %zu", len);
	if ((flags & PKT_PRINT_VERBOSE) && cap < 12)
		put(o, " [|bootp]");
	else if (flags & PKT_PRINT_VERBOSE)
		put(o, ", xid 0x%x, Flags [%s]", wire_get32(b + 4),
		    wire_get16(b + 10) & 0x8000 ? "Broadcast" : "none");
}

static void udp_print(struct out *o, struct view *s, const uint8_t *iph, unsigned flags)
{
	const uint8_t *u = s->p;
	if (s->cap < 4) {
		put(o, " > ");
		put_ip(o, iph + 16);
		put(o, ":  [|udp]");
		return;
	}
	uint16_t sp = wire_get16(u), dp = wire_get16(u + 2);
	put(o, ".%u > ", sp);
	put_ip(o, iph + 16);
	put(o, ".%u: ", dp);
	if (s->cap < 8) {
		put(o, " [|udp]");
		return;
	}
	size_t ulen = wire_get16(u + 4);
	if (ulen < 8 || ulen > s->len) {
		put(o, "UDP, bad length %zu > %zu", ulen < 8 ? ulen : ulen - 8,
		    s->len < 8 ? 0 : s->len - 8);
		return;
	}
	if ((sp == 67 || sp == 68) && (dp == 67 || dp == 68)) {
		bootp_print(o, u + 8, s->cap - 8, ulen - 8, flags);
		return;
	}
	put(o, "UDP, length %zu", ulen - 8);
}

/* ---- ICMP (print-icmp.c) ---------------------------------------------------------- */

/* Destination unreachable: the words depend on the code and the quoted header. */
static void icmp_unreach(struct out *o, const uint8_t *m)
{
	const uint8_t *q = m + 8;       /* the quoted IP header; icmp_need() checked it */
	size_t qhl = (size_t)(q[0] & 0x0f) * 4;
	switch (m[1]) {
	case 0:
	case 1:
		put(o, m[1] ? "host " : "net ");
		put_ip(o, q + 16);
		put(o, " unreachable");
		return;
	case 2:
		put_ip(o, q + 16);
		put(o, " protocol %u unreachable", q[9]);
		return;
	case 3:
		put_ip(o, q + 16);
		if (q[9] == 6 || q[9] == 17)
			put(o, " %s port %u unreachable", q[9] == 6 ? "tcp" : "udp",
			    wire_get16(q + qhl + 2));
		else
			put(o, " protocol %u port %u unreachable", q[9], wire_get16(q + qhl + 2));
		return;
	case 4:
		put_ip(o, q + 16);
		put(o, " unreachable - need to frag (mtu %u)", wire_get16(m + 6));
		return;
	}
	put_ip(o, q + 16);
	put(o, " unreachable - #%u", m[1]);
}

/* Bytes an ICMP message must have captured before anything of it is printed. */
static size_t icmp_need(const uint8_t *m, size_t cap)
{
	if (m[0] == 11)
		return 8 + 20;
	if (m[0] != 3)
		return m[0] == 0 || m[0] == 8 || m[0] == 13 || m[0] == 14 ? 8 : 4;
	if (m[1] != 3 || cap < 8 + 20)
		return 8 + 20;
	return 8 + (size_t)(m[8] & 0x0f) * 4 + 4;   /* the quoted ports */
}

static void icmp_print(struct out *o, struct view *s)
{
	const uint8_t *m = s->p;
	if (s->cap < 4 || s->cap < icmp_need(m, s->cap)) {
		put(o, " [|icmp]");
		return;
	}
	put(o, "ICMP ");
	switch (m[0]) {
	case 0:
	case 8:
		put(o, "echo %s, id %u, seq %u", m[0] ? "request" : "reply", wire_get16(m + 4),
		    wire_get16(m + 6));
		break;
	case 3:
		icmp_unreach(o, m);
		break;
	case 11:
		put(o, m[1] ? "ip reassembly time exceeded" : "time exceeded in-transit");
		break;
	case 13:
	case 14:
		put(o, "time stamp %s id %u seq %u", m[0] == 13 ? "query" : "reply",
		    wire_get16(m + 4), wire_get16(m + 6));
		break;
	default:
		put(o, "type-#%u", m[0]);
	}
	put(o, ", length %zu", s->len);
}

/* ---- IPv4 (print-ip.c) ------------------------------------------------------------ */

static const char *ip_proto_name(uint8_t p)
{
	return p == 1 ? "ICMP" : p == 6 ? "TCP" : p == 17 ? "UDP" : p == 47 ? "GRE" : "unknown";
}

/* -v: "(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)". */
static void ip_verbose(struct out *o, const uint8_t *h, size_t hl)
{
	static const char *const ecn[] = { "", ",ECT(1)", ",ECT(0)", ",CE" };
	uint16_t frag = wire_get16(h + 6);
	const char *fl = (frag & 0x6000) == 0x6000 ? "DF+" : frag & 0x4000 ? "DF" :
			 frag & 0x2000 ? "+" : "none";
	put(o, "(tos 0x%x%s, ttl %u, id %u, offset %u, flags [%s], proto %s (%u), length %u",
	    h[1], ecn[h[1] & 3], h[8], wire_get16(h + 4),
	    (frag & 0x1fff) * 8u, fl, ip_proto_name(h[9]), h[9], wire_get16(h + 2));
	uint16_t sum = csum_fold(csum_partial(h, hl, 0));
	if (sum != 0)
		put(o, ", bad cksum %x (->%x)!", wire_get16(h + 10),
		    csum_fold(csum_partial(h, hl, 0) + (uint16_t)~wire_get16(h + 10)));
	put(o, ")\n    ");
}

static void ip_payload(struct out *o, const uint8_t *h, struct view *s, unsigned flags)
{
	uint16_t frag = wire_get16(h + 6);
	put_ip(o, h + 12);
	if (frag & 0x1fff) {
		put(o, " > ");
		put_ip(o, h + 16);
		put(o, ": ip-proto-%u", h[9]);
		return;
	}
	if (h[9] == 6 || h[9] == 17) {
		(h[9] == 6 ? tcp_print : udp_print)(o, s, h, flags);
		return;
	}
	put(o, " > ");
	put_ip(o, h + 16);
	put(o, ": ");
	if (h[9] == 1)
		icmp_print(o, s);
	else
		put(o, " ip-proto-%u %zu", h[9], s->len);
}

/* cap bytes captured of wire bytes on the link (padding included). */
static void ip_print(struct out *o, const uint8_t *h, size_t cap, size_t wire, unsigned flags)
{
	if (!(flags & PKT_PRINT_ETHER) && cap)
		put(o, "IP ");
	if (cap < 20) {
		put(o, " [|ip]");
		return;
	}
	if ((h[0] >> 4) != 4) {
		put(o, "IP%u", h[0] >> 4);
		return;
	}
	size_t hl = (size_t)(h[0] & 0x0f) * 4, tot = wire_get16(h + 2);
	if (hl < 20 || tot < hl) {
		put(o, hl < 20 ? "bad-hlen %zu" : "bad-len %zu", hl < 20 ? hl : tot);
		return;
	}
	if (tot > wire)
		put(o, "truncated-ip - %zu bytes missing! ", tot - wire);
	if (hl > cap) {
		put(o, " [remaining caplen(%zu) < header length(%zu)] [|ip]", cap, hl);
		return;
	}
	if (flags & PKT_PRINT_VERBOSE)
		ip_verbose(o, h, hl);
	size_t have = tot < cap ? tot : cap;    /* link padding is not IP */
	struct view s = { h + hl, have - hl, tot - hl };
	ip_payload(o, h, &s, flags);
}

/* ---- ARP (print-arp.c) ------------------------------------------------------------ */

static void arp_print(struct out *o, const uint8_t *a, size_t cap, size_t len, unsigned flags)
{
	static const uint8_t zero[6];
	if (cap < 8 || wire_get16(a) != 1 || wire_get16(a + 2) != 0x0800 || a[4] != 6 ||
	    a[5] != 4 || cap < 28) {
		put(o, " [|arp]");
		return;
	}
	if (!(flags & PKT_PRINT_ETHER))
		put(o, "ARP, ");
	if (flags & PKT_PRINT_VERBOSE)
		put(o, "Ethernet (len 6), IPv4 (len 4), ");
	uint16_t op = wire_get16(a + 6);
	if (op == 1) {
		put(o, "Request who-has ");
		put_ip(o, a + 24);
		if (memcmp(a + 18, zero, 6) != 0) {
			put(o, " (");
			put_mac(o, a + 18);
			put(o, ")");
		}
		put(o, " tell ");
		put_ip(o, a + 14);
	} else if (op == 2) {
		put(o, "Reply ");
		put_ip(o, a + 14);
		put(o, " is-at ");
		put_mac(o, a + 8);
	} else {
		put(o, "op-#%u", op);
	}
	put(o, ", length %zu", len);
}

/* ---- Ethernet (print-ether.c) ----------------------------------------------------- */

static const char *ethertype_name(uint16_t t)
{
	return t == 0x0800 ? "IPv4" : t == 0x0806 ? "ARP" : t == 0x86dd ? "IPv6" :
	       t == 0x88cc ? "LLDP" : t == 0x8100 ? "802.1Q" : "Unknown";
}

static void ether_hdr(struct out *o, const uint8_t *f, size_t origlen)
{
	put_mac(o, f + 6);
	put(o, " > ");
	put_mac(o, f);
	put(o, ", ethertype %s (0x%04x), length %zu: ", ethertype_name(wire_get16(f + 12)),
	    wire_get16(f + 12), origlen);
}

static void put_time(struct out *o, uint64_t ts_ns)
{
	uint64_t s = ts_ns / 1000000000u % 86400u;
	put(o, "%02u:%02u:%02u.%06u ", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
	    (unsigned)(s % 60), (unsigned)(ts_ns % 1000000000u / 1000));
}

static void body(struct out *o, const uint8_t *f, size_t caplen, size_t origlen, unsigned flags)
{
	if (caplen < 14) {
		put(o, " [|ether]\n");
		return;
	}
	uint16_t type = wire_get16(f + 12);
	int known = type == 0x0800 || type == 0x0806;
	if ((flags & PKT_PRINT_ETHER) || !known)
		ether_hdr(o, f, origlen);
	if (type == 0x0800) {
		ip_print(o, f + 14, caplen - 14, origlen - 14, flags);
	} else if (type == 0x0806) {
		arp_print(o, f + 14, caplen - 14, origlen - 14, flags);
	}
	put(o, "\n");
	if (!known && !(flags & (PKT_PRINT_HEX | PKT_PRINT_HEX_LINK)))
		hex_ascii_dump(o, f + 14, caplen - 14);
}

int pkt_print(char *buf, size_t cap, uint64_t ts_ns, const uint8_t *frame, size_t caplen,
	      size_t origlen, unsigned flags)
{
	struct out o = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	if (origlen < caplen)
		origlen = caplen;
	put_time(&o, ts_ns);
	body(&o, frame, caplen, origlen, flags);
	if (flags & PKT_PRINT_HEX_LINK)
		hex_dump(&o, frame, caplen);
	else if ((flags & PKT_PRINT_HEX) && caplen > 14)
		hex_dump(&o, frame + 14, caplen - 14);
	return (int)o.len;
}
