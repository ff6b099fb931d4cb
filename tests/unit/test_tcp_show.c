/* `ss -tni`, `ss -tl` and `nstat` output in Linux's layout and names. */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

struct cap {
	char lines[16][600];
	int n;
};

static void out(void *ctx, const char *text)
{
	struct cap *c = ctx;
	if (c->n < 16)
		snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", text);
}

struct kv {
	char names[128][48];
	uint64_t v[128];
	int n;
};

static void emit(void *ctx, const char *name, uint64_t v)
{
	struct kv *k = ctx;
	if (k->n < 128) {
		snprintf(k->names[k->n], sizeof(k->names[0]), "%s", name);
		k->v[k->n++] = v;
	}
}

static uint64_t lookup(const struct kv *k, const char *name)
{
	for (int i = 0; i < k->n; i++)
		if (!strcmp(k->names[i], name))
			return k->v[i];
	return UINT64_MAX;
}

TEST(tcp_show_ss_tni_and_tl)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS,
			      .mss = 1460, .ws = 7, .tsval = 1 };
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, "hello", 5), 5);
	th_drain(&h);
	h.now += 2 * TH_MS;
	p.ack += 5;
	peer_send(&h, &p, TCP_ACK, "abc", 3);
	struct cap cap = { .n = 0 };
	char *argv[] = { "ss", "-tni" };
	tcp_show(&h.t, 2, argv, out, &cap);
	REQUIRE(cap.n == 3);
	CHECK(strncmp(cap.lines[0], "State      Recv-Q Send-Q", 24) == 0);
	CHECK(strstr(cap.lines[0], "Local Address:Port") != NULL);
	CHECK(strstr(cap.lines[0], "Peer Address:Port") != NULL);
	CHECK(strncmp(cap.lines[1], "ESTAB      3      0", 19) == 0);
	CHECK(strstr(cap.lines[1], "10.0.0.1:80") != NULL);
	CHECK(strstr(cap.lines[1], "10.0.0.2:40000") != NULL);
	const char *i = cap.lines[2];
	CHECK(i[0] == '\t');
	CHECK(strstr(i, " ts sack cubic wscale:7,1 rto:200 rtt:") != NULL);
	CHECK(strstr(i, " mss:1448 pmtu:1500 rcvmss:") != NULL);
	CHECK(strstr(i, " advmss:1460 cwnd:10") != NULL);
	CHECK(strstr(i, " bytes_sent:5 bytes_acked:5 bytes_received:3") != NULL);
	CHECK(strstr(i, " segs_out:") != NULL && strstr(i, " segs_in:") != NULL);
	CHECK(strstr(i, " data_segs_out:1 data_segs_in:1") != NULL);
	CHECK(strstr(i, " rcv_space:65536") != NULL);
	CHECK(strstr(i, " rtt:0.25/0.499 ") != NULL);     /* (7 * 1 us + 2 ms) / 8 */
	CHECK(strstr(i, " minrtt:0.001") != NULL);
	CHECK(strstr(i, " send ") != NULL && strstr(i, "bps") != NULL);
	cap.n = 0;
	char *argv2[] = { "ss", "-tl" };
	tcp_show(&h.t, 2, argv2, out, &cap);
	REQUIRE(cap.n == 2);
	CHECK(strncmp(cap.lines[1], "LISTEN     0      16", 20) == 0);
	CHECK(strstr(cap.lines[1], "0.0.0.0:80") != NULL);
	CHECK(strstr(cap.lines[1], "0.0.0.0:*") != NULL);
	cap.n = 0;
	char *argv3[] = { "ss", "-x" };
	tcp_show(&h.t, 2, argv3, out, &cap);
	CHECK_EQ(cap.n, 1);
	CHECK(strstr(cap.lines[0], "usage") != NULL);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_show_nstat_names)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	struct kv k = { .n = 0 };
	tcp_nstat(&h.t, emit, &k);
	CHECK_EQ(lookup(&k, "TcpPassiveOpens"), 1);
	CHECK_EQ(lookup(&k, "TcpCurrEstab"), 1);
	CHECK_EQ(lookup(&k, "TcpInSegs"), 2);
	CHECK_EQ(lookup(&k, "TcpOutSegs"), 1);
	CHECK_EQ(lookup(&k, "TcpRtoMin"), 200);
	const char *must[] = { "TcpActiveOpens", "TcpAttemptFails", "TcpEstabResets", "TcpRetransSegs",
			       "TcpInErrs", "TcpOutRsts", "TcpInCsumErrors", "TcpExtSyncookiesSent",
			       "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed", "TcpExtListenDrops",
			       "TcpExtListenOverflows", "TcpExtTCPSackRecovery", "TcpExtTCPChallengeACK",
			       "TcpExtTCPTimeouts", "TcpExtTCPOFOQueue", "TcpExtTCPOFODrop",
			       "TcpExtPAWSEstab" };
	for (size_t n = 0; n < sizeof(must) / sizeof(must[0]); n++)
		CHECK(lookup(&k, must[n]) != UINT64_MAX);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}
