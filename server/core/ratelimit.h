/* ratelimit.h: token buckets keyed by a short string (client address, phone
 * number). Owns the buckets and their mutex; keys are hashed (SHA-256) so
 * no phone number stays in memory in clear. Thread-safe.
 *
 * At most `max_keys` buckets are kept (200,000 by default). A new key past it first
 * forgets the least recently used bucket (issue 11: forgetting every bucket at once gave a
 * flood of new keys a fresh start for everyone, the flooder included); a bucket that is
 * full again carries no information and goes first anyway. */
#ifndef HM_RATELIMIT_H
#define HM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hm_ratelimit hm_ratelimit;

/* `limit` events per `window_s` seconds per key; limit 0 disables. */
hm_ratelimit *hm_ratelimit_create(int limit, int window_s);
void hm_ratelimit_destroy(hm_ratelimit *rl);
/* Keep at most `max_keys` (>= 1) buckets from now on (tests). */
void hm_ratelimit_set_max_keys(hm_ratelimit *rl, size_t max_keys);
/* Take one token for `key` at `now_ms`. Returns true when allowed; when
 * refused, *retry_after_s (may be NULL) is the wait in seconds until the
 * next token. */
bool hm_ratelimit_take(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);
/* Only check, without taking. */
bool hm_ratelimit_check(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);
/* Give back one token taken for `key` (what it paid for did not happen); nothing when the
 * bucket is gone or full. */
void hm_ratelimit_give(hm_ratelimit *rl, const char *key, int64_t now_ms);
/* Buckets kept now (tests). */
size_t hm_ratelimit_count(hm_ratelimit *rl);

#endif
