"""POSIX semantics inside a tenant, as docs/semantics.md states them, each
checked through a real mount and again after unmount and remount where the
state should persist."""

import ctypes
import errno
import os
import random
import stat

import pytest


libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


def renameat2(old, new, flags):
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                               ctypes.c_char_p, ctypes.c_uint]
    r = libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new),
                       flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expect_errno(code, fn, *args, **kw):
    with pytest.raises(OSError) as ei:
        fn(*args, **kw)
    assert ei.value.errno == code, "expected %s, got %s" % (
        errno.errorcode[code], errno.errorcode.get(ei.value.errno, ei.value.errno))


def test_root_lists_tenants_and_refuses_creation(mounted, acme):
    assert os.listdir(mounted.mnt) == ["acme"]
    st = os.stat(mounted.mnt)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755
    assert st.st_uid == 0
    assert stat.S_ISDIR(os.stat(acme).st_mode)
    expect_errno(errno.EPERM, write, mounted.path("loose.txt"), b"x")
    expect_errno(errno.ENOENT, os.stat, mounted.path(".hidden"))


def test_create_read_write_at_offsets(mounted, acme):
    p = os.path.join(acme, "rec.bin")
    rng = random.Random(42)
    model = bytearray()
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        # Offsets around likely block boundaries and a few random ones.
        offsets = [0, 1, 4095, 4096, 65535, 65536, 131071, 200000, 1 << 20,
                   (1 << 20) - 3] + [rng.randrange(0, 3 << 20) for _ in range(20)]
        for off in offsets:
            data = rng.randbytes(rng.choice([1, 7, 4096, 5000, 70000]))
            assert os.pwrite(fd, data, off) == len(data)
            if len(model) < off + len(data):
                model.extend(b"\0" * (off + len(data) - len(model)))
            model[off:off + len(data)] = data
            # Read back a window around the write through the same fd.
            lo = max(0, off - 100)
            assert os.pread(fd, len(data) + 200, lo) == bytes(model[lo:off + len(data) + 100])
        assert os.fstat(fd).st_size == len(model)
    finally:
        os.close(fd)
    assert read(p) == bytes(model)
    expect_errno(errno.EEXIST, os.open, p, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    mounted.remount()
    assert read(p) == bytes(model)
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_size == len(model)


def test_append(mounted, acme):
    p = os.path.join(acme, "log.txt")
    write(p, b"first\n")
    a = os.open(p, os.O_WRONLY | os.O_APPEND)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(a, b"second\n")
        os.write(b, b"third\n")
        os.lseek(a, 0, os.SEEK_SET)          # O_APPEND ignores the offset
        os.write(a, b"fourth\n")
    finally:
        os.close(a)
        os.close(b)
    write(p, b"fifth\n", "ab")
    want = b"first\nsecond\nthird\nfourth\nfifth\n"
    assert read(p) == want
    mounted.remount()
    assert read(p) == want


def test_truncate_and_ftruncate(mounted, acme):
    p = os.path.join(acme, "t.bin")
    data = os.urandom(300000)
    write(p, data)
    os.truncate(p, 100000)
    assert os.stat(p).st_size == 100000
    assert read(p) == data[:100000]
    # Growing again must expose zeros, not the old bytes.
    os.truncate(p, 250000)
    assert read(p) == data[:100000] + b"\0" * 150000
    with open(p, "r+b") as f:
        os.ftruncate(f.fileno(), 5)
        assert os.fstat(f.fileno()).st_size == 5
        f.seek(0)
        assert f.read() == data[:5]
        os.ftruncate(f.fileno(), 70000)
        f.seek(0)
        assert f.read() == data[:5] + b"\0" * 69995
    os.truncate(p, 0)
    assert read(p) == b""
    write(p, b"abc")
    os.truncate(p, 70001)
    mounted.remount()
    assert read(p) == b"abc" + b"\0" * 69998
    # O_TRUNC on open.
    with open(p, "wb") as f:
        f.write(b"new")
    assert read(p) == b"new"


def test_sparse_holes_read_zero(mounted, acme):
    p = os.path.join(acme, "sparse")
    with open(p, "wb") as f:
        f.seek(10 << 20)
        f.write(b"tail")
        os.fsync(f.fileno())
    st = os.stat(p)
    assert st.st_size == (10 << 20) + 4
    assert st.st_blocks * 512 < (1 << 20), "a hole takes space: st_blocks=%d" % st.st_blocks
    with open(p, "rb") as f:
        assert f.read(1 << 20) == b"\0" * (1 << 20)
        f.seek((5 << 20) - 10)
        assert f.read(20) == b"\0" * 20
        f.seek((10 << 20) - 2)
        assert f.read() == b"\0\0tail"
    mounted.remount()
    with open(p, "rb") as f:
        f.seek((10 << 20) - 2)
        assert f.read() == b"\0\0tail"


def test_rename_replace_noreplace_exchange(mounted, acme):
    a, b, c = (os.path.join(acme, n) for n in ("a", "b", "c"))
    write(a, b"A")
    write(b, b"B")
    # Atomic replace: b now holds A, a is gone.
    os.rename(a, b)
    assert read(b) == b"A" and not os.path.exists(a)
    # Replace while a reader holds the old target open: it keeps the old data.
    write(c, b"C")
    with open(b, "rb") as old:
        os.rename(c, b)
        assert old.read() == b"A"
    assert read(b) == b"C"
    write(a, b"A2")
    expect_errno(errno.EEXIST, renameat2, a, b, RENAME_NOREPLACE)
    assert read(a) == b"A2" and read(b) == b"C"
    renameat2(a, c, RENAME_NOREPLACE)
    assert read(c) == b"A2" and not os.path.exists(a)
    renameat2(b, c, RENAME_EXCHANGE)
    assert read(b) == b"A2" and read(c) == b"C"
    expect_errno(errno.ENOENT, renameat2, b, a, RENAME_EXCHANGE)
    # Exchange a file and a folder.
    d = os.path.join(acme, "d")
    os.mkdir(d)
    write(os.path.join(d, "inside"), b"I")
    renameat2(b, d, RENAME_EXCHANGE)
    assert read(d) == b"A2" and read(os.path.join(b, "inside")) == b"I"
    # Folder onto a non-empty folder: ENOTEMPTY; onto an empty one: replaces.
    e = os.path.join(acme, "e")
    os.mkdir(e)
    expect_errno(errno.ENOTEMPTY, os.rename, e, b)
    os.rmdir(e)
    os.mkdir(e)
    write(os.path.join(e, "x"), b"X")
    f = os.path.join(acme, "f")
    os.mkdir(f)
    os.rename(e, f)
    assert read(os.path.join(f, "x")) == b"X" and not os.path.exists(e)
    # File onto folder and folder onto file.
    expect_errno(errno.EISDIR, os.rename, c, f)
    expect_errno(errno.ENOTDIR, os.rename, f, c)
    # Move between folders, and a folder into its own subtree.
    os.rename(c, os.path.join(f, "c"))
    assert read(os.path.join(f, "c")) == b"C"
    expect_errno(errno.EINVAL, os.rename, f, os.path.join(f, "sub"))
    mounted.remount()
    assert sorted(os.listdir(acme)) == ["b", "d", "f"]
    assert read(os.path.join(f, "c")) == b"C" and read(d) == b"A2"
    assert read(os.path.join(b, "inside")) == b"I"


def test_rename_and_link_across_tenants_exdev(store):
    store.add_tenant("globex")
    m = store.mount()
    m.start()
    try:
        src = m.path("acme", "r")
        write(src, b"R")
        expect_errno(errno.EXDEV, os.rename, src, m.path("globex", "r"))
        expect_errno(errno.EXDEV, os.link, src, m.path("globex", "r"))
        assert read(src) == b"R"
        assert os.listdir(m.path("globex")) == []
    finally:
        m.stop()


def test_unlink_open_file_keeps_data(mounted, acme):
    p = os.path.join(acme, "doomed")
    data = os.urandom(200000)
    write(p, data)
    fd = os.open(p, os.O_RDWR)
    try:
        os.unlink(p)
        assert "doomed" not in os.listdir(acme)
        assert not os.path.exists(p)
        assert os.pread(fd, len(data), 0) == data
        os.pwrite(fd, b"more", len(data))
        assert os.pread(fd, 4, len(data)) == b"more"
        assert os.fstat(fd).st_nlink == 0
        # A new file of the same name is a different file.
        write(p, b"fresh")
        assert os.pread(fd, 10, 0) == data[:10]
    finally:
        os.close(fd)
    assert read(p) == b"fresh"
    mounted.remount()
    assert read(p) == b"fresh"
    assert os.listdir(acme) == ["doomed"]


def test_nested_folders_and_rmdir(mounted, acme):
    deep = os.path.join(acme, "a", "b", "c", "d", "e")
    os.makedirs(deep)
    write(os.path.join(deep, "leaf.json"), b'{"ok":1}')
    expect_errno(errno.ENOTEMPTY, os.rmdir, os.path.join(acme, "a"))
    expect_errno(errno.ENOTEMPTY, os.rmdir, deep)
    expect_errno(errno.EEXIST, os.mkdir, deep)
    expect_errno(errno.ENOTDIR, os.rmdir, os.path.join(deep, "leaf.json"))
    expect_errno(errno.ENOTDIR, os.mkdir, os.path.join(deep, "leaf.json", "x"))
    expect_errno(errno.EISDIR, os.unlink, deep)
    # Link count of a folder: 2 + subfolders.
    os.mkdir(os.path.join(acme, "a", "b2"))
    assert os.stat(os.path.join(acme, "a")).st_nlink == 4
    assert os.stat(deep).st_nlink == 2
    assert os.stat(deep).st_size == 4096
    mounted.remount()
    assert read(os.path.join(deep, "leaf.json")) == b'{"ok":1}'
    os.unlink(os.path.join(deep, "leaf.json"))
    os.rmdir(deep)
    assert os.listdir(os.path.join(acme, "a", "b", "c", "d")) == []
    assert os.stat(os.path.join(acme, "a", "b", "c", "d")).st_nlink == 2


def test_readdir_while_folder_changes(mounted, acme):
    d = os.path.join(acme, "big")
    os.mkdir(d)
    stable = ["stable-%04d-%s" % (i, "x" * 40) for i in range(1500)]
    doomed = ["doomed-%04d-%s" % (i, "y" * 40) for i in range(500)]
    for n in stable + doomed:
        open(os.path.join(d, n), "wb").close()
    seen = []
    added = []
    with os.scandir(d) as it:
        for i, entry in enumerate(it):
            seen.append(entry.name)
            if i == 100:
                for n in doomed:
                    os.unlink(os.path.join(d, n))
                for k in range(300):
                    n = "added-%04d" % k
                    open(os.path.join(d, n), "wb").close()
                    added.append(n)
    dupes = {n for n in seen if seen.count(n) > 1} if len(seen) != len(set(seen)) else set()
    assert not dupes, "listed twice: %s" % sorted(dupes)[:10]
    missing = set(stable) - set(seen)
    assert not missing, "stable entries missing: %d, e.g. %s" % (len(missing), sorted(missing)[:5])
    assert set(seen) <= set(stable) | set(doomed) | set(added)
    # A fresh listing is exact.
    assert sorted(os.listdir(d)) == sorted(stable + added)
    # telldir/seekdir-style restart: listing twice gives the same order.
    assert os.listdir(d) == os.listdir(d)


def test_symlinks(mounted, acme):
    target = os.path.join(acme, "real.txt")
    write(target, b"real")
    os.symlink("real.txt", os.path.join(acme, "rel"))
    os.symlink("/nonexistent/dangling/target-" + "z" * 200, os.path.join(acme, "dangling"))
    os.makedirs(os.path.join(acme, "sub"))
    os.symlink("../real.txt", os.path.join(acme, "sub", "up"))
    assert os.readlink(os.path.join(acme, "rel")) == "real.txt"
    assert read(os.path.join(acme, "rel")) == b"real"
    assert read(os.path.join(acme, "sub", "up")) == b"real"
    st = os.lstat(os.path.join(acme, "rel"))
    assert stat.S_ISLNK(st.st_mode) and st.st_size == len("real.txt")
    expect_errno(errno.ENOENT, read, os.path.join(acme, "dangling"))
    expect_errno(errno.EEXIST, os.symlink, "x", os.path.join(acme, "rel"))
    mounted.remount()
    assert os.readlink(os.path.join(acme, "dangling")) == "/nonexistent/dangling/target-" + "z" * 200
    assert read(os.path.join(acme, "sub", "up")) == b"real"


def test_hard_links_and_nlink(mounted, acme):
    a = os.path.join(acme, "orig")
    write(a, b"one")
    os.mkdir(os.path.join(acme, "dir"))
    b = os.path.join(acme, "dir", "alias")
    os.link(a, b)
    sa, sb = os.stat(a), os.stat(b)
    assert sa.st_ino == sb.st_ino and sa.st_nlink == 2 and sb.st_nlink == 2
    with open(b, "r+b") as f:
        f.write(b"ONE")
    assert read(a) == b"ONE"
    expect_errno(errno.EPERM, os.link, os.path.join(acme, "dir"), os.path.join(acme, "dirlink"))
    expect_errno(errno.EEXIST, os.link, a, b)
    mounted.remount()
    assert os.stat(a).st_ino == sa.st_ino, "st_ino not stable across mounts"
    assert os.stat(b).st_nlink == 2
    os.unlink(a)
    assert os.stat(b).st_nlink == 1 and read(b) == b"ONE"


def test_chmod_chown_utimens_ns(mounted, acme):
    p = os.path.join(acme, "meta")
    write(p, b"m")
    os.chmod(p, 0o4751)
    os.chown(p, 1234, 5678)
    atime = 1234567890123456789
    mtime = 1500000000987654321
    os.utime(p, ns=(atime, mtime))
    d = os.path.join(acme, "metadir")
    os.mkdir(d, 0o700)
    os.utime(d, ns=(1, 999999999))

    def check():
        st = os.stat(p)
        assert stat.S_IMODE(st.st_mode) == 0o4751 or stat.S_IMODE(st.st_mode) == 0o0751
        assert (st.st_uid, st.st_gid) == (1234, 5678)
        assert st.st_atime_ns == atime and st.st_mtime_ns == mtime
        sd = os.stat(d)
        assert stat.S_IMODE(sd.st_mode) == 0o700
        assert sd.st_mtime_ns == 999999999 and sd.st_atime_ns == 1

    check()
    mounted.remount()
    check()
    # chown by root keeps the mode bits other than setuid/setgid.
    os.chmod(p, 0o640)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    # ctime moves on a metadata change; mtime on a write.
    before = os.stat(p)
    with open(p, "ab") as f:
        f.write(b"more")
    after = os.stat(p)
    assert after.st_mtime_ns > before.st_mtime_ns


def test_user_xattrs(mounted, acme):
    p = os.path.join(acme, "x")
    write(p, b"x")
    os.setxattr(p, "user.color", b"blue")
    big = os.urandom(60000)
    os.setxattr(p, "user.blob", big)
    assert os.getxattr(p, "user.color") == b"blue"
    assert os.getxattr(p, "user.blob") == big
    assert {"user.color", "user.blob"} <= set(os.listxattr(p))
    expect_errno(errno.EEXIST, os.setxattr, p, "user.color", b"red", os.XATTR_CREATE)
    expect_errno(errno.ENODATA, os.setxattr, p, "user.none", b"v", os.XATTR_REPLACE)
    os.setxattr(p, "user.color", b"red", os.XATTR_REPLACE)
    expect_errno(errno.ENODATA, os.getxattr, p, "user.missing")
    expect_errno(errno.EOPNOTSUPP, os.setxattr, p, "trusted.secret", b"v")
    os.setxattr(p, "user.empty", b"")
    d = os.path.join(acme, "xd")
    os.mkdir(d)
    os.setxattr(d, "user.tag", b"folder")
    mounted.remount()
    assert os.getxattr(p, "user.color") == b"red"
    assert os.getxattr(p, "user.blob") == big
    assert os.getxattr(p, "user.empty") == b""
    assert os.getxattr(d, "user.tag") == b"folder"
    os.removexattr(p, "user.color")
    expect_errno(errno.ENODATA, os.getxattr, p, "user.color")
    expect_errno(errno.ENODATA, os.removexattr, p, "user.color")
    assert "user.color" not in os.listxattr(p)


def test_statfs_sane(mounted, acme):
    sv = os.statvfs(acme)
    assert sv.f_bsize > 0 and sv.f_frsize > 0
    assert sv.f_blocks > 0
    assert 0 < sv.f_bfree <= sv.f_blocks
    assert sv.f_bavail <= sv.f_bfree
    assert sv.f_namemax == 255
    assert sv.f_files >= sv.f_ffree
    # The figures describe real space: not more than the disk under the store.
    under = os.statvfs(os.path.dirname(mounted.store))
    assert sv.f_blocks * sv.f_frsize <= under.f_blocks * under.f_frsize * 1.01 + (1 << 20)
    assert sv.f_bavail * sv.f_frsize <= under.f_blocks * under.f_frsize


def test_fsync_and_fdatasync(mounted, acme):
    p = os.path.join(acme, "durable")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x" * 100000)
        os.fsync(fd)
        os.write(fd, b"y")
        os.fdatasync(fd)
    finally:
        os.close(fd)
    dfd = os.open(acme, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    mounted.remount()
    assert read(p) == b"x" * 100000 + b"y"


def test_fifo_and_socket_nodes(mounted, acme):
    fifo = os.path.join(acme, "pipe")
    os.mkfifo(fifo, 0o600)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    mounted.remount()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_overwrite_shorter_survives_remount(mounted, acme):
    p = os.path.join(acme, "shrink")
    write(p, os.urandom(200000))
    write(p, b"short")                       # O_TRUNC then a short write
    assert read(p) == b"short"
    mounted.remount()
    assert read(p) == b"short"
    assert os.stat(p).st_size == 5


def test_rename_whiteout_refused_and_efbig(mounted, acme):
    a = os.path.join(acme, "a")
    write(a, b"A")
    RENAME_WHITEOUT = 4
    expect_errno(errno.EINVAL, renameat2, a, os.path.join(acme, "b"), RENAME_WHITEOUT)
    assert read(a) == b"A"
    expect_errno(errno.EFBIG, os.truncate, a, (1 << 50) + 1)
    assert os.stat(a).st_size == 1
    os.truncate(a, 1 << 40)                  # within the limit: a hole
    assert os.stat(a).st_size == 1 << 40


def test_odd_names(mounted, acme):
    names = ["with space", "new\nline", "tab\there", "ünïcødé-名前", "-dash", "a.b.c",
             "'quote\"", "*?[glob]", "\\back", "x" * 255]
    raw = [b"\xff\xfe-not-utf8", b"\x01\x02ctrl"]
    for n in names:
        write(os.path.join(acme, n), n.encode("utf-8", "surrogateescape"))
    for n in raw:
        with open(os.path.join(os.fsencode(acme), n), "wb") as f:
            f.write(n)
    mounted.remount()
    assert sorted(os.listdir(os.fsencode(acme))) == sorted([os.fsencode(n) for n in names] + raw)
    for n in names:
        assert read(os.path.join(acme, n)) == n.encode("utf-8", "surrogateescape")
    for n in raw:
        with open(os.path.join(os.fsencode(acme), n), "rb") as f:
            assert f.read() == n
    # Same name, different case: different files.
    write(os.path.join(acme, "Case"), b"upper")
    write(os.path.join(acme, "case"), b"lower")
    assert read(os.path.join(acme, "Case")) == b"upper"


def test_setgid_folder_inherits_group(mounted, acme):
    d = os.path.join(acme, "team")
    os.mkdir(d)
    os.chown(d, 0, 4242)
    os.chmod(d, 0o2775)
    write(os.path.join(d, "f"), b"x")
    os.mkdir(os.path.join(d, "sub"))
    assert os.stat(os.path.join(d, "f")).st_gid == 4242
    st = os.stat(os.path.join(d, "sub"))
    assert st.st_gid == 4242 and st.st_mode & stat.S_ISGID
    mounted.remount()
    assert os.stat(os.path.join(d, "f")).st_gid == 4242


def test_reads_do_not_update_atime_and_ctime_moves(mounted, acme):
    p = os.path.join(acme, "quiet")
    write(p, b"data")
    os.utime(p, ns=(1000000000, 2000000000))
    before = os.stat(p)
    assert read(p) == b"data"
    mounted.remount()
    after = os.stat(p)
    assert after.st_atime_ns == 1000000000, "a read changed atime"
    assert after.st_mtime_ns == 2000000000
    os.chmod(p, 0o600)
    assert os.stat(p).st_ctime_ns >= before.st_ctime_ns


class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


def test_telldir_seekdir(mounted, acme):
    d = os.path.join(acme, "seek")
    os.mkdir(d)
    for i in range(700):
        open(os.path.join(d, "entry-%04d-%s" % (i, "p" * 30)), "wb").close()
    libc.opendir.restype = ctypes.c_void_p
    libc.opendir.argtypes = [ctypes.c_char_p]
    libc.readdir.restype = ctypes.POINTER(Dirent)
    libc.readdir.argtypes = [ctypes.c_void_p]
    libc.telldir.restype = ctypes.c_long
    libc.telldir.argtypes = [ctypes.c_void_p]
    libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
    libc.closedir.argtypes = [ctypes.c_void_p]
    dp = libc.opendir(os.fsencode(d))
    assert dp
    try:
        names, marks = [], {}
        while True:
            pos = libc.telldir(dp)
            ent = libc.readdir(dp)
            if not ent:
                break
            n = ent.contents.d_name.decode()
            if n in (".", ".."):
                continue
            marks[n] = pos
            names.append(n)
        assert len(names) == 700 and len(set(names)) == 700
        for k in (0, 1, 350, 511, 699):
            libc.seekdir(dp, marks[names[k]])
            rest = []
            while True:
                ent = libc.readdir(dp)
                if not ent:
                    break
                rest.append(ent.contents.d_name.decode())
            assert rest == names[k:], "seekdir to entry %d" % k
    finally:
        libc.closedir(dp)


def dot_inodes(path):
    """d_ino of "." and ".." as readdir(3) reports them in `path`."""
    libc.opendir.restype = ctypes.c_void_p
    libc.opendir.argtypes = [ctypes.c_char_p]
    libc.readdir.restype = ctypes.POINTER(Dirent)
    libc.readdir.argtypes = [ctypes.c_void_p]
    libc.closedir.argtypes = [ctypes.c_void_p]
    dp = libc.opendir(os.fsencode(path))
    assert dp
    found = {}
    try:
        while True:
            ent = libc.readdir(dp)
            if not ent:
                break
            n = ent.contents.d_name.decode(errors="replace")
            if n in (".", ".."):
                found[n] = ent.contents.d_ino
    finally:
        libc.closedir(dp)
    return found


def test_dot_entries_name_folder_and_parent(mounted, acme):
    nested = os.path.join(acme, "p", "q", "r")
    os.makedirs(nested)
    for path, parent in ((nested, os.path.dirname(nested)),
                         (os.path.join(acme, "p"), acme),
                         (acme, mounted.mnt)):
        dots = dot_inodes(path)
        assert dots["."] == os.stat(path).st_ino, path
        assert dots[".."] == os.stat(parent).st_ino, path
    # after a move, ".." follows the folder
    os.rename(os.path.join(acme, "p", "q"), os.path.join(acme, "q2"))
    assert dot_inodes(os.path.join(acme, "q2", "r"))[".."] == \
        os.stat(os.path.join(acme, "q2")).st_ino
