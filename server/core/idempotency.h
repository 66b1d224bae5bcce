/* idempotency.h: creations that survive a dead connection (issue 17). A phone that sent a
 * request and lost the answer sends it again with the same Idempotency-Key header; the server
 * answers the first answer again, byte for byte, and stores nothing twice.
 *
 * Keys are secrets like tracking tokens (the first answer holds the token): the store keeps
 * only key_id = HMAC-SHA-256(key, "helpmap idempotency id" 0 scope), and the answer sealed
 * with seal = HMAC-SHA-256(key, "helpmap idempotency seal" 0 scope): a keystream of
 * HMAC-SHA-256(seal, "stream" be32(i)) blocks XORed with the answer, followed by the tag
 * HMAC-SHA-256(seal, "tag" ciphertext). The database file alone never yields a token; the
 * record is deleted after 24 h. `scope` is "public" or "team:ID": a key belongs to the caller
 * that used it. Pure functions; thread-safe. */
#ifndef HM_IDEMPOTENCY_H
#define HM_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"
#include "policy.h"

/* A key is 16 to 128 characters from '!' to '~' (a random UUID is right). */
#define HM_IDEM_KEY_MIN 16
#define HM_IDEM_KEY_MAX 128
/* How long a first answer is kept and replayed. */
#define HM_IDEM_TTL_MS (24 * 3600 * 1000LL)

typedef struct hm_idem {
    bool on;                 /* the creation carries a key */
    uint8_t id[32];          /* stored */
    uint8_t seal[32];        /* never stored */
    uint8_t body_sha256[32]; /* of the body as sent */
} hm_idem;

/* Derive `out` from key `key` of caller `a` and the body [body, len). HM_E_INVALID_FIELD
 * (field "Idempotency-Key") for a malformed key. */
int hm_idem_init(const hm_actor *a, const char *key, const void *body, size_t len, hm_idem *out,
                 hm_error *err);

/* Seal `len` bytes of `plain` under `k`: a malloc'd blob of len + 32 bytes into *out. */
void hm_idem_seal(const hm_idem *k, const void *plain, size_t len, unsigned char **out,
                  size_t *out_len);
/* Open a sealed blob: the answer (malloc'd, NUL-terminated) into *out, its length into
 * *out_len; false when the tag does not match (another key, or a damaged record). */
bool hm_idem_open(const hm_idem *k, const unsigned char *blob, size_t len, char **out,
                  size_t *out_len);

#endif
