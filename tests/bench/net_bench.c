/*
 * Full-path host benchmark (make bench-host, part of make bench): two complete Skiff
 * stacks joined by an in-memory NIC pair (bench_pair.h, memlink.h), so every frame goes
 * through Ethernet, ARP/neighbour, IPv4, TCP, the qdisc and the NAPI poll, as in the
 * image. Three workloads (issue 11):
 *   bulk  1 GiB one way on one connection, MSS 1460, the receiver reading in place;
 *   rr    100,000 x (64 B request, 1 KiB response) on one connection;
 *   crr   20,000 x (connect, 64 B, 1 KiB, close).
 * Wall time: best and median of --runs (5) runs, each on a fresh pair, pinned to one
 * CPU. Instructions: callgrind (valgrind --tool=callgrind) over a reduced count of each
 * workload, counting only the measured loop and not the byte-for-byte verification,
 * with glibc's rep movsb copies turned off (see callgrind()), divided per KiB, per
 * transaction, per connection. Both are printed beside issue 11's targets and lwIP
 * 2.1.3's reference, with the ratio (> 1: we cost more). Nothing is
 * asserted about speed; a run whose bytes do not verify fails (exit 1).
 *
 * The stacks run as the kernel configures them (a big-buffer pool: TCP super-segments
 * cut by net/gso.c; frames handed up in bursts: GRO); --plain measures without both,
 * and the callgrind part reports that too.
 *
 * Usage: net_bench [--runs N] [--cpu N] [--bulk-mib N] [--rr N] [--crr N] [--plain]
 *                  [--cg-bulk-mib N] [--cg-rr N] [--cg-crr N] [--no-callgrind] [--out DIR]
 *        net_bench --one bulk|rr|crr COUNT [--offload] [--plain]   (what callgrind runs)
 */
#define _GNU_SOURCE
#include "tests/host_panic.h"
#include "tests/bench/bench_pair.h"
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


enum work { BULK, RR, CRR, NWORK };

/* Issue 11's targets and lwIP 2.1.3's reference, as cost per unit (ns and Ir). */
static const struct {
	const char *name, *unit;
	double target_ns, target_ir, lwip_ns, lwip_ir;
} ref[NWORK] = {
	[BULK] = { "bulk", "KiB", 270, 2400, 535, 4772 },
	[RR] = { "rr", "transaction", 1e9 / 3e6, 3800, 1e9 / 1.49e6, 7642 },
	[CRR] = { "crr", "connection", 1e9 / 1e6, 13000, 1e9 / 0.66e6, 20140 },
};

static const char *work_name[NWORK] = { "bulk", "rr", "crr" };

struct opts {
	int runs, cpu, callgrind, offload, plain;
	uint64_t count[NWORK], cg_count[NWORK];
	const char *out;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Units of work a count stands for: KiB for bulk (count in MiB), else the count. */
static double units(enum work w, uint64_t count)
{
	return w == BULK ? (double)count * 1024 : (double)count;
}

/* One run on a fresh pair; returns wall ns (0 on failure, reason printed). */
static uint64_t run_once(enum work w, uint64_t count, int bp_opts, struct bp_result *r)
{
	static struct bench_pair bp;    /* large (two rings of 4096 pointers): not on the stack */
	if (bp_init(&bp, bp_opts)) {
		fprintf(stderr, "net_bench: %s\n", bp.err);
		return 0;
	}
	uint64_t t0 = now_ns();
	int err = w == BULK ? bp_bulk(&bp, count << 20, r)
		: w == RR ? bp_rr(&bp, (uint32_t)count, r) : bp_crr(&bp, (uint32_t)count, r);
	uint64_t dt = now_ns() - t0;
	if (err)
		fprintf(stderr, "net_bench: %s failed: %s\n", work_name[w], bp.err);
	int leaked = bp_fini(&bp);
	if (leaked)
		fprintf(stderr, "net_bench: %s leaked %d packets\n", work_name[w], leaked);
	return err || leaked ? 0 : dt;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void ratio_line(const char *what, double v, double target, double lwip, const char *fmt)
{
	printf("    %-22s ", what);
	printf(fmt, v);
	printf("   target ");
	printf(fmt, target);
	printf(" (x%.2f)   lwIP ", v / target);
	printf(fmt, lwip);
	printf(" (x%.2f)\n", v / lwip);
}

/* Wall time of opts->runs runs; 0 and the best ns per unit, or -1. */
static int wall(enum work w, const struct opts *o, double *best)
{
	uint64_t t[16];
	struct bp_result r = { 0 };
	int n = o->runs < 16 ? o->runs : 16;
	for (int i = 0; i < n; i++)
		if (!(t[i] = run_once(w, o->count[w], o->plain ? BP_PLAIN : 0, &r)))
			return -1;
	qsort(t, (size_t)n, sizeof(t[0]), cmp_u64);
	double u = units(w, o->count[w]), b = (double)t[0] / u, med = (double)t[n / 2] / u;
	printf("  %s: %llu %s%s, %d runs, %llu frames/run, %llu retransmits, %llu drops, "
	       "%llu idle clock jumps\n", ref[w].name, (unsigned long long)o->count[w],
	       w == BULK ? "MiB" : ref[w].unit, w == BULK ? "" : "s", n,
	       (unsigned long long)r.frames, (unsigned long long)r.retrans,
	       (unsigned long long)r.drops, (unsigned long long)r.idle_jumps);
	if (w == BULK) {
		ratio_line("ns/KiB, best", b, ref[w].target_ns, ref[w].lwip_ns, "%8.0f");
		ratio_line("ns/KiB, median", med, ref[w].target_ns, ref[w].lwip_ns, "%8.0f");
		printf("    (best %.2f Gbit/s of payload)\n", 8.0 * 1024 / b);
	} else {
		/* Rates: the ratio is still cost / target cost (> 1: slower than the target). */
		printf("    %-22s %8.3f M/s   target %8.3f M/s (x%.2f)   lwIP %8.3f M/s (x%.2f)\n",
		       "rate, best", 1e3 / b, 1e3 / ref[w].target_ns, b / ref[w].target_ns,
		       1e3 / ref[w].lwip_ns, b / ref[w].lwip_ns);
		printf("    %-22s %8.3f M/s\n", "rate, median", 1e3 / med);
	}
	*best = b;
	return 0;
}

/* The Ir total of a callgrind output file ("summary:" or "totals:" line). */
static double cg_total(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	double v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "summary:", 8) || !strncmp(line, "totals:", 7))
			v = strtod(strchr(line, ':') + 1, NULL);
	fclose(f);
	return v;
}

#define REP_OFF "glibc.cpu.x86_rep_movsb_threshold=1000000000000:" \
		"glibc.cpu.x86_rep_stosb_threshold=1000000000000"

/* bp_opts: BP_CSUM_OFFLOAD, BP_PLAIN (bench_pair.h). */
static int callgrind(enum work w, const struct opts *o, int bp_opts)
{
	int offload = bp_opts & BP_CSUM_OFFLOAD, plain = bp_opts & BP_PLAIN;
	char out[512], cmd[2048], self[512];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return -1;
	self[len] = 0;
	snprintf(out, sizeof(out), "%s/callgrind.%s%s%s.out", o->out, work_name[w],
		 offload ? "-offload" : "", plain ? "-plain" : "");
	/* callgrind counts every byte of a rep movsb/stosb as an instruction, so glibc's
	 * large-copy path would make a 64 KiB tcp_send look like 65,536 instructions;
	 * its vector loop (32 bytes an instruction) is counted instead. */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && GLIBC_TUNABLES=" REP_OFF
		 " valgrind --tool=callgrind -q "
		 "--callgrind-out-file='%s' --collect-atstart=no --toggle-collect=bp_%s_loop "
		 "--toggle-collect=bp_verify --toggle-collect=memnic_tx_csum '%s' --one %s %llu%s%s",
		 o->out, out, work_name[w], self, work_name[w],
		 (unsigned long long)o->cg_count[w], offload ? " --offload" : "", plain ? " --plain" : "");
	if (system(cmd) != 0) {
		fprintf(stderr, "net_bench: callgrind run failed: %s\n", cmd);
		return -1;
	}
	double ir = cg_total(out) / units(w, o->cg_count[w]);
	if (ir < 0)
		return -1;
	printf("  %s%s%s under callgrind: %llu %s%s -> %s\n", ref[w].name, offload ? " (offload)" : "",
	       plain ? " (plain: no GSO, no GRO)" : "",
	       (unsigned long long)o->cg_count[w], w == BULK ? "MiB" : ref[w].unit,
	       w == BULK ? "" : "s", out);
	char what[64];
	snprintf(what, sizeof(what), "Ir/%s", ref[w].unit);
	ratio_line(what, ir, ref[w].target_ir, ref[w].lwip_ir, "%8.0f");
	return 0;
}

static int one(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	enum work w = NWORK;
	for (int i = 0; i < NWORK; i++)
		if (!strcmp(argv[2], work_name[i]))
			w = (enum work)i;
	if (w == NWORK)
		return 2;
	struct bp_result r;
	int bp_opts = 0;
	for (int i = 4; i < argc; i++)
		bp_opts |= !strcmp(argv[i], "--offload") ? BP_CSUM_OFFLOAD : !strcmp(argv[i], "--plain") ? BP_PLAIN : 0;
	return run_once(w, strtoull(argv[3], NULL, 0), bp_opts, &r) ? 0 : 1;
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("net_bench: sched_setaffinity");
}

static int parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){ .runs = 5, .cpu = sched_getcpu(), .callgrind = 1, .out = "build/bench",
			    .count = { 1024, 100000, 20000 }, .cg_count = { 32, 5000, 1000 } };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--no-callgrind")) {
			o->callgrind = 0;
			continue;
		}
		if (!strcmp(a, "--plain")) {
			o->plain = 1;
			continue;
		}
		if (!v)
			return -1;
		i++;
		uint64_t n = strtoull(v, NULL, 0);
		if (!strcmp(a, "--runs")) o->runs = (int)n;
		else if (!strcmp(a, "--cpu")) o->cpu = (int)n;
		else if (!strcmp(a, "--bulk-mib")) o->count[BULK] = n;
		else if (!strcmp(a, "--rr")) o->count[RR] = n;
		else if (!strcmp(a, "--crr")) o->count[CRR] = n;
		else if (!strcmp(a, "--cg-bulk-mib")) o->cg_count[BULK] = n;
		else if (!strcmp(a, "--cg-rr")) o->cg_count[RR] = n;
		else if (!strcmp(a, "--cg-crr")) o->cg_count[CRR] = n;
		else if (!strcmp(a, "--out")) o->out = v;
		else return -1;
	}
	return o->runs > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--one"))
		return one(argc, argv);
	struct opts o;
	if (parse(&o, argc, argv)) {
		fprintf(stderr, "usage: see the comment at the top of tests/bench/net_bench.c\n");
		return 2;
	}
	pin(o.cpu < 0 ? 0 : o.cpu);
	printf("net_bench: two full stacks over an in-memory NIC pair, MTU 1500, TCP defaults "
	       "(64 KiB buffers), pinned to CPU %d\n", o.cpu);
	int bad = 0;
	double best;
	for (int w = 0; w < NWORK; w++)
		bad |= wall((enum work)w, &o, &best);
	if (o.callgrind)
		for (int w = 0; w < NWORK; w++)
			bad |= callgrind((enum work)w, &o, o.plain ? BP_PLAIN : 0);
	if (o.callgrind && !o.plain) {
		printf("  the same without the big-buffer pool and receive bursts (--plain: no GSO, "
		       "no GRO; how the earlier numbers in docs/performance.md were taken):\n");
		for (int w = 0; w < NWORK; w++)
			bad |= callgrind((enum work)w, &o, BP_PLAIN);
	}
	static struct bench_pair probe;
	int honoured = bp_init(&probe, BP_CSUM_OFFLOAD) == 0 && bp_csum_ok_honoured(&probe);
	bp_fini(&probe);
	if (!honoured)
		printf("  checksum offload variant: not available: TCP verifies every checksum "
		       "(ignores PKT_F_CSUM_OK)\n");
	else
		for (int w = 0; w < NWORK; w++)
			bad |= o.callgrind ? callgrind((enum work)w, &o, BP_CSUM_OFFLOAD) : 0;
	return bad ? 1 : 0;
}
