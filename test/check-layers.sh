#!/usr/bin/env bash
# check-layers: the layer rule, enforced on the object files.
#
# src/layers.txt assigns every C file of src/ (and src/core/) to a layer:
#   <layer number> <file without .c>     e.g.  "2 cache"  or  "0 core/ledger"
# A file may reference symbols defined by files of LOWER layers only (and its
# own); core/ files (layer 0) may use each other but no glue file at all. The check
# reads `nm` of every .o: for each undefined symbol of a file it finds the
# file that defines it and fails when that file's layer is not lower, naming
# both files and the symbol. It also fails when a C file is missing from the
# table or the table names a file that does not exist.
#
# Usage: test/check-layers.sh [SRC_DIR]   (objects must be built)
# Prints "layers: N passed, M failed" as its last line.
set -u
SRC=${1:-src}
TABLE=$SRC/layers.txt
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
pass() { passed=$((passed + 1)); }

declare -A layer
if [ ! -f "$TABLE" ]; then
  fail "layer table $TABLE exists"
  echo "layers: $passed passed, $failed failed"
  exit 1
fi
while read -r num file _; do
  [ -z "${num:-}" ] && continue
  case $num in \#*) continue ;; esac
  layer[$file]=$num
done <"$TABLE"

# every C file is in the table, every table entry is a C file
for c in "$SRC"/*.c "$SRC"/core/*.c; do
  f=${c#"$SRC"/}; f=${f%.c}
  if [ -z "${layer[$f]:-}" ]; then fail "$f.c is not in $TABLE"; else pass; fi
  if [ ! -f "$SRC/$f.o" ]; then fail "$f.o is built"; fi
done
for f in "${!layer[@]}"; do
  [ -f "$SRC/$f.c" ] || fail "$TABLE names $f, which has no $f.c"
done

# symbol -> defining file
declare -A owner
for f in "${!layer[@]}"; do
  o=$SRC/$f.o
  [ -f "$o" ] || continue
  while read -r sym; do
    owner[$sym]=$f
  done < <(nm -g --defined-only "$o" | awk 'NF >= 3 {print $3}')
done

for f in $(printf '%s\n' "${!layer[@]}" | sort); do
  o=$SRC/$f.o
  [ -f "$o" ] || continue
  bad=0
  while read -r sym; do
    g=${owner[$sym]:-}
    [ -z "$g" ] && continue          # PostgreSQL, libsodium, OpenSSL, libc
    [ "$g" = "$f" ] && continue
    # core modules (layer 0) may use each other: they are one pure-C layer
    [ "${layer[$g]}" -eq 0 ] && [ "${layer[$f]}" -eq 0 ] && continue
    if [ "${layer[$g]}" -ge "${layer[$f]}" ]; then
      fail "$f (layer ${layer[$f]}) uses $sym of $g (layer ${layer[$g]}): only lower layers may be called"
      bad=1
    fi
  done < <(nm -u "$o" | awk '{print $NF}')
  [ $bad -eq 0 ] && pass
done

echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
