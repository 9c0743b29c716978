"""Real clients inside a tenant: cp -a and diff -r of a real tree, tar in and
out byte for byte, rsync -a round trip, dd at offsets, sqlite3, git, and an
editor-style save; each result is checked again after unmount and remount."""

import os
import random
import subprocess

import pytest


TREE = os.environ.get("TENANTFS_TEST_TREE", "/usr/include")


def sh(args, cwd=None, env=None, timeout=600):
    r = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        pytest.fail("%s exited %d\nstdout: %s\nstderr: %s"
                    % (" ".join(args), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout


def make_tree(root, seed=1):
    """A small tree with every kind of thing archivers care about."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "a", "b", "c"))
    os.makedirs(os.path.join(root, "empty"))
    for i in range(60):
        d = rng.choice(["", "a", "a/b", "a/b/c"])
        size = rng.choice([0, 1, 100, 4096, 65537, 300000])
        with open(os.path.join(root, d, "f%02d.dat" % i), "wb") as f:
            f.write(rng.randbytes(size))
    long_name = "n" * 255
    with open(os.path.join(root, long_name), "wb") as f:
        f.write(b"long")
    os.symlink("a/b/f01.dat", os.path.join(root, "link"))
    os.symlink("/does/not/exist", os.path.join(root, "dangling"))
    os.link(os.path.join(root, long_name), os.path.join(root, "a", "hard"))
    os.chmod(os.path.join(root, "a", "b"), 0o750)
    os.chmod(os.path.join(root, long_name), 0o604)
    os.chown(os.path.join(root, "a", "hard"), 4321, 8765)
    with open(os.path.join(root, "sparse"), "wb") as f:
        f.seek(5 << 20)
        f.write(b"end")
    os.utime(os.path.join(root, long_name), ns=(1000000000123456789, 1100000000987654321))
    return root


def test_cp_a_and_diff_r_real_tree(mounted, workdir, acme):
    dst = os.path.join(acme, "include")
    sh(["cp", "-a", TREE, dst])
    sh(["diff", "-r", "--no-dereference", TREE, dst])
    mounted.remount()
    sh(["diff", "-r", "--no-dereference", TREE, dst])
    # cp -a kept modes, owners and mtimes.
    for dirpath, dirnames, filenames in os.walk(TREE):
        for n in (dirnames + filenames)[:5]:
            s = os.lstat(os.path.join(dirpath, n))
            t = os.lstat(os.path.join(dst, os.path.relpath(dirpath, TREE), n))
            assert (s.st_mode, s.st_uid, s.st_gid, s.st_mtime_ns) == \
                   (t.st_mode, t.st_uid, t.st_gid, t.st_mtime_ns), n


def test_tar_in_and_out_byte_exact(mounted, workdir):
    src = make_tree(os.path.join(workdir, "src"))
    opts = ["--format=gnu", "--sort=name", "--numeric-owner"]
    orig = os.path.join(workdir, "orig.tar")
    sh(["tar", "-cf", orig] + opts + ["-C", src, "."])
    dst = mounted.path("acme", "untarred")
    os.mkdir(dst)
    sh(["tar", "-xpf", orig, "-C", dst])
    again = os.path.join(workdir, "again.tar")
    sh(["tar", "-cf", again] + opts + ["-C", dst, "."])
    assert open(orig, "rb").read() == open(again, "rb").read(), "tar out differs from tar in"
    # A tar written into the tenant reads back exactly too.
    inside = mounted.path("acme", "inside.tar")
    sh(["tar", "-cf", inside] + opts + ["-C", src, "."])
    mounted.remount()
    assert open(inside, "rb").read() == open(orig, "rb").read()
    sh(["tar", "-cf", again] + opts + ["-C", dst, "."])
    assert open(orig, "rb").read() == open(again, "rb").read(), "differs after remount"
    sh(["tar", "-df", orig, "-C", dst])


def test_rsync_round_trip(mounted, workdir):
    src = make_tree(os.path.join(workdir, "src"), seed=2)
    dst = mounted.path("acme", "mirror")
    sh(["rsync", "-aH", src + "/", dst + "/"])
    back = os.path.join(workdir, "back")
    sh(["rsync", "-aH", dst + "/", back + "/"])
    sh(["diff", "-r", "--no-dereference", src, back])
    # Nothing left to transfer, even comparing every byte.
    assert sh(["rsync", "-aHni", "--checksum", src + "/", dst + "/"]).strip() == ""
    mounted.remount()
    assert sh(["rsync", "-aHni", "--checksum", src + "/", dst + "/"]).strip() == ""
    st = os.stat(os.path.join(dst, "a", "hard"))
    assert st.st_nlink == 2 and (st.st_uid, st.st_gid) == (4321, 8765)
    # An incremental update moves only what changed.
    with open(os.path.join(src, "a", "b", "f01.dat"), "ab") as f:
        f.write(b"changed")
    sh(["rsync", "-aH", "--delete", src + "/", dst + "/"])
    assert sh(["rsync", "-aHni", "--checksum", src + "/", dst + "/"]).strip() == ""


def test_dd_at_offsets(mounted, workdir, acme):
    blob = os.path.join(workdir, "blob")
    data = os.urandom(1 << 20)
    with open(blob, "wb") as f:
        f.write(data)
    target = os.path.join(acme, "disk.img")
    model = bytearray()
    for seek_kib, count in ((0, 256), (1000, 64), (4096, 1024), (300, 17)):
        sh(["dd", "if=" + blob, "of=" + target, "bs=1K", "seek=%d" % seek_kib,
            "count=%d" % count, "conv=notrunc", "status=none"])
        end = (seek_kib + count) * 1024
        if len(model) < end:
            model.extend(b"\0" * (end - len(model)))
        model[seek_kib * 1024:end] = data[:count * 1024]
    sh(["dd", "if=/dev/zero", "of=" + target, "bs=4K", "seek=10", "count=1",
        "conv=notrunc,fsync", "status=none"])
    model[40960:45056] = b"\0" * 4096
    out = os.path.join(workdir, "out")

    def check():
        assert open(target, "rb").read() == bytes(model)
        sh(["dd", "if=" + target, "of=" + out, "bs=4K", "skip=1000", "count=100", "status=none"])
        assert open(out, "rb").read() == bytes(model[1000 * 4096:1100 * 4096])
        sh(["dd", "if=" + target, "of=" + out, "bs=1M", "iflag=direct", "status=none"])
        assert open(out, "rb").read() == bytes(model)

    check()
    mounted.remount()
    check()


def test_sqlite3(mounted, acme):
    db = os.path.join(acme, "shop.db")
    sh(["sqlite3", db,
        "CREATE TABLE products(id INTEGER PRIMARY KEY, sku TEXT, price REAL);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<5000)"
        " INSERT INTO products SELECT i, 'sku-' || i, i * 1.5 FROM n;"
        "CREATE INDEX by_sku ON products(sku);"
        "BEGIN; UPDATE products SET price = price * 2 WHERE id % 7 = 0; COMMIT;"
        "DELETE FROM products WHERE id > 4900;"])
    q = "SELECT count(*), sum(price) FROM products; SELECT price FROM products WHERE sku='sku-700';"
    want = sh(["sqlite3", db, q])
    lines = want.split()
    assert lines[0].startswith("4900|") and lines[1] == "2100.0", want
    mounted.remount()
    assert sh(["sqlite3", db, "PRAGMA integrity_check;"]).strip() == "ok"
    assert sh(["sqlite3", db, q]) == want
    # WAL mode uses a shared-memory file: works too.
    sh(["sqlite3", db, "PRAGMA journal_mode=WAL; INSERT INTO products VALUES(9999,'w',1.0);"])
    assert sh(["sqlite3", db, "SELECT sku FROM products WHERE id=9999;"]).strip() == "w"


def test_git(mounted, workdir, acme):
    repo = os.path.join(acme, "repo")
    os.mkdir(repo)
    env = dict(os.environ, HOME=workdir, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org")
    g = lambda *a: sh(["git", "-c", "safe.directory=*", "-c", "init.defaultBranch=main"] + list(a),
                      cwd=repo, env=env)
    g("init", "-q")
    make_tree(os.path.join(repo, "tree"), seed=3)
    g("add", "-A")
    g("commit", "-q", "-m", "first")
    with open(os.path.join(repo, "tree", "sparse"), "ab") as f:
        f.write(b"second version")
    g("commit", "-q", "-am", "second")
    g("gc", "-q")
    g("fsck", "--full", "--strict")
    head = g("rev-parse", "HEAD").strip()
    mounted.remount()
    g("fsck", "--full", "--strict")
    assert g("rev-parse", "HEAD").strip() == head
    assert g("status", "--porcelain").strip() == ""
    assert g("log", "--format=%s").split() == ["second", "first"]


def test_editor_style_save(mounted, acme):
    p = os.path.join(acme, "doc.txt")
    with open(p, "w") as f:
        f.write("version 1\n")
    os.chmod(p, 0o640)
    for v in range(2, 6):
        tmp = os.path.join(acme, ".doc.txt.swp")
        with open(tmp, "w") as f:
            f.write("version %d\n" % v * 1000)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        with open(p) as keep:                   # a reader holding the old file
            os.rename(tmp, p)
            assert keep.read() == ("version %d\n" % (v - 1)) * (1 if v == 2 else 1000)
        dfd = os.open(acme, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
    # vim-style: backup by rename, write new file, remove backup.
    os.rename(p, p + "~")
    with open(p, "w") as f:
        f.write("final\n")
        os.fsync(f.fileno())
    os.unlink(p + "~")
    mounted.remount()
    assert open(p).read() == "final\n"
    assert sorted(os.listdir(acme)) == ["doc.txt"]
