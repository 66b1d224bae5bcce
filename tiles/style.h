/* style.h: the MapLibre style served at /style.json. Owns the map's look: the
 * street map (layers of source "basemap", OpenMapTiles layer names, labels in
 * Vietnamese first: ["coalesce", ["get", "name:vi"], ["get", "name"]]) drawn
 * under the helpmap layers (area fills and outlines, then the street map's
 * labels, then requests on top), glyphs and sprite served by helpmap itself.
 * The template is tiles/basemap/style.json, compiled in. Not the pages' logic
 * (web/assets/js/ adds its own layers and counts) and not HTTP. */
#ifndef HM_STYLE_H
#define HM_STYLE_H

#include <stdbool.h>

#include "hm_buf.h"
#include "hm_error.h"

/* The fontstacks of the glyph PBFs made at build time (tiles/tools/glyphs.c),
 * served at /fonts/{fontstack}/{start}-{end}.pbf. */
#define HM_STYLE_FONT_REGULAR "Noto Sans Regular"
#define HM_STYLE_FONT_BOLD    "Noto Sans Bold"

typedef struct hm_style_params {
    /* Scheme, host and port the clients use ("https://map.example.org"),
     * from the server's configuration, never from a Host header. NULL or ""
     * makes every URL root-relative ("/tiles/basemap.json", "/sprite",
     * "/fonts/{fontstack}/{range}.pbf"): MapLibre wants the sprite and tile
     * URLs absolute, so a page then prefixes location.origin (setStyle's
     * transformStyle) before using the style. */
    const char *base_url;
    bool basemap; /* a basemap is served: keep source "basemap" and its layers */
    bool dark;    /* the wall display's dark colours (/command) */
} hm_style_params;

/* Append the style (UTF-8 JSON, version 8) to `out`. Sources: "basemap"
 * (<base>/tiles/basemap.json, only when p->basemap), "wards",
 * "former_wards", "hamlets", "requests" (<base>/tiles/<layer>.json);
 * "sprite": "<base>/sprite"; "glyphs": "<base>/fonts/{fontstack}/{range}.pbf".
 * Layer ids: "background", "basemap-*", "areas-*", "requests-clusters",
 * "requests-points" (see the template).
 * Returns HM_OK, HM_E_INVALID_FIELD (field "base_url") for a bad base URL,
 * or HM_E_NOMEM; `out` is unchanged on error. Thread-safe. */
int hm_style_json(const hm_style_params *p, hm_buf *out, hm_error *err);

#endif
