#!/bin/sh
# Layering of DESIGN.md, as TAP: fs/ never includes LMDB or libsodium;
# store/ and crypto/ never include FUSE; crypto/ never includes LMDB;
# tools/ never includes LMDB, FUSE or libsodium (it links store/ only).
root=${1:-.}
n=0; fail=0
check() { # name, folder, pattern
    n=$((n + 1))
    hits=$(grep -rlE "#include *[<\"]($3)" "$root/$2" 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "not ok $n - $1"; echo "# offending: $hits"; fail=1
    else
        echo "ok $n - $1"
    fi
}
echo "1..4"
check "fs/ does not touch LMDB or libsodium" fs 'lmdb|sodium'
check "store/ does not know FUSE" store 'fuse'
check "crypto/ knows neither files' LMDB nor FUSE" crypto 'lmdb|fuse'
check "tools/ link store/ only" tools 'lmdb|fuse|sodium'
exit $fail
