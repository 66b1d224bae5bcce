#include "model.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const category_names[HM_CAT__COUNT] = {
    "food", "water", "medical", "cash", "shelter", "rescue", "other",
};
static const char *const status_names[HM_ST__COUNT] = {
    "new", "assigned", "in_progress", "resolved", "cancelled", "duplicate",
};
static const char *const precision_names[HM_PREC__COUNT] = {"gps", "pin", "address", "place",
                                                            "link"};
static const char *const source_names[HM_SRC__COUNT] = {"web", "hotline", "import"};
static const char *const role_names[] = {"public", "volunteer", "operator", "coordinator", "admin"};
static const char *const team_status_names[HM_TEAM_ST__COUNT] = {"available", "busy", "off"};
static const char *const relief_kind_names[HM_RELIEF_KIND__COUNT] = {
    "shelter", "food", "water", "medical", "charging", "boat", "other"};
static const char *const relief_status_names[HM_RELIEF_ST__COUNT] = {"open", "full", "closed"};
static const char *const vulnerable_names[HM_VULN__COUNT] = {"elderly", "child", "pregnant",
                                                             "disabled", "sick"};
static const char *const receipt_names[HM_RCPT__COUNT] = {"", "all", "part", "nothing"};

static int parse_name(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

const char *hm_category_name(int c)
{
    return name_of(category_names, HM_CAT__COUNT, c);
}
int hm_category_parse(const char *s)
{
    return parse_name(category_names, HM_CAT__COUNT, s);
}
const char *hm_status_name(int s)
{
    return name_of(status_names, HM_ST__COUNT, s);
}
int hm_status_parse(const char *s)
{
    return parse_name(status_names, HM_ST__COUNT, s);
}
bool hm_status_is_open(int s)
{
    return s == HM_ST_NEW || s == HM_ST_ASSIGNED || s == HM_ST_IN_PROGRESS;
}
const char *hm_precision_name(int p)
{
    return name_of(precision_names, HM_PREC__COUNT, p);
}
int hm_precision_parse(const char *s)
{
    return parse_name(precision_names, HM_PREC__COUNT, s);
}
const char *hm_source_name(int s)
{
    return name_of(source_names, HM_SRC__COUNT, s);
}
int hm_source_parse(const char *s)
{
    return parse_name(source_names, HM_SRC__COUNT, s);
}
const char *hm_role_name(int r)
{
    return name_of(role_names, 5, r);
}
int hm_role_parse(const char *s)
{
    int r = parse_name(role_names, 5, s);
    return r == HM_ROLE_PUBLIC ? -1 : r;
}
const char *hm_team_status_name(int s)
{
    return name_of(team_status_names, HM_TEAM_ST__COUNT, s);
}
int hm_team_status_parse(const char *s)
{
    return parse_name(team_status_names, HM_TEAM_ST__COUNT, s);
}
const char *hm_relief_kind_name(int k)
{
    return name_of(relief_kind_names, HM_RELIEF_KIND__COUNT, k);
}
int hm_relief_kind_parse(const char *s)
{
    return parse_name(relief_kind_names, HM_RELIEF_KIND__COUNT, s);
}
const char *hm_relief_status_name(int s)
{
    return name_of(relief_status_names, HM_RELIEF_ST__COUNT, s);
}
int hm_relief_status_parse(const char *s)
{
    return parse_name(relief_status_names, HM_RELIEF_ST__COUNT, s);
}
const char *hm_vulnerable_name(int bit_index)
{
    return name_of(vulnerable_names, HM_VULN__COUNT, bit_index);
}
unsigned hm_vulnerable_parse(const char *s)
{
    int i = parse_name(vulnerable_names, HM_VULN__COUNT, s);
    return i < 0 ? 0u : 1u << i;
}
const char *hm_receipt_name(int r)
{
    return r > HM_RCPT_NONE && r < HM_RCPT__COUNT ? receipt_names[r] : NULL;
}
int hm_receipt_parse(const char *s)
{
    int r = parse_name(receipt_names, HM_RCPT__COUNT, s);
    return r == HM_RCPT_NONE ? -1 : r;
}

int hm_priority_of(int category, unsigned vulnerable)
{
    return (category == HM_CAT_RESCUE || category == HM_CAT_MEDICAL || vulnerable) ? HM_PRIO_URGENT
                                                                                   : HM_PRIO_NORMAL;
}

const char *hm_priority_name(int p)
{
    return p == HM_PRIO_URGENT ? "urgent" : "normal";
}

/* SPEC "Statuses and allowed moves", one row per move. */
static const struct {
    int from, to;
    unsigned actors;
} transitions[] = {
    {HM_ST_NEW, HM_ST_ASSIGNED, HM_ACT_HOLDER | HM_ACT_COORD},
    {HM_ST_ASSIGNED, HM_ST_ASSIGNED, HM_ACT_COORD},
    {HM_ST_IN_PROGRESS, HM_ST_ASSIGNED, HM_ACT_COORD},
    {HM_ST_ASSIGNED, HM_ST_IN_PROGRESS, HM_ACT_HOLDER | HM_ACT_COORD},
    {HM_ST_ASSIGNED, HM_ST_NEW, HM_ACT_HOLDER | HM_ACT_COORD | HM_ACT_SYSTEM},
    {HM_ST_IN_PROGRESS, HM_ST_RESOLVED, HM_ACT_HOLDER | HM_ACT_COORD},
    {HM_ST_IN_PROGRESS, HM_ST_NEW, HM_ACT_HOLDER | HM_ACT_COORD},
    {HM_ST_NEW, HM_ST_CANCELLED, HM_ACT_RESIDENT | HM_ACT_OPERATOR | HM_ACT_COORD},
    {HM_ST_ASSIGNED, HM_ST_CANCELLED, HM_ACT_RESIDENT | HM_ACT_OPERATOR | HM_ACT_COORD},
    {HM_ST_IN_PROGRESS, HM_ST_CANCELLED, HM_ACT_RESIDENT | HM_ACT_OPERATOR | HM_ACT_COORD},
    {HM_ST_NEW, HM_ST_DUPLICATE, HM_ACT_COORD},
    {HM_ST_RESOLVED, HM_ST_NEW, HM_ACT_COORD},
    {HM_ST_CANCELLED, HM_ST_NEW, HM_ACT_COORD},
    {HM_ST_DUPLICATE, HM_ST_NEW, HM_ACT_COORD},
};

int hm_transition_check(int from, int to, unsigned actor, hm_error *err)
{
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        if (transitions[i].from != from || transitions[i].to != to)
            continue;
        if (transitions[i].actors & actor)
            return HM_OK;
        return hm_error_set(err, HM_E_FORBIDDEN, "status",
                            "you may not move a request from %s to %s", hm_status_name(from),
                            hm_status_name(to));
    }
    return hm_error_set(err, HM_E_INVALID_TRANSITION, "status",
                        "a request cannot move from %s to %s", hm_status_name(from),
                        hm_status_name(to));
}

int hm_phone_normalize(const char *in, char *out, size_t out_size, hm_error *err)
{
    char digits[32];
    size_t n = 0;
    bool plus = false;
    const char *p = in;

    if (!in)
        goto bad;
    while (*p == ' ')
        p++;
    if (*p == '+') {
        plus = true;
        p++;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n >= sizeof digits - 1)
                goto bad;
            digits[n++] = *p;
        } else if (*p == ' ' || *p == '.' || *p == '-' || *p == '(' || *p == ')') {
            continue;
        } else {
            goto bad;
        }
    }
    digits[n] = '\0';
    if (!plus && n >= 2 && digits[0] == '0' && digits[1] == '0') {
        /* 00 international prefix */
        memmove(digits, digits + 2, n - 1);
        n -= 2;
        plus = true;
    }
    if (plus && n >= 3 && digits[0] == '8' && digits[1] == '4' && digits[2] == '0') {
        /* "+84 0909 ..." keeps the national trunk 0 by mistake: drop it,
         * so that it is the same phone as "0909 ..." and "+84 909 ...". */
        memmove(digits + 2, digits + 3, n - 2);
        n--;
    }
    if (plus) {
        /* "840" left after the trunk 0 is dropped: "+84 00..." is no number,
         * and kept it would be a second form of the same phone (issue 6). */
        if (n < 8 || n > 15 || digits[0] == '0' || strncmp(digits, "840", 3) == 0)
            goto bad;
        if (strncmp(digits, "84", 2) == 0 && (n < 11 || n > 12))
            goto bad;
        if (out_size < n + 2)
            goto bad;
        snprintf(out, out_size, "+%s", digits);
        return HM_OK;
    }
    if (n >= 10 && n <= 11 && digits[0] == '0' && digits[1] != '0') {
        if (out_size < n + 3)
            goto bad;
        snprintf(out, out_size, "+84%s", digits + 1);
        return HM_OK;
    }
bad:
    return hm_error_set(err, HM_E_INVALID_FIELD, "phone",
                        "phone must be a Vietnamese number such as 0909 123 456 or an "
                        "international number such as +84 909 123 456");
}

const char hm_code_alphabet[] = "0123456789ABCDEGHKMNPQRSTVXY";

void hm_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            hm_log(HM_LOG_ERROR, "event=getrandom_failed errno=%d", errno);
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}

void hm_code_generate(const char *prefix, char *out, size_t out_size)
{
    const size_t alpha = sizeof hm_code_alphabet - 1;
    char tail[HM_CODE_LEN + 1];
    size_t i = 0;

    while (i < HM_CODE_LEN) {
        unsigned char r[16];
        hm_random_bytes(r, sizeof r);
        for (size_t k = 0; k < sizeof r && i < HM_CODE_LEN; k++) {
            /* Rejection sampling keeps every character equally likely. */
            if (r[k] >= 256 - 256 % alpha)
                continue;
            tail[i++] = hm_code_alphabet[r[k] % alpha];
        }
    }
    tail[HM_CODE_LEN] = '\0';
    snprintf(out, out_size, "%s-%s", prefix, tail);
}

int hm_code_normalize(const char *in, const char *prefix, char *out, size_t out_size, hm_error *err)
{
    char s[32];
    size_t n = 0, plen = strlen(prefix);

    if (!in)
        goto bad;
    for (const char *p = in; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        if (n >= sizeof s - 1)
            goto bad;
        s[n++] = (char)toupper((unsigned char)*p);
    }
    s[n] = '\0';
    if (n == plen + HM_CODE_LEN && strncmp(s, prefix, plen) == 0)
        memmove(s, s + plen, HM_CODE_LEN + 1);
    else if (n != HM_CODE_LEN)
        goto bad;
    for (size_t i = 0; i < HM_CODE_LEN; i++)
        if (!strchr(hm_code_alphabet, s[i]) || s[i] == '\0')
            goto bad;
    if (out_size < plen + HM_CODE_LEN + 2)
        goto bad;
    snprintf(out, out_size, "%s-%s", prefix, s);
    return HM_OK;
bad:
    return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
}

void hm_token_generate(size_t bytes, char *out, size_t out_size)
{
    unsigned char r[64];
    static const char hex[] = "0123456789abcdef";

    if (bytes > sizeof r)
        bytes = sizeof r;
    if (out_size < 2 * bytes + 1)
        bytes = (out_size - 1) / 2;
    hm_random_bytes(r, bytes);
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * bytes] = '\0';
}

/* SHA-256, FIPS 180-4. */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void hm_sha256_init(hm_sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->buf_len = 0;
    c->total = 0;
}

void hm_sha256_update(hm_sha256_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->total += len;
    if (c->buf_len) {
        size_t take = 64 - c->buf_len < len ? 64 - c->buf_len : len;
        memcpy(c->buf + c->buf_len, p, take);
        c->buf_len += take;
        p += take;
        len -= take;
        if (c->buf_len < 64)
            return;
        sha_block(c->h, c->buf);
        c->buf_len = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        sha_block(c->h, p);
    if (len) {
        memcpy(c->buf, p, len);
        c->buf_len = len;
    }
}

void hm_sha256_final(hm_sha256_ctx *c, uint8_t out[32])
{
    unsigned char tail[128];
    size_t rest = c->buf_len, tl;
    uint64_t bits = c->total * 8;

    memset(tail, 0, sizeof tail);
    if (rest)
        memcpy(tail, c->buf, rest);
    tail[rest] = 0x80;
    tl = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tl; i += 64)
        sha_block(c->h, tail + i);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void hm_sha256(const void *data, size_t len, uint8_t out[32])
{
    hm_sha256_ctx c;
    hm_sha256_init(&c);
    hm_sha256_update(&c, data, len);
    hm_sha256_final(&c, out);
}

void hm_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32])
{
    uint8_t k[64], inner[32];
    unsigned char *buf = hm_xmalloc(64 + (msg_len > 32 ? msg_len : 32));

    memset(k, 0, sizeof k);
    if (key_len > 64)
        hm_sha256(key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x36;
    if (msg_len)
        memcpy(buf + 64, msg, msg_len);
    hm_sha256(buf, 64 + msg_len, inner);
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x5c;
    memcpy(buf + 64, inner, 32);
    hm_sha256(buf, 64 + 32, out);
    free(buf);
}

void hm_hex(const uint8_t *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void hm_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[32];
    hm_sha256(data, len, h);
    hm_hex(h, 32, out);
}

bool hm_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

bool hm_text_ok(const char *s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;

    while (*p) {
        unsigned c = *p;
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                return false;
            if (c == 0x7f)
                return false;
            len = 1, cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        /* Bidirectional embeddings, overrides and isolates: a right-to-left override (U+202E)
         * makes "3 kg" and a phone number read otherwise on every screen (issue 11). */
        if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
            return false;
        p += len;
        if (++chars > max_chars)
            return false;
    }
    return true;
}

bool hm_text_has_bidi(const char *s)
{
    /* U+202A..U+202E are E2 80 AA..AE, U+2066..U+2069 are E2 81 A6..A9. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                             (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
            return true;
    return false;
}

void hm_time_format(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100);
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int hm_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    int64_t frac = 0, t;
    const char *p;

    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970 ||
        y > 9999)
        return -1;
    p = s + n;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac *= 10;
    }
    t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6)
            return -1;
        t -= (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *ms = t * 1000 + frac;
    return 0;
}

int64_t hm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
