/*
 * The generated endpoints: /bytes/N (deterministic pseudo-random bodies, random
 * access) and /metrics (Prometheus text exposition 0.0.4, written one conn->out-sized
 * chunk at a time: every chunk walks all rows and keeps those not sent yet). The
 * connection state machine (http_server.c) decides when; this file writes the bytes.
 */
#include "net/http_endpoints.h"
#include "net/http_int.h"
#include "lib/fmt.h"
#include "lib/string.h"

/* ---- /bytes/N --------------------------------------------------------------------- */

static uint64_t bytes_block(uint64_t n, uint64_t j)
{
	uint64_t z = (n ^ HTTP_BYTES_SEED) + (j + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Block j is bytes 8j..8j+7, least significant first. Whole blocks are stored as one
 * word (a byte loop costs eight times the stores, and under TCG every store counts). */
void http_bytes_fill(uint64_t n, uint64_t off, uint8_t *dst, size_t len)
{
	size_t i = 0;
	while (i < len && (off + i) % 8) {
		uint64_t k = off + i;
		dst[i++] = (uint8_t)(bytes_block(n, k / 8) >> (8 * (k % 8)));
	}
	for (; len - i >= 8; i += 8) {
		uint64_t z = bytes_block(n, (off + i) / 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		z = __builtin_bswap64(z);
#endif
		memcpy(dst + i, &z, 8);         /* one store; a byte loop here was 8 */
	}
	for (; i < len; i++) {
		uint64_t k = off + i;
		dst[i] = (uint8_t)(bytes_block(n, k / 8) >> (8 * (k % 8)));
	}
}

bool http_bytes_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 8 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return v <= HTTP_BYTES_MAX;
}

/* ---- metrics ---------------------------------------------------------------------- */

struct http_metrics_out {
	char *buf;
	size_t cap, len;
	uint32_t index;         /* rows offered so far in this pass */
	uint32_t first;         /* rows before this went out in earlier chunks */
	uint32_t next;          /* first row not sent yet */
	bool full;              /* a row did not fit: this chunk is complete */
	const char *prev;       /* previous row's name: HELP/TYPE once per family */
	uint64_t dropped;
};

static bool valid_metric_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
			  (i > 0 && c >= '0' && c <= '9');
		if (!ok || i >= 200)
			return false;
	}
	return true;
}

/* label="value"(,label="value")*, values escaped \\ \" \n only. */
static bool valid_labels(const char *s)
{
	size_t i = 0;
	if (!s || !*s)
		return true;
	for (;;) {
		size_t st = i;
		while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		       (i > st && s[i] >= '0' && s[i] <= '9'))
			i++;
		if (i == st || s[i] != '=' || s[i + 1] != '"')
			return false;
		for (i += 2; s[i] != '"'; i++) {
			if (!s[i] || s[i] == '\n')
				return false;
			if (s[i] == '\\') {
				i++;
				if (s[i] != '\\' && s[i] != '"' && s[i] != 'n')
					return false;
			}
		}
		i++;
		if (!s[i])
			return true;
		if (s[i] != ',' || i > 1000)
			return false;
		i++;
	}
}

void http_metrics_row(struct http_metrics_out *w, const char *name, const char *help,
		      enum http_metric_type type, const char *labels, uint64_t value)
{
	uint32_t idx = w->index++;
	bool family = !w->prev || !name || strcmp(w->prev, name) != 0;
	w->prev = name;
	if (idx < w->first || w->full)
		return;
	if (!valid_metric_name(name) || !valid_labels(labels) ||
	    (type != HTTP_METRIC_COUNTER && type != HTTP_METRIC_GAUGE)) {
		w->dropped++;
		w->next = idx + 1;
		return;
	}
	struct http_tbuf b = { w->buf, w->cap, w->len, false };
	if (family) {
		http_tput(&b, "# HELP %s ", name);
		for (const char *h = help ? help : ""; *h && !b.over; h++) {
			if (*h == '\\' || *h == '\n')
				http_tputc(&b, '\\');
			http_tputc(&b, *h == '\n' ? 'n' : *h);
		}
		http_tput(&b, "\n# TYPE %s %s\n", name, type == HTTP_METRIC_COUNTER ? "counter" : "gauge");
	}
	if (labels && *labels)
		http_tput(&b, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		http_tput(&b, "%s %llu\n", name, (unsigned long long)value);
	if (b.over) {
		if (w->len == 0) {      /* would not fit an empty chunk either: skip it */
			w->dropped++;
			w->next = idx + 1;
		} else {
			w->full = true;
		}
		return;
	}
	w->len = b.len;
	w->next = idx + 1;
}

/* One /metrics chunk into out (cap bytes): "hhhh\r\n" rows "\r\n" in 1.1 (chunk-size
 * may have leading zeros, RFC 9112 §7.1), plus "0\r\n\r\n" after the last; bare rows in
 * 1.0 (the body ends with the connection). */
size_t http_metrics_chunk(uint8_t *out, size_t cap, bool chunked, struct http_metrics_cursor *cur,
			  http_metrics_fn rows, void *ctx)
{
	size_t pre = chunked ? 6 : 0, post = chunked ? 2 + 5 : 0;
	struct http_metrics_out w = {
		.buf = (char *)out + pre,
		.cap = cap - pre - post,
		.first = cur->row,
		.next = cur->row,
	};
	rows(ctx, &w);
	cur->row = w.next;
	cur->dropped += w.dropped;
	size_t pos = w.len;
	if (chunked && w.len) {
		static const char hex[] = "0123456789abcdef";
		for (int i = 0; i < 4; i++)
			out[i] = (uint8_t)hex[(w.len >> (12 - 4 * i)) & 0xf];
		memcpy(out + 4, "\r\n", 2);
		memcpy(out + pre + w.len, "\r\n", 2);
		pos = pre + w.len + 2;
	}
	if (!w.full) {
		cur->end = true;
		if (chunked) {
			memcpy(out + pos, "0\r\n\r\n", 5);
			pos += 5;
		}
	}
	return pos;
}
