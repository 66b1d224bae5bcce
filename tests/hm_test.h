/* hm_test.h: the smallest test harness. CHECK() and CHECK_STR_EQ() print
 * file:line and both values, count failures, and go on; hm_test_done()
 * prints a summary and returns the process exit status. */
#ifndef HM_TEST_H
#define HM_TEST_H

#include <stdio.h>
#include <string.h>

static int hm_test_failed;
static int hm_test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        hm_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            hm_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR_EQ(got, want)                                                                    \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        hm_test_checks++;                                                                          \
        if ((g_ == NULL) != (w_ == NULL) || (g_ && strcmp(g_, w_) != 0)) {                         \
            hm_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, #got,       \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

#define CHECK_INT_EQ(got, want)                                                                    \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        hm_test_checks++;                                                                          \
        if (g_ != w_) {                                                                            \
            hm_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: %s\n  got:  %lld\n  want: %lld\n", __FILE__, __LINE__, #got,   \
                    g_, w_);                                                                       \
        }                                                                                          \
    } while (0)

static inline int hm_test_done(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, hm_test_checks, hm_test_failed);
    return hm_test_failed ? 1 : 0;
}

#endif
