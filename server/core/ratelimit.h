/* ratelimit.h: token buckets keyed by a short string (client address, phone
 * number). Owns the buckets and their mutex; keys are hashed (SHA-256) so
 * no phone number stays in memory in clear. Thread-safe. */
#ifndef HM_RATELIMIT_H
#define HM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hm_ratelimit hm_ratelimit;

/* `limit` events per `window_s` seconds per key; limit 0 disables. */
hm_ratelimit *hm_ratelimit_create(int limit, int window_s);
void hm_ratelimit_destroy(hm_ratelimit *rl);
/* Take one token for `key` at `now_ms`. Returns true when allowed; when
 * refused, *retry_after_s (may be NULL) is the wait in seconds until the
 * next token. */
bool hm_ratelimit_take(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);
/* Only check, without taking. */
bool hm_ratelimit_check(hm_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);

#endif
