/* main.c: the helpmap command line — serve, import-areas, import-places, basemap, team, demo,
 * export, backup, purge, migrate. Bad arguments give a one-line error and exit 2. */
#include "areas.h"
#include "audit.h"
#include "basemap.h"
#include "clientaddr.h"
#include "core.h"
#include "export.h"
#include "gazetteer.h"
#include "history.h"
#include "hm_buf.h"
#include "hm_file.h"
#include "hm_log.h"
#include "import.h"
#include "model.h"
#include "openindex.h"
#include "server.h"
#include "store.h"
#include "teams.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("helpmap: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    exit(2);
}

static void die(const hm_error *err)
{
    fprintf(stderr, "helpmap: %s\n", err->msg[0] ? err->msg : "failed");
    exit(1);
}

static const char usage_main[] =
    "usage: helpmap COMMAND [OPTIONS]\n"
    "\n"
    "helpmap: help-request map server for a district in a crisis.\n"
    "\n"
    "commands:\n"
    "  serve          run the HTTP server\n"
    "  import-areas   load ward, former_ward or hamlet polygons from GeoJSON\n"
    "  import-places  load a district's place names (GeoJSON points) for the place search\n"
    "  basemap        build an offline street map from an OpenStreetMap extract\n"
    "  import-requests  load requests from a CSV file (lists from paper and chat groups)\n"
    "  team           add, list, disable or rotate team tokens\n"
    "  demo           fill a database with a realistic load\n"
    "  export         write every request as CSV, GeoJSON or KML\n"
    "  backup         copy the database safely while it serves\n"
    "  purge          erase contact data of closed requests\n"
    "  verify-history check every request's hash-chained history\n"
    "  digest         print the digest of all histories (to publish each day)\n"
    "  migrate        copy a SpatiaLite database into an empty PostgreSQL one\n"
    "  version        print the version (also --version)\n"
    "\n"
    "Run 'helpmap COMMAND --help' for a command's options.\n";

static const char usage_serve[] =
    "usage: helpmap serve [--db FILE] [--bind ADDR] [--port N] [--web DIR] [--threads N]\n"
    "                     [--rate-limit N] [--address-rate-limit N] [--phone-rate-limit N]\n"
    "                     [--trusted-proxy ADDR]... [--max-connections N]\n"
    "                     [--max-connections-per-ip N] [--max-streams-per-ip N]\n"
    "                     [--public-url URL] [--no-default-areas] [--code-prefix P]\n"
    "                     [--claim-timeout S] [--claim-cap N] [--hold-releases N]\n"
    "                     [--alert-teams N] [--alert-escalate S] [--max-subscribers N]\n"
    "                     [--log-level L] [--tile-cache-mb N] [--basemap FILE.mbtiles]\n"
    "                     [--assets DIR]\n"
    "\n"
    "  --db FILE             SpatiaLite database (default data/helpmap.db; created with the\n"
    "                        default Củ Chi areas when missing), or a PostgreSQL URI\n"
    "                        postgresql://USER@HOST:PORT/DBNAME (PostGIS; helpmap's tables\n"
    "                        created the same way in an empty database); every command's --db\n"
    "                        takes either\n"
    "  --bind ADDR           address to listen on (default 127.0.0.1)\n"
    "  --port N              port (default 8080; 0 picks a free one)\n"
    "  --web DIR             static frontend (default web/)\n"
    "  --threads N           HTTP worker threads (default: one per core)\n"
    "  --rate-limit N        public creations a minute per device: client address and phone\n"
    "                        (default 10; 0 off)\n"
    "  --address-rate-limit N  public creations a minute per client address, whatever the\n"
    "                        phone (default 300: phones behind one carrier NAT; 0 off)\n"
    "  --phone-rate-limit N  creations an hour per phone number (default 5; 0 off)\n"
    "  --trusted-proxy ADDR  trust X-Forwarded-For from these peers: an address or CIDR prefix,\n"
    "                        a comma list, or the option again; the client is the right-most\n"
    "                        hop that is not a trusted proxy\n"
    "  --max-connections N   concurrent connections (default 10000)\n"
    "  --max-connections-per-ip N  connections one client address holds (IPv6: per /64;\n"
    "                        trusted proxies not counted; default 64; 0 no cap)\n"
    "  --max-streams-per-ip N  public /api/v1/events streams per client address (default 8;\n"
    "                        0 no cap); anonymous streams take at most 80% of --max-subscribers\n"
    "  --public-url URL      the address clients use (https://map.example.org): absolute URLs\n"
    "                        such as TileJSON's come from it, never from the Host header\n"
    "  --no-default-areas    create a new database without the Củ Chi areas\n"
    "  --code-prefix P       request code prefix (default CC)\n"
    "  --claim-timeout S     seconds before an unstarted claim returns to new (default 7200)\n"
    "  --claim-cap N         open claims a team may hold (default 5)\n"
    "  --hold-releases N     a volunteer team that releases more than N claimed requests in an\n"
    "                        hour may not claim for an hour (default 10; 0 off)\n"
    "  --alert-teams N       nearest teams alerted of a new request (default 3)\n"
    "  --alert-escalate S    seconds before the next teams are alerted (default 600)\n"
    "  --max-subscribers N   concurrent /api/v1/events streams (default 10000)\n"
    "  --log-level L         debug, info, warn or error (default info)\n"
    "  --tile-cache-mb N     memory for encoded tiles (default 64; 0 caches none)\n"
    "  --basemap FILE        serve this street map (made by 'helpmap basemap build') at\n"
    "                        /tiles/basemap/, draw it on every page and make its street and\n"
    "                        place names searchable\n"
    "  --assets DIR          map fonts and icons made at build time (default: found next to\n"
    "                        the program, in --web or in the installed share folder)\n";

static const char usage_import[] =
    "usage: helpmap import-areas --db FILE --level ward|former_ward|hamlet FILE.geojson\n"
    "                            [--code-field F] [--name-field F] [--parent-field F] [--replace]\n"
    "                            [--no-default-areas]\n"
    "\n"
    "Upserts the polygons by code (--replace first removes every area of the level), repairs\n"
    "invalid rings and reports them, and reassigns the requests inside. The rules of the areas\n"
    "API apply: a hamlet's parent ward must exist and clips it, and an area that overlaps\n"
    "another of its level (and parent) is refused, naming them. A database created by this\n"
    "command first gets the default Củ Chi areas, unless --no-default-areas (another district).\n"
    "A server running on the database sees the new areas within seconds.\n";

static const char usage_import_requests[] =
    "usage: helpmap import-requests --db FILE FILE.csv [--dry-run] [--code-prefix P]\n"
    "\n"
    "Imports requests from a CSV file (UTF-8, with or without BOM; a header row of request\n"
    "fields: lat, lon, location_precision, category, people, vulnerable, note, name, address,\n"
    "phone, ward_code, hamlet_code; rows without lat/lon give ward_code and an address). Every\n"
    "row is validated like an operator's POST /requests; imported requests have source\n"
    "\"import\". Prints a JSON report of accepted and refused rows with line numbers. Nothing is\n"
    "stored when a row is refused, nor with --dry-run. Exit status 0 when no row was refused.\n";

static const char usage_import_places[] =
    "usage: helpmap import-places --db FILE FILE.geojson [--name-field F] [--kind K] [--replace]\n"
    "                             [--no-default-areas]\n"
    "       helpmap import-places --db FILE --shipped\n"
    "\n"
    "Adds a district's own place names (markets, schools, hamlets ...: GeoJSON points, polygons\n"
    "or lines with a name) to the place search. --name-field names the property that holds the\n"
    "name (default name), --kind the kind of places without a 'kind' property (default place);\n"
    "places with a 'code' replace the imported place of that code, --replace first removes\n"
    "every imported place. Every feature is checked first: one that cannot be read or lies in\n"
    "no ward is reported with its index and reason, and then nothing is imported. A running\n"
    "server searches the new names within a few seconds. --shipped (re)loads the place names\n"
    "shipped with helpmap (Củ Chi, GeoNames), for a database made before they existed.\n";

static const char usage_basemap[] =
    "usage: helpmap basemap build --osm FILE.osm.pbf --out FILE.mbtiles\n"
    "                             [--bbox minLon,minLat,maxLon,maxLat] [--force] [--threads N]\n"
    "                             [--config DIR]\n"
    "\n"
    "Makes vector tiles (zooms 6 to 14, OpenMapTiles layers: roads with names, water, land use,\n"
    "buildings, places) from an OpenStreetMap extract with Debian's tilemaker, after cutting\n"
    "--bbox out of it with osmium-tool. The output is written to a temporary file renamed at\n"
    "the end; --force replaces an existing one. --config is the tilemaker profile folder\n"
    "(default: the installed share folder, else the source tree's tiles/basemap). Serve the\n"
    "result with 'helpmap serve --basemap FILE.mbtiles'. Map data (c) OpenStreetMap\n"
    "contributors, ODbL: the attribution is written into the file and shown on the maps.\n";

static const char usage_team[] =
    "usage: helpmap team add --db FILE --name NAME --role volunteer|operator|coordinator|admin\n"
    "                        [--capability TAG]...\n"
    "       helpmap team list --db FILE\n"
    "       helpmap team disable --db FILE ID\n"
    "       helpmap team rotate --db FILE ID\n"
    "\n"
    "'add' and 'rotate' print the token once, as one JSON line on standard output; only its\n"
    "hash is stored.\n";

static const char usage_demo[] =
    "usage: helpmap demo --db FILE [--requests N] [--teams N] [--seed N]\n"
    "\n"
    "Adds N requests (default 2000) inside the wards, weighted by population, with\n"
    "categories skewed as in 2021 (most food and cash), a spread of statuses and ages over\n"
    "the last 7 days, and N teams (default 50) spread over the district with fresh positions.\n"
    "Run it before 'serve' (a running server loads requests at start).\n";

static const char usage_export[] =
    "usage: helpmap export --db FILE --format csv|geojson|kml [--out FILE [--force]]\n"
    "\n"
    "Every request with its contact data. --out creates FILE readable by its owner only\n"
    "(mode 0600); it never follows a symbolic link and overwrites an existing file only with\n"
    "--force. The export is recorded in the audit log (GET /api/v1/audit).\n";
static const char usage_backup[] =
    "usage: helpmap backup --db FILE --out FILE [--force]\n"
    "\n"
    "A consistent copy while the server runs, created with mode 0600; never through a\n"
    "symbolic link, and over an existing file only with --force.\n";
static const char usage_purge[] =
    "usage: helpmap purge --db FILE --older-than DAYS\n"
    "\n"
    "Erases the contact data (name, phone, note, address and the notes of their history) of\n"
    "requests closed more than DAYS days ago, then rewrites the database so that no copy of\n"
    "it stays in free pages or the write-ahead log. Best run while no server uses the file.\n"
    "The history's hash chain still verifies: it holds the SHA-256 of each erased text.\n";
static const char usage_verify[] =
    "usage: helpmap verify-history --db FILE\n"
    "\n"
    "Checks the hash chain of every request's history (each entry's hash covers the one\n"
    "before it, see README, \"Tamper-evident history\"). Reads only. Exits 0 when every chain\n"
    "matches; 1 naming the first request and entry that does not (an entry changed, removed or\n"
    "added behind helpmap's back), or when the database cannot be read.\n";
static const char usage_digest[] =
    "usage: helpmap digest --db FILE [--date YYYY-MM-DD]\n"
    "\n"
    "Prints the SHA-256 of the heads of all request histories: one line \"CODE HASH\" per\n"
    "request with history, in the order the requests were made. Published each day (a notice\n"
    "board, a newspaper), it lets anyone check later that nothing written before was changed:\n"
    "the same command on the same database then prints the same digest. --date takes the\n"
    "entries written before the end of that day, Vietnam time (UTC+07:00); without it, all.\n";
static const char usage_migrate[] =
    "usage: helpmap migrate --db FILE --to postgresql://USER@HOST:PORT/DBNAME\n"
    "\n"
    "Copies every row of the SpatiaLite database FILE (requests with their codes and tracking\n"
    "token hashes, history, teams with their token hashes, areas, place names, relief points,\n"
    "the change log) into the PostgreSQL database, whose helpmap tables are created when\n"
    "missing and must be empty. FILE is only read. One transaction: after a failure the\n"
    "target is left empty and the command can run again. Prints the rows copied per table\n"
    "as JSON. Stop the servers on FILE first: what they write after the copy starts is not\n"
    "copied.\n";

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Value of option argv[*i] (which needs one); exits 2 when missing. */
static const char *opt_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        die_usage("%s needs a value", argv[*i]);
    return argv[++*i];
}

static long opt_long(int argc, char **argv, int *i, long min, long max)
{
    const char *name = argv[*i];
    const char *v = opt_value(argc, argv, i);
    char *end;
    long n;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        die_usage("%s must be a whole number from %ld to %ld", name, min, max);
    return n;
}

/* `db` for messages: a PostgreSQL URI without its user information and query, where a
 * password may be; a file path as it is. */
static void db_label(const char *db, char *out, size_t size)
{
    const char *host, *end, *at;
    if (strncmp(db, "postgresql://", 13) != 0 && strncmp(db, "postgres://", 11) != 0) {
        snprintf(out, size, "%s", db);
        return;
    }
    host = strstr(db, "://") + 3;
    end = host + strcspn(host, "/?");
    at = memchr(host, '@', (size_t)(end - host));
    snprintf(out, size, "%.*s%.*s", (int)(host - db), db, (int)strcspn(at ? at + 1 : host, "?"),
             at ? at + 1 : host);
}

/* Open the database `db` for a command: `create` makes a new one (with the default areas
 * unless `default_areas` is false) when it is missing. */
static hm_store *open_db(const char *db, bool create, bool default_areas, hm_error *err)
{
    hm_store *st = hm_store_open(db, create ? HM_STORE_CREATE : 0, err);
    if (!st)
        return NULL;
    if (hm_store_created(st) && default_areas && hm_areas_import_defaults(st, err)) {
        hm_store_close(st);
        return NULL;
    }
    return st;
}

static char *read_file(const char *path, size_t *len, hm_error *err)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;
    if (!f) {
        hm_error_set(err, HM_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    hm_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

static int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *level_s = NULL, *file = NULL;
    hm_area_fields fields = {NULL, NULL, NULL};
    bool replace = false, no_defaults = false;
    hm_level level;
    hm_error err = {0};
    hm_store *st;
    char *text;
    size_t len;
    hm_import_report rep;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_import, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--level") == 0)
            level_s = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--code-field") == 0)
            fields.code = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--name-field") == 0)
            fields.name = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--parent-field") == 0)
            fields.parent = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--replace") == 0)
            replace = true;
        else if (strcmp(argv[i], "--no-default-areas") == 0)
            no_defaults = true;
        else if (argv[i][0] == '-')
            die_usage("import-areas: unknown option %s", argv[i]);
        else if (!file)
            file = argv[i];
        else
            die_usage("import-areas: only one file at a time");
    }
    if (!db || !level_s || !file)
        die_usage("import-areas needs --db, --level and a GeoJSON file");
    if (hm_level_parse(level_s, &level, NULL))
        die_usage("--level must be ward, former_ward or hamlet");
    if (!(text = read_file(file, &len, &err)))
        die(&err);
    if (!(st = open_db(db, true, !no_defaults, &err)))
        die(&err);
    if (hm_areas_import(st, level, text, len, &fields, replace, &rep, &err)) {
        free(text);
        hm_store_close(st);
        die(&err);
    }
    printf("imported %zu %s areas (%zu repaired); %lld requests reassigned\n", rep.count,
           hm_level_name(level), rep.repaired, (long long)rep.moved);
    free(text);
    hm_store_close(st);
    return 0;
}

/* ---- place names and the street map ------------------------------------------------------ */

static int cmd_import_places(int argc, char **argv)
{
    const char *db = NULL, *file = NULL;
    hm_place_fields fields;
    bool replace = false, no_defaults = false, shipped = false;
    hm_error err = {0};
    hm_places_import_report rep;
    hm_store *st;
    char *text;
    size_t len;
    int rc;

    memset(&fields, 0, sizeof fields);
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_import_places, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--name-field") == 0)
            fields.name = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--kind") == 0) {
            fields.default_kind = opt_value(argc, argv, &i);
            if (!*fields.default_kind || strlen(fields.default_kind) > HM_PLACES_KIND_MAX ||
                !hm_text_ok(fields.default_kind, HM_PLACES_KIND_MAX))
                die_usage("--kind must be a short word such as market");
        } else if (strcmp(argv[i], "--replace") == 0)
            replace = true;
        else if (strcmp(argv[i], "--no-default-areas") == 0)
            no_defaults = true;
        else if (strcmp(argv[i], "--shipped") == 0)
            shipped = true;
        else if (argv[i][0] == '-')
            die_usage("import-places: unknown option %s", argv[i]);
        else if (!file)
            file = argv[i];
        else
            die_usage("import-places: only one file at a time");
    }
    if (shipped) {
        if (!db || file)
            die_usage("import-places --shipped needs --db and no file");
        if (!(st = open_db(db, false, false, &err)) || hm_places_import_defaults(st, &err))
            die(&err);
        hm_store_close(st);
        printf("imported the shipped place names\n");
        return 0;
    }
    if (!db || !file)
        die_usage("import-places needs --db and a GeoJSON file");
    if (!(text = read_file(file, &len, &err)))
        die(&err);
    if (!(st = open_db(db, true, !no_defaults, &err))) {
        free(text);
        die(&err);
    }
    rc = hm_places_import(st, "import", text, len, &fields, replace, true, &rep, &err);
    for (size_t i = 0; i < rep.n_refused; i++)
        fprintf(stderr, "helpmap: feature %zu refused (%s): %s\n", rep.refused[i].index,
                rep.refused[i].field ? rep.refused[i].field : "-", rep.refused[i].reason);
    free(text);
    hm_store_close(st);
    if (rc) {
        hm_places_import_report_clear(&rep);
        die(&err);
    }
    printf("imported %zu places\n", rep.count);
    hm_places_import_report_clear(&rep);
    return 0;
}

/* The folder holding this program (resolved), into `out`; "" when unknown. */
static void program_dir(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    char *slash;
    if (n <= 0) {
        out[0] = '\0';
        return;
    }
    out[n] = '\0';
    if ((slash = strrchr(out, '/')))
        *slash = '\0';
}

static bool file_exists(const char *dir, const char *name)
{
    char path[1200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

/* The tilemaker profile: --config, the share folder of an installed helpmap, the source tree
 * this program was built from. NULL when none has config.json and process.lua. */
static const char *basemap_config_dir(const char *given, char *buf, size_t size)
{
    char exe[1024];
    const char *candidates[3];
    if (given)
        return given;
    program_dir(exe, sizeof exe);
    snprintf(buf, size, "%s/../share/helpmap/basemap", exe);
    candidates[0] = buf;
    candidates[1] = HM_DATADIR "/helpmap/basemap";
    candidates[2] = HM_BASEMAP_SOURCE_DIR;
    for (int i = 0; i < 3; i++)
        if (candidates[i][0] && file_exists(candidates[i], "config.json") &&
            file_exists(candidates[i], "process.lua"))
            return candidates[i];
    return NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_basemap(int argc, char **argv)
{
    hm_basemap_build_opts o;
    hm_error err = {0};
    double bbox[4], t0;
    const char *config = NULL;
    char cfg_buf[1200];
    struct stat sb;

    memset(&o, 0, sizeof o);
    if (argc < 2 || (!is_help(argv[1]) && strcmp(argv[1], "build") != 0))
        die_usage("basemap needs a subcommand: build");
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_basemap, stdout);
            return 0;
        }
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--osm") == 0)
            o.osm_pbf = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--out") == 0)
            o.out_mbtiles = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--bbox") == 0) {
            const char *v = opt_value(argc, argv, &i);
            char tail;
            if (sscanf(v, "%lf,%lf,%lf,%lf%c", &bbox[0], &bbox[1], &bbox[2], &bbox[3], &tail) !=
                    4 ||
                !(bbox[0] >= -180 && bbox[2] <= 180 && bbox[1] >= -90 && bbox[3] <= 90 &&
                  bbox[0] < bbox[2] && bbox[1] < bbox[3]))
                die_usage("--bbox must be minLon,minLat,maxLon,maxLat in degrees");
            o.bbox = bbox;
        } else if (strcmp(argv[i], "--force") == 0)
            o.force = true;
        else if (strcmp(argv[i], "--threads") == 0)
            o.threads = (int)opt_long(argc, argv, &i, 1, 256);
        else if (strcmp(argv[i], "--config") == 0)
            config = opt_value(argc, argv, &i);
        else
            die_usage("basemap build: unknown option %s", argv[i]);
    }
    if (!o.osm_pbf || !o.out_mbtiles)
        die_usage("basemap build needs --osm FILE.osm.pbf and --out FILE.mbtiles");
    if (!(o.config_dir = basemap_config_dir(config, cfg_buf, sizeof cfg_buf))) {
        fprintf(stderr, "helpmap: no tilemaker profile found (config.json, process.lua); give "
                        "--config DIR (tiles/basemap in the source tree)\n");
        return 1;
    }
    t0 = mono_s();
    if (hm_basemap_build(&o, &err))
        die(&err);
    printf("basemap written to %s (%.0f kB in %.1f s)\n", o.out_mbtiles,
           stat(o.out_mbtiles, &sb) == 0 ? sb.st_size / 1e3 : 0.0, mono_s() - t0);
    return 0;
}

/* ---- teams ------------------------------------------------------------------------------- */

static int print_team(void *ctx, const hm_team *t)
{
    char at[32] = "";
    (void)ctx;
    if (t->has_pos)
        hm_time_format(t->pos_at, at);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->name, hm_role_name(t->role),
           t->disabled ? "disabled" : hm_team_status_name(t->status), t->capabilities,
           at[0] ? at : "-");
    return 0;
}

static int cmd_import_requests(int argc, char **argv)
{
    const char *db = NULL, *file = NULL, *prefix = "CC";
    bool dry_run = false;
    hm_error err = {0};
    hm_requests_import op;
    hm_store *st;
    char *text, *out;
    size_t len;
    json_t *rep;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_import_requests, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = true;
        else if (strcmp(argv[i], "--code-prefix") == 0) {
            prefix = opt_value(argc, argv, &i);
            if (strlen(prefix) < 1 || strlen(prefix) > 4 ||
                strspn(prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(prefix))
                die_usage("--code-prefix must be 1 to 4 capital letters");
        } else if (argv[i][0] == '-')
            die_usage("import-requests: unknown option %s", argv[i]);
        else if (!file)
            file = argv[i];
        else
            die_usage("import-requests: only one file at a time");
    }
    if (!db || !file)
        die_usage("import-requests needs --db and a CSV file");
    if (!(text = read_file(file, &len, &err)))
        die(&err);
    if (hm_requests_import_parse(text, len, prefix, dry_run, &op, &err)) {
        free(text);
        hm_requests_import_clear(&op);
        die(&err);
    }
    free(text);
    if (!(st = open_db(db, false, false, &err)))
        die(&err);
    rc = hm_writer_run_here(st, &op.job);
    if (rc && !op.done)
        die(&op.job.err);
    rep = hm_requests_import_report(&op);
    out = json_dumps(rep, JSON_INDENT(1));
    printf("%s\n", out ? out : "{}");
    free(out);
    json_decref(rep);
    fprintf(stderr, "helpmap: %zu rows, %zu accepted, %zu refused; %s\n", op.n_rows, op.accepted,
            op.refused,
            op.stored    ? "stored"
            : op.dry_run ? "dry run: nothing stored"
                         : "nothing stored");
    rc = op.refused ? 1 : 0;
    hm_requests_import_clear(&op);
    hm_store_close(st);
    return rc;
}

static int cmd_team(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    const char *db = NULL, *name = NULL, *role_s = NULL;
    json_t *caps = json_array();
    long id = -1;
    hm_error err = {0};
    hm_store *st;

    if (!sub)
        die_usage("team needs a subcommand: add, list, disable or rotate");
    if (is_help(sub)) {
        fputs(usage_team, stdout);
        json_decref(caps);
        return 0;
    }
    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "disable") &&
        strcmp(sub, "rotate"))
        die_usage("team: unknown subcommand %s", sub);
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_team, stdout);
            json_decref(caps);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--name") == 0)
            name = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--role") == 0)
            role_s = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--capability") == 0) {
            const char *c = opt_value(argc, argv, &i);
            if (!*c || strlen(c) > 32 || !hm_text_ok(c, 32))
                die_usage("--capability must be a short tag such as boat");
            json_array_append_new(caps, json_string(c));
        } else if (argv[i][0] != '-' && id < 0) {
            char *end;
            id = strtol(argv[i], &end, 10);
            if (*end || id <= 0)
                die_usage("team %s: ID must be a team id", sub);
        } else
            die_usage("team %s: unknown option %s", sub, argv[i]);
    }
    if (!db)
        die_usage("team %s needs --db", sub);
    /* Check every argument before the database is opened (or created). */
    if (strcmp(sub, "add") == 0 &&
        (!name || !*name || strlen(name) > 100 || !hm_text_ok(name, 100)))
        die_usage("team add needs --name (at most 100 characters)");
    if (strcmp(sub, "add") == 0 && (!role_s || hm_role_parse(role_s) < 0))
        die_usage("team add needs --role volunteer, operator, coordinator or admin");
    if ((strcmp(sub, "disable") == 0 || strcmp(sub, "rotate") == 0) && id <= 0)
        die_usage("team %s needs a team ID", sub);
    if (!(st = open_db(db, strcmp(sub, "add") == 0, true, &err)))
        die(&err);
    if (strcmp(sub, "add") == 0) {
        hm_team_admin_op op;
        int role;
        char *caps_text;
        if (!name || !*name || strlen(name) > 100 || !hm_text_ok(name, 100))
            die_usage("team add needs --name (at most 100 characters)");
        if (!role_s || (role = hm_role_parse(role_s)) < 0)
            die_usage("team add needs --role volunteer, operator, coordinator or admin");
        hm_team_admin_init(&op, HM_TEAM_ADD);
        snprintf(op.team.name, sizeof op.team.name, "%s", name);
        op.team.role = role;
        op.team.status = HM_TEAM_AVAILABLE;
        caps_text = json_dumps(caps, JSON_COMPACT);
        snprintf(op.team.capabilities, sizeof op.team.capabilities, "%s",
                 caps_text ? caps_text : "[]");
        free(caps_text);
        if (hm_writer_run_here(st, &op.job))
            die(&op.job.err);
        {
            json_t *o = json_pack("{s:I,s:s,s:s,s:O,s:s}", "id", (json_int_t)op.team.id, "name",
                                  op.team.name, "role", hm_role_name(op.team.role), "capabilities",
                                  caps, "token", op.token);
            char *s = json_dumps(o, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(o);
        }
        fprintf(stderr, "helpmap: keep this token now; it is not shown again.\n");
    } else if (strcmp(sub, "list") == 0) {
        printf("id\tname\trole\tstatus\tcapabilities\tposition_at\n");
        if (hm_store_team_list(st, true, print_team, NULL, &err))
            die(&err);
    } else if (id <= 0) {
        die_usage("team %s needs a team ID", sub);
    } else if (strcmp(sub, "disable") == 0) {
        hm_team_admin_op op;
        hm_team_admin_init(&op, HM_TEAM_DISABLE);
        op.team.id = id;
        if (hm_writer_run_here(st, &op.job))
            die(&op.job.err);
        printf("team %ld disabled\n", id);
    } else {
        hm_team_admin_op op;
        hm_team_admin_init(&op, HM_TEAM_ROTATE);
        op.team.id = id;
        if (hm_writer_run_here(st, &op.job))
            die(&op.job.err);
        printf("{\"id\":%ld,\"token\":\"%s\"}\n", id, op.token);
        fprintf(stderr, "helpmap: the old token no longer works; keep this one now.\n");
    }
    json_decref(caps);
    hm_store_close(st);
    return 0;
}

/* ---- demo ---------------------------------------------------------------------------------- */

static void demo_progress(long done, long total)
{
    fprintf(stderr, "helpmap: demo %ld/%ld requests\n", done, total);
}

static int cmd_demo(int argc, char **argv)
{
    const char *db = NULL;
    long n_req = 2000, n_teams = 50, seed = 2021;
    hm_error err = {0};
    hm_store *st;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_demo, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--requests") == 0)
            n_req = opt_long(argc, argv, &i, 0, 10000000);
        else if (strcmp(argv[i], "--teams") == 0)
            n_teams = opt_long(argc, argv, &i, 0, 100000);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = opt_long(argc, argv, &i, 1, 1L << 30);
        else
            die_usage("demo: unknown option %s", argv[i]);
    }
    if (!db)
        die_usage("demo needs --db");
    if (!(st = open_db(db, true, true, &err)) ||
        hm_demo_fill(st, n_req, n_teams, seed, demo_progress, &err))
        die(&err);
    printf("demo: %ld requests and %ld teams added\n", n_req, n_teams);
    hm_store_close(st);
    return 0;
}

/* ---- export, backup, purge ------------------------------------------------------------------ */

static int cmd_export(int argc, char **argv)
{
    const char *db = NULL, *fmt = NULL, *out = NULL;
    bool force = false;
    int format, fd = STDOUT_FILENO;
    size_t rows = 0;
    hm_error err = {0};
    hm_store *st;
    hm_buf b;
    hm_audit_op audit;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_export, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--format") == 0)
            fmt = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--out") == 0)
            out = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--force") == 0)
            force = true;
        else
            die_usage("export: unknown option %s", argv[i]);
    }
    if (!db || !fmt)
        die_usage("export needs --db and --format");
    if ((format = hm_export_format_parse(fmt)) < 0)
        die_usage("--format must be csv, geojson or kml");
    if (force && !out)
        die_usage("--force goes with --out");
    if (!(st = open_db(db, false, false, &err)))
        die(&err);
    hm_buf_init(&b);
    if (hm_export_write(st, format, NULL, &b, &rows, &err))
        die(&err);
    if (out && (fd = hm_file_create(out, force, &err)) < 0)
        die(&err);
    /* Recorded before a byte of it leaves (issue 11). */
    hm_audit_op_init(&audit, "export", NULL, 0, (int64_t)rows, hm_export_extension(format));
    if (hm_writer_run_here(st, &audit.job)) {
        if (out && !force)
            unlink(out);
        die(&audit.job.err);
    }
    for (size_t done = 0; done < b.len;) {
        ssize_t k = write(fd, b.data + done, b.len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fprintf(stderr, "helpmap: write failed: %s\n", strerror(errno));
            return 1;
        }
        done += (size_t)k;
    }
    if (out && (fsync(fd) != 0 || close(fd) != 0)) {
        fprintf(stderr, "helpmap: write failed: %s\n", strerror(errno));
        return 1;
    }
    hm_buf_clear(&b);
    hm_store_close(st);
    return 0;
}

static int cmd_backup(int argc, char **argv)
{
    const char *db = NULL, *out = NULL;
    bool force = false;
    hm_error err = {0};
    hm_store *st;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_backup, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--out") == 0)
            out = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--force") == 0)
            force = true;
        else
            die_usage("backup: unknown option %s", argv[i]);
    }
    if (!db || !out)
        die_usage("backup needs --db and --out");
    if (!(st = open_db(db, false, false, &err)) || hm_store_backup(st, out, force, &err))
        die(&err);
    printf("backup written to %s\n", out);
    hm_store_close(st);
    return 0;
}

static int cmd_purge(int argc, char **argv)
{
    const char *db = NULL;
    long days = -1;
    hm_error err = {0};
    hm_store *st;
    int64_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_purge, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--older-than") == 0)
            days = opt_long(argc, argv, &i, 0, 100000);
        else
            die_usage("purge: unknown option %s", argv[i]);
    }
    if (!db || days < 0)
        die_usage("purge needs --db and --older-than DAYS");
    if (!(st = open_db(db, false, false, &err)) ||
        hm_store_request_purge(st, hm_now_ms() - days * 86400000LL, &n, &err))
        die(&err);
    printf("contact data erased from %lld closed requests\n", (long long)n);
    hm_store_close(st);
    return 0;
}

/* ---- the tamper-evident history -------------------------------------------------------------- */

static int cmd_verify(int argc, char **argv)
{
    const char *db = NULL;
    hm_error err = {0};
    hm_history_report rep;
    hm_store *st;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_verify, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else
            die_usage("verify-history: unknown option %s", argv[i]);
    }
    if (!db)
        die_usage("verify-history needs --db");
    /* Read-only: the file is evidence. */
    if (!(st = hm_store_open(db, HM_STORE_READONLY, &err)) || hm_history_verify(st, &rep, &err))
        die(&err);
    hm_store_close(st);
    if (rep.broken) {
        char at[32];
        hm_time_format(rep.at, at);
        printf("history broken: request %s, entry %lld (id %lld, %s, kind %s): %s\n", rep.code,
               (long long)rep.position, (long long)rep.entry_id, at, rep.kind, rep.why);
        printf("%lld of %lld request histories do not match (%lld entries checked)\n",
               (long long)rep.broken, (long long)rep.chains, (long long)rep.entries);
        fprintf(stderr, "helpmap: history of %s broken at entry %lld\n", rep.code,
                (long long)rep.position);
        return 1;
    }
    printf("history verified: %lld requests, %lld entries; every chain matches\n",
           (long long)rep.chains, (long long)rep.entries);
    return 0;
}

static int cmd_digest(int argc, char **argv)
{
    const char *db = NULL, *date = NULL;
    hm_error err = {0};
    hm_store *st;
    int64_t before = 0, chains = 0, entries = 0;
    char hex[65], iso[40];

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_digest, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--date") == 0)
            date = opt_value(argc, argv, &i);
        else
            die_usage("digest: unknown option %s", argv[i]);
    }
    if (!db)
        die_usage("digest needs --db");
    if (date) {
        int y, m, d, n = 0;
        if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
            m < 1 || m > 12 || d < 1 || d > 31)
            die_usage("--date must be YYYY-MM-DD");
        snprintf(iso, sizeof iso, "%s%s", date, "T00:00:00+07:00");
        if (hm_time_parse(iso, &before))
            die_usage("--date must be YYYY-MM-DD");
        before += 24 * 3600 * 1000LL; /* the end of that day */
    }
    if (!(st = hm_store_open(db, HM_STORE_READONLY, &err)) ||
        hm_history_digest(st, before, hex, &chains, &entries, &err))
        die(&err);
    hm_store_close(st);
    printf("helpmap history digest\n");
    if (date)
        printf("entries written before the end of %s (UTC+07:00)\n", date);
    else
        printf("every entry\n");
    printf("chains: %lld\nentries: %lld\nsha256: %s\n", (long long)chains, (long long)entries, hex);
    return 0;
}

static void migrate_progress(void *ctx, const char *table, int64_t rows, bool table_done)
{
    json_t *counts = ctx;
    if (table_done)
        json_object_set_new(counts, table, json_integer(rows));
    else
        fprintf(stderr, "helpmap: migrate %s: %lld rows\n", table, (long long)rows);
}

static int cmd_migrate(int argc, char **argv)
{
    const char *db = NULL, *to = NULL;
    hm_error err = {0};
    json_t *counts;
    char *out;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_migrate, stdout);
            return 0;
        } else if (strcmp(argv[i], "--db") == 0)
            db = opt_value(argc, argv, &i);
        else if (strcmp(argv[i], "--to") == 0)
            to = opt_value(argc, argv, &i);
        else
            die_usage("migrate: unknown option %s", argv[i]);
    }
    if (!db || !to)
        die_usage("migrate needs --db FILE and --to postgresql://...");
    if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0)
        die_usage("migrate: --db must be a SpatiaLite file (it copies one into PostgreSQL)");
    if (strncmp(to, "postgresql://", 13) != 0 && strncmp(to, "postgres://", 11) != 0)
        die_usage("migrate: --to must be a postgresql:// URI");
    counts = json_object();
    if (hm_store_migrate(db, to, migrate_progress, counts, &err) != HM_OK) {
        json_decref(counts);
        die(&err);
    }
    out = json_dumps(counts, JSON_PRESERVE_ORDER | JSON_COMPACT);
    printf("{\"migrated\":%s}\n", out);
    free(out);
    json_decref(counts);
    return 0;
}

/* ---- serve --------------------------------------------------------------------------------------
 */

/* The fonts and sprite made at build time: in the web folder (an installed copy), next to this
 * program (the build folder's web/), or in the installed share folder. */
static const char *find_assets(const char *web_dir, char *buf, size_t size)
{
    static const char probe[] = "fonts/Noto Sans Regular/0-255.pbf";
    char exe[1024];
    if (file_exists(web_dir, probe))
        return web_dir;
    program_dir(exe, sizeof exe);
    snprintf(buf, size, "%s/web", exe);
    if (exe[0] && file_exists(buf, probe))
        return buf;
    snprintf(buf, size, "%s/../share/helpmap/web", exe);
    if (exe[0] && file_exists(buf, probe))
        return buf;
    snprintf(buf, size, "%s", HM_DATADIR "/helpmap/web");
    return file_exists(buf, probe) ? buf : NULL;
}

static int cmd_serve(int argc, char **argv)
{
    char db_shown[1024];
    char assets_buf[1200];
    hm_core_config cc;
    hm_core *core;
    hm_http_config hc;
    hm_http_server *http;
    hm_error err = {0};
    sigset_t set;
    int sig;

    hm_core_config_init(&cc);
    hc = (hm_http_config){
        .bind = "127.0.0.1",
        .port = 8080,
        .web_dir = "web",
        .threads = 0,
        .max_connections = 10000,
        .connection_timeout_s = 30,
        .max_connections_per_ip = 64,
        .header_timeout_s = 10,
        .body_timeout_s = 30,
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(usage_serve, stdout);
            return 0;
        } else if (strcmp(a, "--db") == 0)
            cc.db_path = opt_value(argc, argv, &i);
        else if (strcmp(a, "--bind") == 0)
            hc.bind = opt_value(argc, argv, &i);
        else if (strcmp(a, "--port") == 0)
            hc.port = (int)opt_long(argc, argv, &i, 0, 65535);
        else if (strcmp(a, "--web") == 0)
            hc.web_dir = opt_value(argc, argv, &i);
        else if (strcmp(a, "--threads") == 0)
            hc.threads = (int)opt_long(argc, argv, &i, 1, 256);
        else if (strcmp(a, "--rate-limit") == 0)
            cc.rate_limit = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--address-rate-limit") == 0)
            cc.address_rate_limit = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--phone-rate-limit") == 0)
            cc.phone_rate_limit = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--trusted-proxy") == 0) {
            const char *v = opt_value(argc, argv, &i);
            hm_addr_list check = {NULL, 0};
            hm_error e = {0};
            if (hc.n_trusted_proxy >= 16)
                die_usage("--trusted-proxy given more than 16 times; use a comma list");
            if (hm_addr_list_add(&check, v, &e))
                die_usage("--trusted-proxy: %s", e.msg);
            hm_addr_list_clear(&check);
            hc.trusted_proxy[hc.n_trusted_proxy++] = v;
        } else if (strcmp(a, "--max-connections") == 0)
            hc.max_connections = (int)opt_long(argc, argv, &i, 1, 1000000);
        else if (strcmp(a, "--max-connections-per-ip") == 0)
            hc.max_connections_per_ip = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--max-streams-per-ip") == 0)
            cc.max_streams_per_client = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--public-url") == 0) {
            const char *v = opt_value(argc, argv, &i);
            if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
                strlen(v) > 200 || strcspn(v, " \"<>\\") != strlen(v))
                die_usage("--public-url must be an http:// or https:// address");
            hc.public_url = v;
        } else if (strcmp(a, "--hold-releases") == 0)
            cc.hold_releases = (int)opt_long(argc, argv, &i, 0, 60);
        else if (strcmp(a, "--no-default-areas") == 0)
            cc.no_default_areas = true;
        else if (strcmp(a, "--code-prefix") == 0) {
            const char *p = opt_value(argc, argv, &i);
            size_t n = strlen(p);
            if (n < 1 || n > 4 || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
                die_usage("--code-prefix must be 1 to 4 capital letters");
            cc.code_prefix = p;
        } else if (strcmp(a, "--claim-timeout") == 0)
            cc.claim_timeout_s = (int)opt_long(argc, argv, &i, 1, 30 * 86400);
        else if (strcmp(a, "--claim-cap") == 0)
            cc.claim_cap = (int)opt_long(argc, argv, &i, 0, 10000);
        else if (strcmp(a, "--alert-teams") == 0)
            cc.alert_teams = (int)opt_long(argc, argv, &i, 0, 8);
        else if (strcmp(a, "--alert-escalate") == 0)
            cc.alert_escalate_s = (int)opt_long(argc, argv, &i, 1, 86400);
        else if (strcmp(a, "--max-subscribers") == 0)
            cc.max_subscribers = (int)opt_long(argc, argv, &i, 0, 1000000);
        else if (strcmp(a, "--log-level") == 0) {
            const char *l = opt_value(argc, argv, &i);
            if (strcmp(l, "debug") == 0)
                hm_log_level = HM_LOG_DEBUG;
            else if (strcmp(l, "info") == 0)
                hm_log_level = HM_LOG_INFO;
            else if (strcmp(l, "warn") == 0)
                hm_log_level = HM_LOG_WARN;
            else if (strcmp(l, "error") == 0)
                hm_log_level = HM_LOG_ERROR;
            else
                die_usage("--log-level must be debug, info, warn or error");
        } else if (strcmp(a, "--tile-cache-mb") == 0)
            cc.tile_cache_mb = opt_long(argc, argv, &i, 0, 65536);
        else if (strcmp(a, "--basemap") == 0)
            cc.basemap_path = opt_value(argc, argv, &i);
        else if (strcmp(a, "--assets") == 0)
            hc.assets_dir = opt_value(argc, argv, &i);
        else
            die_usage("serve: unknown option %s", a);
    }
    if (!hc.assets_dir)
        hc.assets_dir = find_assets(hc.web_dir, assets_buf, sizeof assets_buf);
    if (!hc.assets_dir)
        fprintf(stderr, "helpmap: map fonts and icons not found (build them with cmake, or give "
                        "--assets DIR): maps draw no labels\n");
    if (cc.max_subscribers >= hc.max_connections)
        cc.max_subscribers =
            hc.max_connections > 100 ? hc.max_connections - 100 : hc.max_connections / 2;

    /* Signals are taken by sigwait below; block them before threads start. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(core = hm_core_start(&cc, &err)))
        die(&err);
    if (!(http = hm_http_start(core, &hc, &err)))
        die(&err);
    db_label(cc.db_path, db_shown, sizeof db_shown);
    printf("helpmap listening on http://%s%s%s:%d/ (database %s, %zu open requests)\n",
           strchr(hc.bind, ':') ? "[" : "", hc.bind, strchr(hc.bind, ':') ? "]" : "",
           hm_http_port(http), db_shown, hm_open_index_count(core->open));
    fflush(stdout);
    hm_log(HM_LOG_INFO, "event=started port=%d threads=%ld", hm_http_port(http),
           hc.threads > 0 ? (long)hc.threads : sysconf(_SC_NPROCESSORS_ONLN));

    while (sigwait(&set, &sig) != 0)
        ;
    hm_log(HM_LOG_INFO, "event=stopping signal=%d", sig);
    /* Order: end event streams; finish and answer queued writes (later ones get 503); then
     * stop MHD (it refuses to stop with suspended connections); then free. Not
     * MHD_quiesce_daemon(): with epoll and a thread pool, libmicrohttpd 0.9.75 races its
     * workers removing the listening socket from their epoll sets and aborts ("Failed to
     * remove listen FD from epoll set", seen once in test_field_pg). */
    hm_core_shutdown(core);
    usleep(200 * 1000);
    hm_http_stop(http);
    hm_core_destroy(core);
    hm_log(HM_LOG_INFO, "event=stopped");
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    json_object_seed(0);
    if (!cmd)
        die_usage("missing command: serve, import-areas, import-requests, import-places, basemap, "
                  "team, demo, export, backup, purge, verify-history, digest or migrate");
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("helpmap %s\n", HM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "import-areas") == 0)
        return cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "import-places") == 0)
        return cmd_import_places(argc - 1, argv + 1);
    if (strcmp(cmd, "basemap") == 0)
        return cmd_basemap(argc - 1, argv + 1);
    if (strcmp(cmd, "import-requests") == 0)
        return cmd_import_requests(argc - 1, argv + 1);
    if (strcmp(cmd, "team") == 0)
        return cmd_team(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc - 1, argv + 1);
    if (strcmp(cmd, "purge") == 0)
        return cmd_purge(argc - 1, argv + 1);
    if (strcmp(cmd, "verify-history") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "digest") == 0)
        return cmd_digest(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    die_usage("unknown command %s", cmd);
}
