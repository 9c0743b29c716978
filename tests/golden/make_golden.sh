#!/bin/bash
# tests/golden/make_golden.sh BUILD OUT: write a golden store of the
# current on-disk format into OUT (tests/golden/vN/), for
# tests/integration/test_golden.py, which checks that every later version
# still opens it, replays its journal and serves the same records.
#
# Run once per format version, as root (it mounts), from the source tree:
#   bash tests/golden/make_golden.sh build tests/golden/v1
# The store holds two tenants with owners, modes and a quota; folders,
# records, a hard link, a symbolic link, an empty record, a sparse record,
# extended attributes; and records written after the last checkpoint,
# whose only copy is the journal (the daemon is killed with kill -9), so
# the journal's format is pinned too.  The key derivation is the cheap
# test one (TENANTFS_TEST_FAST_KDF): the passphrase is in OUT/passphrase.
set -euo pipefail
BUILD=$(realpath "$1"); OUT=$2
[ ! -e "$OUT" ] || { echo "make_golden: $OUT exists" >&2; exit 1; }
export TENANTFS_TEST_FAST_KDF=1
work=$(mktemp -d /tmp/tfs-golden.XXXXXX)
trap 'fusermount3 -uz "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$OUT" "$work/mnt"
echo "golden store passphrase" > "$OUT/passphrase"
ctl() { "$BUILD/tools/tenantctl" "$@" --passfile "$OUT/passphrase"; }
ctl init "$work/store"
ctl tenant add "$work/store" acme --owner root:root --mode 0750
ctl tenant add "$work/store" beta --owner daemon:daemon --mode 0700
ctl tenant set-quota "$work/store" beta --bytes 10M --records 100
"$BUILD/fs/tenantfs" "$work/store" "$work/mnt" -f \
    -o passfile="$OUT/passphrase",commit=60000 2>"$work/log" &
pid=$!
for _ in $(seq 100); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
a=$work/mnt/acme
mkdir -p "$a/docs/deep/er" "$a/empty-folder"
printf 'hello, golden world\n' > "$a/docs/hello.txt"
python3 -c 'import random, sys; random.seed(1)
sys.stdout.buffer.write(random.randbytes(300000))' > "$a/docs/deep/er/random.bin"
: > "$a/docs/empty"
truncate -s 5000000 "$a/docs/sparse"
printf 'tail' >> "$a/docs/sparse"
ln "$a/docs/hello.txt" "$a/docs/hardlink"
ln -s hello.txt "$a/docs/symlink"
chmod 0640 "$a/docs/hello.txt"
setfattr -n user.colour -v blue "$a/docs/hello.txt"
touch -d '2020-02-02 02:02:02.123456789 UTC' "$a/docs/hello.txt"
printf 'beta record\n' > "$work/mnt/beta/b.txt"
# Checkpointed so far; what follows stays in the journal only.
fusermount3 -u "$work/mnt"; wait $pid || true
"$BUILD/fs/tenantfs" "$work/store" "$work/mnt" -f \
    -o passfile="$OUT/passphrase",commit=60000 2>>"$work/log" &
pid=$!
for _ in $(seq 100); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
printf 'only in the journal\n' > "$a/journal-only.txt"
mv "$a/docs/empty" "$a/empty-folder/moved-empty"
rm "$a/docs/hardlink"
python3 -c "import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); os.fsync(fd)" "$a/journal-only.txt"
kill -9 $pid; wait $pid || true
fusermount3 -uz "$work/mnt"
depth=$("$BUILD/tools/tenantctl" stats "$work/store" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["depth_entries"])')
[ "$depth" -ge 3 ] || { echo "make_golden: a checkpoint came first; run again" >&2
                        rm -rf "$OUT"; exit 1; }
mkdir "$OUT/store"
tar -C "$work/store" -cf - --exclude=lock.mdb --exclude=daemon.lock \
    --exclude=admin.sock --exclude=stats . | tar -C "$OUT/store" -xf -
echo "make_golden: wrote $OUT"
