/* entity.c: freeing what the entity structs own. */
#include "entity.h"

#include <stdlib.h>
#include <string.h>

void hm_request_clear(hm_request *r)
{
    if (!r)
        return;
    free(r->note);
    free(r->name);
    free(r->address);
    free(r->phone);
    free(r->reporter_name);
    free(r->reporter_phone);
    free(r->location_text);
    hm_request_drop_text(r);
}

void hm_request_drop_text(hm_request *r)
{
    r->note = r->name = r->address = r->phone = NULL;
    r->reporter_name = r->reporter_phone = r->location_text = NULL;
}

void hm_history_clear(hm_history *h)
{
    if (!h)
        return;
    free(h->note);
    free(h->old_value);
    free(h->new_value);
    h->note = h->old_value = h->new_value = NULL;
}

void hm_request_filter_init(hm_request_filter *f)
{
    memset(f, 0, sizeof *f);
    f->category = -1;
    f->verified = -1;
}
