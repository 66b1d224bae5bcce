/* test_glyphs.c: the glyph ranges made at build time (tiles/tools/glyphs.c)
 * into <build>/web/fonts/<fontstack>/, decoded as MapLibre reads them: every
 * Vietnamese letter has a glyph in both fontstacks, bitmaps are the size
 * MapLibre expects ((width + 6) x (height + 6)) and are distance fields
 * (inside above the 192 edge, the border below it), metrics are sane, and
 * running the tool again gives the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glyphs.pb-c.h"
#include "hm_test.h"

static const char *const stacks[] = {"Noto Sans Regular", "Noto Sans Bold"};

/* Every letter of Vietnamese, both cases, and the dong sign. */
static const char vietnamese[] =
    "AĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY aăâbcdđeêghiklmnoôơpqrstuưvxy "
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ "
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ₫()0123456789";

static uint32_t utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c;
    int n;

    if (p[0] < 0x80) {
        c = p[0];
        n = 1;
    } else if ((p[0] & 0xe0) == 0xc0) {
        c = p[0] & 0x1f;
        n = 2;
    } else if ((p[0] & 0xf0) == 0xe0) {
        c = p[0] & 0x0f;
        n = 3;
    } else {
        c = p[0] & 0x07;
        n = 4;
    }
    for (int i = 1; i < n; i++)
        c = (c << 6) | (p[i] & 0x3f);
    *s = p + n;
    return c;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static Llmr__Glyphs__Glyphs *load_range(const char *dir, const char *stack, uint32_t start)
{
    char path[1024];
    size_t len;
    unsigned char *buf;
    Llmr__Glyphs__Glyphs *g;

    snprintf(path, sizeof path, "%s/%s/%u-%u.pbf", dir, stack, start, start + 255);
    buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    g = llmr__glyphs__glyphs__unpack(NULL, len, buf);
    free(buf);
    return g;
}

static const Llmr__Glyphs__Glyph *find(const Llmr__Glyphs__Glyphs *g, uint32_t id)
{
    if (!g || g->n_stacks != 1)
        return NULL;
    for (size_t i = 0; i < g->stacks[0]->n_glyphs; i++)
        if (g->stacks[0]->glyphs[i]->id == id)
            return g->stacks[0]->glyphs[i];
    return NULL;
}

static void test_letters(const char *fonts)
{
    for (size_t s = 0; s < 2; s++) {
        const unsigned char *p = (const unsigned char *)vietnamese;
        while (*p) {
            uint32_t c = utf8_next(&p), start = c & ~0xffu;
            Llmr__Glyphs__Glyphs *g = load_range(fonts, stacks[s], start);
            const Llmr__Glyphs__Glyph *gl = find(g, c);
            char range[32];

            snprintf(range, sizeof range, "%u-%u", start, start + 255);
            CHECK(g != NULL);
            if (g) {
                CHECK_STR_EQ(g->stacks[0]->name, stacks[s]);
                CHECK_STR_EQ(g->stacks[0]->range, range);
            }
            CHECK(gl != NULL);
            if (!gl) {
                fprintf(stderr, "  %s: no glyph U+%04X\n", stacks[s], c);
            } else if (c == ' ') {
                CHECK(gl->width == 0 && !gl->has_bitmap && gl->advance > 0);
            } else {
                size_t in = 0, out = 0;
                CHECK(gl->width > 0 && gl->height > 0 && gl->has_bitmap);
                CHECK_INT_EQ(gl->bitmap.len, (size_t)(gl->width + 6) * (gl->height + 6));
                CHECK(gl->advance >= gl->width / 2 && gl->advance < 40);
                CHECK(gl->left > -8 && gl->left < 24);
                CHECK(gl->top > -40 && gl->top < 8);
                for (size_t i = 0; i < gl->bitmap.len; i++) {
                    if (gl->bitmap.data[i] >= 192)
                        in++;
                    else
                        out++;
                }
                CHECK(in > 0 && out > 0);
            }
            llmr__glyphs__glyphs__free_unpacked(g, NULL);
        }
    }
}

/* The distance field's shape on 'I': a bar, solid at its middle, far from
 * the corners of the buffer, and the edge value near the outline. */
static void test_distance_field(const char *fonts)
{
    Llmr__Glyphs__Glyphs *g = load_range(fonts, stacks[0], 0);
    const Llmr__Glyphs__Glyph *gl = find(g, 'I');

    CHECK(gl != NULL);
    if (gl && gl->has_bitmap) {
        uint32_t w = gl->width + 6, h = gl->height + 6;
        const uint8_t *b = gl->bitmap.data;
        CHECK(b[(h / 2) * w + w / 2] >= 200); /* middle of the bar */
        CHECK(b[0] < 100 && b[w - 1] < 100);  /* corners of the buffer */
        CHECK(b[(h - 1) * w] < 100 && b[h * w - 1] < 100);
        /* Along the middle row, values rise to the bar and fall after it. */
        CHECK(b[(h / 2) * w + 0] < b[(h / 2) * w + 2]);
        CHECK(b[(h / 2) * w + w - 1] < b[(h / 2) * w + w - 3]);
        /* 'I' sits on the baseline: its top is cap height above it. */
        CHECK(gl->height >= 14 && gl->height <= 20);
    }
    /* The dot below 'ạ' reaches below the baseline, its hook above. */
    llmr__glyphs__glyphs__free_unpacked(g, NULL);
    g = load_range(fonts, stacks[0], 0x1e00);
    gl = find(g, 0x1ea1);
    {
        Llmr__Glyphs__Glyphs *g0 = load_range(fonts, stacks[0], 0);
        const Llmr__Glyphs__Glyph *a = find(g0, 'a');
        CHECK(gl && a);
        if (gl && a) {
            /* Same top (x-height), taller by the dot. */
            CHECK_INT_EQ(gl->top, a->top);
            CHECK(gl->height > a->height + 2);
            CHECK_INT_EQ(gl->advance, a->advance);
        }
        llmr__glyphs__glyphs__free_unpacked(g0, NULL);
    }
    llmr__glyphs__glyphs__free_unpacked(g, NULL);
}

/* A phone pays only for the labels' alphabet in the ranges every Vietnamese
 * label loads: Latin Extended letters no Vietnamese name uses are left out of
 * 256-511 and 7680-7935 (they cost a first visit ~90 KB gzip'd), so the three
 * ranges a Vietnamese label needs stay under 140 KB before gzip; other
 * scripts keep their glyphs (Greek, Cyrillic: fetched only when used). */
static void test_alphabet(const char *fonts)
{
    static const uint32_t absent[] = {0x0141 /* Ł */, 0x015A /* Ś */, 0x01E6 /* Ǧ */,
                                      0x1E9E /* ẞ */};
    static const uint32_t present[] = {0x0219 /* ș */, 0x03A9 /* Ω */, 0x0416 /* Ж */,
                                       0x20AB /* ₫ */};
    static const char *const needed[] = {"0-255", "256-511", "7680-7935"};
    size_t total = 0;

    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
        char path[1024];
        uint32_t start = absent[i] & ~0xffu;
        Llmr__Glyphs__Glyphs *g;
        /* either the whole range is left out or the letter is not in it */
        snprintf(path, sizeof path, "%s/%s/%u-%u.pbf", fonts, stacks[0], start, start + 255);
        if (access(path, R_OK) != 0)
            continue;
        g = load_range(fonts, stacks[0], start);
        CHECK(g != NULL && find(g, absent[i]) == NULL);
        llmr__glyphs__glyphs__free_unpacked(g, NULL);
    }
    for (size_t i = 0; i < sizeof present / sizeof *present; i++) {
        Llmr__Glyphs__Glyphs *g = load_range(fonts, stacks[0], present[i] & ~0xffu);
        CHECK(g != NULL && find(g, present[i]) != NULL);
        llmr__glyphs__glyphs__free_unpacked(g, NULL);
    }
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) {
        char path[1024];
        size_t len = 0;
        unsigned char *buf;
        snprintf(path, sizeof path, "%s/%s/%s.pbf", fonts, stacks[0], needed[i]);
        buf = slurp(path, &len);
        CHECK(buf != NULL);
        free(buf);
        total += len;
    }
    if (total >= 140 * 1024)
        fprintf(stderr, "  glyphs of a Vietnamese label: %zu bytes\n", total);
    CHECK(total < 140 * 1024);
}

/* The tool gives the same bytes again. */
static void test_deterministic(const char *fonts)
{
    char dir[] = "/tmp/hm_glyphs_XXXXXX", cmd[2048], a[1024], b[1024];
    static const char *const ranges[] = {"0-255", "256-511", "768-1023", "7680-7935"};
    unsigned char *x, *y;
    size_t nx, ny;

    if (!mkdtemp(dir))
        return;
    snprintf(cmd, sizeof cmd, "'%s' '%s' 'Noto Sans Regular' '%s'", HM_GLYPHS_TOOL,
             HM_NOTO_SANS_REGULAR, dir);
    CHECK(system(cmd) == 0);
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        snprintf(a, sizeof a, "%s/Noto Sans Regular/%s.pbf", fonts, ranges[i]);
        snprintf(b, sizeof b, "%s/%s.pbf", dir, ranges[i]);
        x = slurp(a, &nx);
        y = slurp(b, &ny);
        CHECK(x && y && nx == ny && memcmp(x, y, nx) == 0);
        free(x);
        free(y);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    const char *fonts = HM_WEB_BUILD_DIR "/fonts";

    test_letters(fonts);
    test_distance_field(fonts);
    test_alphabet(fonts);
    test_deterministic(fonts);
    return hm_test_done("test_glyphs");
}
