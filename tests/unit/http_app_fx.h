/*
 * The HTTP glue (http_app.c) on the TCP harness, for its tests: one app listening on
 * port 80 with an index page, time advanced by hand.
 */
#ifndef SKIFF_TESTS_UNIT_HTTP_APP_FX_H
#define SKIFF_TESTS_UNIT_HTTP_APP_FX_H

#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/http_app.h"
#include <stdlib.h>

static const char index_html[] = "<!DOCTYPE html><h1>Skiff</h1>\n";
static const char get_root[] = "GET / HTTP/1.1\r\nHost: skiff\r\n\r\n";

struct app_fx {
	struct th h;
	struct http_site site;
	struct http_app a;
	void *mem;
};

/* shed_after_ns 0: the default. */
static inline void fx_start_cfg(struct app_fx *f, uint32_t max_conns, uint64_t shed_after_ns)
{
	struct http_config cfg;
	th_init(&f->h, NULL);
	http_site_init(&f->site);
	REQUIRE(http_site_add(&f->site, "index.html", (const uint8_t *)index_html,
			      sizeof(index_html) - 1) == 0);
	http_config_default(&cfg);
	cfg.max_conns = max_conns;
	if (shed_after_ns)
		cfg.shed_after_ns = shed_after_ns;
	f->mem = calloc(1, http_app_mem_size(&cfg));
	REQUIRE(f->mem);
	REQUIRE(http_app_start(&f->a, &f->h.t, &cfg, &f->site, f->mem) == 0);
}

static inline void fx_start(struct app_fx *f, uint32_t max_conns)
{
	fx_start_cfg(f, max_conns, 0);
}

static inline void fx_advance(struct app_fx *f, uint64_t ns)
{
	th_advance(&f->h, ns);
	http_app_poll(&f->a, f->h.now);
}

/* Up to secs seconds for every connection to end (timeouts, orphans giving up), then
 * slots, TCBs and TCP memory must be back at base; stops the fixture. */
static inline void fx_finish(struct app_fx *f, uint64_t base, int secs)
{
	for (int s = 0; s < secs && (f->h.t.nconns || f->a.nopen); s++) {
		fx_advance(f, TH_SEC);
		th_drain(&f->h);
	}
	CHECK_EQ(f->a.nopen, 0);
	CHECK_EQ(f->h.t.nconns, 0);
	CHECK_EQ(f->h.t.mem_used, base);
	tcp_close(f->a.listener);
	th_fini(&f->h);
	free(f->mem);
}

/* Steps of 10 ms for up to `ms`; true once a segment to port carries "HTTP/1.1 200". */
static inline bool served_within(struct app_fx *f, uint16_t port, int ms)
{
	struct th_seg s;
	for (int t = 0; t <= ms; t += 10) {
		while (th_pop(&f->h, &s))
			if (s.h.dport == port && s.dlen >= 12 && !memcmp(s.data, "HTTP/1.1 200", 12))
				return true;
		fx_advance(f, 10 * TH_MS);
	}
	return false;
}

#endif
