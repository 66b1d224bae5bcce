/* test_sprites.c: the sprite made at build time (tiles/tools/sprites.c) into
 * <build>/web/: sprite.json names every relief point kind and the pin, at
 * pixel ratio 1 and 2; the PNGs decode (signature, IHDR, CRCs, zlib) to
 * sheets that hold the JSON's rectangles, each icon opaque at its centre and
 * transparent at its corners; running the tool again gives the same bytes. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hm_test.h"

static const char *const names[] = {"shelter",  "food", "water", "medical",
                                    "charging", "boat", "other", "pin"};

typedef struct image {
    uint32_t w, h;
    uint8_t *rgba;
} image;

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decode an 8-bit RGBA, non-interlaced PNG with filter 0 rows. */
static bool png_read(const char *path, image *img)
{
    size_t len, pos = 8, zlen = 0;
    unsigned char *d = slurp(path, &len), *z = NULL, *raw = NULL;
    bool ok = false, end = false;
    uLongf rawlen;

    memset(img, 0, sizeof *img);
    if (!d || len < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
        goto out;
    z = malloc(len);
    while (pos + 12 <= len && !end) {
        uint32_t n = be32(d + pos);
        const uint8_t *type = d + pos + 4, *data = d + pos + 8;
        if (pos + 12 + n > len)
            goto out;
        if (crc32(crc32(0, type, 4), data, n) != be32(data + n))
            goto out; /* bad CRC */
        if (!memcmp(type, "IHDR", 4)) {
            img->w = be32(data);
            img->h = be32(data + 4);
            if (data[8] != 8 || data[9] != 6 || data[12] != 0)
                goto out;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zlen, data, n);
            zlen += n;
        } else if (!memcmp(type, "IEND", 4)) {
            end = true;
        }
        pos += 12 + n;
    }
    if (!end || !img->w || !img->h)
        goto out;
    rawlen = (uLongf)(img->w * 4 + 1) * img->h;
    raw = malloc(rawlen);
    if (uncompress(raw, &rawlen, z, zlen) != Z_OK || rawlen != (uLongf)(img->w * 4 + 1) * img->h)
        goto out;
    img->rgba = malloc((size_t)img->w * img->h * 4);
    for (uint32_t y = 0; y < img->h; y++) {
        if (raw[y * (img->w * 4 + 1)] != 0)
            goto out;
        memcpy(img->rgba + (size_t)y * img->w * 4, raw + y * (img->w * 4 + 1) + 1, img->w * 4);
    }
    ok = true;
out:
    free(d);
    free(z);
    free(raw);
    if (!ok) {
        free(img->rgba);
        img->rgba = NULL;
    }
    return ok;
}

static uint8_t alpha(const image *img, uint32_t x, uint32_t y)
{
    return img->rgba[((size_t)y * img->w + x) * 4 + 3];
}

static void test_sheet(const char *dir, const char *suffix, int ratio)
{
    char path[1024];
    json_t *doc;
    image img;

    snprintf(path, sizeof path, "%s/sprite%s.json", dir, suffix);
    doc = json_load_file(path, 0, NULL);
    CHECK(doc != NULL);
    snprintf(path, sizeof path, "%s/sprite%s.png", dir, suffix);
    CHECK(png_read(path, &img));
    if (!doc || !img.rgba) {
        json_decref(doc);
        return;
    }
    CHECK_INT_EQ(json_object_size(doc), sizeof names / sizeof *names);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        json_t *r = json_object_get(doc, names[i]);
        json_int_t x = json_integer_value(json_object_get(r, "x"));
        json_int_t y = json_integer_value(json_object_get(r, "y"));
        json_int_t w = json_integer_value(json_object_get(r, "width"));
        json_int_t h = json_integer_value(json_object_get(r, "height"));
        CHECK(r != NULL);
        if (!r)
            continue;
        CHECK_INT_EQ(json_integer_value(json_object_get(r, "pixelRatio")), ratio);
        CHECK_INT_EQ(w, 24 * ratio);
        CHECK_INT_EQ(h, (strcmp(names[i], "pin") ? 24 : 32) * ratio);
        CHECK(x >= 0 && y >= 0 && x + w <= (json_int_t)img.w && y + h <= (json_int_t)img.h);
        if (x + w > (json_int_t)img.w || y + h > (json_int_t)img.h)
            continue;
        /* Opaque centre (the pin: its disc), transparent corners. */
        CHECK_INT_EQ(alpha(&img, (uint32_t)(x + w / 2), (uint32_t)(y + w / 2)), 255);
        CHECK_INT_EQ(alpha(&img, (uint32_t)x, (uint32_t)y), 0);
        CHECK_INT_EQ(alpha(&img, (uint32_t)(x + w - 1), (uint32_t)(y + h - 1)), 0);
        /* The gap after an icon is empty, so icons never bleed together. */
        if (x + w < (json_int_t)img.w)
            CHECK_INT_EQ(alpha(&img, (uint32_t)(x + w), (uint32_t)(y + h / 2)), 0);
    }
    json_decref(doc);
    free(img.rgba);
}

static void test_deterministic(const char *dir)
{
    char tmp[] = "/tmp/hm_sprites_XXXXXX", cmd[1024], a[1024], b[1024];
    static const char *const files[] = {"sprite.json", "sprite.png", "sprite@2x.json",
                                        "sprite@2x.png"};

    if (!mkdtemp(tmp))
        return;
    snprintf(cmd, sizeof cmd, "'%s' '%s'", HM_SPRITES_TOOL, tmp);
    CHECK(system(cmd) == 0);
    for (size_t i = 0; i < 4; i++) {
        size_t nx, ny;
        unsigned char *x, *y;
        snprintf(a, sizeof a, "%s/%s", dir, files[i]);
        snprintf(b, sizeof b, "%s/%s", tmp, files[i]);
        x = slurp(a, &nx);
        y = slurp(b, &ny);
        CHECK(x && y && nx == ny && memcmp(x, y, nx) == 0);
        free(x);
        free(y);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_sheet(HM_WEB_BUILD_DIR, "", 1);
    test_sheet(HM_WEB_BUILD_DIR, "@2x", 2);
    test_deterministic(HM_WEB_BUILD_DIR);
    return hm_test_done("test_sprites");
}
