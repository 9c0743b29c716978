/*
 * tap.h - a minimal TAP producer for the C unit tests.  Each test is a
 * function registered with TAP_TEST; tap_main() runs them all and prints
 * "ok N - name" / "not ok N - name" and the plan, which meson counts.
 *
 *   TAP_TEST(seal_roundtrip) { CHECK(x == 1); }
 *   int main(void) { return tap_main(); }
 *
 * CHECK() records a failure with file:line and goes on; REQUIRE() also ends
 * the test at once.
 */
#ifndef TENANTFS_TAP_H
#define TENANTFS_TAP_H

#include <stdio.h>
#include <stdlib.h>

typedef void (*tap_fn)(void);
struct tap_case { const char *name; tap_fn fn; };

#define TAP_MAX 256
static struct tap_case tap_cases[TAP_MAX];
static int tap_ncases;
static int tap_failed_now;

#define TAP_TEST(name)                                                   \
    static void tap_##name(void);                                        \
    __attribute__((constructor)) static void tap_reg_##name(void)        \
    {                                                                    \
        if (tap_ncases < TAP_MAX)                                        \
            tap_cases[tap_ncases++] = (struct tap_case){#name, tap_##name}; \
    }                                                                    \
    static void tap_##name(void)

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            printf("# %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            tap_failed_now = 1;                                          \
        }                                                                \
    } while (0)

#define REQUIRE(cond)                                                    \
    do {                                                                 \
        if (!(cond)) {                                                   \
            printf("# %s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            tap_failed_now = 1;                                          \
            return;                                                      \
        }                                                                \
    } while (0)

static inline int tap_main(void)
{
    int failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("1..%d\n", tap_ncases);
    for (int i = 0; i < tap_ncases; i++) {
        tap_failed_now = 0;
        tap_cases[i].fn();
        printf("%sok %d - %s\n", tap_failed_now ? "not " : "", i + 1,
               tap_cases[i].name);
        failed += tap_failed_now;
    }
    return failed ? 1 : 0;
}

#endif
