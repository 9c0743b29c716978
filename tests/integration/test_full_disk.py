"""A full disk (docs/journal.md, "When the disk fails"): a store on a small
tmpfs that fills up gives ENOSPC to the writer, keeps every earlier record
intact and the mount writable for what needs no room, and accepts writes
again once space is freed on that filesystem, without a remount; a clean
unmount then leaves an empty journal and every record.
"""

import errno
import hashlib
import json
import os
import subprocess

import pytest

import util

RECORD = 64 << 10


def content(i):
    return hashlib.sha256(b"%d" % i).digest() * (RECORD // 32)


@pytest.fixture
def small_fs(workdir):
    """A 128 MiB tmpfs holding the store, and 48 MiB of other data on it
    that the test deletes to free space.  A checkpoint needs room for the
    batch it commits (up to 32 MiB) while the journal still holds it, so
    that is what freeing space must give back."""
    path = os.path.join(workdir, "small")
    os.mkdir(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", path],
                   check=True)
    try:
        with open(os.path.join(path, "other-data"), "wb") as f:
            f.write(b"\0" * (48 << 20))
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)


def test_full_disk_gives_enospc_and_recovers_when_space_is_freed(workdir, small_fs):
    from conftest import Store
    store = Store(workdir, path=os.path.join(small_fs, "store"))
    store.init()
    store.add_tenant("acme")
    m = store.mount()
    m.start()
    a = m.path("acme")
    n = 0
    try:
        while True:
            assert n < 3000, "128 MiB never filled up"
            try:
                with open(os.path.join(a, "r%05d" % n), "wb") as f:
                    f.write(content(n))
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
            n += 1
        assert n > 0
        # Every record closed before the disk filled is intact, and the
        # store is not read-only: what needs no room still works.
        for i in range(n):
            with open(os.path.join(a, "r%05d" % i), "rb") as f:
                assert f.read() == content(i), i
        os.rename(os.path.join(a, "r00000"), os.path.join(a, "renamed"))
        st = json.loads(util.ctl("stats", store.path, "--json").stdout)
        assert st["read_only"] is False, st
        # Space freed on that filesystem: writing works again by itself.
        os.unlink(os.path.join(small_fs, "other-data"))

        def writes():
            try:
                with open(os.path.join(a, "after"), "wb") as f:
                    f.write(b"room again")
                return True
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                return False
        assert util.wait_for(writes), "still ENOSPC after space was freed: " + m.read_log() + subprocess.run(["df", small_fs], capture_output=True, text=True).stdout + util.ctl("stats", store.path).stdout
    finally:
        m.stop()
    st = json.loads(util.ctl("stats", store.path, "--json").stdout)
    assert st["depth_entries"] == 0, st
    m.start()
    try:
        names = set(os.listdir(a))
        assert names == {"r%05d" % i for i in range(1, n)} | {"renamed", "after"}
        with open(os.path.join(a, "renamed"), "rb") as f:
            assert f.read() == content(0)
    finally:
        m.stop()
