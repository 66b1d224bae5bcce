/* fold.c: the search key of a text (see fold.h). */
#include "fold.h"

#include <stdint.h>
#include <string.h>

/* The letter tables, one character per code point and a row per 16 code points, printed
 * by scripts/gen_fold_table.py from the Unicode character names: a-z is the base letter,
 * 'A'.. an index into multi[] (letters that fold to two), '.' keeps the code point as it
 * is. tests/geodata/test_fold.c checks every Vietnamese letter against them. */
static const char latin_c0[][17] = {
    "aaaaaaAceeeeiiii", /* U+00C0 */
    "dnooooo.ouuuuyBC", /* U+00D0 */
    "aaaaaaAceeeeiiii", /* U+00E0 */
    "dnooooo.ouuuuyBy", /* U+00F0 */
    "aaaaaaccccccccdd", /* U+0100 */
    "ddeeeeeeeeeegggg", /* U+0110 */
    "gggghhhhiiiiiiii", /* U+0120 */
    "iiDDjjkkklllllll", /* U+0130 */
    "lllnnnnnnnnnoooo", /* U+0140 */
    "ooEErrrrrrssssss", /* U+0150 */
    "ssttttttuuuuuuuu", /* U+0160 */
    "uuuuwwyyyzzzzzzs", /* U+0170 */
    "bbbb...cc.ddd...", /* U+0180 */
    ".ffg.F.ikkl..nno", /* U+0190 */
    "ooGGpp.....ttttu", /* U+01A0 */
    "u.vyyzz.........", /* U+01B0 */
    "....HHHIIIJJJaai", /* U+01C0 */
    "ioouuuuuuuuuu.aa", /* U+01D0 */
    "aaAAggggkkoooo..", /* U+01E0 */
    "jHHHgg..nnaaAAoo", /* U+01F0 */
    "aaaaeeeeiiiioooo", /* U+0200 */
    "rrrruuuusstt..hh", /* U+0210 */
    "ndKKzzaaeeoooooo", /* U+0220 */
    "ooyylntj..acclts", /* U+0230 */
    "z..b..eejj.qrryy", /* U+0240 */
};

static const char latin_1e00[][17] = {
    "aabbbbbbccdddddd", /* U+1E00 */
    "ddddeeeeeeeeeeff", /* U+1E10 */
    "gghhhhhhhhhhiiii", /* U+1E20 */
    "kkkkkkllllllllmm", /* U+1E30 */
    "mmmmnnnnnnnnoooo", /* U+1E40 */
    "oooopppprrrrrrrr", /* U+1E50 */
    "sssssssssstttttt", /* U+1E60 */
    "ttuuuuuuuuuuvvvv", /* U+1E70 */
    "wwwwwwwwwwxxxxyy", /* U+1E80 */
    "zzzzzzhtwyasssC.", /* U+1E90 */
    "aaaaaaaaaaaaaaaa", /* U+1EA0 */
    "aaaaaaaaeeeeeeee", /* U+1EB0 */
    "eeeeeeeeiiiioooo", /* U+1EC0 */
    "oooooooooooooooo", /* U+1ED0 */
    "oooouuuuuuuuuuuu", /* U+1EE0 */
    "uuyyyyyyyy....yy", /* U+1EF0 */
};

static const char *const multi[] = {"ae", "th", "ss", "ij", "oe", "hv",
                                    "oi", "dz", "lj", "nj", "ou"};

_Static_assert(sizeof latin_c0 / sizeof latin_c0[0] == (0x250 - 0xC0) / 16, "a row per 16");
_Static_assert(sizeof latin_1e00 / sizeof latin_1e00[0] == 0x100 / 16, "a row per 16");

/* Decode one code point of `s` (n > 0 bytes left). Returns it and sets *used, or returns
 * -1 with *used = 1 for a byte that does not start a valid sequence (overlong, surrogate,
 * past U+10FFFF, truncated), so that decoding resumes at the next byte. */
static int32_t decode(const unsigned char *s, size_t n, size_t *used)
{
    uint32_t c = s[0], min;
    size_t len;

    *used = 1;
    if (c < 0x80)
        return (int32_t)c;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, c &= 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, c &= 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n < len)
        return -1;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *used = len;
    return (int32_t)c;
}

static size_t encode(uint32_t c, char *dst)
{
    if (c < 0x80) {
        dst[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        dst[0] = (char)(0xC0 | (c >> 6));
        dst[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        dst[0] = (char)(0xE0 | (c >> 12));
        dst[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (c >> 18));
    dst[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

enum cls { SEP, DROP, KEEP, MAPPED };

/* What `c` becomes in a key: SEP (separates words), DROP (vanishes: combining marks and
 * invisible joiners), MAPPED (to the 1 or 2 bytes set in `to`), or KEEP (the code point
 * `*keep`, possibly lower-cased). */
static enum cls classify(int32_t c, char to[2], size_t *to_len, uint32_t *keep)
{
    char t = '.';

    if (c < 0)
        return SEP;
    if (c < 0x80) {
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            to[0] = (char)c;
            *to_len = 1;
            return MAPPED;
        }
        return SEP;
    }
    *keep = (uint32_t)c;
    if (c == 0xAD) /* soft hyphen: invisible inside a word */
        return DROP;
    if (c < 0xC0 || c == 0xD7 || c == 0xF7) /* C1 controls, Latin-1 signs, times, divide */
        return SEP;
    if (c < 0x250)
        t = latin_c0[(c - 0xC0) >> 4][(c - 0xC0) & 15];
    else if (c >= 0x1E00 && c < 0x1F00)
        t = latin_1e00[(c - 0x1E00) >> 4][c & 15];
    if (t >= 'a' && t <= 'z') {
        to[0] = t;
        *to_len = 1;
        return MAPPED;
    }
    if (t >= 'A' && t < 'A' + (int)(sizeof multi / sizeof multi[0])) {
        memcpy(to, multi[t - 'A'], 2);
        *to_len = 2;
        return MAPPED;
    }
    if ((c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
        (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
        (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0xFE00 && c <= 0xFE0F) || c == 0x200C ||
        c == 0x200D || c == 0x2060 || c == 0xFEFF)
        return DROP;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) /* Greek capitals */
        *keep = (uint32_t)c + 0x20;
    else if (c >= 0x410 && c <= 0x42F) /* Cyrillic capitals */
        *keep = (uint32_t)c + 0x20;
    else if (c >= 0x400 && c <= 0x40F)
        *keep = (uint32_t)c + 0x50;
    else if (c >= 0xFF01 && c <= 0xFF5E) /* fullwidth ASCII */
        return classify(c - 0xFEE0, to, to_len, keep);
    else if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) || c == 0x1680 ||
             (c >= 0xFE10 && c <= 0xFE1F) || (c >= 0xFE30 && c <= 0xFE6F) ||
             (c >= 0xFF00 && c <= 0xFF65) || (c >= 0xFFF0 && c <= 0xFFFF) ||
             (c >= 0xE000 && c <= 0xF8FF) || (c >= 0x1F000 && c <= 0x1FAFF))
        return SEP; /* spaces, punctuation, symbols, specials, private use, emoji */
    return KEEP;
}

size_t hm_fold_into(const char *s, size_t len, char *dst)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    bool pending_sep = false;

    while (i < len) {
        size_t used, to_len = 0;
        char to[4];
        uint32_t keep = 0;
        int32_t c = decode(p + i, len - i, &used);
        enum cls k = classify(c, to, &to_len, &keep);

        if (k == SEP) {
            pending_sep = o > 0;
        } else if (k != DROP) {
            if (k == KEEP)
                to_len = encode(keep, to);
            if (pending_sep)
                dst[o++] = ' ';
            pending_sep = false;
            memcpy(dst + o, to, to_len);
            o += to_len;
        }
        i += used;
        /* Never longer than the input: each space stands for at least one byte already
         * read, and no fold encodes in more bytes than its code point. */
    }
    dst[o] = '\0';
    return o;
}

size_t hm_fold(const char *s, size_t len, hm_buf *out)
{
    size_t n;

    hm_buf_reserve(out, len + 1);
    n = hm_fold_into(s, len, out->data + out->len);
    out->len += n;
    return n;
}

bool hm_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t used;
        if (decode(p + i, len - i, &used) < 0)
            return false;
        i += used;
    }
    return true;
}
