/* test_ratelimit.c: token buckets per key (core/ratelimit.h) — `limit` events per window for
 * each key, then refusals with the wait until the next token; keys are independent; tokens
 * come back with time; a limit of 0 allows everything; `check` does not take a token. Times
 * are given, not read from a clock. A token given back (what it paid for did not happen), and a
 * full table of keys that forgets the least recently used ones (issue 11). */
#include "hm_test.h"

#include "ratelimit.h"

#include <stdio.h>

static void test_limit_per_key(void)
{
    hm_ratelimit *rl = hm_ratelimit_create(3, 60);
    int retry = -1;
    const int64_t t0 = 1000000;

    for (int i = 0; i < 3; i++)
        CHECK(hm_ratelimit_take(rl, "10.0.0.1", t0, &retry));
    CHECK(!hm_ratelimit_take(rl, "10.0.0.1", t0, &retry));
    /* One token every 20 s: the next one in 20 s, rounded up. */
    CHECK(retry >= 20 && retry <= 21);
    CHECK(hm_ratelimit_take(rl, "10.0.0.2", t0, NULL)); /* another key */
    CHECK(!hm_ratelimit_check(rl, "10.0.0.1", t0 + 19000, NULL));
    CHECK(hm_ratelimit_check(rl, "10.0.0.1", t0 + 20001, NULL));
    CHECK(hm_ratelimit_check(rl, "10.0.0.1", t0 + 20001, NULL)); /* check takes nothing */
    CHECK(hm_ratelimit_take(rl, "10.0.0.1", t0 + 20001, NULL));
    CHECK(!hm_ratelimit_take(rl, "10.0.0.1", t0 + 20001, NULL));
    /* A full window later the bucket is full again, not more. */
    for (int i = 0; i < 3; i++)
        CHECK(hm_ratelimit_take(rl, "10.0.0.1", t0 + 200000, NULL));
    CHECK(!hm_ratelimit_take(rl, "10.0.0.1", t0 + 200000, NULL));
    hm_ratelimit_destroy(rl);
}

static void test_zero_is_off(void)
{
    hm_ratelimit *rl = hm_ratelimit_create(0, 60);
    for (int i = 0; i < 1000; i++)
        CHECK(hm_ratelimit_take(rl, "+84909123456", 5000, NULL));
    hm_ratelimit_destroy(rl);
}

/* Many keys (an address space sweep) do not make a known key forget its count. */
static void test_many_keys(void)
{
    hm_ratelimit *rl = hm_ratelimit_create(2, 3600);
    char key[32];
    CHECK(hm_ratelimit_take(rl, "+84909000001", 1000, NULL));
    CHECK(hm_ratelimit_take(rl, "+84909000001", 1000, NULL));
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "+8490%07d", 100000 + i);
        hm_ratelimit_take(rl, key, 1000 + i, NULL);
    }
    CHECK(!hm_ratelimit_take(rl, "+84909000001", 6000, NULL));
    hm_ratelimit_destroy(rl);
}

#define HOUR_MS (3600 * 1000LL)

/* Issue 11: what a request paid for did not happen (its batch did not commit): the token
 * comes back, once, and never beyond the limit. */
static void test_give_back(void)
{
    hm_ratelimit *rl = hm_ratelimit_create(2, 3600);
    int64_t t = 5000000;
    CHECK(hm_ratelimit_take(rl, "+84909000001", t, NULL));
    CHECK(hm_ratelimit_take(rl, "+84909000001", t, NULL));
    CHECK(!hm_ratelimit_check(rl, "+84909000001", t, NULL));
    hm_ratelimit_give(rl, "+84909000001", t);
    CHECK(hm_ratelimit_take(rl, "+84909000001", t, NULL));
    CHECK(!hm_ratelimit_take(rl, "+84909000001", t, NULL));
    hm_ratelimit_give(rl, "never-seen", t); /* nothing to give back to */
    hm_ratelimit_give(rl, "+84909000001", t);
    hm_ratelimit_give(rl, "+84909000001", t);
    hm_ratelimit_give(rl, "+84909000001", t);
    CHECK(hm_ratelimit_take(rl, "+84909000001", t, NULL));
    CHECK(hm_ratelimit_take(rl, "+84909000001", t, NULL));
    CHECK(!hm_ratelimit_take(rl, "+84909000001", t, NULL)); /* capped at the limit */
    hm_ratelimit_destroy(rl);
}

/* Issue 11 item 8: when the table of keys was full, every counter was dropped, so a flood of
 * new keys gave everyone a fresh start, the flooder's own address included. Now the least
 * recently used keys go: a client that keeps coming back stays counted. The default table
 * (200,000 keys) is filled past its end. */
static void test_issue11_08_full_table_keeps_active_counters(void)
{
    hm_ratelimit *rl = hm_ratelimit_create(3, 3600);
    const char *k = "203.0.113.66";
    char key[32];
    int64_t t = 9000000;
    int refused = 0;

    for (int i = 0; i < 3; i++)
        CHECK(hm_ratelimit_take(rl, k, t, NULL));
    for (int i = 0; i < 250000; i++) {
        snprintf(key, sizeof key, "198.18.%d.%d", i / 256, i % 256);
        hm_ratelimit_take(rl, key, t, NULL);
        if (i % 1000 == 0) /* the flooder keeps trying */
            refused += !hm_ratelimit_take(rl, k, t, NULL);
    }
    CHECK_INT_EQ(refused, 250);
    CHECK(!hm_ratelimit_take(rl, k, t, NULL));
    CHECK(hm_ratelimit_count(rl) <= 200000);
    hm_ratelimit_destroy(rl);

    /* A small table: the least recently used goes first; a bucket full again before it. */
    rl = hm_ratelimit_create(2, 3600);
    hm_ratelimit_set_max_keys(rl, 3);
    CHECK(hm_ratelimit_take(rl, "a", t, NULL));
    CHECK(hm_ratelimit_take(rl, "a", t, NULL));
    CHECK(hm_ratelimit_take(rl, "b", t, NULL));
    CHECK(hm_ratelimit_take(rl, "c", t, NULL));
    CHECK(!hm_ratelimit_check(rl, "a", t, NULL)); /* a: most recent now */
    CHECK(hm_ratelimit_take(rl, "d", t, NULL));   /* b goes */
    CHECK_INT_EQ(hm_ratelimit_count(rl), 3);
    CHECK(!hm_ratelimit_take(rl, "a", t, NULL)); /* still counted */
    hm_ratelimit_destroy(rl);
}

int main(void)
{
    test_limit_per_key();
    test_zero_is_off();
    test_many_keys();
    test_give_back();
    test_issue11_08_full_table_keeps_active_counters();
    return hm_test_done("test_ratelimit");
}
