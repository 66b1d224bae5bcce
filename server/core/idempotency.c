/* idempotency.c: keys, sealing and opening of first answers; see idempotency.h. */
#include "idempotency.h"

#include "hm_buf.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void derive(const char *key, const char *label, const char *scope, uint8_t out[32])
{
    hm_buf b;
    hm_buf_init(&b);
    hm_buf_puts(&b, label);
    hm_buf_putc(&b, '\0');
    hm_buf_puts(&b, scope);
    hm_hmac_sha256(key, strlen(key), b.data, b.len, out);
    hm_buf_clear(&b);
}

int hm_idem_init(const hm_actor *a, const char *key, const void *body, size_t len, hm_idem *out,
                 hm_error *err)
{
    size_t n = key ? strlen(key) : 0;
    char scope[40];

    memset(out, 0, sizeof *out);
    if (n < HM_IDEM_KEY_MIN || n > HM_IDEM_KEY_MAX)
        return hm_error_set(err, HM_E_INVALID_FIELD, "Idempotency-Key",
                            "Idempotency-Key must be %d to %d characters (a random UUID)",
                            HM_IDEM_KEY_MIN, HM_IDEM_KEY_MAX);
    for (size_t i = 0; i < n; i++)
        if (key[i] < '!' || key[i] > '~')
            return hm_error_set(err, HM_E_INVALID_FIELD, "Idempotency-Key",
                                "Idempotency-Key must be printable ASCII without spaces");
    if (a->role > HM_ROLE_PUBLIC)
        snprintf(scope, sizeof scope, "team:%lld", (long long)a->team.id);
    else
        snprintf(scope, sizeof scope, "public");
    derive(key, "helpmap idempotency id", scope, out->id);
    derive(key, "helpmap idempotency seal", scope, out->seal);
    hm_sha256(body ? body : "", len, out->body_sha256);
    out->on = true;
    return HM_OK;
}

/* XOR `len` bytes of `in` with the keystream of `seal` into `out`. */
static void stream(const uint8_t seal[32], const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char msg[10] = {'s', 't', 'r', 'e', 'a', 'm'};
    uint8_t block[32];
    for (size_t off = 0, i = 0; off < len; off += 32, i++) {
        msg[6] = (unsigned char)(i >> 24);
        msg[7] = (unsigned char)(i >> 16);
        msg[8] = (unsigned char)(i >> 8);
        msg[9] = (unsigned char)i;
        hm_hmac_sha256(seal, 32, msg, sizeof msg, block);
        for (size_t j = 0; j < 32 && off + j < len; j++)
            out[off + j] = in[off + j] ^ block[j];
    }
}

static void tag(const uint8_t seal[32], const unsigned char *ct, size_t len, uint8_t out[32])
{
    unsigned char *m = hm_xmalloc(len + 3);
    memcpy(m, "tag", 3);
    if (len)
        memcpy(m + 3, ct, len);
    hm_hmac_sha256(seal, 32, m, len + 3, out);
    free(m);
}

void hm_idem_seal(const hm_idem *k, const void *plain, size_t len, unsigned char **out,
                  size_t *out_len)
{
    unsigned char *b = hm_xmalloc(len + 32);
    stream(k->seal, plain, len, b);
    tag(k->seal, b, len, b + len);
    *out = b;
    *out_len = len + 32;
}

bool hm_idem_open(const hm_idem *k, const unsigned char *blob, size_t len, char **out,
                  size_t *out_len)
{
    uint8_t t[32];
    char *p;
    if (len < 32)
        return false;
    tag(k->seal, blob, len - 32, t);
    if (!hm_ct_equal(t, blob + len - 32, 32))
        return false;
    p = hm_xmalloc(len - 32 + 1);
    stream(k->seal, blob, len - 32, (unsigned char *)p);
    p[len - 32] = '\0';
    *out = p;
    *out_len = len - 32;
    return true;
}
