/* style.c: /style.json from the compiled-in template; see style.h. */
#include "style.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "basemap_int.h"

/* tiles/basemap/style.json, embedded by CMake (embed.cmake). */
extern const unsigned char hm_style_template[];
extern const size_t hm_style_template_len;

/* Replace "{base}" in string `v` by `base`; returns a new string or NULL
 * when there is nothing to replace. */
static json_t *with_base(const json_t *v, const char *base)
{
    const char *s = json_string_value(v), *at;
    hm_buf b;
    json_t *r;

    if (!s || !(at = strstr(s, "{base}")))
        return NULL;
    hm_buf_init(&b);
    hm_buf_append(&b, s, (size_t)(at - s));
    hm_buf_puts(&b, base);
    hm_buf_puts(&b, at + strlen("{base}"));
    r = json_string(b.data);
    hm_buf_clear(&b);
    return r;
}

static void set_base(json_t *obj, const char *key, const char *base)
{
    json_t *r = with_base(json_object_get(obj, key), base);
    if (r)
        json_object_set_new(obj, key, r);
}

/* Merge the overrides under metadata[key] into the layer's paint. */
static void apply(json_t *layer, const char *key)
{
    json_t *o = json_object_get(json_object_get(layer, "metadata"), key), *paint, *v;
    const char *k;

    if (!json_is_object(o))
        return;
    paint = json_object_get(layer, "paint");
    if (!paint) {
        paint = json_object();
        json_object_set_new(layer, "paint", paint);
    }
    json_object_foreach(o, k, v) json_object_set(paint, k, v);
}

int hm_style_json(const hm_style_params *p, hm_buf *out, hm_error *err)
{
    json_t *root = NULL, *layers, *kept = NULL, *sources, *src;
    hm_buf base;
    json_error_t jerr;
    const char *name, *b;
    char *text = NULL;
    size_t i;
    int rc;

    hm_buf_init(&base);
    rc = hm_basemap__base_url(p->base_url, &base, err);
    if (rc != HM_OK)
        goto out;
    root = json_loadb((const char *)hm_style_template, hm_style_template_len, 0, &jerr);
    kept = json_array();
    if (!root || !kept) {
        rc = hm_error_set(err, HM_E_INTERNAL, NULL, "style template: %s", jerr.text);
        goto out;
    }
    b = base.data ? base.data : "";
    json_object_del(root, "metadata");
    set_base(root, "sprite", b);
    set_base(root, "glyphs", b);
    sources = json_object_get(root, "sources");
    if (!p->basemap)
        json_object_del(sources, "basemap");
    json_object_foreach(sources, name, src) set_base(src, "url", b);

    layers = json_object_get(root, "layers");
    json_array_foreach(layers, i, src)
    {
        const char *s = json_string_value(json_object_get(src, "source"));
        if (s && !json_object_get(sources, s))
            continue;
        if (p->dark)
            apply(src, "helpmap:dark");
        if (!p->basemap)
            apply(src, p->dark ? "helpmap:plain-dark" : "helpmap:plain");
        json_object_del(src, "metadata");
        json_array_append(kept, src);
    }
    json_object_set(root, "layers", kept);

    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        rc = hm_error_set(err, HM_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    hm_buf_puts(out, text);
out:
    free(text);
    json_decref(kept);
    json_decref(root);
    hm_buf_clear(&base);
    return rc;
}
