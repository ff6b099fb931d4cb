/*
 * Packet capture: the consumers of the core's tap (net_tap(): every frame at the driver
 * boundary, received in link_input(), transmitted where the qdisc hands it to
 * tx_burst). The tap is set only while a consumer runs, so an idle stack pays one
 * predictable branch per frame.
 *
 * Consumers, each with its own filter (net/pkt_filter.h):
 *   - the shell's `tcpdump`: one pkt_print() line per frame through out(), under an
 *     output budget (CAPTURE_OUT_BPS): the serial console is slow, and a line that would
 *     overrun the budget is dropped and counted instead of stalling the stack;
 *   - a bounded capture ring (net/pcapng.h) that /debug/pcap reads as pcapng;
 *   - a raw classic-pcap byte stream (the glue writes it to a second serial port).
 * Times: the core clock plus epoch_ns, the wall-clock offset the glue sets (0: unknown,
 * times of day then count from boot).
 *
 * Calling context: the main loop (the tap runs inside net_input() and net_poll()).
 */
#ifndef SKIFF_NET_CAPTURE_H
#define SKIFF_NET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt_filter.h"
#include "net/pcapng.h"
#include "net/trace.h"

struct net_core;
struct net_link;
struct netdev;

#define CAPTURE_OUT_BPS 8192            /* console bytes/s for tcpdump (115200 baud ~ 11.5 KB/s) */
#define CAPTURE_OUT_BURST 4096          /* bytes the budget may save up */
#define CAPTURE_LINE_MAX 1024           /* one printed frame (-x: a whole 1514-byte dump is cut) */
#define CAPTURE_RING_BYTES (256 * 1024) /* the /debug/pcap ring */
#define CAPTURE_SNAPLEN 2048

typedef void (*capture_out_fn)(void *ctx, const char *text);

/* The shell's tcpdump. */
struct capture_dump {
	uint8_t active;
	unsigned flags;                 /* PKT_PRINT_* */
	int ifindex;                    /* netdev.ifindex to watch, 0: all */
	uint32_t limit;                 /* stop after this many printed (-c), 0: no limit */
	uint64_t seen;                  /* frames the tap offered ("received by filter") */
	uint64_t matched;               /* frames that passed the filter */
	uint64_t printed;               /* lines printed ("captured") */
	uint64_t dropped;               /* lines the output budget refused */
	uint64_t budget;                /* bytes that may be printed now */
	uint64_t budget_ns;             /* when the budget was last refilled */
	capture_out_fn out;
	void *ctx;
	struct pkt_filter f;
};

/* A raw pcap stream (classic format, ns timestamps). */
typedef void (*capture_write_fn)(void *ctx, const uint8_t *data, size_t len);

struct capture_stream {
	uint8_t active;
	uint64_t frames;
	capture_write_fn write;
	void *ctx;
	struct pkt_filter f;
};

#define CAPTURE_TRACE_KEEP 32           /* finished traces kept for /debug/ readers */

/* The tracer's one user at a time: the shell's `trace` (out set) or an HTTP reader. */
struct capture_trace {
	uint8_t active;
	uint32_t limit;                 /* stop after this many traces (-c), 0: no limit */
	uint64_t done;                  /* traces finished since start */
	uint64_t printed, dropped;      /* shell lines, and lines the console budget refused */
	uint64_t budget, budget_ns;
	capture_out_fn out;             /* NULL: an HTTP reader takes them from keep[] */
	void *ctx;
	struct pkt_filter f;
	/* the newest finished traces, by sequence number seq % KEEP */
	struct trace_rec keep[CAPTURE_TRACE_KEEP][TRACE_MAX_RECS];
	uint8_t keep_n[CAPTURE_TRACE_KEEP];
	uint64_t seq;                   /* traces ever finished (keep[] holds the last ones) */
	uint64_t shown;                 /* the shell has printed up to here */
	uint8_t ending;                 /* -c reached: stop at the next poll */
};

struct capture {
	struct net_core *core;
	struct net_link *link;
	uint64_t epoch_ns;              /* wall clock = core clock + epoch_ns */
	struct capture_dump dump;
	struct capture_trace trace;
	struct net_tracer tracer;
	struct capture_stream stream;
	/* The ring: one reader at a time (an HTTP download) with its filter, an optional
	 * frame limit, and a way to leave out its own connection's frames. */
	struct pcap_ring ring;
	uint8_t ring_ready;
	uint8_t ring_busy;
	uint32_t ring_limit;            /* frames to keep, 0: until the reader stops */
	uint64_t ring_taken;            /* frames pushed for this reader */
	struct pkt_filter ring_f;
	int (*exclude)(void *ctx, const uint8_t *frame, size_t len);
	void *exclude_ctx;
};

void capture_init(struct capture *c, struct net_core *core, struct net_link *link);

/* Starts the shell's tcpdump: expr (NULL/"" = all frames) compiled, or -1 with the
 * one-line error in err. -2 when one already runs. */
int capture_dump_start(struct capture *c, const char *expr, unsigned flags, int ifindex,
		       uint32_t limit, capture_out_fn out, void *ctx, char *err, size_t errcap);
/* Stops it and prints tcpdump's closing counts; no-op when none runs. */
void capture_dump_stop(struct capture *c);

/* Starts the raw pcap stream: writes the file header, then a record per matching frame. */
int capture_stream_start(struct capture *c, const char *expr, capture_write_fn write, void *ctx,
			 char *err, size_t errcap);

/* The ring: mem (size bytes) given once by the glue. A reader takes it with
 * capture_ring_get() (-1 with err for a bad expr, -2 when another reader has it), which
 * empties it; frames are pushed from then on until limit frames (0: no limit) or
 * capture_ring_put(). exclude (may be NULL) returns 1 for frames to leave out. */
void capture_ring_setup(struct capture *c, void *mem, uint32_t size);
int capture_ring_get(struct capture *c, const char *expr, uint32_t limit,
		     int (*exclude)(void *ctx, const uint8_t *frame, size_t len), void *ctx,
		     char *err, size_t errcap);
/* The reader has everything it will get (limit reached). */
int capture_ring_full(const struct capture *c);
void capture_ring_put(struct capture *c);

/* Starts the tracer for expr (NULL/"" = all): finished traces print one line each
 * through out, or (out NULL) are only kept for readers of keep[]. -1 with err for a
 * bad expression, -2 when a trace already runs. */
int capture_trace_start(struct capture *c, const char *expr, uint32_t limit, capture_out_fn out,
			void *ctx, char *err, size_t errcap);
/* From net_poll(): prints the shell's finished traces, and the end after -c N. */
void capture_poll(struct capture *c);
/* Stops it; the shell's trace prints its lines and a closing count. */
void capture_trace_stop(struct capture *c);
/* One finished trace as text ("rx eth0 98B → eth ok → ... (14 µs)\n") or as a JSON
 * line; return the length wanted, like ksnprintf. */
int capture_trace_text(const struct capture *c, const struct trace_rec *r, int n, char *buf,
		       size_t cap);
int capture_trace_json(const struct capture *c, const struct trace_rec *r, int n, char *buf,
		       size_t cap);

/* Time stamp for a frame seen now (ns since the epoch when known). */
uint64_t capture_now(const struct capture *c);

#endif
