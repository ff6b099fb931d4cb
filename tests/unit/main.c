/*
 * Runs every registered host unit test. Usage: unit [substring] (only tests whose
 * name contains it). Also provides panic_at() for hardware-free kernel code: a panic
 * in a test is a failure that ends the test (longjmp back here), so tests can check
 * that broken invariants (double free) are caught.
 */
#include "tests/unit/test.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 1024

struct test_case {
	const char *name, *file;
	test_fn fn;
};

static struct test_case tests[MAX_TESTS];
static int ntests;
int test_current_failed;
static jmp_buf panic_jmp;
static int expecting_panic, panicked;
char test_panic_msg[256];

void test_register(const char *name, const char *file, test_fn fn)
{
	if (ntests < MAX_TESTS)
		tests[ntests++] = (struct test_case){ name, file, fn };
}

void test_fail(const char *file, int line, const char *expr)
{
	printf("    FAIL %s:%d: %s\n", file, line, expr);
	test_current_failed = 1;
}

/* Runs fn(arg) and returns 1 if it panicked (message in test_panic_msg). */
int test_expect_panic(void (*fn)(void *), void *arg);
int test_expect_panic(void (*fn)(void *), void *arg)
{
	expecting_panic = 1;
	panicked = 0;
	if (setjmp(panic_jmp) == 0)
		fn(arg);
	expecting_panic = 0;
	return panicked;
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(test_panic_msg, sizeof(test_panic_msg), fmt, ap);
	va_end(ap);
	if (expecting_panic) {
		panicked = 1;
		longjmp(panic_jmp, 1);
	}
	printf("    PANIC %s:%d: %s\n", file, line, test_panic_msg);
	abort();
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	/* Line-buffered even into a pipe: a failing test that leaks ends the run in
	 * LeakSanitizer's _exit, which would drop a fully buffered FAIL line. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		test_current_failed = 0;
		tests[i].fn();
		printf("%s %s (%s)\n", test_current_failed ? "FAIL" : "ok  ", tests[i].name, tests[i].file);
		if (test_current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
