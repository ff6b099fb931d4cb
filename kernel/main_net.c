/*
 * Network composition (see main_net.h). Order: net_config from skiff.conf ->
 * net_init -> net_attach for each chosen NIC -> frames from drivers/nic go to
 * net_input -> a main-loop hook runs net_poll -> shell commands forward to net_cmd.
 */
#include "kernel/main_net.h"
#include "kernel/console.h"
#include "lib/fmt.h"
#include "kernel/heap.h"
#include "kernel/loop.h"
#include "kernel/random.h"
#include "kernel/shell.h"
#include "lib/string.h"
#include "drivers/nic.h"
#include "kernel/bootinfo.h"
#include "kernel/pmm.h"
#include "kernel/rtc.h"
#include "kernel/time.h"
#include "net/stack.h"
#include "net/cmd.h"
#include "net/inet.h"
#include "net/http_app.h"
#include "net/syslog.h"
#include "kernel/cpu.h"
#include "net/http_debug.h"
#include "drivers/uart.h"

static struct net_stack *net;
static struct http_site site;
static struct http_app http;
static struct http_debug debug;
static int http_on;
static struct netconsole ncon;  /* ~52 KiB: static, it starts before the heap exists */
static int ncon_on;

static void on_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	log_msg(level, NULL, 0, "%s", msg);
}

static uint64_t on_random(void *ctx)
{
	(void)ctx;
	return random_u64();
}

/* Frames of this loop turn's NAPI polls form one burst; on_poll (the next hook, same
 * turn) ends it, so TCP segments coalesce across it (net/gro.h). */
static void on_frame(void *ctx, struct netdev *dev, struct pkt *p)
{
	net_input_burst(ctx, dev, p);
}

static void on_poll(void *ctx, uint64_t now_ns)
{
	net_poll(ctx, now_ns);
	if (ncon_on)
		netconsole_poll(&ncon, now_ns);
	if (http_on)
		http_app_poll(&http, now_ns);
}

static void *on_mem_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return kmalloc(n);
}

static void on_mem_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static uint64_t on_next_wake(void *ctx)
{
	return net_next_wake(ctx);
}

static struct loop_hook net_hook = { .name = "net", .poll = on_poll, .next_wake = on_next_wake };

static void shell_out(void *ctx, const char *text)
{
	(void)ctx;
	kprintf("%s", text);
}

static int shell_net(int argc, char **argv)
{
	return net_cmd(net, argc, argv, shell_out, NULL);
}

static int shell_netconsole(int argc, char **argv);

static const struct shell_cmd net_cmds[] = {
	{ "ip", "addr|route [get ADDR]|neigh|-s link", "addresses, routes, neighbours, links", shell_net },
	{ "ethtool", "-S DEV", "NIC, queue and interrupt counters", shell_net },
	{ "tc", "-s qdisc", "egress queue counters", shell_net },
	{ "nstat", "", "IP/ICMP/UDP counters (nstat names)", shell_net },
	{ "ping", "[-c N] [-s SIZE] ADDR", "ICMP echo from Skiff", shell_net },
	{ "arping", "ADDR", "ARP request from Skiff", shell_net },
	{ "dhcp", "", "DHCP lease state", shell_net },
	{ "ss", "[-tnilae]", "TCP sockets (ss -tni, ss -tl)", shell_net },
	{ "netconsole", "", "syslog-over-UDP log: target and counters", shell_netconsole },
	{ "tcpdump", "[-c N] [-e] [-v] [-x] [-i DEV] [EXPR]", "print packets (Ctrl-C stops)", shell_net },
	{ "trace", "[-c N] [EXPR]", "each packet's path through the stack", shell_net },
	{ "tracepath", "ADDR", "hops and path MTU to ADDR (UDP probes)", shell_net },
	{ "sysctl", "[-w] net.ipv4.tcp_pacing[=0|1]", "TCP pacing knobs", shell_net },
};

/* ---- netconsole: the log as syslog over UDP (net/syslog.h) ------------------------ */

/* RFC 5424 §6.2.1 severities for LOG_ERROR..LOG_DEBUG. */
static const int log_severity[] = { SYSLOG_SEV_ERR, SYSLOG_SEV_WARNING, SYSLOG_SEV_INFO,
				    SYSLOG_SEV_DEBUG };

/* The log hook: runs inside log_msg with interrupts off, so it only queues. */
static void ncon_line(void *ctx, int level, const char *file, int line, const char *msg)
{
	(void)ctx;
	char text[NETCONSOLE_LINE_MAX];
	/* As on the serial console: file:line for warnings, errors and debug only. */
	int n = file && level != LOG_INFO ? ksnprintf(text, sizeof(text), "%s:%d: %s", file, line, msg)
		     : ksnprintf(text, sizeof(text), "%s", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	netconsole_log(&ncon, log_severity[level & 3], rtc_unix_us(), text, (size_t)n);
}

static const struct log_hook ncon_hook = { ncon_line, NULL };

void main_net_console(const struct conf *c)
{
	uint32_t addr;
	uint16_t port;
	if (strcmp(c->netconsole, "off") == 0 ||
	    conf_parse_hostport(c->netconsole, strlen(c->netconsole), &addr, &port))
		return;
	netconsole_init(&ncon, addr, port, SYSLOG_FAC_LOCAL0, c->hostname);
	ncon.lock = irq_save;
	ncon.unlock = irq_restore;
	if (log_add_hook(&ncon_hook))
		return;
	ncon_on = 1;
	log_info("netconsole: log to %s (syslog, RFC 5424, facility local0) once the NIC has an "
		 "address", c->netconsole);
}

static int shell_netconsole(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!ncon_on) {
		kprintf("netconsole: off (skiff.conf: netconsole = ADDR:PORT)\n");
		return 0;
	}
	const struct netconsole_stats *st = &ncon.stats;
	kprintf("netconsole: to %u.%u.%u.%u:%u, facility local0\n", ncon.dst >> 24,
		ncon.dst >> 16 & 255, ncon.dst >> 8 & 255, ncon.dst & 255, ncon.dport);
	kprintf("queued %lu sent %lu dropped %lu (overflow %lu, errors %lu) waiting %lu\n",
		(unsigned long)st->queued, (unsigned long)st->sent,
		(unsigned long)(st->overflow + st->errors), (unsigned long)st->overflow,
		(unsigned long)st->errors, (unsigned long)netconsole_waiting(&ncon));
	return 0;
}

static void shell_interrupt(void)
{
	net_cmd_interrupt(net);
}

static void config_from(const struct conf *c, struct net_config *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->use_dhcp = strcmp(c->ip, "dhcp") == 0;
	if (!nc->use_dhcp && inet_parse_cidr(c->ip, &nc->addr, &nc->prefix_len)) {
		log_warn("net: ip = %s is not A.B.C.D/N, using DHCP", c->ip);
		nc->use_dhcp = 1;
	}
	if (c->gateway[0] && inet_parse(c->gateway, &nc->gateway))
		log_warn("net: gateway = %s is not an address, ignored", c->gateway);
	nc->mtu = (uint16_t)c->mtu;
	strlcpy(nc->hostname, c->hostname, sizeof(nc->hostname));
	nc->random = on_random;
	nc->log = on_log;
	nc->mem_alloc = on_mem_alloc;
	nc->mem_free = on_mem_free;
	struct heap_stats hs;
	heap_get_stats(&hs);
	nc->mem_bytes = hs.arena_bytes;
	nc->fq_codel = 1;       /* every interface starts with fq_codel, as Linux's default_qdisc */
	nc->tcp_pacing = c->tcp_pacing;
}

/* nic = auto takes every NIC (the first gets the address); a model name only those. */
static int wanted(const struct conf *c, const struct netdev *dev)
{
	if (strcmp(c->nic, "auto") == 0)
		return 1;
	if (strcmp(c->nic, "virtio") == 0)
		return strcmp(dev->driver, "virtio-net") == 0;
	return strcmp(c->nic, dev->driver) == 0;
}

/* Wall clock minus the stack's clock, for capture time stamps (0 if the RTC is unset). */
static uint64_t wall_offset_ns(void)
{
	uint64_t unix_s = rtc_unix_time();
	uint64_t now = time_ns();
	return unix_s ? unix_s * 1000000000ull - now : 0;
}

/* ---- HTTP ---------------------------------------------------------------------- */

static bool http_clock(void *ctx, uint64_t *unix_s)
{
	(void)ctx;
	*unix_s = rtc_unix_time();
	return *unix_s != 0;
}


/* nstat mixes counters with gauges (TcpCurrEstab) and constants (TcpRtoMin): those go
 * to a gauge family, since a Prometheus counter must never go down. */
static int nstat_is_gauge(const char *name)
{
	static const char *const gauges[] = { "TcpCurrEstab", "TcpRtoAlgorithm", "TcpRtoMin",
					      "TcpRtoMax", "TcpMaxConn" };
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return 1;
	return 0;
}

struct nstat_pass {
	struct http_metrics_out *w;
	int gauges;             /* this pass emits the gauges, else the counters */
};

static void metric_nstat(void *ctx, const char *name, uint64_t v)
{
	struct nstat_pass *x = ctx;
	char label[80];
	if (nstat_is_gauge(name) != x->gauges)
		return;
	ksnprintf(label, sizeof(label), "counter=\"%s\"", name);
	if (x->gauges)
		http_metrics_row(x->w, "skiff_netstat", "Stack gauges under their nstat names",
				 HTTP_METRIC_GAUGE, label, v);
	else
		http_metrics_row(x->w, "skiff_netstat_total", "Stack counters under their nstat names",
				 HTTP_METRIC_COUNTER, label, v);
}

static void metrics_nics(struct http_metrics_out *w)
{
	static const struct { const char *name, *help; size_t off; } f[] = {
#define NIC_STAT(field, help) { "skiff_nic_" #field "_total", help, offsetof(struct netdev_stats, field) }
		NIC_STAT(rx_packets, "Frames received"), NIC_STAT(rx_bytes, "Bytes received"),
		NIC_STAT(rx_errors, "Receive errors"), NIC_STAT(rx_dropped, "Received frames dropped"),
		NIC_STAT(rx_missed, "Frames missed by the hardware"),
		NIC_STAT(tx_packets, "Frames sent"), NIC_STAT(tx_bytes, "Bytes sent"),
		NIC_STAT(tx_errors, "Transmit errors"), NIC_STAT(tx_dropped, "Frames dropped on transmit"),
#undef NIC_STAT
	};
	char label[40];
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		for (int i = 0; i < net->link.nifs; i++) {
			struct netdev_stats st;
			memset(&st, 0, sizeof(st));
			net->link.ifs[i].dev->ops->get_stats(net->link.ifs[i].dev, &st);
			ksnprintf(label, sizeof(label), "dev=\"%s\"", net->link.ifs[i].dev->name);
			http_metrics_row(w, f[k].name, f[k].help, HTTP_METRIC_COUNTER, label,
					 *(const uint64_t *)(const void *)((const char *)&st + f[k].off));
		}
	for (int i = 0; i < net->link.nifs; i++) {
		ksnprintf(label, sizeof(label), "dev=\"%s\"", net->link.ifs[i].dev->name);
		http_metrics_row(w, "skiff_qdisc_backlog_packets", "Packets waiting in the egress queue",
				 HTTP_METRIC_GAUGE, label, qdisc_qlen(&net->link.ifs[i].qdisc));
	}
	for (int i = 0; i < net->link.nifs; i++) {
		const struct pkt_pool *pool = net->link.ifs[i].dev->pool;
		ksnprintf(label, sizeof(label), "dev=\"%s\"", net->link.ifs[i].dev->name);
		http_metrics_row(w, "skiff_pkt_pool_free", "Free packet buffers of the NIC's pool",
				 HTTP_METRIC_GAUGE, label, pool->stats.free);
	}
	if (net->core.cfg.reasm_pool)
		http_metrics_row(w, "skiff_reasm_pool_free", "Free IPv4 reassembly buffers",
				 HTTP_METRIC_GAUGE, NULL, net->core.cfg.reasm_pool->stats.free);
}

static void metrics(void *ctx, struct http_metrics_out *w)
{
	(void)ctx;
	for (int gauges = 0; gauges <= 1; gauges++) {
		struct nstat_pass x = { w, gauges };
		for (int k = 0; k < MIB_COUNT; k++)
			metric_nstat(&x, net_mib_names[k], net->core.mib[k]);
		for (int k = 0; k < DROP_COUNT; k++)
			metric_nstat(&x, net_drop_names[k], net->core.drops[k]);
		if (net->tcp_on)
			tcp_nstat(&net->tcp, metric_nstat, &x);
	}
	metrics_nics(w);
	if (ncon_on) {
		http_metrics_row(w, "skiff_netconsole_sent_total", "Log lines sent as syslog datagrams",
				 HTTP_METRIC_COUNTER, NULL, ncon.stats.sent);
		http_metrics_row(w, "skiff_netconsole_dropped_total",
				 "Log lines lost: queue overflow or send errors", HTTP_METRIC_COUNTER, NULL,
				 ncon.stats.overflow + ncon.stats.errors);
	}
	struct pmm_stats p;
	struct heap_stats h;
	pmm_get_stats(&p);
	heap_get_stats(&h);
	http_metrics_row(w, "skiff_memory_free_bytes", "Free physical memory", HTTP_METRIC_GAUGE, NULL,
			 p.free_pages * PAGE_SIZE);
	http_metrics_row(w, "skiff_heap_used_bytes", "Kernel heap in use", HTTP_METRIC_GAUGE, NULL,
			 h.used_bytes);
}

static void http_init(const struct conf *c, const struct boot_info *bi)
{
	http_site_init(&site);
	if (http_site_add_table(&site, www_files, www_nfiles))
		log_warn("http: built-in site does not fit");
	for (uint32_t i = 0; i < bi->nfiles; i++)
		if (http_site_add(&site, bi->files[i].name, bi->files[i].data, bi->files[i].size))
			log_warn("http: www/%s from the boot volume not served", bi->files[i].name);
	struct http_config cfg;
	http_config_default(&cfg);
	cfg.port = (uint16_t)c->http_port;
	void *mem = kcalloc(1, http_app_mem_size(&cfg));
	if (!mem || !net->tcp_on || http_app_start(&http, &net->tcp, &cfg, &site, mem)) {
		log_warn("http: server not started");
		return;
	}
	http.srv.clock = http_clock;
	http.srv.metrics = metrics;
	http_debug_init(&debug, net, c->debug);
	http.srv.handler = &debug.handler;
	http_on = 1;
	log_info("http: serving %u files (%u from the boot volume) on port %u", site.n, bi->nfiles,
		 cfg.port);
}

/* ---- capture ------------------------------------------------------------------- */

static uint64_t trace_clock(void *ctx)
{
	(void)ctx;
	return time_ns();       /* the TSC: steps inside one poll are apart */
}

static void com2_sink(void *ctx, const uint8_t *data, size_t len)
{
	(void)ctx;
	com2_write(data, len);  /* a record that does not fit is dropped whole, counted */
}

/* The /debug/pcap ring, and with pcap_serial = on a classic pcap stream on COM2. */
static void capture_init_all(const struct conf *c)
{
	net->cap.epoch_ns = wall_offset_ns();
	net->cap.tracer.clock_ns = trace_clock;
	void *ring = kmalloc(CAPTURE_RING_BYTES);
	if (ring)
		capture_ring_setup(&net->cap, ring, CAPTURE_RING_BYTES);
	else
		log_warn("capture: no memory for the capture ring: /debug/pcap is off");
	if (!c->pcap_serial)
		return;
	char err[PKT_FILTER_ERR_LEN];
	if (com2_init()) {
		log_warn("pcap_serial: no COM2 port");
		return;
	}
	if (capture_stream_start(&net->cap, c->pcap_filter, com2_sink, NULL, err, sizeof(err))) {
		log_warn("pcap_serial: pcap_filter: %s", err);
		return;
	}
	log_info("pcap_serial: classic pcap on COM2, filter '%s'", c->pcap_filter);
}

/* Buffers for reassembled IPv4 datagrams (net/ipv4_frag.h): whole pages, never DMA'd. */
static void reasm_pool_init(struct net_config *nc)
{
	static struct pkt_pool pool;
	size_t bytes = IPV4_REASM_MAX * pkt_slot_size(IPV4_REASM_BUF);
	uint64_t mem = pmm_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE, 1);
	if (!mem) {
		log_warn("net: no memory for IP reassembly: fragments will be dropped");
		return;
	}
	pkt_pool_init_sized(&pool, (void *)(uintptr_t)mem, mem, IPV4_REASM_MAX, IPV4_REASM_BUF);
	nc->reasm_pool = &pool;
}

/* Buffers for TCP's super-segments (net/config.h NET_TX_BIG_BUF): pmm pages, so a
 * TSO-capable device may DMA them; without them TCP sends MSS-sized segments. */
static void tx_big_pool_init(struct net_config *nc)
{
	static struct pkt_pool pool;
	size_t bytes = NET_TX_BIG_SLOTS * pkt_slot_size(NET_TX_BIG_BUF);
	uint64_t mem = pmm_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE, 1);
	if (!mem) {
		log_warn("net: no memory for TCP super-segments: MSS-sized segments only");
		return;
	}
	pkt_pool_init_sized(&pool, (void *)(uintptr_t)mem, mem, NET_TX_BIG_SLOTS, NET_TX_BIG_BUF);
	nc->tx_big_pool = &pool;
}

void main_net_init(const struct conf *c, const struct boot_info *bi)
{
	struct net_config nc;
	config_from(c, &nc);
	reasm_pool_init(&nc);
	tx_big_pool_init(&nc);
	net = kcalloc(1, sizeof(*net));
	if (!net)
		panic("no memory for the network stack");
	net_init(net, &nc);
	int attached = 0;
	for (int i = 0; i < nic_count(); i++) {
		struct netdev *dev = nic_get(i);
		if (wanted(c, dev) && net_attach(net, dev) == 0)
			attached++;
	}
	if (!attached)
		log_warn("net: no NIC attached (nic = %s, %d found)", c->nic, nic_count());
	if (ncon_on)
		netconsole_attach(&ncon, &net->udp);
	nic_set_deliver(on_frame, net);
	net_hook.ctx = net;
	loop_register(&net_hook);
	for (size_t i = 0; i < sizeof(net_cmds) / sizeof(net_cmds[0]); i++)
		shell_register(&net_cmds[i]);
	shell_set_interrupt(shell_interrupt);
	capture_init_all(c);
	http_init(c, bi);
}
