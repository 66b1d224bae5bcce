/* api_basemap.c: the offline street map and what MapLibre needs to draw it, all from this
 * server (SPEC "Places and a street map, offline"):
 *   GET /tiles/basemap/{z}/{x}/{y}.mvt   tiles of --basemap as stored (gzip), ETag, 204 when none
 *   GET /tiles/basemap.json              TileJSON of the basemap
 *   GET /style.json[?dark=1]             the MapLibre style (the basemap under helpmap's layers)
 *   GET /fonts/{fontstack}/{range}.pbf   glyphs made at build time (tiles/tools/glyphs.c)
 *   GET /sprite[@2x].{json,png}          icons made at build time (tiles/tools/sprites.c)
 * URLs in the TileJSON and the style come from --public-url, or are root-relative without it:
 * never from the Host header, which a client chooses (issue 11); the pages prefix their own
 * origin (mapkit.js). */
#include "api.h"

#include "hm_log.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char basemap_cache[] = "public, max-age=3600";

/* "14" into 0..30; false for anything else. */
static bool parse_uint(const char *s, const char *end, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (s == end || end - s > 10)
        return false;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

enum MHD_Result hm_api_basemap_tile(hm_req *r)
{
    hm_error err = {0};
    hm_mbtiles_blob blob;
    hm_tile t;
    const char *ys = r->params[2], *dot = strrchr(ys, '.');
    const char *inm = hm_http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *ae = hm_http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    unsigned long z, x, y;
    const char *hdrs[13];
    char etag[32];
    hm_buf plain;
    int n = 0, rc;
    bool gz;
    enum MHD_Result ret;

    if (!dot || strcmp(dot, ".mvt") != 0 ||
        !parse_uint(r->params[0], r->params[0] + strlen(r->params[0]), 30, &z) ||
        !parse_uint(r->params[1], r->params[1] + strlen(r->params[1]), (1ul << z) - 1, &x) ||
        !parse_uint(ys, dot, (1ul << z) - 1, &y))
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL,
                            "no such tile: /tiles/basemap/{z}/{x}/{y}.mvt");
    t.z = (int)z;
    t.x = (uint32_t)x;
    t.y = (uint32_t)y;
    memset(&blob, 0, sizeof blob);
    hdrs[n++] = "Cache-Control";
    hdrs[n++] = basemap_cache;
    hdrs[n++] = "Access-Control-Allow-Origin";
    hdrs[n++] = "*";
    hdrs[n++] = "Vary";
    hdrs[n++] = "Accept-Encoding";
    rc = hm_core_basemap_tile(r->app, &t, &blob, &err);
    if (rc == HM_E_NOT_FOUND && err.field && strcmp(err.field, "tile") == 0) {
        hdrs[n] = NULL;
        return hm_http_bytes(r, 204, NULL, (void *)"", 0, false, hdrs);
    }
    if (rc)
        return hm_http_error(r, &err);
    /* Stored gzip goes out as it is to a client that takes gzip; anyone else gets the tile
     * inflated, under an ETag of its own. */
    gz = blob.encoding == HM_MBTILES_GZIP && ae && strstr(ae, "gzip");
    if (gz || blob.encoding == HM_MBTILES_RAW) {
        snprintf(etag, sizeof etag, "%s", blob.etag);
    } else {
        size_t len = strlen(blob.etag);
        snprintf(etag, sizeof etag, "%.*s-i\"", (int)(len > 1 ? len - 1 : 0), blob.etag);
    }
    hdrs[n++] = "ETag";
    hdrs[n++] = etag;
    if (inm && strstr(inm, etag)) {
        hdrs[n] = NULL;
        hm_mbtiles_blob_clear(&blob);
        return hm_http_bytes(r, 304, NULL, (void *)"", 0, false, hdrs);
    }
    if (gz) {
        hdrs[n++] = "Content-Encoding";
        hdrs[n++] = "gzip";
    } else if (blob.encoding != HM_MBTILES_RAW) {
        hm_buf_init(&plain);
        if (hm_mbtiles_inflate(blob.data, blob.len, 0, &plain, &err)) {
            hm_buf_clear(&plain);
            hm_mbtiles_blob_clear(&blob);
            return hm_http_error(r, &err);
        }
        free(blob.data);
        blob.data = hm_buf_steal(&plain, &blob.len);
        if (!blob.data)
            blob.data = hm_xstrdup("");
    }
    hdrs[n] = NULL;
    ret = hm_http_bytes(r, 200, "application/vnd.mapbox-vector-tile", blob.data, blob.len, true,
                        hdrs);
    blob.data = NULL; /* handed over */
    hm_mbtiles_blob_clear(&blob);
    return ret;
}

enum MHD_Result hm_api_basemap_tilejson(hm_req *r)
{
    hm_error err = {0};
    hm_buf out;
    char *text;
    size_t len;
    static const char *const hdrs[] = {"Cache-Control", "public, max-age=60",
                                       "Access-Control-Allow-Origin", "*", NULL};

    hm_buf_init(&out);
    if (hm_core_basemap_tilejson(r->app, r->srv->public_url[0] ? r->srv->public_url : NULL, &out,
                                 &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    text = hm_buf_steal(&out, &len);
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, hdrs);
}

enum MHD_Result hm_api_style(hm_req *r)
{
    hm_error err = {0};
    const char *d = hm_http_arg(r, "dark");
    bool dark = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
    hm_buf out;
    char *text;
    size_t len;
    static const char *const hdrs[] = {"Cache-Control", "no-cache", NULL};

    hm_buf_init(&out);
    if (hm_core_style(r->app, r->srv->public_url[0] ? r->srv->public_url : NULL, dark, &out,
                      &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    text = hm_buf_steal(&out, &len);
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, hdrs);
}

/* A font stack or file name that names a file under the assets folder and nothing else. */
static bool plain_name(const char *s, size_t len)
{
    if (len == 0 || len > 100 || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == '/' || s[i] == '\\' || s[i] == 0x7f)
            return false;
    return true;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

enum MHD_Result hm_api_fonts(hm_req *r)
{
    const char *assets = r->srv->cfg.assets_dir, *stacks = r->params[0], *range = r->params[1];
    static const char *const empty_hdrs[] = {"Cache-Control", "public, max-age=86400", NULL};
    unsigned long start, end;
    const char *dash = strchr(range, '-'), *dot = strrchr(range, '.');
    bool known_stack = false;

    if (!assets || !dash || !dot || strcmp(dot, ".pbf") != 0 ||
        !parse_uint(range, dash, 65535, &start) || !parse_uint(dash + 1, dot, 65535, &end) ||
        start % 256 != 0 || end != start + 255)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL,
                            "no such glyphs: /fonts/{fontstack}/{range}.pbf");
    /* MapLibre asks for the layer's whole font list, "A,B": the first we have answers. */
    for (const char *s = stacks; *s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char dir[1024], path[1200];
        while (len && *s == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (plain_name(s, len) &&
            snprintf(dir, sizeof dir, "%s/fonts/%.*s", assets, (int)len, s) < (int)sizeof dir &&
            is_dir(dir)) {
            known_stack = true;
            snprintf(path, sizeof path, "%s/%s", dir, range);
            if (access(path, R_OK) == 0)
                return hm_http_file(r, path, "public, max-age=86400");
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    /* A range in which the font has no glyph: an empty glyph set, which MapLibre takes as
     * "nothing to draw" (a 404 would be an error on the page). */
    if (known_stack)
        return hm_http_bytes(r, 200, "application/x-protobuf", (void *)"", 0, false, empty_hdrs);
    return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such font");
}

enum MHD_Result hm_api_sprite(hm_req *r)
{
    const char *assets = r->srv->cfg.assets_dir;
    char path[1024];

    if (!assets || snprintf(path, sizeof path, "%s%s", assets, r->url) >= (int)sizeof path)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no sprite on this server");
    return hm_http_file(r, path, "public, max-age=3600");
}
