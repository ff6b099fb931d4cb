/* The core floor (core.h): drop accounting, entropy, logging, the clock. */
#include <stdarg.h>
#include "net/core.h"
#include "lib/string.h"
#include "lib/fmt.h"

void net_core_init(struct net_core *c, const struct net_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->cfg.hostname[sizeof(c->cfg.hostname) - 1] = 0;
	c->rng = 0x9e3779b97f4a7c15ull;
	if (!cfg->random)
		net_log(c, NET_LOG_WARN, "net: no entropy source: DHCP xids, IP IDs and ports are predictable");
}

void net_core_tick(struct net_core *c, uint64_t now_ns)
{
	if (now_ns > c->now_ns)
		c->now_ns = now_ns;
}

void net_drop(struct net_core *c, struct pkt *p, enum net_drop_reason reason)
{
	NET_TRACE(c, p, TL_COUNT, TE_DROP, reason, 0);  /* the layer is in the reason's name */
	pkt_free(p);
	c->drops[reason]++;
}

uint64_t net_random(struct net_core *c)
{
	if (c->cfg.random)
		return c->cfg.random(c->cfg.ctx);
	/* xorshift64*: only reached when the kernel gave no entropy source (logged). */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dull;
}

void net_log(struct net_core *c, int level, const char *fmt, ...)
{
	if (!c->cfg.log)
		return;
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->cfg.log(c->cfg.ctx, level, msg);
}
