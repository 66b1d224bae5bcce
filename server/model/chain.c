/* chain.c: canonical history entries and their hash chain; see chain.h. */
#include "chain.h"

#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void hm_chain_put_string(hm_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    hm_buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        switch (*p) {
            case '"':
                hm_buf_puts(out, "\\\"");
                break;
            case '\\':
                hm_buf_puts(out, "\\\\");
                break;
            case '\b':
                hm_buf_puts(out, "\\b");
                break;
            case '\t':
                hm_buf_puts(out, "\\t");
                break;
            case '\n':
                hm_buf_puts(out, "\\n");
                break;
            case '\f':
                hm_buf_puts(out, "\\f");
                break;
            case '\r':
                hm_buf_puts(out, "\\r");
                break;
            default:
                if (*p < 0x20) {
                    char e[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
                    hm_buf_puts(out, e);
                } else {
                    hm_buf_putc(out, (char)*p);
                }
        }
    }
    hm_buf_putc(out, '"');
}

static void put_status(hm_buf *out, int s)
{
    if (s >= 0 && s < HM_ST__COUNT)
        hm_chain_put_string(out, hm_status_name(s));
    else
        hm_buf_puts(out, "null");
}

/* `s` as a string, or null when it is empty. */
static void put_or_null(hm_buf *out, const char *s)
{
    if (s[0])
        hm_chain_put_string(out, s);
    else
        hm_buf_puts(out, "null");
}

void hm_chain_canonical(const char *code, const hm_history *h, hm_buf *out)
{
    char at[32];
    hm_time_format(h->at, at);
    hm_buf_puts(out, "{\"request\":");
    hm_chain_put_string(out, code);
    hm_buf_puts(out, ",\"at\":");
    hm_chain_put_string(out, at);
    hm_buf_puts(out, ",\"actor\":");
    hm_chain_put_string(out, h->actor);
    hm_buf_puts(out, ",\"from\":");
    put_status(out, h->from);
    hm_buf_puts(out, ",\"to\":");
    put_status(out, h->to);
    hm_buf_puts(out, ",\"kind\":");
    hm_chain_put_string(out, h->kind);
    hm_buf_puts(out, ",\"note_sha256\":");
    put_or_null(out, h->note_sha256);
    hm_buf_puts(out, ",\"field\":");
    put_or_null(out, h->field);
    hm_buf_puts(out, ",\"old_sha256\":");
    put_or_null(out, h->old_sha256);
    hm_buf_puts(out, ",\"new_sha256\":");
    put_or_null(out, h->new_sha256);
    hm_buf_puts(out, h->contact ? ",\"contact\":true" : ",\"contact\":false");
    hm_buf_puts(out, ",\"detail\":");
    hm_buf_puts(out, h->detail && *h->detail ? h->detail : "null");
    hm_buf_putc(out, '}');
}

void hm_chain_hash(const char *code, const char *prev_hex, const hm_history *h, char out[65])
{
    hm_buf b;
    hm_buf_init(&b);
    if (prev_hex)
        hm_buf_puts(&b, prev_hex);
    hm_chain_canonical(code, h, &b);
    hm_sha256_hex(b.data, b.len, out);
    hm_buf_clear(&b);
}

void hm_chain_text_sha256(const char *salt, const char *text, char out[65])
{
    hm_sha256_ctx c;
    uint8_t d[32];
    if (!text || !*text) {
        out[0] = '\0';
        return;
    }
    hm_sha256_init(&c);
    if (salt && *salt)
        hm_sha256_update(&c, salt, strlen(salt));
    hm_sha256_update(&c, text, strlen(text));
    hm_sha256_final(&c, d);
    hm_hex(d, 32, out);
}

/* A text still there hashes to its SHA-256 (an erased one, NULL, matches any); a contact
 * entry's only with its salt (a purge erases both). */
static bool text_matches(const hm_history *h, const char *text, const char *sha_hex)
{
    char th[65];
    if (!text || !*text)
        return true;
    if (h->contact && !h->salt[0])
        return false;
    hm_chain_text_sha256(h->salt, text, th);
    return strcmp(th, sha_hex) == 0;
}

const char *hm_chain_check(const char *code, const char *prev_hex, const hm_history *h)
{
    char want[65];
    if (!h->hash[0])
        return "no hash";
    if (!text_matches(h, h->note, h->note_sha256))
        return "note does not match its hash";
    if (!text_matches(h, h->old_value, h->old_sha256) ||
        !text_matches(h, h->new_value, h->new_sha256))
        return "value does not match its hash";
    hm_chain_hash(code, prev_hex, h, want);
    if (!hm_ct_equal(want, h->hash, 64) || h->hash[64] != '\0')
        return "hash does not match";
    return NULL;
}

void hm_chain_detail_receipt(int received, int64_t amount_vnd, hm_buf *out)
{
    const char *name = hm_receipt_name(received);
    hm_buf_puts(out, "{\"received\":");
    if (name)
        hm_chain_put_string(out, name);
    else
        hm_buf_puts(out, "null");
    if (amount_vnd >= 0)
        hm_buf_printf(out, ",\"amount_vnd\":%" PRId64 "}", amount_vnd);
    else
        hm_buf_puts(out, ",\"amount_vnd\":null}");
}

void hm_chain_detail_delivery(int64_t amount_vnd, const char *items, hm_buf *out)
{
    if (amount_vnd >= 0)
        hm_buf_printf(out, "{\"delivered_vnd\":%" PRId64, amount_vnd);
    else
        hm_buf_puts(out, "{\"delivered_vnd\":null");
    hm_buf_puts(out, ",\"items\":");
    if (items && *items)
        hm_chain_put_string(out, items);
    else
        hm_buf_puts(out, "null");
    hm_buf_putc(out, '}');
}
