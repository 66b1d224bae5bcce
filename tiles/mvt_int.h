/* mvt_int.h: what mvt.c (polygons, the layer writer) shares with cluster.c
 * (the requests layer) and nothing else includes. A writer builds one MVT
 * layer as protobuf-c messages in an arena: keys are a fixed table per layer,
 * values are interned (one dictionary entry per distinct value), features
 * are appended one at a time, and hm_mvt__writer_pack() serialises the tile.
 * Not thread-safe; one writer per encode call. */
#ifndef HM_MVT_INT_H
#define HM_MVT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_buf.h"
#include "hm_error.h"
#include "mvt.h"
#include "vector_tile.pb-c.h"

/* Bump allocator: many allocations, one free. */
typedef struct hm_mvt__chunk hm_mvt__chunk;
typedef struct hm_mvt__arena {
    hm_mvt__chunk *head;
    size_t used; /* bytes used in head */
    size_t size; /* bytes in head */
} hm_mvt__arena;

void hm_mvt__arena_init(hm_mvt__arena *a);
void hm_mvt__arena_clear(hm_mvt__arena *a);
/* `n` bytes aligned to 16; never NULL (aborts on out-of-memory). */
void *hm_mvt__arena_alloc(hm_mvt__arena *a, size_t n);
char *hm_mvt__arena_strdup(hm_mvt__arena *a, const char *s);

/* One interned value: the dictionary's hash-table slot. */
typedef struct hm_mvt__slot {
    uint32_t hash;
    uint32_t index; /* into layer.values; UINT32_MAX = empty slot */
} hm_mvt__slot;

#define HM_MVT__MAX_TAGS 64 /* pairs per feature: more than any layer has keys */

typedef struct hm_mvt__writer {
    hm_mvt__arena arena;
    VectorTile__Tile__Layer layer;
    size_t nkeys;
    size_t features_cap;
    size_t values_cap;
    hm_mvt__slot *slots; /* open addressing, power-of-two size */
    size_t slots_mask;
    uint32_t tags[2 * HM_MVT__MAX_TAGS]; /* the feature being built */
    size_t ntags;
} hm_mvt__writer;

/* Start a layer called `name` (static string) with the key table
 * keys[0..nkeys) (static strings) and `extent`. */
void hm_mvt__writer_init(hm_mvt__writer *w, const char *name, const char *const *keys, size_t nkeys,
                         uint32_t extent);
void hm_mvt__writer_clear(hm_mvt__writer *w);

/* Dictionary index of a value, interning it on first use. Strings are copied
 * into the writer's arena. */
uint32_t hm_mvt__value_str(hm_mvt__writer *w, const char *s);
uint32_t hm_mvt__value_int(hm_mvt__writer *w, int64_t v);
uint32_t hm_mvt__value_bool(hm_mvt__writer *w, bool v);

/* Add the pair (key, value index) to the feature being built. */
static inline void hm_mvt__tag(hm_mvt__writer *w, uint32_t key, uint32_t value)
{
    if (w->ntags + 2 <= 2 * HM_MVT__MAX_TAGS) {
        w->tags[w->ntags++] = key;
        w->tags[w->ntags++] = value;
    }
}

/* Finish the feature being built with the tags added since the last feature
 * and the geometry geom[0..ngeom) (copied). */
void hm_mvt__feature_end(hm_mvt__writer *w, uint64_t id, VectorTile__Tile__GeomType type,
                         const uint32_t *geom, size_t ngeom);

/* Finish a point feature at tile coordinates (x, y). */
void hm_mvt__feature_point(hm_mvt__writer *w, uint64_t id, int32_t x, int32_t y);

/* Serialise the tile (one layer) and append it to `out`; nothing when the
 * layer has no feature. Returns HM_OK or HM_E_INTERNAL. */
int hm_mvt__writer_pack(hm_mvt__writer *w, hm_buf *out, hm_error *err);

/* strcmp(a, b) == 0 for the short names of the hot clustering loop, without
 * a call through the PLT. */
static inline bool hm_mvt__streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* MVT 2.1 section 4.3: command integers and zig-zag parameters. */
enum { HM_MVT__MOVE_TO = 1, HM_MVT__LINE_TO = 2, HM_MVT__CLOSE_PATH = 7 };
static inline uint32_t hm_mvt__command(uint32_t id, uint32_t count)
{
    return (id & 0x7u) | (count << 3);
}
static inline uint32_t hm_mvt__zigzag(int32_t n)
{
    return ((uint32_t)n << 1) ^ (uint32_t)(n >> 31);
}

#endif
