/*
 * skiff.conf parser. Works on (pointer, length) views of the input, never copies a
 * line into a fixed buffer: a line of any length is either valid or reported.
 * Order per line: strip comment -> trim -> split at '=' -> look up key -> check value.
 */
#include "kernel/conf.h"
#include "lib/fmt.h"
#include "lib/string.h"

enum kind { K_ENUM, K_BOOL, K_INT, K_STR };

struct key {
	const char *name;
	enum kind kind;
	size_t off;             /* field offset in struct conf */
	int min, max;           /* K_INT range; K_STR max length */
	const char *const *names;  /* K_ENUM values (index stored), K_STR: NULL */
	int (*valid)(const char *s, size_t n);  /* K_STR check */
};

static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

static int is_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/* Digits and dots, optional "/prefix": the network layer does the full parse. */
static int is_addr(const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "dhcp", 4) == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '/'))
			return 0;
	return n > 0;
}

/* Decimal digits only, at most max_digits of them, value <= max; advances *i. */
static int parse_num(const char *s, size_t n, size_t *i, int max_digits, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	int digits = 0;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9' && digits < max_digits) {
		v = v * 10 + (uint32_t)(s[*i] - '0');
		(*i)++;
		digits++;
	}
	if (digits == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int conf_parse_hostport(const char *s, size_t n, uint32_t *addr, uint16_t *port)
{
	size_t i = 0;
	uint32_t a = 0, v;
	for (int k = 0; k < 4; k++) {
		if (parse_num(s, n, &i, 3, 255, &v) || i >= n || s[i] != (k < 3 ? '.' : ':'))
			return -1;
		a = a << 8 | v;
		i++;
	}
	if (parse_num(s, n, &i, 5, 65535, &v) || v == 0 || i != n)
		return -1;
	*addr = a;
	*port = (uint16_t)v;
	return 0;
}

static int is_netconsole(const char *s, size_t n)
{
	uint32_t a;
	uint16_t p;
	return (n == 3 && memcmp(s, "off", 3) == 0) || conf_parse_hostport(s, n, &a, &p) == 0;
}

static const char *const debug_names[] = { "off", "local", "on", NULL };
static const char *const nic_names[] = { "auto", "e1000", "e1000e", "igb", "virtio", NULL };

#define OFF(f) offsetof(struct conf, f)
static const struct key keys[] = {
	{ "log_level", K_ENUM, OFF(log_level), 0, 0, level_names, NULL },
	{ "shell", K_BOOL, OFF(shell), 0, 0, NULL, NULL },
	{ "hostname", K_STR, OFF(hostname), 0, 63, NULL, is_hostname },
	{ "poll", K_BOOL, OFF(poll), 0, 0, NULL, NULL },
	{ "nic", K_STR, OFF(nic), 0, 15, nic_names, NULL },
	{ "ip", K_STR, OFF(ip), 0, 19, NULL, is_addr },
	{ "gateway", K_STR, OFF(gateway), 0, 15, NULL, is_addr },
	{ "mtu", K_INT, OFF(mtu), 576, 9000, NULL, NULL },
	{ "http_port", K_INT, OFF(http_port), 1, 65535, NULL, NULL },
	{ "netconsole", K_STR, OFF(netconsole), 0, 23, NULL, is_netconsole },
	{ "debug", K_ENUM, OFF(debug), 0, 0, debug_names, NULL },
	{ "pcap_serial", K_BOOL, OFF(pcap_serial), 0, 0, NULL, NULL },
	{ "pcap_filter", K_STR, OFF(pcap_filter), 0, 127, NULL, NULL },
	{ "tcp_pacing", K_BOOL, OFF(tcp_pacing), 0, 0, NULL, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->shell = 1;
	strlcpy(c->hostname, "skiff", sizeof(c->hostname));
	strlcpy(c->nic, "auto", sizeof(c->nic));
	strlcpy(c->ip, "dhcp", sizeof(c->ip));
	c->mtu = 1500;
	c->http_port = 80;
	strlcpy(c->netconsole, "off", sizeof(c->netconsole));
	c->debug = CONF_DEBUG_LOCAL;
	c->tcp_pacing = 1;
}

struct ctx {
	conf_report_fn report;
	void *rctx;
	const char *origin;
	int line;
	int problems;
};

static void problem(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct ctx *x, const char *fmt, ...)
{
	char msg[160];
	int n = ksnprintf(msg, sizeof(msg), "%s:%d: ", x->origin, x->line);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		kvsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	x->problems++;
	if (x->report)
		x->report(x->rctx, msg);
}

static int view_eq(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n == w && memcmp(s, word, n) == 0;
}

static int parse_bool(const char *v, size_t n, int *out)
{
	if (view_eq(v, n, "on") || view_eq(v, n, "yes") || view_eq(v, n, "true") || view_eq(v, n, "1"))
		*out = 1;
	else if (view_eq(v, n, "off") || view_eq(v, n, "no") || view_eq(v, n, "false") || view_eq(v, n, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Decimal without sign; rejects overflow instead of wrapping. */
static int parse_int(const char *v, size_t n, int min, int max, int *out)
{
	if (n == 0 || n > 9)
		return -1;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	if (x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

static int set_value(const struct key *k, struct conf *c, const char *v, size_t n)
{
	char *field = (char *)c + k->off;
	int iv;
	switch (k->kind) {
	case K_BOOL:
		if (parse_bool(v, n, &iv))
			return -1;
		*(int *)field = iv;
		return 0;
	case K_INT:
		if (parse_int(v, n, k->min, k->max, &iv))
			return -1;
		*(int *)field = iv;
		return 0;
	case K_ENUM:
		for (int i = 0; k->names[i]; i++)
			if (view_eq(v, n, k->names[i])) {
				*(int *)field = i;
				return 0;
			}
		return -1;
	case K_STR:
		if (n == 0 || n > (size_t)k->max)
			return -1;
		if (k->valid && !k->valid(v, n))
			return -1;
		if (k->names) {
			int ok = 0;
			for (int i = 0; k->names[i]; i++)
				ok |= view_eq(v, n, k->names[i]);
			if (!ok)
				return -1;
		}
		memcpy(field, v, n);
		field[n] = 0;
		return 0;
	}
	return -1;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

static const struct key *find_key(const char *k, size_t n)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (view_eq(k, n, keys[i].name))
			return &keys[i];
	return NULL;
}

/* Shows at most 24 printable characters of a view in a report. */
static void show_view(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 4 < cap && i < 24; i++)
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > 24 && o + 4 < cap) {
		dst[o++] = '.';
		dst[o++] = '.';
		dst[o++] = '.';
	}
	dst[o] = 0;
}

static void assign(struct conf *c, struct ctx *x, const char *k, size_t kn, const char *v, size_t vn)
{
	char shown[32];
	const struct key *key = find_key(k, kn);
	if (!key) {
		show_view(shown, sizeof(shown), k, kn);
		problem(x, "unknown key '%s' (ignored)", shown);
		return;
	}
	if (set_value(key, c, v, vn)) {
		show_view(shown, sizeof(shown), v, vn);
		problem(x, "bad value '%s' for %s (ignored)", shown, key->name);
	}
}

static void parse_line(struct conf *c, struct ctx *x, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '#') {
			n = i;
			break;
		}
	trim(&s, &n);
	if (n == 0)
		return;
	const char *eq = memchr(s, '=', n);
	if (!eq || memchr(s, 0, n)) {
		problem(x, "malformed line, expected 'key = value' (ignored)");
		return;
	}
	const char *k = s, *v = eq + 1;
	size_t kn = (size_t)(eq - s), vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	if (kn == 0 || vn == 0) {
		problem(x, "malformed line, expected 'key = value' (ignored)");
		return;
	}
	assign(c, x, k, kn, v, vn);
}

int conf_parse(struct conf *c, const char *text, size_t len, const char *origin,
	       conf_report_fn report, void *rctx)
{
	struct ctx x = { report, rctx, origin, 0, 0 };
	size_t start = 0;
	while (start < len) {
		size_t end = start;
		while (end < len && text[end] != '\n')
			end++;
		x.line++;
		parse_line(c, &x, text + start, end - start);
		start = end + 1;
	}
	return x.problems;
}

int conf_parse_cmdline(struct conf *c, const char *cmdline, conf_report_fn report, void *rctx)
{
	struct ctx x = { report, rctx, "cmdline", 0, 0 };
	const char *p = cmdline;
	int first = 1;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t n = (size_t)(p - w);
		if (n == 0)
			break;
		x.line++;
		const char *eq = memchr(w, '=', n);
		if (!eq) {
			if (!first)
				problem(&x, "word without '=' (ignored)");
		} else if (eq == w || eq + 1 == w + n) {
			problem(&x, "malformed word, expected key=value (ignored)");
		} else {
			assign(c, &x, w, (size_t)(eq - w), eq + 1, (size_t)(w + n - eq - 1));
		}
		first = 0;
	}
	return x.problems;
}

void conf_show(const struct conf *c, void (*line)(void *ctx, const char *text), void *ctx)
{
	char buf[128];
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)c + k->off;
		int iv = *(const int *)field;
		switch (k->kind) {
		case K_ENUM: ksnprintf(buf, sizeof(buf), "%s = %s", k->name, k->names[iv]); break;
		case K_BOOL: ksnprintf(buf, sizeof(buf), "%s = %s", k->name, iv ? "on" : "off"); break;
		case K_INT: ksnprintf(buf, sizeof(buf), "%s = %d", k->name, iv); break;
		case K_STR: ksnprintf(buf, sizeof(buf), "%s = %s", k->name, field); break;
		}
		line(ctx, buf);
	}
}
