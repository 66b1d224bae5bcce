/* basemap.h: the offline street map. Owns making an MBTiles file of vector
 * tiles from an OpenStreetMap extract with Debian's tools (osmium-tool cuts
 * the bbox, tilemaker 2.2 makes the tiles with the profile in tiles/basemap/:
 * OpenMapTiles layer and attribute names, zooms 6 to 14), and reading the
 * names of the streets and places back out of the tiles for the place
 * search. Not serving (mbtiles.h reads tiles, style.h writes the style) and
 * not the CLI: the caller parses `helpmap basemap build` arguments.
 *
 * The tools run with posix_spawnp (no shell), stdin from /dev/null, their
 * stdout and stderr into a temporary file whose last lines go to the log
 * (hm_log, level error) when a tool fails. */
#ifndef HM_BASEMAP_H
#define HM_BASEMAP_H

#include <stdbool.h>

#include "hm_error.h"
#include "mbtiles.h"

typedef struct hm_basemap_build_opts {
    const char *osm_pbf;     /* input: an OpenStreetMap extract (.osm.pbf). Required. */
    const char *out_mbtiles; /* output file; its name must end in ".mbtiles". Required. */
    /* {minLon, minLat, maxLon, maxLat} to cut with `osmium extract` first
     * (strategy "smart", so areas and ways crossing the edge stay whole);
     * NULL: the whole file. */
    const double *bbox;
    /* Folder holding config.json and process.lua (the repository's
     * tiles/basemap/). Required. */
    const char *config_dir;
    bool force;            /* replace an existing output file */
    int threads;           /* tilemaker --threads; 0: as many as cores */
    const char *tilemaker; /* program name or path; NULL: "tilemaker" on PATH */
    const char *osmium;    /* program name or path; NULL: "osmium" on PATH */
    const char *tmp_dir;   /* where the cut extract goes; NULL: the output's folder */
    /* Written into the file's metadata; NULL: the OpenStreetMap notice
     * (the ODbL asks for it wherever the map is shown). */
    const char *attribution;
} hm_basemap_build_opts;

/* Build `o->out_mbtiles` from `o->osm_pbf`. The tiles are written to a
 * temporary file next to the output, which is renamed over it only when
 * every step succeeded, so a failed or interrupted build never leaves a
 * half-written map under the output's name. After tilemaker, the metadata
 * gets `attribution`, and `bounds`/`center` from the tiles when the extract's
 * header had no bounding box.
 * Returns HM_OK, or (err filled, nothing left behind):
 *   HM_E_INVALID_FIELD (field "osm")     - input missing, unreadable or not an
 *                                          .osm.pbf file, or no map data in it
 *                                          (inside the bbox);
 *   HM_E_INVALID_FIELD (field "out")     - output exists and !force, or its
 *                                          name does not end in ".mbtiles";
 *   HM_E_INVALID_FIELD (field "bbox")    - not finite, outside lon/lat
 *                                          ranges, or min >= max;
 *   HM_E_INVALID_FIELD (field "config")  - config.json or process.lua missing;
 *   HM_E_UNAVAILABLE (field "tilemaker" or "osmium") - the tool is not
 *                                          installed ("apt-get install ...");
 *   HM_E_IO                              - a tool failed (exit status or
 *                                          signal and its last line in the
 *                                          message, its output's tail in the
 *                                          log), or a file operation failed;
 *   HM_E_DB                              - the metadata update failed.
 * Blocks until done (seconds for a district, minutes for a country). Not
 * thread-safe with another build of the same output. */
int hm_basemap_build(const hm_basemap_build_opts *o, hm_error *err);

/* A street or place named in the basemap, as the place search needs it. */
typedef struct hm_basemap_name {
    const char *kind;  /* "street" (transportation_name) or "place" (place) */
    const char *name;  /* name:vi when the feature has it, else name; UTF-8 */
    const char *class; /* OpenMapTiles class: "primary", "minor", "path", ...
                          for a street; "village", "hamlet", ... for a place */
    double lon, lat;   /* a point on the street (the middle of its piece
                          nearest the middle of its extent) or the place */
    double bbox[4];    /* extent of the street; the point itself for a place */
} hm_basemap_name;

/* Called once per name; `n` and its strings are borrowed for the call.
 * Return 0 to go on; anything else stops the walk. */
typedef int (*hm_basemap_name_fn)(const hm_basemap_name *n, void *ctx);

/* Read the names of the streets (layer transportation_name) and places
 * (layer place) from the tiles at the file's highest zoom and call `fn` for
 * each. A street cut into pieces by tile edges or crossings is one name:
 * pieces with the same kind and name whose extents come within about 100 m
 * of each other are merged; two streets of the same name in different
 * hamlets stay two. Calls come sorted by kind, name, lon, lat, and the same
 * file always gives the same calls.
 * Returns HM_OK, the non-zero value `fn` stopped with, HM_E_INVALID_FIELD
 * (field "tile") for a tile that does not decode, or HM_E_DB. Memory grows
 * with the number of named pieces (about 100 bytes each), not with the
 * file. Thread-safe. */
int hm_basemap_names(hm_mbtiles *mb, hm_basemap_name_fn fn, void *ctx, hm_error *err);

#endif
