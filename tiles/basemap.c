/* basemap.c: building the street map with osmium and tilemaker, and reading
 * its street and place names back; see basemap.h. */
#include "basemap.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm_buf.h"
#include "hm_log.h"
#include "tile.h"
#include "vector_tile.pb-c.h"

extern char **environ;

#define OSM_ATTRIBUTION                                                                            \
    "<a href=\"https://www.openstreetmap.org/copyright\">&copy; OpenStreetMap contributors</a>"

/* ---- running the tools ------------------------------------------------------------------ */

/* Log the last lines of the tool's output (progress lines end in '\r') and
 * copy the one that best says what went wrong to `last`. */
static void log_tail(const char *tool, const char *log_path, char *last, size_t last_size)
{
    char buf[4096];
    ssize_t n;
    off_t size;
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    char *lines[24];
    int nlines = 0;

    last[0] = '\0';
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size < 0 ||
        lseek(fd, size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0, SEEK_SET) < 0) {
        close(fd);
        return;
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *save = NULL, *l = strtok_r(buf, "\r\n", &save); l;
         l = strtok_r(NULL, "\r\n", &save)) {
        while (*l == ' ')
            l++;
        if (!*l)
            continue;
        if (nlines == (int)(sizeof lines / sizeof *lines)) {
            memmove(lines, lines + 1, sizeof lines - sizeof *lines);
            nlines--;
        }
        lines[nlines++] = l;
    }
    for (int i = 0; i < nlines; i++)
        hm_log(HM_LOG_ERROR, "event=basemap_tool_output tool=%s line=\"%.300s\"", tool, lines[i]);
    /* For the message: the last line that speaks of an error, else the last. */
    for (int i = nlines - 1; i >= 0; i--)
        if (strstr(lines[i], "rror") || i == 0) {
            snprintf(last, last_size, "%s",
                     strstr(lines[i], "rror") ? lines[i] : lines[nlines - 1]);
            break;
        }
}

/* Run argv (argv[0] is the program: a name looked up on PATH, or a path)
 * with stdin from /dev/null and stdout and stderr into `log_path`. */
static int run_tool(const char *tool, const char *prog, char *const argv[], const char *log_path,
                    hm_error *err)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, status;
    char last[120];

    if (posix_spawn_file_actions_init(&fa) != 0)
        return hm_error_set(err, HM_E_NOMEM, NULL, "posix_spawn_file_actions_init failed");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    hm_log(HM_LOG_INFO, "event=basemap_tool_start tool=%s", tool);
    rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT || rc == EACCES || rc == ENOEXEC)
        return hm_error_set(err, HM_E_UNAVAILABLE, tool,
                            "%s is not installed (%s: %s); on Debian: apt-get install %s", tool,
                            prog, strerror(rc), strcmp(tool, "osmium") == 0 ? "osmium-tool" : tool);
    if (rc != 0)
        return hm_error_set(err, HM_E_IO, tool, "cannot run %s: %s", prog, strerror(rc));
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return hm_error_set(err, HM_E_IO, tool, "waitpid %s: %s", tool, strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return HM_OK;
    log_tail(tool, log_path, last, sizeof last);
    if (WIFEXITED(status))
        return hm_error_set(err, HM_E_IO, tool, "%s exited with status %d: %s", tool,
                            WEXITSTATUS(status), last[0] ? last : "(no output)");
    return hm_error_set(err, HM_E_IO, tool, "%s killed by signal %d: %s", tool,
                        WIFSIGNALED(status) ? WTERMSIG(status) : 0, last[0] ? last : "(no output)");
}

/* ---- build ------------------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "<dir>/.<base><middle>XXXXXX<suffix>" next to `path` (or in `dir`), created
 * empty with mkstemps. Returns the path (caller frees) or NULL. */
static char *temp_beside(const char *path, const char *dir, const char *middle, const char *suffix)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    hm_buf b;
    int fd;

    hm_buf_init(&b);
    if (dir)
        hm_buf_printf(&b, "%s/", dir);
    else if (slash)
        hm_buf_append(&b, path, (size_t)(slash - path) + 1);
    hm_buf_printf(&b, ".%s%sXXXXXX%s", base, middle, suffix);
    fd = mkstemps(b.data, (int)strlen(suffix));
    if (fd < 0) {
        hm_buf_clear(&b);
        return NULL;
    }
    close(fd);
    return hm_buf_steal(&b, NULL);
}

static int fit_zoom(const double b[4], int minzoom, int maxzoom)
{
    double wx0, wy0, wx1, wy1, span;
    int z;

    hm_tile_lonlat_to_world(b[0], b[3], &wx0, &wy0);
    hm_tile_lonlat_to_world(b[2], b[1], &wx1, &wy1);
    span = fmax(wx1 - wx0, wy1 - wy0);
    z = span > 0.0 ? (int)floor(-log2(span)) : maxzoom;
    return z < minzoom ? minzoom : z > maxzoom ? maxzoom : z;
}

static int meta_set(sqlite3 *db, const char *name, const char *value, hm_error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = HM_OK;

    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO metadata (name, value) VALUES (?1, ?2)", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_DONE)
        rc = hm_error_set(err, HM_E_DB, NULL, "basemap metadata %s: %s", name, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc;
}

/* Attribution, and bounds and center from the tiles when tilemaker had no
 * bounding box (it then writes zeros). An extract without tiles is an error. */
static int finish_metadata(const char *path, const char *attribution, bool has_bbox, hm_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char text[128];
    double bounds[4] = {0};
    int rc = HM_OK;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = hm_error_set(err, HM_E_DB, NULL, "basemap: open %s: %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    rc = meta_set(db, "attribution", attribution ? attribution : OSM_ATTRIBUTION, err);
    if (rc != HM_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT value FROM metadata WHERE name = 'bounds'", -1, &q, NULL) !=
        SQLITE_OK) {
        rc = hm_error_set(err, HM_E_DB, NULL, "basemap metadata: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        if (sscanf(v, "%lf,%lf,%lf,%lf", &bounds[0], &bounds[1], &bounds[2], &bounds[3]) != 4)
            memset(bounds, 0, sizeof bounds);
    }
    sqlite3_finalize(q);
    q = NULL;

    /* The extent of the tiles at the highest zoom; none at all is an
     * extract (or a bbox) without map data. */
    if (sqlite3_prepare_v2(db,
                           "SELECT zoom_level, min(tile_column), max(tile_column), min(tile_row), "
                           "max(tile_row), (SELECT min(zoom_level) FROM tiles) FROM tiles "
                           "WHERE zoom_level = (SELECT max(zoom_level) FROM tiles)",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = hm_error_set(err, HM_E_DB, NULL, "basemap tiles: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_column_type(q, 0) == SQLITE_NULL) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "osm", "no map data in the extract%s",
                          has_bbox ? " inside the bbox" : "");
        goto out;
    }
    if (bounds[0] < bounds[2] && bounds[1] < bounds[3])
        goto out; /* tilemaker wrote the extract's bounding box */
    {
        int z = sqlite3_column_int(q, 0), minz = sqlite3_column_int(q, 5);
        uint32_t n = 1u << z;
        hm_tile nw = {z, (uint32_t)sqlite3_column_int64(q, 1),
                      n - 1 - (uint32_t)sqlite3_column_int64(q, 4)};
        hm_tile se = {z, (uint32_t)sqlite3_column_int64(q, 2),
                      n - 1 - (uint32_t)sqlite3_column_int64(q, 3)};
        double a[4], b[4];

        if (z < 0 || z > HM_TILE_MAX_ZOOM || !hm_tile_valid(&nw) || !hm_tile_valid(&se)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "osm", "tiles out of range");
            goto out;
        }
        hm_tile_bounds(&nw, a);
        hm_tile_bounds(&se, b);
        bounds[0] = a[0];
        bounds[1] = b[1];
        bounds[2] = b[2];
        bounds[3] = a[3];
        snprintf(text, sizeof text, "%.6f,%.6f,%.6f,%.6f", bounds[0], bounds[1], bounds[2],
                 bounds[3]);
        rc = meta_set(db, "bounds", text, err);
        if (rc != HM_OK)
            goto out;
        snprintf(text, sizeof text, "%.6f,%.6f,%d", (bounds[0] + bounds[2]) / 2,
                 (bounds[1] + bounds[3]) / 2, fit_zoom(bounds, minz, z));
        rc = meta_set(db, "center", text, err);
    }
out:
    sqlite3_finalize(q);
    if (db && sqlite3_close(db) != SQLITE_OK && rc == HM_OK)
        rc = hm_error_set(err, HM_E_DB, NULL, "basemap: close %s", path);
    return rc;
}

/* An .osm.pbf file starts with a 4-byte header length and a BlobHeader
 * whose type (field 1) is "OSMHeader". tilemaker reads anything else as an
 * empty extract and succeeds, so the check is ours. */
static bool looks_like_pbf(const char *path)
{
    unsigned char b[32];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;

    if (f)
        fclose(f);
    return n >= 15 && b[0] == 0 && b[1] == 0 && b[4] == 0x0a && b[5] == 9 &&
           memcmp(b + 6, "OSMHeader", 9) == 0;
}

static int check_opts(const hm_basemap_build_opts *o, struct stat *st, hm_error *err)
{
    const double *b = o->bbox;

    if (!o->osm_pbf || !*o->osm_pbf || stat(o->osm_pbf, st) != 0 || !S_ISREG(st->st_mode) ||
        access(o->osm_pbf, R_OK) != 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "osm", "cannot read the extract %.100s",
                            o->osm_pbf ? o->osm_pbf : "(none)");
    if (!looks_like_pbf(o->osm_pbf))
        return hm_error_set(err, HM_E_INVALID_FIELD, "osm",
                            "%.100s is not an OpenStreetMap .osm.pbf file (osmium cat converts "
                            "other formats)",
                            o->osm_pbf);
    if (!o->out_mbtiles || !ends_with(o->out_mbtiles, ".mbtiles") ||
        strlen(o->out_mbtiles) == strlen(".mbtiles"))
        return hm_error_set(err, HM_E_INVALID_FIELD, "out",
                            "the output file's name must end in .mbtiles");
    if (!o->force && access(o->out_mbtiles, F_OK) == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "out",
                            "%.100s exists; use --force to replace it", o->out_mbtiles);
    if (b) {
        for (int i = 0; i < 4; i++)
            if (!isfinite(b[i]))
                return hm_error_set(err, HM_E_INVALID_FIELD, "bbox", "bbox must be 4 numbers");
        if (b[0] < -180.0 || b[2] > 180.0 || b[1] < -90.0 || b[3] > 90.0 || b[0] >= b[2] ||
            b[1] >= b[3])
            return hm_error_set(err, HM_E_INVALID_FIELD, "bbox",
                                "bbox must be minLon,minLat,maxLon,maxLat with min < max");
    }
    if (!o->config_dir)
        return hm_error_set(err, HM_E_INVALID_FIELD, "config", "no basemap configuration folder");
    return HM_OK;
}

int hm_basemap_build(const hm_basemap_build_opts *o, hm_error *err)
{
    const char *tilemaker = o->tilemaker ? o->tilemaker : "tilemaker";
    const char *osmium = o->osmium ? o->osmium : "osmium";
    char *tmp_tiles = NULL, *tmp_cut = NULL, *tmp_log = NULL;
    hm_buf config, process;
    const char *input = o->osm_pbf;
    char bbox_arg[128], threads_arg[16];
    struct stat st;
    int rc, fd;

    hm_buf_init(&config);
    hm_buf_init(&process);
    rc = check_opts(o, &st, err);
    if (rc != HM_OK)
        goto out;
    hm_buf_printf(&config, "%s/config.json", o->config_dir);
    hm_buf_printf(&process, "%s/process.lua", o->config_dir);
    if (access(config.data, R_OK) != 0 || access(process.data, R_OK) != 0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "config",
                          "%.100s must hold config.json and process.lua", o->config_dir);
        goto out;
    }

    tmp_tiles = temp_beside(o->out_mbtiles, NULL, ".", ".mbtiles");
    tmp_log = temp_beside(o->out_mbtiles, o->tmp_dir, ".", ".log");
    if (!tmp_tiles || !tmp_log) {
        rc = hm_error_set(err, HM_E_IO, "out", "cannot create a file beside %.100s: %s",
                          o->out_mbtiles, strerror(errno));
        goto out;
    }
    /* tilemaker adds to an existing database only with --merge; start empty. */
    unlink(tmp_tiles);

    if (o->bbox) {
        tmp_cut = temp_beside(o->out_mbtiles, o->tmp_dir, ".", ".osm.pbf");
        if (!tmp_cut) {
            rc = hm_error_set(err, HM_E_IO, "out", "cannot create a temporary file: %s",
                              strerror(errno));
            goto out;
        }
        snprintf(bbox_arg, sizeof bbox_arg, "%.7f,%.7f,%.7f,%.7f", o->bbox[0], o->bbox[1],
                 o->bbox[2], o->bbox[3]);
        {
            char *const argv[] = {
                (char *)osmium, "extract",          "--bbox",      bbox_arg,        "--strategy",
                "smart",        "--set-bounds",     "--overwrite", "--no-progress", "-o",
                tmp_cut,        (char *)o->osm_pbf, NULL};
            rc = run_tool("osmium", osmium, argv, tmp_log, err);
        }
        if (rc != HM_OK)
            goto out;
        input = tmp_cut;
    }

    snprintf(threads_arg, sizeof threads_arg, "%d", o->threads > 0 ? o->threads : 0);
    {
        char *const argv[] = {(char *)tilemaker, "--input",   (char *)input, "--output",
                              tmp_tiles,         "--config",  config.data,   "--process",
                              process.data,      "--threads", threads_arg,   NULL};
        rc = run_tool("tilemaker", tilemaker, argv, tmp_log, err);
    }
    if (rc != HM_OK)
        goto out;
    if (access(tmp_tiles, F_OK) != 0) {
        rc = hm_error_set(err, HM_E_IO, "tilemaker", "tilemaker wrote no %s", tmp_tiles);
        goto out;
    }
    rc = finish_metadata(tmp_tiles, o->attribution, o->bbox != NULL, err);
    if (rc != HM_OK)
        goto out;

    /* On disk before it takes the output's name. */
    fd = open(tmp_tiles, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        rc = hm_error_set(err, HM_E_IO, "out", "fsync %s: %s", tmp_tiles, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    if (!o->force && access(o->out_mbtiles, F_OK) == 0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "out",
                          "%.100s appeared during the build; use --force to replace it",
                          o->out_mbtiles);
        goto out;
    }
    if (rename(tmp_tiles, o->out_mbtiles) != 0) {
        rc = hm_error_set(err, HM_E_IO, "out", "rename to %.100s: %s", o->out_mbtiles,
                          strerror(errno));
        goto out;
    }
    hm_log(HM_LOG_INFO, "event=basemap_built out=%s", o->out_mbtiles);
out:
    if (tmp_tiles) {
        unlink(tmp_tiles); /* gone after the rename; a failed build leaves nothing */
        char journal[4096];
        snprintf(journal, sizeof journal, "%s-journal", tmp_tiles);
        unlink(journal);
    }
    if (tmp_cut)
        unlink(tmp_cut);
    if (tmp_log)
        unlink(tmp_log);
    free(tmp_tiles);
    free(tmp_cut);
    free(tmp_log);
    hm_buf_clear(&config);
    hm_buf_clear(&process);
    return rc;
}

/* ---- names ------------------------------------------------------------------------------ */

/* Pieces of two streets of the same name closer than this (degrees, about
 * 100 m) are one street. */
#define NAME_MERGE_DEG 0.001

/* Interned strings: "s" or "p" (street, place) + name, and classes. */
typedef struct strtab {
    char **s;
    size_t n, cap;
    uint32_t *slot; /* open addressing: index + 1, 0 = empty */
    size_t nslot;
} strtab;

static uint64_t hash_str(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint32_t intern(strtab *t, const char *prefix, const char *s)
{
    size_t plen = strlen(prefix), slen = strlen(s);
    char *key = hm_xmalloc(plen + slen + 1);
    size_t i;

    memcpy(key, prefix, plen);
    memcpy(key + plen, s, slen + 1);
    if (2 * (t->n + 1) > t->nslot) {
        size_t ns = t->nslot ? t->nslot * 2 : 1024;
        uint32_t *slot = hm_xcalloc(ns, sizeof *slot);
        for (size_t k = 0; k < t->n; k++) {
            size_t j = hash_str(t->s[k], strlen(t->s[k])) & (ns - 1);
            while (slot[j])
                j = (j + 1) & (ns - 1);
            slot[j] = (uint32_t)k + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->nslot = ns;
    }
    for (i = hash_str(key, plen + slen) & (t->nslot - 1); t->slot[i]; i = (i + 1) & (t->nslot - 1))
        if (strcmp(t->s[t->slot[i] - 1], key) == 0) {
            free(key);
            return t->slot[i] - 1;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->s = hm_xrealloc(t->s, t->cap * sizeof *t->s);
    }
    t->s[t->n] = key;
    t->slot[i] = (uint32_t)t->n + 1;
    return (uint32_t)t->n++;
}

static void strtab_clear(strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

typedef struct piece {
    uint32_t key, cls;
    uint32_t parent; /* union-find */
    double bbox[4];
    double mid[2];
    double len; /* world units; 0 for a place */
} piece;

typedef struct names_ctx {
    strtab tab;
    piece *p;
    size_t n, cap;
    hm_buf raw;
    hm_error *err;
} names_ctx;

static void add_piece(names_ctx *c, uint32_t key, uint32_t cls, const double *lon,
                      const double *lat, const double *wx, const double *wy, size_t npts)
{
    piece *p;
    double total = 0.0, half, acc = 0.0;

    if (npts == 0)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->p = hm_xrealloc(c->p, c->cap * sizeof *c->p);
    }
    p = &c->p[c->n];
    memset(p, 0, sizeof *p);
    p->key = key;
    p->cls = cls;
    p->parent = (uint32_t)c->n;
    p->bbox[0] = p->bbox[2] = lon[0];
    p->bbox[1] = p->bbox[3] = lat[0];
    for (size_t i = 1; i < npts; i++) {
        p->bbox[0] = fmin(p->bbox[0], lon[i]);
        p->bbox[1] = fmin(p->bbox[1], lat[i]);
        p->bbox[2] = fmax(p->bbox[2], lon[i]);
        p->bbox[3] = fmax(p->bbox[3], lat[i]);
        total += hypot(wx[i] - wx[i - 1], wy[i] - wy[i - 1]);
    }
    p->mid[0] = lon[0];
    p->mid[1] = lat[0];
    p->len = total;
    /* The point halfway along the line, on the line. */
    half = total / 2.0;
    for (size_t i = 1; i < npts && total > 0.0; i++) {
        double seg = hypot(wx[i] - wx[i - 1], wy[i] - wy[i - 1]);
        if (acc + seg >= half && seg > 0.0) {
            double f = (half - acc) / seg, mx = wx[i - 1] + f * (wx[i] - wx[i - 1]),
                   my = wy[i - 1] + f * (wy[i] - wy[i - 1]);
            hm_tile_world_to_lonlat(mx, my, &p->mid[0], &p->mid[1]);
            break;
        }
        acc += seg;
    }
    c->n++;
}

static const char *tag_string(const VectorTile__Tile__Layer *l, const VectorTile__Tile__Feature *f,
                              const char *key)
{
    for (size_t t = 0; t + 1 < f->n_tags; t += 2) {
        uint32_t k = f->tags[t], v = f->tags[t + 1];
        if (k < l->n_keys && v < l->n_values && strcmp(l->keys[k], key) == 0)
            return l->values[v]->string_value; /* NULL for a number */
    }
    return NULL;
}

static int32_t unzigzag(uint32_t v)
{
    return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}

/* Decode the lines or points of one feature, one piece per part. */
static void feature_pieces(names_ctx *c, const hm_tile *t, uint32_t extent,
                           const VectorTile__Tile__Feature *f, uint32_t key, uint32_t cls)
{
    size_t cap = f->n_geometry / 2 + 1, n = 0, i = 0;
    double *lon = hm_xmalloc(cap * sizeof *lon), *lat = hm_xmalloc(cap * sizeof *lat);
    double *wx = hm_xmalloc(cap * sizeof *wx), *wy = hm_xmalloc(cap * sizeof *wy);
    double tile_w = ldexp(1.0, -t->z);
    int64_t x = 0, y = 0;
    bool points = f->type == VECTOR_TILE__TILE__GEOM_TYPE__POINT;

    while (i < f->n_geometry) {
        uint32_t cmd = f->geometry[i] & 7, count = f->geometry[i] >> 3;
        i++;
        if (cmd == 7) /* ClosePath: not in lines or points */
            continue;
        if (cmd != 1 && cmd != 2)
            break;
        if (cmd == 1 && !points) { /* MoveTo: a new part of a line */
            add_piece(c, key, cls, lon, lat, wx, wy, n);
            n = 0;
        }
        /* Each point takes two integers, so n stays below cap. */
        for (uint32_t k = 0; k < count && i + 1 < f->n_geometry; k++, i += 2) {
            x += unzigzag(f->geometry[i]);
            y += unzigzag(f->geometry[i + 1]);
            wx[n] = (t->x + (double)x / extent) * tile_w;
            wy[n] = (t->y + (double)y / extent) * tile_w;
            hm_tile_world_to_lonlat(wx[n], wy[n], &lon[n], &lat[n]);
            if (points)
                add_piece(c, key, cls, &lon[n], &lat[n], &wx[n], &wy[n], 1);
            else if (n == 0 || wx[n] != wx[n - 1] || wy[n] != wy[n - 1])
                n++;
        }
    }
    if (!points)
        add_piece(c, key, cls, lon, lat, wx, wy, n);
    free(lon);
    free(lat);
    free(wx);
    free(wy);
}

static int names_tile(const hm_tile *t, const hm_mbtiles_blob *blob, void *ctx)
{
    names_ctx *c = ctx;
    const void *data = blob->data;
    size_t len = blob->len;
    VectorTile__Tile *tile;

    if (blob->encoding != HM_MBTILES_RAW) {
        c->raw.len = 0;
        if (hm_mbtiles_inflate(blob->data, blob->len, 0, &c->raw, c->err) != HM_OK)
            return HM_E_INVALID_FIELD;
        data = c->raw.data;
        len = c->raw.len;
    }
    tile = vector_tile__tile__unpack(NULL, len, data);
    if (!tile)
        return hm_error_set(c->err, HM_E_INVALID_FIELD, "tile", "tile %d/%u/%u does not decode",
                            t->z, t->x, t->y);
    for (size_t li = 0; li < tile->n_layers; li++) {
        const VectorTile__Tile__Layer *l = tile->layers[li];
        const char *prefix;
        uint32_t extent = l->has_extent && l->extent > 0 ? l->extent : 4096;

        if (strcmp(l->name, "transportation_name") == 0)
            prefix = "s";
        else if (strcmp(l->name, "place") == 0)
            prefix = "p";
        else
            continue;
        for (size_t fi = 0; fi < l->n_features; fi++) {
            const VectorTile__Tile__Feature *f = l->features[fi];
            const char *name = tag_string(l, f, "name:vi"), *cls = tag_string(l, f, "class");
            bool want = prefix[0] == 's' ? f->type == VECTOR_TILE__TILE__GEOM_TYPE__LINESTRING
                                         : f->type == VECTOR_TILE__TILE__GEOM_TYPE__POINT;
            if (!name || !*name)
                name = tag_string(l, f, "name");
            if (!name || !*name || !want)
                continue;
            feature_pieces(c, t, extent, f, intern(&c->tab, prefix, name),
                           intern(&c->tab, "", cls ? cls : ""));
        }
    }
    vector_tile__tile__free_unpacked(tile, NULL);
    return HM_OK;
}

static uint32_t find_root(piece *p, uint32_t i)
{
    while (p[i].parent != i) {
        p[i].parent = p[p[i].parent].parent;
        i = p[i].parent;
    }
    return i;
}

typedef struct ranked {
    const char *s;
    uint32_t idx;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    return strcmp(((const ranked *)a)->s, ((const ranked *)b)->s);
}

/* Keys are ranks of the strings in byte order, so comparing keys compares names. */
static int cmp_piece(const void *a, const void *b)
{
    const piece *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->bbox[0] != y->bbox[0])
        return x->bbox[0] < y->bbox[0] ? -1 : 1;
    if (x->bbox[1] != y->bbox[1])
        return x->bbox[1] < y->bbox[1] ? -1 : 1;
    if (x->mid[0] != y->mid[0])
        return x->mid[0] < y->mid[0] ? -1 : 1;
    return x->mid[1] < y->mid[1] ? -1 : x->mid[1] > y->mid[1];
}

typedef struct found {
    uint32_t key, cls;
    double lon, lat, bbox[4];
    double best_d, best_len; /* choice of the point and the class */
} found;

static int cmp_found(const void *a, const void *b)
{
    const found *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->lon != y->lon)
        return x->lon < y->lon ? -1 : 1;
    return x->lat < y->lat ? -1 : x->lat > y->lat;
}

int hm_basemap_names(hm_mbtiles *mb, hm_basemap_name_fn fn, void *ctx, hm_error *err)
{
    const hm_mbtiles_info *in = hm_mbtiles_info_get(mb);
    names_ctx c;
    found *out = NULL;
    ranked *rank = NULL;
    uint32_t *comp = NULL, *remap = NULL;
    size_t nout = 0;
    int rc;

    memset(&c, 0, sizeof c);
    hm_buf_init(&c.raw);
    c.err = err;
    rc = hm_mbtiles_each(mb, in->maxzoom, names_tile, &c, err);
    if (rc != HM_OK)
        goto out;

    /* Group the pieces of each name: sorted by key then west edge, a sweep
     * joins pieces whose boxes (grown by NAME_MERGE_DEG) overlap. */
    rank = hm_xmalloc((c.tab.n ? c.tab.n : 1) * sizeof *rank);
    remap = hm_xmalloc((c.tab.n ? c.tab.n : 1) * sizeof *remap);
    for (size_t i = 0; i < c.tab.n; i++) {
        rank[i].s = c.tab.s[i];
        rank[i].idx = (uint32_t)i;
    }
    qsort(rank, c.tab.n, sizeof *rank, cmp_ranked);
    for (size_t i = 0; i < c.tab.n; i++)
        remap[rank[i].idx] = (uint32_t)i;
    for (size_t i = 0; i < c.n; i++) {
        c.p[i].key = remap[c.p[i].key];
        c.p[i].cls = remap[c.p[i].cls];
    }
    qsort(c.p, c.n, sizeof *c.p, cmp_piece);
    for (size_t i = 0; i < c.n; i++)
        c.p[i].parent = (uint32_t)i;
    for (size_t i = 0; i < c.n; i++)
        for (size_t j = i + 1; j < c.n && c.p[j].key == c.p[i].key &&
                               c.p[j].bbox[0] <= c.p[i].bbox[2] + NAME_MERGE_DEG;
             j++)
            if (c.p[j].bbox[1] <= c.p[i].bbox[3] + NAME_MERGE_DEG &&
                c.p[i].bbox[1] <= c.p[j].bbox[3] + NAME_MERGE_DEG) {
                uint32_t a = find_root(c.p, (uint32_t)i), b = find_root(c.p, (uint32_t)j);
                if (a != b)
                    c.p[a > b ? a : b].parent = a < b ? a : b;
            }

    /* One result per group: the union of the boxes, the class of the
     * longest piece, the middle of the piece nearest the box's middle. */
    comp = hm_xmalloc((c.n ? c.n : 1) * sizeof *comp);
    out = hm_xmalloc((c.n ? c.n : 1) * sizeof *out);
    for (size_t i = 0; i < c.n; i++) {
        uint32_t r = find_root(c.p, (uint32_t)i);
        found *f;
        if (r == i) {
            comp[i] = (uint32_t)nout;
            f = &out[nout++];
            f->key = c.p[i].key;
            memcpy(f->bbox, c.p[i].bbox, sizeof f->bbox);
        } else {
            f = &out[comp[r]];
            f->bbox[0] = fmin(f->bbox[0], c.p[i].bbox[0]);
            f->bbox[1] = fmin(f->bbox[1], c.p[i].bbox[1]);
            f->bbox[2] = fmax(f->bbox[2], c.p[i].bbox[2]);
            f->bbox[3] = fmax(f->bbox[3], c.p[i].bbox[3]);
        }
    }
    for (size_t k = 0; k < nout; k++)
        out[k].best_d = out[k].best_len = -1.0;
    for (size_t i = 0; i < c.n; i++) {
        found *f = &out[comp[find_root(c.p, (uint32_t)i)]];
        const piece *p = &c.p[i];
        double mx = (f->bbox[0] + f->bbox[2]) / 2, my = (f->bbox[1] + f->bbox[3]) / 2;
        double d = hypot(p->mid[0] - mx, p->mid[1] - my);
        if (f->best_d < 0.0 || d < f->best_d) {
            f->best_d = d;
            f->lon = p->mid[0];
            f->lat = p->mid[1];
        }
        if (p->len > f->best_len || (p->len == f->best_len && p->cls < f->cls)) {
            f->best_len = p->len;
            f->cls = p->cls;
        }
    }
    qsort(out, nout, sizeof *out, cmp_found);

    for (size_t k = 0; k < nout; k++) {
        const char *key = rank[out[k].key].s;
        hm_basemap_name n;
        n.kind = key[0] == 's' ? "street" : "place";
        n.name = key + 1;
        n.class = rank[out[k].cls].s;
        n.lon = out[k].lon;
        n.lat = out[k].lat;
        memcpy(n.bbox, out[k].bbox, sizeof n.bbox);
        rc = fn(&n, ctx);
        if (rc != 0)
            goto out;
    }
out:
    free(rank);
    free(remap);
    free(comp);
    free(out);
    free(c.p);
    strtab_clear(&c.tab);
    hm_buf_clear(&c.raw);
    return rc;
}
