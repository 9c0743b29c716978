"""Damaged stores (docs/damage.md): `tenantctl check` authenticates every
value and names the tenant and the record of each problem, exiting 1; the
mount fails closed (EIO) on exactly what is damaged while everything else,
in that tenant and in others, stays readable and intact.

The damage is done with tests/faults/tfs_poke (one value of a tenant's LMDB
flipped or deleted, the store unmounted), by truncating a tenant's database
file, and by damaging or replacing the journal's segment files.
"""

import errno
import glob
import hashlib
import os
import shutil
import subprocess

import pytest

import util

POKE = os.path.join(util.BUILD, "tests", "tfs_poke")
INO_BITS = 40


def _local_ino(path):
    return os.stat(path).st_ino & ((1 << INO_BITS) - 1)


def _check(store):
    r = util.ctl("check", store.path, "--passfile", store.passfile, check=False)
    problems = [l for l in r.stdout.splitlines() if not l.startswith(("checked ", "("))]
    return r, problems


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def filled(store):
    """acme: /docs/f1..f3 (200,000 random bytes each, f2 with an xattr),
    /solo/only; beta: /b1.  Unmounted cleanly: everything in LMDB.
    Returns (store, {tenant-relative path: (local inode, sha256)})."""
    store.add_tenant("beta")
    m = store.mount()
    m.start()
    a = m.path("acme")
    os.mkdir(os.path.join(a, "docs"))
    os.mkdir(os.path.join(a, "solo"))
    for i in (1, 2, 3):
        with open(os.path.join(a, "docs", "f%d" % i), "wb") as f:
            f.write(os.urandom(200000))
    os.setxattr(os.path.join(a, "docs", "f2"), "user.k", b"value")
    with open(os.path.join(a, "solo", "only"), "wb") as f:
        f.write(b"alone")
    with open(m.path("beta", "b1"), "wb") as f:
        f.write(b"beta's record")
    files = {}
    for rel in ("acme/docs/f1", "acme/docs/f2", "acme/docs/f3",
                "acme/solo/only", "beta/b1"):
        files[rel] = (_local_ino(m.path(rel)), _sha(m.path(rel)))
    for d in ("acme/solo", "acme/docs"):
        files[d] = (_local_ino(m.path(d)), None)
    m.stop()
    return store, files


def _tenant_dir(store, tid):
    return os.path.join(store.path, "tenants", "%016x" % tid)


def _poke(store, tid, table, prefix, how="flip"):
    r = subprocess.run([POKE, _tenant_dir(store, tid), table, prefix, how],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _intact_except(m, files, damaged):
    """Every record but those in `damaged` reads back intact."""
    for rel, (_, digest) in files.items():
        if digest is not None and rel not in damaged:
            assert _sha(m.path(rel)) == digest, rel


def test_a_clean_store_checks_clean_mounted_or_not(filled):
    store, _ = filled
    r, problems = _check(store)
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
    assert "2 tenants, 7 records" in r.stdout and "no damage" in r.stdout, r.stdout
    m = store.mount()
    m.start()
    try:
        with open(m.path("acme", "new"), "wb") as f:
            f.write(b"in the journal only")
            os.fsync(f.fileno())
        r, problems = _check(store)
        assert r.returncode == 0 and not problems, r.stdout + r.stderr
    finally:
        m.stop()


def test_a_flipped_content_block_fails_that_record_only(filled):
    store, files = filled
    ino = files["acme/docs/f2"][0]
    _poke(store, 1, "blocks", "%016x%016x" % (ino, 1))
    r, problems = _check(store)
    assert r.returncode == 1
    assert problems == ["tenant acme: /docs/f2 (inode %d): content bytes 65536 "
                        "to 131071 failed authentication" % ino], r.stdout
    m = store.mount()
    m.start()
    try:
        with open(m.path("acme/docs/f2"), "rb") as f:
            assert len(f.read(65536)) == 65536     # the block before it
            with pytest.raises(OSError) as e:
                f.read()
            assert e.value.errno == errno.EIO
        _intact_except(m, files, {"acme/docs/f2"})
        assert os.getxattr(m.path("acme/docs/f2"), "user.k") == b"value"
    finally:
        m.stop()


def test_a_flipped_record_and_xattr_fail_closed(filled):
    store, files = filled
    f1, f2 = files["acme/docs/f1"][0], files["acme/docs/f2"][0]
    _poke(store, 1, "inodes", "%016x" % f1)
    _poke(store, 1, "xattrs", "%016x" % f2)
    r, problems = _check(store)
    assert r.returncode == 1
    assert sorted(problems) == sorted([
        "tenant acme: /docs/f1 (inode %d): its record (type, size, owner, "
        "times) failed authentication" % f1,
        "tenant acme: /docs/f2 (inode %d): an extended attribute failed "
        "authentication" % f2]), r.stdout
    m = store.mount()
    m.start()
    try:
        for call in (os.stat, lambda p: open(p, "rb")):
            with pytest.raises(OSError) as e:
                call(m.path("acme/docs/f1"))
            assert e.value.errno == errno.EIO
        with pytest.raises(OSError) as e:
            os.getxattr(m.path("acme/docs/f2"), "user.k")
        assert e.value.errno == errno.EIO
        assert sorted(os.listdir(m.path("acme/docs"))) == ["f1", "f2", "f3"]
        _intact_except(m, files, {"acme/docs/f1"})
    finally:
        m.stop()


def test_a_flipped_folder_entry_and_a_lost_record(filled):
    store, files = filled
    solo = files["acme/solo"][0]
    f3 = files["acme/docs/f3"][0]
    _poke(store, 1, "dirents", "%016x" % solo)
    _poke(store, 1, "inodes", "%016x" % f3, how="delete")
    r, problems = _check(store)
    assert r.returncode == 1
    docs = files["acme/docs"][0]
    assert sorted(problems) == sorted([
        "tenant acme: /solo (inode %d): an entry of this folder failed "
        "authentication (its name is unknown)" % solo,
        "tenant acme: /docs (inode %d): the entry \"f3\" names a record that "
        "does not exist" % docs,
        "tenant acme: /docs/f3 (inode %d): content of a record that does not "
        "exist" % f3]), r.stdout
    m = store.mount()
    m.start()
    try:
        with pytest.raises(OSError) as e:
            os.listdir(m.path("acme/solo"))
        assert e.value.errno == errno.EIO
        _intact_except(m, files, {"acme/solo/only", "acme/docs/f3"})
    finally:
        m.stop()


def test_a_truncated_tenant_database_fails_that_tenant_only(filled):
    store, files = filled
    data = os.path.join(_tenant_dir(store, 2), "data.mdb")
    os.truncate(data, 3 * 4096)
    r, problems = _check(store)
    assert r.returncode == 1
    assert problems == ["tenant beta: its database cannot be read: "
                        "I/O error or damaged value"], r.stdout
    m = store.mount()
    m.start()
    try:
        with pytest.raises(OSError) as e:
            os.listdir(m.path("beta"))
        assert e.value.errno == errno.EIO
        _intact_except(m, files, {"beta/b1"})
        assert "its database file is truncated" in m.read_log()
    finally:
        m.stop()


def test_a_damaged_journal_is_reported_and_kept_aside(filled):
    store, files = filled
    segs = util.crash_with_journal(store, "j")
    with open(segs[0], "r+b") as f:     # the first entry's ciphertext
        f.seek(16 + 20 + 40)
        b = f.read(1)
        f.seek(16 + 20 + 40)
        f.write(bytes([b[0] ^ 0x20]))
    r, problems = _check(store)
    assert r.returncode == 1
    assert len(problems) == 1 and problems[0].startswith("store: journal: "
                                                         "entry "), r.stdout
    assert "the next mount would discard" in problems[0]
    # The mount cannot apply what follows the damage, but keeps it aside
    # (nothing acknowledged is destroyed) and serves the rest.
    m = store.mount()
    m.start()
    try:
        _intact_except(m, files, set())
        assert not [n for n in os.listdir(m.path("acme")) if n.startswith("j")]
    finally:
        m.stop()
    assert "are kept in" in m.read_log(), m.read_log()
    kept = glob.glob(os.path.join(store.path, "journal.discarded", "*", "*.jnl"))
    assert [os.path.basename(k) for k in kept] == [os.path.basename(s)
                                                   for s in segs]
    r, problems = _check(store)
    assert r.returncode == 1 and len(problems) == 1, r.stdout
    assert "could not apply the changes kept in" in problems[0]
    shutil.rmtree(os.path.join(store.path, "journal.discarded"))
    r, problems = _check(store)
    assert r.returncode == 0 and not problems, r.stdout


def test_another_stores_journal_is_reported(filled, workdir):
    store, _ = filled
    os.mkdir(os.path.join(workdir, "o"))
    other = type(store)(os.path.join(workdir, "o"),
                        path=os.path.join(workdir, "o", "store"))
    other.init()
    other.add_tenant("acme")
    theirs = util.crash_with_journal(other, "x")
    ours = os.path.join(store.path, "journal")
    for seg in glob.glob(os.path.join(ours, "*.jnl")):
        os.unlink(seg)
    for seg in theirs:
        shutil.copy(seg, ours)
    r, problems = _check(store)
    assert r.returncode == 1
    assert len(problems) == 1 and "journal" in problems[0], r.stdout


def test_a_damaged_registry_record_hides_that_tenant_only(filled):
    store, files = filled
    r = subprocess.run([POKE, os.path.join(store.path, "registry"), "tenants",
                        "%016x" % 2, "flip"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r, problems = _check(store)
    assert r.returncode == 1
    assert problems == ["tenant #2: its registry record (name, owner, quotas) "
                        "failed authentication; its records were not checked"], r.stdout
    m = store.mount()
    m.start()
    try:
        assert os.listdir(m.mnt) == ["acme"]
        _intact_except(m, files, {"beta/b1"})
    finally:
        m.stop()
