/* test_tilejson.c: TileJSON 3.0.0 documents read back with jansson - the
 * URL template, zoom range, bounds and center, and vector_layers whose
 * fields are exactly the layer's public attributes; bad parameters. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "hm_test.h"
#include "mvt.h"
#include "tilejson.h"

static json_t *build(hm_tile_layer layer, const hm_tilejson_params *p, int *rc)
{
    hm_buf out;
    hm_error err = {0};
    json_t *doc = NULL;

    hm_buf_init(&out);
    *rc = hm_tilejson_write(layer, p, &out, &err);
    if (*rc == HM_OK)
        doc = json_loadb(out.data, out.len, 0, NULL);
    hm_buf_clear(&out);
    return doc;
}

static void test_requests_doc(void)
{
    static const double bounds[4] = {106.356484, 10.914484, 106.657216, 11.160309};
    hm_tilejson_params p = {"http://127.0.0.1:8080/", "status=all", 0, 22, bounds, NULL};
    int rc;
    json_t *doc = build(HM_TILE_REQUESTS, &p, &rc), *vl, *fields, *b, *c;
    size_t nfields;
    const hm_mvt_field *want = hm_mvt_layer_fields(HM_TILE_REQUESTS, &nfields);

    CHECK_INT_EQ(rc, HM_OK);
    CHECK(doc != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "tilejson")), "3.0.0");
    CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(doc, "tiles"), 0)),
                 "http://127.0.0.1:8080/tiles/requests/{z}/{x}/{y}.mvt?status=all");
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "scheme")), "xyz");
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "minzoom")), 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "maxzoom")), 22);
    b = json_object_get(doc, "bounds");
    CHECK_INT_EQ(json_array_size(b), 4);
    for (int i = 0; i < 4; i++)
        CHECK(fabs(json_real_value(json_array_get(b, (size_t)i)) - bounds[i]) < 1e-9);
    c = json_object_get(doc, "center");
    CHECK(fabs(json_real_value(json_array_get(c, 0)) - 106.50685) < 1e-5);
    CHECK_INT_EQ(json_integer_value(json_array_get(c, 2)), 10); /* ~0.3 degrees fits z10 */

    vl = json_object_get(doc, "vector_layers");
    CHECK_INT_EQ(json_array_size(vl), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(vl, 0), "id")), "requests");
    fields = json_object_get(json_array_get(vl, 0), "fields");
    CHECK_INT_EQ(json_object_size(fields), nfields);
    for (size_t i = 0; i < nfields; i++)
        CHECK_STR_EQ(json_string_value(json_object_get(fields, want[i].name)), want[i].type);
    CHECK(json_object_get(fields, "point_count") != NULL);
    CHECK(json_object_get(fields, "code") != NULL);
    /* contact fields never */
    static const char *const contact[] = {"name", "phone", "note", "address", "token"};
    for (size_t i = 0; i < sizeof contact / sizeof contact[0]; i++)
        CHECK(json_object_get(fields, contact[i]) == NULL);
    json_decref(doc);
}

static void test_area_docs(void)
{
    static const struct {
        hm_tile_layer layer;
        const char *url;
    } cases[] = {
        {HM_TILE_WARDS, "https://map.example.org/tiles/wards/{z}/{x}/{y}.mvt"},
        {HM_TILE_FORMER_WARDS, "https://map.example.org/tiles/former_wards/{z}/{x}/{y}.mvt"},
        {HM_TILE_HAMLETS, "https://map.example.org/tiles/hamlets/{z}/{x}/{y}.mvt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_tilejson_params p = {"https://map.example.org", NULL, 8, 16, NULL, "© helpmap"};
        int rc;
        json_t *doc = build(cases[i].layer, &p, &rc);
        json_t *layer0 = json_array_get(json_object_get(doc, "vector_layers"), 0);
        json_t *fields = json_object_get(layer0, "fields");

        CHECK_INT_EQ(rc, HM_OK);
        CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(doc, "tiles"), 0)),
                     cases[i].url);
        CHECK_STR_EQ(json_string_value(json_object_get(layer0, "id")),
                     hm_tile_layer_name(cases[i].layer));
        CHECK_INT_EQ(json_integer_value(json_object_get(layer0, "minzoom")), 8);
        CHECK_INT_EQ(json_integer_value(json_object_get(layer0, "maxzoom")), 16);
        CHECK_STR_EQ(json_string_value(json_object_get(fields, "open")), "Number");
        CHECK_STR_EQ(json_string_value(json_object_get(fields, "open_rescue")), "Number");
        CHECK_STR_EQ(json_string_value(json_object_get(fields, "parent_code")), "String");
        CHECK_STR_EQ(json_string_value(json_object_get(doc, "attribution")), "© helpmap");
        /* no bounds given: the Mercator world, center clamped to minzoom */
        CHECK(json_real_value(json_array_get(json_object_get(doc, "bounds"), 0)) == -180.0);
        CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(doc, "center"), 2)), 8);
        json_decref(doc);
    }
}

/* "/" as the base: root-relative tile URLs (the server without --public-url, issue 11). */
static void test_relative_urls(void)
{
    hm_tilejson_params p = {"/", NULL, 0, 18, NULL, NULL};
    int rc;
    json_t *doc = build(HM_TILE_WARDS, &p, &rc);
    CHECK_INT_EQ(rc, HM_OK);
    CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(doc, "tiles"), 0)),
                 "/tiles/wards/{z}/{x}/{y}.mvt");
    json_decref(doc);
}

static void test_errors(void)
{
    static const double bad_bounds[4] = {10, 0, 5, 1};
    static const double nan_bounds[4] = {NAN, 0, 5, 1};
    static const struct {
        hm_tile_layer layer;
        hm_tilejson_params p;
        const char *field;
    } cases[] = {
        {HM_TILE_WARDS, {NULL, NULL, 0, 22, NULL, NULL}, "base_url"},
        {HM_TILE_WARDS, {"", NULL, 0, 22, NULL, NULL}, "base_url"},
        {HM_TILE_WARDS, {"http://x", NULL, -1, 22, NULL, NULL}, "zoom"},
        {HM_TILE_WARDS, {"http://x", NULL, 0, 23, NULL, NULL}, "zoom"},
        {HM_TILE_WARDS, {"http://x", NULL, 10, 9, NULL, NULL}, "zoom"},
        {HM_TILE_WARDS, {"http://x", NULL, 0, 22, bad_bounds, NULL}, "bounds"},
        {HM_TILE_WARDS, {"http://x", NULL, 0, 22, nan_bounds, NULL}, "bounds"},
        {HM_TILE_WARDS, {"http://\xff", NULL, 0, 22, NULL, NULL}, "base_url"},
        {(hm_tile_layer)9, {"http://x", NULL, 0, 22, NULL, NULL}, "layer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_buf out;
        hm_error err = {0};
        hm_buf_init(&out);
        CHECK_INT_EQ(hm_tilejson_write(cases[i].layer, &cases[i].p, &out, &err),
                     HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, cases[i].field);
        CHECK_INT_EQ(out.len, 0); /* nothing written */
        hm_buf_clear(&out);
    }
}

int main(void)
{
    test_requests_doc();
    test_area_docs();
    test_relative_urls();
    test_errors();
    return hm_test_done("test_tilejson");
}
