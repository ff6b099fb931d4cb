/*
 * A tiny host test harness. TEST(name) { ... } registers a test case at load time
 * (constructor), CHECK(cond) records a failure with file:line and goes on,
 * REQUIRE(cond) records and leaves the test. tests/unit/main.c runs every test and
 * prints "unit: N passed, N failed" (the line CI reads). Built with ASan + UBSan.
 */
#ifndef SKIFF_TEST_H
#define SKIFF_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *expr);
extern int test_current_failed;

#define TEST(name)                                                              \
	static void test_##name(void);                                          \
	__attribute__((constructor)) static void test_reg_##name(void)          \
	{                                                                       \
		test_register(#name, __FILE__, test_##name);                    \
	}                                                                       \
	static void test_##name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			test_fail(__FILE__, __LINE__, #cond);                   \
	} while (0)

#define REQUIRE(cond)                                                           \
	do {                                                                    \
		if (!(cond)) {                                                  \
			test_fail(__FILE__, __LINE__, #cond);                   \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);             \
		if (_a != _b) {                                                 \
			char _m[256];                                           \
			snprintf(_m, sizeof(_m), "%s == %s (%lld != %lld)", #a, #b, _a, _b); \
			test_fail(__FILE__, __LINE__, _m);                      \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *_a = (a), *_b = (b);                                \
		if (strcmp(_a, _b) != 0) {                                      \
			char _m[512];                                           \
			snprintf(_m, sizeof(_m), "%s == %s (\"%s\" != \"%s\")", #a, #b, _a, _b); \
			test_fail(__FILE__, __LINE__, _m);                      \
		}                                                               \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Runs fn(arg) and returns 1 if it called panic_at() (tests/unit/main.c catches it
 * with longjmp, so fn is cut short); the panic's message is in test_panic_msg. */
int test_expect_panic(void (*fn)(void *), void *arg);
extern char test_panic_msg[256];

#endif
