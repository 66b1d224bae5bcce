/* test_ratelimit.c: token buckets per key (core/ratelimit.h) — `limit` events per window for
 * each key, then refusals with the wait until the next token; keys are independent; tokens
 * come back with time; a limit of 0 allows everything; `check` does not take a token. Times
 * are given, not read from a clock. */
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

int main(void)
{
    test_limit_per_key();
    test_zero_is_off();
    test_many_keys();
    return hm_test_done("test_ratelimit");
}
