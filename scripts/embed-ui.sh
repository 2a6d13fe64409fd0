#!/usr/bin/env bash
# scripts/embed-ui.sh - print a C source file that holds every file of the built dashboard
# (the Makefile compiles it into write-svc; write-svc/h_ui.c serves the files).
#
#   scripts/embed-ui.sh DIR > out.c
#
# Defines ui_asset_names[] (file names, no directories: the dashboard's build is flat),
# ui_asset_data[], ui_asset_lens[] and ui_assets_n, in name order. DIR must hold index.html.
set -euo pipefail

[ "$#" = 1 ] || { echo "usage: ${0##*/} DIR" >&2; exit 2; }
dir=$1
[ -r "$dir/index.html" ] || { echo "${0##*/}: no $dir/index.html (build the dashboard)" >&2; exit 1; }

mapfile -t files < <(cd "$dir" && LC_ALL=C find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort)
printf '/* GENERATED from %s by scripts/embed-ui.sh: do not edit. */\n' "$dir"
printf '#include <stddef.h>\n\n#include "banned.h"\n\n'
printf 'extern const char *const ui_asset_names[];\nextern const unsigned char *const ui_asset_data[];\n'
printf 'extern const size_t ui_asset_lens[];\nextern const size_t ui_assets_n;\n\n'
i=0
for f in "${files[@]}"; do
    case $f in *[!A-Za-z0-9._-]*) echo "${0##*/}: unexpected file name '$f'" >&2; exit 1 ;; esac
    [ -s "$dir/$f" ] || { echo "${0##*/}: $dir/$f is empty" >&2; exit 1; }
    printf 'static const unsigned char ui_asset_%d[] = {\n' "$i"
    od -An -v -tx1 "$dir/$f" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/    /'
    printf '};\n'
    i=$((i + 1))
done
printf 'const char *const ui_asset_names[] = {\n'
for f in "${files[@]}"; do printf '    "%s",\n' "$f"; done
printf '};\nconst unsigned char *const ui_asset_data[] = {\n'
for ((j = 0; j < i; j++)); do printf '    ui_asset_%d,\n' "$j"; done
printf '};\nconst size_t ui_asset_lens[] = {\n'
for ((j = 0; j < i; j++)); do printf '    sizeof(ui_asset_%d),\n' "$j"; done
printf '};\nconst size_t ui_assets_n = %d;\n' "$i"
