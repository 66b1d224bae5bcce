/* places.c: the place-name index and its search (see places.h).
 *
 * Layout after hm_places_freeze(): places are renumbered in the order of ranking rules
 * (2), (4) and (5), so that among equal match class, rank and distance a smaller place id
 * is the better hit and no string is compared while searching. Each name of a place (its
 * own and its alternate names) is folded once into `folds`; every word of every folded
 * name is one pair, and the pairs are sorted by word. The words of a query that start
 * with "th" are then one contiguous run of pairs, found by binary search. The search
 * walks the shortest run among the query's words, keeping the best `limit` places seen.
 * A pair carries what ranking needs (place, rank, point, position of the word, words in
 * the name), in arrays split by use so that a long run reads little; for a query of
 * several words also a 64-bit signature of the first letters of its name's words and the
 * first two letters of its first three words, so that most candidates are decided
 * without reading the name, which is then checked against every query word. */
#include "places.h"

#include "fold.h"
#include "geo.h"
#include "hm_buf.h"

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <jansson.h>

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One place (48 bytes). Strings are offsets into idx->str, 0 when absent. */
typedef struct entry {
    uint32_t name, kind, level, code, ward;
    uint32_t first_name; /* its folded names: names[first_name .. first_name + n_names) */
    uint32_t n_names;
    uint32_t order; /* position in hm_places_add() order: the last tie-breaker */
    uint32_t bbox;  /* index in idx->bboxes, NO_BBOX when none */
    uint8_t rank;
    double lon, lat;
} entry;

#define NO_BBOX UINT32_MAX

/* One folded name of a place: folds[fold .. fold + len), words split by one space. */
typedef struct name_rec {
    uint32_t entry;
    uint32_t fold;
    uint16_t len;
    uint8_t n_words;
} name_rec;

/* One word of one folded name, while freezing; then split into the arrays of struct
 * hm_places, so that a long run of pairs reads only what it needs. */
typedef struct pair {
    uint64_t sig;           /* the name's first-letter signature (name_sig) */
    uint32_t word;          /* offset of the word in folds */
    uint32_t entry;         /* the place */
    uint8_t len;            /* bytes of the word */
    uint8_t pos;            /* 0 for the name's first word */
    uint8_t n_words;        /* words in the name */
    uint8_t rank;           /* the place's rank */
    uint8_t alt;            /* the name is names[entries[entry].first_name + alt] */
    uint8_t initials[3][2]; /* first two bytes of the name's first three words (0: none) */
} pair;

/* What every pair of a run is looked at for (16 bytes): with the place's point, so that a
 * long run is read in order, without a jump per pair. */
typedef struct pair_hot {
    uint32_t entry;
    uint8_t len, pos, n_words, rank;
    float lon, lat; /* for ordering by distance, at about 1 m */
} pair_hot;

/* What a pair of a run is looked at for when the query has several words (8 bytes). */
typedef struct pair_name {
    uint8_t alt;
    uint8_t initials[3][2];
} pair_name;

struct hm_places {
    bool frozen;
    hm_buf str;   /* display strings, NUL-terminated; offset 0 is the empty string */
    hm_buf folds; /* folded names, each NUL-terminated */
    entry *entries;
    size_t n_entries, cap_entries;
    name_rec *names;
    size_t n_names, cap_names;
    double (*bboxes)[4];
    size_t n_bboxes, cap_bboxes;
    uint32_t *interned; /* while building: hash set of the short strings in str (0: free) */
    size_t cap_interned, n_interned;
    /* After freezing, pair i (in word order) is p_word[i], p_hot[i], p_sig[i], p_name[i]. */
    uint32_t *p_word;
    pair_hot *p_hot;
    uint64_t *p_sig;
    pair_name *p_name;
    size_t n_pairs;
    /* After freezing: the places hm_places_nearest() looks at, by latitude. */
    uint32_t *near_by_lat;
    size_t n_near;
};

int hm_place_kind_rank(const char *kind)
{
    if (!kind)
        return HM_PLACE_RANK_PLACE;
    if (strcmp(kind, "ward") == 0)
        return HM_PLACE_RANK_WARD;
    if (strcmp(kind, "former_ward") == 0)
        return HM_PLACE_RANK_FORMER_WARD;
    if (strcmp(kind, "hamlet") == 0)
        return HM_PLACE_RANK_HAMLET;
    if (strcmp(kind, "street") == 0 || strcmp(kind, "road") == 0)
        return HM_PLACE_RANK_STREET;
    return HM_PLACE_RANK_PLACE;
}

/* ---- building ---------------------------------------------------------------------- */

hm_places *hm_places_create(void)
{
    hm_places *idx = hm_xcalloc(1, sizeof *idx);

    hm_buf_init(&idx->str);
    hm_buf_init(&idx->folds);
    hm_buf_append(&idx->str, "", 1);
    hm_buf_append(&idx->folds, "", 1);
    return idx;
}

void hm_places_destroy(hm_places *idx)
{
    if (!idx)
        return;
    hm_buf_clear(&idx->str);
    hm_buf_clear(&idx->folds);
    free(idx->entries);
    free(idx->names);
    free(idx->bboxes);
    free(idx->interned);
    free(idx->p_word);
    free(idx->p_hot);
    free(idx->p_sig);
    free(idx->p_name);
    free(idx->near_by_lat);
    free(idx);
}

size_t hm_places_count(const hm_places *idx)
{
    return idx->n_entries;
}

/* Check one text member: NULL allowed unless `required`; valid UTF-8, no C0 control or
 * DEL, at most `max` bytes, and (`need_word`) something left after folding. */
static int check_text(const char *s, bool required, size_t max, bool need_word, const char *field,
                      hm_error *err)
{
    size_t n;

    if (!s || !s[0]) {
        if (required)
            return hm_error_set(err, HM_E_INVALID_FIELD, field, "%s is missing", field);
        return HM_OK;
    }
    n = strlen(s);
    if (n > max)
        return hm_error_set(err, HM_E_INVALID_FIELD, field, "%s is longer than %zu bytes", field,
                            max);
    if (!hm_utf8_valid(s, n))
        return hm_error_set(err, HM_E_INVALID_FIELD, field, "%s is not valid UTF-8", field);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return hm_error_set(err, HM_E_INVALID_FIELD, field, "%s contains control characters",
                                field);
    }
    if (need_word) {
        char buf[HM_PLACES_NAME_MAX + 1];
        if (hm_fold_into(s, n, buf) == 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, field, "%s has no letter or digit", field);
    }
    return HM_OK;
}

/* The rules of hm_places_add(), shared with the GeoJSON reader's per-feature report. */
static int check_src(const hm_place_src *src, hm_error *err)
{
    int rc;

    if ((rc = check_text(src->name, true, HM_PLACES_NAME_MAX, true, "name", err)) ||
        (rc = check_text(src->kind, true, HM_PLACES_KIND_MAX, false, "kind", err)) ||
        (rc = check_text(src->level, false, HM_PLACES_KIND_MAX, false, "level", err)) ||
        (rc = check_text(src->code, false, HM_PLACES_CODE_MAX, false, "code", err)) ||
        (rc = check_text(src->ward_code, false, HM_PLACES_CODE_MAX, false, "ward_code", err)))
        return rc;
    if (src->n_alt && !src->alt_names)
        return hm_error_set(err, HM_E_INVALID_FIELD, "alt_names", "alt_names is missing");
    for (size_t i = 0; i < src->n_alt && i < HM_PLACES_ALT_MAX; i++) {
        /* An alternate name with nothing to search for is skipped, not refused. */
        if ((rc =
                 check_text(src->alt_names[i], false, HM_PLACES_NAME_MAX, false, "alt_names", err)))
            return rc;
    }
    if (src->rank < 0 || src->rank > HM_PLACE_RANK__MAX)
        return hm_error_set(err, HM_E_INVALID_FIELD, "rank", "rank %d outside 0..%d", src->rank,
                            HM_PLACE_RANK__MAX);
    if (!isfinite(src->lon) || src->lon < -180 || src->lon > 180)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lon", "lon must be a number in -180..180");
    if (!isfinite(src->lat) || src->lat < -90 || src->lat > 90)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lat", "lat must be a number in -90..90");
    if (src->bbox) {
        const double *b = src->bbox;
        if (!hm_geo_valid_lonlat(b[0], b[1]) || !hm_geo_valid_lonlat(b[2], b[3]) || b[0] > b[2] ||
            b[1] > b[3])
            return hm_error_set(err, HM_E_INVALID_FIELD, "bbox",
                                "bbox must be minLon, minLat, maxLon, maxLat in range");
    }
    return HM_OK;
}

/* Copy `s` into idx->str; 0 for NULL or "". */
static uint32_t put_str(hm_places *idx, const char *s)
{
    size_t off = idx->str.len;

    if (!s || !s[0])
        return 0;
    hm_buf_append(&idx->str, s, strlen(s) + 1);
    return (uint32_t)off;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Like put_str() for the short strings many places share (kinds, levels, ward codes):
 * stored once. */
static uint32_t put_shared(hm_places *idx, const char *s)
{
    size_t mask, i;

    if (!s || !s[0])
        return 0;
    if (2 * (idx->n_interned + 1) > idx->cap_interned) {
        size_t cap = idx->cap_interned ? 2 * idx->cap_interned : 64;
        uint32_t *t = hm_xcalloc(cap, sizeof *t);
        for (size_t k = 0; k < idx->cap_interned; k++) {
            uint32_t off = idx->interned[k];
            if (!off)
                continue;
            for (i = str_hash(idx->str.data + off) & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
                ;
            t[i] = off;
        }
        free(idx->interned);
        idx->interned = t;
        idx->cap_interned = cap;
    }
    mask = idx->cap_interned - 1;
    for (i = str_hash(s) & mask; idx->interned[i]; i = (i + 1) & mask) {
        if (strcmp(idx->str.data + idx->interned[i], s) == 0)
            return idx->interned[i];
    }
    idx->interned[i] = put_str(idx, s);
    idx->n_interned++;
    return idx->interned[i];
}

static void push_name(hm_places *idx, uint32_t place, uint32_t fold, size_t len)
{
    name_rec *n;
    size_t words = 1;

    if (idx->n_names == idx->cap_names) {
        idx->cap_names = idx->cap_names ? 2 * idx->cap_names : 256;
        idx->names = hm_xrealloc(idx->names, idx->cap_names * sizeof *idx->names);
    }
    for (size_t i = 0; i < len; i++)
        words += idx->folds.data[fold + i] == ' ';
    n = &idx->names[idx->n_names++];
    n->entry = place;
    n->fold = fold;
    n->len = (uint16_t)len;
    n->n_words = (uint8_t)words;
}

/* Fold `s` into idx->folds and add it as a name of place `place`, unless it folds to
 * nothing or to a name the place has already. */
static void add_name(hm_places *idx, uint32_t place, uint32_t first_name, const char *s)
{
    size_t start = idx->folds.len, len;

    if (!s)
        return;
    len = hm_fold(s, strlen(s), &idx->folds);
    if (len > 0) {
        for (size_t i = first_name; i < idx->n_names; i++) {
            const name_rec *n = &idx->names[i];
            if (n->len == len &&
                memcmp(idx->folds.data + n->fold, idx->folds.data + start, len) == 0) {
                len = 0;
                break;
            }
        }
    }
    if (len == 0) {
        idx->folds.len = start;
        idx->folds.data[start] = '\0';
        return;
    }
    hm_buf_append(&idx->folds, "", 1);
    push_name(idx, place, (uint32_t)start, len);
}

int hm_places_add(hm_places *idx, const hm_place_src *src, hm_error *err)
{
    size_t text = 0;
    entry *e;
    uint32_t id;
    int rc;

    if (idx->frozen)
        return hm_error_set(err, HM_E_INTERNAL, NULL, "places index is frozen");
    if ((rc = check_src(src, err)) != HM_OK)
        return rc;
    /* Worst case of the text this adds: display strings, then one folded copy of each
     * name (never longer than the name) with its terminator. */
    text += strlen(src->name) * 2 + 2 + strlen(src->kind) + 1;
    text += (src->level ? strlen(src->level) : 0) + (src->code ? strlen(src->code) : 0) + 2;
    text += (src->ward_code ? strlen(src->ward_code) : 0) + 1;
    for (size_t i = 0; i < src->n_alt && i < HM_PLACES_ALT_MAX; i++)
        text += src->alt_names[i] ? strlen(src->alt_names[i]) + 1 : 0;
    if (idx->n_entries >= UINT32_MAX - 1 || idx->n_names + 1 + HM_PLACES_ALT_MAX >= UINT32_MAX ||
        idx->str.len + text >= UINT32_MAX || idx->folds.len + text >= UINT32_MAX)
        return hm_error_set(err, HM_E_TOO_LARGE, NULL, "places index is full");

    if (idx->n_entries == idx->cap_entries) {
        idx->cap_entries = idx->cap_entries ? 2 * idx->cap_entries : 256;
        idx->entries = hm_xrealloc(idx->entries, idx->cap_entries * sizeof *idx->entries);
    }
    id = (uint32_t)idx->n_entries;
    e = &idx->entries[idx->n_entries++];
    memset(e, 0, sizeof *e);
    e->name = put_str(idx, src->name);
    e->kind = put_shared(idx, src->kind);
    e->level = put_shared(idx, src->level);
    e->code = put_str(idx, src->code);
    e->ward = put_shared(idx, src->ward_code);
    e->order = id;
    e->rank = (uint8_t)src->rank;
    e->lon = src->lon;
    e->lat = src->lat;
    e->bbox = NO_BBOX;
    if (src->bbox) {
        if (idx->n_bboxes == idx->cap_bboxes) {
            idx->cap_bboxes = idx->cap_bboxes ? 2 * idx->cap_bboxes : 64;
            idx->bboxes = hm_xrealloc(idx->bboxes, idx->cap_bboxes * sizeof *idx->bboxes);
        }
        e->bbox = (uint32_t)idx->n_bboxes;
        memcpy(idx->bboxes[idx->n_bboxes++], src->bbox, sizeof idx->bboxes[0]);
    }
    e->first_name = (uint32_t)idx->n_names;
    add_name(idx, id, e->first_name, src->name);
    assert(idx->n_names == e->first_name + 1u); /* check_src saw a word in the name */
    for (size_t i = 0; i < src->n_alt && i < HM_PLACES_ALT_MAX; i++)
        add_name(idx, id, e->first_name, src->alt_names[i]);
    e->n_names = (uint32_t)(idx->n_names - e->first_name);
    return HM_OK;
}

/* ---- freezing: collapse duplicates ------------------------------------------------- */

/* The index being frozen, for the qsort comparators (qsort has no context argument);
 * per thread, so that threads may freeze different indexes at once. */
static _Thread_local const hm_places *sort_idx;

/* The folded name of place `e` (not its alternate names). */
static const char *entry_fold(const hm_places *idx, const entry *e)
{
    return idx->folds.data + idx->names[e->first_name].fold;
}

/* Places with the same kind and folded name are neighbours; then by order added. */
static int group_cmp(const void *pa, const void *pb)
{
    const entry *a = &sort_idx->entries[*(const uint32_t *)pa];
    const entry *b = &sort_idx->entries[*(const uint32_t *)pb];
    int c = strcmp(sort_idx->str.data + a->kind, sort_idx->str.data + b->kind);

    if (c == 0)
        c = strcmp(entry_fold(sort_idx, a), entry_fold(sort_idx, b));
    if (c == 0)
        c = a->order < b->order ? -1 : a->order > b->order;
    return c;
}

/* Ranking order of places: rank, folded name, name bytes, order added. */
static int rank_cmp(const void *pa, const void *pb)
{
    const entry *a = &sort_idx->entries[*(const uint32_t *)pa];
    const entry *b = &sort_idx->entries[*(const uint32_t *)pb];
    int c = (int)a->rank - (int)b->rank;

    if (c == 0)
        c = strcmp(entry_fold(sort_idx, a), entry_fold(sort_idx, b));
    if (c == 0)
        c = strcmp(sort_idx->str.data + a->name, sort_idx->str.data + b->name);
    if (c == 0)
        c = a->order < b->order ? -1 : a->order > b->order;
    return c;
}

/* Cells of 0.0005 degree (>= 55 m of latitude) hold the places kept so far, by group. */
#define CELL_DEG 0.0005

typedef struct cell_slot {
    uint32_t group; /* UINT32_MAX: empty */
    int32_t cx, cy;
    uint32_t head; /* first kept place in this cell (index into entries), chained by next[] */
} cell_slot;

static uint64_t cell_hash(uint32_t group, int32_t cx, int32_t cy)
{
    uint64_t h = group * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)(uint32_t)cx * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uint32_t)cy * 0x165667B19E3779F9ULL;
    return h ^ (h >> 29);
}

static cell_slot *cell_find(cell_slot *t, size_t mask, uint32_t group, int32_t cx, int32_t cy)
{
    for (size_t i = cell_hash(group, cx, cy) & mask;; i = (i + 1) & mask) {
        cell_slot *s = &t[i];
        if (s->group == UINT32_MAX || (s->group == group && s->cx == cx && s->cy == cy))
            return s;
    }
}

static double approx_m(double lon1, double lat1, double lon2, double lat2)
{
    double k = cos((lat1 + lat2) * 0.5 * M_PI / 180.0);
    double dx = (lon2 - lon1) * k * 111320.0, dy = (lat2 - lat1) * 110574.0;
    return sqrt(dx * dx + dy * dy);
}

/* Mark in keep[] the places to keep: a place is dropped when a place with the same kind
 * and folded name, added before it and kept, is within HM_PLACES_DEDUP_M. */
static void mark_duplicates(hm_places *idx, bool *keep)
{
    size_t n = idx->n_entries, cap = 16;
    uint32_t *by_group = hm_xmalloc((n ? n : 1) * sizeof *by_group);
    uint32_t *group = hm_xmalloc((n ? n : 1) * sizeof *group);
    uint32_t *next = hm_xmalloc((n ? n : 1) * sizeof *next);
    cell_slot *t;
    uint32_t g = 0;

    for (size_t i = 0; i < n; i++)
        by_group[i] = (uint32_t)i;
    sort_idx = idx;
    qsort(by_group, n, sizeof *by_group, group_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            const entry *a = &idx->entries[by_group[i - 1]], *b = &idx->entries[by_group[i]];
            if (strcmp(idx->str.data + a->kind, idx->str.data + b->kind) != 0 ||
                strcmp(entry_fold(idx, a), entry_fold(idx, b)) != 0)
                g++;
        }
        group[by_group[i]] = g;
    }
    while (cap < 2 * n)
        cap *= 2;
    t = hm_xmalloc(cap * sizeof *t);
    for (size_t i = 0; i < cap; i++)
        t[i].group = UINT32_MAX;
    /* In the order added, so that the first of near duplicates stays. */
    for (size_t i = 0; i < n; i++) {
        const entry *e = &idx->entries[i];
        int32_t cx = (int32_t)floor(e->lon / CELL_DEG), cy = (int32_t)floor(e->lat / CELL_DEG);
        double k = cos(e->lat * M_PI / 180.0);
        /* Columns to look at either side: 50 m of longitude spans more cells towards the
         * poles (at most 1,000: within 0.05 degree of a pole, some duplicates stay). */
        int32_t span =
            k > 0.001 ? (int32_t)ceil(HM_PLACES_DEDUP_M / (111320.0 * k * CELL_DEG)) : 1000;
        bool dup = false;
        cell_slot *s;

        if (span > 1000)
            span = 1000;
        for (int32_t dy = -1; dy <= 1 && !dup; dy++) {
            for (int32_t dx = -span; dx <= span && !dup; dx++) {
                s = cell_find(t, cap - 1, group[i], cx + dx, cy + dy);
                for (uint32_t j = s->group == UINT32_MAX ? UINT32_MAX : s->head; j != UINT32_MAX;
                     j = next[j]) {
                    const entry *o = &idx->entries[j];
                    if (approx_m(e->lon, e->lat, o->lon, o->lat) <= HM_PLACES_DEDUP_M) {
                        dup = true;
                        break;
                    }
                }
            }
        }
        keep[i] = !dup;
        if (dup)
            continue;
        s = cell_find(t, cap - 1, group[i], cx, cy);
        if (s->group == UINT32_MAX) {
            s->group = group[i];
            s->cx = cx;
            s->cy = cy;
            s->head = UINT32_MAX;
        }
        next[i] = s->head;
        s->head = (uint32_t)i;
    }
    free(t);
    free(next);
    free(group);
    free(by_group);
}

/* ---- freezing: the word pairs ------------------------------------------------------ */

static inline uint64_t sig1(unsigned char a)
{
    return 1ULL << (a & 63);
}

static inline uint64_t sig2(unsigned char a, unsigned char b)
{
    uint32_t h = (uint32_t)a * 0x9E37u ^ (uint32_t)b * 0x85EBu;
    return 1ULL << ((h ^ (h >> 7)) & 63);
}

/* Bits a query word needs in a name's signature: the name has a word that starts with
 * the query word's first two bytes (one byte for a one-byte word). */
static inline uint64_t word_need(const char *w, size_t len)
{
    return len >= 2 ? sig2((unsigned char)w[0], (unsigned char)w[1]) : sig1((unsigned char)w[0]);
}

static uint64_t name_sig(const char *t, size_t len)
{
    uint64_t sig = 0;

    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && t[j] != ' ')
            j++;
        sig |= sig1((unsigned char)t[i]);
        if (j - i >= 2)
            sig |= sig2((unsigned char)t[i], (unsigned char)t[i + 1]);
        i = j + 1;
    }
    return sig;
}

static int pair_cmp(const void *pa, const void *pb)
{
    const pair *a = pa, *b = pb;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(sort_idx->folds.data + a->word, sort_idx->folds.data + b->word, m);

    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->entry != b->entry)
        return a->entry < b->entry ? -1 : 1;
    if (a->alt != b->alt)
        return a->alt < b->alt ? -1 : 1;
    return (int)a->pos - (int)b->pos;
}

/* Whether hm_places_nearest() may answer with `e`: a named place, not an area, a street or a
 * commune's point. */
static bool near_candidate(const hm_places *idx, const entry *e)
{
    return e->rank == HM_PLACE_RANK_PLACE && strcmp(idx->str.data + e->kind, "admin") != 0;
}

static int by_lat_cmp(const void *pa, const void *pb)
{
    const entry *a = &sort_idx->entries[*(const uint32_t *)pa];
    const entry *b = &sort_idx->entries[*(const uint32_t *)pb];
    if (a->lat != b->lat)
        return a->lat < b->lat ? -1 : 1;
    return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

/* The candidates of hm_places_nearest(), sorted by latitude (then by ranking order). */
static void build_nearest(hm_places *idx)
{
    size_t n = 0;
    idx->near_by_lat = hm_xmalloc((idx->n_entries ? idx->n_entries : 1) * sizeof *idx->near_by_lat);
    for (size_t i = 0; i < idx->n_entries; i++)
        if (near_candidate(idx, &idx->entries[i]))
            idx->near_by_lat[n++] = (uint32_t)i;
    sort_idx = idx;
    qsort(idx->near_by_lat, n, sizeof *idx->near_by_lat, by_lat_cmp);
    idx->n_near = n;
}

int hm_places_freeze(hm_places *idx, hm_error *err)
{
    size_t n = idx->n_entries, kept = 0, n_names = 0, n_pairs = 0;
    bool *keep = NULL;
    uint32_t *order = NULL;
    entry *entries = NULL;
    name_rec *names = NULL;
    pair *pairs = NULL;

    if (idx->frozen)
        return hm_error_set(err, HM_E_INTERNAL, NULL, "places index is already frozen");
    keep = hm_xmalloc((n ? n : 1) * sizeof *keep);
    mark_duplicates(idx, keep);

    order = hm_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) {
        if (keep[i])
            order[kept++] = (uint32_t)i;
    }
    sort_idx = idx;
    qsort(order, kept, sizeof *order, rank_cmp);

    /* Renumber places and their names in ranking order, and count the words. */
    entries = hm_xmalloc((kept ? kept : 1) * sizeof *entries);
    for (size_t i = 0; i < kept; i++)
        n_names += idx->entries[order[i]].n_names;
    names = hm_xmalloc((n_names ? n_names : 1) * sizeof *names);
    n_names = 0;
    for (size_t i = 0; i < kept; i++) {
        entry *e = &entries[i];
        *e = idx->entries[order[i]];
        for (uint32_t k = 0; k < e->n_names; k++) {
            name_rec r = idx->names[e->first_name + k];
            r.entry = (uint32_t)i;
            names[n_names + k] = r;
            n_pairs += r.n_words;
        }
        e->first_name = (uint32_t)n_names;
        n_names += e->n_names;
    }
    free(idx->entries);
    free(idx->names);
    idx->entries = entries;
    idx->n_entries = idx->cap_entries = kept;
    idx->names = names;
    idx->n_names = idx->cap_names = n_names;

    pairs = hm_xmalloc((n_pairs ? n_pairs : 1) * sizeof *pairs);
    n_pairs = 0;
    for (size_t ni = 0; ni < n_names; ni++) {
        const name_rec *r = &names[ni];
        const char *t = idx->folds.data + r->fold;
        uint64_t sig = name_sig(t, r->len);
        uint8_t initials[3][2] = {{0, 0}, {0, 0}, {0, 0}};
        unsigned pos = 0;
        for (size_t i = 0, w = 0; i < r->len && w < 3; w++) {
            initials[w][0] = (uint8_t)t[i];
            if (i + 1 < r->len && t[i + 1] != ' ')
                initials[w][1] = (uint8_t)t[i + 1];
            while (i < r->len && t[i] != ' ')
                i++;
            i++;
        }
        for (size_t i = 0; i < r->len;) {
            size_t j = i;
            pair *p = &pairs[n_pairs++];
            while (j < r->len && t[j] != ' ')
                j++;
            p->sig = sig;
            p->word = r->fold + (uint32_t)i;
            p->entry = r->entry;
            p->len = (uint8_t)(j - i);
            p->pos = (uint8_t)pos++;
            p->n_words = r->n_words;
            p->rank = entries[r->entry].rank;
            p->alt = (uint8_t)(ni - entries[r->entry].first_name);
            memcpy(p->initials, initials, sizeof initials);
            i = j + 1;
        }
    }
    qsort(pairs, n_pairs, sizeof *pairs, pair_cmp);
    idx->n_pairs = n_pairs;
    idx->p_word = hm_xmalloc((n_pairs ? n_pairs : 1) * sizeof *idx->p_word);
    idx->p_hot = hm_xmalloc((n_pairs ? n_pairs : 1) * sizeof *idx->p_hot);
    idx->p_sig = hm_xmalloc((n_pairs ? n_pairs : 1) * sizeof *idx->p_sig);
    idx->p_name = hm_xmalloc((n_pairs ? n_pairs : 1) * sizeof *idx->p_name);
    for (size_t i = 0; i < n_pairs; i++) {
        const pair *p = &pairs[i];
        idx->p_word[i] = p->word;
        idx->p_hot[i] = (pair_hot){p->entry,
                                   p->len,
                                   p->pos,
                                   p->n_words,
                                   p->rank,
                                   (float)entries[p->entry].lon,
                                   (float)entries[p->entry].lat};
        idx->p_sig[i] = p->sig;
        idx->p_name[i].alt = p->alt;
        memcpy(idx->p_name[i].initials, p->initials, sizeof p->initials);
    }
    free(pairs);

    free(idx->interned);
    idx->interned = NULL;
    idx->cap_interned = idx->n_interned = 0;
    /* Give back what the growing buffers over-allocated. */
    if (idx->n_bboxes) {
        idx->bboxes = hm_xrealloc(idx->bboxes, idx->n_bboxes * sizeof *idx->bboxes);
        idx->cap_bboxes = idx->n_bboxes;
    }
    idx->str.data = hm_xrealloc(idx->str.data, idx->str.len + 1);
    idx->str.cap = idx->str.len + 1;
    idx->folds.data = hm_xrealloc(idx->folds.data, idx->folds.len + 1);
    idx->folds.cap = idx->folds.len + 1;
    build_nearest(idx);
    idx->frozen = true;
    free(order);
    free(keep);
    return HM_OK;
}

/* ---- search ------------------------------------------------------------------------ */

typedef struct qword {
    const char *p;
    size_t len;
    uint32_t lo, hi; /* its run of pairs */
} qword;

typedef struct cand {
    uint32_t entry;
    uint8_t cls, rank;
    float d2;
} cand;

static inline bool better(const cand *a, const cand *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls;
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (a->d2 != b->d2)
        return a->d2 < b->d2;
    return a->entry < b->entry;
}

/* Offer `c` to the best-first list `top` (n of at most k): each place once, with its
 * best key. */
static void offer(cand *top, size_t *n, size_t k, const cand *c)
{
    size_t i, j;

    for (i = 0; i < *n && top[i].entry != c->entry; i++)
        ;
    if (i < *n) {
        if (!better(c, &top[i]))
            return;
        memmove(top + i, top + i + 1, (*n - i - 1) * sizeof *top);
        (*n)--;
    } else if (*n == k) {
        if (!better(c, &top[k - 1]))
            return;
        (*n)--;
    }
    for (j = *n; j > 0 && better(c, &top[j - 1]); j--)
        top[j] = top[j - 1];
    top[j] = *c;
    (*n)++;
}

/* <0, 0 or >0 as the word at `w` (wl bytes) sorts before the words starting with `q`,
 * starts with `q`, or sorts after them. */
static inline int prefix_cmp(const char *w, size_t wl, const char *q, size_t ql)
{
    int c = memcmp(w, q, wl < ql ? wl : ql);

    if (c)
        return c;
    return wl < ql ? -1 : 0;
}

static void word_run(const hm_places *idx, qword *q)
{
    size_t lo = 0, hi = idx->n_pairs;

    while (lo < hi) { /* first pair not before the run */
        size_t mid = lo + (hi - lo) / 2;
        if (prefix_cmp(idx->folds.data + idx->p_word[mid], idx->p_hot[mid].len, q->p, q->len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    q->lo = (uint32_t)lo;
    hi = idx->n_pairs;
    while (lo < hi) { /* first pair after the run */
        size_t mid = lo + (hi - lo) / 2;
        if (prefix_cmp(idx->folds.data + idx->p_word[mid], idx->p_hot[mid].len, q->p, q->len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    q->hi = (uint32_t)lo;
}

/* Is every word of `by_len` (longest first) a prefix of a different word of the folded
 * name `t`? Greedy is exact here: two query words either are prefixes one of the other
 * (the longer one's candidate words are among the shorter one's) or have no candidate
 * word in common, so taking any free candidate for the longer word first never blocks a
 * later, shorter word that could have succeeded. */
static bool words_match(const char *t, size_t tl, const qword *by_len, size_t n)
{
    uint8_t start[HM_PLACES_NAME_MAX / 2 + 1], len[HM_PLACES_NAME_MAX / 2 + 1];
    bool used[HM_PLACES_NAME_MAX / 2 + 1];
    size_t nw = 0;

    for (size_t i = 0; i < tl;) {
        size_t j = i;
        while (j < tl && t[j] != ' ')
            j++;
        start[nw] = (uint8_t)i;
        len[nw] = (uint8_t)(j - i);
        used[nw++] = false;
        i = j + 1;
    }
    for (size_t q = 0; q < n; q++) {
        size_t w;
        for (w = 0; w < nw; w++) {
            if (!used[w] && len[w] >= by_len[q].len &&
                memcmp(t + start[w], by_len[q].p, by_len[q].len) == 0)
                break;
        }
        if (w == nw)
            return false;
        used[w] = true;
    }
    return true;
}

/* Does the folded name `t` start with the query's words in order, each the start of the
 * name's word in the same place ("tan th d" and "Tân Thạnh Đông")? */
static bool starts_with_words(const char *t, size_t tl, const qword *qw, size_t n)
{
    size_t i = 0;

    for (size_t q = 0; q < n; q++) {
        size_t j = i;
        if (i >= tl)
            return false;
        while (j < tl && t[j] != ' ')
            j++;
        if (j - i < qw[q].len || memcmp(t + i, qw[q].p, qw[q].len) != 0)
            return false;
        i = j + 1;
    }
    return true;
}

int hm_places_search(const hm_places *idx, const hm_places_query *query, hm_place_hit *hits,
                     size_t *n_hits, hm_error *err)
{
    char qf[HM_PLACES_Q_MAX + 1];
    qword qw[HM_PLACES_WORDS_MAX], by_len[HM_PLACES_WORDS_MAX];
    cand top[HM_PLACES_LIMIT_MAX];
    size_t qlen, n = 0, ntop = 0, k = query->limit, rare = 0;
    uint64_t need = 0;
    float qlon = 0, qlat = 0, kx = 0;

    if (!idx->frozen)
        return hm_error_set(err, HM_E_INTERNAL, NULL, "places index is not frozen");
    if (!query->q || query->q_len == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "q", "q is empty");
    if (query->q_len > HM_PLACES_Q_MAX)
        return hm_error_set(err, HM_E_INVALID_FIELD, "q", "q is longer than %d bytes",
                            HM_PLACES_Q_MAX);
    if (k == 0 || k > HM_PLACES_LIMIT_MAX)
        return hm_error_set(err, HM_E_INVALID_FIELD, "limit", "limit must be 1..%d",
                            HM_PLACES_LIMIT_MAX);
    if (query->near && (!isfinite(query->lon) || query->lon < -180 || query->lon > 180))
        return hm_error_set(err, HM_E_INVALID_FIELD, "lon", "lon must be a number in -180..180");
    if (query->near && (!isfinite(query->lat) || query->lat < -90 || query->lat > 90))
        return hm_error_set(err, HM_E_INVALID_FIELD, "lat", "lat must be a number in -90..90");

    qlen = hm_fold_into(query->q, query->q_len, qf);
    if (qlen == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "q", "q has no letter or digit");
    for (size_t i = 0; i < qlen;) {
        size_t j = i;
        while (j < qlen && qf[j] != ' ')
            j++;
        if (n == HM_PLACES_WORDS_MAX)
            return hm_error_set(err, HM_E_INVALID_FIELD, "q", "q has more than %d words",
                                HM_PLACES_WORDS_MAX);
        qw[n].p = qf + i;
        qw[n].len = j - i;
        need |= word_need(qw[n].p, qw[n].len);
        n++;
        i = j + 1;
    }
    *n_hits = 0;
    for (size_t i = 0; i < n; i++) {
        word_run(idx, &qw[i]);
        if (qw[i].hi - qw[i].lo < qw[rare].hi - qw[rare].lo)
            rare = i;
    }
    /* Query words longest first, for words_match(). */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && by_len[j - 1].len < qw[i].len) {
            by_len[j] = by_len[j - 1];
            j--;
        }
        by_len[j] = qw[i];
    }
    if (query->near) {
        qlon = (float)query->lon;
        qlat = (float)query->lat;
        kx = (float)cos(query->lat * M_PI / 180.0);
    }

    /* With several words, two passes over the run: first the names that may match exactly
     * or as a prefix, then the others, which the best of the first pass often spare us
     * reading ("duong duong" would otherwise read every "Đường ..." before reaching
     * "Đường Dương ..."). One word needs one pass and no reading. */
    for (int pass = n > 1 ? 0 : 1; pass < 2; pass++) {
        /* The second pass only finds word matches: not needed when the list is full of
         * better ones. */
        if (pass == 1 && n > 1 && ntop == k && top[k - 1].cls != HM_PLACE_MATCH_WORDS)
            break;
        for (uint32_t i = qw[rare].lo; i < qw[rare].hi; i++) {
            const pair_hot *p = &idx->p_hot[i];
            cand c;

            if (p->n_words < n)
                continue;
            if (n == 1) {
                c.cls = p->n_words == 1 && p->len == qlen ? HM_PLACE_MATCH_EXACT
                        : p->pos == 0                     ? HM_PLACE_MATCH_PREFIX
                                                          : HM_PLACE_MATCH_WORDS;
            } else {
                /* The best this name can do, to skip reading it when that is not enough:
                 * an exact or prefix match has the rarest word in its own place (and that
                 * pair is in this run too) and its first words start with the query's
                 * first two letters; an exact one has as many words as the query. */
                c.cls = p->pos != rare    ? HM_PLACE_MATCH_WORDS
                        : p->n_words == n ? HM_PLACE_MATCH_EXACT
                                          : HM_PLACE_MATCH_PREFIX;
                for (size_t w = 0; w < n && w < 3 && c.cls != HM_PLACE_MATCH_WORDS; w++) {
                    const uint8_t *in = idx->p_name[i].initials[w];
                    if (in[0] != (uint8_t)qw[w].p[0] ||
                        (qw[w].len > 1 && in[1] != (uint8_t)qw[w].p[1]))
                        c.cls = HM_PLACE_MATCH_WORDS;
                }
                if ((pass == 0) != (c.cls != HM_PLACE_MATCH_WORDS) ||
                    (idx->p_sig[i] & need) != need)
                    continue;
            }
            c.entry = p->entry;
            c.rank = p->rank;
            c.d2 = 0;
            if (query->near) {
                float dx = (p->lon - qlon) * kx;
                float dy = p->lat - qlat;
                c.d2 = dx * dx + dy * dy;
            }
            if (ntop == k && !better(&c, &top[k - 1]))
                continue;
            if (n > 1) {
                const name_rec *r =
                    &idx->names[idx->entries[p->entry].first_name + idx->p_name[i].alt];
                const char *t = idx->folds.data + r->fold;
                if (r->len == qlen && memcmp(t, qf, qlen) == 0)
                    c.cls = HM_PLACE_MATCH_EXACT;
                else if (starts_with_words(t, r->len, qw, n))
                    c.cls = HM_PLACE_MATCH_PREFIX;
                else if (words_match(t, r->len, by_len, n))
                    c.cls = HM_PLACE_MATCH_WORDS;
                else
                    continue;
                if (ntop == k && !better(&c, &top[k - 1]))
                    continue;
            }
            offer(top, &ntop, k, &c);
        }
    }

    for (size_t i = 0; i < ntop; i++) {
        const entry *e = &idx->entries[top[i].entry];
        hm_place_hit *h = &hits[i];
        const char *s = idx->str.data;
        h->name = s + e->name;
        h->kind = s + e->kind;
        h->level = e->level ? s + e->level : NULL;
        h->code = e->code ? s + e->code : NULL;
        h->ward_code = e->ward ? s + e->ward : NULL;
        h->lon = e->lon;
        h->lat = e->lat;
        h->has_bbox = e->bbox != NO_BBOX;
        if (h->has_bbox)
            memcpy(h->bbox, idx->bboxes[e->bbox], sizeof h->bbox);
        else
            h->bbox[0] = h->bbox[1] = h->bbox[2] = h->bbox[3] = NAN;
        h->distance_m =
            query->near ? hm_geo_distance_m(query->lon, query->lat, e->lon, e->lat) : NAN;
        h->match = (enum hm_place_match)top[i].cls;
    }
    *n_hits = ntop;
    return HM_OK;
}

/* ---- the nearest named place ------------------------------------------------------- */

bool hm_places_nearest(const hm_places *idx, double lon, double lat, double max_m,
                       hm_place_hit *out)
{
    size_t lo = 0, hi, best = SIZE_MAX;
    double dlat, best_m = 0;
    const char *s;
    const entry *e;

    if (!idx->frozen || idx->n_near == 0 || !isfinite(lon) || !isfinite(lat) || !(max_m > 0) ||
        max_m > HM_PLACES_NEAREST_MAX_M || lat < -89 || lat > 89)
        return false;
    /* A degree of latitude is at least 110,574 m: every candidate lies in this band. */
    dlat = max_m / 110574.0;
    hi = idx->n_near;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->entries[idx->near_by_lat[mid]].lat < lat - dlat)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < idx->n_near; i++) {
        uint32_t k = idx->near_by_lat[i];
        double m;
        e = &idx->entries[k];
        if (e->lat > lat + dlat)
            break;
        /* Whole metres, so that equal distances fall to the ranking order (k). */
        m = floor(approx_m(lon, lat, e->lon, e->lat));
        if (m <= max_m && (best == SIZE_MAX || m < best_m || (m == best_m && k < best))) {
            best = k;
            best_m = m;
        }
    }
    if (best == SIZE_MAX)
        return false;
    e = &idx->entries[best];
    s = idx->str.data;
    memset(out, 0, sizeof *out);
    out->name = s + e->name;
    out->kind = s + e->kind;
    out->level = NULL;
    out->code = e->code ? s + e->code : NULL;
    out->ward_code = e->ward ? s + e->ward : NULL;
    out->lon = e->lon;
    out->lat = e->lat;
    out->has_bbox = e->bbox != NO_BBOX;
    if (out->has_bbox)
        memcpy(out->bbox, idx->bboxes[e->bbox], sizeof out->bbox);
    else
        out->bbox[0] = out->bbox[1] = out->bbox[2] = out->bbox[3] = NAN;
    out->distance_m = hm_geo_distance_m(lon, lat, e->lon, e->lat);
    out->match = HM_PLACE_MATCH_EXACT;
    return true;
}

/* ---- place lists from GeoJSON ------------------------------------------------------ */

/* GeoNames feature codes (www.geonames.org/export/codes.html) as kinds: exact codes
 * first, then families by prefix, then the feature class. */
static const char *const gn_exact[][2] = {
    {"PPLX", "section"},  {"PPLA", "town"},    {"PPLA2", "town"},    {"PPLA3", "town"},
    {"PPLA4", "town"},    {"PPLC", "town"},    {"PPLG", "town"},     {"MKT", "market"},
    {"BDG", "bridge"},    {"FRM", "farm"},     {"FRMS", "farm"},     {"PGDA", "pagoda"},
    {"TMPL", "temple"},   {"CH", "church"},    {"MSQE", "mosque"},   {"CMTY", "cemetery"},
    {"MNMT", "monument"}, {"MUS", "museum"},   {"PRK", "park"},      {"RD", "street"},
    {"ST", "street"},     {"LK", "lake"},      {"PND", "pond"},      {"RSV", "reservoir"},
    {"UNIV", "school"},   {"CTRM", "clinic"},  {"HTL", "hotel"},     {"PO", "post_office"},
    {"STDM", "stadium"},  {"AIRP", "airport"}, {"HLL", "hill"},      {"MT", "mountain"},
    {"ISL", "island"},    {"RSTN", "station"}, {"BUSTN", "station"}, {"PS", "power_station"},
};
static const char *const gn_prefix[][2] = {
    {"PPL", "village"}, {"ADM", "admin"},  {"CNL", "canal"},
    {"STM", "stream"},  {"SCH", "school"}, {"HSP", "hospital"},
};
static const char *const gn_class[][2] = {
    {"P", "village"}, {"A", "admin"}, {"H", "water"}, {"R", "road"},
    {"T", "terrain"}, {"L", "area"},  {"V", "area"},  {"S", "place"},
};

static const char *geonames_kind(const char *code, const char *cls)
{
    for (size_t i = 0; code && i < sizeof gn_exact / sizeof gn_exact[0]; i++) {
        if (strcmp(code, gn_exact[i][0]) == 0)
            return gn_exact[i][1];
    }
    for (size_t i = 0; code && i < sizeof gn_prefix / sizeof gn_prefix[0]; i++) {
        if (strncmp(code, gn_prefix[i][0], strlen(gn_prefix[i][0])) == 0)
            return gn_prefix[i][1];
    }
    for (size_t i = 0; cls && i < sizeof gn_class / sizeof gn_class[0]; i++) {
        if (strcmp(cls, gn_class[i][0]) == 0)
            return gn_class[i][1];
    }
    return NULL;
}

typedef struct reader {
    hm_place_list list;
    size_t cap_items, cap_refused;
    GEOSContextHandle_t geos; /* made when the first polygon comes */
} reader;

static void refuse(reader *r, size_t index, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(reader *r, size_t index, const char *field, const char *fmt, ...)
{
    hm_place_refusal *f;
    va_list ap;

    if (r->list.n_refused == r->cap_refused) {
        r->cap_refused = r->cap_refused ? 2 * r->cap_refused : 16;
        r->list.refused = hm_xrealloc(r->list.refused, r->cap_refused * sizeof *r->list.refused);
    }
    f = &r->list.refused[r->list.n_refused++];
    f->index = index;
    f->field = field;
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof f->reason, fmt, ap);
    va_end(ap);
}

static void place_clear(hm_place *p)
{
    free(p->name);
    for (size_t i = 0; i < p->n_alt; i++)
        free(p->alt_names[i]);
    free(p->alt_names);
    free(p->kind);
    free(p->code);
    free(p->ward_code);
    memset(p, 0, sizeof *p);
}

void hm_place_list_clear(hm_place_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        place_clear(&list->items[i]);
    free(list->items);
    free(list->refused);
    memset(list, 0, sizeof *list);
}

/* Property `key` as new text (strings as they are, numbers in decimal); NULL when absent
 * or null. Returns false for any other JSON type. */
static bool prop_text(const json_t *props, const char *key, char **out)
{
    const json_t *v = json_is_object(props) ? json_object_get(props, key) : NULL;
    char num[64];

    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v)) {
        *out = hm_xstrndup(json_string_value(v), json_string_length(v));
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *out = hm_xstrdup(num);
        return true;
    }
    if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        *out = hm_xstrdup(num);
        return true;
    }
    return false;
}

/* Add alternate name `s` (n bytes) to `p` unless it breaks hm_places_add()'s rules, is the
 * name itself, is there already, or the place has HM_PLACES_ALT_MAX. */
static void alt_add(hm_place *p, const char *s, size_t n)
{
    char *a;

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || p->n_alt >= HM_PLACES_ALT_MAX)
        return;
    a = hm_xstrndup(s, n);
    if (strlen(a) != n || check_text(a, false, HM_PLACES_NAME_MAX, false, "alt_names", NULL) ||
        strcmp(a, p->name) == 0) {
        free(a);
        return;
    }
    for (size_t i = 0; i < p->n_alt; i++) {
        if (strcmp(a, p->alt_names[i]) == 0) {
            free(a);
            return;
        }
    }
    p->alt_names = hm_xrealloc(p->alt_names, (p->n_alt + 1) * sizeof *p->alt_names);
    p->alt_names[p->n_alt++] = a;
}

static void alt_add_list(hm_place *p, const char *s)
{
    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        alt_add(p, s, n);
        s = comma ? comma + 1 : NULL;
    }
}

/* A position [lon, lat, ...] in lon/lat range. */
static bool read_position(const json_t *pos, double *lon, double *lat)
{
    const json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);

    if (!json_is_array(pos) || !json_is_number(x) || !json_is_number(y))
        return false;
    *lon = json_number_value(x);
    *lat = json_number_value(y);
    return hm_geo_valid_lonlat(*lon, *lat);
}

static void bbox_add(double b[4], double lon, double lat)
{
    b[0] = fmin(b[0], lon);
    b[1] = fmin(b[1], lat);
    b[2] = fmax(b[2], lon);
    b[3] = fmax(b[3], lat);
}

/* Lines: the place stands at the middle (by length) of the longest line, with the bbox of
 * all lines. `coords` is one array of positions, or (`multi`) an array of them. Returns
 * NULL or what is wrong. */
static const char *read_lines(const json_t *coords, bool multi, hm_place *p)
{
    size_t n_lines = multi ? json_array_size(coords) : 1;
    double best = -1;

    p->bbox[0] = p->bbox[1] = INFINITY;
    p->bbox[2] = p->bbox[3] = -INFINITY;
    if (!json_is_array(coords) || json_array_size(coords) == 0)
        return "no positions";
    for (size_t l = 0; l < n_lines; l++) {
        const json_t *line = multi ? json_array_get(coords, l) : coords;
        size_t n = json_is_array(line) ? json_array_size(line) : 0;
        double total = 0, lon0 = 0, lat0 = 0, lon, lat, k;
        if (n < 2)
            return "a line has fewer than 2 positions";
        for (size_t i = 0; i < n; i++) {
            if (!read_position(json_array_get(line, i), &lon, &lat))
                return "a position is not [lon, lat] within range";
            bbox_add(p->bbox, lon, lat);
            k = cos(lat * M_PI / 180.0);
            if (i > 0)
                total += hypot((lon - lon0) * k, lat - lat0);
            lon0 = lon, lat0 = lat;
        }
        if (total <= best)
            continue;
        best = total;
        /* Walk to half the length. */
        double half = total / 2, run = 0;
        read_position(json_array_get(line, 0), &lon0, &lat0);
        p->lon = lon0, p->lat = lat0;
        for (size_t i = 1; i < n; i++) {
            read_position(json_array_get(line, i), &lon, &lat);
            k = cos(lat * M_PI / 180.0);
            double seg = hypot((lon - lon0) * k, lat - lat0);
            if (seg > 0 && run + seg >= half) {
                double f = (half - run) / seg;
                p->lon = lon0 + f * (lon - lon0);
                p->lat = lat0 + f * (lat - lat0);
                break;
            }
            run += seg;
            lon0 = lon, lat0 = lat;
        }
    }
    p->has_bbox = true;
    return NULL;
}

/* Polygons: repaired like an area (hm_area_from_feature), standing at a point inside. */
static bool read_polygonal(reader *r, const json_t *geom, hm_place *p, hm_error *err)
{
    json_t *tmp;
    hm_area a;
    int rc;

    if (!r->geos && !(r->geos = GEOS_init_r())) {
        hm_error_set(err, HM_E_GEOS, "geometry", "GEOS context creation failed");
        return false;
    }
    tmp = json_pack("{s:s, s:{s:s}, s:O}", "type", "Feature", "properties", "code", "place",
                    "geometry", geom);
    if (!tmp) {
        hm_error_set(err, HM_E_NOMEM, "geometry", "out of memory");
        return false;
    }
    memset(&a, 0, sizeof a);
    rc = hm_area_from_feature(r->geos, tmp, NULL, &a, err);
    json_decref(tmp);
    if (rc != HM_OK)
        return false;
    p->lon = a.rep_lon;
    p->lat = a.rep_lat;
    memcpy(p->bbox, a.bbox, sizeof p->bbox);
    p->has_bbox = true;
    hm_area_clear(&a);
    return true;
}

/* GeoNames writes Đ as "GJ" in asciiname ("Xa Tan Thanh GJong"); "gj" is no Vietnamese
 * spelling, so read it as d. */
static void geonames_dj(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if ((s[0] == 'G' || s[0] == 'g') && (s[1] == 'J' || s[1] == 'j')) {
            *o++ = s[0] == 'G' ? 'D' : 'd';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Read feature `i` into r->list.items, or record why not in r->list.refused. */
static void read_feature(reader *r, size_t i, const json_t *f, const hm_place_fields *fields)
{
    const char *name_key = fields && fields->name ? fields->name : "name";
    const char *kind_key = fields && fields->kind ? fields->kind : "kind";
    const char *code_key = fields && fields->code ? fields->code : "code";
    const char *alt_key = fields && fields->alt_names ? fields->alt_names : "alt_names";
    const char *default_kind = fields && fields->default_kind ? fields->default_kind : "place";
    const json_t *props, *geom, *type, *alts, *coords;
    const char *gtype, *why;
    char *fcode = NULL, *fclass = NULL, *text = NULL;
    hm_place p;
    hm_place_src src;
    hm_error err;

    memset(&p, 0, sizeof p);
    hm_error_clear(&err);
    type = json_object_get(f, "type");
    if (!json_is_object(f) ||
        (type && !(json_is_string(type) && strcmp(json_string_value(type), "Feature") == 0))) {
        refuse(r, i, "type", "not a GeoJSON Feature");
        goto out;
    }
    props = json_object_get(f, "properties");
    if (props && !json_is_object(props) && !json_is_null(props)) {
        refuse(r, i, "properties", "properties must be an object");
        goto out;
    }
    if (!prop_text(props, name_key, &p.name) || !p.name || !p.name[0]) {
        refuse(r, i, "name", "no name (property \"%s\")", name_key);
        goto out;
    }
    if (!prop_text(props, code_key, &p.code)) {
        refuse(r, i, "code", "property \"%s\" must be a string or number", code_key);
        goto out;
    }
    if (p.code && !p.code[0]) {
        free(p.code);
        p.code = NULL;
    }
    /* A GeoNames record: its feature code gives the kind, and its other spellings are
     * alternate names. */
    if (!prop_text(props, "feature_code", &fcode) || !prop_text(props, "feature_class", &fclass)) {
        refuse(r, i, "kind", "feature_code and feature_class must be strings");
        goto out;
    }
    if (!prop_text(props, kind_key, &p.kind)) {
        refuse(r, i, "kind", "property \"%s\" must be a string", kind_key);
        goto out;
    }
    if (!p.kind || !p.kind[0]) {
        const char *k = fcode ? geonames_kind(fcode, fclass) : NULL;
        free(p.kind);
        p.kind = hm_xstrdup(k ? k : default_kind);
    }
    alts = json_is_object(props) ? json_object_get(props, alt_key) : NULL;
    if (json_is_array(alts)) {
        for (size_t k = 0; k < json_array_size(alts); k++) {
            const json_t *a = json_array_get(alts, k);
            if (json_is_string(a))
                alt_add(&p, json_string_value(a), json_string_length(a));
        }
    } else if (json_is_string(alts)) {
        alt_add_list(&p, json_string_value(alts));
    }
    if (fcode) {
        if (prop_text(props, "asciiname", &text) && text) {
            geonames_dj(text);
            alt_add(&p, text, strlen(text));
        }
        free(text);
        text = NULL;
        if (prop_text(props, "alternatenames", &text))
            alt_add_list(&p, text);
    }

    geom = json_object_get(f, "geometry");
    gtype = json_string_value(json_object_get(geom, "type"));
    coords = json_object_get(geom, "coordinates");
    if (!json_is_object(geom) || !gtype) {
        refuse(r, i, "geometry", "no geometry");
        goto out;
    }
    if (strcmp(gtype, "Point") == 0) {
        if (!read_position(coords, &p.lon, &p.lat)) {
            refuse(r, i, "geometry", "Point coordinates are not [lon, lat] within range");
            goto out;
        }
    } else if (strcmp(gtype, "LineString") == 0 || strcmp(gtype, "MultiLineString") == 0) {
        if ((why = read_lines(coords, strcmp(gtype, "MultiLineString") == 0, &p))) {
            refuse(r, i, "geometry", "%s: %s", gtype, why);
            goto out;
        }
    } else if (strcmp(gtype, "Polygon") == 0 || strcmp(gtype, "MultiPolygon") == 0) {
        if (!read_polygonal(r, geom, &p, &err)) {
            refuse(r, i, "geometry", "%s: %s", gtype, err.msg);
            goto out;
        }
    } else {
        refuse(r, i, "geometry", "geometry type %s is not supported", gtype);
        goto out;
    }

    hm_place_src_init(&src, &p);
    if (check_src(&src, &err) != HM_OK) {
        refuse(r, i, err.field, "%s", err.msg);
        goto out;
    }
    if (r->list.count == r->cap_items) {
        r->cap_items = r->cap_items ? 2 * r->cap_items : 64;
        r->list.items = hm_xrealloc(r->list.items, r->cap_items * sizeof *r->list.items);
    }
    r->list.items[r->list.count++] = p;
    memset(&p, 0, sizeof p);
out:
    free(text);
    free(fcode);
    free(fclass);
    place_clear(&p);
}

int hm_place_list_read_geojson(const char *text, size_t len, const hm_place_fields *fields,
                               hm_place_list *out, hm_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    const char *type = json_string_value(json_object_get(root, "type"));
    const json_t *features;
    reader r;
    int rc = HM_OK;

    memset(&r, 0, sizeof r);
    if (!root) {
        rc = hm_error_set(err, HM_E_BAD_JSON, NULL, "not JSON: %s (line %d)", jerr.text, jerr.line);
        goto out;
    }
    if (type && strcmp(type, "Feature") == 0) {
        read_feature(&r, 0, root, fields);
    } else if (type && strcmp(type, "FeatureCollection") == 0) {
        features = json_object_get(root, "features");
        if (!json_is_array(features)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "features", "features must be an array");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(features); i++)
            read_feature(&r, i, json_array_get(features, i), fields);
    } else {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "type",
                          "not a GeoJSON Feature or FeatureCollection");
        goto out;
    }
    *out = r.list;
    memset(&r.list, 0, sizeof r.list);
out:
    hm_place_list_clear(&r.list);
    if (r.geos)
        GEOS_finish_r(r.geos);
    json_decref(root);
    return rc;
}

void hm_place_list_locate(hm_place_list *list, const hm_area_index *areas)
{
    for (size_t i = 0; i < list->count; i++) {
        hm_place *p = &list->items[i];
        const char *codes[HM_LEVEL__COUNT];
        hm_area_index_locate(areas, p->lon, p->lat, codes);
        free(p->ward_code);
        p->ward_code = codes[HM_LEVEL_WARD] ? hm_xstrdup(codes[HM_LEVEL_WARD]) : NULL;
    }
}

void hm_place_src_init(hm_place_src *src, const hm_place *p)
{
    memset(src, 0, sizeof *src);
    src->name = p->name;
    src->alt_names = (const char *const *)p->alt_names;
    src->n_alt = p->n_alt;
    src->kind = p->kind;
    src->rank = hm_place_kind_rank(p->kind);
    src->code = p->code;
    src->lon = p->lon;
    src->lat = p->lat;
    src->bbox = p->has_bbox ? p->bbox : NULL;
    src->ward_code = p->ward_code;
}
