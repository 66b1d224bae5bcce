#include "ratelimit.h"

#include "hm_buf.h"
#include "model.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096
#define MAX_KEYS 200000

typedef struct bucket {
    uint8_t key[16];
    double tokens;
    int64_t at_ms;
    struct bucket *next;
} bucket;

struct hm_ratelimit {
    pthread_mutex_t mu;
    int limit;
    double per_ms; /* tokens regained per millisecond */
    bucket *table[NBUCKETS];
    size_t count;
};

hm_ratelimit *hm_ratelimit_create(int limit, int window_s)
{
    hm_ratelimit *rl = hm_xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->limit = limit;
    rl->per_ms = limit > 0 ? (double)limit / (window_s * 1000.0) : 0;
    return rl;
}

static void drop_all(hm_ratelimit *rl)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        bucket *b = rl->table[i];
        while (b) {
            bucket *n = b->next;
            free(b);
            b = n;
        }
        rl->table[i] = NULL;
    }
    rl->count = 0;
}

void hm_ratelimit_destroy(hm_ratelimit *rl)
{
    if (!rl)
        return;
    drop_all(rl);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* Drop buckets that are full again (they carry no information). */
static void sweep(hm_ratelimit *rl, int64_t now_ms)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        bucket **pp = &rl->table[i];
        while (*pp) {
            bucket *b = *pp;
            if (b->tokens + (now_ms - b->at_ms) * rl->per_ms >= rl->limit) {
                *pp = b->next;
                free(b);
                rl->count--;
            } else {
                pp = &b->next;
            }
        }
    }
}

static bool take(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s, bool commit)
{
    uint8_t h[32];
    bucket *b;
    bool ok;
    size_t slot;

    if (rl->limit <= 0)
        return true;
    hm_sha256(key, strlen(key), h);
    slot = ((size_t)h[0] << 8 | h[1]) % NBUCKETS;
    pthread_mutex_lock(&rl->mu);
    for (b = rl->table[slot]; b; b = b->next)
        if (memcmp(b->key, h, sizeof b->key) == 0)
            break;
    if (!b) {
        if (rl->count >= MAX_KEYS)
            sweep(rl, now_ms);
        if (rl->count >= MAX_KEYS)
            drop_all(rl); /* under a flood, forget rather than grow */
        b = hm_xcalloc(1, sizeof *b);
        memcpy(b->key, h, sizeof b->key);
        b->tokens = rl->limit;
        b->at_ms = now_ms;
        b->next = rl->table[slot];
        rl->table[slot] = b;
        rl->count++;
    }
    b->tokens += (now_ms - b->at_ms) * rl->per_ms;
    if (b->tokens > rl->limit)
        b->tokens = rl->limit;
    b->at_ms = now_ms;
    ok = b->tokens >= 1.0;
    if (ok && commit)
        b->tokens -= 1.0;
    if (!ok && retry_after_s) {
        double wait_ms = (1.0 - b->tokens) / rl->per_ms;
        *retry_after_s = (int)(wait_ms / 1000.0) + 1;
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

bool hm_ratelimit_take(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
    return take(rl, key, now_ms, retry_after_s, true);
}

bool hm_ratelimit_check(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
    return take(rl, key, now_ms, retry_after_s, false);
}
