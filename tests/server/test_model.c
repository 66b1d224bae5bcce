/* test_model.c: server/model.c — names, phone numbers, request codes, the
 * transition table (every pair for every actor), text rules, RFC 3339 times,
 * SHA-256 and tokens. Tables of {input, want}, as STYLE.md section 9 asks. */
#include "hm_test.h"
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_names(void)
{
    static const char *const cats[] = {"food",    "water",  "medical", "cash",
                                       "shelter", "rescue", "other"};
    static const char *const sts[] = {"new",      "assigned",  "in_progress",
                                      "resolved", "cancelled", "duplicate"};
    CHECK_INT_EQ(N(cats), HM_CAT__COUNT);
    CHECK_INT_EQ(N(sts), HM_ST__COUNT);
    for (int i = 0; i < HM_CAT__COUNT; i++) {
        CHECK_STR_EQ(hm_category_name(i), cats[i]);
        CHECK_INT_EQ(hm_category_parse(cats[i]), i);
    }
    for (int i = 0; i < HM_ST__COUNT; i++) {
        CHECK_STR_EQ(hm_status_name(i), sts[i]);
        CHECK_INT_EQ(hm_status_parse(sts[i]), i);
        CHECK(hm_status_is_open(i) ==
              (i == HM_ST_NEW || i == HM_ST_ASSIGNED || i == HM_ST_IN_PROGRESS));
    }
    CHECK_INT_EQ(hm_category_parse("Food"), -1);
    CHECK_INT_EQ(hm_category_parse(""), -1);
    CHECK_INT_EQ(hm_category_parse(NULL), -1);
    CHECK_INT_EQ(hm_status_parse("open"), -1);
    CHECK_INT_EQ(hm_status_parse(NULL), -1);
    CHECK_STR_EQ(hm_category_name(99), "unknown");
    CHECK_STR_EQ(hm_status_name(-1), "unknown");

    CHECK_INT_EQ(hm_role_parse("volunteer"), HM_ROLE_VOLUNTEER);
    CHECK_INT_EQ(hm_role_parse("operator"), HM_ROLE_OPERATOR);
    CHECK_INT_EQ(hm_role_parse("coordinator"), HM_ROLE_COORDINATOR);
    CHECK_INT_EQ(hm_role_parse("admin"), HM_ROLE_ADMIN);
    CHECK_INT_EQ(hm_role_parse("public"), -1); /* not a role a team can have */
    CHECK_INT_EQ(hm_role_parse("root"), -1);
    CHECK_STR_EQ(hm_role_name(HM_ROLE_COORDINATOR), "coordinator");

    CHECK_INT_EQ(hm_precision_parse("gps"), HM_PREC_GPS);
    CHECK_INT_EQ(hm_precision_parse("pin"), HM_PREC_PIN);
    CHECK_INT_EQ(hm_precision_parse("address"), HM_PREC_ADDRESS);
    CHECK_INT_EQ(hm_precision_parse("link"), HM_PREC_LINK);
    CHECK_INT_EQ(hm_precision_parse("wifi"), -1);
    for (int k = 0; k < HM_RELIEF_KIND__COUNT; k++)
        CHECK_INT_EQ(hm_relief_kind_parse(hm_relief_kind_name(k)), k);
    CHECK_STR_EQ(hm_relief_kind_name(HM_RELIEF_CHARGING), "charging");
    CHECK_INT_EQ(hm_relief_kind_parse("hotel"), -1);
    CHECK_INT_EQ(hm_relief_status_parse("open"), HM_RELIEF_OPEN);
    CHECK_INT_EQ(hm_relief_status_parse("full"), HM_RELIEF_FULL);
    CHECK_INT_EQ(hm_relief_status_parse("closed"), HM_RELIEF_CLOSED);
    CHECK_INT_EQ(hm_relief_status_parse("busy"), -1);
    CHECK_INT_EQ(hm_source_parse("web"), HM_SRC_WEB);
    CHECK_INT_EQ(hm_source_parse("hotline"), HM_SRC_HOTLINE);
    CHECK_INT_EQ(hm_source_parse("import"), HM_SRC_IMPORT);
    CHECK_INT_EQ(hm_source_parse("fax"), -1);
    CHECK_INT_EQ(hm_team_status_parse("available"), HM_TEAM_AVAILABLE);
    CHECK_INT_EQ(hm_team_status_parse("busy"), HM_TEAM_BUSY);
    CHECK_INT_EQ(hm_team_status_parse("off"), HM_TEAM_OFF);
    CHECK_INT_EQ(hm_team_status_parse("asleep"), -1);

    {
        static const char *const vul[] = {"elderly", "child", "pregnant", "disabled", "sick"};
        unsigned seen = 0;
        for (int i = 0; i < HM_VULN__COUNT; i++) {
            unsigned bit = hm_vulnerable_parse(vul[i]);
            CHECK(bit != 0 && (bit & (bit - 1)) == 0);
            CHECK((seen & bit) == 0);
            seen |= bit;
            CHECK_STR_EQ(hm_vulnerable_name(i), vul[i]);
            CHECK_INT_EQ(bit, 1u << i);
        }
        CHECK_INT_EQ(hm_vulnerable_parse("dragon"), 0);
        CHECK_INT_EQ(hm_vulnerable_parse(NULL), 0);
    }
}

static void test_priority(void)
{
    static const struct {
        int category;
        unsigned vulnerable;
        int want;
    } cases[] = {
        {HM_CAT_FOOD, 0, HM_PRIO_NORMAL},
        {HM_CAT_WATER, 0, HM_PRIO_NORMAL},
        {HM_CAT_CASH, 0, HM_PRIO_NORMAL},
        {HM_CAT_SHELTER, 0, HM_PRIO_NORMAL},
        {HM_CAT_OTHER, 0, HM_PRIO_NORMAL},
        {HM_CAT_RESCUE, 0, HM_PRIO_URGENT},
        {HM_CAT_MEDICAL, 0, HM_PRIO_URGENT},
        {HM_CAT_FOOD, HM_VULN_ELDERLY, HM_PRIO_URGENT},
        {HM_CAT_CASH, HM_VULN_CHILD, HM_PRIO_URGENT},
        {HM_CAT_OTHER, HM_VULN_PREGNANT | HM_VULN_SICK, HM_PRIO_URGENT},
        {HM_CAT_WATER, HM_VULN_DISABLED, HM_PRIO_URGENT},
    };
    for (size_t i = 0; i < N(cases); i++)
        CHECK_INT_EQ(hm_priority_of(cases[i].category, cases[i].vulnerable), cases[i].want);
    CHECK_STR_EQ(hm_priority_name(HM_PRIO_URGENT), "urgent");
    CHECK_STR_EQ(hm_priority_name(HM_PRIO_NORMAL), "normal");
}

static void test_phone(void)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        /* Vietnamese mobile numbers, every accepted separator. */
        {"0909123456", "+84909123456"},
        {"0909 123 456", "+84909123456"},
        {"0909.123.456", "+84909123456"},
        {"0909-123-456", "+84909123456"},
        {"(0909) 123-456", "+84909123456"},
        {"  0909 123 456", "+84909123456"},
        {"0909 123 456  ", "+84909123456"},
        {"+84909123456", "+84909123456"},
        {"+84 909 123 456", "+84909123456"},
        {"0084 909 123 456", "+84909123456"},
        {"0084909123456", "+84909123456"},
        /* Regression: "+84 0909 ..." (the trunk 0 kept after +84) is the same phone. */
        {"+84 0909 123 456", "+84909123456"},
        {"+840909123456", "+84909123456"},
        {"00840909123456", "+84909123456"},
        /* Landlines: 02x area codes, 11 digits nationally. */
        {"028 3829 6060", "+842838296060"},
        {"0283 829 6060", "+842838296060"},
        /* Other countries. */
        {"+1 202 555 0143", "+12025550143"},
        {"+44 20 7946 0958", "+442079460958"},
        {"0012025550143", "+12025550143"},
        {"+6591234567", "+6591234567"},
        /* Refused. */
        {"", NULL},
        {"   ", NULL},
        {"0", NULL},
        {"12345", NULL},
        {"090912345", NULL},    /* 9 digits */
        {"090912345678", NULL}, /* 12 digits */
        {"909123456", NULL},    /* no leading 0 */
        {"0009123456", NULL},   /* 00 prefix with too few digits */
        {"+0909123456", NULL},  /* + then 0 */
        {"+84 12", NULL},
        {"+84 9091 234", NULL}, /* Vietnam needs 9 or 10 digits after 84 */
        {"+84 9091 2345 6789", NULL},
        {"+1234567", NULL},          /* 7 digits */
        {"+1234567890123456", NULL}, /* 16 digits */
        {"0909 123 456 ext 2", NULL},
        {"0909/123/456", NULL},
        {"0909_123_456", NULL},
        {"++84909123456", NULL},
        {"84+909123456", NULL},
        {"０９０９１２３４５６", NULL}, /* full-width digits */
        {"0909123456\n", NULL},
        {"00000000000000000000000000000000000000001", NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char out[24] = "unchanged";
        hm_error err = {0};
        int rc = hm_phone_normalize(cases[i].in, out, sizeof out, &err);
        if (cases[i].want) {
            if (rc != HM_OK)
                fprintf(stderr, "  phone case %zu: %s\n", i, cases[i].in);
            CHECK_INT_EQ(rc, HM_OK);
            CHECK_STR_EQ(out, cases[i].want);
        } else {
            if (rc != HM_E_INVALID_FIELD)
                fprintf(stderr, "  phone case %zu: %s gave %s\n", i, cases[i].in, out);
            CHECK_INT_EQ(rc, HM_E_INVALID_FIELD);
            CHECK_STR_EQ(err.field, "phone");
            CHECK(err.msg[0] != '\0');
        }
    }
    {
        hm_error err = {0};
        char out[24];
        CHECK_INT_EQ(hm_phone_normalize(NULL, out, sizeof out, &err), HM_E_INVALID_FIELD);
        /* A too small output buffer is refused, never overrun. */
        char small[8] = "";
        CHECK(hm_phone_normalize("0909123456", small, sizeof small, NULL) != HM_OK);
    }
}

static bool in_alphabet(char c)
{
    return c && strchr(hm_code_alphabet, c) != NULL;
}

static void test_code_generate(void)
{
    int counts[256] = {0};
    const size_t alpha = strlen(hm_code_alphabet);
    char first[16] = "";
    int same = 0;

    /* SPEC: digits and letters Vietnamese speakers read aloud without confusion. */
    CHECK_STR_EQ(hm_code_alphabet, "0123456789ABCDEGHKMNPQRSTVXY");
    CHECK_INT_EQ(alpha, 28);
    for (const char *p = "FIJLOUWZ"; *p; p++)
        CHECK(strchr(hm_code_alphabet, *p) == NULL);
    for (int i = 0; i < 5000; i++) {
        char code[16];
        char norm[16];
        hm_code_generate("CC", code, sizeof code);
        CHECK_INT_EQ(strlen(code), 3 + HM_CODE_LEN);
        CHECK(strncmp(code, "CC-", 3) == 0);
        for (int k = 3; k < 3 + HM_CODE_LEN; k++) {
            CHECK(in_alphabet(code[k]));
            counts[(unsigned char)code[k]]++;
        }
        /* A generated code is its own normal form. */
        CHECK_INT_EQ(hm_code_normalize(code, "CC", norm, sizeof norm, NULL), HM_OK);
        CHECK_STR_EQ(norm, code);
        if (i == 0)
            snprintf(first, sizeof first, "%s", code);
        else if (strcmp(first, code) == 0)
            same++;
    }
    CHECK(same == 0);
    /* 30,000 characters: every one of the 28 appears, none wildly more often
     * than the others (expected about 1071 each). */
    for (size_t k = 0; k < alpha; k++) {
        int n = counts[(unsigned char)hm_code_alphabet[k]];
        CHECK(n > 800 && n < 1350);
    }
    {
        char code[16];
        hm_code_generate("HCM", code, sizeof code);
        CHECK(strncmp(code, "HCM-", 4) == 0);
        CHECK_INT_EQ(strlen(code), 4 + HM_CODE_LEN);
        hm_code_generate("X", code, sizeof code);
        CHECK(strncmp(code, "X-", 2) == 0);
    }
}

static void test_code_normalize(void)
{
    static const struct {
        const char *in, *prefix, *want; /* want NULL: not found */
    } cases[] = {
        {"CC-4K7M2B", "CC", "CC-4K7M2B"},
        {"cc-4k7m2b", "CC", "CC-4K7M2B"},
        {"CC4K7M2B", "CC", "CC-4K7M2B"},
        {"4K7M2B", "CC", "CC-4K7M2B"},
        {"4k7m2b", "CC", "CC-4K7M2B"},
        {"cc 4k7 m2b", "CC", "CC-4K7M2B"},
        {"C-C-4-K-7-M-2-B", "CC", "CC-4K7M2B"},
        {"--4K7M2B--", "CC", "CC-4K7M2B"},
        {"hcm-000000", "HCM", "HCM-000000"},
        {"YYYYYY", "CC", "CC-YYYYYY"},
        {"", "CC", NULL},
        {"CC-", "CC", NULL},
        {"CC-4K7M2", "CC", NULL},   /* too short */
        {"CC-4K7M2BB", "CC", NULL}, /* too long */
        {"4K7M2", "CC", NULL},
        {"XX-4K7M2B", "CC", NULL}, /* another prefix */
        {"CC-4K7M2F", "CC", NULL}, /* F is not in the alphabet */
        {"CC-4K7M2O", "CC", NULL}, /* nor O */
        {"CC-4K7M2I", "CC", NULL},
        {"CC-4K7M2Z", "CC", NULL},
        {"CC-4K7M2_", "CC", NULL},
        {"CC-4K7M2%", "CC", NULL},
        {"CC-4K7M2\xc3\xa0", "CC", NULL},
        {"CC-4K7M2B'; DROP TABLE request; --", "CC", NULL},
        {"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "CC", NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char out[16] = "";
        hm_error err = {0};
        int rc = hm_code_normalize(cases[i].in, cases[i].prefix, out, sizeof out, &err);
        if (cases[i].want) {
            CHECK_INT_EQ(rc, HM_OK);
            CHECK_STR_EQ(out, cases[i].want);
        } else {
            if (rc == HM_OK)
                fprintf(stderr, "  code case %zu (%s) gave %s\n", i, cases[i].in, out);
            CHECK_INT_EQ(rc, HM_E_NOT_FOUND);
        }
    }
    CHECK_INT_EQ(hm_code_normalize(NULL, "CC", (char[16]){0}, 16, NULL), HM_E_NOT_FOUND);
}

/* SPEC "Statuses and allowed moves" and the role table, written out again
 * here independently of model.c: who may make each move. */
enum {
    R = HM_ACT_RESIDENT,
    H = HM_ACT_HOLDER,
    O = HM_ACT_OPERATOR,
    C = HM_ACT_COORD,
    S = HM_ACT_SYSTEM
};

static unsigned spec_actors(int from, int to)
{
    switch (from * 10 + to) {
        case HM_ST_NEW * 10 + HM_ST_ASSIGNED:
            return H | C; /* a team claims, a coordinator assigns */
        case HM_ST_ASSIGNED * 10 + HM_ST_ASSIGNED:
        case HM_ST_IN_PROGRESS * 10 + HM_ST_ASSIGNED:
            return C; /* reassign */
        case HM_ST_ASSIGNED * 10 + HM_ST_IN_PROGRESS:
            return H | C;
        case HM_ST_ASSIGNED * 10 + HM_ST_NEW:
            return H | C | S; /* released; or the claim time-out */
        case HM_ST_IN_PROGRESS * 10 + HM_ST_RESOLVED:
        case HM_ST_IN_PROGRESS * 10 + HM_ST_NEW:
            return H | C;
        case HM_ST_NEW * 10 + HM_ST_CANCELLED:
        case HM_ST_ASSIGNED * 10 + HM_ST_CANCELLED:
        case HM_ST_IN_PROGRESS * 10 + HM_ST_CANCELLED:
            return R | O | C;
        case HM_ST_NEW * 10 + HM_ST_DUPLICATE:
            return C;
        case HM_ST_RESOLVED * 10 + HM_ST_NEW:
        case HM_ST_CANCELLED * 10 + HM_ST_NEW:
        case HM_ST_DUPLICATE * 10 + HM_ST_NEW:
            return C; /* reopen */
        default:
            return 0; /* no such move */
    }
}

static void test_transitions(void)
{
    static const unsigned actors[] = {R, H, O, C, S};
    int moves = 0;
    for (int from = 0; from < HM_ST__COUNT; from++) {
        for (int to = 0; to < HM_ST__COUNT; to++) {
            unsigned allowed = spec_actors(from, to);
            moves += allowed != 0;
            for (size_t a = 0; a < N(actors); a++) {
                hm_error err = {0};
                int rc = hm_transition_check(from, to, actors[a], &err);
                int want = !allowed                ? HM_E_INVALID_TRANSITION
                           : (allowed & actors[a]) ? HM_OK
                                                   : HM_E_FORBIDDEN;
                if (rc != want)
                    fprintf(stderr, "  transition %s -> %s by actor %u: got %d want %d\n",
                            hm_status_name(from), hm_status_name(to), actors[a], rc, want);
                CHECK_INT_EQ(rc, want);
                if (want != HM_OK) {
                    CHECK_STR_EQ(err.field, "status");
                    CHECK(err.msg[0] != '\0');
                }
            }
            /* A coordinator token acts as coordinator and operator at once. */
            CHECK_INT_EQ(hm_transition_check(from, to, C | O, NULL),
                         !allowed              ? HM_E_INVALID_TRANSITION
                         : (allowed & (C | O)) ? HM_OK
                                               : HM_E_FORBIDDEN);
            /* Nobody at all. */
            CHECK_INT_EQ(hm_transition_check(from, to, 0, NULL),
                         allowed ? HM_E_FORBIDDEN : HM_E_INVALID_TRANSITION);
        }
    }
    CHECK_INT_EQ(moves, 14);
    /* Out-of-range statuses are no moves. */
    CHECK_INT_EQ(hm_transition_check(-1, HM_ST_NEW, C, NULL), HM_E_INVALID_TRANSITION);
    CHECK_INT_EQ(hm_transition_check(HM_ST_NEW, HM_ST__COUNT, C, NULL), HM_E_INVALID_TRANSITION);
}

static void test_text_ok(void)
{
    static const struct {
        const char *s;
        size_t max;
        bool want;
    } cases[] = {
        {"", 0, true},
        {"", 10, true},
        {"hello", 5, true},
        {"hello", 4, false},
        {"Cần gạo", 7, true}, /* 7 code points, 11 bytes */
        {"Cần gạo", 6, false},
        {"Nguyễn Thị Ánh", 14, true},
        {"\xe1\xbb\x85", 1, true},     /* ễ, 3 bytes, 1 code point */
        {"\xf0\x9f\x98\x80", 1, true}, /* an emoji, 4 bytes */
        {"\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 1, false},
        {"line 1\nline 2", 100, true},
        {"tab\there", 100, true},
        {"crlf\r\nfrom a textarea", 100, true}, /* browsers send CRLF */
        {"bell\x07", 100, false},
        {"nul\x01", 100, false},
        {"esc\x1b[31m", 100, false},
        {"del\x7f", 100, false},
        {"\x80", 10, false},     /* a lone continuation byte */
        {"\xc3", 10, false},     /* truncated */
        {"\xc3\x28", 10, false}, /* bad continuation */
        {"\xe1\xbb", 10, false},
        {"\xc0\xaf", 10, false},         /* overlong "/" */
        {"\xe0\x80\xaf", 10, false},     /* overlong */
        {"\xf0\x80\x80\xaf", 10, false}, /* overlong */
        {"\xed\xa0\x80", 10, false},     /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 10, false}, /* above U+10FFFF */
        {"\xf8\x88\x80\x80\x80", 10, false},
        {"\xff", 10, false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        bool got = hm_text_ok(cases[i].s, cases[i].max);
        if (got != cases[i].want)
            fprintf(stderr, "  text case %zu\n", i);
        CHECK(got == cases[i].want);
    }
    {
        /* 500 Vietnamese letters of 2 and 3 bytes: the limit counts code points. */
        char buf[2000] = "";
        for (int i = 0; i < 250; i++)
            strcat(buf, "ạă");
        CHECK(hm_text_ok(buf, 500));
        CHECK(!hm_text_ok(buf, 499));
    }
}

static void test_time(void)
{
    static const struct {
        const char *in;
        long long want_ms; /* -1: refused */
    } parse[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-30T02:15:00Z", 1796004900000LL},
        {"2026-11-30T02:15:00z", 1796004900000LL},
        {"2026-11-30t02:15:00Z", 1796004900000LL},
        {"2026-11-30 02:15:00Z", 1796004900000LL},
        {"2026-11-30T09:15:00+07:00", 1796004900000LL},
        {"2026-11-29T21:15:00-05:00", 1796004900000LL},
        {"2026-11-30T02:15:00.5Z", 1796004900500LL},
        {"2026-11-30T02:15:00.123Z", 1796004900123LL},
        {"2026-11-30T02:15:00.123456Z", 1796004900123LL},
        {"2000-02-29T12:00:00Z", 951825600000LL},
        {"2021-07-09T00:00:00+07:00", 1625763600000LL},
        {"2026-11-30T02:15:00", -1}, /* no zone */
        {"2026-11-30", -1},
        {"2026-13-01T00:00:00Z", -1},
        {"2026-00-01T00:00:00Z", -1},
        {"2026-11-32T00:00:00Z", -1},
        {"2026-11-30T24:00:00Z", -1},
        {"2026-11-30T02:60:00Z", -1},
        {"2026-11-30T02:15:00.Z", -1},
        {"2026-11-30T02:15:00+0700", -1},
        {"2026-11-30T02:15:00Z junk", -1},
        {"1969-12-31T23:59:59Z", -1},
        {"yesterday", -1},
        {"", -1},
    };
    for (size_t i = 0; i < N(parse); i++) {
        int64_t ms = 12345;
        int rc = hm_time_parse(parse[i].in, &ms);
        if (parse[i].want_ms < 0) {
            if (rc == 0)
                fprintf(stderr, "  time case %zu (%s) parsed\n", i, parse[i].in);
            CHECK(rc != 0);
        } else {
            if (rc != 0 || ms != parse[i].want_ms)
                fprintf(stderr, "  time case %zu (%s) gave %lld\n", i, parse[i].in, (long long)ms);
            CHECK_INT_EQ(rc, 0);
            CHECK_INT_EQ(ms, parse[i].want_ms);
        }
    }
    CHECK(hm_time_parse(NULL, &(int64_t){0}) != 0);

    {
        static const struct {
            long long ms;
            const char *want;
        } fmt[] = {
            {0, "1970-01-01T00:00:00Z"},
            {1796004900000LL, "2026-11-30T02:15:00Z"},
            {1796004900999LL, "2026-11-30T02:15:00Z"}, /* whole seconds */
            {951825600000LL, "2000-02-29T12:00:00Z"},
            {4102444799000LL, "2099-12-31T23:59:59Z"},
        };
        for (size_t i = 0; i < N(fmt); i++) {
            char out[32];
            hm_time_format(fmt[i].ms, out);
            CHECK_STR_EQ(out, fmt[i].want);
        }
    }
    /* Round trip, one second apart over a few years and at random instants. */
    {
        uint64_t x = 88172645463325252ULL;
        for (int i = 0; i < 20000; i++) {
            char out[32];
            int64_t back = -1, ms;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ms = (int64_t)(x % 4102444800ULL) * 1000; /* 1970 .. 2100, whole seconds */
            hm_time_format(ms, out);
            CHECK_INT_EQ(hm_time_parse(out, &back), 0);
            if (back != ms)
                fprintf(stderr, "  round trip %lld -> %s -> %lld\n", (long long)ms, out,
                        (long long)back);
            CHECK_INT_EQ(back, ms);
        }
    }
    {
        int64_t now = hm_now_ms();
        CHECK(now > 1700000000000LL);
        CHECK(now < 4102444800000LL);
    }
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_and_tokens(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
         "rlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        uint8_t h[32];
        char out[65];
        hm_sha256(cases[i].in, strlen(cases[i].in), h);
        hex(h, 32, out);
        CHECK_STR_EQ(out, cases[i].want);
    }
    {
        /* One million 'a': every block-boundary path. */
        size_t n = 1000000;
        char *a = malloc(n);
        uint8_t h[32];
        char out[65];
        memset(a, 'a', n);
        hm_sha256(a, n, h);
        hex(h, 32, out);
        CHECK_STR_EQ(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(a);
        /* Lengths around the 55/56/64-byte padding edges agree with a split computation? The
         * digest of 55, 56, 63, 64, 65 bytes must differ from each other. */
        uint8_t d[5][32];
        size_t lens[5] = {55, 56, 63, 64, 65};
        char buf[65];
        memset(buf, 'x', sizeof buf);
        for (int k = 0; k < 5; k++)
            hm_sha256(buf, lens[k], d[k]);
        for (int k = 0; k < 5; k++)
            for (int j = k + 1; j < 5; j++)
                CHECK(memcmp(d[k], d[j], 32) != 0);
    }
    CHECK(hm_ct_equal("abcd", "abcd", 4));
    CHECK(!hm_ct_equal("abcd", "abce", 4));
    CHECK(!hm_ct_equal("\x00xyz", "\x01xyz", 4));
    CHECK(hm_ct_equal("a", "b", 0));
    {
        char t1[64], t2[64];
        hm_token_generate(16, t1, sizeof t1);
        hm_token_generate(16, t2, sizeof t2);
        CHECK_INT_EQ(strlen(t1), 32); /* 128 bits */
        CHECK(strspn(t1, "0123456789abcdef") == 32);
        CHECK(strcmp(t1, t2) != 0);
        hm_token_generate(24, t1, sizeof t1);
        CHECK_INT_EQ(strlen(t1), 48);
        /* A short buffer truncates to whole bytes, NUL-terminated. */
        char small[9];
        hm_token_generate(16, small, sizeof small);
        CHECK_INT_EQ(strlen(small), 8);
    }
}

/* Bidirectional controls (U+202A..202E, U+2066..2069) and nothing next to them. */
static void test_text_bidi(void)
{
    static const struct {
        const char *s;
        bool bidi;
    } cases[] = {
        {"Nhà văn hoá ấp 3", false}, {"", false},         {"a\u202ab", true},
        {"a\u202eb", true},          {"\u2066x", true},   {"x\u2069", true},
        {"a\u2029b", false},         {"a\u202fb", false}, /* separators and NNBSP: text */
        {"a\u2065b", false},         {"a\u206ab", false}, {"\u200f right-to-left mark", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(hm_text_has_bidi(cases[i].s) == cases[i].bidi);
}

int main(void)
{
    test_names();
    test_text_bidi();
    test_priority();
    test_phone();
    test_code_generate();
    test_code_normalize();
    test_transitions();
    test_text_ok();
    test_time();
    test_sha256_and_tokens();
    return hm_test_done("test_model");
}
