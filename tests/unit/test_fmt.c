/*
 * lib/fmt.c against the C library: every format in the tables below is run through
 * both ksnprintf and the host's vsnprintf with the same arguments and must give the same
 * bytes and the same return value. Formats come from tables, not literals, so they go
 * through one varargs helper. Only behaviour the C standard defines is compared, plus
 * glibc's "(null)" for a NULL %s without a precision, which the kernel copies; the
 * kernel's own choices (%p of NULL, unknown conversions) are checked on their own.
 */
#include "tests/unit/test.h"
#include "lib/fmt.h"
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Formats with both implementations; on a mismatch records a failure showing both. */
static int same_at(const char *file, int line, const char *fmt, ...)
{
	char want[512], got[512];
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	memset(got, 0x7f, sizeof(got));
	int wn = vsnprintf(want, sizeof(want), fmt, ap);
	int gn = kvsnprintf(got, sizeof(got), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (wn >= 0 && wn < (int)sizeof(want) && wn == gn && memcmp(want, got, (size_t)wn + 1) == 0)
		return 1;
	char msg[1300];
	snprintf(msg, sizeof(msg), "format \"%s\": libc \"%.500s\" (%d), kernel \"%.500s\" (%d)",
		 fmt, want, wn, got, gn);
	test_fail(file, line, msg);
	return 0;
}
#define SAME(...) same_at(__FILE__, __LINE__, __VA_ARGS__)

/* ksnprintf without the format attribute, for formats gcc would reject at compile time. */
static int kfmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static const int int_vals[] = {
	0, 1, -1, 7, -7, 42, -42, 127, 128, -128, -129, 200, 255, 256, 4095, 65535, 70000,
	-70000, 123456, -123456, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1,
};

/* int-sized conversions: signed, unsigned (an int passed for %u/%x/%o has the same
 * representation), and the hh/h modifiers that narrow the promoted argument. */
static const char *const int_fmts[] = {
	"%d", "%i", "%u", "%x", "%X", "%o",
	"%5d", "%-5d", "%05d", "%+d", "% d", "%+5d", "%-+5d", "%+05d", "% 05d", "%- 5d",
	"%+ d", "%0-5d", "%1d", "%12d", "%-12d|", "%012d", "%+012d", "%-012d|",
	"%.0d", "%.1d", "%.3d", "%.12d", "%8.3d", "%-8.3d|", "%08.3d", "%+.3d", "% .3d",
	"%+.0d", "% .0d", "%5.0d", "%-5.0d|", "%.0i", "%.0u", "%.0x", "%.0o",
	"%#x", "%#X", "%#o", "%#8x", "%#08x", "%#-8x|", "%#.0x", "%#.0o", "%#.3o", "%#5o",
	"%#.8x", "%#12.8X", "%#012o", "%#.1o", "%08X", "%-8o|", "%.5u", "%010u",
	"%+u", "% u", "%+x", "% X", "%+o", "% o", "%+#x", "%+ 8u",
	"%hhd", "%hhi", "%hhu", "%hhx", "%hhX", "%hho", "%#hhx", "%5hhd", "%.4hhd", "%+hhd",
	"%hd", "%hi", "%hu", "%hx", "%hX", "%ho", "%#hx", "%-8hd|", "%08hu",
	"x=%d!", "%d%d", "%%%d%%",
};

TEST(fmt_int_table)
{
	for (size_t f = 0; f < N(int_fmts); f++)
		for (size_t v = 0; v < N(int_vals); v++) {
			if (!strcmp(int_fmts[f], "%d%d"))
				SAME(int_fmts[f], int_vals[v], int_vals[N(int_vals) - 1 - v]);
			else
				SAME(int_fmts[f], int_vals[v]);
		}
}

static const long long ll_vals[] = {
	0, 1, -1, 4096, -4096, INT_MAX, INT_MIN, (long long)INT_MAX + 1, (long long)INT_MIN - 1,
	UINT_MAX, 1234567890123LL, -1234567890123LL, 0x7f00000000LL, LLONG_MAX, LLONG_MIN,
	LLONG_MAX - 1, LLONG_MIN + 1,
};

static const char *const l_fmts[] = {
	"%ld", "%li", "%lu", "%lx", "%lX", "%lo", "%#lx", "%#lo", "%20ld", "%-20ld|",
	"%020ld", "%+ld", "% ld", "%.25ld", "%+.25ld", "%25.20ld", "%#.20lx", "%-#30lX|",
	"%+lu", "% lx",
};

static const char *const ll_fmts[] = {
	"%lld", "%lli", "%llu", "%llx", "%llX", "%llo", "%#llx", "%#llo", "%25lld", "%-25lld|",
	"%025lld", "%+lld", "% lld", "%.22lld", "%.0lld", "%#.0llx", "%026llo", "%#30llX",
};

TEST(fmt_long_table)
{
	for (size_t f = 0; f < N(l_fmts); f++)
		for (size_t v = 0; v < N(ll_vals); v++)
			SAME(l_fmts[f], (long)ll_vals[v]);
	for (size_t f = 0; f < N(ll_fmts); f++)
		for (size_t v = 0; v < N(ll_vals); v++)
			SAME(ll_fmts[f], ll_vals[v]);
	/* The unsigned extremes, where a signed detour would show. */
	SAME("%lu %lx %lo", ULONG_MAX, ULONG_MAX, ULONG_MAX);
	SAME("%llu %llX %llo", ULLONG_MAX, ULLONG_MAX, ULLONG_MAX);
	SAME("%llu %llx", 1ULL << 63, 1ULL << 63);
	SAME("%u %x %o %X", UINT_MAX, UINT_MAX, UINT_MAX, 0x80000000u);
	SAME("%hhu %hu", (unsigned)UCHAR_MAX + 2, (unsigned)USHRT_MAX + 2);
}

TEST(fmt_size_ptrdiff_intmax)
{
	static const size_t sz[] = { 0, 1, 4096, UINT_MAX, (size_t)UINT_MAX + 1, SIZE_MAX, SIZE_MAX / 2 };
	static const ptrdiff_t pd[] = { 0, 1, -1, PTRDIFF_MAX, PTRDIFF_MIN, -4096 };
	static const char *const zf[] = { "%zu", "%zx", "%zX", "%zo", "%#zx", "%20zu", "%-20zu|", "%.22zu" };
	static const char *const tf[] = { "%td", "%ti", "%+td", "%25td", "%.21td", "%zd", "%zi", "%-+22zd|" };
	static const char *const jf[] = { "%jd", "%ji", "%+jd", "%025jd" };
	for (size_t f = 0; f < N(zf); f++)
		for (size_t v = 0; v < N(sz); v++)
			SAME(zf[f], sz[v]);
	/* %zd takes the signed type of size_t's width; on LP64 that is ptrdiff_t's. */
	_Static_assert(sizeof(ptrdiff_t) == sizeof(size_t), "LP64 host");
	for (size_t f = 0; f < N(tf); f++)
		for (size_t v = 0; v < N(pd); v++)
			SAME(tf[f], pd[v]);
	for (size_t f = 0; f < N(jf); f++)
		for (size_t v = 0; v < N(pd); v++)
			SAME(jf[f], (intmax_t)pd[v]);
	SAME("%jd %jd", (intmax_t)INTMAX_MAX, (intmax_t)INTMAX_MIN);
	SAME("%ju %jx", (uintmax_t)UINTMAX_MAX, (uintmax_t)UINTMAX_MAX);
	SAME("%tu %tx", (size_t)PTRDIFF_MAX + 1, (size_t)-1);
}

TEST(fmt_strings)
{
	char longest[201];
	memset(longest, 'L', 200);
	longest[200] = 0;
	const char *vals[] = { "", "a", "abc", "hello, world", "tab\there", longest };
	static const char *const fmts[] = {
		"%s", "[%s]", "%1s", "%10s", "%-10s|", "%.0s", "%.1s", "%.3s", "%10.3s", "%-10.3s|",
		"%.50s", "%3.50s", "%-3s|", "%250s", "%.199s", "%.0s%s",
	};
	for (size_t f = 0; f < N(fmts); f++)
		for (size_t v = 0; v < N(vals); v++) {
			if (!strcmp(fmts[f], "%.0s%s"))
				SAME(fmts[f], vals[v], vals[N(vals) - 1 - v]);
			else
				SAME(fmts[f], vals[v]);
		}
	/* NULL is undefined in C; the kernel and glibc both print "(null)" when the
	 * precision does not cut it (glibc then prints nothing, the kernel a prefix). */
	const char *null = NULL;
	SAME("%s", null);
	SAME("[%10s]", null);
	SAME("[%-10s]", null);
	SAME("[%.6s]", null);
	SAME("[%.20s]", null);
}

/* With a precision the argument need not be NUL-terminated (C11 7.21.6.1p8): the
 * formatter must not read past prec bytes. ASan watches the byte after the array. */
TEST(fmt_precision_string_not_terminated)
{
	char *abc = malloc(3);
	REQUIRE(abc);
	memcpy(abc, "abc", 3);
	char buf[16];
	CHECK_EQ(ksnprintf(buf, sizeof(buf), "%.3s", abc), 3);
	CHECK_STR(buf, "abc");
	CHECK_EQ(ksnprintf(buf, sizeof(buf), "[%5.2s]", abc), 7);
	CHECK_STR(buf, "[   ab]");
	CHECK_EQ(ksnprintf(buf, sizeof(buf), "%.*s|", 3, abc), 4);
	CHECK_STR(buf, "abc|");
	free(abc);
}

TEST(fmt_chars_and_percent)
{
	static const int chars[] = { 'A', 'z', ' ', '%', '~', 0x7f, 0xe9 };
	static const char *const fmts[] = { "%c", "[%3c]", "[%-3c]", "%c%c", "[%1c]", "%%%c%%" };
	for (size_t f = 0; f < N(fmts); f++)
		for (size_t v = 0; v < N(chars); v++)
			SAME(fmts[f], chars[v], chars[N(chars) - 1 - v]);
	SAME("100%%");
	SAME("%%");
	SAME("%%%%|%%d");
	SAME("");
	SAME("no conversions at all");
	/* A NUL from %c is output like any other byte. */
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(ksnprintf(buf, sizeof(buf), "a%cb", 0), 3);
	CHECK_MEM(buf, "a\0b\0", 4);
}

TEST(fmt_star_width_precision)
{
	static const int widths[] = { -12, -5, -1, 0, 1, 5, 12 };
	static const int precs[] = { -3, -1, 0, 1, 4, 10 };
	static const int vals[] = { 0, 7, -7, 12345, INT_MIN, INT_MAX };
	for (size_t w = 0; w < N(widths); w++)
		for (size_t v = 0; v < N(vals); v++) {
			SAME("[%*d]", widths[w], vals[v]);
			SAME("[%-*d]", widths[w], vals[v]);
			SAME("[%0*d]", widths[w], vals[v]);
			SAME("[%+*x]", widths[w], (unsigned)vals[v]);
			SAME("[%*s]", widths[w], "str");
			SAME("[%*c]", widths[w], 'c');
		}
	for (size_t p = 0; p < N(precs); p++)
		for (size_t v = 0; v < N(vals); v++) {
			SAME("[%.*d]", precs[p], vals[v]);
			SAME("[%08.*d]", precs[p], vals[v]);   /* a negative precision is "none": '0' applies */
			SAME("[%#.*o]", precs[p], (unsigned)vals[v]);
			SAME("[%#.*x]", precs[p], (unsigned)vals[v]);
			SAME("[%.*s]", precs[p], "string");
		}
	for (size_t w = 0; w < N(widths); w++)
		for (size_t p = 0; p < N(precs); p++) {
			SAME("[%*.*d]", widths[w], precs[p], -42);
			SAME("[%-*.*s]", widths[w], precs[p], "hello");
			SAME("[%*.*lld]", widths[w], precs[p], LLONG_MIN);
		}
	/* '*' arguments are consumed in order with the others. */
	SAME("%d %*d %.*s %d", 1, 6, 2, 3, "xyz", 4);
}

TEST(fmt_pointers)
{
	int x;
	void *ptrs[] = { &x, (void *)(uintptr_t)0x1234, (void *)UINTPTR_MAX, (void *)(uintptr_t)1 };
	for (size_t i = 0; i < N(ptrs); i++) {
		SAME("%p", ptrs[i]);
		SAME("[%24p]", ptrs[i]);
		SAME("[%-24p]", ptrs[i]);
	}
	/* glibc prints "(nil)"; the kernel keeps the number form for NULL. */
	char buf[32];
	CHECK_EQ(ksnprintf(buf, sizeof(buf), "%p", (void *)0), 3);
	CHECK_STR(buf, "0x0");
}

TEST(fmt_mixed)
{
	SAME("a%db%sc%5xd%%e%c", 1, "two", 3u, 'f');
	SAME("%d %ld %lld %zu %s %c %x %hhd %hu", -1, -2L, -3LL, (size_t)4, "five", '6', 7u, 300, 70000);
	SAME("[%-6s|%6s|%06d|%-6d|%+.2d]", "ab", "cd", -5, 5, 3);
	SAME("%s=%#x (%u bytes) at %s:%d", "rxctl", 0x8002u, 4096u, "e1000.c", 123);
	SAME("%lld%lld%lld", LLONG_MIN, 0LL, LLONG_MAX);
	SAME("%5.3s|%-5.3s|%.3d|%5.3d", "abcdef", "abcdef", 7, 7);
}

/* The kernel's own choices for formats C leaves undefined: show, don't crash. */
TEST(fmt_unknown_conversions)
{
	char buf[32];
	CHECK_EQ(kfmt(buf, sizeof(buf), "a%yb"), 4);
	CHECK_STR(buf, "a%yb");
	CHECK_EQ(kfmt(buf, sizeof(buf), "end%"), 4);
	CHECK_STR(buf, "end%");
	CHECK_EQ(kfmt(buf, sizeof(buf), "%5"), 1);
	CHECK_STR(buf, "%");
}

TEST(fmt_truncation)
{
	const char *want = "hello-12345";  /* 11 characters */
	for (size_t cap = 0; cap <= 16; cap++) {
		char got[20], ref[20];
		memset(got, 0x7f, sizeof(got));
		memset(ref, 0x7f, sizeof(ref));
		int gn = ksnprintf(got, cap, "%s-%d", "hello", 12345);
		int rn = snprintf(ref, cap, "%s-%d", "hello", 12345);
		CHECK_EQ(gn, 11);
		CHECK_EQ(rn, 11);
		CHECK_MEM(got, ref, sizeof(got));  /* same bytes, nothing written past cap */
		if (cap > 0) {
			size_t keep = cap - 1 < 11 ? cap - 1 : 11;
			CHECK_EQ(strlen(got), keep);
			CHECK(memcmp(got, want, keep) == 0);
		}
		for (size_t i = cap; i < sizeof(got); i++)
			CHECK_EQ((unsigned char)got[i], 0x7f);
	}
	/* cap 0: buf is not touched, so it may be NULL; the length is still counted. */
	CHECK_EQ(ksnprintf(NULL, 0, "%s-%d", "hello", 12345), 11);
	CHECK_EQ(kfmt(NULL, 0, ""), 0);
	char b[4] = "zzz";
	CHECK_EQ(ksnprintf(b, 1, "abc"), 3);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[1], 'z');
	char fit[12];
	CHECK_EQ(ksnprintf(fit, sizeof(fit), "%s", "hello-world"), 11);  /* exact fit */
	CHECK_STR(fit, "hello-world");
	CHECK_EQ(ksnprintf(fit, 11, "%s", "hello-world"), 11);            /* one short */
	CHECK_STR(fit, "hello-worl");
	/* Truncation inside padding, precision zeros and a prefix. */
	char s[6];
	CHECK_EQ(ksnprintf(s, sizeof(s), "%20d", 7), 20);
	CHECK_STR(s, "     ");
	CHECK_EQ(ksnprintf(s, sizeof(s), "%#.10x", 0xabu), 12);
	CHECK_STR(s, "0x000");
	CHECK_EQ(ksnprintf(s, sizeof(s), "%-10s|", "ab"), 11);
	CHECK_STR(s, "ab   ");
	/* Far more output than any buffer the formatter could keep internally. */
	CHECK_EQ(ksnprintf(s, sizeof(s), "%1000d%-1000s", 1, "x"), 2000);
	CHECK_STR(s, "     ");
	CHECK_EQ(ksnprintf(NULL, 0, "%.300llu", 1ULL), 300);
}

struct counter {
	size_t n;
	char seen[64];
};

static void count_put(char c, void *ctx)
{
	struct counter *k = ctx;
	if (k->n < sizeof(k->seen))
		k->seen[k->n] = c;
	k->n++;
}

static int count_format(struct counter *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvformat(count_put, k, fmt, ap);
	va_end(ap);
	return n;
}

/* kvformat streams every character once and reports the same count. */
TEST(fmt_kvformat_stream)
{
	struct counter k = { 0, { 0 } };
	int n = count_format(&k, "%s:%04d%c", "id", 42, '!');
	CHECK_EQ(n, 8);
	CHECK_EQ(k.n, 8);
	CHECK_MEM(k.seen, "id:0042!", 8);
	k.n = 0;
	CHECK_EQ(count_format(&k, ""), 0);
	CHECK_EQ(k.n, 0);
}
