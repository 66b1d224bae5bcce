/* model.h: the vocabulary of helpmap — categories, statuses, roles, the
 * status transition table, phone numbers, request codes and tokens. Owns
 * parsing and formatting of these values and their validation rules; not
 * storage, not HTTP. Everything here is pure and thread-safe. */
#ifndef HM_MODEL_H
#define HM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"

enum hm_category {
    HM_CAT_FOOD,
    HM_CAT_WATER,
    HM_CAT_MEDICAL,
    HM_CAT_CASH,
    HM_CAT_SHELTER,
    HM_CAT_RESCUE,
    HM_CAT_OTHER,
    HM_CAT__COUNT
};

enum hm_status {
    HM_ST_NEW,
    HM_ST_ASSIGNED,
    HM_ST_IN_PROGRESS,
    HM_ST_RESOLVED,
    HM_ST_CANCELLED,
    HM_ST_DUPLICATE,
    HM_ST__COUNT
};

/* How a request's position was given: a phone's GPS, a pin moved by hand, a place picked from
 * the place search (the request stands at the place's point), an address only (the
 * representative point of the smallest area given), or a pasted map link or coordinates
 * (`location_text`, geodata/locparse.h). */
enum hm_precision {
    HM_PREC_GPS,
    HM_PREC_PIN,
    HM_PREC_ADDRESS,
    HM_PREC_PLACE,
    HM_PREC_LINK,
    HM_PREC__COUNT
};
enum hm_source { HM_SRC_WEB, HM_SRC_HOTLINE, HM_SRC_IMPORT, HM_SRC__COUNT };
enum hm_priority { HM_PRIO_NORMAL, HM_PRIO_URGENT };

/* Vulnerable people, a bit set. */
enum {
    HM_VULN_ELDERLY = 1 << 0,
    HM_VULN_CHILD = 1 << 1,
    HM_VULN_PREGNANT = 1 << 2,
    HM_VULN_DISABLED = 1 << 3,
    HM_VULN_SICK = 1 << 4,
    HM_VULN__COUNT = 5
};

/* Team roles, in increasing power; HM_ROLE_PUBLIC is "no token". */
enum hm_role {
    HM_ROLE_PUBLIC,
    HM_ROLE_VOLUNTEER,
    HM_ROLE_OPERATOR,
    HM_ROLE_COORDINATOR,
    HM_ROLE_ADMIN
};

enum hm_team_status { HM_TEAM_AVAILABLE, HM_TEAM_BUSY, HM_TEAM_OFF, HM_TEAM_ST__COUNT };

/* Relief points (SPEC, "What Vietnam's 2024-2025 flood maps taught"): what a point offers and
 * whether it takes people now. */
enum hm_relief_kind {
    HM_RELIEF_SHELTER,
    HM_RELIEF_FOOD,
    HM_RELIEF_WATER,
    HM_RELIEF_MEDICAL,
    HM_RELIEF_CHARGING,
    HM_RELIEF_BOAT,
    HM_RELIEF_OTHER,
    HM_RELIEF_KIND__COUNT
};
enum hm_relief_status { HM_RELIEF_OPEN, HM_RELIEF_FULL, HM_RELIEF_CLOSED, HM_RELIEF_ST__COUNT };

/* What the resident says arrived (issue 17): nothing said yet, all, part, or nothing. */
enum hm_receipt { HM_RCPT_NONE, HM_RCPT_ALL, HM_RCPT_PART, HM_RCPT_NOTHING, HM_RCPT__COUNT };

/* Who moves a request, for the transition table. */
enum hm_actor_kind {
    HM_ACT_RESIDENT = 1 << 0, /* tracking token */
    HM_ACT_HOLDER = 1 << 1,   /* volunteer team that holds the request */
    HM_ACT_OPERATOR = 1 << 2,
    HM_ACT_COORD = 1 << 3,  /* coordinator or admin */
    HM_ACT_SYSTEM = 1 << 4, /* claim time-out */
};

/* Names <-> values. `*_name` returns a static string; `*_parse` returns the
 * value or -1 when `s` is not a valid name (NULL included). */
const char *hm_category_name(int c);
int hm_category_parse(const char *s);
const char *hm_status_name(int s);
int hm_status_parse(const char *s);
bool hm_status_is_open(int s);
const char *hm_precision_name(int p);
int hm_precision_parse(const char *s);
const char *hm_source_name(int s);
int hm_source_parse(const char *s);
const char *hm_role_name(int r);
int hm_role_parse(const char *s);
const char *hm_team_status_name(int s);
int hm_team_status_parse(const char *s);
const char *hm_relief_kind_name(int k);
int hm_relief_kind_parse(const char *s);
const char *hm_relief_status_name(int s);
int hm_relief_status_parse(const char *s);
const char *hm_vulnerable_name(int bit_index);
/* "all", "part", "nothing"; HM_RCPT_NONE has no name (NULL), and parse never gives it. */
const char *hm_receipt_name(int r);
int hm_receipt_parse(const char *s);
/* Bit of one vulnerable name, 0 when unknown. */
unsigned hm_vulnerable_parse(const char *s);

/* SPEC: urgent for rescue, medical or any vulnerable person. */
int hm_priority_of(int category, unsigned vulnerable);
const char *hm_priority_name(int p);

/* May `actor` (one HM_ACT_* bit) move a request from `from` to `to`?
 * Returns HM_OK; HM_E_INVALID_TRANSITION when SPEC's table has no such move;
 * HM_E_FORBIDDEN when the move exists but not for this actor. */
int hm_transition_check(int from, int to, unsigned actor, hm_error *err);

/* Normalise a phone number to E.164 ("+84909123456") into `out` (at least
 * 17 bytes). Accepts spaces, dots, dashes and parentheses; Vietnamese
 * national numbers (0 + 9 or 10 digits); "+" or "00" international numbers
 * of 8 to 15 digits. Returns HM_OK or HM_E_INVALID_FIELD (field "phone"). */
int hm_phone_normalize(const char *in, char *out, size_t out_size, hm_error *err);

/* The request-code alphabet: letters Vietnamese speakers read aloud without
 * confusion. */
extern const char hm_code_alphabet[];
#define HM_CODE_LEN 6

/* Generate a new code "PREFIX-XXXXXX" into `out` (>= 16 bytes) from the OS
 * random source. `prefix` is 1 to 4 upper-case letters. */
void hm_code_generate(const char *prefix, char *out, size_t out_size);

/* Canonicalise user input: case and dashes/spaces ignored, prefix optional.
 * "cc-4k7m2b", "CC4K7M2B" and "4k7m2b" all give "CC-4K7M2B" for prefix "CC".
 * Returns HM_OK or HM_E_NOT_FOUND (a malformed code names no request). */
int hm_code_normalize(const char *in, const char *prefix, char *out, size_t out_size,
                      hm_error *err);

/* Fill `buf` with `n` random bytes from getrandom(2). Aborts if the OS has
 * no randomness (it never happens on Linux after boot). */
void hm_random_bytes(void *buf, size_t n);

/* A random token of `bytes` bytes as lower-case hex into `out` (2*bytes+1). */
void hm_token_generate(size_t bytes, char *out, size_t out_size);

/* SHA-256 of `len` bytes. */
void hm_sha256(const void *data, size_t len, uint8_t out[32]);
/* SHA-256 of a stream: init, update any number of times, final (which resets nothing: init
 * again to reuse). */
typedef struct hm_sha256_ctx {
    uint32_t h[8];
    unsigned char buf[64];
    size_t buf_len;
    uint64_t total;
} hm_sha256_ctx;
void hm_sha256_init(hm_sha256_ctx *c);
void hm_sha256_update(hm_sha256_ctx *c, const void *data, size_t len);
void hm_sha256_final(hm_sha256_ctx *c, uint8_t out[32]);
/* HMAC-SHA-256 (RFC 2104) of `msg` under `key`. */
void hm_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32]);
/* `n` bytes as lower-case hex into `out` (2n + 1 bytes, NUL-terminated). */
void hm_hex(const uint8_t *in, size_t n, char *out);
/* SHA-256 of `len` bytes as lower-case hex into out[65]. */
void hm_sha256_hex(const void *data, size_t len, char out[65]);

/* Compare `n` bytes in constant time; true when equal. */
bool hm_ct_equal(const void *a, const void *b, size_t n);

/* Valid UTF-8 without NUL, DEL or C0 control characters other than \n, \r
 * (browsers send a textarea's line ends as CRLF) and \t, without the
 * bidirectional controls U+202A-202E and U+2066-2069, at most `max_chars`
 * code points. */
bool hm_text_ok(const char *s, size_t max_chars);

/* True when `s` holds a bidirectional control character (U+202A..U+202E, U+2066..U+2069),
 * which can make a name read differently from what it is (SPEC, privacy second round). `s`
 * is valid UTF-8 (hm_text_ok). */
bool hm_text_has_bidi(const char *s);

/* RFC 3339 UTC ("2026-11-30T02:15:00Z") of a time in milliseconds. */
void hm_time_format(int64_t ms, char out[32]);
/* Parse RFC 3339 (Z or offset, optional fraction) to milliseconds. */
int hm_time_parse(const char *s, int64_t *ms);
/* Wall clock in milliseconds since 1970. */
int64_t hm_now_ms(void);

#endif
