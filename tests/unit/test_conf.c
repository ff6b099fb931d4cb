/*
 * kernel/conf.c: defaults, every key with good and bad values, the line syntax
 * (comments, blank lines, CRLF, spacing, NULs, huge lines, no final newline), the
 * problem reports ("origin:line: ..."), the command line overrides and conf_show.
 * The invariant checked throughout: a problem never changes any setting.
 */
#include "tests/unit/test.h"
#include "kernel/conf.h"
#include <stdlib.h>

#define MAX_REPORTS 16

struct reports {
	int n;
	char msg[MAX_REPORTS][160];
};

static void collect(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	if (r->n < MAX_REPORTS)
		snprintf(r->msg[r->n], sizeof(r->msg[0]), "%s", msg);
	r->n++;
}

/* Parses len bytes; the return value must match the number of reports. */
static int parse_n(struct conf *c, struct reports *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	int n = conf_parse(c, text, len, "skiff.conf", collect, r);
	CHECK_EQ(n, r->n);
	return n;
}

static int parse(struct conf *c, struct reports *r, const char *text)
{
	return parse_n(c, r, text, strlen(text));
}

static int cmdline(struct conf *c, struct reports *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	int n = conf_parse_cmdline(c, text, collect, r);
	CHECK_EQ(n, r->n);
	return n;
}

/* A configuration where every field differs from the defaults. */
static void custom(struct conf *c)
{
	struct reports r;
	conf_defaults(c);
	int bad = parse(c, &r, "log_level = debug\nshell = off\nhostname = box\npoll = on\n"
			"nic = virtio\nip = 10.0.0.5/8\ngateway = 10.0.0.1\nmtu = 9000\n"
			"http_port = 8080\nnetconsole = 10.0.0.1:514\n"
			"debug = on\npcap_serial = on\npcap_filter = tcp port 80\n"
			"tcp_pacing = off\n");
	CHECK_EQ(bad, 0);
}

TEST(conf_defaults)
{
	struct conf c;
	memset(&c, 0xa5, sizeof(c));
	conf_defaults(&c);
	CHECK_EQ(c.log_level, LOG_INFO);
	CHECK_EQ(c.shell, 1);
	CHECK_STR(c.hostname, "skiff");
	CHECK_EQ(c.poll, 0);
	CHECK_STR(c.nic, "auto");
	CHECK_STR(c.ip, "dhcp");
	CHECK_STR(c.gateway, "");
	CHECK_EQ(c.mtu, 1500);
	CHECK_EQ(c.http_port, 80);
	CHECK_STR(c.netconsole, "off");
	CHECK_EQ(c.tcp_pacing, 1);
	/* An empty file, or one of comments and blanks, changes nothing. */
	struct conf d = c;
	struct reports r;
	CHECK_EQ(parse(&d, &r, ""), 0);
	CHECK_EQ(parse(&d, &r, "\n\n   \n\t\n# only comments\n  # indented\n\r\n"), 0);
	CHECK_MEM(&d, &c, sizeof(c));
}

/* One "key = value" line against a custom config: must set want (ok) or change
 * nothing and report "skiff.conf:1: bad value '<value>' for <key> (ignored)". */
static void expect_bad(const char *file, int line, const char *key, const char *value)
{
	struct conf c, before;
	struct reports r;
	char text[256], want[160];
	custom(&c);
	before = c;
	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	snprintf(want, sizeof(want), "skiff.conf:1: bad value '%s' for %s (ignored)", value, key);
	int n = parse(&c, &r, text);
	if (n != 1 || strcmp(r.msg[0], want) != 0 || memcmp(&c, &before, sizeof(c)) != 0) {
		char m[400];
		snprintf(m, sizeof(m), "'%s = %s': %d problems, first \"%s\", config %s", key, value,
			 n, r.msg[0], memcmp(&c, &before, sizeof(c)) ? "changed" : "kept");
		test_fail(file, line, m);
	}
}
#define BAD(key, value) expect_bad(__FILE__, __LINE__, key, value)

/* Parses "key = value" into a fresh custom config, must give no problem. */
static struct conf good(const char *key, const char *value)
{
	struct conf c;
	struct reports r;
	char text[256];
	custom(&c);
	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	CHECK_EQ(parse(&c, &r, text), 0);
	return c;
}

TEST(conf_log_level)
{
	CHECK_EQ(good("log_level", "error").log_level, LOG_ERROR);
	CHECK_EQ(good("log_level", "warn").log_level, LOG_WARN);
	CHECK_EQ(good("log_level", "info").log_level, LOG_INFO);
	CHECK_EQ(good("log_level", "debug").log_level, LOG_DEBUG);
	BAD("log_level", "INFO");
	BAD("log_level", "verbose");
	BAD("log_level", "2");
	BAD("log_level", "warning");
	BAD("log_level", "debugx");
	BAD("log_level", "info debug");
}

TEST(conf_bools)
{
	static const char *const on[] = { "on", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "false", "0" };
	static const char *const bad[] = { "On", "YES", "True", "enabled", "2", "01", "onn", "o", "yes please", "-1" };
	for (size_t i = 0; i < 4; i++) {
		struct conf c = good("shell", off[i]);
		CHECK_EQ(c.shell, 0);
		c = good("shell", on[i]);
		CHECK_EQ(c.shell, 1);
		c = good("poll", off[i]);
		CHECK_EQ(c.poll, 0);
		/* custom() has poll on: start from the defaults (off) to see "on" work. */
		struct reports r;
		char text[32];
		conf_defaults(&c);
		snprintf(text, sizeof(text), "poll=%s", on[i]);
		CHECK_EQ(parse(&c, &r, text), 0);
		CHECK_EQ(c.poll, 1);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		BAD("shell", bad[i]);
		BAD("poll", bad[i]);
	}
}

TEST(conf_hostname)
{
	char max[64], over[65];
	memset(max, 'h', 63);
	max[63] = 0;
	memset(over, 'h', 64);
	over[64] = 0;
	CHECK_STR(good("hostname", "a").hostname, "a");
	CHECK_STR(good("hostname", "skiff-1").hostname, "skiff-1");
	CHECK_STR(good("hostname", "ABC-def-09").hostname, "ABC-def-09");
	CHECK_STR(good("hostname", "123").hostname, "123");
	CHECK_STR(good("hostname", "a-b-c").hostname, "a-b-c");
	CHECK_STR(good("hostname", max).hostname, max);
	/* A shorter name after a longer one leaves no tail of the old one. */
	struct conf c = good("hostname", max);
	struct reports r;
	CHECK_EQ(parse(&c, &r, "hostname = ab\n"), 0);
	CHECK_STR(c.hostname, "ab");
	BAD("hostname", "-a");
	BAD("hostname", "a-");
	BAD("hostname", "-");
	BAD("hostname", "a.b");
	BAD("hostname", "a_b");
	BAD("hostname", "a b");
	/* The report shows 24 characters at most, then "...". */
	memset(&r, 0, sizeof(r));
	custom(&c);
	struct conf before = c;
	char text[100];
	snprintf(text, sizeof(text), "hostname = %s\n", over);
	CHECK_EQ(parse(&c, &r, text), 1);
	CHECK_STR(r.msg[0], "skiff.conf:1: bad value 'hhhhhhhhhhhhhhhhhhhhhhhh...' for hostname (ignored)");
	CHECK_MEM(&c, &before, sizeof(c));
}

TEST(conf_nic_ip_gateway)
{
	CHECK_STR(good("nic", "auto").nic, "auto");
	CHECK_STR(good("nic", "e1000").nic, "e1000");
	CHECK_STR(good("nic", "e1000e").nic, "e1000e");
	CHECK_STR(good("nic", "igb").nic, "igb");
	CHECK_STR(good("nic", "virtio").nic, "virtio");
	BAD("nic", "E1000");
	BAD("nic", "e1000x");
	BAD("nic", "e100");
	BAD("nic", "virtio-net");
	BAD("nic", "rtl8139");
	CHECK_STR(good("ip", "dhcp").ip, "dhcp");
	CHECK_STR(good("ip", "10.0.2.15/24").ip, "10.0.2.15/24");
	CHECK_STR(good("ip", "192.168.100.200").ip, "192.168.100.200");
	CHECK_STR(good("ip", "255.255.255.255/32").ip, "255.255.255.255/32");
	CHECK_STR(good("ip", "1111111111111111111").ip, "1111111111111111111");   /* 19: the field's limit */
	BAD("ip", "11111111111111111111");                                         /* 20 */
	BAD("ip", "DHCP");
	BAD("ip", "dhcp4");
	BAD("ip", "10.0.2.x");
	BAD("ip", "10.0.2.15 /24");
	BAD("ip", "-1.0.0.0");
	CHECK_STR(good("gateway", "10.0.2.2").gateway, "10.0.2.2");
	CHECK_STR(good("gateway", "255.255.255.255").gateway, "255.255.255.255");  /* 15 */
	BAD("gateway", "255.255.255.2555");                                        /* 16 */
	BAD("gateway", "router");
	BAD("gateway", "10.0.2.2:80");
}

TEST(conf_netconsole)
{
	CHECK_STR(good("netconsole", "off").netconsole, "off");
	CHECK_STR(good("netconsole", "10.99.0.1:514").netconsole, "10.99.0.1:514");
	CHECK_STR(good("netconsole", "255.255.255.255:65535").netconsole, "255.255.255.255:65535");
	CHECK_STR(good("netconsole", "0.0.0.0:1").netconsole, "0.0.0.0:1");
	BAD("netconsole", "on");
	BAD("netconsole", "10.99.0.1");                 /* no port */
	BAD("netconsole", "10.99.0.1:");
	BAD("netconsole", "10.99.0.1:0");
	BAD("netconsole", "10.99.0.1:65536");
	BAD("netconsole", "10.99.0.1:99999999999");     /* must not wrap */
	BAD("netconsole", "10.99.0.256:514");
	BAD("netconsole", "10.99.0:514");
	BAD("netconsole", "10.99.0.1.2:514");
	BAD("netconsole", "0010.99.0.1:514");           /* 4 digits */
	BAD("netconsole", "10.99.0.1:514x");
	BAD("netconsole", "10.99.0.1:-514");
	BAD("netconsole", "loghost:514");
	BAD("netconsole", "255.255.255.255:655350");    /* 22 bytes */
	uint32_t a;
	uint16_t p;
	REQUIRE(conf_parse_hostport("10.99.0.1:514", 13, &a, &p) == 0);
	CHECK_EQ(a, 0x0a630001u);
	CHECK_EQ(p, 514);
	/* The view's length is honoured: the bytes after it are not read. */
	CHECK_EQ(conf_parse_hostport("10.99.0.1:5149", 13, &a, &p), 0);
	CHECK_EQ(p, 514);
	CHECK_EQ(conf_parse_hostport("10.99.0.1:5", 10, &a, &p), -1);
}

TEST(conf_ints)
{
	CHECK_EQ(good("mtu", "576").mtu, 576);
	CHECK_EQ(good("mtu", "9000").mtu, 9000);
	CHECK_EQ(good("mtu", "1500").mtu, 1500);
	CHECK_EQ(good("mtu", "0001280").mtu, 1280);
	BAD("mtu", "575");
	BAD("mtu", "9001");
	BAD("mtu", "0");
	BAD("mtu", "-1500");
	BAD("mtu", "+1500");
	BAD("mtu", "1500x");
	BAD("mtu", "0x5dc");
	BAD("mtu", "1 500");
	BAD("mtu", "1500.0");
	BAD("mtu", "999999999");                /* fits an int, out of range */
	BAD("mtu", "4294968796");               /* 2^32 + 1500: must not wrap into range */
	BAD("mtu", "99999999999999999999999");
	CHECK_EQ(good("http_port", "1").http_port, 1);
	CHECK_EQ(good("http_port", "65535").http_port, 65535);
	CHECK_EQ(good("http_port", "8080").http_port, 8080);
	BAD("http_port", "0");
	BAD("http_port", "65536");
	BAD("http_port", "-80");
	BAD("http_port", "http");
	CHECK_EQ(good("debug", "off").debug, CONF_DEBUG_OFF);
	CHECK_EQ(good("debug", "on").debug, CONF_DEBUG_ON);
	CHECK_EQ(good("debug", "local").debug, CONF_DEBUG_LOCAL);
	BAD("debug", "yes");
	CHECK_EQ(good("pcap_serial", "on").pcap_serial, 1);
	BAD("pcap_serial", "2");
	CHECK_STR(good("pcap_filter", "udp port 53").pcap_filter, "udp port 53");
	CHECK_EQ(good("tcp_pacing", "off").tcp_pacing, 0);
	BAD("tcp_pacing", "fast");
}

TEST(conf_line_syntax)
{
	struct conf c;
	struct reports r;
	conf_defaults(&c);
	CHECK_EQ(parse(&c, &r, "# comment\n\n   \t \nshell = off # trailing comment\n"
			       "  mtu=9000\n\tpoll\t=\ton\t\nhostname =box#no-space comment\n"
			       "http_port= 8080   \nnic =virtio\n"), 0);
	CHECK_EQ(c.shell, 0);
	CHECK_EQ(c.mtu, 9000);
	CHECK_EQ(c.poll, 1);
	CHECK_STR(c.hostname, "box");
	CHECK_EQ(c.http_port, 8080);
	CHECK_STR(c.nic, "virtio");

	/* CRLF line ends, and a file without a final newline. */
	conf_defaults(&c);
	CHECK_EQ(parse(&c, &r, "shell = off\r\nmtu = 1400\r\n\r\n# c\r\nhttp_port = 81"), 0);
	CHECK_EQ(c.shell, 0);
	CHECK_EQ(c.mtu, 1400);
	CHECK_EQ(c.http_port, 81);
	CHECK_EQ(parse(&c, &r, "hostname = last"), 0);
	CHECK_STR(c.hostname, "last");

	/* Duplicates: the last one wins. */
	conf_defaults(&c);
	CHECK_EQ(parse(&c, &r, "mtu = 1000\nhostname = one\nmtu = 2000\nhostname = two\nmtu = 3000\n"), 0);
	CHECK_EQ(c.mtu, 3000);
	CHECK_STR(c.hostname, "two");
	/* ... but a bad later value keeps the earlier good one. */
	CHECK_EQ(parse(&c, &r, "mtu = 4000\nmtu = 40000\n"), 1);
	CHECK_EQ(c.mtu, 4000);
	CHECK_STR(r.msg[0], "skiff.conf:2: bad value '40000' for mtu (ignored)");

	/* A value may contain '=' (then it is just a bad hostname), and keys match exactly. */
	custom(&c);
	struct conf before = c;
	CHECK_EQ(parse(&c, &r, "hostname = a=b\nShell = on\nshell  x = on\nmtu2 = 1\n"), 4);
	CHECK_STR(r.msg[0], "skiff.conf:1: bad value 'a=b' for hostname (ignored)");
	CHECK_STR(r.msg[1], "skiff.conf:2: unknown key 'Shell' (ignored)");
	CHECK_STR(r.msg[2], "skiff.conf:3: unknown key 'shell  x' (ignored)");
	CHECK_STR(r.msg[3], "skiff.conf:4: unknown key 'mtu2' (ignored)");
	CHECK_MEM(&c, &before, sizeof(c));
}

TEST(conf_malformed_lines)
{
	static const char *const lines[] = {
		"shell off", "shell", "=", "= on", "  =  on  ", "shell =", "shell =   ", "shell = # no value",
		"shell\t=\t\r", "==", "\"shell\"", ";",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct conf c, before;
		struct reports r;
		custom(&c);
		before = c;
		CHECK_EQ(parse(&c, &r, lines[i]), 1);
		CHECK_STR(r.msg[0], "skiff.conf:1: malformed line, expected 'key = value' (ignored)");
		CHECK_MEM(&c, &before, sizeof(c));
	}
}

TEST(conf_nul_bytes)
{
	struct conf c, before;
	struct reports r;
	/* A NUL in the value, in the key, alone on a line; then good lines still count. */
	static const char text[] = "shell = o\0ff\nsh\0ell = off\n\0\nmtu = 9000 # a\0b\nhostname = \0\nhttp_port = 99\n";
	conf_defaults(&c);
	before = c;
	CHECK_EQ(parse_n(&c, &r, text, sizeof(text) - 1), 4);
	CHECK_STR(r.msg[0], "skiff.conf:1: malformed line, expected 'key = value' (ignored)");
	CHECK_STR(r.msg[1], "skiff.conf:2: malformed line, expected 'key = value' (ignored)");
	CHECK_STR(r.msg[2], "skiff.conf:3: malformed line, expected 'key = value' (ignored)");
	CHECK_STR(r.msg[3], "skiff.conf:5: malformed line, expected 'key = value' (ignored)");
	CHECK_EQ(c.shell, before.shell);
	CHECK_EQ(c.mtu, 9000);          /* the NUL was inside the comment */
	CHECK_STR(c.hostname, before.hostname);
	CHECK_EQ(c.http_port, 99);
	/* The parser goes by len, never by a terminator: bytes past len are not read. */
	char *exact = malloc(10);
	REQUIRE(exact);
	memcpy(exact, "mtu = 1234", 10);
	CHECK_EQ(parse_n(&c, &r, exact, 10), 0);
	CHECK_EQ(c.mtu, 1234);
	free(exact);
}

TEST(conf_huge_lines)
{
	size_t big = 100 * 1024;
	char *text = malloc(big + 200);
	REQUIRE(text);
	struct conf c, before;
	struct reports r;

	/* A 100 KB value. */
	custom(&c);
	before = c;
	size_t n = (size_t)sprintf(text, "hostname = ");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, "\nmtu = 1400\n");
	CHECK_EQ(parse_n(&c, &r, text, n), 1);
	CHECK_STR(r.msg[0], "skiff.conf:1: bad value 'xxxxxxxxxxxxxxxxxxxxxxxx...' for hostname (ignored)");
	CHECK_EQ(c.mtu, 1400);
	c.mtu = before.mtu;
	CHECK_MEM(&c, &before, sizeof(c));

	/* A 100 KB key, a 100 KB line without '=', a 100 KB comment: line numbers stay right. */
	n = 0;
	memset(text, 'k', big);
	n = big + (size_t)sprintf(text + big, " = 1\n");
	CHECK_EQ(parse_n(&c, &r, text, n), 1);
	CHECK_STR(r.msg[0], "skiff.conf:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkk...' (ignored)");
	n = (size_t)sprintf(text, "\n\n");
	memset(text + n, 'w', big);
	n += big;
	n += (size_t)sprintf(text + n, "\nmtu = 1300\nbogus\n");
	CHECK_EQ(parse_n(&c, &r, text, n), 2);
	CHECK_STR(r.msg[0], "skiff.conf:3: malformed line, expected 'key = value' (ignored)");
	CHECK_STR(r.msg[1], "skiff.conf:5: malformed line, expected 'key = value' (ignored)");
	CHECK_EQ(c.mtu, 1300);
	n = (size_t)sprintf(text, "shell = on #");
	memset(text + n, '=', big);
	n += big;
	n += (size_t)sprintf(text + n, "\npoll = off");
	c.shell = 0;
	c.poll = 1;
	CHECK_EQ(parse_n(&c, &r, text, n), 0);
	CHECK_EQ(c.shell, 1);
	CHECK_EQ(c.poll, 0);
	free(text);
}

TEST(conf_report_lines_and_origin)
{
	struct conf c, before;
	struct reports r;
	custom(&c);
	before = c;
	const char *text =
		"# skiff.conf\n"                /* 1 */
		"\n"                            /* 2 */
		"colour = blue\n"               /* 3 */
		"mtu = 9000\n"                  /* 4 */
		"mtu = 10\n"                    /* 5 */
		"  \r\n"                        /* 6 */
		"shell on\n"                    /* 7 */
		"log_level = loud # c\r\n"      /* 8 */
		"ip =\n";                       /* 9 */
	memset(&r, 0, sizeof(r));
	CHECK_EQ(conf_parse(&c, text, strlen(text), "boot:/skiff.conf", collect, &r), 5);
	CHECK_EQ(r.n, 5);
	CHECK_STR(r.msg[0], "boot:/skiff.conf:3: unknown key 'colour' (ignored)");
	CHECK_STR(r.msg[1], "boot:/skiff.conf:5: bad value '10' for mtu (ignored)");
	CHECK_STR(r.msg[2], "boot:/skiff.conf:7: malformed line, expected 'key = value' (ignored)");
	CHECK_STR(r.msg[3], "boot:/skiff.conf:8: bad value 'loud' for log_level (ignored)");
	CHECK_STR(r.msg[4], "boot:/skiff.conf:9: malformed line, expected 'key = value' (ignored)");
	CHECK_MEM(&c, &before, sizeof(c));
	/* Control characters in a shown value are replaced, never printed raw. */
	CHECK_EQ(parse(&c, &r, "hostname = a\tb\x01\x7f\xff\n"), 1);
	CHECK_STR(r.msg[0], "skiff.conf:1: bad value 'a?b?\?\?' for hostname (ignored)");
	/* Without a report function problems are still counted. */
	CHECK_EQ(conf_parse(&c, "x = 1\ny = 2\n", 12, "skiff.conf", NULL, NULL), 2);
	CHECK_MEM(&c, &before, sizeof(c));
}

TEST(conf_cmdline)
{
	struct conf c, before;
	struct reports r;
	/* The file first, then the command line overrides only what it names. */
	conf_defaults(&c);
	CHECK_EQ(parse(&c, &r, "mtu = 9000\nhostname = filehost\nshell = off\n"), 0);
	CHECK_EQ(cmdline(&c, &r, "\\EFI\\BOOT\\BOOTX64.EFI mtu=1400 poll=on"), 0);
	CHECK_EQ(c.mtu, 1400);
	CHECK_EQ(c.poll, 1);
	CHECK_STR(c.hostname, "filehost");
	CHECK_EQ(c.shell, 0);

	/* A first word with '=' is a setting, not the image path. */
	CHECK_EQ(cmdline(&c, &r, "hostname=cmd  shell=on"), 0);
	CHECK_STR(c.hostname, "cmd");
	CHECK_EQ(c.shell, 1);

	/* Problems are numbered by word and never change anything. */
	custom(&c);
	before = c;
	CHECK_EQ(cmdline(&c, &r, "skiff.efi junk mtu=1 =on shell= colour=red   log_level=loud"), 6);
	CHECK_STR(r.msg[0], "cmdline:2: word without '=' (ignored)");
	CHECK_STR(r.msg[1], "cmdline:3: bad value '1' for mtu (ignored)");
	CHECK_STR(r.msg[2], "cmdline:4: malformed word, expected key=value (ignored)");
	CHECK_STR(r.msg[3], "cmdline:5: malformed word, expected key=value (ignored)");
	CHECK_STR(r.msg[4], "cmdline:6: unknown key 'colour' (ignored)");
	CHECK_STR(r.msg[5], "cmdline:7: bad value 'loud' for log_level (ignored)");
	CHECK_MEM(&c, &before, sizeof(c));

	/* Empty, blank, leading and trailing spaces; '=' inside a value. */
	CHECK_EQ(cmdline(&c, &r, ""), 0);
	CHECK_EQ(cmdline(&c, &r, "     "), 0);
	CHECK_EQ(cmdline(&c, &r, "  img  "), 0);
	CHECK_MEM(&c, &before, sizeof(c));
	CHECK_EQ(cmdline(&c, &r, "   mtu=1280   "), 0);
	CHECK_EQ(c.mtu, 1280);
	CHECK_EQ(cmdline(&c, &r, "img hostname=a=b"), 1);
	CHECK_STR(r.msg[0], "cmdline:2: bad value 'a=b' for hostname (ignored)");
	CHECK_EQ(conf_parse_cmdline(&c, "img x=1", NULL, NULL), 1);
}

struct lines {
	int n;
	char text[16][128];
};

static void collect_line(void *ctx, const char *text)
{
	struct lines *l = ctx;
	if (l->n < 16)
		snprintf(l->text[l->n], sizeof(l->text[0]), "%s", text);
	l->n++;
}

TEST(conf_show)
{
	static const char *const want_default[] = {
		"log_level = info", "shell = on", "hostname = skiff", "poll = off", "nic = auto",
		"ip = dhcp", "gateway = ", "mtu = 1500", "http_port = 80", "netconsole = off",
		"debug = local", "pcap_serial = off", "pcap_filter = ", "tcp_pacing = on",
	};
	static const char *const want_custom[] = {
		"log_level = debug", "shell = off", "hostname = box", "poll = on", "nic = virtio",
		"ip = 10.0.0.5/8", "gateway = 10.0.0.1", "mtu = 9000", "http_port = 8080",
		"netconsole = 10.0.0.1:514",
		"debug = on", "pcap_serial = on", "pcap_filter = tcp port 80", "tcp_pacing = off",
	};
	struct conf c;
	struct lines l = { 0 };
	conf_defaults(&c);
	conf_show(&c, collect_line, &l);
	REQUIRE(l.n == 14);
	for (int i = 0; i < 14; i++)
		CHECK_STR(l.text[i], want_default[i]);
	custom(&c);
	memset(&l, 0, sizeof(l));
	conf_show(&c, collect_line, &l);
	REQUIRE(l.n == 14);
	for (int i = 0; i < 14; i++)
		CHECK_STR(l.text[i], want_custom[i]);
	/* What conf_show prints parses back to the same configuration. */
	char text[1024] = "";
	for (int i = 0; i < 14; i++)
		if (strcmp(l.text[i], "gateway = ") != 0) {
			strcat(text, l.text[i]);
			strcat(text, "\n");
		}
	struct conf back;
	struct reports r;
	conf_defaults(&back);
	CHECK_EQ(parse(&back, &r, text), 0);
	CHECK_MEM(&back, &c, sizeof(c));
}
