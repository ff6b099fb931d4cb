/*
 * Syslog over UDP (see syslog.h). syslog_format writes RFC 5424 §6 framing; the
 * netconsole is a ring of lines drained by netconsole_poll through udp_send.
 *
 * Readiness, checked every poll: a route to the target with a source address (DHCP has
 * finished, or a static address) on an interface whose link is up (lines logged while
 * it is down wait), then the next hop's neighbour entry. While it is
 * unresolved, one datagram per second goes out to start (or restart) ARP: the neighbour
 * table holds only NEIGH_QUEUE_LEN packets per unresolved entry.
 */
#include "net/syslog.h"
#include "net/udp.h"
#include "net/ipv4.h"
#include "net/route.h"
#include "net/neigh.h"
#include "net/link.h"
#include "net/config.h"
#include "lib/fmt.h"
#include "lib/string.h"

/* ---- RFC 5424 formatting ------------------------------------------------------- */

/* Days since 1970-01-01 to a proleptic Gregorian date (the 400-year era method). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* RFC 5424 §6.3.3 TIMESTAMP: FULL-DATE "T" FULL-TIME in UTC, microseconds. */
static void format_time(char *out, size_t cap, uint64_t unix_us)
{
	if (!unix_us) {
		strlcpy(out, "-", cap);
		return;
	}
	uint64_t s = unix_us / 1000000;
	int y;
	unsigned mo, d, sod = (unsigned)(s % 86400);
	civil_from_days((int64_t)(s / 86400), &y, &mo, &d);
	ksnprintf(out, cap, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", y, mo, d, sod / 3600,
		  sod / 60 % 60, sod % 60, (unsigned)(unix_us % 1000000));
}

/* §6 header fields are 1*PRINTUSASCII (33..126), at most max octets, else NILVALUE. */
static const char *header_field(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return "-";
	for (size_t i = 0; i < n; i++)
		if (s[i] < 33 || s[i] > 126)
			return "-";
	return s;
}

size_t syslog_format(char *buf, size_t cap, const struct syslog_msg *m)
{
	if (m->facility < 0 || m->facility > 23 || m->severity < 0 || m->severity > 7 || cap == 0)
		return 0;
	char ts[40];
	format_time(ts, sizeof(ts), m->unix_us);
	/* §6.2.1 PRI = facility * 8 + severity; VERSION 1; PROCID, MSGID and SD are NIL. */
	int n = ksnprintf(buf, cap, "<%d>1 %s %s %s - - - ", m->facility * 8 + m->severity, ts,
			  header_field(m->hostname, 255), header_field(m->app, 48));
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t o = (size_t)n;
	for (size_t i = 0; i < m->text_len && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)m->text[i];
		/* MSG without a BOM is "any" encoding (§6.4); keep it plain ASCII for collectors. */
		buf[o++] = (c < 0x20 || c == 0x7f) ? ' ' : c > 0x7f ? '?' : (char)c;
	}
	buf[o] = 0;
	return o;
}

/* ---- the netconsole -------------------------------------------------------------- */

void netconsole_init(struct netconsole *nc, uint32_t dst, uint16_t dport, int facility,
		     const char *hostname)
{
	memset(nc, 0, sizeof(*nc));
	nc->dst = dst;
	nc->dport = dport;
	nc->facility = facility;
	strlcpy(nc->hostname, hostname, sizeof(nc->hostname));
}

void netconsole_attach(struct netconsole *nc, struct udp *u)
{
	nc->udp = u;
}

static uint64_t lock(struct netconsole *nc)
{
	return nc->lock ? nc->lock() : 0;
}

static void unlock(struct netconsole *nc, uint64_t f)
{
	if (nc->unlock)
		nc->unlock(f);
}

void netconsole_log(struct netconsole *nc, int severity, uint64_t unix_us, const char *text,
		    size_t len)
{
	uint64_t f = lock(nc);
	if (nc->tail - nc->head >= NETCONSOLE_RING) {
		nc->head++;             /* the oldest line falls out */
		nc->stats.overflow++;
	}
	struct netconsole_line *l = &nc->ring[nc->tail % NETCONSOLE_RING];
	if (len > NETCONSOLE_LINE_MAX)
		len = NETCONSOLE_LINE_MAX;
	l->severity = (uint8_t)(severity & 7);
	l->unix_us = unix_us;
	l->len = (uint16_t)len;
	memcpy(l->text, text, len);
	nc->tail++;
	nc->stats.queued++;
	unlock(nc, f);
}

uint64_t netconsole_waiting(const struct netconsole *nc)
{
	return nc->tail - nc->head;
}

/* Copies the oldest line out, so lines queued while it is sent cannot overwrite it. */
static int pop(struct netconsole *nc, struct netconsole_line *out)
{
	uint64_t f = lock(nc);
	int got = nc->tail != nc->head;
	if (got) {
		const struct netconsole_line *l = &nc->ring[nc->head % NETCONSOLE_RING];
		out->severity = l->severity;
		out->unix_us = l->unix_us;
		out->len = l->len;
		memcpy(out->text, l->text, l->len);
		nc->head++;
	}
	unlock(nc, f);
	return got;
}

/* How many datagrams may go out now (see the file comment). */
static int budget(struct netconsole *nc, uint64_t now_ns)
{
	struct route_result rt;
	if (nc->tail == nc->head || !nc->udp || route_get(nc->udp->ip->routes, nc->dst, &rt) < 0 ||
	    rt.type == RTN_LOCAL || !rt.src)
		return 0;
	/* The stack reads link state once a second (NET_LINK_CHECK_NS); ask the device too,
	 * so the "link down" line itself is not sent into a dead link. */
	const struct net_if *ifc = &nc->udp->link->ifs[rt.ifi];
	if (!ifc->addr || !ifc->link_up || (ifc->dev->ops->link_up && !ifc->dev->ops->link_up(ifc->dev)))
		return 0;
	const struct neigh_entry *e = neigh_lookup(nc->udp->ip->neigh, rt.ifi, rt.nexthop);
	if (e && e->state != NEIGH_INCOMPLETE && e->state != NEIGH_FAILED)
		return NETCONSOLE_BUDGET;
	if (rt.type == RTN_BROADCAST)
		return NETCONSOLE_BUDGET;       /* no resolution needed */
	if (e && e->state == NEIGH_INCOMPLETE)
		return 0;
	if (now_ns < nc->next_try_ns)
		return 0;
	nc->next_try_ns = now_ns + NET_NS_PER_SEC;
	return 1;
}

static void send_line(struct netconsole *nc, const struct netconsole_line *l)
{
	char dgram[NETCONSOLE_DGRAM_MAX];
	struct syslog_msg m = { nc->facility, l->severity, l->unix_us, nc->hostname, "skiff",
				l->text, l->len };
	size_t n = syslog_format(dgram, sizeof(dgram), &m);
	if (n && udp_send(nc->udp, 0, NETCONSOLE_SPORT, nc->dst, nc->dport, dgram, n) == 0)
		nc->stats.sent++;
	else
		nc->stats.errors++;
}

void netconsole_poll(struct netconsole *nc, uint64_t now_ns)
{
	for (int n = budget(nc, now_ns); n > 0 && pop(nc, &nc->sending); n--)
		send_line(nc, &nc->sending);
}
