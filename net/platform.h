/*
 * What net/ takes from its platform, and nothing more: panic on a broken invariant.
 * The image links kernel/panic.c; host tests and fuzzers provide their own panic_at().
 * Time, logging, entropy and packet memory come in through struct net_config and
 * struct pkt_pool instead, so the stack runs unchanged on the host.
 */
#ifndef SKIFF_NET_PLATFORM_H
#define SKIFF_NET_PLATFORM_H

void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A broken invariant inside the stack (never bad input: that is dropped and counted). */
#define NET_ASSERT(cond)                                                        \
	do {                                                                    \
		if (!(cond))                                                    \
			panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)

#endif
