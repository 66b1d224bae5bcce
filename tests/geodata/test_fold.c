/* test_fold.c: geodata/fold.c — every Vietnamese letter (12 vowels with and without each of
 * the 5 tones, in both cases, precomposed and decomposed; đ/Đ) folds to its base letter;
 * place names, punctuation, invalid UTF-8 and other scripts fold as place search needs. */
#include "fold.h"
#include "hm_buf.h"
#include "hm_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *fold(const char *s, size_t len)
{
    static char out[4096];
    size_t n;

    CHECK(len < sizeof out);
    n = hm_fold_into(s, len, out);
    CHECK(n <= len);
    CHECK(n == strlen(out));
    return out;
}

/* One vowel: no tone, huyền, sắc, hỏi, ngã, nặng; lower case, upper case, base letter. */
static const struct {
    const char *lower, *upper, *base;
} vowels[] = {
    {"aàáảãạ", "AÀÁẢÃẠ", "a"}, /* a */
    {"ăằắẳẵặ", "ĂẰẮẲẴẶ", "a"}, /* ă: breve */
    {"âầấẩẫậ", "ÂẦẤẨẪẬ", "a"}, /* â: circumflex (hat) */
    {"eèéẻẽẹ", "EÈÉẺẼẸ", "e"}, /* e */
    {"êềếểễệ", "ÊỀẾỂỄỆ", "e"}, /* ê */
    {"iìíỉĩị", "IÌÍỈĨỊ", "i"}, /* i */
    {"oòóỏõọ", "OÒÓỎÕỌ", "o"}, /* o */
    {"ôồốổỗộ", "ÔỒỐỔỖỘ", "o"}, /* ô */
    {"ơờớởỡợ", "ƠỜỚỞỠỢ", "o"}, /* ơ: horn */
    {"uùúủũụ", "UÙÚỦŨỤ", "u"}, /* u */
    {"ưừứửữự", "ƯỪỨỬỮỰ", "u"}, /* ư: horn */
    {"yỳýỷỹỵ", "YỲÝỶỸỴ", "y"}, /* y */
    {"dđ", "DĐ", "d"},         /* đ: stroke */
};

/* Each letter of `s` (UTF-8) alone folds to `base`; returns the number of letters. */
static int check_letters(const char *s, const char *base)
{
    int count = 0;

    for (const char *p = s; *p;) {
        size_t n = 1;
        while ((p[n] & 0xC0) == 0x80)
            n++;
        const char *got = fold(p, n);
        if (strcmp(got, base) != 0) {
            fprintf(stderr, "  letter %.*s folds to \"%s\", want \"%s\"\n", (int)n, p, got, base);
        }
        CHECK_STR_EQ(got, base);
        p += n;
        count++;
    }
    return count;
}

static void test_precomposed(void)
{
    for (size_t i = 0; i < sizeof vowels / sizeof vowels[0]; i++) {
        int want = vowels[i].base[0] == 'd' ? 2 : 6;
        CHECK_INT_EQ(check_letters(vowels[i].lower, vowels[i].base), want);
        CHECK_INT_EQ(check_letters(vowels[i].upper, vowels[i].base), want);
    }
}

/* Decomposed (NFD) input: base letter, then hat or horn, then tone mark, as combining
 * marks; and the marks in the other order. */
static void test_decomposed(void)
{
    static const char *const tones[] = {"",         "\xcc\x80", "\xcc\x81", "\xcc\x89",
                                        "\xcc\x83", "\xcc\xa3"}; /* U+0300 0301 0309 0303 0323 */
    static const struct {
        char base;
        const char *mod; /* U+0306 breve, U+0302 circumflex, U+031B horn */
    } letters[] = {
        {'a', ""}, {'a', "\xcc\x86"}, {'a', "\xcc\x82"}, {'e', ""}, {'e', "\xcc\x82"}, {'i', ""},
        {'o', ""}, {'o', "\xcc\x82"}, {'o', "\xcc\x9b"}, {'u', ""}, {'u', "\xcc\x9b"}, {'y', ""},
    };
    char in[32], want[2] = {0, 0};

    for (size_t l = 0; l < sizeof letters / sizeof letters[0]; l++) {
        for (size_t t = 0; t < sizeof tones / sizeof tones[0]; t++) {
            for (int upper = 0; upper < 2; upper++) {
                char b = upper ? (char)(letters[l].base - 'a' + 'A') : letters[l].base;
                want[0] = letters[l].base;
                snprintf(in, sizeof in, "%c%s%s", b, letters[l].mod, tones[t]);
                CHECK_STR_EQ(fold(in, strlen(in)), want);
                snprintf(in, sizeof in, "%c%s%s", b, tones[t], letters[l].mod);
                CHECK_STR_EQ(fold(in, strlen(in)), want);
            }
        }
    }
}

static const struct {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *want;
} texts[] = {
    {"Tân Thạnh Đông", 0, "tan thanh dong"},
    {"TÂN THẠNH ĐÔNG", 0, "tan thanh dong"},
    {"tan thanh dong", 0, "tan thanh dong"},
    /* NFD, as some keyboards and macOS file names write it */
    {"Ta\xcc\x82n Tha\xcc\xa3nh \xc4\x90o\xcc\x82ng", 0, "tan thanh dong"},
    {"  Tân-Thạnh,  Đông! ", 0, "tan thanh dong"},
    {"Xã Phước Vĩnh An", 0, "xa phuoc vinh an"},
    {"Ấp 4B", 0, "ap 4b"},
    {"Quốc lộ 22", 0, "quoc lo 22"},
    {"Nguyễn Thị Minh Khai", 0, "nguyen thi minh khai"},
    {"Đường Trần Hưng Đạo", 0, "duong tran hung dao"},
    {"Bến Cỏ", 0, "ben co"},
    {"Thị trấn Củ Chi", 0, "thi tran cu chi"},
    {"Ấp Bàu Trâm", 0, "ap bau tram"},
    {"Xóm O'Neil/Kênh 6 (cũ)", 0, "xom o neil kenh 6 cu"},
    {"Tân\xc2\xa0Thạnh", 0, "tan thanh"},               /* no-break space */
    {"Tân\tThạnh\r\nĐông", 0, "tan thanh dong"},        /* controls */
    {"Tân\xe2\x80\x94Thạnh", 0, "tan thanh"},           /* em dash */
    {"Tân\xc2\xadThạnh", 0, "tanthanh"},                /* soft hyphen is invisible */
    {"T\xe2\x80\x8d\xc3\xa2n", 0, "tan"},               /* zero-width joiner */
    {"\xef\xbc\xb4\xef\xbc\xa1\xef\xbc\xae", 0, "tan"}, /* fullwidth TAN */
    {"Straße Ærø Œuvre", 0, "strasse aero oeuvre"},
    {"Ку-Чи", 0, "ку чи"},
    {"胡志明市", 0, "胡志明市"},
    {"", 0, ""},
    {"!!! -- ...", 0, ""},
    {"\xef\xbb\xbf"
     "Tân",
     0, "tan"}, /* byte order mark */
    /* invalid UTF-8: each bad byte separates words and nothing crashes */
    {"T\xff"
     "an",
     0, "t an"},
    {"Ta\xe1\xba", 0, "ta"}, /* truncated sequence at the end */
    {"\xc0\xaf"
     "x",
     0, "x"}, /* overlong '/' */
    {"\xed\xa0\x80"
     "x",
     0, "x"}, /* surrogate */
    {"\xf4\x90\x80\x80"
     "x",
     0, "x"}, /* past U+10FFFF */
    {"\x80\x80\xbf"
     "ab",
     0, "ab"},          /* stray continuation bytes */
    {"a\0b", 3, "a b"}, /* NUL inside the text */
};

static void test_texts(void)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = texts[i].len ? texts[i].len : strlen(texts[i].in);
        const char *got = fold(texts[i].in, len);
        if (strcmp(got, texts[i].want) != 0)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_STR_EQ(got, texts[i].want);
    }
}

/* hm_fold() appends to what the buffer holds. */
static void test_buf(void)
{
    hm_buf b;

    hm_buf_init(&b);
    hm_buf_puts(&b, "x:");
    CHECK_INT_EQ(hm_fold("Củ Chi", strlen("Củ Chi"), &b), 6);
    CHECK_STR_EQ(b.data, "x:cu chi");
    CHECK_INT_EQ(hm_fold("!!", 2, &b), 0);
    CHECK_STR_EQ(b.data, "x:cu chi");
    hm_buf_clear(&b);
}

static void test_utf8_valid(void)
{
    static const struct {
        const char *s;
        bool valid;
    } cases[] = {
        {"", true},
        {"Tân Thạnh Đông", true},
        {"\xf0\x9f\x98\x80", true}, /* U+1F600 */
        {"\xff", false},
        {"\xc3", false},
        {"\xc0\xaf", false},
        {"\xe0\x80\xaf", false},
        {"\xed\xa0\x80", false},
        {"\xf4\x90\x80\x80", false},
        {"a\x80", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(hm_utf8_valid(cases[i].s, strlen(cases[i].s)) == cases[i].valid);
}

/* Any bytes: the key is valid UTF-8, no longer than the input, single-spaced and trimmed. */
static void test_any_bytes(void)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    char in[64], out[65];

    for (int round = 0; round < 200000; round++) {
        size_t len = (size_t)(round % 64), n;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Mostly bytes that make UTF-8 lead and continuation bytes, spaces and letters. */
            static const unsigned char pick[] = {0x80, 0xBF, 0xC3, 0xE1, 0xBA, 0xF0, 0xED,
                                                 ' ',  'A',  'z',  '-',  0xC4, 0x90, 0xCC};
            in[i] = (char)(x & 1 ? pick[(x >> 8) % sizeof pick] : (unsigned char)(x >> 16));
        }
        n = hm_fold_into(in, len, out);
        if (n > len || !hm_utf8_valid(out, n) || (n && (out[0] == ' ' || out[n - 1] == ' ')) ||
            strstr(out, "  ")) {
            CHECK(!"bad key");
            break;
        }
    }
}

int main(void)
{
    test_precomposed();
    test_decomposed();
    test_texts();
    test_buf();
    test_utf8_valid();
    test_any_bytes();
    return hm_test_done("test_fold");
}
