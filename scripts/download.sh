#!/usr/bin/env bash
# Shared by the download-*.sh scripts: fetch files from a base address into a folder and verify
# them against an md5sum-format checksum list. Sourced, not run.
#
#   fetch_verified BASE_URL DEST_DIR CHECKSUM_FILE NAME...
#
# A file already present with the right checksum is not fetched again. A download is written to a
# temporary name and moved into place only after its checksum matched, so a failed or interrupted
# download never leaves a file that looks complete.
set -euo pipefail

expected_md5() {
    local checksums=$1 name=$2
    awk -v name="$name" '$2 == name { print $1 }' "$checksums"
}

fetch_verified() {
    local base=$1 dest=$2 checksums=$3
    shift 3
    mkdir -p "$dest"
    local name expected actual
    for name in "$@"; do
        expected=$(expected_md5 "$checksums" "$name")
        if [ -z "$expected" ]; then
            echo "error: $checksums has no checksum for $name" >&2
            return 1
        fi
        if [ -f "$dest/$name" ] && [ "$(md5sum < "$dest/$name" | cut -d' ' -f1)" = "$expected" ]; then
            echo "$dest/$name: present, checksum ok"
            continue
        fi
        echo "fetching $base/$name"
        if ! curl -fsSL --retry 3 -o "$dest/.$name.part" "$base/$name"; then
            rm -f "$dest/.$name.part"
            echo "error: could not download $base/$name" >&2
            return 1
        fi
        actual=$(md5sum < "$dest/.$name.part" | cut -d' ' -f1)
        if [ "$actual" != "$expected" ]; then
            rm -f "$dest/.$name.part"
            echo "error: $name has md5 $actual, expected $expected (from $checksums); nothing was kept" >&2
            return 1
        fi
        mv "$dest/.$name.part" "$dest/$name"
        echo "$dest/$name: checksum ok"
    done
}
