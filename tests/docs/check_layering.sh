#!/usr/bin/env bash
# Fails on an upward include under host/: reads the layering table of
# docs/architecture.md (the rows after its `<!-- layers` marker: row number,
# then the folders of that row in backquotes) and checks every
# `#include "folder/..."` of every file under host/ against it. A file may
# include its own folder and the folders of lower rows only.
# Usage: check_layering.sh SOURCE_DIR
set -euo pipefail
source_dir=$(cd "$1" && pwd)
table=$(awk '
  /<!-- layers/ { inside = 1; next }
  inside && /^\|[ ]*[0-9]+[ ]*\|/ {
    split($0, cells, "|")
    row = cells[2]; gsub(/ /, "", row)
    folders = cells[3]
    while (match(folders, /`[^`]+`/)) {
      print substr(folders, RSTART + 1, RLENGTH - 2), row
      folders = substr(folders, RSTART + RLENGTH)
    }
    next
  }
  inside && /^$/ && seen { exit }
  inside && /^\|/ { seen = 1 }
' "$source_dir/docs/architecture.md")
[[ -n "$table" ]] || { echo "no layering table in docs/architecture.md" >&2; exit 1; }
declare -A row_of
while read -r folder row; do row_of[$folder]=$row; done <<<"$table"

status=0
cd "$source_dir/host"
while IFS= read -r file; do
  own=${file%%/*}
  [[ -n "${row_of[$own]:-}" ]] || { echo "$file: host/$own is not in the layering table" >&2; status=1; continue; }
  while IFS=: read -r line included; do
    target=${included%%/*}
    [[ "$included" == */* ]] || continue            # "foo.h": the file's own folder
    [[ -d "$source_dir/host/$target" ]] || continue  # not a host header (sdk, generated)
    [[ "$target" == "$own" ]] && continue
    if [[ -z "${row_of[$target]:-}" ]]; then
      echo "host/$file:$line: includes $included; host/$target is not in the layering table" >&2
      status=1
    elif ((row_of[$target] >= row_of[$own])); then
      echo "host/$file:$line: includes $included: $target (row ${row_of[$target]}) is not below $own (row ${row_of[$own]})" >&2
      status=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find . -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.in' \) | sed 's|^\./||' | sort)
if [[ "$status" -eq 0 ]]; then echo "no upward include under host/ (${#row_of[@]} folders in the table)"; fi
exit "$status"
