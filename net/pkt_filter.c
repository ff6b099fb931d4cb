/*
 * pcap-filter subset (pkt_filter.h): a tokenizer, a recursive-descent parser that
 * mirrors libpcap's grammar.y shape (expr := term { (and|or) term-or-id }), and an
 * evaluator that reads the frame the way libpcap's generated BPF does (gencode.c):
 * EtherType at 12, IPv4 fields at 14 + offset, ports at 14 + 4*IHL, a load past the
 * frame rejecting the whole frame.
 *
 * Parse: lex one token ahead; qualifiers (proto, dir, kind) then a value become one
 * PF_PRIM node; the last qualifiers are remembered so a bare value can reuse them.
 * Match: walk the tree from the root, short-circuiting left to right like BPF.
 */
#include "net/pkt_filter.h"
#include "net/wire.h"
#include "lib/fmt.h"
#include "lib/string.h"

enum { PF_PRIM, PF_AND, PF_OR, PF_NOT };
enum { PF_P_ANY, PF_P_ETHER, PF_P_IP, PF_P_ARP, PF_P_TCP, PF_P_UDP, PF_P_ICMP };
enum { PF_D_ANY, PF_D_SRC, PF_D_DST, PF_D_BOTH };       /* ANY = src or dst */
enum { PF_K_NONE, PF_K_HOST, PF_K_NET, PF_K_PORT, PF_K_PROTO };

#define ETHERTYPE_IP 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_RARP 0x8035
#define ETHERTYPE_IPV6 0x86dd
#define IPPROTO_SCTP 132
#define IPPROTO_FRAGMENT 44     /* IPv6 fragment header (RFC 8200 §4.5) */

/* ---- tokens ----------------------------------------------------------------------- */

enum { T_END, T_WORD, T_LP, T_RP, T_NOT, T_AND, T_OR, T_BAD };

struct pf_tok {
	int type;
	const char *s;
	size_t len;
	int col;                /* 1-based */
};

struct pf_qual {
	uint8_t proto, dir, kind;
};

struct pf_parser {
	struct pkt_filter *f;
	const char *src;
	size_t pos;             /* where the next token starts */
	struct pf_tok tok;      /* current token */
	char *err;
	size_t errcap;
	int failed;
	int depth;
	struct pf_qual last;    /* qualifiers a bare value inherits */
	int last_ok;
};

static int is_word_char(char c)
{
	return c && c != ' ' && c != '\t' && c != '\n' && c != '(' && c != ')' && c != '!' &&
	       c != '&' && c != '|';
}

static int tok_is(const struct pf_tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->type == T_WORD && t->len == n && memcmp(t->s, kw, n) == 0;
}

/* The token starting at *pos; *pos moves past it. */
static struct pf_tok lex_at(const char *src, size_t *pos)
{
	size_t i = *pos;
	while (src[i] == ' ' || src[i] == '\t' || src[i] == '\n')
		i++;
	struct pf_tok t = { T_END, src + i, 0, (int)i + 1 };
	char c = src[i];
	if (!c) {
		*pos = i;
		return t;
	}
	t.len = 1;
	if (c == '(' || c == ')' || c == '!') {
		t.type = c == '(' ? T_LP : c == ')' ? T_RP : T_NOT;
	} else if (c == '&' || c == '|') {
		t.type = src[i + 1] == c ? (c == '&' ? T_AND : T_OR) : T_BAD;
		t.len = src[i + 1] == c ? 2 : 1;
	} else {
		while (is_word_char(src[i + t.len]))
			t.len++;
		t.type = T_WORD;
		if (tok_is(&t, "and"))
			t.type = T_AND;
		else if (tok_is(&t, "or"))
			t.type = T_OR;
		else if (tok_is(&t, "not"))
			t.type = T_NOT;
	}
	*pos = i + t.len;
	return t;
}

static void next(struct pf_parser *P)
{
	P->tok = lex_at(P->src, &P->pos);
}

static struct pf_tok peek(const struct pf_parser *P)
{
	size_t pos = P->pos;
	return lex_at(P->src, &pos);
}

/* Records the first error only: "col N: 'TOKEN': what". */
static int fail(struct pf_parser *P, const struct pf_tok *t, const char *what)
{
	if (P->failed++)
		return -1;
	if (t->type == T_END) {
		ksnprintf(P->err, P->errcap, "col %d: at end: %s", t->col, what);
		return -1;
	}
	int n = t->len > 24 ? 24 : (int)t->len;
	ksnprintf(P->err, P->errcap, "col %d: '%.*s%s': %s", t->col, n, t->s,
		  t->len > 24 ? "..." : "", what);
	return -1;
}

/* ---- values ----------------------------------------------------------------------- */

/* Decimal number filling the token; -1 if not one (or above max). */
static long parse_num(const char *s, size_t len, long max)
{
	long v = 0;
	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* 1 to 4 dotted decimal octets; returns how many, 0 if malformed. Missing octets are
 * the host part: "10.1" is 10.1.0.0 with mask 255.255.0.0 (libpcap "promote short"). */
static int parse_dotted(const char *s, size_t len, uint32_t *addr, uint32_t *mask)
{
	uint32_t v = 0;
	int parts = 0;
	for (size_t i = 0;;) {
		size_t j = i;
		while (j < len && s[j] != '.')
			j++;
		long o = parse_num(s + i, j - i, 255);
		if (o < 0 || parts == 4)
			return 0;
		v = v << 8 | (uint32_t)o;
		parts++;
		if (j == len)
			break;
		i = j + 1;
	}
	*addr = parts == 4 ? v : v << (32 - 8 * parts);
	*mask = parts == 4 ? 0xffffffffu : 0xffffffffu << (32 - 8 * parts);
	return parts;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* xx:xx:xx:xx:xx:xx (also '-' or '.' between, 1 or 2 digits each). 0 if malformed. */
static int parse_mac(const char *s, size_t len, uint8_t *mac)
{
	size_t i = 0;
	for (int b = 0; b < 6; b++) {
		int hi = i < len ? hexval(s[i]) : -1;
		if (hi < 0)
			return 0;
		i++;
		int lo = i < len ? hexval(s[i]) : -1;
		mac[b] = (uint8_t)(lo < 0 ? hi : hi << 4 | lo);
		i += lo >= 0;
		if (b < 5 && (i >= len || (s[i] != ':' && s[i] != '-' && s[i] != '.')))
			return 0;
		i += b < 5;
	}
	return i == len;
}

/* ---- nodes ------------------------------------------------------------------------ */

static int node(struct pf_parser *P, const struct pf_node *proto)
{
	struct pkt_filter *f = P->f;
	if (f->count >= PKT_FILTER_MAX_NODES)
		return fail(P, &P->tok, "expression too long");
	f->n[f->count] = *proto;
	return f->count++;
}

static int binop(struct pf_parser *P, uint8_t op, int l, int r)
{
	if (l < 0 || r < 0)
		return -1;
	struct pf_node n = { .op = op, .l = (uint8_t)l, .r = (uint8_t)r };
	return node(P, &n);
}

static int value_host(struct pf_parser *P, struct pf_node *n, const struct pf_tok *t)
{
	if (n->proto == PF_P_ETHER) {
		if (!parse_mac(t->s, t->len, n->mac))
			return fail(P, t, "bad MAC address (want xx:xx:xx:xx:xx:xx)");
		return 0;
	}
	if (n->proto >= PF_P_TCP)
		return fail(P, t, n->proto == PF_P_TCP ? "'tcp' modifier applied to host" :
				  n->proto == PF_P_UDP ? "'udp' modifier applied to host" :
				  "'icmp' modifier applied to host");
	if (memchr(t->s, '/', t->len))
		return fail(P, t, "mask syntax for networks only");
	if (!parse_dotted(t->s, t->len, &n->addr, &n->mask))
		return fail(P, t, "unknown host (names are not resolved)");
	n->addr &= n->mask;
	return 0;
}

static int value_net(struct pf_parser *P, struct pf_node *n, const struct pf_tok *t)
{
	if (n->proto == PF_P_ETHER || n->proto >= PF_P_TCP)
		return fail(P, t, "illegal qualifier of 'net'");
	const char *slash = memchr(t->s, '/', t->len);
	size_t alen = slash ? (size_t)(slash - t->s) : t->len;
	if (!parse_dotted(t->s, alen, &n->addr, &n->mask))
		return fail(P, t, "bad network address");
	if (slash) {
		long bits = parse_num(slash + 1, t->len - alen - 1, 32);
		if (bits < 0)
			return fail(P, t, "bad mask length (0..32)");
		n->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	}
	if (n->addr & ~n->mask)
		return fail(P, t, "non-network bits set");
	return 0;
}

static int value_port(struct pf_parser *P, struct pf_node *n, const struct pf_tok *t)
{
	if (n->proto != PF_P_ANY && n->proto != PF_P_TCP && n->proto != PF_P_UDP)
		return fail(P, t, "illegal qualifier of 'port'");
	long v = parse_num(t->s, t->len, 0x7fffffff);
	if (v < 0)
		return fail(P, t, "unknown port (names are not resolved)");
	if (v > 65535)
		return fail(P, t, "illegal port number > 65535");
	n->port = (uint16_t)v;
	return 0;
}

/* A primitive from qualifiers q and the value token (the current token). */
static int primitive(struct pf_parser *P, const struct pf_qual *q)
{
	struct pf_tok t = P->tok;
	struct pf_node n = { .op = PF_PRIM, .proto = q->proto, .dir = q->dir, .kind = q->kind };
	if (t.type != T_WORD)
		return fail(P, &t, "expected an address or a number");
	int rc = n.kind == PF_K_PORT ? value_port(P, &n, &t) :
		 n.kind == PF_K_NET ? value_net(P, &n, &t) : value_host(P, &n, &t);
	if (rc < 0)
		return -1;
	if (n.kind == PF_K_NONE)
		n.kind = PF_K_HOST;
	P->last = *q;
	P->last_ok = 1;
	next(P);
	return node(P, &n);
}

/* ---- grammar ---------------------------------------------------------------------- */

static int kw_proto(const struct pf_tok *t)
{
	static const char *const names[] = { "", "ether", "ip", "arp", "tcp", "udp", "icmp" };
	for (int i = 1; i < 7; i++)
		if (tok_is(t, names[i]))
			return i;
	return 0;
}

static int kw_kind(const struct pf_tok *t)
{
	return tok_is(t, "host") ? PF_K_HOST : tok_is(t, "net") ? PF_K_NET :
	       tok_is(t, "port") ? PF_K_PORT : 0;
}

static int kw_dir(const struct pf_tok *t)
{
	return tok_is(t, "src") ? PF_D_SRC : tok_is(t, "dst") ? PF_D_DST : 0;
}

/* "src", "dst", "src or dst", "src and dst" (and the dst-first forms). */
static void parse_dir(struct pf_parser *P, struct pf_qual *q)
{
	q->dir = (uint8_t)kw_dir(&P->tok);
	if (!q->dir)
		return;
	next(P);
	if (P->tok.type != T_AND && P->tok.type != T_OR)
		return;
	struct pf_tok second = peek(P);
	if (!kw_dir(&second) || kw_dir(&second) == q->dir)
		return;
	q->dir = P->tok.type == T_AND ? PF_D_BOTH : PF_D_ANY;
	next(P);
	next(P);
}

/* [proto] [dir] [kind] value, or a protocol alone. */
static int parse_prim(struct pf_parser *P)
{
	struct pf_qual q = { 0, 0, 0 };
	struct pf_tok first = P->tok;
	q.proto = (uint8_t)kw_proto(&P->tok);
	if (q.proto)
		next(P);
	parse_dir(P, &q);
	q.kind = (uint8_t)kw_kind(&P->tok);
	if (q.kind)
		next(P);
	if (q.proto && !q.dir && !q.kind) {
		if (q.proto == PF_P_ETHER)
			return fail(P, &P->tok, "'ether' needs host, src or dst");
		struct pf_node n = { .op = PF_PRIM, .proto = q.proto, .kind = PF_K_PROTO };
		P->last_ok = 0;
		return node(P, &n);
	}
	if (!q.proto && !q.dir && !q.kind)
		return fail(P, &first, "expected a primitive (host, net, port, ether, ip, arp, "
				       "tcp, udp, icmp), 'not' or '('");
	return primitive(P, &q);
}

static int parse_expr(struct pf_parser *P, int allow_id);

/* term := not term | ( expr ) | primitive | value (inheriting, after and/or). */
static int parse_term(struct pf_parser *P, int allow_id)
{
	struct pf_tok t = P->tok;
	if (t.type == T_NOT || t.type == T_LP) {
		if (P->depth >= PKT_FILTER_MAX_DEPTH)
			return fail(P, &t, "nested too deeply");
		P->depth++;
		next(P);
		int r;
		if (t.type == T_NOT) {
			r = binop(P, PF_NOT, parse_term(P, allow_id), 0);
		} else {
			r = parse_expr(P, allow_id);
			if (r >= 0 && P->tok.type != T_RP)
				r = fail(P, &P->tok, "expected ')'");
			if (r >= 0)
				next(P);
		}
		P->depth--;
		return r;
	}
	if (t.type != T_WORD)
		return fail(P, &t, t.type == T_BAD ? "use '&&' or '||'" :
				   "expected a primitive, 'not' or '('");
	if (kw_proto(&t) || kw_dir(&t) || kw_kind(&t))
		return parse_prim(P);
	if (allow_id && P->last_ok)
		return primitive(P, &P->last);
	return fail(P, &t, "expected a primitive (host, net, port, ether, ip, arp, tcp, udp, "
			   "icmp), 'not' or '('");
}

/* expr := term { (and|or) term }: equal precedence, left to right (pcap-filter(7)). */
static int parse_expr(struct pf_parser *P, int allow_id)
{
	int left = parse_term(P, allow_id);
	while (left >= 0 && (P->tok.type == T_AND || P->tok.type == T_OR)) {
		uint8_t op = P->tok.type == T_AND ? PF_AND : PF_OR;
		next(P);
		left = binop(P, op, left, parse_term(P, 1));
	}
	return left;
}

int pkt_filter_compile(struct pkt_filter *f, const char *expr, char *err, size_t errcap)
{
	struct pf_parser P = { .f = f, .src = expr ? expr : "", .err = err, .errcap = errcap };
	memset(f, 0, sizeof(*f));
	if (errcap)
		err[0] = 0;
	next(&P);
	if (P.tok.type == T_END)
		return 0;
	int root = parse_expr(&P, 0);
	if (root >= 0 && P.tok.type != T_END)
		root = fail(&P, &P.tok, P.tok.type == T_RP ? "unbalanced ')'" :
					P.tok.type == T_BAD ? "use '&&' or '||'" :
					"expected 'and', 'or' or the end");
	if (root < 0) {
		/* Match nothing: a single node that is never true. */
		memset(f, 0, sizeof(*f));
		f->n[0] = (struct pf_node){ .op = PF_PRIM, .kind = PF_K_NONE };
		f->count = 1;
		return -1;
	}
	f->root = (uint8_t)root;
	return 0;
}

/* ---- matching --------------------------------------------------------------------- */

/* A BPF load: the whole filter says no when it would run past the frame. */
#define NEED(off, n)                                                            \
	do {                                                                    \
		if ((size_t)(off) + (n) > len)                                  \
			return -1;                                              \
	} while (0)

/* The primitive's value against the field at off: -1 if the frame ends first. */
static int field_eq(const struct pf_node *n, const uint8_t *f, size_t len, size_t off)
{
	if (n->kind == PF_K_PORT) {
		NEED(off, 2);
		return wire_get16(f + off) == n->port;
	}
	if (n->proto == PF_P_ETHER) {
		NEED(off, 6);
		return memcmp(f + off, n->mac, 6) == 0;
	}
	if (n->mask == 0)
		return 1;       /* net 0/0: libpcap reads no address at all */
	NEED(off, 4);
	return (wire_get32(f + off) & n->mask) == n->addr;
}

/* Source field, then (if it still matters) the destination: the order and short
 * circuit of libpcap's code, so a frame ending in between is judged the same. */
static int dir_match(const struct pf_node *n, const uint8_t *f, size_t len, size_t so,
		     size_t dof)
{
	if (n->dir == PF_D_DST)
		return field_eq(n, f, len, dof);
	int s = field_eq(n, f, len, so);
	if (s < 0 || n->dir == PF_D_SRC || s == (n->dir == PF_D_ANY))
		return s;
	return field_eq(n, f, len, dof);
}

static int match_ether(const struct pf_node *n, const uint8_t *f, size_t len)
{
	return dir_match(n, f, len, 6, 0);
}

/* host/net for IPv4 (addresses at 12/16) or ARP/RARP (sender at 14, target at 24). */
static int match_l3addr(const struct pf_node *n, const uint8_t *f, size_t len)
{
	NEED(12, 2);
	uint16_t type = wire_get16(f + 12);
	int ip = type == ETHERTYPE_IP, arp = type == ETHERTYPE_ARP || type == ETHERTYPE_RARP;
	if ((n->proto == PF_P_IP && !ip) || (n->proto == PF_P_ARP && type != ETHERTYPE_ARP))
		return 0;
	if (!ip && !arp)
		return 0;
	return ip ? dir_match(n, f, len, 14 + 12, 14 + 16) : dir_match(n, f, len, 14 + 14, 14 + 24);
}

/* tcp/udp: IPv4 protocol, or IPv6 next header (also behind one fragment header),
 * as libpcap tests it; Skiff itself speaks no IPv6, a capture may still hold it. */
static int ip_proto_is(const uint8_t *f, size_t len, uint8_t proto)
{
	NEED(12, 2);
	uint16_t type = wire_get16(f + 12);
	if (type == ETHERTYPE_IP) {
		NEED(14 + 9, 1);
		return f[14 + 9] == proto;
	}
	if (type != ETHERTYPE_IPV6 || proto == 1)
		return 0;       /* icmp is IPv4 only (ICMPv6 is icmp6) */
	NEED(14 + 6, 1);
	if (f[14 + 6] == proto)
		return 1;
	if (f[14 + 6] != IPPROTO_FRAGMENT)
		return 0;
	NEED(14 + 40, 1);
	return f[14 + 40] == proto;
}

static int port_proto(const struct pf_node *n, uint8_t p)
{
	return n->proto == PF_P_TCP ? p == 6 : n->proto == PF_P_UDP ? p == 17 :
	       p == 6 || p == 17 || p == IPPROTO_SCTP;
}

/* Ports: IPv4 first fragments at 4*IHL, IPv6 right after the fixed header. */
static int match_port(const struct pf_node *n, const uint8_t *f, size_t len)
{
	NEED(12, 2);
	uint16_t type = wire_get16(f + 12);
	if (type == ETHERTYPE_IPV6) {
		NEED(14 + 6, 1);
		return port_proto(n, f[14 + 6]) ? dir_match(n, f, len, 14 + 40, 14 + 42) : 0;
	}
	if (type != ETHERTYPE_IP)
		return 0;
	NEED(14 + 9, 1);
	if (!port_proto(n, f[14 + 9]))
		return 0;
	NEED(14 + 6, 2);
	if (wire_get16(f + 14 + 6) & 0x1fff)
		return 0;               /* not the first fragment: no ports here */
	NEED(14, 1);
	size_t l4 = 14 + (size_t)(f[14] & 0x0f) * 4;
	return dir_match(n, f, len, l4, l4 + 2);
}

static int match_proto(const struct pf_node *n, const uint8_t *f, size_t len)
{
	switch (n->proto) {
	case PF_P_IP:
	case PF_P_ARP:
		NEED(12, 2);
		return wire_get16(f + 12) == (n->proto == PF_P_IP ? ETHERTYPE_IP : ETHERTYPE_ARP);
	case PF_P_TCP:
		return ip_proto_is(f, len, 6);
	case PF_P_UDP:
		return ip_proto_is(f, len, 17);
	case PF_P_ICMP:
		return ip_proto_is(f, len, 1);
	}
	return 0;
}

static int match_prim(const struct pf_node *n, const uint8_t *f, size_t len)
{
	switch (n->kind) {
	case PF_K_PROTO:
		return match_proto(n, f, len);
	case PF_K_PORT:
		return match_port(n, f, len);
	case PF_K_HOST:
	case PF_K_NET:
		return n->proto == PF_P_ETHER ? match_ether(n, f, len) : match_l3addr(n, f, len);
	}
	return 0;
}

/* 1, 0, or -1 (a load past the frame: the whole filter rejects). Recursion depth is
 * bounded by the node count (each level is a distinct earlier node). */
static int eval(const struct pkt_filter *f, int i, const uint8_t *fr, size_t len)
{
	const struct pf_node *n = &f->n[i];
	int a;
	switch (n->op) {
	case PF_NOT:
		a = eval(f, n->l, fr, len);
		return a < 0 ? a : !a;
	case PF_AND:
	case PF_OR:
		a = eval(f, n->l, fr, len);
		if (a < 0 || a == (n->op == PF_OR))
			return a;
		return eval(f, n->r, fr, len);
	}
	return match_prim(n, fr, len);
}

int pkt_filter_match(const struct pkt_filter *f, const uint8_t *frame, size_t len)
{
	if (f->count == 0)
		return 1;
	return eval(f, f->root, frame, len) == 1;
}
