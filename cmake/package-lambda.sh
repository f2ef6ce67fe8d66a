#!/usr/bin/env bash
# package-lambda.sh BOOTSTRAP ZIP LOADER: bootstrap plus every shared library it loads (ldd's
# view) and the dynamic loader LOADER (the host's, e.g. /lib64/ld-linux-x86-64.so.2) into ZIP,
# laid out for /var/task.
set -euo pipefail
bootstrap=$1 zip_out=$2 loader=$3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
strip -o "$stage/bootstrap" "$bootstrap"
chmod 755 "$stage/bootstrap"
# ldd through the host's loader: bootstrap's own interpreter path exists only inside Lambda.
ldd "$bootstrap" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
  cp -L "$lib" "$stage/lib/"
done
cp -L "$loader" "$stage/lib/$(basename "$loader")"
chmod 755 "$stage/lib/$(basename "$loader")"
rm -f "$zip_out"
(cd "$stage" && zip -q -r -X "$zip_out" bootstrap lib)
echo "$zip_out: $(unzip -l "$zip_out" | tail -1 | awk '{print $2}') files, $(du -h "$zip_out" | cut -f1)"
