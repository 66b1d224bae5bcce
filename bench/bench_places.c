/* bench_places.c: micro-benchmark of the place search behind GET /api/v1/places (SPEC "Places
 * and a street map, offline": p99 under 5 ms on the Củ Chi data; designed for a city's
 * 200,000 streets).
 *
 * The index holds what a server would hold: the 7 wards of 2025 and the 21 former wards of
 * 2019 (geodata/data), the 155 GeoNames places (geodata/data, CC BY 4.0, "GeoNames
 * (www.geonames.org)"), and --streets SYNTHETIC street names (invented from common
 * Vietnamese family, middle and given names, numbered roads and alleys; deterministic
 * seed) at uniform points of a 70 x 90 km box around Ho Chi Minh City (--streets 0: the
 * Củ Chi data alone, SPEC's own case).
 *
 * Queries (--queries, deterministic): the name of a random place (streets 90 %, others
 * 10 %), written as it is (40 %), without diacritics (40 %) or in capitals without
 * diacritics (20 %), cut after a random number of characters (1 to all: someone typing),
 * half of them with a point (lat/lon) to order by nearness; limit 10. Each query is timed
 * alone with CLOCK_MONOTONIC on the calling thread (one core); the program prints the
 * median, p90, p99 and maximum, the same for one-character queries (the largest runs of
 * candidates), the build time and the memory the index took.
 *
 * Output: human lines, then one line "RESULT key=value ...".
 * Usage: bench_places [--streets N] [--queries N] [--limit N] */
#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

#include "area.h"
#include "fold.h"
#include "hm_buf.h"
#include "places.h"

#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HM_GEODATA_DIR
#error "HM_GEODATA_DIR must name geodata/data"
#endif

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static size_t rng_below(rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: what a query costs when other processes take the core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;

    if (!f)
        return NULL;
    hm_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

static int load_areas(GEOSContextHandle_t ctx, const char *path, hm_area_list *list)
{
    hm_error err = {0};
    size_t len = 0;
    char *text = slurp(path, &len);
    int rc;

    if (!text) {
        fprintf(stderr, "bench_places: cannot read %s\n", path);
        return -1;
    }
    rc = hm_area_read_geojson(ctx, text, len, NULL, list, &err);
    free(text);
    if (rc != HM_OK)
        fprintf(stderr, "bench_places: %s: %s\n", path, err.msg);
    return rc == HM_OK ? 0 : -1;
}

static const char *const family[] = {"Nguyễn", "Trần", "Lê",   "Phạm",   "Hoàng", "Huỳnh", "Phan",
                                     "Vũ",     "Võ",   "Đặng", "Bùi",    "Đỗ",    "Hồ",    "Ngô",
                                     "Dương",  "Lý",   "Đinh", "Trương", "Lâm",   "Mai",   "Cao",
                                     "Tô",     "Hà",   "Tạ",   "Lương",  "Châu"};
static const char *const middle[] = {"Văn",  "Thị",   "Hữu",  "Đức",  "Minh", "Thành",
                                     "Công", "Quang", "Đình", "Xuân", "Ngọc", "Thanh"};
static const char *const given[] = {
    "Khạ",   "Lợi",   "Huệ",  "Trỗi",  "Thái",  "Hưng",    "Đạo",  "Cừ",   "Tám",
    "Bảy",   "Sáu",   "Năm",  "Hai",   "Ba",    "Tư",      "Lộc",  "Phúc", "Thọ",
    "An",    "Bình",  "Hòa",  "Phú",   "Quý",   "Tài",     "Trí",  "Dũng", "Hiếu",
    "Nghĩa", "Tín",   "Hạnh", "Khoa",  "Long",  "Hải",     "Sơn",  "Tùng", "Cúc",
    "Lan",   "Mai",   "Đào",  "Liễu",  "Thắm",  "Nhung",   "Yến",  "Oanh", "Hồng",
    "Xuyến", "Chiểu", "Diệu", "Quyền", "Khải",  "Giáp",    "Ất",   "Bính", "Đinh",
    "Mậu",   "Kỷ",    "Canh", "Tân",   "Nhâm",  "Quý Cáp", "Tuấn", "Kiệt", "Vương",
    "Duẩn",  "Chánh", "Nhơn", "Thạnh", "Thuận", "Lạc",     "Hậu",  "Mỹ",   "Đông"};
static const char *const road[] = {"Tỉnh Lộ",  "Quốc Lộ", "Hương Lộ", "Liên Ấp",
                                   "Đường số", "Kênh",    "Rạch"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One invented street name into `out`. */
static void street_name(rng *r, char *out, size_t size)
{
    size_t k = rng_below(r, 100);
    const char *f = family[rng_below(r, N(family))], *m = middle[rng_below(r, N(middle))];
    const char *g = given[rng_below(r, N(given))];

    if (k < 50)
        snprintf(out, size, "Đường %s %s %s", f, m, g);
    else if (k < 65)
        snprintf(out, size, "Hẻm %zu %s %s", 1 + rng_below(r, 400), f, g);
    else if (k < 85)
        snprintf(out, size, "%s %zu", road[rng_below(r, N(road))], 1 + rng_below(r, 300));
    else
        snprintf(out, size, "%s %s", f, g);
}

/* The first `chars` characters of UTF-8 `s` into `out`. */
static void cut_chars(const char *s, size_t chars, char *out, size_t size)
{
    size_t i = 0;

    while (s[i] && chars > 0) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        chars--;
    }
    if (i >= size)
        i = size - 1;
    memcpy(out, s, i);
    out[i] = '\0';
}

static size_t count_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += (*s & 0xC0) != 0x80;
    return n;
}

/* One prepared query. */
typedef struct bench_query {
    char text[256];
    bool one_char;
    bool near;
    double lon, lat;
} bench_query;

#define REPS_MAX 15

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return NAN;
    i = (size_t)ceil(p * (double)n) - 1;
    return sorted[i < n ? i : n - 1];
}

/* The value after argv[*i]: a number >= `min`; exits 2 otherwise. */
static long arg_long(int argc, char **argv, int *i, long min)
{
    char *end;
    long v;

    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_places: %s needs a value\n", argv[*i]);
        exit(2);
    }
    v = strtol(argv[++*i], &end, 10);
    if (*end || v < min) {
        fprintf(stderr, "bench_places: bad value for %s\n", argv[*i - 1]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    size_t n_streets = 200000, n_queries = 10000, limit = 10;
    GEOSContextHandle_t ctx = GEOS_init_r();
    hm_area_list wards = {NULL, 0}, formers = {NULL, 0};
    hm_place_list geonames;
    hm_area_index *areas = NULL;
    hm_places *idx = NULL;
    hm_area_src src[64];
    hm_error err = {0};
    char **names = NULL;
    double *times = NULL, *times1 = NULL, t0, build_s, mem_mb, slow_ms = 0;
    double p50[REPS_MAX], p90[REPS_MAX], p99[REPS_MAX], pmax[REPS_MAX], p99_1[REPS_MAX];
    double cpu99[REPS_MAX], *cpu = NULL;
    bench_query *queries = NULL;
    size_t n_src = 0, n_names = 0, n1 = 0, len = 0;
    int reps = 3;
    const char *only = NULL;
    struct mallinfo2 m0, m1;
    rng r = {2021};
    char *text;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--streets") == 0)
            n_streets = (size_t)arg_long(argc, argv, &i, 0);
        else if (strcmp(argv[i], "--queries") == 0)
            n_queries = (size_t)arg_long(argc, argv, &i, 1);
        else if (strcmp(argv[i], "--limit") == 0)
            limit = (size_t)arg_long(argc, argv, &i, 1);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (int)arg_long(argc, argv, &i, 1);
        else if (strcmp(argv[i], "--slow") == 0)
            slow_ms = (double)arg_long(argc, argv, &i, 1);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_places [--streets N] [--queries N] [--limit N] "
                            "[--reps N] [--slow MS] [--only TEXT]\n");
            return 2;
        }
    }
    if (reps > REPS_MAX)
        reps = REPS_MAX;
    if (limit > HM_PLACES_LIMIT_MAX)
        limit = HM_PLACES_LIMIT_MAX;

    memset(&geonames, 0, sizeof geonames);
    if (!ctx || load_areas(ctx, HM_GEODATA_DIR "/cu_chi_communes_2025.geojson", &wards) ||
        load_areas(ctx, HM_GEODATA_DIR "/cu_chi_communes.geojson", &formers))
        goto out;
    for (size_t i = 0; i < wards.count; i++)
        src[n_src++] = (hm_area_src){HM_LEVEL_WARD, wards.items[i].code, wards.items[i].wkb,
                                     wards.items[i].wkb_len};
    for (size_t i = 0; i < formers.count; i++)
        src[n_src++] = (hm_area_src){HM_LEVEL_FORMER_WARD, formers.items[i].code,
                                     formers.items[i].wkb, formers.items[i].wkb_len};
    if (!(areas = hm_area_index_create(src, n_src, &err))) {
        fprintf(stderr, "bench_places: areas: %s\n", err.msg);
        goto out;
    }
    text = slurp(HM_GEODATA_DIR "/cu_chi_places_geonames.geojson", &len);
    if (!text || hm_place_list_read_geojson(text, len, NULL, &geonames, &err) != HM_OK) {
        fprintf(stderr, "bench_places: GeoNames: %s\n", text ? err.msg : "cannot read");
        free(text);
        goto out;
    }
    free(text);
    hm_place_list_locate(&geonames, areas);

    /* The names the queries are cut from, in the order added. */
    names = malloc((wards.count + formers.count + geonames.count + n_streets) * sizeof *names);
    if (!names)
        goto out;

    m0 = mallinfo2();
    t0 = now_s();
    idx = hm_places_create();
    for (int level = 0; level < 2; level++) {
        const hm_area_list *l = level == 0 ? &wards : &formers;
        for (size_t i = 0; i < l->count; i++) {
            const hm_area *a = &l->items[i];
            const char *codes[HM_LEVEL__COUNT];
            hm_place_src s = {0};
            hm_area_index_locate(areas, a->rep_lon, a->rep_lat, codes);
            s.name = a->name;
            s.kind = s.level = hm_level_name((hm_level)level);
            s.rank = hm_place_kind_rank(s.kind);
            s.code = a->code;
            s.lon = a->rep_lon;
            s.lat = a->rep_lat;
            s.bbox = a->bbox;
            s.ward_code = level == 0 ? a->code : codes[HM_LEVEL_WARD];
            if (hm_places_add(idx, &s, &err) != HM_OK)
                goto add_failed;
            names[n_names++] = a->name;
        }
    }
    for (size_t i = 0; i < geonames.count; i++) {
        hm_place_src s;
        hm_place_src_init(&s, &geonames.items[i]);
        if (hm_places_add(idx, &s, &err) != HM_OK)
            goto add_failed;
        names[n_names++] = geonames.items[i].name;
    }
    for (size_t i = 0; i < n_streets; i++) {
        char name[128];
        const char *codes[HM_LEVEL__COUNT];
        hm_place_src s = {0};
        street_name(&r, name, sizeof name);
        s.name = name;
        s.kind = "street";
        s.rank = HM_PLACE_RANK_STREET;
        s.lon = 106.35 + rng_unit(&r) * 0.65;
        s.lat = 10.35 + rng_unit(&r) * 0.81;
        hm_area_index_locate(areas, s.lon, s.lat, codes);
        s.ward_code = codes[HM_LEVEL_WARD];
        if (hm_places_add(idx, &s, &err) != HM_OK)
            goto add_failed;
        names[n_names++] = strdup(name);
    }
    if (hm_places_freeze(idx, &err) != HM_OK)
        goto add_failed;
    build_s = now_s() - t0;
    m1 = mallinfo2();
    mem_mb = ((double)m1.uordblks + (double)m1.hblkhd - (double)m0.uordblks - (double)m0.hblkhd) /
             1048576.0;
    printf("index: %zu places (%zu areas, %zu GeoNames, %zu synthetic streets), built in "
           "%.2f s, %.1f MB\n",
           hm_places_count(idx), wards.count + formers.count, geonames.count, n_streets, build_s,
           mem_mb);

    if (only) { /* one query, 100 times, with and without a point */
        for (int near = 0; near < 2; near++) {
            hm_places_query query = {only, strlen(only), limit, near, 106.5, 10.9};
            hm_place_hit hits[HM_PLACES_LIMIT_MAX];
            size_t n_hits = 0;
            double best = INFINITY;
            for (int k = 0; k < 100; k++) {
                double c = cpu_s();
                if (hm_places_search(idx, &query, hits, &n_hits, &err) != HM_OK) {
                    fprintf(stderr, "bench_places: %s\n", err.msg);
                    goto out;
                }
                c = cpu_s() - c;
                best = c < best ? c : best;
            }
            printf("\"%s\"%s: best of 100 %.3f ms CPU, %zu hits, first \"%s\"\n", only,
                   near ? " with a point" : "", best * 1e3, n_hits, n_hits ? hits[0].name : "");
        }
        rc = 0;
        goto out;
    }
    /* The queries, made once and run --reps times. */
    queries = calloc(n_queries, sizeof *queries);
    times = malloc(n_queries * sizeof *times);
    times1 = malloc(n_queries * sizeof *times1);
    cpu = malloc(n_queries * sizeof *cpu);
    if (!queries || !times || !times1 || !cpu)
        goto out;
    for (size_t q = 0; q < n_queries; q++) {
        size_t pick = rng_below(&r, 10) == 0 || n_streets == 0
                          ? rng_below(&r, wards.count + formers.count + geonames.count)
                          : wards.count + formers.count + geonames.count + rng_below(&r, n_streets);
        const char *name = names[pick];
        size_t style = rng_below(&r, 10), chars;
        char written[256];
        bench_query *bq = &queries[q];

        if (style < 4) {
            snprintf(written, sizeof written, "%s", name);
        } else {
            hm_fold_into(name, strlen(name), written);
            if (style >= 8)
                for (char *c = written; *c; c++)
                    *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        }
        chars = 1 + rng_below(&r, count_chars(written));
        cut_chars(written, chars, bq->text, sizeof bq->text);
        bq->one_char = chars == 1;
        bq->near = rng_below(&r, 2) == 0;
        bq->lon = 106.35 + rng_unit(&r) * 0.65;
        bq->lat = 10.35 + rng_unit(&r) * 0.81;
    }
    for (int rep = 0; rep < reps; rep++) {
        size_t total_hits = 0, empty = 0;
        n1 = 0;
        for (size_t q = 0; q < n_queries; q++) {
            const bench_query *bq = &queries[q];
            hm_places_query query = {bq->text, strlen(bq->text), limit, bq->near, bq->lon, bq->lat};
            hm_place_hit hits[HM_PLACES_LIMIT_MAX];
            size_t n_hits = 0;
            double c = cpu_s(), t = now_s();
            int search_rc = hm_places_search(idx, &query, hits, &n_hits, &err);

            t = (now_s() - t) * 1e3;
            c = (cpu_s() - c) * 1e3;
            if (search_rc != HM_OK) {
                fprintf(stderr, "bench_places: query \"%s\": %s\n", bq->text, err.msg);
                goto out;
            }
            if (slow_ms > 0 && c > slow_ms)
                fprintf(stderr, "slow: %.3f ms (CPU %.3f ms) \"%s\"%s, %zu hits\n", t, c, bq->text,
                        bq->near ? " with a point" : "", n_hits);
            times[q] = t;
            cpu[q] = c;
            if (bq->one_char)
                times1[n1++] = t;
            total_hits += n_hits;
            empty += n_hits == 0;
        }
        qsort(times, n_queries, sizeof *times, cmp_double);
        qsort(times1, n1, sizeof *times1, cmp_double);
        qsort(cpu, n_queries, sizeof *cpu, cmp_double);
        cpu99[rep] = pct(cpu, n_queries, 0.99);
        p50[rep] = pct(times, n_queries, 0.5);
        p90[rep] = pct(times, n_queries, 0.9);
        p99[rep] = pct(times, n_queries, 0.99);
        pmax[rep] = times[n_queries - 1];
        p99_1[rep] = pct(times1, n1, 0.99);
        printf("run %d: %zu queries (limit %zu): median %.3f ms, p90 %.3f ms, p99 %.3f ms, "
               "max %.3f ms (CPU time p99 %.3f ms); %.1f hits per query, %zu with none; %zu of "
               "one character: p99 %.3f ms\n",
               rep + 1, n_queries, limit, p50[rep], p90[rep], p99[rep], pmax[rep], cpu99[rep],
               (double)total_hits / (double)n_queries, empty, n1, p99_1[rep]);
    }
    qsort(p50, (size_t)reps, sizeof *p50, cmp_double);
    qsort(p90, (size_t)reps, sizeof *p90, cmp_double);
    qsort(p99, (size_t)reps, sizeof *p99, cmp_double);
    qsort(pmax, (size_t)reps, sizeof *pmax, cmp_double);
    qsort(p99_1, (size_t)reps, sizeof *p99_1, cmp_double);
    qsort(cpu99, (size_t)reps, sizeof *cpu99, cmp_double);
    printf("median of %d runs: median %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms, "
           "CPU time p99 %.3f ms; one-character p99 %.3f ms\n",
           reps, p50[reps / 2], p90[reps / 2], p99[reps / 2], pmax[reps / 2], cpu99[reps / 2],
           p99_1[reps / 2]);
    printf("RESULT scenario=places places=%zu streets=%zu queries=%zu reps=%d build_s=%.3f "
           "mem_mb=%.1f p50_ms=%.4f p90_ms=%.4f p99_ms=%.4f max_ms=%.4f cpu_p99_ms=%.4f "
           "p99_1char_ms=%.4f\n",
           hm_places_count(idx), n_streets, n_queries, reps, build_s, mem_mb, p50[reps / 2],
           p90[reps / 2], p99[reps / 2], pmax[reps / 2], cpu99[reps / 2], p99_1[reps / 2]);
    rc = 0;
    goto out;
add_failed:
    fprintf(stderr, "bench_places: %s\n", err.msg);
out:
    for (size_t i = wards.count + formers.count + geonames.count; names && i < n_names; i++)
        free(names[i]);
    free(names);
    free(queries);
    free(times);
    free(times1);
    free(cpu);
    hm_places_destroy(idx);
    hm_place_list_clear(&geonames);
    hm_area_index_destroy(areas);
    hm_area_list_clear(&wards);
    hm_area_list_clear(&formers);
    if (ctx)
        GEOS_finish_r(ctx);
    return rc;
}
