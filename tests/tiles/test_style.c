/* test_style.c: /style.json as MapLibre reads it - URLs built from the base
 * URL (absolute or root-relative, never anything else), the basemap's
 * sources and layers only when a basemap is served, labels in Vietnamese
 * first, every font a fontstack the build made, every basemap source-layer a
 * layer of the tilemaker profile, the street map under the helpmap layers,
 * dark colours for the wall display, and the style specification's own
 * validator (Node, when installed) on every variant. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm_test.h"
#include "style.h"

static json_t *style(const char *base, bool basemap, bool dark, int *rc, hm_error *err)
{
    hm_style_params p = {base, basemap, dark};
    hm_buf out;
    json_t *doc = NULL;
    json_error_t jerr;

    hm_buf_init(&out);
    *rc = hm_style_json(&p, &out, err);
    if (*rc == HM_OK) {
        doc = json_loads(out.data, 0, &jerr);
        if (!doc)
            fprintf(stderr, "style JSON: %s\n", jerr.text);
    } else {
        CHECK(out.len == 0);
    }
    hm_buf_clear(&out);
    return doc;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *layer(json_t *doc, const char *id, int *index)
{
    json_t *l;
    size_t i;
    json_array_foreach(json_object_get(doc, "layers"), i, l) if (!strcmp(str(l, "id"), id))
    {
        if (index)
            *index = (int)i;
        return l;
    }
    if (index)
        *index = -1;
    return NULL;
}

/* Run the style spec's validator on `doc`, when Node and the validator
 * are installed (scripts/deps.sh test, npm ci). */
static void validate(json_t *doc, const char *what)
{
    char path[] = "/tmp/hm_style_XXXXXX", cmd[1024];
    int fd, rc;

    if (system("command -v node >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_style: no node; %s not validated\n", what);
        return;
    }
    fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    json_dump_file(doc, path, 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/tiles/validate_style.mjs' '%s'", HM_SOURCE_DIR, path);
    rc = system(cmd);
    unlink(path);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        fprintf(stderr, "test_style: style validator not installed; %s not validated\n", what);
        return;
    }
    if (!(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0))
        fprintf(stderr, "test_style: %s does not validate\n", what);
    CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

static void test_basemap_style(void)
{
    hm_error err = {0};
    int rc, first_area = -1, last_base_fill = -1, road_name = -1, requests = -1;
    json_t *doc = style("http://127.0.0.1:8080", true, false, &rc, &err), *l, *sources;
    json_t *cfg_root, *cfg;
    size_t i;
    char path[1024];

    CHECK_INT_EQ(rc, HM_OK);
    if (!doc)
        return;
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "version")), 8);
    CHECK_STR_EQ(str(doc, "glyphs"), "http://127.0.0.1:8080/fonts/{fontstack}/{range}.pbf");
    CHECK_STR_EQ(str(doc, "sprite"), "http://127.0.0.1:8080/sprite");
    sources = json_object_get(doc, "sources");
    CHECK_STR_EQ(str(json_object_get(sources, "basemap"), "url"),
                 "http://127.0.0.1:8080/tiles/basemap.json");
    CHECK_STR_EQ(str(json_object_get(sources, "wards"), "url"),
                 "http://127.0.0.1:8080/tiles/wards.json");
    CHECK_STR_EQ(str(json_object_get(sources, "former_wards"), "url"),
                 "http://127.0.0.1:8080/tiles/former_wards.json");
    CHECK_STR_EQ(str(json_object_get(sources, "hamlets"), "url"),
                 "http://127.0.0.1:8080/tiles/hamlets.json");
    CHECK_STR_EQ(str(json_object_get(sources, "requests"), "url"),
                 "http://127.0.0.1:8080/tiles/requests.json");
    CHECK(json_object_get(doc, "metadata") == NULL); /* the template's notes stay out */

    /* The tilemaker profile's layers, which the basemap layers must use. */
    snprintf(path, sizeof path, "%s/tiles/basemap/config.json", HM_SOURCE_DIR);
    cfg_root = json_load_file(path, 0, NULL);
    cfg = json_object_get(cfg_root, "layers");
    CHECK(json_object_size(cfg) >= 8);

    json_array_foreach(json_object_get(doc, "layers"), i, l)
    {
        const char *id = str(l, "id"), *src = str(l, "source"), *type = str(l, "type");
        json_t *font = json_object_get(json_object_get(l, "layout"), "text-font");
        CHECK(json_object_get(l, "metadata") == NULL);
        CHECK(!src || json_object_get(sources, src)); /* every source exists */
        if (src && !strcmp(src, "basemap")) {
            CHECK(json_object_get(cfg, str(l, "source-layer")) != NULL);
            if (strcmp(type, "symbol") != 0)
                last_base_fill = (int)i;
        }
        if (!strncmp(id, "areas-", 6) && first_area < 0)
            first_area = (int)i;
        if (!strncmp(id, "requests-", 9) && requests < 0)
            requests = (int)i;
        if (font) {
            /* Every fontstack is one the build made (a literal, or a match
             * of literals for place names). */
            char *text = json_dumps(font, JSON_COMPACT);
            const char *p = text;
            int stacks = 0;
            while ((p = strstr(p, "\"Noto Sans "))) {
                char name[64], dir[1200];
                struct stat st;
                sscanf(p + 1, "%63[^\"]", name);
                snprintf(dir, sizeof dir, "%s/fonts/%s/0-255.pbf", HM_WEB_BUILD_DIR, name);
                CHECK(stat(dir, &st) == 0);
                stacks++;
                p++;
            }
            CHECK(stacks > 0);
            free(text);
        }
    }

    /* Order: street map fills and lines, then areas, then labels, requests on top. */
    l = layer(doc, "basemap-road-name", &road_name);
    CHECK(l != NULL);
    CHECK(last_base_fill >= 0 && first_area > last_base_fill);
    CHECK(road_name > first_area && requests > road_name);
    CHECK_STR_EQ(str(layer(doc, "background", NULL), "type"), "background");
    CHECK(layer(doc, "background", &rc) && rc == 0);

    /* Street names along the lines, Vietnamese first. */
    if (l) {
        json_t *lay = json_object_get(l, "layout");
        char *tf = json_dumps(json_object_get(lay, "text-field"), JSON_COMPACT);
        CHECK_STR_EQ(tf, "[\"coalesce\",[\"get\",\"name:vi\"],[\"get\",\"name\"]]");
        free(tf);
        CHECK_STR_EQ(str(lay, "symbol-placement"), "line");
        CHECK_STR_EQ(str(l, "source-layer"), "transportation_name");
    }
    l = layer(doc, "basemap-place-name", NULL);
    CHECK(l != NULL);
    if (l) {
        char *tf =
            json_dumps(json_object_get(json_object_get(l, "layout"), "text-field"), JSON_COMPACT);
        CHECK_STR_EQ(tf, "[\"coalesce\",[\"get\",\"name:vi\"],[\"get\",\"name\"]]");
        free(tf);
    }
    validate(doc, "basemap style");
    json_decref(doc);
    json_decref(cfg_root);
}

static void test_without_basemap(void)
{
    hm_error err = {0};
    int rc;
    json_t *doc = style(NULL, false, false, &rc, &err), *l;
    size_t i;

    CHECK_INT_EQ(rc, HM_OK);
    if (!doc)
        return;
    CHECK(json_object_get(json_object_get(doc, "sources"), "basemap") == NULL);
    json_array_foreach(json_object_get(doc, "layers"), i, l)
    {
        const char *src = str(l, "source");
        CHECK(!src || strcmp(src, "basemap") != 0);
    }
    /* Root-relative URLs for a page to complete with its origin. */
    CHECK_STR_EQ(str(doc, "glyphs"), "/fonts/{fontstack}/{range}.pbf");
    CHECK_STR_EQ(str(doc, "sprite"), "/sprite");
    CHECK_STR_EQ(str(json_object_get(json_object_get(doc, "sources"), "wards"), "url"),
                 "/tiles/wards.json");
    /* The pages' colours of today when there is no street map. */
    CHECK_STR_EQ(str(json_object_get(layer(doc, "background", NULL), "paint"), "background-color"),
                 "#dfe7ec");
    CHECK(json_real_value(json_object_get(
              json_object_get(layer(doc, "areas-wards-fill", NULL), "paint"), "fill-opacity")) ==
          0.75);
    validate(doc, "style without basemap");
    json_decref(doc);
}

static void test_dark(void)
{
    hm_error err = {0};
    int rc;
    json_t *doc = style("https://map.example.org/", true, true, &rc, &err);

    CHECK_INT_EQ(rc, HM_OK);
    if (!doc)
        return;
    CHECK_STR_EQ(str(doc, "sprite"), "https://map.example.org/sprite");
    CHECK_STR_EQ(str(json_object_get(layer(doc, "background", NULL), "paint"), "background-color"),
                 "#0b1220");
    CHECK_STR_EQ(
        str(json_object_get(layer(doc, "basemap-road-name", NULL), "paint"), "text-halo-color"),
        "#0b1220");
    validate(doc, "dark style");
    json_decref(doc);
    doc = style(NULL, false, true, &rc, &err);
    CHECK_STR_EQ(str(json_object_get(layer(doc, "areas-wards-fill", NULL), "paint"), "fill-color"),
                 "#16213a");
    json_decref(doc);
}

static void test_bad_base(void)
{
    static const char *const bad[] = {"javascript:alert(1)", "http://x/\"", "http://x/?a", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hm_error err = {0};
        int rc;
        json_t *doc = style(bad[i], true, false, &rc, &err);
        CHECK_INT_EQ(rc, HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "base_url");
        CHECK(doc == NULL);
    }
}

int main(void)
{
    test_basemap_style();
    test_without_basemap();
    test_dark();
    test_bad_base();
    return hm_test_done("test_style");
}
