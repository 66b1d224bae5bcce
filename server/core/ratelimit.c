/* ratelimit.c: token buckets in a hash table with a least-recently-used list; see ratelimit.h. */
#include "ratelimit.h"

#include "hm_buf.h"
#include "model.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 65536
#define MAX_KEYS 200000

typedef struct bucket {
    uint8_t key[16];
    double tokens;
    int64_t at_ms;
    struct bucket *next;                /* hash chain */
    struct bucket *lru_prev, *lru_next; /* most recently used first */
} bucket;

struct hm_ratelimit {
    pthread_mutex_t mu;
    int limit;
    double per_ms; /* tokens regained per millisecond */
    bucket **table;
    size_t count, max_keys;
    bucket *lru_head, *lru_tail;
};

hm_ratelimit *hm_ratelimit_create(int limit, int window_s)
{
    hm_ratelimit *rl = hm_xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->limit = limit;
    rl->per_ms = limit > 0 ? (double)limit / (window_s * 1000.0) : 0;
    rl->max_keys = MAX_KEYS;
    rl->table = hm_xcalloc(NBUCKETS, sizeof *rl->table);
    return rl;
}

void hm_ratelimit_destroy(hm_ratelimit *rl)
{
    if (!rl)
        return;
    for (bucket *b = rl->lru_head, *n; b; b = n) {
        n = b->lru_next;
        free(b);
    }
    free(rl->table);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

void hm_ratelimit_set_max_keys(hm_ratelimit *rl, size_t max_keys)
{
    pthread_mutex_lock(&rl->mu);
    rl->max_keys = max_keys ? max_keys : 1;
    pthread_mutex_unlock(&rl->mu);
}

size_t hm_ratelimit_count(hm_ratelimit *rl)
{
    size_t n;
    pthread_mutex_lock(&rl->mu);
    n = rl->count;
    pthread_mutex_unlock(&rl->mu);
    return n;
}

static size_t slot_of(const uint8_t *h)
{
    return ((size_t)h[0] << 8 | h[1]) % NBUCKETS;
}

static void lru_unlink(hm_ratelimit *rl, bucket *b)
{
    if (b->lru_prev)
        b->lru_prev->lru_next = b->lru_next;
    else
        rl->lru_head = b->lru_next;
    if (b->lru_next)
        b->lru_next->lru_prev = b->lru_prev;
    else
        rl->lru_tail = b->lru_prev;
    b->lru_prev = b->lru_next = NULL;
}

static void lru_push_front(hm_ratelimit *rl, bucket *b)
{
    b->lru_prev = NULL;
    b->lru_next = rl->lru_head;
    if (rl->lru_head)
        rl->lru_head->lru_prev = b;
    rl->lru_head = b;
    if (!rl->lru_tail)
        rl->lru_tail = b;
}

/* Forget bucket `b`. Caller holds the mutex. */
static void drop(hm_ratelimit *rl, bucket *b)
{
    bucket **pp = &rl->table[slot_of(b->key)];
    while (*pp != b)
        pp = &(*pp)->next;
    *pp = b->next;
    lru_unlink(rl, b);
    free(b);
    rl->count--;
}

/* Make room for one more bucket: the least recently used ones go, a bucket full again first
 * when the oldest few hold one (it carries no information). Caller holds the mutex. */
static void evict(hm_ratelimit *rl, int64_t now_ms)
{
    int looked = 0;
    for (bucket *b = rl->lru_tail; b && looked < 16; b = b->lru_prev, looked++)
        if (b->tokens + (now_ms - b->at_ms) * rl->per_ms >= rl->limit) {
            drop(rl, b);
            return;
        }
    if (rl->lru_tail)
        drop(rl, rl->lru_tail);
}

/* The bucket of `key`, refilled to `now_ms` and made the most recently used; created (full)
 * when `create`, else NULL when absent. Caller holds the mutex. */
static bucket *find(hm_ratelimit *rl, const char *key, int64_t now_ms, bool create)
{
    uint8_t h[32];
    bucket *b;
    size_t slot;

    hm_sha256(key, strlen(key), h);
    slot = slot_of(h);
    for (b = rl->table[slot]; b; b = b->next)
        if (memcmp(b->key, h, sizeof b->key) == 0)
            break;
    if (!b) {
        if (!create)
            return NULL;
        while (rl->count >= rl->max_keys)
            evict(rl, now_ms);
        b = hm_xcalloc(1, sizeof *b);
        memcpy(b->key, h, sizeof b->key);
        b->tokens = rl->limit;
        b->at_ms = now_ms;
        b->next = rl->table[slot];
        rl->table[slot] = b;
        rl->count++;
    } else {
        lru_unlink(rl, b);
    }
    lru_push_front(rl, b);
    if (now_ms > b->at_ms) {
        b->tokens += (now_ms - b->at_ms) * rl->per_ms;
        b->at_ms = now_ms;
    }
    if (b->tokens > rl->limit)
        b->tokens = rl->limit;
    return b;
}

static bool take(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s, bool commit)
{
    bucket *b;
    bool ok;

    if (rl->limit <= 0)
        return true;
    pthread_mutex_lock(&rl->mu);
    b = find(rl, key, now_ms, true);
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

void hm_ratelimit_give(hm_ratelimit *rl, const char *key, int64_t now_ms)
{
    bucket *b;
    if (rl->limit <= 0)
        return;
    pthread_mutex_lock(&rl->mu);
    if ((b = find(rl, key, now_ms, false)) != NULL) {
        b->tokens += 1.0;
        if (b->tokens > rl->limit)
            b->tokens = rl->limit;
    }
    pthread_mutex_unlock(&rl->mu);
}
