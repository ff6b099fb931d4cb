/*
 * Packet capture files, written into caller buffers: pcapng blocks (RFC draft
 * draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format": §4.1 SHB, §4.2
 * IDB, §4.3 EPB, §3.5 options) and the classic pcap format (draft-ietf-opsawg-pcap:
 * global header + records), plus a bounded capture ring that keeps the newest frames.
 * Everything is little-endian (the SHB byte-order magic says so); nothing allocates.
 *
 * Call order for a pcapng stream (an HTTP download, a file):
 *   pcapng_shb(); pcapng_idb() once per interface (interface id = call order from 0);
 *   then pcapng_epb() per frame, or pcap_ring_read() which emits EPBs from the ring.
 * For a raw serial stream: pcap_file_header() once, pcap_record() per frame.
 * Every writer returns the bytes written, or 0 when cap is too small (nothing written).
 *
 * The ring: pcap_ring_init() over memory the caller gives; pcap_ring_push() from the
 * receive/transmit path (never blocks, drops the oldest records to make room and
 * counts them); readers keep their own struct pcap_ring_cursor and may fall behind:
 * records overwritten under them are skipped and counted in the cursor.
 */
#ifndef SKIFF_NET_PCAPNG_H
#define SKIFF_NET_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_LINKTYPE_ETHERNET 1

/* epb_flags direction bits (pcapng §4.3.1). */
enum pcap_dir { PCAP_DIR_UNKNOWN = 0, PCAP_DIR_IN = 1, PCAP_DIR_OUT = 2 };

/* Section Header Block; app (may be NULL) goes into shb_userappl. */
size_t pcapng_shb(uint8_t *buf, size_t cap, const char *app);
/* Interface Description Block: Ethernet, snaplen, if_name, if_tsresol = 9 (ns). */
size_t pcapng_idb(uint8_t *buf, size_t cap, const char *if_name, uint32_t snaplen);
/* Interface Statistics Block (§4.6) with no options: 24 bytes. A stream with nothing
 * to say sends one now and then so readers and timeouts see it alive. */
size_t pcapng_isb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns);
/* Bytes an EPB of caplen captured bytes takes (with its epb_flags option). */
size_t pcapng_epb_size(uint32_t caplen);
/* Enhanced Packet Block: ts in ns since the epoch, caplen bytes of data (origlen on
 * the wire), direction in epb_flags (omitted for PCAP_DIR_UNKNOWN). */
size_t pcapng_epb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns, const uint8_t *data,
		  uint32_t caplen, uint32_t origlen, enum pcap_dir dir);

/* Classic pcap: magic a1b23c4d (ns timestamps) if nsec, else a1b2c3d4 (us). */
size_t pcap_file_header(uint8_t *buf, size_t cap, uint32_t snaplen, int nsec);
size_t pcap_record(uint8_t *buf, size_t cap, uint64_t ts_ns, const uint8_t *data,
		   uint32_t caplen, uint32_t origlen, int nsec);

/* ---- the capture ring ------------------------------------------------------------- */

struct pcap_ring_stats {
	uint64_t pushed;        /* records stored */
	uint64_t overwritten;   /* oldest records dropped to make room */
	uint64_t too_big;       /* frames that could never fit (counted, not stored) */
};

struct pcap_ring {
	uint8_t *mem;
	uint32_t size;          /* bytes, a multiple of 8 */
	uint32_t snaplen;       /* bytes kept per frame */
	uint32_t head;          /* offset of the oldest record */
	uint32_t tail;          /* offset where the next record goes */
	uint32_t used;          /* bytes between head and tail, wrap padding included */
	uint32_t count;         /* records held */
	uint64_t seq_head;      /* sequence number of the oldest record */
	uint64_t seq_next;      /* sequence number the next record gets */
	struct pcap_ring_stats st;
};

struct pcap_ring_cursor {
	uint64_t seq;           /* next record this reader wants */
	uint32_t off;           /* its offset, valid while seq >= ring seq_head */
	uint64_t lost;          /* records overwritten before this reader got them */
};

/* mem: size bytes owned by the caller for the ring's life (rounded down to 8). */
void pcap_ring_init(struct pcap_ring *r, void *mem, uint32_t size, uint32_t snaplen);
/* Copies min(len, snaplen) bytes of the frame. 0, or -NET_EMSGSIZE (counted) if even an
 * empty ring could not hold it. Overwrites the oldest records as needed. */
int pcap_ring_push(struct pcap_ring *r, uint64_t ts_ns, uint16_t if_id, enum pcap_dir dir,
		   const uint8_t *frame, uint32_t len);
/* A cursor at the oldest record held now. */
void pcap_ring_cursor_oldest(const struct pcap_ring *r, struct pcap_ring_cursor *c);
/* Writes as many whole EPBs as fit in cap, oldest first from the cursor, and advances
 * it; returns the bytes written (0: nothing new, or the next EPB needs more than cap). */
size_t pcap_ring_read(const struct pcap_ring *r, struct pcap_ring_cursor *c, uint8_t *buf,
		      size_t cap);
/* Empties the ring; counters stay. */
void pcap_ring_clear(struct pcap_ring *r);

#endif
