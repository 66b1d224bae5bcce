/* sprites.c: build-time tool that draws helpmap's map icons and writes the
 * sprite MapLibre GL loads from "sprite": "/sprite":
 *
 *     sprites OUTDIR
 *
 * writes OUTDIR/sprite.json, sprite.png, sprite@2x.json and sprite@2x.png.
 * The icons are the kinds of relief point (shelter, food, water, medical,
 * charging, boat, other: a coloured disc with a white rim and a white
 * symbol) and a pin, drawn here from circles and polygons with 4 x 4 samples
 * per pixel, so the files depend on nothing but this code. PNG: 8-bit RGBA,
 * straight alpha, zlib level 9. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SAMPLES 4
#define GAP     2 /* transparent pixels between icons, against bleeding */

typedef struct shape {
    enum { END = 0, CIRCLE, POLY } kind;
    double cx, cy, r; /* CIRCLE, in icon units 0..1 (y down) */
    const double *xy; /* POLY: n points x, y */
    int n;
} shape;

typedef struct icon {
    const char *name;
    int w, h;            /* at pixel ratio 1 */
    uint32_t color;      /* 0xRRGGBB of the disc */
    const shape *symbol; /* white, on the disc */
} icon;

/* Symbols in the unit square of the disc. */
static const double house[] = {0.5,  0.22, 0.78, 0.47, 0.7,  0.47, 0.7,
                               0.76, 0.3,  0.76, 0.3,  0.47, 0.22, 0.47};
static const double bowl[] = {0.22, 0.5,  0.78, 0.5,  0.74, 0.6, 0.66, 0.7,
                              0.56, 0.76, 0.44, 0.76, 0.34, 0.7, 0.26, 0.6};
static const double steam[] = {0.42, 0.24, 0.48, 0.24, 0.48, 0.44, 0.42, 0.44};
static const double steam2[] = {0.54, 0.24, 0.6, 0.24, 0.6, 0.44, 0.54, 0.44};
static const double drop_top[] = {0.5, 0.2, 0.69, 0.56, 0.31, 0.56};
static const double cross_v[] = {0.42, 0.22, 0.58, 0.22, 0.58, 0.78, 0.42, 0.78};
static const double cross_h[] = {0.22, 0.42, 0.78, 0.42, 0.78, 0.58, 0.22, 0.58};
static const double bolt[] = {0.56, 0.18, 0.32, 0.54, 0.48, 0.54,
                              0.42, 0.82, 0.68, 0.44, 0.52, 0.44};
static const double hull[] = {0.2, 0.6, 0.8, 0.6, 0.68, 0.76, 0.32, 0.76};
static const double sail[] = {0.52, 0.2, 0.52, 0.56, 0.76, 0.56};
static const double mast[] = {0.46, 0.24, 0.5, 0.24, 0.5, 0.6, 0.46, 0.6};

static const shape s_shelter[] = {{POLY, 0, 0, 0, house, 7}, {END, 0, 0, 0, NULL, 0}};
static const shape s_food[] = {{POLY, 0, 0, 0, bowl, 8},
                               {POLY, 0, 0, 0, steam, 4},
                               {POLY, 0, 0, 0, steam2, 4},
                               {END, 0, 0, 0, NULL, 0}};
static const shape s_water[] = {
    {CIRCLE, 0.5, 0.6, 0.19, NULL, 0}, {POLY, 0, 0, 0, drop_top, 3}, {END, 0, 0, 0, NULL, 0}};
static const shape s_medical[] = {
    {POLY, 0, 0, 0, cross_v, 4}, {POLY, 0, 0, 0, cross_h, 4}, {END, 0, 0, 0, NULL, 0}};
static const shape s_charging[] = {{POLY, 0, 0, 0, bolt, 6}, {END, 0, 0, 0, NULL, 0}};
static const shape s_boat[] = {{POLY, 0, 0, 0, hull, 4},
                               {POLY, 0, 0, 0, sail, 3},
                               {POLY, 0, 0, 0, mast, 4},
                               {END, 0, 0, 0, NULL, 0}};
static const shape s_other[] = {{CIRCLE, 0.5, 0.5, 0.14, NULL, 0}, {END, 0, 0, 0, NULL, 0}};

/* Colours: the request categories' (web/assets/js/util.js) where they meet. */
static const icon icons[] = {
    {"shelter", 24, 24, 0xa78bfa, s_shelter},   {"food", 24, 24, 0xf59e0b, s_food},
    {"water", 24, 24, 0x38bdf8, s_water},       {"medical", 24, 24, 0xec4899, s_medical},
    {"charging", 24, 24, 0x22c55e, s_charging}, {"boat", 24, 24, 0x2563eb, s_boat},
    {"other", 24, 24, 0x64748b, s_other},       {"pin", 24, 32, 0xef4444, NULL},
};
#define NICONS (sizeof icons / sizeof *icons)

static bool in_poly(const double *xy, int n, double x, double y)
{
    bool in = false;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

static bool in_shapes(const shape *s, double x, double y)
{
    for (; s && s->kind != END; s++) {
        if (s->kind == CIRCLE && hypot(x - s->cx, y - s->cy) <= s->r)
            return true;
        if (s->kind == POLY && in_poly(s->xy, s->n, x, y))
            return true;
    }
    return false;
}

/* Inside a pin shape: a disc of radius r around (0.5, 0.47) and the
 * triangle from its tangent points down to the tip at (0.5, tip_y). */
static bool in_pin(double x, double y, double r, double tip_y)
{
    double cy = 0.47, d = tip_y - cy, c, sn, t[6];

    if (hypot(x - 0.5, y - cy) <= r)
        return true;
    if (d <= r)
        return false;
    c = r / d; /* cos of the tangent point's angle from the downward axis */
    sn = sqrt(1.0 - c * c);
    t[0] = 0.5 - r * sn;
    t[1] = cy + r * c;
    t[2] = 0.5 + r * sn;
    t[3] = cy + r * c;
    t[4] = 0.5;
    t[5] = tip_y;
    return in_poly(t, 3, x, y);
}

/* Colour of one sample at (x, y) in icon units (0..1 across the width).
 * Returns false for transparent. */
static bool sample(const icon *ic, double x, double y, uint32_t *rgb)
{
    double h = (double)ic->h / ic->w; /* height in width units */

    if (!ic->symbol) { /* the pin: a white rim, the colour, a white dot */
        if (!in_pin(x, y, 0.47, h - 0.03))
            return false;
        *rgb =
            in_pin(x, y, 0.40, h - 0.13) && hypot(x - 0.5, y - 0.47) > 0.14 ? ic->color : 0xffffff;
        return true;
    }
    if (hypot(x - 0.5, y - 0.5) > 0.47)
        return false;
    if (hypot(x - 0.5, y - 0.5) > 0.40) {
        *rgb = 0xffffff; /* rim */
        return true;
    }
    *rgb = in_shapes(ic->symbol, x, y) ? 0xffffff : ic->color;
    return true;
}

/* Draw icon `ic` at `scale` into the sheet at (ox, oy). */
static void draw(const icon *ic, int scale, uint8_t *rgba, int stride, int ox, int oy)
{
    int w = ic->w * scale, h = ic->h * scale;

    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
            double r = 0, g = 0, b = 0, a = 0;
            uint8_t *o = rgba + (size_t)(oy + py) * stride + (size_t)(ox + px) * 4;
            for (int sy = 0; sy < SAMPLES; sy++)
                for (int sx = 0; sx < SAMPLES; sx++) {
                    double x = (px + (sx + 0.5) / SAMPLES) / w;
                    double y = (py + (sy + 0.5) / SAMPLES) / w; /* width units */
                    uint32_t c;
                    if (!sample(ic, x, y, &c))
                        continue;
                    r += (c >> 16) & 0xff;
                    g += (c >> 8) & 0xff;
                    b += c & 0xff;
                    a += 1;
                }
            if (a == 0)
                continue;
            o[0] = (uint8_t)lround(r / a);
            o[1] = (uint8_t)lround(g / a);
            o[2] = (uint8_t)lround(b / a);
            o[3] = (uint8_t)lround(255.0 * a / (SAMPLES * SAMPLES));
        }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t head[8], tail[4];
    uLong crc = crc32(0L, (const Bytef *)type, 4);

    put32(head, len);
    memcpy(head + 4, type, 4);
    if (len)
        crc = crc32(crc, data, len);
    put32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) &&
                   fwrite(tail, 1, 4, f) == 4
               ? 0
               : -1;
}

static int write_png(const char *path, const uint8_t *rgba, int w, int h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t rowlen = (size_t)w * 4 + 1, rawlen = rowlen * (size_t)h;
    uint8_t ihdr[13], *raw = malloc(rawlen);
    uLongf zlen = compressBound((uLong)rawlen);
    uint8_t *z = malloc(zlen);
    FILE *f = NULL;
    int rc = -1;

    if (!raw || !z)
        goto out;
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * rowlen] = 0; /* filter: none */
        memcpy(raw + (size_t)y * rowlen + 1, rgba + (size_t)y * w * 4, (size_t)w * 4);
    }
    if (compress2(z, &zlen, raw, (uLong)rawlen, 9) != Z_OK)
        goto out;
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 6;  /* RGBA */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    f = fopen(path, "wb");
    if (!f || fwrite(sig, 1, 8, f) != 8 || chunk(f, "IHDR", ihdr, 13) != 0 ||
        chunk(f, "IDAT", z, (uint32_t)zlen) != 0 || chunk(f, "IEND", NULL, 0) != 0)
        goto out;
    rc = 0;
out:
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "sprites: write %s: %s\n", path, strerror(errno));
    free(raw);
    free(z);
    return rc;
}

static int write_sheet(const char *dir, int scale)
{
    const char *suffix = scale == 1 ? "" : "@2x";
    char path[4096];
    int w = 0, h = 0, x = 0, rc;
    uint8_t *rgba;
    FILE *f;

    for (size_t i = 0; i < NICONS; i++) {
        w += icons[i].w * scale + (i + 1 < NICONS ? GAP : 0);
        if (icons[i].h * scale > h)
            h = icons[i].h * scale;
    }
    rgba = calloc((size_t)w * h * 4, 1);
    if (!rgba)
        return -1;
    snprintf(path, sizeof path, "%s/sprite%s.json", dir, suffix);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sprites: write %s: %s\n", path, strerror(errno));
        free(rgba);
        return -1;
    }
    fputs("{", f);
    for (size_t i = 0; i < NICONS; i++) {
        draw(&icons[i], scale, rgba, w * 4, x, 0);
        fprintf(f,
                "%s\n  \"%s\": {\"x\": %d, \"y\": 0, \"width\": %d, \"height\": %d, "
                "\"pixelRatio\": %d}",
                i ? "," : "", icons[i].name, x, icons[i].w * scale, icons[i].h * scale, scale);
        x += icons[i].w * scale + GAP;
    }
    fputs("\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "sprites: write %s: %s\n", path, strerror(errno));
        free(rgba);
        return -1;
    }
    snprintf(path, sizeof path, "%s/sprite%s.png", dir, suffix);
    rc = write_png(path, rgba, w, h);
    free(rgba);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sprites OUTDIR\n");
        return 2;
    }
    return write_sheet(argv[1], 1) == 0 && write_sheet(argv[1], 2) == 0 ? 0 : 1;
}
