/*
 * Private to the HTTP server files (http_server.c, http_site.c, http_endpoints.c):
 * content types they share and a bounded text buffer for heads and /metrics rows.
 */
#ifndef SKIFF_NET_HTTP_INT_H
#define SKIFF_NET_HTTP_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/fmt.h"
#include "lib/string.h"

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_OCTET "application/octet-stream"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

struct http_tbuf {
	char *p;
	size_t cap, len;
	bool over;              /* something did not fit; len is unchanged by it */
};

static inline void http_tput(struct http_tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void http_tput(struct http_tbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->over)
		return;
	va_start(ap, fmt);
	int n = kvsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->over = true;
	else
		b->len += (size_t)n;
}

/* n bytes of s, as http_tput("%.*s") would append them, without the formatter (a
 * response head is a dozen of these: under TCG a formatted character costs a call). */
static inline void http_tputs(struct http_tbuf *b, const char *s, size_t n)
{
	if (b->over || n >= b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}
#define HTTP_TPUT_LIT(b, lit) http_tputs((b), (lit), sizeof(lit) - 1)

/* v in decimal. */
static inline void http_tputu(struct http_tbuf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i);
	http_tputs(b, d + i, sizeof d - i);
}

static inline void http_tputc(struct http_tbuf *b, char c)
{
	if (b->len + 1 >= b->cap)
		b->over = true;
	if (!b->over)
		b->p[b->len++] = c;
}

#endif
