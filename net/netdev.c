/*
 * NAPI-style polling of a netdev (the contract is in netdev.h; Linux e1000_clean,
 * net_rx_action). Drained ring: re-arm the interrupt, then look once more, because a
 * frame that landed between the last empty read and the unmask raised no interrupt.
 */
#include "net/netdev.h"

#define BURST 32

/* Inlined into netdev_napi_poll: most polls find the ring empty or take a frame or two,
 * and the call around the loop cost about as much as the loop. */
static inline __attribute__((always_inline)) int drain(struct netdev *dev, int budget,
						       netdev_deliver_fn deliver, void *ctx)
{
	struct pkt *pkts[BURST];
	int done = 0;
	while (done < budget) {
		int want = budget - done < BURST ? budget - done : BURST;
		int n = dev->ops->rx_burst(dev, pkts, want);
		for (int i = 0; i < n; i++)
			deliver(ctx, dev, pkts[i]);
		done += n;
		if (n < want)
			break;
	}
	return done;
}

/* Drained with interrupts in use: re-arm, then the one more look the contract asks for.
 * Returns the frames that look found. */
static __attribute__((noinline)) int rearm(struct netdev *dev, int budget,
					   netdev_deliver_fn deliver, void *ctx)
{
	dev->ops->irq_enable(dev, 1);
	dev->napi.rearms++;
	int more = drain(dev, budget, deliver, ctx);
	if (more) {
		/* The race the re-check closes: mask again and keep polling. */
		dev->ops->irq_enable(dev, 0);
		dev->napi_pending = 1;
	}
	return more;
}

int netdev_napi_poll(struct netdev *dev, int budget, netdev_deliver_fn deliver, void *ctx)
{
	dev->napi.polls++;
	dev->napi_pending = 0;
	int done = drain(dev, budget, deliver, ctx);
	if (done >= budget) {
		/* More work is waiting: stay in polling mode, interrupt still masked. */
		dev->napi.budget_exhausted++;
		dev->napi_pending = 1;
	} else if (!dev->poll_only) {
		done += rearm(dev, budget - done, deliver, ctx);
	}
	dev->napi.rx_frames += (uint64_t)done;
	return done;
}
