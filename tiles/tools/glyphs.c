/* glyphs.c: build-time tool that writes the glyph ranges MapLibre GL loads
 * from "glyphs": "/fonts/{fontstack}/{range}.pbf", so that the map labels
 * its streets with no font server on the internet.
 *
 *     glyphs FONT.ttf "Noto Sans Regular" OUTDIR
 *
 * writes OUTDIR/{start}-{end}.pbf (start a multiple of 256, end = start +
 * 255) for every range of U+0000..U+FFFF in which the font has a glyph; a
 * range without one is not written, and MapLibre then draws those letters
 * with the browser's own fonts.
 *
 * Two ranges are cut to the letters Vietnamese takes from them, because every
 * Vietnamese label loads both (ơ ư đ ă are in 256-511, the tone letters in
 * 7680-7935) and in full they cost a phone 263 KB (114 KB gzip'd): the
 * Latin Extended-A/B letters of other languages and the Latin Extended
 * Additional letters beyond U+1EA0..U+1EF9 are left out (covered()). Every
 * other range keeps every glyph the font has; it is only fetched when a
 * label uses it. `glyphs --all …` writes every glyph of the font (a map of
 * somewhere else).
 *
 * Each file is one `glyphs` message of
 * glyphs.proto (node-fontnik's format): the glyphs rendered at 24 px as
 * signed distance fields with a 3 px buffer, radius 8 px and cutoff 0.25, so
 * that the outline sits at 192/255 where MapLibre's shader draws the edge.
 *
 * The distance field is computed here from the FreeType outline (not from a
 * bitmap): curves are cut into a fixed number of line segments, each
 * pixel centre gets the distance to the nearest segment (within the radius),
 * negative inside by the non-zero winding rule. Metrics follow fontnik:
 * left/top of the rounded outline box, top measured from the ascender,
 * advance in whole pixels. The output depends only on the font file. */
#include <errno.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glyphs.pb-c.h"

#define SIZE_PX     24
#define BUFFER      3
#define RADIUS      8.0
#define CUTOFF      0.25
#define CURVE_STEPS 8 /* line segments per curve: < 0.05 px off at 24 px */

typedef struct pt {
    double x, y;
} pt;

typedef struct outline {
    pt *p;         /* all points, contours one after another */
    size_t *start; /* index of each contour's first point */
    size_t n, cap, ncontours, capcontours;
} outline;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "glyphs: out of memory\n");
        exit(1);
    }
    return q;
}

static void push(outline *o, double x, double y)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 256;
        o->p = xrealloc(o->p, o->cap * sizeof *o->p);
    }
    o->p[o->n].x = x;
    o->p[o->n].y = y;
    o->n++;
}

static pt last(const outline *o)
{
    return o->p[o->n - 1];
}

static int move_to(const FT_Vector *to, void *user)
{
    outline *o = user;
    if (o->ncontours == o->capcontours) {
        o->capcontours = o->capcontours ? o->capcontours * 2 : 16;
        o->start = xrealloc(o->start, o->capcontours * sizeof *o->start);
    }
    o->start[o->ncontours++] = o->n;
    push(o, to->x / 64.0, to->y / 64.0);
    return 0;
}

static int line_to(const FT_Vector *to, void *user)
{
    push(user, to->x / 64.0, to->y / 64.0);
    return 0;
}

static int conic_to(const FT_Vector *c, const FT_Vector *to, void *user)
{
    outline *o = user;
    pt a = last(o), b = {c->x / 64.0, c->y / 64.0}, e = {to->x / 64.0, to->y / 64.0};

    for (int i = 1; i <= CURVE_STEPS; i++) {
        double t = (double)i / CURVE_STEPS, u = 1.0 - t;
        push(o, u * u * a.x + 2 * u * t * b.x + t * t * e.x,
             u * u * a.y + 2 * u * t * b.y + t * t * e.y);
    }
    return 0;
}

static int cubic_to(const FT_Vector *c1, const FT_Vector *c2, const FT_Vector *to, void *user)
{
    outline *o = user;
    pt a = last(o), b = {c1->x / 64.0, c1->y / 64.0}, c = {c2->x / 64.0, c2->y / 64.0},
       e = {to->x / 64.0, to->y / 64.0};

    for (int i = 1; i <= CURVE_STEPS; i++) {
        double t = (double)i / CURVE_STEPS, u = 1.0 - t;
        push(o, u * u * u * a.x + 3 * u * u * t * b.x + 3 * u * t * t * c.x + t * t * t * e.x,
             u * u * u * a.y + 3 * u * u * t * b.y + 3 * u * t * t * c.y + t * t * t * e.y);
    }
    return 0;
}

/* Squared distance from p to segment ab. */
static double seg_dist2(pt p, pt a, pt b)
{
    double dx = b.x - a.x, dy = b.y - a.y, l2 = dx * dx + dy * dy, t = 0.0;

    if (l2 > 0.0) {
        t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2;
        t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    }
    dx = a.x + t * dx - p.x;
    dy = a.y + t * dy - p.y;
    return dx * dx + dy * dy;
}

/* The segment from point i to the next of its contour (closing the ring). */
static pt seg_end(const outline *o, size_t c, size_t i)
{
    size_t end = c + 1 < o->ncontours ? o->start[c + 1] : o->n;
    return i + 1 < end ? o->p[i + 1] : o->p[o->start[c]];
}

/* Non-zero winding number of the outline around p. */
static bool inside(const outline *o, pt p)
{
    int w = 0;

    for (size_t c = 0; c < o->ncontours; c++) {
        size_t end = c + 1 < o->ncontours ? o->start[c + 1] : o->n;
        for (size_t i = o->start[c]; i < end; i++) {
            pt a = o->p[i], b = seg_end(o, c, i);
            double cross = (b.x - a.x) * (p.y - a.y) - (p.x - a.x) * (b.y - a.y);
            if (a.y <= p.y) {
                if (b.y > p.y && cross > 0)
                    w++;
            } else if (b.y <= p.y && cross < 0) {
                w--;
            }
        }
    }
    return w != 0;
}

typedef struct sdf_glyph {
    uint32_t width, height, advance;
    int32_t left, top;
    uint8_t *bitmap; /* (width + 2 BUFFER) x (height + 2 BUFFER), rows from the top */
    size_t len;
} sdf_glyph;

/* Render `code` of `face`; false when the font has no glyph for it. */
static bool render(FT_Face face, uint32_t code, sdf_glyph *g)
{
    FT_UInt gi = FT_Get_Char_Index(face, code);
    FT_Outline_Funcs funcs = {move_to, line_to, conic_to, cubic_to, 0, 0};
    outline o = {0};
    double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    uint32_t bw, bh;
    int32_t ascender = (int32_t)(face->size->metrics.ascender / 64);

    memset(g, 0, sizeof *g);
    if (gi == 0 || FT_Load_Glyph(face, gi, FT_LOAD_NO_HINTING) != 0)
        return false;
    g->advance = (uint32_t)(face->glyph->metrics.horiAdvance / 64);
    g->top = -ascender; /* as fontnik writes a glyph without outline */
    if (face->glyph->format != FT_GLYPH_FORMAT_OUTLINE ||
        FT_Outline_Decompose(&face->glyph->outline, &funcs, &o) != 0 || o.n == 0)
        goto out; /* a space: metrics only */
    for (size_t i = 0; i < o.n; i++) {
        xmin = fmin(xmin, o.p[i].x);
        ymin = fmin(ymin, o.p[i].y);
        xmax = fmax(xmax, o.p[i].x);
        ymax = fmax(ymax, o.p[i].y);
    }
    xmin = round(xmin);
    ymin = round(ymin);
    xmax = round(xmax);
    ymax = round(ymax);
    if (xmax - xmin <= 0 || ymax - ymin <= 0)
        goto out;
    g->left = (int32_t)xmin;
    g->top = (int32_t)ymax - ascender;
    g->width = (uint32_t)(xmax - xmin);
    g->height = (uint32_t)(ymax - ymin);
    bw = g->width + 2 * BUFFER;
    bh = g->height + 2 * BUFFER;
    g->len = (size_t)bw * bh;
    g->bitmap = xrealloc(NULL, g->len);
    for (uint32_t row = 0; row < bh; row++) {
        for (uint32_t col = 0; col < bw; col++) {
            /* Pixel centre in outline units; row 0 is the top. */
            pt p = {xmin - BUFFER + col + 0.5, ymax + BUFFER - row - 0.5};
            double best = RADIUS * RADIUS, d;
            int v;
            for (size_t c = 0; c < o.ncontours; c++) {
                size_t end = c + 1 < o.ncontours ? o.start[c + 1] : o.n;
                for (size_t i = o.start[c]; i < end; i++) {
                    pt a = o.p[i], b = seg_end(&o, c, i);
                    if (fmin(a.x, b.x) - p.x > RADIUS || p.x - fmax(a.x, b.x) > RADIUS ||
                        fmin(a.y, b.y) - p.y > RADIUS || p.y - fmax(a.y, b.y) > RADIUS)
                        continue;
                    d = seg_dist2(p, a, b);
                    if (d < best)
                        best = d;
                }
            }
            d = sqrt(best) * (256.0 / RADIUS);
            if (inside(&o, p))
                d = -d;
            d += CUTOFF * 256.0;
            v = d >= 255.0 ? 255 : d <= 0.0 ? 0 : (int)d;
            g->bitmap[(size_t)row * bw + col] = (uint8_t)(255 - v);
        }
    }
out:
    free(o.p);
    free(o.start);
    return true;
}

/* Whether code point c is written: everything but the letters of other languages in the two
 * ranges every Vietnamese label loads. */
static bool covered(uint32_t c)
{
    static const uint32_t vi[] = {0x0102, 0x0103, 0x0110, 0x0111, 0x0128, 0x0129,
                                  0x0168, 0x0169, 0x01A0, 0x01A1, 0x01AF, 0x01B0};
    if (c >= 0x0100 && c <= 0x01FF) {
        for (size_t i = 0; i < sizeof vi / sizeof vi[0]; i++)
            if (vi[i] == c)
                return true;
        return false;
    }
    if (c >= 0x1E00 && c <= 0x1EFF)
        return c >= 0x1EA0 && c <= 0x1EF9;
    return true;
}

static bool all_glyphs; /* --all: every glyph of the font */

static int write_range(FT_Face face, const char *stack, const char *dir, uint32_t start)
{
    Llmr__Glyphs__Glyphs msg = LLMR__GLYPHS__GLYPHS__INIT;
    Llmr__Glyphs__Fontstack fs = LLMR__GLYPHS__FONTSTACK__INIT;
    Llmr__Glyphs__Fontstack *stacks[1] = {&fs};
    Llmr__Glyphs__Glyph *glyphs[256], items[256];
    sdf_glyph sdf[256];
    char range[32], path[4096], tmp[4120];
    size_t n = 0, len;
    uint8_t *buf;
    FILE *f;
    int rc = 0;

    for (uint32_t code = start; code < start + 256; code++) {
        sdf_glyph *g = &sdf[n];
        Llmr__Glyphs__Glyph *it = &items[n];
        if ((!all_glyphs && !covered(code)) || !render(face, code, g))
            continue;
        llmr__glyphs__glyph__init(it);
        it->id = code;
        it->width = g->width;
        it->height = g->height;
        it->left = g->left;
        it->top = g->top;
        it->advance = g->advance;
        if (g->bitmap) {
            it->has_bitmap = 1;
            it->bitmap.data = g->bitmap;
            it->bitmap.len = g->len;
        }
        glyphs[n++] = it;
    }
    if (n == 0)
        return 0;
    snprintf(range, sizeof range, "%u-%u", start, start + 255);
    fs.name = (char *)stack;
    fs.range = range;
    fs.n_glyphs = n;
    fs.glyphs = glyphs;
    msg.n_stacks = 1;
    msg.stacks = stacks;
    len = llmr__glyphs__glyphs__get_packed_size(&msg);
    buf = xrealloc(NULL, len ? len : 1);
    llmr__glyphs__glyphs__pack(&msg, buf);
    snprintf(path, sizeof path, "%s/%s.pbf", dir, range);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "glyphs: write %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(sdf[i].bitmap);
    return rc;
}

int main(int argc, char **argv)
{
    FT_Library lib;
    FT_Face face;
    int rc = 0;

    if (argc == 5 && strcmp(argv[1], "--all") == 0) {
        all_glyphs = true;
        argv++, argc--;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: glyphs [--all] FONT.ttf \"Font Stack Name\" OUTDIR\n");
        return 2;
    }
    if (mkdir(argv[3], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "glyphs: mkdir %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    if (FT_Init_FreeType(&lib) != 0) {
        fprintf(stderr, "glyphs: FreeType does not start\n");
        return 1;
    }
    if (FT_New_Face(lib, argv[1], 0, &face) != 0) {
        fprintf(stderr, "glyphs: cannot open font %s (Debian package fonts-noto-core)\n", argv[1]);
        FT_Done_FreeType(lib);
        return 1;
    }
    if (FT_Set_Char_Size(face, 0, SIZE_PX * 64, 0, 0) != 0) {
        fprintf(stderr, "glyphs: %s cannot be scaled\n", argv[1]);
        rc = 1;
    }
    for (uint32_t start = 0; rc == 0 && start < 65536; start += 256)
        if (write_range(face, argv[2], argv[3], start) != 0)
            rc = 1;
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
    return rc;
}
