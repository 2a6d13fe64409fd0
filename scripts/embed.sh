#!/usr/bin/env bash
# scripts/embed.sh - print a C source file that holds a file's bytes (the Makefile's way of
# compiling docs/openapi.json into write-svc; write-svc/h_openapi.c serves it).
#
#   scripts/embed.sh NAME FILE > out.c
#
# Defines `const unsigned char NAME[]` (the bytes, not NUL-terminated) and
# `const size_t NAME_len`. Only od and sed: no xxd needed.
set -euo pipefail

[ "$#" = 2 ] || { echo "usage: ${0##*/} NAME FILE" >&2; exit 2; }
name=$1
file=$2
[ -r "$file" ] || { echo "${0##*/}: cannot read $file" >&2; exit 1; }
[ -s "$file" ] || { echo "${0##*/}: $file is empty" >&2; exit 1; }

printf '/* GENERATED from %s by scripts/embed.sh: do not edit. */\n' "$file"
printf '#include <stddef.h>\n\n#include "banned.h"\n\n'
printf 'extern const unsigned char %s[];\nextern const size_t %s_len;\n\n' "$name" "$name"
printf 'const unsigned char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/    /'
printf '};\nconst size_t %s_len = sizeof(%s);\n' "$name" "$name"
