/* export.h: every request with every field as CSV (UTF-8 with BOM, RFC 4180
 * quoting, so LibreOffice opens Vietnamese text correctly), GeoJSON or KML.
 * Used by GET /api/v1/export and `helpmap export`. Contact data included:
 * callers check that the reader is a coordinator. */
#ifndef HM_EXPORT_H
#define HM_EXPORT_H

#include "hm_buf.h"
#include "hm_error.h"
#include "store.h"

enum { HM_EXPORT_CSV, HM_EXPORT_GEOJSON, HM_EXPORT_KML };

int hm_export_format_parse(const char *s);
const char *hm_export_content_type(int format);
const char *hm_export_extension(int format);
/* Append every request matching `f` (NULL: all) to `out`; *rows (may be NULL) receives how
 * many. Returns HM_OK or a store error. */
int hm_export_write(hm_store *st, int format, const hm_request_filter *f, hm_buf *out, size_t *rows,
                    hm_error *err);

#endif
