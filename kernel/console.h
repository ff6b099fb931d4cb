/*
 * Console and log. kprintf() writes to every console sink (the UART once
 * drivers/uart.c registers it, the firmware's framebuffer once kernel/fbcon.c does).
 * log_*() also keeps every line in a ring that the shell's `log` command prints, so
 * boot messages can be read after they scrolled by, and hands each line to the log
 * hooks (the netconsole queues it there; a hook must never send from inside the call).
 * Lines carry the time since efi_main entry; warnings, errors and debug add file:line.
 */
#ifndef SKIFF_CONSOLE_H
#define SKIFF_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/conf.h"

struct console_sink {
	void (*write)(const char *s, size_t n);  /* may buffer */
	void (*flush)(void);                     /* synchronous, safe with interrupts off */
};

#define CONSOLE_MAX_SINKS 4
#define CONSOLE_MAX_LOG_HOOKS 2

/* Adds an output; every later write goes to all of them, in the order added.
 * 0, or -1 when the table is full. */
int console_add_sink(const struct console_sink *sink);

/* One log line, already filtered by level: msg is the text without time stamp and
 * without file:line (file is NULL when the caller gave none). Called with interrupts
 * disabled, possibly from any context that logs: queue, never send or log from here. */
struct log_hook {
	void (*line)(void *ctx, int level, const char *file, int line, const char *msg);
	void *ctx;
};
/* 0, or -1 when the table is full. */
int log_add_hook(const struct log_hook *hook);
/* Time stamps for log lines (kernel/time.c registers time_us once calibrated), so the
 * console depends on no clock. */
void console_set_clock(uint64_t (*us)(void));
void console_write(const char *s, size_t n);
void console_flush(void);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_set_level(int level);
void log_msg(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Calls out(ctx, chunk, len) over the ring's contents, oldest first. */
void log_dump(void (*out)(void *ctx, const char *s, size_t n), void *ctx);

#define log_error(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Prints "panic: file:line: msg" and a backtrace, then halts. */
void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define assert(cond) \
	do { if (!(cond)) panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond); } while (0)

void hexdump(const void *data, size_t len);

#endif
