/* reqjson.c: what the core adds to a request object (the public place hint, the holding team's
 * name) and who may follow one request's own event stream; see requests.h. */
#include "requests.h"

#include "core_int.h"
#include "gazetteer.h"
#include "model.h"
#include "present.h"
#include "teamindex.h"
#include "worker.h"

#include "hm_buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Set `place` (and `team_name`) on request object `o` of `r`. */
static void add_extras(hm_core *c, json_t *o, const hm_request *r, bool team_name)
{
    char buf[HM_PLACES_NAME_MAX + 1];

    json_object_set_new(o, "place",
                        hm_core_place_hint(c, r->lon, r->lat, buf, sizeof buf) ? json_string(buf)
                                                                               : json_null());
    if (team_name) {
        char name[sizeof((hm_team *)0)->name];
        json_object_set_new(o, "team_name",
                            r->team_id > 0 && c && c->teams &&
                                    hm_team_index_name(c->teams, r->team_id, name, sizeof name)
                                ? json_string(name)
                                : json_null());
    }
}

json_t *hm_core_request_json(hm_core *c, const hm_request *r, unsigned view, bool team_name)
{
    json_t *o = hm_request_json(r, view);
    add_extras(c, o, r, team_name);
    return o;
}

json_t *hm_core_request_feature(hm_core *c, const hm_request *r, unsigned view, bool team_name)
{
    json_t *f = hm_request_feature(r, view);
    add_extras(c, json_object_get(f, "properties"), r, team_name);
    return f;
}

void hm_core_request_feature_text(hm_core *c, hm_buf *b, const hm_request *r, unsigned view,
                                  bool team_name, double distance_m)
{
    char place[HM_PLACES_NAME_MAX + 1], name[sizeof((hm_team *)0)->name];
    const bool snap = view & HM_VIEW_SNAP;

    hm_buf_printf(b,
                  "{\"type\":\"Feature\",\"id\":%lld,\"geometry\":{\"type\":\"Point\","
                  "\"coordinates\":[",
                  (long long)r->id);
    /* json_pack's [f,f] of a value that is not finite fails, and with it the feature: never
     * so for a stored request. */
    hm_json_member_real(b, "", snap ? hm_snap(r->lon) : r->lon);
    hm_json_member_real(b, ",", snap ? hm_snap(r->lat) : r->lat);
    hm_buf_puts(b, "]},\"properties\":");
    hm_request_text_open(b, r, view);
    if (hm_core_place_hint(c, r->lon, r->lat, place, sizeof place))
        hm_json_member_str(b, ",\"place\":", place);
    else
        hm_json_member_str_or_null(b, ",\"place\":", NULL);
    if (team_name)
        hm_json_member_str_or_null(
            b, ",\"team_name\":",
            r->team_id > 0 && c && c->teams &&
                    hm_team_index_name(c->teams, r->team_id, name, sizeof name)
                ? name
                : NULL);
    if (!isnan(distance_m))
        hm_json_member_real(b, ",\"distance_m\":", round(distance_m * 10) / 10);
    hm_buf_puts(b, "}}");
}

char *hm_core__request_event_text(hm_core *c, const hm_request *r, bool public_view)
{
    /* Events never carry contact data; the team payload is also what the resident's own
     * stream gets, so it names the holding team. The same bytes as hm_core_request_json()
     * dumped, rendered without the tree (present.h, hm_request_text). */
    static const char *const keys[2] = {"place", "team_name"};
    char place[HM_PLACES_NAME_MAX + 1], name[sizeof((hm_team *)0)->name];
    const char *values[2];

    values[0] = hm_core_place_hint(c, r->lon, r->lat, place, sizeof place) ? place : NULL;
    values[1] = !public_view && r->team_id > 0 && c && c->teams &&
                        hm_team_index_name(c->teams, r->team_id, name, sizeof name)
                    ? name
                    : NULL;
    return hm_request_text(r, public_view ? HM_VIEW_SNAP : 0, keys, values, public_view ? 1 : 2);
}

void hm_core__team_name(hm_core *c, hm_store *st, int64_t team_id, char *out, size_t size)
{
    hm_team t;

    if (size)
        out[0] = '\0';
    if (team_id <= 0 || size == 0)
        return;
    if (c && c->teams && hm_team_index_name(c->teams, team_id, out, size))
        return;
    /* A team this server has not applied yet (created a moment ago on another one). */
    if (st && hm_store_team_get(st, team_id, &t, NULL) == HM_OK)
        snprintf(out, size, "%s", t.name);
}

int hm_core_request_stream(hm_core *c, const hm_actor *a, const char *code_text,
                           const char *const tracking[2], int64_t *request_id, hm_error *err)
{
    char code[16];
    uint8_t hash[32];
    unsigned view, kind;
    hm_request r;
    hm_worker *w;
    int rc;

    if ((rc = hm_code_normalize(code_text, c->cfg.code_prefix, code, sizeof code, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = hm_store_request_get(w->store, code, &r, hash, err)))
        return rc;
    rc = hm_policy_access(a, tracking, &r, hash, &view, &kind, err);
    if (rc == HM_OK && !(kind & HM_ACT_RESIDENT))
        rc = hm_error_set(err, HM_E_FORBIDDEN, "token",
                          "a request's own stream is its resident's (the tracking token); teams "
                          "follow /events with their ticket");
    if (rc == HM_OK)
        *request_id = r.id;
    hm_request_clear(&r);
    return rc;
}
