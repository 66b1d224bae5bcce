#!/usr/bin/env bash
# format.sh: apply .clang-format to every C file of the project, or with
# --check list the files that are not formatted and exit 1 (the CI step).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in $files; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "not formatted: $f (scripts/format.sh fixes it)"
      bad=1
    fi
  done
  exit $bad
fi
echo "$files" | xargs clang-format -i
