"""Limits (docs/semantics.md): names of 255 bytes work and 256 give
ENAMETOOLONG, a tree 1,000 folders deep can be made, walked and removed, a
10 GiB sparse file behaves (size, holes read as zeros, the far end), a
folder of many entries lists completely, each name once, and a tenant
grows past the LMDB map it was opened with.

TENANTFS_BIG_DIR=N sets the size of the big folder (CI: 20,000; the run by
hand in docs/testing.md: 1,000,000).
"""

import errno
import hashlib
import os
import subprocess

import pytest

BIG_DIR = int(os.environ.get("TENANTFS_BIG_DIR", "20000"))
DEPTH = 1000


def test_name_lengths(acme):
    for n in (1, 200, 255):
        with open(os.path.join(acme, "n" * n), "wb") as f:
            f.write(b"%d" % n)
        os.mkdir(os.path.join(acme, "d" * n))
        os.symlink("n" * n, os.path.join(acme, "s" * n))
        assert os.readlink(os.path.join(acme, "s" * n)) == "n" * n
    names = os.listdir(acme)
    assert all(c * 255 in names for c in "nds"), names
    with open(os.path.join(acme, "n" * 255), "rb") as f:
        assert f.read() == b"255"
    for fn in (lambda p: open(p, "wb"), os.mkdir, lambda p: os.symlink("x", p)):
        with pytest.raises(OSError) as e:
            fn(os.path.join(acme, "x" * 256))
        assert e.value.errno == errno.ENAMETOOLONG
    # Multi-byte names are counted in bytes: 85 three-byte characters fit.
    utf = "\u20ac" * 85
    with open(os.path.join(acme, utf), "wb") as f:
        f.write(b"euro")
    assert utf in os.listdir(acme)


def test_tree_1000_folders_deep(acme):
    """Made, walked and removed with *at calls (the path is far longer than
    PATH_MAX), as `rm -r` and `find` do."""
    fds = [os.open(acme, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for i in range(DEPTH):
            os.mkdir("d%d" % i, dir_fd=fds[-1])
            fds.append(os.open("d%d" % i, os.O_RDONLY | os.O_DIRECTORY,
                               dir_fd=fds[-1]))
        fd = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1])
        os.write(fd, b"deep")
        os.close(fd)
        # Walk down again from the top, by name.
        cur = os.open(acme, os.O_RDONLY | os.O_DIRECTORY)
        for i in range(DEPTH):
            assert os.listdir(cur) == ["d%d" % i]
            nxt = os.open("d%d" % i, os.O_RDONLY | os.O_DIRECTORY, dir_fd=cur)
            os.close(cur)
            cur = nxt
        fd = os.open("leaf", os.O_RDONLY, dir_fd=cur)
        assert os.read(fd, 10) == b"deep"
        os.close(fd)
        os.close(cur)
        # Removed bottom up.
        os.unlink("leaf", dir_fd=fds[-1])
        for i in range(DEPTH - 1, -1, -1):
            os.close(fds.pop())
            os.rmdir("d%d" % i, dir_fd=fds[-1])
        assert os.listdir(acme) == []
    finally:
        for fd in fds:
            os.close(fd)


def test_10_gib_sparse_file(acme):
    p = os.path.join(acme, "sparse")
    size = 10 << 30
    with open(p, "wb") as f:
        f.write(b"head")
        f.seek(size - 4)
        f.write(b"tail")
    st = os.stat(p)
    assert st.st_size == size
    assert st.st_blocks * 512 < (1 << 20), st.st_blocks   # holes hold nothing
    with open(p, "rb") as f:
        assert f.read(4) == b"head"
        f.seek(5 << 30)
        assert f.read(1 << 16) == bytes(1 << 16)
        f.seek(size - 8)
        assert f.read() == bytes(4) + b"tail"
    os.truncate(p, 1 << 30)
    assert os.stat(p).st_size == 1 << 30
    os.unlink(p)


def test_big_folder_lists_completely(acme):
    d = os.path.join(acme, "big")
    os.mkdir(d)
    for i in range(BIG_DIR):
        os.close(os.open(os.path.join(d, "e%07d" % i), os.O_CREAT | os.O_WRONLY,
                         0o644))
    names = os.listdir(d)
    assert len(names) == BIG_DIR and len(set(names)) == BIG_DIR
    assert set(names) == {"e%07d" % i for i in range(BIG_DIR)}
    # Random lookups and a removal in the middle of a listing's range.
    for i in range(0, BIG_DIR, max(1, BIG_DIR // 100)):
        assert os.path.exists(os.path.join(d, "e%07d" % i))
    os.unlink(os.path.join(d, "e%07d" % (BIG_DIR // 2)))
    assert len(os.listdir(d)) == BIG_DIR - 1


def test_a_tenant_outgrows_its_first_map(mounted, acme):
    """A tenant's LMDB map starts at 256 MiB over its data and grows by itself
    (store/store_map.c): 300 MiB written while another process keeps reading
    an earlier record, all of it intact, before and after a remount."""
    chunk = os.urandom(1 << 20)
    want = {}
    for i in range(6):
        h = hashlib.sha256()
        with open(os.path.join(acme, "big%d" % i), "wb") as f:
            for mib in range(50):
                block = b"%d.%d." % (i, mib) + chunk[16:]
                f.write(block)
                h.update(block)
        want["big%d" % i] = h.hexdigest()
        if i == 0:
            reader = subprocess.Popen(
                ["sh", "-c", 'while :; do sha256sum "$1"; done', "sh",
                 os.path.join(acme, "big0")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader.terminate()
    out, err = reader.communicate()
    sums = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert sums == {want["big0"]}, (sums, err)
    assert "database map grown" in mounted.read_log(), mounted.read_log()

    def check():
        for name, digest in want.items():
            with open(os.path.join(acme, name), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest, name
    check()
    mounted.remount()
    check()
