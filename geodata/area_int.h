/* area_int.h: internals of area.c shared with tests/geodata only, so that the
 * exact predicates behind hm_area_index_locate() can be tested on the
 * degenerate cases (collinear points, lines through vertices) that random
 * points never hit. Not part of the module's contract. */
#ifndef HM_AREA_INT_H
#define HM_AREA_INT_H

#include <stddef.h>

/* Exact sign of the orientation of (a, b, c): +1 counter-clockwise, -1
 * clockwise, 0 collinear (GEOS orientationIndex without its rounding). */
int hm_area__orient(double ax, double ay, double bx, double by, double cx, double cy);

/* The cell test of the index: is q covered by an area, given its edges
 * `abxy` (n edges as ax, ay, bx, by) and a reference point R on no edge with
 * status `r_inside`? `abxy` must hold every edge that touches the segment R-q. */
int hm_area__edges_cover(const double *abxy, size_t n, double rx, double ry, int r_inside,
                         double qx, double qy);

#endif
