/*
 * printf-style formatting for the freestanding kernel; see fmt.h for what it supports.
 * One pass over the format: parse the conversion spec, then emit it through put().
 */
#include "lib/fmt.h"
#include <stdint.h>

struct spec {
	int left, zero, plus, space, alt;
	int width, prec;        /* prec < 0: none given */
	int len;                /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
	int ptr;                /* %p: "0x" even for a zero value */
};

struct out {
	fmt_put_fn put;
	void *ctx;
	int n;
};

static void emit(struct out *o, char c)
{
	o->put(c, o->ctx);
	o->n++;
}

static void pad(struct out *o, char c, int count)
{
	for (; count > 0; count--)
		emit(o, c);
}

static void emit_str(struct out *o, const struct spec *s, const char *str)
{
	if (!str)
		str = "(null)";
	int len = 0;
	/* Precision first: with one, str need not be NUL-terminated (C11 7.21.6.1). */
	while ((s->prec < 0 || len < s->prec) && str[len])
		len++;
	if (!s->left)
		pad(o, ' ', s->width - len);
	for (int i = 0; i < len; i++)
		emit(o, str[i]);
	if (s->left)
		pad(o, ' ', s->width - len);
}

/* Number emission: sign/prefix, zero padding up to precision, then width padding.
 * sign is '-', '+', ' ' or 0; only signed conversions pass one (C11 7.21.6.1p6). */
static void emit_num(struct out *o, const struct spec *s, uint64_t v, char sign, int base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	/* '#' prefixes 0x only to a nonzero value; %p always. */
	const char *prefix = (s->alt && base == 16 && (v || s->ptr)) ? (upper ? "0X" : "0x") : "";
	char tmp[24];
	int nd = 0;
	if (!(v == 0 && s->prec == 0))
		do {
			tmp[nd++] = digits[v % (unsigned)base];
			v /= (unsigned)base;
		} while (v);
	int plen = (sign ? 1 : 0) + (prefix[0] ? 2 : 0);
	int zeros = s->prec > nd ? s->prec - nd : 0;
	if (s->alt && base == 8 && zeros == 0 && (nd == 0 || tmp[nd - 1] != '0'))
		zeros = 1;
	int body = plen + zeros + nd;
	if (s->zero && !s->left && s->prec < 0 && s->width > body) {
		zeros += s->width - body;
		body = s->width;
	}
	if (!s->left)
		pad(o, ' ', s->width - body);
	if (sign)
		emit(o, sign);
	for (const char *p = prefix; *p; p++)
		emit(o, *p);
	pad(o, '0', zeros);
	while (nd)
		emit(o, tmp[--nd]);
	if (s->left)
		pad(o, ' ', s->width - body);
}

static const char *parse_spec(const char *f, struct spec *s, va_list *ap)
{
	*s = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-') s->left = 1;
		else if (*f == '0') s->zero = 1;
		else if (*f == '+') s->plus = 1;
		else if (*f == ' ') s->space = 1;
		else if (*f == '#') s->alt = 1;
		else break;
	}
	if (*f == '*') {
		s->width = va_arg(*ap, int);
		if (s->width < 0) {
			s->left = 1;
			s->width = -s->width;
		}
		f++;
	} else {
		for (; *f >= '0' && *f <= '9'; f++)
			s->width = s->width * 10 + (*f - '0');
	}
	if (*f == '.') {
		f++;
		s->prec = 0;
		if (*f == '*') {
			s->prec = va_arg(*ap, int);
			f++;
		} else {
			for (; *f >= '0' && *f <= '9'; f++)
				s->prec = s->prec * 10 + (*f - '0');
		}
	}
	if (*f == 'h') { s->len = -1; f++; if (*f == 'h') { s->len = -2; f++; } }
	else if (*f == 'l') { s->len = 1; f++; if (*f == 'l') { s->len = 2; f++; } }
	else if (*f == 'z' || *f == 't' || *f == 'j') { s->len = 3; f++; }
	return f;
}

static int64_t arg_signed(const struct spec *s, va_list *ap)
{
	switch (s->len) {
	case 1: return va_arg(*ap, long);
	case 2: return va_arg(*ap, long long);
	case 3: return (int64_t)va_arg(*ap, intptr_t);
	case -1: return (short)va_arg(*ap, int);
	case -2: return (signed char)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

static uint64_t arg_unsigned(const struct spec *s, va_list *ap)
{
	switch (s->len) {
	case 1: return va_arg(*ap, unsigned long);
	case 2: return va_arg(*ap, unsigned long long);
	case 3: return va_arg(*ap, size_t);
	case -1: return (unsigned short)va_arg(*ap, unsigned);
	case -2: return (unsigned char)va_arg(*ap, unsigned);
	default: return va_arg(*ap, unsigned);
	}
}

static void convert(struct out *o, struct spec *s, char conv, va_list *ap)
{
	switch (conv) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(s, ap);
		uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		emit_num(o, s, mag, v < 0 ? '-' : s->plus ? '+' : s->space ? ' ' : 0, 10, 0);
		break;
	}
	case 'u': emit_num(o, s, arg_unsigned(s, ap), 0, 10, 0); break;
	case 'x': emit_num(o, s, arg_unsigned(s, ap), 0, 16, 0); break;
	case 'X': emit_num(o, s, arg_unsigned(s, ap), 0, 16, 1); break;
	case 'o': emit_num(o, s, arg_unsigned(s, ap), 0, 8, 0); break;
	case 'p':
		s->alt = s->ptr = 1;
		emit_num(o, s, (uintptr_t)va_arg(*ap, void *), 0, 16, 0);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);
		if (!s->left)
			pad(o, ' ', s->width - 1);
		emit(o, c);
		if (s->left)
			pad(o, ' ', s->width - 1);
		break;
	}
	case 's': emit_str(o, s, va_arg(*ap, const char *)); break;
	case '%': emit(o, '%'); break;
	default:
		/* Unknown conversion: show it rather than guess at the argument list. */
		emit(o, '%');
		if (conv)
			emit(o, conv);
	}
}

int kvformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
	struct out o = { put, ctx, 0 };
	va_list args;
	va_copy(args, ap);
	for (const char *f = fmt; *f;) {
		if (*f != '%') {
			emit(&o, *f++);
			continue;
		}
		struct spec s;
		f = parse_spec(f + 1, &s, &args);
		char conv = *f;
		if (conv)
			f++;
		convert(&o, &s, conv, &args);
	}
	va_end(args);
	return o.n;
}

struct sbuf {
	char *buf;
	size_t cap, pos;
};

static void sbuf_put(char c, void *ctx)
{
	struct sbuf *b = ctx;
	if (b->pos + 1 < b->cap)
		b->buf[b->pos] = c;
	b->pos++;
}

int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct sbuf b = { buf, cap, 0 };
	int n = kvformat(sbuf_put, &b, fmt, ap);
	if (cap)
		buf[b.pos < cap ? b.pos : cap - 1] = 0;
	return n;
}

int ksnprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void fmt_put(struct fmt_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(b->len < b->cap ? b->buf + b->len : NULL, b->len < b->cap ? b->cap - b->len : 0,
			   fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}
