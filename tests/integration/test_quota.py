"""Per-tenant quotas (issue 4): `tenantctl tenant set-quota STORE NAME
[--bytes N[K|M|G|T]] [--records N]`.  Bytes are content as st_blocks counts it
(holes count nothing); records are the inodes of the tenant other than its
root folder.  Past a quota: EDQUOT, and what was there is intact; freeing
space makes room again; another tenant is never affected; statfs on a path in
the tenant reports its quota and use, as `tenant list --json` does."""

import errno
import hashlib
import os
import threading

import pytest

import util
from users import ALICE, OK, ok, ops, principals, tenant_list, try_op  # noqa: F401

MiB = 1 << 20


@pytest.fixture
def m(store, principals):
    store.add_tenant("q", owner=ALICE, mode="0755")
    store.add_tenant("other", owner="root", mode="0755")
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def set_quota(store, name, *args, passfile=None):
    extra = ["--passfile", passfile] if passfile else []
    util.ctl("tenant", "set-quota", store.path, name, *(list(args) + extra))


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as ei:
        fn(*args)
    assert ei.value.errno == code, "expected %s, got %s" % (
        errno.errorcode[code], errno.errorcode.get(ei.value.errno, ei.value.errno))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_reporting(path, data, chunk=128 * 1024, offset=None):
    """Writes data to path (create/truncate; or, with offset, into the
    existing file at offset) in chunks, fsyncs and closes; returns None, or
    (stage, errno name) of the first failure.  With the writeback cache an
    error may surface at write, fsync or close."""
    if offset is None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        offset = 0
    else:
        fd = os.open(path, os.O_WRONLY)
    failure = None
    try:
        for off in range(0, len(data), chunk):
            os.pwrite(fd, data[off:off + chunk], offset + off)
        os.fsync(fd)
    except OSError as e:
        failure = ("write/fsync", errno.errorcode.get(e.errno, e.errno))
    try:
        os.close(fd)
    except OSError as e:
        if failure is None:
            failure = ("close", errno.errorcode.get(e.errno, e.errno))
    return failure


def statfs_used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def assert_close(reported, exact, frsize):
    """statfs counts in f_frsize units: reported is exact, up to one unit."""
    assert abs(reported - exact) < max(frsize, 1), (reported, exact, frsize)


def tenant_usage(top):
    """(bytes as st_blocks counts them, records) of the tree under top."""
    blocks, records = 0, 0
    seen = set()
    for dirpath, dirs, files in os.walk(top):
        for n in dirs + files:
            st = os.lstat(os.path.join(dirpath, n))
            if st.st_ino in seen:
                continue
            seen.add(st.st_ino)
            records += 1
            blocks += st.st_blocks
    return blocks * 512, records


def test_record_quota(m, store):
    q = m.path("q")
    set_quota(store, "q", "--records", "5")
    assert util.wait_for(lambda: os.statvfs(q).f_files == 5, timeout=1.0), \
        "statvfs f_files is %d, not the record quota 5" % os.statvfs(q).f_files
    contents = {}
    for i in range(3):
        contents["r%d" % i] = os.urandom(1000 + i)
        write(os.path.join(q, "r%d" % i), contents["r%d" % i])
    os.mkdir(os.path.join(q, "d"))
    os.symlink("r0", os.path.join(q, "ln"))          # 5 records
    # The sixth, of any kind, as root or as the owner: EDQUOT.
    expect_errno(errno.EDQUOT, write, os.path.join(q, "r6"), b"x")
    expect_errno(errno.EDQUOT, os.mkdir, os.path.join(q, "d6"))
    expect_errno(errno.EDQUOT, os.mkdir, os.path.join(q, "d", "deeper"))
    expect_errno(errno.EDQUOT, os.symlink, "r0", os.path.join(q, "ln6"))
    expect_errno(errno.EDQUOT, os.mkfifo, os.path.join(q, "fifo6"))
    assert ops(ALICE, ("create", q + "/a6"), ("mkdir", q + "/ad6")) == ["EDQUOT", "EDQUOT"]
    # Nothing damaged: same names, same content, writes to existing records
    # still work, and so does a rename.
    assert sorted(os.listdir(q)) == ["d", "ln", "r0", "r1", "r2"]
    for name, data in contents.items():
        assert read(os.path.join(q, name)) == data
    with open(os.path.join(q, "r1"), "ab") as f:
        f.write(b"more")
    contents["r1"] += b"more"
    os.rename(os.path.join(q, "r2"), os.path.join(q, "d", "r2"))
    assert read(os.path.join(q, "d", "r2")) == contents["r2"]
    st = os.statvfs(q)
    assert (st.f_files, st.f_files - st.f_ffree) == (5, 5)
    # Delete one: room for one again, and only one.
    os.unlink(os.path.join(q, "ln"))
    assert os.statvfs(q).f_files - os.statvfs(q).f_ffree == 4
    write(os.path.join(q, "r6"), b"six")
    expect_errno(errno.EDQUOT, write, os.path.join(q, "r7"), b"seven")
    os.unlink(os.path.join(q, "d", "r2"))
    assert ok(ALICE, "mkdir", q + "/ad6") is None
    assert read(os.path.join(q, "r6")) == b"six"
    assert read(os.path.join(q, "r1")) == contents["r1"]
    # The other tenant: no quota, unaffected.
    for i in range(20):
        write(m.path("other", "o%d" % i), b"o")
    assert len(os.listdir(m.path("other"))) == 20
    # The quota survives a remount.
    m.remount()
    expect_errno(errno.EDQUOT, write, os.path.join(q, "again"), b"x")
    assert sorted(os.listdir(q)) == ["ad6", "d", "r0", "r1", "r6"]


def test_hard_link_is_not_a_record(m, store):
    """Records are inodes: a second name for one is not a new record."""
    q = m.path("q")
    set_quota(store, "q", "--records", "2")
    write(os.path.join(q, "a"), b"a")
    write(os.path.join(q, "b"), b"b")
    expect_errno(errno.EDQUOT, write, os.path.join(q, "c"), b"c")
    os.link(os.path.join(q, "a"), os.path.join(q, "a2"))
    assert os.stat(os.path.join(q, "a2")).st_nlink == 2
    st = os.statvfs(q)
    assert st.f_files - st.f_ffree == 2


def test_byte_quota(m, store):
    q = m.path("q")
    set_quota(store, "q", "--bytes", "1M")
    assert util.wait_for(lambda: os.statvfs(q).f_blocks * os.statvfs(q).f_frsize == MiB,
                         timeout=1.0), "statvfs does not report the 1 MiB quota"
    keep = os.urandom(256 * 1024)
    write(os.path.join(q, "keep"), keep)
    keep_sum = hashlib.sha256(keep).hexdigest()
    # A hole counts nothing: a 100 MiB sparse file fits in a 1 MiB quota.
    with open(os.path.join(q, "sparse"), "wb") as f:
        f.truncate(100 * MiB)
    assert os.stat(os.path.join(q, "sparse")).st_blocks == 0
    # 2 MiB of content does not fit: EDQUOT from write, fsync or close.
    failure = write_reporting(os.path.join(q, "big"), os.urandom(2 * MiB))
    assert failure is not None, "2 MiB written under a 1 MiB quota"
    assert failure[1] == "EDQUOT", failure
    # What was there is intact; the use stays within the quota.
    assert hashlib.sha256(read(os.path.join(q, "keep"))).hexdigest() == keep_sum
    assert os.path.getsize(os.path.join(q, "sparse")) == 100 * MiB
    assert statfs_used(q) <= MiB
    # An owner's write fails the same way.
    r = try_op(ALICE, "fill", q + "/alices", 2 * MiB)
    assert r == "EDQUOT", r
    assert statfs_used(q) <= MiB
    # Free the space: writes work again, up to the quota.
    os.unlink(os.path.join(q, "big"))
    if os.path.exists(os.path.join(q, "alices")):
        os.unlink(os.path.join(q, "alices"))
    used, _ = tenant_usage(q)
    assert used == 256 * 1024
    assert_close(statfs_used(q), used, os.statvfs(q).f_frsize)
    assert write_reporting(os.path.join(q, "fits"), os.urandom(512 * 1024)) is None
    assert ok(ALICE, "write", q + "/small", "s" * 1000) is None
    assert hashlib.sha256(read(os.path.join(q, "keep"))).hexdigest() == keep_sum
    # Filling a hole is content: it counts.
    failure = write_reporting(os.path.join(q, "sparse"), os.urandom(MiB), offset=50 * MiB)
    assert failure is not None and failure[1] == "EDQUOT", failure
    assert hashlib.sha256(read(os.path.join(q, "keep"))).hexdigest() == keep_sum
    # The other tenant writes far past q's quota.
    assert write_reporting(m.path("other", "big"), os.urandom(3 * MiB)) is None
    assert os.path.getsize(m.path("other", "big")) == 3 * MiB


def test_quotas_are_per_tenant(m, store):
    set_quota(store, "q", "--records", "1", "--bytes", "128K")
    set_quota(store, "other", "--records", "3")
    write(m.path("q", "one"), b"1")
    expect_errno(errno.EDQUOT, write, m.path("q", "two"), b"2")
    for i in range(3):
        write(m.path("other", "o%d" % i), os.urandom(200 * 1024))   # past q's bytes
    expect_errno(errno.EDQUOT, write, m.path("other", "o3"), b"3")
    # acme has none.
    for i in range(10):
        write(m.path("acme", "a%d" % i), b"a")
    assert read(m.path("q", "one")) == b"1"
    assert len(os.listdir(m.path("other"))) == 3
    e = tenant_list(store)
    assert (e["q"]["quota_records"], e["q"]["quota_bytes"]) == (1, 128 * 1024)
    assert (e["other"]["quota_records"], e["other"]["quota_bytes"]) == (3, 0)
    assert (e["acme"]["quota_records"], e["acme"]["quota_bytes"]) == (0, 0)
    assert e["acme"]["used_records"] == 10
    # Unlimited again: "none" and 0.
    set_quota(store, "q", "--records", "none")
    set_quota(store, "other", "--records", "0")
    write(m.path("q", "two"), b"2")
    write(m.path("other", "o3"), b"3")
    e = tenant_list(store)
    assert (e["q"]["quota_records"], e["q"]["quota_bytes"]) == (0, 128 * 1024)
    assert e["other"]["quota_records"] == 0


def test_statfs_and_list_report_quota_and_use(m, store):
    q = m.path("q")
    set_quota(store, "q", "--bytes", "4M", "--records", "10")
    os.mkdir(os.path.join(q, "sub"))
    write(os.path.join(q, "sub", "a"), os.urandom(300 * 1024))
    write(os.path.join(q, "b"), b"small")
    with open(os.path.join(q, "hole"), "wb") as f:
        f.truncate(10 * MiB)
    used, records = tenant_usage(q)
    assert records == 4
    assert used >= 300 * 1024
    for path in (q, os.path.join(q, "sub"), os.path.join(q, "sub", "a")):
        st = os.statvfs(path)
        assert st.f_blocks * st.f_frsize == 4 * MiB, path
        assert_close((st.f_blocks - st.f_bfree) * st.f_frsize, used, st.f_frsize)
        assert st.f_bavail <= st.f_bfree
        assert (st.f_files, st.f_files - st.f_ffree) == (10, 4), path
    # df says the same.
    r = util.run(["df", "-B1", "--output=size,used", q])
    size, df_used = map(int, r.stdout.split()[-2:])
    assert size == 4 * MiB, r.stdout
    assert_close(df_used, used, os.statvfs(q).f_frsize)
    # So does tenant list, through the daemon and, after unmount, offline.
    e = tenant_list(store)["q"]
    assert (e["quota_bytes"], e["quota_records"]) == (4 * MiB, 10)
    assert (e["used_bytes"], e["used_records"]) == (used, 4)
    # A tenant without a quota does not report q's.
    st = os.statvfs(m.path("other"))
    assert st.f_blocks * st.f_frsize != 4 * MiB
    assert st.f_files != 10
    # Use follows deletion.
    os.unlink(os.path.join(q, "sub", "a"))
    used2, _ = tenant_usage(q)
    assert used2 < used
    st = os.statvfs(q)
    assert_close((st.f_blocks - st.f_bfree) * st.f_frsize, used2, st.f_frsize)
    assert st.f_files - st.f_ffree == 3
    m.stop()
    e = tenant_list(store, passfile=store.passfile)["q"]
    assert (e["quota_bytes"], e["quota_records"], e["used_bytes"], e["used_records"]) == (
        4 * MiB, 10, used2, 3)
    m.start()


def test_quota_set_offline_applies_at_mount(store, principals):
    store.add_tenant("q", owner=ALICE, mode="0755")
    set_quota(store, "q", "--records", "2", "--bytes", "1G", passfile=store.passfile)
    e = tenant_list(store, passfile=store.passfile)["q"]
    assert (e["quota_records"], e["quota_bytes"], e["used_records"]) == (2, 1 << 30, 0)
    mnt = store.mount()
    mnt.start()
    try:
        q = mnt.path("q")
        assert ops(ALICE, ("create", q + "/a"), ("create", q + "/b"), ("create", q + "/c"),
                   ("mkdir", q + "/d")) == [OK, OK, "EDQUOT", "EDQUOT"]
        st = os.statvfs(q)
        assert (st.f_blocks * st.f_frsize, st.f_files) == (1 << 30, 2)
    finally:
        mnt.stop()


def test_concurrent_creates_respect_record_quota(m, store):
    q = m.path("q")
    set_quota(store, "q", "--records", "5")
    results = {}

    def create(i):
        try:
            with open(os.path.join(q, "c%02d" % i), "wb") as f:
                f.write(b"%d" % i)
            results[i] = "ok"
        except OSError as e:
            results[i] = errno.errorcode.get(e.errno, e.errno)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = sorted(i for i, r in results.items() if r == "ok")
    assert len(made) == 5, results
    assert set(results.values()) == {"ok", "EDQUOT"}, results
    assert sorted(os.listdir(q)) == ["c%02d" % i for i in made]
    for i in made:
        assert read(os.path.join(q, "c%02d" % i)) == b"%d" % i
    st = os.statvfs(q)
    assert st.f_files - st.f_ffree == 5


def test_concurrent_writes_respect_byte_quota(m, store):
    q = m.path("q")
    set_quota(store, "q", "--bytes", "1M")
    datas = {i: os.urandom(256 * 1024) for i in range(8)}
    results = {}

    def fill(i):
        results[i] = write_reporting(os.path.join(q, "w%d" % i), datas[i])

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    good = [i for i, r in results.items() if r is None]
    assert all(r is None or r[1] == "EDQUOT" for r in results.values()), results
    # At most 4 whole files fit (fairness between writers is not promised:
    # the quota may be shared out in pieces so that none completes).
    assert len(good) <= 4, results
    for i in good:                 # what was acknowledged is all there
        assert read(os.path.join(q, "w%d" % i)) == datas[i]
    assert statfs_used(q) <= MiB
    e = tenant_list(store)["q"]
    assert e["used_bytes"] <= MiB
    assert e["used_bytes"] >= len(good) * 256 * 1024


def test_open_unlinked_file_counts_until_closed(m, store):
    """A file deleted while open still holds its record and bytes; its last
    close frees them (docs/permissions.md)."""
    q = m.path("q")
    set_quota(store, "q", "--records", "2")
    write(os.path.join(q, "a"), b"a" * 100000)
    write(os.path.join(q, "b"), b"b")
    f = open(os.path.join(q, "a"), "rb")
    try:
        os.unlink(os.path.join(q, "a"))
        assert os.listdir(q) == ["b"]
        expect_errno(errno.EDQUOT, write, os.path.join(q, "c"), b"c")
        assert tenant_list(store)["q"]["used_records"] == 2
        assert f.read() == b"a" * 100000
    finally:
        f.close()

    def room():
        try:
            write(os.path.join(q, "c"), b"c")
            return True
        except OSError as e:
            assert e.errno == errno.EDQUOT
            return False
    # The release reaches the daemon asynchronously after close.
    assert util.wait_for(room, timeout=2), "the unlinked file still counts after close"
    assert sorted(os.listdir(q)) == ["b", "c"]
    assert tenant_list(store)["q"]["used_bytes"] == sum(
        os.stat(os.path.join(q, n)).st_blocks * 512 for n in ("b", "c"))


def test_full_quota_overwrite_and_truncate(m, store):
    q = m.path("q")
    set_quota(store, "q", "--bytes", "512K")
    a, b = os.urandom(256 * 1024), os.urandom(256 * 1024)
    assert write_reporting(os.path.join(q, "a"), a) is None
    assert write_reporting(os.path.join(q, "b"), b) is None       # exactly full
    assert statfs_used(q) == 512 * 1024 or abs(statfs_used(q) - 512 * 1024) < os.statvfs(q).f_frsize
    failure = write_reporting(os.path.join(q, "c"), b"x" * 4096)
    assert failure is not None and failure[1] == "EDQUOT", failure
    # Overwriting in place takes no more room.
    a2 = os.urandom(256 * 1024)
    assert write_reporting(os.path.join(q, "a"), a2[:100000], offset=50000) is None
    a = a[:50000] + a2[:100000] + a[150000:]
    assert read(os.path.join(q, "a")) == a
    # Truncating frees; what was freed can be used.
    os.truncate(os.path.join(q, "b"), 64 * 1024)
    assert write_reporting(os.path.join(q, "c"), os.urandom(128 * 1024)) is None
    assert read(os.path.join(q, "b")) == b[:64 * 1024]
    assert read(os.path.join(q, "a")) == a
    if os.path.exists(os.path.join(q, "c")) and os.path.getsize(os.path.join(q, "c")) == 0:
        os.unlink(os.path.join(q, "c"))


def test_quota_lowered_below_use_allows_cleanup(m, store):
    q = m.path("q")
    os.mkdir(os.path.join(q, "d"))
    for i in range(4):
        write(os.path.join(q, "d", "f%d" % i), os.urandom(100 * 1024))
    set_quota(store, "q", "--records", "2", "--bytes", "64K")
    assert util.wait_for(lambda: os.statvfs(q).f_files == 2, timeout=1.0)
    e = tenant_list(store)["q"]
    assert (e["used_records"], e["quota_records"]) == (5, 2)
    assert e["used_bytes"] > e["quota_bytes"] == 64 * 1024
    expect_errno(errno.EDQUOT, write, os.path.join(q, "new"), b"n")
    expect_errno(errno.EDQUOT, os.mkdir, os.path.join(q, "nd"))
    failure = write_reporting(os.path.join(q, "d", "f0"), b"more" * 50000, offset=100 * 1024)
    assert failure is not None and failure[1] == "EDQUOT", failure
    # Cleaning up always works.
    os.truncate(os.path.join(q, "d", "f0"), 0)
    for i in range(1, 4):
        os.unlink(os.path.join(q, "d", "f%d" % i))
    os.rename(os.path.join(q, "d", "f0"), os.path.join(q, "f0"))
    os.rmdir(os.path.join(q, "d"))
    e = tenant_list(store)["q"]
    assert (e["used_records"], e["used_bytes"]) == (1, 0)
    write(os.path.join(q, "new"), b"n")
    assert sorted(os.listdir(q)) == ["f0", "new"]


def test_use_is_exact_after_a_crash(m, store):
    """The use is kept with the records it counts: after kill -9 and the
    journal's replay, it matches the tree, and the quota still holds."""
    q = m.path("q")
    set_quota(store, "q", "--records", "6", "--bytes", "2M")
    os.mkdir(os.path.join(q, "d"))
    for i in range(4):
        with open(os.path.join(q, "d", "f%d" % i), "wb") as f:
            f.write(os.urandom(100 * 1024 + i))
            f.flush()
            os.fsync(f.fileno())
    os.unlink(os.path.join(q, "d", "f3"))
    fd = os.open(os.path.join(q, "d"), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    used, records = tenant_usage(q)
    assert records == 4
    m.kill()
    m.start()
    assert tenant_usage(q) == (used, records)
    e = tenant_list(store)["q"]
    assert (e["used_bytes"], e["used_records"]) == (used, records)
    assert (e["quota_bytes"], e["quota_records"]) == (2 * MiB, 6)
    write(os.path.join(q, "r5"), b"5")
    write(os.path.join(q, "r6"), b"6")
    expect_errno(errno.EDQUOT, write, os.path.join(q, "r7"), b"7")


def test_refused_writeback_leaves_no_refused_data_in_the_cache(m, store):
    """With the kernel's writeback cache, write() succeeds into the page
    cache and the daemon refuses the write-back: fsync reports EDQUOT, a
    close without fsync EIO (the kernel keeps only EIO or ENOSPC for
    close).  After the last close, readers get what was stored, not the
    refused data the kernel's cache held (docs/permissions.md, Quotas)."""
    q = m.path("q")
    set_quota(store, "q", "--bytes", "64K")
    assert util.wait_for(lambda: os.statvfs(q).f_blocks * os.statvfs(q).f_frsize == 64 * 1024,
                         timeout=1.0)
    # Filling a hole of a sparse file: its size stays what it was.
    p = os.path.join(q, "sparse")
    stored = b"s" * 8192
    write(p, stored)
    os.truncate(p, MiB)
    expected = stored + bytes(MiB - len(stored))
    fd = os.open(p, os.O_WRONLY)
    try:
        assert os.pwrite(fd, os.urandom(256 * 1024), 256 * 1024) == 256 * 1024
        expect_errno(errno.EDQUOT, os.fsync, fd)
    finally:
        os.close(fd)                    # fsync reported it: close does not
    assert util.wait_for(lambda: read(p) == expected, timeout=2.0), \
        "the refused data is still read back"
    assert os.stat(p).st_size == MiB
    # No fsync: close reports EIO.  Nothing of the refused data is read back
    # (the size is the kernel's own until it drops the inode: see the docs).
    g = os.path.join(q, "grown")
    fd = os.open(g, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    assert os.write(fd, b"r" * (256 * 1024)) == 256 * 1024
    expect_errno(errno.EIO, os.close, fd)
    assert util.wait_for(lambda: b"r" not in read(g), timeout=2.0), \
        "the refused data is still read back"
    m.remount()
    assert read(p) == expected
    assert os.stat(g).st_size == 0 and read(g) == b""
