/* hm_error.h: the one error value that travels up from every module. Owns the
 * error codes of SPEC's error table and the first-error-wins record; not HTTP
 * (server/http.c maps codes to statuses) and not logging. Thread-safe: an
 * hm_error belongs to its caller. */
#ifndef HM_ERROR_H
#define HM_ERROR_H

enum hm_err {
    HM_OK = 0,
    HM_E_BAD_JSON,             /* 400 bad_json */
    HM_E_INVALID_FIELD,        /* 400 invalid_field */
    HM_E_UNAUTHORIZED,         /* 401 unauthorized */
    HM_E_FORBIDDEN,            /* 403 forbidden */
    HM_E_NOT_FOUND,            /* 404 not_found */
    HM_E_METHOD,               /* 405 method_not_allowed */
    HM_E_INVALID_TRANSITION,   /* 409 invalid_transition */
    HM_E_ALREADY_CLAIMED,      /* 409 already_claimed */
    HM_E_CLAIM_LIMIT,          /* 409 claim_limit */
    HM_E_OVERLAP,              /* 409 overlap */
    HM_E_IN_USE,               /* 409 in_use */
    HM_E_TOO_LARGE,            /* 413 too_large */
    HM_E_HEADER_TOO_LARGE,     /* 431 header_too_large */
    HM_E_OUTSIDE_AREA,         /* 422 outside_service_area */
    HM_E_RATE_LIMITED,         /* 429 rate_limited */
    HM_E_UNAVAILABLE,          /* 503 unavailable */
    HM_E_RECEIPT_LIMIT,        /* 409 receipt_limit: a request takes at most a few receipts */
    HM_E_IDEMPOTENCY_MISMATCH, /* 422 idempotency_mismatch: a key reused with another body */
    HM_E_NOMEM,                /* 500; details logged */
    HM_E_IO,
    HM_E_DB,
    HM_E_GEOS,
    HM_E_PROJ,
    HM_E_INTERNAL,
    HM_E__COUNT
};

typedef struct hm_error {
    enum hm_err code;
    const char *field; /* static field name such as "lat", or NULL */
    char msg[160];     /* first error wins; never holds contact data */
    int retry_after_s; /* HM_E_RATE_LIMITED: seconds until a retry may pass (0: unknown) */
} hm_error;

/* Record the error in `err` unless one is set already; returns `code`.
 * `err` may be NULL. Thread-safe (touches only `err`). */
int hm_error_set(hm_error *err, enum hm_err code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset `err` to HM_OK with an empty message. */
void hm_error_clear(hm_error *err);

/* The SPEC's snake_case name of `code` ("invalid_field"); "internal" for 5xx codes. */
const char *hm_err_name(enum hm_err code);

#endif
