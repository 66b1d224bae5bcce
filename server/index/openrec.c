#include "openrec.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The code table: chunks of CHUNK strings that never move once made, so that readers index
 * it without a lock; a number is published (release) only after its string is in place.
 * Writers, and the lookup of existing codes, go under intern_mu through an open-addressing
 * hash of the numbers. Codes are area codes: a few thousand in a district. */
#define CHUNK      1024
#define MAX_CHUNKS 4096 /* 4 M codes */

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static char **chunks[MAX_CHUNKS];
static uint32_t n_codes = 1; /* 0 is "" */
static uint32_t *slots;      /* hash of numbers; 0: empty */
static size_t n_slots;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void slots_grow(void)
{
    size_t cap = n_slots ? n_slots * 2 : 1024;
    uint32_t *ns = hm_xcalloc(cap, sizeof *ns);
    for (size_t i = 0; i < n_slots; i++)
        if (slots[i]) {
            size_t j = hash_str(hm_code_of(slots[i])) & (cap - 1);
            while (ns[j])
                j = (j + 1) & (cap - 1);
            ns[j] = slots[i];
        }
    free(slots);
    slots = ns;
    n_slots = cap;
}

uint32_t hm_code_intern(const char *code)
{
    size_t j;
    uint32_t n;

    if (!code || !*code)
        return 0;
    pthread_mutex_lock(&intern_mu);
    if ((n_codes + 1) * 2 > n_slots)
        slots_grow();
    for (j = hash_str(code) & (n_slots - 1); slots[j]; j = (j + 1) & (n_slots - 1))
        if (strcmp(hm_code_of(slots[j]), code) == 0) {
            n = slots[j];
            pthread_mutex_unlock(&intern_mu);
            return n;
        }
    n = n_codes;
    if (n / CHUNK >= MAX_CHUNKS) { /* far beyond any real district */
        hm_log(HM_LOG_ERROR, "event=code_table_full codes=%u", n);
        abort();
    }
    if (!chunks[n / CHUNK])
        chunks[n / CHUNK] = hm_xcalloc(CHUNK, sizeof(char *));
    chunks[n / CHUNK][n % CHUNK] = hm_xstrdup(code);
    slots[j] = n;
    __atomic_store_n(&n_codes, n + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&intern_mu);
    return n;
}

const char *hm_code_of(uint32_t n)
{
    if (n == 0 || n >= __atomic_load_n(&n_codes, __ATOMIC_ACQUIRE))
        return "";
    return chunks[n / CHUNK][n % CHUNK];
}

void hm_open_rec_pack(hm_open_rec *o, const hm_request *r)
{
    memset(o, 0, sizeof *o);
    o->id = r->id;
    o->team_id = r->team_id;
    o->created_at = r->created_at;
    o->updated_at = r->updated_at;
    o->status_at = r->status_at;
    o->lon = r->lon;
    o->lat = r->lat;
    memcpy(o->code, r->code, sizeof o->code);
    o->ward = hm_code_intern(r->ward_code);
    o->former_ward = hm_code_intern(r->former_ward_code);
    o->hamlet = hm_code_intern(r->hamlet_code);
    o->people = (uint16_t)r->people;
    o->precision = (uint8_t)r->precision;
    o->category = (uint8_t)r->category;
    o->vulnerable = (uint8_t)r->vulnerable;
    o->priority = (uint8_t)r->priority;
    o->status = (uint8_t)r->status;
    o->source = (uint8_t)r->source;
    o->verified = r->verified;
}

void hm_open_rec_unpack(const hm_open_rec *o, hm_request *r)
{
    memset(r, 0, sizeof *r);
    r->id = o->id;
    r->team_id = o->team_id;
    r->created_at = o->created_at;
    r->updated_at = o->updated_at;
    r->status_at = o->status_at;
    r->lon = o->lon;
    r->lat = o->lat;
    memcpy(r->code, o->code, sizeof r->code);
    snprintf(r->ward_code, sizeof r->ward_code, "%s", hm_code_of(o->ward));
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s", hm_code_of(o->former_ward));
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", hm_code_of(o->hamlet));
    r->people = o->people;
    r->precision = o->precision;
    r->category = o->category;
    r->vulnerable = o->vulnerable;
    r->priority = o->priority;
    r->status = o->status;
    r->source = o->source;
    r->verified = o->verified;
}
