/*
 * HTTP/1.1 request heads, bytes only (RFC 9112 message syntax, RFC 9110 semantics).
 * No allocation, no copies: every string in struct http_request is a view into the
 * caller's buffer, and the path is percent-decoded in place (decoding never grows).
 *
 * Call order: the connection (net/http_server.c) buffers request bytes and calls
 * http_head_scan() after each arrival until it says DONE (or an error status); then
 * http_parse_head() on exactly that head; then http_range_resolve() once it knows the
 * size of what the target names. Leading empty lines (RFC 9112 §2.2) are the caller's.
 *
 * Strict by design (docs/hardening.md mistake 9): every line ends in CRLF (bare LF or CR:
 * 400); one SP between request-line parts; no whitespace before a field's colon and
 * no obs-fold (§5.1, §5.2: 400); Host exactly once in 1.1 and never twice (§3.2: 400);
 * Content-Length is digits only, without overflow, and repeated values must agree
 * (RFC 9110 §8.6); Transfer-Encoding is refused (§6.1: with Content-Length or in 1.0
 * 400, else 501: we take no request bodies); dot segments and NUL/CTL bytes in the
 * decoded path are 400.
 *
 * Checks run in a fixed order so a head gives the same answer however its bytes were
 * split: the length checks on the request line first (they are decidable on a prefix,
 * and http_head_scan() applies them early), then the syntax of every line, then
 * version (505), Host repeated/invalid, Content-Length, Transfer-Encoding with
 * Content-Length or in 1.0, method (501, 405), Host missing, target, Transfer-Encoding
 * (501), request body (400/413).
 */
#ifndef SKIFF_NET_HTTP_PARSE_H
#define SKIFF_NET_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX 8192      /* request line + fields + empty line: over this, 431 */
#define HTTP_TARGET_MAX 2048    /* request-target: over this, 414 */
#define HTTP_METHOD_MAX 24      /* longer method tokens are refused with 400 */
#define HTTP_LINE_SLACK 64      /* request line beyond the target: method, 2 SP, version */
#define HTTP_BODY_LARGE 65536   /* body on GET/HEAD: Content-Length above this is 413 */

/* RFC 9110 §9 methods plus PATCH (RFC 5789); only GET and HEAD are served. */
enum http_method {
	HTTP_M_UNKNOWN,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_CONNECT,
	HTTP_M_OPTIONS,
	HTTP_M_TRACE,
	HTTP_M_PATCH,
};

/* Why a head was refused; one counter each (skiff_http_parse_errors_total{reason}). */
enum http_perr {
	HTTP_PERR_NONE,
	HTTP_PERR_REQUEST_LINE,         /* 400: request-line syntax, bare CR/LF */
	HTTP_PERR_TARGET_TOO_LONG,      /* 414 */
	HTTP_PERR_HEAD_TOO_LARGE,       /* 431 */
	HTTP_PERR_VERSION,              /* 505: HTTP major version other than 1 */
	HTTP_PERR_FIELD,                /* 400: field syntax, whitespace before colon */
	HTTP_PERR_OBS_FOLD,             /* 400: line folding or whitespace after start-line */
	HTTP_PERR_METHOD,               /* 501: unknown method */
	HTTP_PERR_HOST,                 /* 400: Host missing (1.1), repeated or invalid */
	HTTP_PERR_TARGET,               /* 400: not origin/absolute form, bad %-escape, NUL/CTL */
	HTTP_PERR_TRAVERSAL,            /* 400: "." or ".." segment after decoding */
	HTTP_PERR_CONTENT_LENGTH,       /* 400: invalid, overflowing or disagreeing values */
	HTTP_PERR_TRANSFER_ENCODING,    /* 400 with Content-Length or in 1.0, else 501 */
	HTTP_PERR_BODY,                 /* 400/413: a body on GET or HEAD */
	HTTP_PERR_COUNT
};

/* Metric label value for each reason ("request_line", ...). */
const char *http_perr_name(enum http_perr why);

struct http_limits {
	uint32_t max_head;      /* <= HTTP_HEAD_MAX */
	uint32_t max_target;    /* <= max_head - HTTP_LINE_SLACK */
};

/* One byte-range-spec (RFC 9110 §14.1.1), unresolved. NONE when there was no Range
 * field, or it is to be ignored: another unit, several ranges (we may send 200 for
 * those, §14.2), bad syntax, the field repeated. */
enum http_range_kind { HTTP_RANGE_NONE, HTTP_RANGE_FROM_TO, HTTP_RANGE_FROM, HTTP_RANGE_SUFFIX };
struct http_range {
	enum http_range_kind kind;
	uint64_t first;         /* FROM_TO, FROM: first-pos */
	uint64_t last;          /* FROM_TO: last-pos; SUFFIX: suffix-length (saturating) */
};

struct http_request {
	enum http_method method;
	const char *method_str;         /* the token as sent */
	size_t method_len;
	uint8_t minor;                  /* HTTP/1.minor; 1.2 and later count as 1.1 */
	bool keep_alive;                /* persistence after RFC 9112 §9.3 */
	const char *path;               /* decoded path, starts with '/' */
	size_t path_len;
	const char *query;              /* raw query after '?', not decoded; may be empty */
	size_t query_len;
	const char *host;               /* Host field value (validated) */
	size_t host_len;
	bool has_host;
	bool has_content_length;
	uint64_t content_length;
	bool has_transfer_encoding;
	bool if_range;                  /* If-Range present: we have no validators, so Range is ignored */
	struct http_range range;
};

/* Progress of http_head_scan() over a growing buffer; zero it for every new head. */
struct http_scan {
	uint32_t pos;           /* bytes already searched for the end of the head */
	uint32_t line;          /* request line length with its LF; 0 until the LF is seen */
};

#define HTTP_HEAD_MORE 0        /* need more bytes */
#define HTTP_HEAD_DONE 1        /* *head_len bytes form a complete head */

/* Looks for the empty line ending the head in buf[0..len). Returns HTTP_HEAD_MORE,
 * HTTP_HEAD_DONE with *head_len, or an error status (400, 414, 431) with *why as soon
 * as the bytes so far decide it (the request-line length checks, then the head size).
 * The head's first byte must be the request line's (skip empty lines before). */
int http_head_scan(const char *buf, size_t len, struct http_scan *scan,
		   const struct http_limits *lim, size_t *head_len, enum http_perr *why);

/* Parses a complete head (as found by http_head_scan). Returns 0 with *req filled, or
 * an HTTP status: 400, 405 (known method other than GET/HEAD: *why is NONE), 413,
 * 414, 431, 501, 505 with *why. On error, req->method, ->minor and ->keep_alive are
 * valid when the parser got that far (method UNKNOWN, minor 1, keep_alive false if
 * not). Decodes the path in place, so buf is modified; views in req point into buf. */
int http_parse_head(char *buf, size_t len, const struct http_limits *lim,
		    struct http_request *req, enum http_perr *why);

/* Applies a range to a representation of size bytes (RFC 9110 §14.1.2, §15.3.7,
 * §15.5.17). Returns 200 (NONE: *off = 0, *len = size), 206 (*off, *len selected),
 * or 416 (no byte of it exists). */
int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *off, uint64_t *len);

#endif
