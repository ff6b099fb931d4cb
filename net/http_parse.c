/*
 * HTTP request heads (see http_parse.h). http_head_scan() frames a head in a growing
 * buffer; http_parse_head() makes one pass over its lines: request line (RFC 9112 §3),
 * field lines (§5), recording what the semantic checks need, then runs those checks in
 * the order the header lists. Every index is checked against the view's length before
 * use; nothing is copied.
 */
#include "net/http_parse.h"
#include "lib/string.h"

static const char *const perr_names[HTTP_PERR_COUNT] = {
	[HTTP_PERR_NONE] = "none",
	[HTTP_PERR_REQUEST_LINE] = "request_line",
	[HTTP_PERR_TARGET_TOO_LONG] = "target_too_long",
	[HTTP_PERR_HEAD_TOO_LARGE] = "head_too_large",
	[HTTP_PERR_VERSION] = "version",
	[HTTP_PERR_FIELD] = "field",
	[HTTP_PERR_OBS_FOLD] = "obs_fold",
	[HTTP_PERR_METHOD] = "method",
	[HTTP_PERR_HOST] = "host",
	[HTTP_PERR_TARGET] = "target",
	[HTTP_PERR_TRAVERSAL] = "traversal",
	[HTTP_PERR_CONTENT_LENGTH] = "content_length",
	[HTTP_PERR_TRANSFER_ENCODING] = "transfer_encoding",
	[HTTP_PERR_BODY] = "body",
};

const char *http_perr_name(enum http_perr why)
{
	return (unsigned)why < HTTP_PERR_COUNT ? perr_names[why] : "unknown";
}

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", HTTP_M_GET },         { "HEAD", HTTP_M_HEAD },     { "POST", HTTP_M_POST },
	{ "PUT", HTTP_M_PUT },         { "DELETE", HTTP_M_DELETE }, { "CONNECT", HTTP_M_CONNECT },
	{ "OPTIONS", HTTP_M_OPTIONS }, { "TRACE", HTTP_M_TRACE },   { "PATCH", HTTP_M_PATCH },
};

/* ---- character classes (RFC 9110 §5.6.2, RFC 3986 §2-3) ---------------------------- */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_val(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_tchar(uint8_t c)
{
	return is_alnum(c) || (c && memchr("!#$%&'*+-.^_`|~", c, 15));
}

static bool is_unreserved(uint8_t c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_subdelim(uint8_t c)
{
	return c && memchr("!$&'()*+,;=", c, 11);
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Case-insensitive comparison of s[0..n) with a lower-case literal. */
static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n != l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((uint8_t)s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static int fail(enum http_perr *why, enum http_perr reason, int status)
{
	*why = reason;
	return status;
}

/* ---- framing ---------------------------------------------------------------------- */

/* The request-line checks that a prefix of the line can decide: method length, target
 * length, version length. l[0..n) is the line without its LF; a final CR is dropped
 * (complete: it is the CRLF's; incomplete: it may become so). A decided prefix gives
 * the same verdict as any completion of it, which keeps split input equivalent. */
static int line_lengths(const char *l, size_t n, bool complete, const struct http_limits *lim,
			enum http_perr *why)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	size_t mscan = n < HTTP_METHOD_MAX + 1 ? n : HTTP_METHOD_MAX + 1;
	const char *sp1 = memchr(l, ' ', mscan);
	if (!sp1)
		return complete || n > HTTP_METHOD_MAX ? fail(why, HTTP_PERR_REQUEST_LINE, 400) : 0;
	if (sp1 == l)
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	size_t t0 = (size_t)(sp1 - l) + 1;
	const char *sp2 = memchr(l + t0, ' ', n - t0);
	size_t tend = sp2 ? (size_t)(sp2 - l) : n;
	if (tend - t0 > lim->max_target)
		return fail(why, HTTP_PERR_TARGET_TOO_LONG, 414);
	if (!sp2)
		return complete ? fail(why, HTTP_PERR_REQUEST_LINE, 400) : 0;
	size_t rest = n - tend - 1;     /* "HTTP/1.1" is 8 bytes */
	if (complete ? rest != 8 : rest > 8)
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	return 0;
}

/* True if the LF at buf[i] ends an empty line ("\n" or "\r\n" after a LF or at 0). */
static bool ends_empty_line(const char *buf, size_t i)
{
	if (i == 0 || buf[i - 1] == '\n')
		return true;
	return buf[i - 1] == '\r' && (i == 1 || buf[i - 2] == '\n');
}

int http_head_scan(const char *buf, size_t len, struct http_scan *scan,
		   const struct http_limits *lim, size_t *head_len, enum http_perr *why)
{
	*why = HTTP_PERR_NONE;
	size_t i = scan->pos;
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (!scan->line) {
			scan->line = (uint32_t)(i + 1);
			int st = line_lengths(buf, i, true, lim, why);
			if (st)
				return st;
		}
		if (ends_empty_line(buf, i)) {
			scan->pos = (uint32_t)(i + 1);
			if (i + 1 > lim->max_head)
				return fail(why, HTTP_PERR_HEAD_TOO_LARGE, 431);
			*head_len = i + 1;
			return HTTP_HEAD_DONE;
		}
	}
	scan->pos = (uint32_t)len;
	if (!scan->line) {
		int st = line_lengths(buf, len, false, lim, why);
		if (st)
			return st;
	}
	if (len >= lim->max_head)
		return fail(why, HTTP_PERR_HEAD_TOO_LARGE, 431);
	return HTTP_HEAD_MORE;
}

/* ---- field values ----------------------------------------------------------------- */

/* Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): a reg-name of
 * unreserved / sub-delims / pct-encoded, or an IPv6 literal; no userinfo. */
static bool valid_host(const char *s, size_t n, bool need_host)
{
	size_t i = 0;
	if (n == 0)
		return !need_host;
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (hex_val((uint8_t)s[i]) < 0 && s[i] != ':' && s[i] != '.')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && s[i] != ':') {
			uint8_t c = (uint8_t)s[i];
			if (c == '%') {
				if (n - i < 3 || hex_val((uint8_t)s[i + 1]) < 0 || hex_val((uint8_t)s[i + 2]) < 0)
					return false;
				i += 3;
				continue;
			}
			if (!is_unreserved(c) && !is_subdelim(c))
				return false;
			i++;
		}
		if (i == 0 && need_host)
			return false;
	}
	if (i < n) {
		if (s[i] != ':')
			return false;
		for (i++; i < n; i++)
			if (!is_digit((uint8_t)s[i]))
				return false;
	}
	return true;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6); a list of equal values is that value.
 * Every value seen (this line and earlier ones) must agree. */
static bool parse_content_length(const char *v, size_t n, bool *have, uint64_t *val)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		uint64_t x = 0;
		while (i < n && is_digit((uint8_t)v[i])) {
			uint64_t d = (uint64_t)(v[i] - '0');
			if (x > (UINT64_MAX - d) / 10)
				return false;
			x = x * 10 + d;
			i++;
		}
		if (i == start || (*have && *val != x))
			return false;
		*have = true;
		*val = x;
		while (i < n && is_ows((uint8_t)v[i]))
			i++;
		if (i == n)
			return true;
		if (v[i] != ',')
			return false;
		for (i++; i < n && is_ows((uint8_t)v[i]); i++)
			;
	}
}

/* Reads 1*DIGIT at s[*i..n), saturating at UINT64_MAX (a huge position simply lies
 * past the end of any representation). */
static bool parse_pos(const char *s, size_t n, size_t *i, uint64_t *out)
{
	size_t start = *i;
	uint64_t x = 0;
	for (; *i < n && is_digit((uint8_t)s[*i]); (*i)++) {
		uint64_t d = (uint64_t)(s[*i] - '0');
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
	}
	*out = x;
	return *i > start;
}

/* Range: bytes=first-last | bytes=first- | bytes=-suffix (RFC 9110 §14.1.1, §14.2).
 * Anything else leaves NONE: the field is ignored and the whole representation sent. */
static void parse_range(const char *v, size_t n, struct http_range *r)
{
	uint64_t a, b;
	r->kind = HTTP_RANGE_NONE;
	if (n < 6 || !ieq(v, 5, "bytes") || v[5] != '=')
		return;
	const char *s = v + 6;
	size_t m = n - 6, i = 0;
	if (m == 0 || memchr(s, ',', m))
		return;         /* several ranges: answering 200 is allowed (§14.2) */
	if (s[0] == '-') {
		i = 1;
		if (!parse_pos(s, m, &i, &b) || i != m)
			return;
		*r = (struct http_range){ HTTP_RANGE_SUFFIX, 0, b };
		return;
	}
	if (!parse_pos(s, m, &i, &a) || i == m || s[i] != '-')
		return;
	i++;
	if (i == m) {
		*r = (struct http_range){ HTTP_RANGE_FROM, a, 0 };
		return;
	}
	if (!parse_pos(s, m, &i, &b) || i != m || b < a)
		return;
	*r = (struct http_range){ HTTP_RANGE_FROM_TO, a, b };
}

/* What the field lines told us, checked after all lines are known to be well formed. */
struct fields {
	unsigned host_count, range_count;
	bool host_bad, cl_bad, conn_close, conn_keep_alive;
	bool te_unknown;        /* a transfer coding other than chunked */
};

/* The next element of a #list (RFC 9110 §5.6.1) from v[*i]: its token is v[*s, *e)
 * (empty elements skipped, parameters after ';' and anything else up to the next ','
 * left out). False at the end. */
static bool list_next(const char *v, size_t n, size_t *i, size_t *s, size_t *e)
{
	while (*i < n && (is_ows((uint8_t)v[*i]) || v[*i] == ','))
		(*i)++;
	if (*i >= n)
		return false;
	*s = *i;
	while (*i < n && !is_ows((uint8_t)v[*i]) && v[*i] != ',' && v[*i] != ';')
		(*i)++;
	*e = *i;
	while (*i < n && v[*i] != ',')
		(*i)++;
	return true;
}

/* Transfer-Encoding = #transfer-coding (RFC 9112 §6.1); parameters after ';' are not
 * looked at. The only coding we know is the framing one, chunked; an empty list
 * element is skipped (RFC 9110 §5.6.1). */
static void parse_transfer_encoding(const char *v, size_t n, struct fields *f)
{
	size_t i = 0, s, e;
	while (list_next(v, n, &i, &s, &e))
		if (!ieq(v + s, e - s, "chunked"))
			f->te_unknown = true;
}

static void parse_connection(const char *v, size_t n, struct fields *f)
{
	size_t i = 0, s, e;
	while (list_next(v, n, &i, &s, &e)) {
		if (ieq(v + s, e - s, "close"))
			f->conn_close = true;
		else if (ieq(v + s, e - s, "keep-alive"))
			f->conn_keep_alive = true;
	}
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int parse_field(const char *l, size_t n, struct http_request *req, struct fields *f,
		       enum http_perr *why)
{
	if (is_ows((uint8_t)l[0]))
		return fail(why, HTTP_PERR_OBS_FOLD, 400);     /* §5.2, and §2.2 after the start-line */
	const char *colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return fail(why, HTTP_PERR_FIELD, 400);
	size_t nlen = (size_t)(colon - l);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((uint8_t)l[i]))
			return fail(why, HTTP_PERR_FIELD, 400);  /* incl. whitespace before the colon (§5.1) */
	const char *v = colon + 1;
	size_t vlen = n - nlen - 1;
	while (vlen && is_ows((uint8_t)v[0])) {
		v++;
		vlen--;
	}
	while (vlen && is_ows((uint8_t)v[vlen - 1]))
		vlen--;
	for (size_t i = 0; i < vlen; i++) {
		uint8_t c = (uint8_t)v[i];
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return fail(why, HTTP_PERR_FIELD, 400);  /* NUL, bare CR, other CTLs (§5.5) */
	}
	if (ieq(l, nlen, "host")) {
		f->host_count++;
		req->has_host = true;
		req->host = v;
		req->host_len = vlen;
		if (!valid_host(v, vlen, false))
			f->host_bad = true;
	} else if (ieq(l, nlen, "content-length")) {
		if (!parse_content_length(v, vlen, &req->has_content_length, &req->content_length))
			f->cl_bad = true;
	} else if (ieq(l, nlen, "transfer-encoding")) {
		req->has_transfer_encoding = true;
		parse_transfer_encoding(v, vlen, f);
	} else if (ieq(l, nlen, "connection")) {
		parse_connection(v, vlen, f);
	} else if (ieq(l, nlen, "range")) {
		if (++f->range_count == 1)
			parse_range(v, vlen, &req->range);
	} else if (ieq(l, nlen, "if-range")) {
		req->if_range = true;
	}
	return 0;
}

/* ---- request line and target ------------------------------------------------------ */

/* method SP request-target SP HTTP-version (RFC 9112 §3); lengths already checked.
 * Returns 0 and the HTTP major version in *major. */
static int parse_request_line(char *l, size_t n, struct http_request *req, char **target,
			      size_t *tlen, int *major, enum http_perr *why)
{
	char *sp1 = memchr(l, ' ', n);
	size_t mlen = (size_t)(sp1 - l);
	char *t = sp1 + 1;
	char *sp2 = memchr(t, ' ', n - mlen - 1);
	const char *v = sp2 + 1;
	req->method_str = l;
	req->method_len = mlen;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((uint8_t)l[i]))
			return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == mlen && memcmp(methods[i].name, l, mlen) == 0)
			req->method = methods[i].m;    /* methods are case-sensitive (RFC 9110 §9.1) */
	*target = t;
	*tlen = (size_t)(sp2 - t);
	if (*tlen == 0)
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (§2.3) */
	if (memcmp(v, "HTTP/", 5) != 0 || !is_digit((uint8_t)v[5]) || v[6] != '.' || !is_digit((uint8_t)v[7]))
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	*major = v[5] - '0';
	req->minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/* pchar / "/" (and "?" in a query), with every '%' followed by two hex digits. */
static bool valid_uri_chars(const char *s, size_t n, bool query)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '%') {
			if (n - i < 3 || hex_val((uint8_t)s[i + 1]) < 0 || hex_val((uint8_t)s[i + 2]) < 0)
				return false;
			i += 2;
		} else if (!is_unreserved(c) && !is_subdelim(c) && c != ':' && c != '@' && c != '/' &&
			   !(query && c == '?')) {
			return false;
		}
	}
	return true;
}

/* Percent-decodes a validated path in place; returns the decoded length (<= n). */
static size_t decode_in_place(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			s[o++] = (char)(hex_val((uint8_t)s[i + 1]) << 4 | hex_val((uint8_t)s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* The decoded path: no NUL or control bytes, no backslash, no "." or ".." segment. */
static int check_decoded(const char *p, size_t n, enum http_perr *why)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];
		if (c < 0x20 || c == 0x7f)
			return fail(why, HTTP_PERR_TARGET, 400);
		if (c == '\\')
			return fail(why, HTTP_PERR_TRAVERSAL, 400);
	}
	for (size_t s = 0; s < n;) {
		size_t e = s + 1;
		while (e < n && p[e] != '/')
			e++;
		size_t seg = e - s - 1;     /* p[s] is '/' */
		if ((seg == 1 && p[s + 1] == '.') || (seg == 2 && p[s + 1] == '.' && p[s + 2] == '.'))
			return fail(why, HTTP_PERR_TRAVERSAL, 400);
		s = e;
	}
	return 0;
}

/* origin-form, or absolute-form with an http(s) scheme (RFC 9112 §3.2.1, §3.2.2). */
static int parse_target(char *t, size_t n, struct http_request *req, enum http_perr *why)
{
	size_t start;
	if (t[0] == '/') {
		start = 0;
	} else {
		size_t s = n >= 7 && ieq(t, 7, "http://") ? 7 : n >= 8 && ieq(t, 8, "https://") ? 8 : 0;
		if (!s)
			return fail(why, HTTP_PERR_TARGET, 400);
		size_t a = s;
		while (a < n && t[a] != '/' && t[a] != '?')
			a++;
		if (!valid_host(t + s, a - s, true))
			return fail(why, HTTP_PERR_TARGET, 400);
		start = a;
	}
	const char *q = memchr(t + start, '?', n - start);
	size_t pend = q ? (size_t)(q - t) : n;
	if (q) {
		req->query = q + 1;
		req->query_len = n - pend - 1;
		if (!valid_uri_chars(req->query, req->query_len, true))
			return fail(why, HTTP_PERR_TARGET, 400);
	}
	if (pend == start) {            /* absolute-form without a path */
		req->path = "/";
		req->path_len = 1;
		return 0;
	}
	if (!valid_uri_chars(t + start, pend - start, false))
		return fail(why, HTTP_PERR_TARGET, 400);
	req->path = t + start;
	req->path_len = decode_in_place(t + start, pend - start);
	return check_decoded(req->path, req->path_len, why);
}

/* ---- the head --------------------------------------------------------------------- */

int http_parse_head(char *buf, size_t len, const struct http_limits *lim,
		    struct http_request *req, enum http_perr *why)
{
	struct fields f = { 0 };
	char *target;
	size_t tlen;
	int major = 1, st;

	memset(req, 0, sizeof(*req));
	req->minor = 1;
	*why = HTTP_PERR_NONE;
	if (len > lim->max_head)
		return fail(why, HTTP_PERR_HEAD_TOO_LARGE, 431);

	char *lf = memchr(buf, '\n', len);
	if (!lf)
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);
	size_t n = (size_t)(lf - buf);
	st = line_lengths(buf, n, true, lim, why);
	if (st)
		return st;
	if (buf[n - 1] != '\r')
		return fail(why, HTTP_PERR_REQUEST_LINE, 400);  /* bare LF (§2.2: we do not accept it) */
	st = parse_request_line(buf, n - 1, req, &target, &tlen, &major, why);
	if (st)
		return st;

	size_t pos = n + 1;
	for (;;) {
		char *l = buf + pos;
		lf = memchr(l, '\n', len - pos);
		if (!lf || lf == l || lf[-1] != '\r')
			return fail(why, HTTP_PERR_FIELD, 400);
		size_t ln = (size_t)(lf - l) - 1;
		pos += ln + 2;
		if (ln == 0)
			break;
		st = parse_field(l, ln, req, &f, why);
		if (st)
			return st;
	}
	if (pos != len)
		return fail(why, HTTP_PERR_FIELD, 400);

	if (major != 1)
		return fail(why, HTTP_PERR_VERSION, 505);
	req->keep_alive = !f.conn_close && (req->minor == 1 || f.conn_keep_alive);
	if (f.host_count > 1 || f.host_bad)
		return fail(why, HTTP_PERR_HOST, 400);
	if (f.cl_bad)
		return fail(why, HTTP_PERR_CONTENT_LENGTH, 400);
	if (req->has_transfer_encoding && (req->has_content_length || req->minor == 0))
		return fail(why, HTTP_PERR_TRANSFER_ENCODING, 400);  /* RFC 9112 §6.1, §6.3 */
	if (f.te_unknown)
		return fail(why, HTTP_PERR_TRANSFER_ENCODING, 501);  /* §6.1: whatever the method */
	if (req->method == HTTP_M_UNKNOWN)
		return fail(why, HTTP_PERR_METHOD, 501);
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD)
		return 405;
	if (req->minor == 1 && !req->has_host)
		return fail(why, HTTP_PERR_HOST, 400);
	st = parse_target(target, tlen, req, why);
	if (st)
		return st;
	if (req->has_transfer_encoding)
		return fail(why, HTTP_PERR_TRANSFER_ENCODING, 501);
	if (req->has_content_length && req->content_length > 0)
		return fail(why, HTTP_PERR_BODY, req->content_length > HTTP_BODY_LARGE ? 413 : 400);
	if (f.range_count > 1)
		req->range.kind = HTTP_RANGE_NONE;
	return 0;
}

int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *off, uint64_t *len)
{
	switch (r->kind) {
	case HTTP_RANGE_FROM_TO:
	case HTTP_RANGE_FROM:
		if (r->first >= size)
			return 416;
		*off = r->first;
		*len = (r->kind == HTTP_RANGE_FROM || r->last >= size ? size - 1 : r->last) - r->first + 1;
		return 206;
	case HTTP_RANGE_SUFFIX:
		if (r->last == 0 || size == 0)
			return 416;
		*len = r->last < size ? r->last : size;
		*off = size - *len;
		return 206;
	case HTTP_RANGE_NONE:
		break;
	}
	*off = 0;
	*len = size;
	return 200;
}
