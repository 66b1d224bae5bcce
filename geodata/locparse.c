/* locparse.c: "paste a location" — map links, geo: URIs and plain
 * coordinates to lon/lat. See locparse.h for the accepted forms.
 *
 * Everything works on (pointer, length) slices of the caller's bytes and
 * never reads past them; decoding writes into buffers on the stack of at most
 * HM_LOC_MAX_TEXT bytes (decoding only shrinks text). Numbers are read by
 * read_num() below, not strtod(), so the process locale never matters. */
#include "locparse.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Why a text was refused; each has one fixed sentence in why_msg[]. W_NONE
 * is internal: "this candidate is not coordinates, try the next one". */
enum why {
    W_OK = 0,
    W_NONE,
    W_EMPTY,
    W_TOO_LONG,
    W_SHORT_LINK,
    W_UNKNOWN_SITE,
    W_LINK_NO_COORDS,
    W_NO_COORDS,
    W_LAT_RANGE,
    W_LON_RANGE,
    W_LON_FIRST,
    W_MIN_SEC,
    W_AXES,
    W_SIGN_AND_HEMI,
    W_AMBIGUOUS,
    W_GEO_CRS,
    W__COUNT
};

/* The user reads these (translated by the web layer): say what to do. Each
 * stays under 160 bytes (hm_error.msg), checked by test_locparse. */
static const char *const why_msg[W__COUNT] = {
    [W_OK] = "ok",
    [W_NONE] = "no coordinates found; paste a map link, or latitude and longitude such as "
               "10.9935, 106.4921",
    [W_EMPTY] = "paste a map link or coordinates, such as 10.9935, 106.4921",
    [W_TOO_LONG] = "the text is longer than 2048 bytes; paste only the map link or the coordinates",
    [W_SHORT_LINK] = "this is a short link; open it and copy the long link from the address bar, "
                     "or send the coordinates",
    [W_UNKNOWN_SITE] = "links from this site are not understood; send a Google Maps, OpenStreetMap "
                       "or Apple Maps link, or the coordinates",
    [W_LINK_NO_COORDS] = "this link holds no coordinates; drop a pin on the place and share that "
                         "link, or send the coordinates",
    [W_NO_COORDS] = "no coordinates found; paste a map link, or latitude and longitude such as "
                    "10.9935, 106.4921",
    [W_LAT_RANGE] = "latitude must be between -90 and 90",
    [W_LON_RANGE] = "longitude must be between -180 and 180",
    [W_LON_FIRST] = "the first number is not a latitude; send latitude first, then longitude, "
                    "such as 10.9935, 106.4921",
    [W_MIN_SEC] = "write degrees, minutes and seconds as 10 59 36.7 N; minutes and seconds below "
                  "60, decimals only on the last number",
    [W_AXES] = "give one latitude (N or S) and one longitude (E or W)",
    [W_SIGN_AND_HEMI] = "use either a minus sign or a hemisphere letter (S, W), not both",
    [W_AMBIGUOUS] = "cannot tell the two numbers apart; write decimals with a point, such as "
                    "10.9935, 106.4921",
    [W_GEO_CRS] = "only geo: links in WGS84 (the GPS system) are understood",
};

/* A run of bytes inside the caller's text or a decode buffer. */
typedef struct sl {
    const char *p;
    size_t n;
} sl;

static sl mksl(const char *p, size_t n)
{
    sl s = {p, n};
    return s;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int hexval(int c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* True when `s` starts with the ASCII word `pre`, ignoring case. */
static bool prefix_ci(sl s, const char *pre)
{
    size_t k = strlen(pre);
    if (s.n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)s.p[i]) != pre[i])
            return false;
    return true;
}

/* True when `s` is the ASCII word `w`, ignoring case. */
static bool eq_ci(sl s, const char *w)
{
    return s.n == strlen(w) && prefix_ci(s, w);
}

/* `s` without its first k bytes (k <= s.n). */
static sl skip(sl s, size_t k)
{
    assert(k <= s.n);
    return mksl(s.p + k, s.n - k);
}

/* Bytes of the whitespace character at p (ASCII blanks, no-break and other
 * Unicode spaces, zero-width characters and direction marks that phones put
 * in copied text, the BOM), 0 when p holds none. */
static size_t ws_len(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n == 0)
        return 0;
    if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r'))
        return 1;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
        return 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8F) || u[2] == 0xAF))
        return 3; /* U+2000..U+200F, U+202F */
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F)
        return 3; /* U+205F */
    if (n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
        return 3; /* U+3000 */
    if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        return 3; /* U+FEFF */
    return 0;
}

/* Bytes of the whitespace character that ends at s.p[s.n - 1], 0 if none. */
static size_t ws_len_back(sl s)
{
    for (size_t k = 1; k <= 3 && k <= s.n; k++)
        if (ws_len(s.p + s.n - k, k) == k)
            return k;
    return 0;
}

/* `s` without blanks at either end. */
static sl trim(sl s)
{
    size_t k;
    while ((k = ws_len(s.p, s.n)) > 0)
        s = skip(s, k);
    while ((k = ws_len_back(s)) > 0)
        s.n -= k;
    return s;
}

/* Index of the first byte `c` in s, or s.n. */
static size_t find(sl s, char c)
{
    const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
    return q ? (size_t)(q - s.p) : s.n;
}

/* Index of the first occurrence of `w` (ASCII, case-sensitive) at or after
 * `from`, or s.n. */
static size_t find_str(sl s, size_t from, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = from; i + k <= s.n; i++)
        if (memcmp(s.p + i, w, k) == 0)
            return i;
    return s.n;
}

/* Split `*rest` at the first `c`: the part before goes to *head, the part
 * after to *rest. Returns false when *rest was empty. */
static bool split(sl *rest, char c, sl *head)
{
    size_t k;
    if (rest->n == 0 || !rest->p)
        return false;
    k = find(*rest, c);
    *head = mksl(rest->p, k);
    *rest = k < rest->n ? skip(*rest, k + 1) : mksl(rest->p + rest->n, 0);
    return true;
}

/* Decode %XX escapes of `b[0..n)` in place ('+' becomes a space when
 * `plus`); other '%' stay. Returns the new length (<= n). */
static size_t pct_inplace(char *b, size_t n, bool plus, bool *changed)
{
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        int hi, lo;
        if (b[r] == '%' && r + 2 < n && (hi = hexval((unsigned char)b[r + 1])) >= 0 &&
            (lo = hexval((unsigned char)b[r + 2])) >= 0) {
            b[w++] = (char)(hi << 4 | lo);
            r += 2;
            *changed = true;
        } else if (plus && b[r] == '+') {
            b[w++] = ' ';
            *changed = true;
        } else {
            b[w++] = b[r];
        }
    }
    return w;
}

/* Copy `raw` (at most HM_LOC_MAX_TEXT bytes) into `out` and decode its %XX
 * escapes, '+' as space when `plus`; links copied out of other links are
 * often encoded twice or three times, so up to two more rounds follow while
 * escapes remain (those rounds leave '+', which was then a real plus). */
static sl decode(sl raw, char *out, bool plus)
{
    size_t n = raw.n;
    bool changed = true;
    assert(raw.n <= HM_LOC_MAX_TEXT);
    if (n)
        memcpy(out, raw.p, n);
    for (int round = 0; round < 3 && changed; round++) {
        changed = false;
        n = pct_inplace(out, n, plus && round == 0, &changed);
    }
    return mksl(out, n);
}

/* ---- numbers --------------------------------------------------------------------- */

/* One unsigned number as written: its value and how it was written. */
typedef struct num {
    double v;  /* absolute value, finite (1e300 stands for "far too large") */
    bool neg;  /* written with a minus sign */
    bool sign; /* written with any sign */
    bool frac; /* has a decimal part */
} num;

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Bytes and kind (T_DEG, T_MIN, T_SEC) of the degree, minute or second mark
 * at p, 0 when there is none. */
enum tk { T_NUM, T_DEG, T_MIN, T_SEC, T_HEMI, T_SEP, T_LAT, T_LON };

static size_t mark_len(const char *p, size_t n, enum tk *kind)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n == 0)
        return 0;
    if (u[0] == '\'') {
        if (n >= 2 && u[1] == '\'')
            return *kind = T_SEC, 2;
        return *kind = T_MIN, 1;
    }
    if (u[0] == '"')
        return *kind = T_SEC, 1;
    if (n >= 2 && u[0] == 0xC2 && (u[1] == 0xB0 || u[1] == 0xBA)) /* ° º */
        return *kind = T_DEG, 2;
    if (n >= 2 && u[0] == 0xCB && u[1] == 0x9A) /* ˚ */
        return *kind = T_DEG, 2;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xB4) /* ´ */
        return *kind = T_MIN, 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80) {
        if (u[2] == 0xB2 || u[2] == 0x98 || u[2] == 0x99) /* ′ ‘ ’ */
            return *kind = T_MIN, 3;
        if (u[2] == 0xB3 || u[2] == 0x9C || u[2] == 0x9D) /* ″ “ ” */
            return *kind = T_SEC, 3;
    }
    return 0;
}

/* Read the unsigned digits of a number at s.p[*i]: digits, then optionally a
 * decimal separator and more digits (".5" is fine, "5." is not a decimal
 * part). The separator is '.', or ',' when `comma` says every comma between
 * digits is decimal, or when a degree/minute/second mark follows the digits
 * after the comma (36,7"). At most 18 significant digits count; the value is
 * the 18-digit integer divided by an exact power of ten, so a number written
 * with up to 15 significant digits comes out correctly rounded. Returns false
 * (and leaves *i) when no digit is there. */
static bool read_num(sl s, size_t *i, bool comma, num *out)
{
    size_t j = *i;
    uint64_t m = 0;
    int sig = 0, e10 = 0;
    bool any = false, frac = false;
    double v;

    for (; j < s.n && is_digit(s.p[j]); j++) {
        int d = s.p[j] - '0';
        any = true;
        if (m == 0 && d == 0)
            continue;
        if (sig < 18)
            m = m * 10 + (uint64_t)d, sig++;
        else if (e10 < 400)
            e10++;
    }
    if (j + 1 < s.n && (s.p[j] == '.' || s.p[j] == ',') && is_digit(s.p[j + 1])) {
        bool dec = s.p[j] == '.';
        if (!dec) {
            size_t k = j + 1;
            enum tk kind;
            while (k < s.n && is_digit(s.p[k]))
                k++;
            dec = comma || mark_len(s.p + k, s.n - k, &kind) > 0;
        }
        if (dec) {
            frac = any = true;
            for (j++; j < s.n && is_digit(s.p[j]); j++) {
                int d = s.p[j] - '0';
                if (m == 0 && d == 0) {
                    if (e10 > -400)
                        e10--;
                } else if (sig < 18) {
                    m = m * 10 + (uint64_t)d, sig++, e10--;
                }
            }
        }
    }
    if (!any)
        return false;
    v = (double)m;
    if (e10 > 22 || (e10 > 0 && v * pow10_tab[e10] > 1e300))
        v = 1e300;
    else if (e10 > 0)
        v *= pow10_tab[e10];
    else if (e10 >= -22)
        v /= pow10_tab[-e10];
    else
        v = v / 1e22 / pow10_tab[-e10 - 22 > 22 ? 22 : -e10 - 22]; /* tiny anyway */
    out->v = v;
    out->frac = frac;
    out->neg = out->sign = false;
    *i = j;
    return true;
}

/* A signed decimal with '.' only ("-10.5", "+106"), as links write them.
 * Returns false when there is none at s.p[*i]. */
static bool read_signed(sl s, size_t *i, double *v)
{
    size_t j = *i;
    bool neg = false;
    num x;
    if (j < s.n && (s.p[j] == '-' || s.p[j] == '+'))
        neg = s.p[j++] == '-';
    if (!read_num(s, &j, false, &x))
        return false;
    *v = neg ? -x.v : x.v;
    *i = j;
    return true;
}

/* Advance *i past blanks. */
static void skip_ws(sl s, size_t *i)
{
    size_t k;
    while ((k = ws_len(s.p + *i, s.n - *i)) > 0)
        *i += k;
}

/* "lat,lon" of signed decimals (blanks allowed around the comma) at s.p[*i];
 * the caller checks what follows. */
static bool read_pair(sl s, size_t *i, char sep, double *a, double *b)
{
    size_t j = *i;
    skip_ws(s, &j);
    if (!read_signed(s, &j, a))
        return false;
    skip_ws(s, &j);
    if (j >= s.n || s.p[j] != sep)
        return false;
    j++;
    skip_ws(s, &j);
    if (!read_signed(s, &j, b))
        return false;
    *i = j;
    return true;
}

/* W_OK when lat is in [-90, 90] and lon in [-180, 180] (NaN is neither). */
static int check_range(double lat, double lon)
{
    if (!(fabs(lat) <= 90.0))
        return W_LAT_RANGE;
    if (!(fabs(lon) <= 180.0))
        return W_LON_RANGE;
    return W_OK;
}

/* ---- plain coordinates ------------------------------------------------------------- */

#define MAX_TOK 32

typedef struct tok {
    enum tk t;
    char c; /* T_HEMI: 'N', 'S', 'E', 'W'; T_SEP: ',', ';' or '/' */
    num v;  /* T_NUM */
} tok;

/* True when `s` is two numbers with one decimal comma each, as "10,9935
 * 106,4921": no '.', and splitting on blanks and ';' (a comma that ends a
 * piece separates too) leaves exactly two pieces with digits, each holding
 * exactly one comma, between digits. */
static bool comma_decimal_text(sl s)
{
    size_t i = 0, pieces = 0;
    if (find(s, '.') < s.n)
        return false;
    while (i < s.n) {
        size_t a, b, commas = 0, k;
        bool digits = false, good = true;
        if ((k = ws_len(s.p + i, s.n - i)) > 0 || s.p[i] == ';') {
            i += k ? k : 1;
            continue;
        }
        for (a = i; i < s.n && !ws_len(s.p + i, s.n - i) && s.p[i] != ';'; i++)
            digits |= is_digit(s.p[i]);
        b = i;
        if (b > a && s.p[b - 1] == ',')
            b--;
        for (size_t j = a; j < b; j++) {
            if (s.p[j] != ',')
                continue;
            commas++;
            good &= j > a && j + 1 < b && is_digit(s.p[j - 1]) && is_digit(s.p[j + 1]);
        }
        if (!digits)
            continue;
        if (commas != 1 || !good)
            return false;
        pieces++;
    }
    return pieces == 2;
}

/* Words of plain coordinates: hemisphere letters and axis labels. */
static bool word_tok(sl w, tok *t)
{
    static const struct {
        const char *w;
        enum tk t;
        char c;
    } words[] = {
        {"n", T_HEMI, 'N'},     {"s", T_HEMI, 'S'},      {"e", T_HEMI, 'E'},
        {"w", T_HEMI, 'W'},     {"north", T_HEMI, 'N'},  {"south", T_HEMI, 'S'},
        {"east", T_HEMI, 'E'},  {"west", T_HEMI, 'W'},   {"lat", T_LAT, 0},
        {"latitude", T_LAT, 0}, {"lon", T_LON, 0},       {"lng", T_LON, 0},
        {"long", T_LON, 0},     {"longitude", T_LON, 0},
    };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (eq_ci(w, words[k].w)) {
            t->t = words[k].t;
            t->c = words[k].c;
            return true;
        }
    }
    return false;
}

/* Split plain text into tokens. Returns W_OK, or W_NONE for any byte that
 * no form uses (letters other than the words above, a '-' glued to the end of
 * a number, more than MAX_TOK tokens). */
static int lex(sl s, tok *t, size_t *nt)
{
    bool comma = comma_decimal_text(s);
    size_t i = 0, n = 0;

    while (i < s.n) {
        unsigned char c = (unsigned char)s.p[i];
        size_t k;
        enum tk kind;

        if ((k = ws_len(s.p + i, s.n - i)) > 0) {
            i += k;
            continue;
        }
        if (n == MAX_TOK)
            return W_NONE;
        if (c == '+' && i > 0 && is_digit(s.p[i - 1])) {
            i++; /* "10.99+106.49": a '+' left from a URL's space */
            continue;
        }
        if (c == '+' || c == '-' ||
            (c == 0xE2 && i + 2 < s.n && (unsigned char)s.p[i + 1] == 0x88 &&
             (unsigned char)s.p[i + 2] == 0x92)) {
            bool neg = c != '+';
            size_t j = i + (c == 0xE2 ? 3 : 1);
            if (i > 0 && is_digit(s.p[i - 1]))
                return W_NONE; /* "10-20": a range, not two numbers */
            if (!read_num(s, &j, comma, &t[n].v))
                return W_NONE;
            t[n].t = T_NUM;
            t[n].v.neg = neg;
            t[n].v.sign = true;
            n++;
            i = j;
            continue;
        }
        if (is_digit(c) || (c == '.' && i + 1 < s.n && is_digit(s.p[i + 1]))) {
            if (!read_num(s, &i, comma, &t[n].v))
                return W_NONE;
            t[n++].t = T_NUM;
            continue;
        }
        if ((k = mark_len(s.p + i, s.n - i, &kind)) > 0) {
            t[n++].t = kind;
            i += k;
            continue;
        }
        if (c == ',' || c == ';' || c == '/') {
            t[n].t = T_SEP;
            t[n++].c = (char)c;
            i++;
            continue;
        }
        if (is_alpha(c)) {
            size_t a = i;
            while (i < s.n && is_alpha(s.p[i]))
                i++;
            if (!word_tok(mksl(s.p + a, i - a), &t[n]))
                return W_NONE;
            if (t[n].t != T_HEMI && i < s.n && (s.p[i] == ':' || s.p[i] == '='))
                i++; /* "lat: 10.99", "lat=10.99" */
            n++;
            continue;
        }
        return W_NONE;
    }
    *nt = n;
    return W_OK;
}

/* One coordinate as read from its tokens. */
typedef struct coord {
    double v;  /* signed degrees */
    char axis; /* 'a' latitude, 'o' longitude, 0 unknown (plain order) */
    bool dms;  /* had minutes */
    bool hemi; /* had a hemisphere letter */
    bool label;
} coord;

/* [label] [hemi] deg [°] [min ['] [sec ["]]] [hemi], with minutes and
 * seconds below 60 and decimals only on the last number. */
static int parse_coord(const tok *t, size_t n, coord *c)
{
    static const enum tk want[3] = {T_DEG, T_MIN, T_SEC};
    num part[3];
    size_t i = 0;
    int np = 0;
    char hemi = 0, label = 0;
    double v;

    memset(c, 0, sizeof *c);
    if (i < n && (t[i].t == T_LAT || t[i].t == T_LON))
        label = t[i++].t == T_LAT ? 'a' : 'o';
    if (i < n && t[i].t == T_HEMI)
        hemi = t[i++].c;
    while (i < n && t[i].t == T_NUM) {
        if (np == 3)
            return W_MIN_SEC;
        part[np] = t[i++].v;
        if (i < n && (t[i].t == T_DEG || t[i].t == T_MIN || t[i].t == T_SEC)) {
            if (t[i].t != want[np])
                return W_MIN_SEC;
            i++;
        }
        np++;
    }
    if (np == 0)
        return W_NONE;
    if (i < n && t[i].t == T_HEMI && !hemi)
        hemi = t[i++].c;
    if (i != n)
        return W_NONE;
    for (int k = 1; k < np; k++)
        if (part[k].sign || !(part[k].v < 60.0) || part[k - 1].frac)
            return W_MIN_SEC;
    v = part[0].v;
    if (np > 1)
        v += part[1].v / 60.0;
    if (np > 2)
        v += part[2].v / 3600.0;
    if (hemi) {
        if (part[0].neg)
            return W_SIGN_AND_HEMI;
        if (hemi == 'S' || hemi == 'W')
            v = -v;
        c->axis = hemi == 'N' || hemi == 'S' ? 'a' : 'o';
    } else if (part[0].neg) {
        v = -v;
    }
    if (label) {
        if (c->axis && c->axis != label)
            return W_AXES;
        c->axis = label;
    }
    c->v = v;
    c->dms = np > 1;
    c->hemi = hemi != 0;
    c->label = label != 0;
    return W_OK;
}

/* Where the second coordinate starts in t[0..n), or 0 when the tokens do not
 * say. Separators are handled by the caller. */
static size_t split_point(const tok *t, size_t n)
{
    size_t hemis = 0, labels = 0, degs = 0, nums = 0, first = 0;

    for (size_t i = 0; i < n; i++) {
        hemis += t[i].t == T_HEMI;
        labels += t[i].t == T_LAT || t[i].t == T_LON;
        degs += t[i].t == T_DEG;
        nums += t[i].t == T_NUM;
    }
    if (n > 0 && (t[0].t == T_LAT || t[0].t == T_LON))
        first = 1;
    if (hemis > 0) {
        if (first < n && t[first].t == T_HEMI) { /* "N 10.99 E 106.49": at the 2nd letter */
            for (size_t i = first + 1; i < n; i++)
                if (t[i].t == T_HEMI)
                    return i > 0 && (t[i - 1].t == T_LAT || t[i - 1].t == T_LON) ? i - 1 : i;
            return 0;
        }
        for (size_t i = 0; i < n; i++) /* "10.99 N 106.49 E": after the 1st */
            if (t[i].t == T_HEMI)
                return i + 1 < n ? i + 1 : 0;
    }
    if (labels > 0) {
        for (size_t i = 1; i < n; i++)
            if (t[i].t == T_LAT || t[i].t == T_LON)
                return i;
        return 0;
    }
    if (degs >= 2) { /* 10°59'36.7" 106°29'31.6": at the 2nd degree number */
        for (size_t i = 1; i + 1 < n; i++)
            if (t[i].t == T_NUM && t[i + 1].t == T_DEG)
                return i;
        return 0;
    }
    if (nums == n && (n == 2 || n == 4 || n == 6))
        return n / 2; /* "10 59 36.7 106 29 31.6" */
    return 0;
}

/* Plain coordinates, the whole of `s`. Returns W_OK with lat, lon in range,
 * W_NONE when `s` is not coordinates at all, or a specific refusal. */
static int parse_plain(sl s, double *lat, double *lon, bool *dms)
{
    tok t[MAX_TOK];
    size_t nt = 0, cut = 0, seps = 0, b_from;
    coord a, b;
    int w;

    s = trim(s);
    if (s.n >= 2 && s.p[0] == '(' && s.p[s.n - 1] == ')')
        s = trim(mksl(s.p + 1, s.n - 2));
    if ((w = lex(s, t, &nt)) != W_OK)
        return w;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].t == T_SEP) {
            seps++;
            cut = i;
        }
    }
    if (seps > 1)
        return W_AMBIGUOUS;
    if (seps == 1) {
        b_from = cut + 1;
    } else {
        cut = b_from = split_point(t, nt);
        if (cut == 0)
            return W_NONE;
    }
    if (cut == 0 || b_from >= nt)
        return W_NONE;
    if ((w = parse_coord(t, cut, &a)) != W_OK ||
        (w = parse_coord(t + b_from, nt - b_from, &b)) != W_OK)
        return w;
    if (a.hemi != b.hemi || a.label != b.label)
        return W_AXES; /* letters on both or on neither: "1E5" is not 5 N 1 E */
    if (a.axis && b.axis) {
        if (a.axis == b.axis)
            return W_AXES;
        if (a.axis == 'o') {
            coord x = a;
            a = b;
            b = x;
        }
    } else if (fabs(a.v) > 90.0 && fabs(b.v) <= 90.0) {
        return W_LON_FIRST;
    }
    if ((w = check_range(a.v, b.v)) != W_OK)
        return w;
    *lat = a.v;
    *lon = b.v;
    *dms = a.dms || b.dms;
    return W_OK;
}

/* Plain coordinates as people paste them: besides parse_plain(), the end of
 * a sentence (final '.', ',' or ';'), a trailing "(label)" and a leading
 * label without digits before a ':' ("Toạ độ: 10.99, 106.49", "loc:") are
 * dropped. */
static int parse_pasted(sl s, double *lat, double *lon, bool *dms)
{
    size_t k;
    bool digits = false;
    int w;

    s = trim(s);
    while (s.n && memchr(".,;", s.p[s.n - 1], 3))
        s = trim(mksl(s.p, s.n - 1));
    if (s.n > 1 && s.p[s.n - 1] == ')') {
        for (k = s.n - 1; k > 0 && s.p[k] != '('; k--)
            ;
        if (k > 0)
            s = trim(mksl(s.p, k));
    }
    k = find(s, ':');
    for (size_t i = 0; i < k; i++)
        digits |= is_digit(s.p[i]);
    if (k == s.n || k > 40 || digits)
        return parse_plain(s, lat, lon, dms);
    if ((w = parse_plain(s, lat, lon, dms)) != W_NONE) /* "lat: 10.99 lon: 106.49" */
        return w;
    return parse_plain(skip(s, k + 1), lat, lon, dms);
}

/* ---- links ------------------------------------------------------------------------- */

/* One value of a link that may hold coordinates in any plain form (q=,
 * query=, ll=, a /place/ or /search/ segment): decoded, then a "Name@"
 * before the coordinates is dropped, and what parse_pasted() drops
 * ("loc:", a trailing "(label)"). */
static int try_text(sl raw, bool plus, double *lat, double *lon)
{
    char buf[HM_LOC_MAX_TEXT];
    bool dms;
    sl s;
    size_t k;

    if (!raw.p || raw.n == 0)
        return W_NONE;
    s = decode(raw, buf, plus);
    for (k = s.n; k > 0 && s.p[k - 1] != '@'; k--)
        ;
    return parse_pasted(skip(s, k), lat, lon, &dms);
}

/* The raw value of the first parameter `key` of `q` ("a=1&b=2"; keys
 * compared ignoring case, "amp;" of an HTML-escaped '&' ignored). */
static bool get_param(sl q, const char *key, sl *val)
{
    sl rest = q, pair;
    while (split(&rest, '&', &pair)) {
        size_t eq = find(pair, '=');
        sl k = mksl(pair.p, eq);
        if (prefix_ci(k, "amp;"))
            k = skip(k, 4);
        if (eq < pair.n && eq_ci(k, key)) {
            *val = skip(pair, eq + 1);
            return true;
        }
    }
    return false;
}

/* try_text() on the value of parameter `key`; W_NONE when it is absent. */
static int param_text(sl q, const char *key, double *lat, double *lon)
{
    sl v;
    return get_param(q, key, &v) ? try_text(v, true, lat, lon) : W_NONE;
}

/* One signed decimal, the whole of a decoded parameter value. */
static bool param_number(sl q, const char *key, double *v)
{
    char buf[HM_LOC_MAX_TEXT];
    size_t i = 0;
    sl raw, s;
    if (!get_param(q, key, &raw))
        return false;
    s = trim(decode(raw, buf, true));
    return read_signed(s, &i, v) && i == s.n;
}

/* Two parameters holding latitude and longitude (mlat=&mlon=). */
static int param_pair(sl q, const char *klat, const char *klon, double *lat, double *lon)
{
    double a, o;
    bool has_a = param_number(q, klat, &a), has_o = param_number(q, klon, &o);
    int w;
    if (!has_a || !has_o)
        return W_NONE;
    if ((w = check_range(a, o)) != W_OK)
        return w;
    *lat = a;
    *lon = o;
    return W_OK;
}

/* The last "<ka><number><kb><number>" in `s` (Google's data part:
 * "!3d10.99!4d106.49"), with the numbers as (first, second). */
static bool last_marked_pair(sl s, const char *ka, const char *kb, double *first, double *second)
{
    size_t la = strlen(ka), lb = strlen(kb);
    bool found = false;
    for (size_t at = find_str(s, 0, ka); at < s.n; at = find_str(s, at + 1, ka)) {
        size_t i = at + la;
        double x, y;
        if (!read_signed(s, &i, &x) || i + lb > s.n || memcmp(s.p + i, kb, lb) != 0)
            continue;
        i += lb;
        if (!read_signed(s, &i, &y) || (i < s.n && s.p[i] != '!'))
            continue;
        *first = x;
        *second = y;
        found = true;
    }
    return found;
}

/* A decoded URL: lower-case host without "user@", port and final dot. */
typedef struct url {
    char host[256];
    sl path; /* from the '/' after the host, without query and fragment */
    sl query;
    sl frag;
} url;

/* Host names that only a lookup on the internet can resolve. */
static bool short_host(const char *h)
{
    static const char *const hosts[] = {
        "goo.gl",  "g.co",  "share.google", "maps.apple", "bit.ly",      "tinyurl.com",
        "t.ly",    "is.gd", "rb.gy",        "cutt.ly",    "shorturl.at", "ow.ly",
        "buff.ly", "t.co",  "s.id",         "tiny.cc",
    };
    size_t n = strlen(h);
    for (size_t k = 0; k < sizeof hosts / sizeof hosts[0]; k++) {
        size_t m = strlen(hosts[k]);
        if (!strcmp(h, hosts[k]) || (n > m && h[n - m - 1] == '.' && !strcmp(h + n - m, hosts[k])))
            return true; /* the name or a subdomain: maps.app.goo.gl */
    }
    return false;
}

/* google.<tld>, www.google.<tld> or maps.google.<tld>, where <tld> is one or
 * two labels of 2-3 letters (com, com.vn, co.uk, vn). */
static bool google_host(const char *h, bool *maps)
{
    size_t labels = 0, len = 0;
    *maps = false;
    if (!strncmp(h, "www.", 4))
        h += 4;
    else if (!strncmp(h, "maps.", 5))
        h += 5, *maps = true;
    if (strncmp(h, "google.", 7) != 0)
        return false;
    for (h += 7;; h++) {
        if (is_alpha(*h)) {
            len++;
            continue;
        }
        if (len < 2 || len > 3)
            return false;
        labels++, len = 0;
        if (*h == '\0')
            return labels <= 2;
        if (*h != '.')
            return false;
    }
}

/* True when host `h` is `name` or one of its subdomains. */
static bool host_is(const char *h, const char *name)
{
    size_t n = strlen(h), m = strlen(name);
    return !strcmp(h, name) || (n > m && h[n - m - 1] == '.' && !strcmp(h + n - m, name));
}

/* Google Maps: see locparse.h for the order. */
static int google(const url *u, bool maps_host, double *lat, double *lon)
{
    sl rest = u->path, seg, at = {NULL, 0}, data = {NULL, 0}, text = {NULL, 0}, dest = {NULL, 0};
    char mode = 0; /* 'p' place, 's' search, 'd' dir */
    bool first = true, maps = maps_host;
    double x, y;
    int w;

    if (rest.n && rest.p[0] == '/')
        rest = skip(rest, 1);
    while (split(&rest, '/', &seg)) {
        if (first && eq_ci(seg, "maps")) {
            maps = true;
        } else if (seg.n && seg.p[0] == '@') {
            if (!at.p)
                at = seg;
        } else if (prefix_ci(seg, "data=")) {
            data = seg;
        } else if (!mode && (eq_ci(seg, "place") || eq_ci(seg, "search") || eq_ci(seg, "dir"))) {
            mode = (char)lower((unsigned char)seg.p[0]);
        } else if ((mode == 'p' || mode == 's') && !text.p) {
            text = seg;
        } else if (mode == 'd' && !at.p && !data.p && seg.n) {
            dest = seg;
        }
        first = false;
    }
    if (!maps)
        return W_UNKNOWN_SITE; /* google.com/search?q=...: not a map */

    if (mode == 'd') {
        if ((w = try_text(dest, true, lat, lon)) != W_NONE)
            return w;
        if ((w = param_text(u->query, "destination", lat, lon)) != W_NONE ||
            (w = param_text(u->query, "daddr", lat, lon)) != W_NONE)
            return w;
        if (last_marked_pair(data, "!1d", "!2d", &x, &y)) {
            if ((w = check_range(y, x)) == W_OK)
                *lat = y, *lon = x;
            return w;
        }
        return W_LINK_NO_COORDS;
    }
    if (last_marked_pair(data, "!3d", "!4d", &x, &y)) {
        if ((w = check_range(x, y)) == W_OK)
            *lat = x, *lon = y;
        return w;
    }
    if ((w = try_text(text, true, lat, lon)) != W_NONE)
        return w;
    {
        static const char *const keys[] = {"q",  "query",  "daddr",     "destination",
                                           "ll", "center", "viewpoint", "sll"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if ((w = param_text(u->query, keys[k], lat, lon)) != W_NONE)
                return w;
    }
    if (at.p) { /* "@10.99,106.49,15z": the view centre */
        char buf[HM_LOC_MAX_TEXT];
        sl s = decode(skip(at, 1), buf, true);
        size_t i = 0;
        if (read_pair(s, &i, ',', &x, &y) && (i == s.n || s.p[i] == ',')) {
            if ((w = check_range(x, y)) == W_OK)
                *lat = x, *lon = y;
            return w;
        }
    }
    return W_LINK_NO_COORDS;
}

/* OpenStreetMap: see locparse.h for the order. */
static int osm(const url *u, double *lat, double *lon)
{
    sl v, rest, frag = u->frag, item;
    int w;

    if ((w = param_pair(u->query, "mlat", "mlon", lat, lon)) != W_NONE)
        return w;
    if (get_param(u->query, "route", &v)) { /* directions: "a;b", b is where to go */
        char buf[HM_LOC_MAX_TEXT];
        sl s = decode(v, buf, true), last = {NULL, 0};
        rest = s;
        while (split(&rest, ';', &item))
            if (trim(item).n)
                last = item;
        if ((w = try_text(last, false, lat, lon)) != W_NONE)
            return w;
    }
    if ((w = param_text(u->query, "query", lat, lon)) != W_NONE)
        return w;
    if ((w = param_pair(u->query, "lat", "lon", lat, lon)) != W_NONE)
        return w;
    rest = frag;
    while (split(&rest, '&', &item)) { /* #map=17/10.99350/106.49210 */
        char buf[HM_LOC_MAX_TEXT];
        size_t i = 0;
        double z, a, o;
        sl s;
        if (!prefix_ci(item, "map="))
            continue;
        s = decode(skip(item, 4), buf, false);
        if (read_signed(s, &i, &z) && i < s.n && s.p[i] == '/' &&
            (i++, read_pair(s, &i, '/', &a, &o)) && i == s.n) {
            if ((w = check_range(a, o)) == W_OK)
                *lat = a, *lon = o;
            return w;
        }
    }
    return W_LINK_NO_COORDS;
}

/* Apple Maps: see locparse.h for the order. */
static int apple(const url *u, double *lat, double *lon)
{
    static const char *const keys[] = {"coordinate", "ll",          "q",   "query",
                                       "daddr",      "destination", "sll", "center"};
    int w;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if ((w = param_text(u->query, keys[k], lat, lon)) != W_NONE)
            return w;
    return W_LINK_NO_COORDS;
}

/* An http(s) link, or one without its scheme ("www.google.com/maps?..."). */
static int parse_url(sl s, double *lat, double *lon, hm_loc_form *form)
{
    char pre[HM_LOC_MAX_TEXT];
    url u;
    sl auth;
    size_t k, hn;
    bool maps_host;

    /* A link copied out of another link's parameter: "https%3A%2F%2F...". */
    if (prefix_ci(s, "http%3a") || prefix_ci(s, "https%3a"))
        s = decode(s, pre, false);
    if (prefix_ci(s, "https://"))
        s = skip(s, 8);
    else if (prefix_ci(s, "http://"))
        s = skip(s, 7);
    for (k = 0; k < s.n && s.p[k] != '/' && s.p[k] != '?' && s.p[k] != '#'; k++)
        ;
    auth = mksl(s.p, k);
    s = skip(s, k);
    for (k = auth.n; k > 0 && auth.p[k - 1] != '@'; k--)
        ;
    auth = skip(auth, k); /* user@ */
    auth.n = find(auth, ':');
    if (auth.n && auth.p[auth.n - 1] == '.')
        auth.n--;
    if (auth.n == 0 || auth.n >= sizeof u.host)
        return W_UNKNOWN_SITE;
    for (hn = 0; hn < auth.n; hn++)
        u.host[hn] = (char)lower((unsigned char)auth.p[hn]);
    u.host[hn] = '\0';
    if (memchr(u.host, '\0', hn))
        return W_UNKNOWN_SITE;

    k = find(s, '#');
    u.frag = k < s.n ? skip(s, k + 1) : mksl(s.p + s.n, 0);
    s.n = k;
    k = find(s, '?');
    u.query = k < s.n ? skip(s, k + 1) : mksl(s.p + s.n, 0);
    u.path = mksl(s.p, k);

    if (short_host(u.host))
        return W_SHORT_LINK;
    if (google_host(u.host, &maps_host)) {
        *form = HM_LOC_GOOGLE;
        return google(&u, maps_host, lat, lon);
    }
    if (host_is(u.host, "openstreetmap.org") || host_is(u.host, "osm.org")) {
        *form = HM_LOC_OSM;
        if (prefix_ci(u.path, "/go/"))
            return W_SHORT_LINK;
        return osm(&u, lat, lon);
    }
    if (!strcmp(u.host, "maps.apple.com")) {
        *form = HM_LOC_APPLE;
        return apple(&u, lat, lon);
    }
    return W_UNKNOWN_SITE;
}

/* geo:lat,lon[,alt][;crs=wgs84][;u=..][?q=lat,lon(label)][&z=..] */
static int parse_geo(sl s, double *lat, double *lon)
{
    char buf[HM_LOC_MAX_TEXT];
    sl path, query, params, item;
    size_t k = find(s, '?'), i = 0;
    double a = 0, o = 0, alt;
    bool have;
    int w;

    path = mksl(s.p, k);
    query = k < s.n ? skip(s, k + 1) : mksl(s.p + s.n, 0);
    path = decode(path, buf, false);
    k = find(path, ';');
    params = k < path.n ? skip(path, k + 1) : mksl(path.p + path.n, 0);
    path.n = k;
    have = read_pair(path, &i, ',', &a, &o);
    if (have) {
        size_t j = i;
        skip_ws(path, &j);
        if (j < path.n && path.p[j] == ',') { /* altitude */
            j++;
            skip_ws(path, &j);
            if (read_signed(path, &j, &alt))
                i = j;
        }
        skip_ws(path, &i);
        have = i == path.n;
    }
    while (split(&params, ';', &item)) {
        size_t eq = find(item, '=');
        if (eq < item.n && eq_ci(trim(mksl(item.p, eq)), "crs") &&
            !eq_ci(trim(skip(item, eq + 1)), "wgs84"))
            return W_GEO_CRS;
    }
    if ((w = param_text(query, "q", lat, lon)) != W_NONE)
        return w;
    if (!have || (a == 0.0 && o == 0.0))
        return W_LINK_NO_COORDS; /* geo:0,0?q=an+address: Android's "no position" */
    if ((w = check_range(a, o)) != W_OK)
        return w;
    *lat = a;
    *lon = o;
    return W_OK;
}

/* Known hosts that may be pasted without "https://". */
static bool schemeless_link(sl s)
{
    static const char *const pre[] = {
        "www.",         "google.",           "maps.google.", "goo.gl/",        "maps.app.goo.gl/",
        "g.co/",        "openstreetmap.org", "osm.org/",     "maps.apple.com", "maps.apple/",
        "share.google/"};
    for (size_t k = 0; k < sizeof pre / sizeof pre[0]; k++)
        if (prefix_ci(s, pre[k]))
            return true;
    return false;
}

/* True when `s` starts with a link (geo:, http(s)://, encoded or schemeless). */
static bool link_start(sl s)
{
    return prefix_ci(s, "geo:") || prefix_ci(s, "http://") || prefix_ci(s, "https://") ||
           prefix_ci(s, "http%3a") || prefix_ci(s, "https%3a") || schemeless_link(s);
}

/* A link that starts `s`. An http(s) link ends at the first blank (a real
 * space in a link is written %20 or '+'), a geo: URI at the end of the text;
 * either without a final '.', ',', ';' or '!' that ends the sentence around
 * it ("...?q=10.99,106.49."). */
static int parse_link(sl s, double *lat, double *lon, hm_loc_form *form)
{
    bool geo = prefix_ci(s, "geo:");
    size_t k = s.n;
    if (!geo)
        for (k = 0; k < s.n && !ws_len(s.p + k, s.n - k); k++)
            ;
    while (k > 0 && memchr(".,;!", s.p[k - 1], 4))
        k--;
    s.n = k;
    if (geo) {
        *form = HM_LOC_GEO_URI;
        return parse_geo(skip(s, 4), lat, lon);
    }
    return parse_url(s, lat, lon, form);
}

/* The first link inside other words ("Nhà tôi: https://..."), up to the
 * next blank. */
static bool find_link(sl s, sl *link)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char prev = i ? (unsigned char)s.p[i - 1] : ' ';
        sl rest = skip(s, i);
        size_t k;
        if (is_alpha(prev) || is_digit(prev) || prev == '.' || prev == '/' || prev == '%' ||
            prev == '-' || prev == '_' || !link_start(rest))
            continue;
        for (k = 0; k < rest.n && !ws_len(rest.p + k, rest.n - k); k++)
            ;
        *link = mksl(rest.p, k);
        return true;
    }
    return false;
}

/* The whole location_text: a link at its start, else plain coordinates,
 * else the first link inside it. Returns W_OK or the refusal. */
static int parse_text(sl s, double *lat, double *lon, hm_loc_form *form)
{
    char buf[HM_LOC_MAX_TEXT];
    bool dms = false;
    sl link;
    int w;

    s = trim(s);
    if (s.n == 0)
        return W_EMPTY;
    if (link_start(s)) {
        w = parse_link(s, lat, lon, form);
        return w == W_NONE ? W_LINK_NO_COORDS : w;
    }
    w = parse_pasted(decode(s, buf, false), lat, lon, &dms);
    if (w == W_OK) {
        *form = dms ? HM_LOC_DMS : HM_LOC_DECIMAL;
        return W_OK;
    }
    if (w == W_NONE && find_link(s, &link)) {
        w = parse_link(link, lat, lon, form);
        return w == W_NONE ? W_LINK_NO_COORDS : w;
    }
    if (w != W_LAT_RANGE && w != W_LON_RANGE && w != W_LON_FIRST && find(s, '.') == s.n) {
        for (size_t i = 1; i + 1 < s.n; i++)
            if (s.p[i] == ',' && is_digit(s.p[i - 1]) && is_digit(s.p[i + 1]))
                return W_AMBIGUOUS; /* "10,99 106": decimal commas we could not read */
    }
    return w == W_NONE ? W_NO_COORDS : w;
}

int hm_loc_parse(const char *text, size_t len, double *lon, double *lat, hm_loc_form *form,
                 hm_error *err)
{
    double a = NAN, o = NAN;
    hm_loc_form f = HM_LOC_DECIMAL;
    int w;

    if (!text)
        len = 0;
    if (len > HM_LOC_MAX_TEXT)
        w = W_TOO_LONG;
    else
        w = parse_text(mksl(text, len), &a, &o, &f);
    if (w == W_OK && (!isfinite(a) || !isfinite(o) || check_range(a, o) != W_OK))
        w = W_NO_COORDS; /* NEVER: every path checks the range */
    if (w != W_OK) {
        assert(w > W_OK && w < W__COUNT && why_msg[w]);
        return hm_error_set(err, HM_E_INVALID_FIELD, "location_text", "%s", why_msg[w]);
    }
    *lat = a + 0.0; /* -0 becomes 0 */
    *lon = o + 0.0;
    if (form)
        *form = f;
    return HM_OK;
}

const char *hm_loc_form_name(hm_loc_form f)
{
    static const char *const names[HM_LOC__COUNT] = {
        [HM_LOC_DECIMAL] = "decimal", [HM_LOC_DMS] = "dms", [HM_LOC_GEO_URI] = "geo",
        [HM_LOC_GOOGLE] = "google",   [HM_LOC_OSM] = "osm", [HM_LOC_APPLE] = "apple",
    };
    if ((int)f < 0 || f >= HM_LOC__COUNT)
        return "unknown";
    return names[f];
}
