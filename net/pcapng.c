/*
 * pcapng and pcap writers and the capture ring (pcapng.h).
 *
 * Blocks are sized first, checked against cap, then written front to back; options
 * are (code, length, value padded to 32 bits) and end with opt_endofopt (pcapng §3.5).
 * Ring records are [struct ring_rec | frame bytes | pad to 8] laid end to end; a record
 * never wraps: when it does not fit before the end, the tail moves to 0 and the gap is
 * marked (a WRAP header, or fewer bytes than a header, which means the same).
 */
#include "net/pcapng.h"
#include "net/err.h"
#include "lib/string.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BT_ISB 0x00000005u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define OPT_ENDOFOPT 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2

static uint32_t pad4(size_t n)
{
	return (uint32_t)((n + 3) & ~(size_t)3);
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)v);
	return put16(p, (uint16_t)(v >> 16));
}

/* Bytes and zero padding to a 32-bit boundary. */
static uint8_t *put_bytes(uint8_t *p, const void *v, size_t n)
{
	if (n)
		memcpy(p, v, n);
	memset(p + n, 0, pad4(n) - n);
	return p + pad4(n);
}

static uint8_t *put_opt(uint8_t *p, uint16_t code, const void *v, uint16_t n)
{
	p = put16(p, code);
	p = put16(p, n);
	return put_bytes(p, v, n);
}

/* Option strings are capped so a block length cannot overflow. */
static uint16_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return (uint16_t)(n > 256 ? 256 : n);
}

size_t pcapng_shb(uint8_t *buf, size_t cap, const char *app)
{
	uint16_t alen = str_len(app);
	uint32_t total = 24 + (alen ? 4 + pad4(alen) : 0) + 4 + 4;
	if (cap < total)
		return 0;
	uint8_t *p = put32(buf, BT_SHB);
	p = put32(p, total);
	p = put32(p, BYTE_ORDER_MAGIC);
	p = put16(p, 1);                        /* major version */
	p = put16(p, 0);                        /* minor version */
	p = put32(p, 0xffffffffu);              /* section length -1: not specified */
	p = put32(p, 0xffffffffu);
	if (alen)
		p = put_opt(p, OPT_SHB_USERAPPL, app, alen);
	p = put_opt(p, OPT_ENDOFOPT, NULL, 0);
	put32(p, total);
	return total;
}

size_t pcapng_idb(uint8_t *buf, size_t cap, const char *if_name, uint32_t snaplen)
{
	uint16_t nlen = str_len(if_name);
	uint8_t tsresol = 9;                    /* 10^-9 s: nanoseconds */
	uint32_t total = 16 + (nlen ? 4 + pad4(nlen) : 0) + 8 + 4 + 4;
	if (cap < total)
		return 0;
	uint8_t *p = put32(buf, BT_IDB);
	p = put32(p, total);
	p = put16(p, PCAP_LINKTYPE_ETHERNET);
	p = put16(p, 0);
	p = put32(p, snaplen);
	if (nlen)
		p = put_opt(p, OPT_IF_NAME, if_name, nlen);
	p = put_opt(p, OPT_IF_TSRESOL, &tsresol, 1);
	p = put_opt(p, OPT_ENDOFOPT, NULL, 0);
	put32(p, total);
	return total;
}

size_t pcapng_isb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns)
{
	uint32_t total = 24;                    /* §4.6, no options */
	if (cap < total)
		return 0;
	uint8_t *p = put32(buf, BT_ISB);
	p = put32(p, total);
	p = put32(p, if_id);
	p = put32(p, (uint32_t)(ts_ns >> 32));
	p = put32(p, (uint32_t)ts_ns);
	put32(p, total);
	return total;
}

size_t pcapng_epb_size(uint32_t caplen)
{
	return 28 + (size_t)pad4(caplen) + 8 + 4 + 4;
}

size_t pcapng_epb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns, const uint8_t *data,
		  uint32_t caplen, uint32_t origlen, enum pcap_dir dir)
{
	size_t total = pcapng_epb_size(caplen) - (dir == PCAP_DIR_UNKNOWN ? 8 : 0);
	if (cap < total || caplen > 0x40000000u)
		return 0;
	uint8_t *p = put32(buf, BT_EPB);
	p = put32(p, (uint32_t)total);
	p = put32(p, if_id);
	p = put32(p, (uint32_t)(ts_ns >> 32));
	p = put32(p, (uint32_t)ts_ns);
	p = put32(p, caplen);
	p = put32(p, origlen);
	p = put_bytes(p, data, caplen);
	if (dir != PCAP_DIR_UNKNOWN) {
		uint8_t flags[4];
		put32(flags, (uint32_t)dir);    /* bits 0-1: 01 inbound, 10 outbound */
		p = put_opt(p, OPT_EPB_FLAGS, flags, 4);
	}
	p = put_opt(p, OPT_ENDOFOPT, NULL, 0);
	put32(p, (uint32_t)total);
	return total;
}

size_t pcap_file_header(uint8_t *buf, size_t cap, uint32_t snaplen, int nsec)
{
	if (cap < 24)
		return 0;
	uint8_t *p = put32(buf, nsec ? 0xa1b23c4du : 0xa1b2c3d4u);
	p = put16(p, 2);
	p = put16(p, 4);
	p = put32(p, 0);                        /* thiszone: UTC */
	p = put32(p, 0);                        /* sigfigs */
	p = put32(p, snaplen);
	put32(p, PCAP_LINKTYPE_ETHERNET);
	return 24;
}

size_t pcap_record(uint8_t *buf, size_t cap, uint64_t ts_ns, const uint8_t *data,
		   uint32_t caplen, uint32_t origlen, int nsec)
{
	if (cap < 16 || cap - 16 < caplen)
		return 0;
	uint64_t frac = ts_ns % 1000000000u;
	uint8_t *p = put32(buf, (uint32_t)(ts_ns / 1000000000u));
	p = put32(p, (uint32_t)(nsec ? frac : frac / 1000));
	p = put32(p, caplen);
	p = put32(p, origlen);
	memcpy(p, data, caplen);
	return 16 + (size_t)caplen;
}

/* ---- the ring --------------------------------------------------------------------- */

struct ring_rec {
	uint32_t len;           /* whole record, header and padding included */
	uint32_t caplen, origlen;
	uint16_t if_id;
	uint8_t dir;
	uint8_t wrap;           /* 1: nothing more before the end, go to offset 0 */
	uint64_t ts_ns;
};
_Static_assert(sizeof(struct ring_rec) == 24, "ring record header is 24 bytes");
#define REC_HDR sizeof(struct ring_rec)

static uint32_t align8(uint32_t n)
{
	return (n + 7) & ~7u;
}

void pcap_ring_init(struct pcap_ring *r, void *mem, uint32_t size, uint32_t snaplen)
{
	memset(r, 0, sizeof(*r));
	r->mem = mem;
	r->size = size & ~7u;
	r->snaplen = snaplen;
}

void pcap_ring_clear(struct pcap_ring *r)
{
	r->head = r->tail = r->used = r->count = 0;
	r->seq_head = r->seq_next;
}

static struct ring_rec rec_at(const struct pcap_ring *r, uint32_t off)
{
	struct ring_rec h;
	memcpy(&h, r->mem + off, REC_HDR);
	return h;
}

/* Offset of the record at off, past the end-of-ring gap if off is at one. */
static uint32_t skip_gap(const struct pcap_ring *r, uint32_t off)
{
	if (r->size - off < REC_HDR || rec_at(r, off).wrap)
		return 0;
	return off;
}

static void drop_oldest(struct pcap_ring *r)
{
	uint32_t at = skip_gap(r, r->head);
	if (at != r->head) {
		r->used -= r->size - r->head;   /* the gap goes with the record before it */
		r->head = 0;
	}
	struct ring_rec h = rec_at(r, r->head);
	r->head += h.len;
	r->used -= h.len;
	r->count--;
	r->seq_head++;
	r->st.overwritten++;
}

/* Where a record of need bytes goes, dropping the oldest ones until it fits. */
static uint32_t make_room(struct pcap_ring *r, uint32_t need)
{
	for (;;) {
		if (r->count == 0)
			r->head = r->tail = r->used = 0;
		int linear = r->tail > r->head || r->count == 0;   /* free space: tail..end, 0..head */
		if (linear && r->size - r->tail >= need)
			return r->tail;
		if (linear && r->head >= need) {
			if (r->size - r->tail >= REC_HDR) {
				struct ring_rec w = { .len = r->size - r->tail, .wrap = 1 };
				memcpy(r->mem + r->tail, &w, REC_HDR);
			}
			r->used += r->size - r->tail;
			r->tail = 0;
			return 0;
		}
		if (!linear && r->head - r->tail >= need)
			return r->tail;
		drop_oldest(r);
	}
}

int pcap_ring_push(struct pcap_ring *r, uint64_t ts_ns, uint16_t if_id, enum pcap_dir dir,
		   const uint8_t *frame, uint32_t len)
{
	uint32_t caplen = len < r->snaplen ? len : r->snaplen;
	if (caplen > r->size || align8((uint32_t)REC_HDR + caplen) > r->size) {
		r->st.too_big++;
		return -NET_EMSGSIZE;
	}
	uint32_t need = align8((uint32_t)REC_HDR + caplen);
	uint32_t at = make_room(r, need);
	struct ring_rec h = { .len = need, .caplen = caplen, .origlen = len, .if_id = if_id,
			      .dir = (uint8_t)dir, .ts_ns = ts_ns };
	memcpy(r->mem + at, &h, REC_HDR);
	memcpy(r->mem + at + REC_HDR, frame, caplen);
	r->tail = at + need;
	r->used += need;
	r->count++;
	r->seq_next++;
	r->st.pushed++;
	return 0;
}

void pcap_ring_cursor_oldest(const struct pcap_ring *r, struct pcap_ring_cursor *c)
{
	c->seq = r->seq_head;
	c->off = r->head;
	c->lost = 0;
}

size_t pcap_ring_read(const struct pcap_ring *r, struct pcap_ring_cursor *c, uint8_t *buf,
		      size_t cap)
{
	if (c->seq < r->seq_head) {
		c->lost += r->seq_head - c->seq;
		c->seq = r->seq_head;
	}
	/* The oldest record's place is the ring's; a later one's is where the reader
	 * stopped (records between head and tail never move). */
	uint32_t off = c->seq == r->seq_head ? r->head : c->off;
	size_t done = 0;
	while (c->seq < r->seq_next) {
		off = skip_gap(r, off);
		struct ring_rec h = rec_at(r, off);
		size_t n = pcapng_epb(buf + done, cap - done, h.if_id, h.ts_ns,
				      r->mem + off + REC_HDR, h.caplen, h.origlen, (enum pcap_dir)h.dir);
		if (!n)
			break;
		done += n;
		off += h.len;
		c->seq++;
	}
	c->off = off;
	return done;
}
