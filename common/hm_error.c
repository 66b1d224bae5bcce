#include "hm_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hm_error_set(hm_error *err, enum hm_err code, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->code != HM_OK)
        return code;
    err->code = code;
    err->field = field;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void hm_error_clear(hm_error *err)
{
    if (!err)
        return;
    err->code = HM_OK;
    err->field = NULL;
    err->msg[0] = '\0';
    err->retry_after_s = 0;
}

const char *hm_err_name(enum hm_err code)
{
    static const char *const names[HM_E__COUNT] = {
        [HM_OK] = "ok",
        [HM_E_BAD_JSON] = "bad_json",
        [HM_E_INVALID_FIELD] = "invalid_field",
        [HM_E_UNAUTHORIZED] = "unauthorized",
        [HM_E_FORBIDDEN] = "forbidden",
        [HM_E_NOT_FOUND] = "not_found",
        [HM_E_METHOD] = "method_not_allowed",
        [HM_E_INVALID_TRANSITION] = "invalid_transition",
        [HM_E_ALREADY_CLAIMED] = "already_claimed",
        [HM_E_CLAIM_LIMIT] = "claim_limit",
        [HM_E_OVERLAP] = "overlap",
        [HM_E_IN_USE] = "in_use",
        [HM_E_TOO_LARGE] = "too_large",
        [HM_E_HEADER_TOO_LARGE] = "header_too_large",
        [HM_E_OUTSIDE_AREA] = "outside_service_area",
        [HM_E_RATE_LIMITED] = "rate_limited",
        [HM_E_UNAVAILABLE] = "unavailable",
        [HM_E_RECEIPT_LIMIT] = "receipt_limit",
        [HM_E_IDEMPOTENCY_MISMATCH] = "idempotency_mismatch",
    };
    if ((int)code < 0 || code >= HM_E__COUNT || !names[code])
        return "internal";
    return names[code];
}
