/*
 * The generated endpoints of the HTTP server: /bytes/N and /metrics. Pure writers:
 * the connection state machine (http_server.c) decides when each chunk is produced.
 */
#ifndef SKIFF_NET_HTTP_ENDPOINTS_H
#define SKIFF_NET_HTTP_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BYTES_MAX (64ull << 20)    /* /bytes/N: N <= 64 MiB */

/* ---- /bytes/N ----------------------------------------------------------------------- */

/* Bytes [off, off+len) of the body of /bytes/N. The generator (the Python twin is
 * tests/system/bytesgen.py): splitmix64 in counter form,
 *   seed  = N ^ 0x536b6966662f6279
 *   z_j   = seed + (j + 1) * 0x9e3779b97f4a7c15            (mod 2^64)
 *   z_j   = (z_j ^ (z_j >> 30)) * 0xbf58476d1ce4e5b9
 *   z_j   = (z_j ^ (z_j >> 27)) * 0x94d049bb133111eb
 *   z_j   =  z_j ^ (z_j >> 31)
 * and body byte k is byte k % 8 of z_{k/8} in little-endian order. Random access, so
 * ranges cost nothing. */
#define HTTP_BYTES_SEED 0x536b6966662f6279ull
void http_bytes_fill(uint64_t n, uint64_t off, uint8_t *dst, size_t len);

/* The N of "/bytes/N" from the text after "/bytes/": decimal, no sign, no leading zero,
 * N <= HTTP_BYTES_MAX. False otherwise. */
bool http_bytes_parse(const char *s, size_t n, uint64_t *out);

/* ---- metrics ------------------------------------------------------------------------ */

enum http_metric_type { HTTP_METRIC_COUNTER, HTTP_METRIC_GAUGE };

/* The writer /metrics hands to the glue's callback; opaque. */
struct http_metrics_out;

/* Emits one sample: name [a-zA-Z_:][a-zA-Z0-9_:]*; labels NULL/"" or already in
 * exposition syntax, e.g. `dev="eth0",queue="0"` (values escaped: \\ \" \n); help is
 * free text (escaped here). Rows of one metric family must be consecutive and carry the
 * same help/type: "# HELP"/"# TYPE" are written before the first row of each family.
 * Invalid rows are dropped and counted (skiff_http_metrics_rows_dropped_total). */
void http_metrics_row(struct http_metrics_out *w, const char *name, const char *help,
		      enum http_metric_type type, const char *labels, uint64_t value);

/* Called once per output chunk (~4 KiB); must emit the same rows in the same order
 * each time (values may move). Name, help and labels need only live during the call. */
typedef void (*http_metrics_fn)(void *ctx, struct http_metrics_out *w);

/* Wall clock for the Date field: true with seconds since 1970-01-01 UTC, or false when
 * unknown (Date is then omitted, RFC 9110 §6.6.1). */
typedef bool (*http_clock_fn)(void *ctx, uint64_t *unix_seconds);

/* Where a /metrics response is: the next row to send, whether the last was sent, and
 * rows left out as invalid. */
struct http_metrics_cursor {
	uint32_t row;
	bool end;
	uint64_t dropped;
};

/* Writes the next chunk of rows (from rows(ctx), starting at cur->row) into out: "hhhh\r\n"
 * rows "\r\n" when chunked (HTTP/1.1), plus the last-chunk after the final rows; bare rows
 * when not (1.0: the close ends the body). Sets cur->end after the last rows; returns the
 * bytes written (at most cap). The server supplies the rows; this file only writes. */
size_t http_metrics_chunk(uint8_t *out, size_t cap, bool chunked, struct http_metrics_cursor *cur,
			  http_metrics_fn rows, void *ctx);

#endif
