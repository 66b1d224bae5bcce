/* entity.h: the rows helpmap works with — requests, their history, teams, areas as stored —
 * and the filter of request lists. Plain C structs shared by every layer (the store fills
 * them, the indexes keep parts of them, the core decides on them, the edge renders them);
 * no behaviour beyond freeing what they own. */
#ifndef HM_ENTITY_H
#define HM_ENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"

/* A request row. Text fields are malloc'd and owned by the struct (NULL when
 * absent); free them with hm_request_clear(). Area codes are "" for null.
 * Contact data: note, name, address, phone, reporter_name, reporter_phone and
 * location_text (a pasted link may carry a label such as "nhà bà Tư"). */
typedef struct hm_request {
    int64_t id;
    char code[16];
    double lon, lat;
    int precision; /* enum hm_precision */
    int category;  /* enum hm_category */
    int people;
    unsigned vulnerable; /* HM_VULN_* bits */
    int priority;        /* enum hm_priority */
    char *note, *name, *address, *phone;
    /* Someone who reported for the person in need (SPEC "Report for someone else"): NULL when
     * the person reported for themselves. `phone` stays the person in need's. */
    char *reporter_name, *reporter_phone;
    char *location_text; /* the pasted link or coordinates (precision HM_PREC_LINK) */
    int status;          /* enum hm_status */
    char ward_code[40], former_ward_code[40], hamlet_code[40];
    int source; /* enum hm_source */
    bool verified;
    int64_t team_id; /* 0 when none */
    char duplicate_of[16];
    /* A public caller's repeat of an open request of the same phone, stored as its duplicate
     * (SPEC POST /requests): its public and resident views do not name the earlier one. */
    bool auto_duplicate;
    int64_t created_at, updated_at, status_at; /* ms since 1970; status_at: last status change */
    int64_t safe_at; /* "I am safe now": when it closed the request; 0 otherwise */
    /* The loop closed by the resident (issue 17). What the holding team said it delivered when
     * it resolved the request (`delivered`; its amount in đồng, -1 when none was given), and
     * what the resident says arrived (`receipt`, enum hm_receipt, HM_RCPT_NONE when not said;
     * its amount, -1 when none was given; when). A zeroed struct has neither. */
    bool delivered;
    int64_t delivered_vnd;
    int receipt;
    int64_t receipt_vnd;
    int64_t receipt_at;
} hm_request;

/* Free the text fields of `r` and set them to NULL. Accepts NULL. */
void hm_request_clear(hm_request *r);
/* Set the text fields of `r` to NULL without freeing them: for a shallow copy of a request
 * whose strings belong to the original (and for what must never carry contact data). */
void hm_request_drop_text(hm_request *r);

/* A relief point (SPEC, "Relief points"): a shelter, food or water distribution, a medical
 * post, a phone-charging point, a boat. Public data: exact position, no contact field. Fixed
 * buffers (a few hundred points at most) so that copies are plain assignments. */
#define HM_RELIEF_NAME_MAX     100 /* code points */
#define HM_RELIEF_ADDRESS_MAX  200
#define HM_RELIEF_HOURS_MAX    100
#define HM_RELIEF_CAPACITY_MAX 1000000
typedef struct hm_relief {
    int64_t id;
    int kind;   /* enum hm_relief_kind */
    int status; /* enum hm_relief_status */
    char name[4 * HM_RELIEF_NAME_MAX + 1];
    char address[4 * HM_RELIEF_ADDRESS_MAX + 1]; /* "" when none */
    char hours[4 * HM_RELIEF_HOURS_MAX + 1];     /* "" when none, e.g. "7:00-19:00" */
    int capacity;                                /* people or places; -1 when not given */
    double lon, lat;
    int64_t created_at, updated_at; /* ms */
} hm_relief;

typedef struct hm_history {
    int64_t at;
    char actor[104]; /* "resident", "system" or a team name */
    int from, to;    /* -1 for a note-only entry */
    char *note;      /* malloc'd or NULL */
    char kind[16];   /* "status", "note", "repeat", "verify", "reveal", "edit", "merge", "purge",
                        "area", "safe", "receipt" */
    /* What an entry changed, when it names one field (edits, merges, reassignments, the
     * outcome of a verification): "" for none; old and new values as text, malloc'd or NULL. */
    char field[24];
    char *old_value, *new_value;
    /* The note or the values are contact data (a resident's words, a phone, a name, an
     * address): shown only to readers who may see contact data. */
    bool contact;
    /* The hash chain (issue 17, chain.h): the entry's id in the store (0 when not stored); the
     * SHA-256 of its note and of its old and new values, lower-case hex ("" without one; they
     * stay when a purge erases the texts, so that the chain still verifies), salted for a
     * contact entry with `salt` (32 hex digits, "" for others and once purged); its
     * structured facts as a canonical JSON object (a receipt, a delivery; malloc'd or NULL);
     * its hash, hex ("" when it has none). */
    int64_t id;
    char note_sha256[65], old_sha256[65], new_sha256[65];
    char salt[33];
    char *detail;
    char hash[65];
} hm_history;

/* Free the texts of `h`. Accepts NULL. */
void hm_history_clear(hm_history *h);

typedef struct hm_team {
    int64_t id;
    char name[104];
    int role;               /* enum hm_role */
    int status;             /* enum hm_team_status */
    char capabilities[256]; /* JSON array text, e.g. ["boat","medical"] */
    bool has_pos;
    double lon, lat;
    int64_t pos_at;
    bool disabled;
    int64_t created_at;
} hm_team;

typedef struct hm_area_row {
    int level;
    char code[40];
    char name[160];
    char parent_code[40]; /* "" when none */
    double rep_lon, rep_lat;
    double bbox[4];
    long long pop;
    const unsigned char *wkb; /* borrowed: valid during the callback only */
    size_t wkb_len;
} hm_area_row;

/* Orders of request lists. */
enum hm_order {
    HM_ORDER_ID = 0,  /* id ascending (oldest first): cursor after_id, id > after_id */
    HM_ORDER_ID_DESC, /* newest first: cursor after_id, id < after_id */
    HM_ORDER_URGENT,  /* urgent first, then oldest created, then id: cursor after_key */
};

/* Filter for hm_store_request_list: hm_request_filter_init() (everything, any category,
 * either verified), then set what narrows it. */
typedef struct hm_request_filter {
    bool has_bbox;
    double bbox[4];               /* minLon, minLat, maxLon, maxLat */
    unsigned status_mask;         /* 1 << status; 0 = any */
    int category;                 /* -1 = any */
    const char *ward_code;        /* NULL = any */
    const char *phone;            /* normalised, NULL = any */
    int64_t since_ms;             /* updated at/after; 0 = any */
    int64_t created_since_ms;     /* created at/after; 0 = any */
    int64_t after_id;             /* cursor: id > after_id */
    int64_t team_id;              /* > 0: held by this team */
    int verified;                 /* -1 any, 0, 1 */
    size_t limit;                 /* 0 = no limit */
    const char *former_ward_code; /* NULL = any */
    const char *hamlet_code;      /* NULL = any */
    unsigned priority_mask;       /* 1 << priority; 0 = any */
    unsigned source_mask;         /* 1 << source; 0 = any */
    const char *duplicate_of;     /* requests marked duplicate of this code; NULL = any */
    bool flagged; /* only resolved requests whose resident reported part or nothing (issue 17) */
    /* Words that must all occur in the note or address, as hm_fold() keys ("het gao"); NULL
     * = any. Contact data: the caller checks that the reader may search it. */
    const char *q;
    int order; /* enum hm_order */
    /* HM_ORDER_URGENT: continue after this request (has_key false: from the start). */
    bool has_key;
    struct {
        int priority;
        int64_t created_at, id;
    } after_key;
} hm_request_filter;

/* A filter that matches every request. */
void hm_request_filter_init(hm_request_filter *f);

/* A committed change, as the store's change log keeps it (store.h, "Changes"). Every server
 * follows the log in id order and applies each change to its in-memory indexes and event
 * stream, whichever server (or command) wrote it; events take their ids from it. */
enum hm_change_kind {
    HM_CH_REQUEST_CREATED = 1, /* ref: request id */
    HM_CH_REQUEST_UPDATED = 2, /* ref: request id; prev: what the counts had before */
    HM_CH_TEAM = 3,            /* ref: team id (status, token, enabled: no event) */
    HM_CH_TEAM_MOVED = 4,      /* ref: team id (position or status set by the team: event) */
    HM_CH_AREA = 5,            /* level and code of an area added, changed or deleted */
    HM_CH_RELOAD = 6,          /* many rows changed at once (imports): reload the indexes */
    HM_CH_PLACES = 7,          /* the place names of a source changed (code: the source) */
    HM_CH_RELIEF = 8,          /* ref: relief point id; level: enum hm_relief_change */
    HM_CH_TEAM_REVOKED = 9,    /* ref: team id disabled or whose token was rotated: its event
                                  streams and tickets end on every server (issue 11) */
    HM_CH_RECEIPT = 10,        /* ref: request id; a resident's receipt (prev as for UPDATED) */
};

/* What happened to a relief point (HM_CH_RELIEF, in hm_change.level). */
enum hm_relief_change { HM_RELIEF_CREATED = 1, HM_RELIEF_UPDATED = 2, HM_RELIEF_DELETED = 3 };

/* Flags of a change (hm_change.flags). */
enum {
    /* HM_CH_REQUEST_UPDATED: a coordinator gave the request to its team (team_id of the row):
     * the team's own stream gets "request.assigned". */
    HM_CHF_ASSIGNED = 1,
};

typedef struct hm_change {
    int64_t id; /* in commit order: a higher id never becomes visible before a lower one */
    int64_t at; /* ms */
    int kind;   /* enum hm_change_kind */
    int64_t ref;
    unsigned flags; /* HM_CHF_* */
    /* HM_CH_REQUEST_UPDATED: the request as the counts knew it before (status -1: unknown). */
    struct {
        int status, category;
        int64_t status_at;
        double lon, lat;
        char ward[40], former_ward[40], hamlet[40];
        bool safe;   /* closed by "I am safe now" */
        int receipt; /* enum hm_receipt */
    } prev;
    int level;     /* HM_CH_AREA: the area's level; HM_CH_RELIEF: enum hm_relief_change */
    char code[40]; /* HM_CH_AREA; HM_CH_PLACES: the source */
    /* The row after the change when its writer has it at hand (borrowed; valid until the
     * writer's job finished); NULL in changes read back from the log. */
    const hm_request *request;
    const hm_team *team;
    const hm_relief *relief; /* HM_CH_RELIEF created or updated */
} hm_change;

/* A named place as stored (SPEC "Places and a street map, offline"): the shipped GeoNames
 * names, a district's own list, names of a basemap. Handed to and from the store with every
 * string borrowed (valid during the call or callback). */
typedef struct hm_place_row {
    int64_t id;                   /* set by the store when listing */
    const char *source;           /* "geonames", "import" or "basemap" */
    const char *name;             /* required */
    const char *const *alt_names; /* n_alt other names; none contains a newline */
    size_t n_alt;
    const char *kind; /* "village", "market", "street" ... required */
    const char *code; /* the source's id of the place, or NULL */
    double lon, lat;  /* the point the place stands for */
    bool has_bbox;    /* bbox holds minLon, minLat, maxLon, maxLat */
    double bbox[4];
    const char *ward_code; /* the ward the point is in, or NULL */
} hm_place_row;

/* One entry of the audit log (store.h, "Audit"): who saw or took contact data, or changed a
 * team's access, when, and how much. Never holds contact data itself. */
typedef struct hm_audit {
    int64_t id;
    int64_t at;            /* ms */
    char kind[16];         /* "export", "reveal" or "team" */
    char actor[104];       /* the team's name, or "command line (user NAME)" */
    int64_t actor_team_id; /* the acting team; 0 for the command line */
    int64_t team_id;       /* the team concerned (exporter, viewer, team changed); 0: none */
    int64_t rows;          /* requests exported or shown; 1 for a team change */
    char detail[64];       /* "csv", "disable", a request code, ...: no contact data */
} hm_audit;

/* Filter of hm_store_audit_list. Zero-initialise, then set. */
typedef struct hm_audit_filter {
    int64_t since_ms; /* at/after; 0 = any */
    int64_t team_id;  /* > 0: entries about this team */
    const char *kind; /* NULL = any */
    int64_t after_id; /* cursor: id > after_id */
    size_t limit;     /* 0 = no limit */
} hm_audit_filter;

typedef int (*hm_request_cb)(void *ctx, const hm_request *r);
typedef int (*hm_place_cb)(void *ctx, const hm_place_row *p);
typedef int (*hm_audit_cb)(void *ctx, const hm_audit *a);
typedef int (*hm_area_cb)(void *ctx, const hm_area_row *a);
typedef int (*hm_team_cb)(void *ctx, const hm_team *t);
typedef int (*hm_history_cb)(void *ctx, const hm_history *h);
/* One history entry of request `request_id` (whose code is `code`), in a walk of every chain. */
typedef int (*hm_history_walk_cb)(void *ctx, int64_t request_id, const char *code,
                                  const hm_history *h);
typedef int (*hm_change_cb)(void *ctx, const hm_change *c);
typedef int (*hm_relief_cb)(void *ctx, const hm_relief *p);
/* A source of request rows: calls cb(cb_ctx, r) for each, in no promised order, and returns
 * HM_OK, the first non-zero cb return, or an error (with `err` filled). */
typedef int (*hm_request_source)(void *src, hm_request_cb cb, void *cb_ctx, hm_error *err);

#endif
