/* entity.c: freeing what the entity structs own. */
#include "entity.h"

#include <stdlib.h>

void hm_request_clear(hm_request *r)
{
    if (!r)
        return;
    free(r->note);
    free(r->name);
    free(r->address);
    free(r->phone);
    r->note = r->name = r->address = r->phone = NULL;
}

void hm_history_clear(hm_history *h)
{
    if (!h)
        return;
    free(h->note);
    h->note = NULL;
}
