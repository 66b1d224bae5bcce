#!/usr/bin/env bash
# test_layers.sh: the layers of server/ hold (SPEC "Layers"): libmicrohttpd is included only by
# the HTTP edge (server/http/), SQL libraries only by the store (server/store/; tiles/ reads
# MBTiles archives with SQLite too, which is not the store), nothing below the edge includes the
# edge's headers, and no layer includes a header of a layer above it. The build enforces the
# last point as well (each library sees only the include directories below it); this test
# makes a violation a readable failure. Usage: test_layers.sh SOURCE_DIR
set -uo pipefail
cd "$1" || exit 1
fail=0
bad() { echo "test_layers: $*"; fail=1; }

srcs=$(git ls-files 'server/*.c' 'server/*.h' 'common/*' 'geodata/*.[ch]' 'tiles/*.[ch]' \
       'tiles/*/*.[ch]' 2>/dev/null || find server common geodata tiles -name '*.[ch]')

for f in $(grep -l '#include <microhttpd.h>' $srcs); do
  case $f in server/http/*) ;; *) bad "$f includes <microhttpd.h> outside server/http/" ;; esac
done
for f in $(grep -lE '#include <(sqlite3|libpq-fe)\.h>|#include <spatialite' $srcs); do
  case $f in server/store/*|tiles/mbtiles.c|tiles/basemap*.c) ;;
    *) bad "$f includes an SQL library outside server/store/" ;; esac
done

# Headers of each layer, and the layers that may include them (lower ones may not).
headers_of() { ls "server/$1"/*.h 2>/dev/null | xargs -n1 basename; }
check_layer() { # layer, folders that must not include its headers...
  local layer=$1; shift
  for h in $(headers_of "$layer"); do
    for low in "$@"; do
      for f in $(grep -l "#include \"$h\"" $(ls "$low"/*.[ch] "$low"/*/*.[ch] 2>/dev/null) 2>/dev/null); do
        bad "$f (below $layer) includes $layer's $h"
      done
    done
  done
}
check_layer http server/core server/index server/store server/model common geodata tiles
check_layer core server/index server/store server/model common geodata tiles
check_layer index server/store server/model common geodata tiles
check_layer store server/index server/model common geodata tiles
check_layer model common geodata tiles

[ $fail -eq 0 ] && echo "test_layers: ok"
exit $fail
