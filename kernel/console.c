/*
 * Console output and the log ring. Formatting goes through lib/fmt.c into a small
 * line buffer, then to the sink and (for log lines) the ring.
 */
#include "kernel/console.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "kernel/cpu.h"

#define LOG_RING_SIZE (32 * 1024)
#define LOG_HOOK_LINE_MAX 400

static const struct console_sink *sinks[CONSOLE_MAX_SINKS];
static int nsinks;
static const struct log_hook *hooks[CONSOLE_MAX_LOG_HOOKS];
static int nhooks;
static uint64_t (*clock_us)(void);     /* log time stamps; 0 until the clock registers */
static int log_level = LOG_INFO;
static char ring[LOG_RING_SIZE];
static size_t ring_head;        /* total bytes ever written; ring[head % size] is next */

int console_add_sink(const struct console_sink *s)
{
	if (nsinks >= CONSOLE_MAX_SINKS)
		return -1;
	sinks[nsinks++] = s;
	return 0;
}

int log_add_hook(const struct log_hook *h)
{
	if (nhooks >= CONSOLE_MAX_LOG_HOOKS)
		return -1;
	hooks[nhooks++] = h;
	return 0;
}

void console_set_clock(uint64_t (*us)(void))
{
	clock_us = us;
}

void console_write(const char *s, size_t n)
{
	for (int i = 0; i < nsinks; i++)
		sinks[i]->write(s, n);
}

void console_flush(void)
{
	for (int i = 0; i < nsinks; i++)
		sinks[i]->flush();
}

struct line {
	char buf[256];
	size_t n;
	int to_ring;
};

static void line_flush(struct line *l)
{
	console_write(l->buf, l->n);
	if (l->to_ring)
		for (size_t i = 0; i < l->n; i++)
			ring[ring_head++ % LOG_RING_SIZE] = l->buf[i];
	l->n = 0;
}

static void line_put(char c, void *ctx)
{
	struct line *l = ctx;
	if (c == '\n' && l->n + 2 <= sizeof(l->buf)) {
		/* Serial terminals want CR LF. */
		l->buf[l->n++] = '\r';
	}
	l->buf[l->n++] = c;
	if (l->n + 2 > sizeof(l->buf))
		line_flush(l);
}

static int vprint(int to_ring, const char *fmt, va_list ap)
{
	struct line l;
	l.n = 0;
	l.to_ring = to_ring;
	int n = kvformat(line_put, &l, fmt, ap);
	line_flush(&l);
	return n;
}

static int print(int to_ring, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprint(to_ring, fmt, ap);
	va_end(ap);
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprint(0, fmt, ap);
	va_end(ap);
	return n;
}

void log_set_level(int level)
{
	log_level = level;
}

static const char *const level_tag[] = { "error", "warn", "info", "debug" };

void log_msg(int level, const char *file, int line, const char *fmt, ...)
{
	if (level > log_level)
		return;
	uint64_t us = clock_us ? clock_us() : 0;
	uint64_t flags = irq_save();
	if (level == LOG_INFO)
		print(1, "[%5u.%06u] ", (unsigned)(us / 1000000), (unsigned)(us % 1000000));
	else if (!file)
		print(1, "[%5u.%06u] %s: ", (unsigned)(us / 1000000), (unsigned)(us % 1000000),
		      level_tag[level]);
	else
		print(1, "[%5u.%06u] %s: %s:%d: ", (unsigned)(us / 1000000), (unsigned)(us % 1000000),
		      level_tag[level], file, line);
	va_list ap;
	va_start(ap, fmt);
	if (nhooks) {
		/* The hooks get their own copy: a line longer than this is cut for them only. */
		char msg[LOG_HOOK_LINE_MAX];
		va_list aq;
		va_copy(aq, ap);
		kvsnprintf(msg, sizeof(msg), fmt, aq);
		va_end(aq);
		for (int i = 0; i < nhooks; i++)
			hooks[i]->line(hooks[i]->ctx, level, file, line, msg);
	}
	vprint(1, fmt, ap);
	va_end(ap);
	print(1, "\n");
	irq_restore(flags);
}

void log_dump(void (*out)(void *ctx, const char *s, size_t n), void *ctx)
{
	size_t start = ring_head > LOG_RING_SIZE ? ring_head - LOG_RING_SIZE : 0;
	for (size_t i = start; i < ring_head;) {
		size_t off = i % LOG_RING_SIZE;
		size_t chunk = LOG_RING_SIZE - off;
		if (chunk > ring_head - i)
			chunk = ring_head - i;
		out(ctx, ring + off, chunk);
		i += chunk;
	}
}

void hexdump(const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t off = 0; off < len; off += 16) {
		char hex[16 * 3 + 1], asc[17];
		size_t i;
		for (i = 0; i < 16 && off + i < len; i++) {
			ksnprintf(hex + i * 3, 4, "%02x ", p[off + i]);
			asc[i] = (p[off + i] >= 0x20 && p[off + i] < 0x7f) ? (char)p[off + i] : '.';
		}
		for (size_t j = i; j < 16; j++)
			memcpy(hex + j * 3, "   ", 4);
		asc[i] = 0;
		kprintf("%04zx  %s %s\n", off, hex, asc);
	}
}
