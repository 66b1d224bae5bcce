/* basemap_int.h: names shared by mbtiles.c, basemap.c and style.c only. */
#ifndef HM_BASEMAP_INT_H
#define HM_BASEMAP_INT_H

#include "hm_buf.h"
#include "hm_error.h"

/* Check `base_url` (NULL or "", or http:// or https:// followed by a host
 * and an optional path, without query, fragment, quotes, spaces or control
 * characters) and append it to `out` without a trailing '/' (nothing for NULL
 * or ""). Returns HM_OK or HM_E_INVALID_FIELD (field "base_url"); `out` is
 * unchanged on error. */
int hm_basemap__base_url(const char *base_url, hm_buf *out, hm_error *err);

#endif
