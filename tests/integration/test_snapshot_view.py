"""The read-only view of snapshots, MOUNT/.snapshots/NAME/TENANT/...
(docs/snapshots.md, "The view"): `cp` out of it gives the snapshot's bytes
(content of several blocks, a symlink, an extended attribute, a folder);
.snapshots is not listed at the mount root but is found, lists the
snapshots, follows `tenantctl snapshot create|delete` without a remount;
every change under it is EROFS (also a rename or link between it and a
live tenant, which would otherwise be EXDEV); the live tenant's folder
decides who may enter a tenant's past (real users, allow_other).

Tenants of the `m` fixture:
  acme  root:root 0755             (from the store fixture)
  team  tfs_alice:tfs_staff 0770   alice owner, carol group, bob other
"""

import errno
import os
import stat
import subprocess

import pytest

import util
from users import (ALICE, BOB, CAROL, STAFF, OK, as_user, ok, ops,  # noqa: F401
                   principals, try_op)

BIG = 5 * 65536 + 1234          # several content blocks and a partial one


def _snap(store, verb, *args, check=True):
    return util.ctl("snapshot", verb, store.path, *args, "--passfile",
                    store.passfile, check=check)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)
    return "no error"


@pytest.fixture
def m(store, principals):
    store.add_tenant("team", owner="%s:%s" % (ALICE, STAFF), mode="0770")
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def _fill_acme(m):
    """A record, a big record, a symlink, an xattr, a folder with a record;
    returns what they hold."""
    a = m.path("acme")
    old = {"rec": b"the record as it was " * 50, "big": os.urandom(BIG),
           "sub/inner": b"inside the folder"}
    util.put(os.path.join(a, "rec"), old["rec"])
    util.put(os.path.join(a, "big"), old["big"])
    os.symlink("rec", os.path.join(a, "link"))
    os.setxattr(os.path.join(a, "rec"), "user.colour", b"blue")
    os.mkdir(os.path.join(a, "sub"), 0o750)
    util.put(os.path.join(a, "sub", "inner"), old["sub/inner"])
    os.chmod(os.path.join(a, "rec"), 0o640)
    return old


def test_cp_restores_the_snapshots_bytes(m, store, workdir):
    old = _fill_acme(m)
    _snap(store, "create", "s1")
    a = m.path("acme")
    # The live tenant moves on.
    util.put(os.path.join(a, "rec"), b"changed")
    with open(os.path.join(a, "big"), "r+b") as f:
        f.truncate(1000)
    os.unlink(os.path.join(a, "link"))
    os.removexattr(os.path.join(a, "rec"), "user.colour")
    os.unlink(os.path.join(a, "sub", "inner"))
    os.rmdir(os.path.join(a, "sub"))

    snap = m.path(".snapshots", "s1", "acme")
    assert sorted(os.listdir(snap)) == ["big", "link", "rec", "sub"]
    # One record back into the live tenant, with cp.
    subprocess.run(["cp", os.path.join(snap, "rec"), os.path.join(a, "rec")],
                   check=True)
    assert _read(os.path.join(a, "rec")) == old["rec"]
    # Byte-exact out of the mount too, several blocks.
    out = os.path.join(workdir, "restored")
    subprocess.run(["cp", os.path.join(snap, "big"), out], check=True)
    assert _read(out) == old["big"]
    assert _read(os.path.join(snap, "big")) == old["big"]
    assert os.stat(os.path.join(snap, "big")).st_size == BIG
    # Records keep their own owner, group and mode.
    st = os.lstat(os.path.join(snap, "rec"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o640)
    assert stat.S_IMODE(os.stat(os.path.join(snap, "sub")).st_mode) == 0o750
    # The symlink, the xattr, the folder.
    assert os.readlink(os.path.join(snap, "link")) == "rec"
    assert os.getxattr(os.path.join(snap, "rec"), "user.colour") == b"blue"
    assert "user.colour" in os.listxattr(os.path.join(snap, "rec"))
    subprocess.run(["cp", "-a", os.path.join(snap, "sub"), os.path.join(snap, "link"),
                    a], check=True)
    assert _read(os.path.join(a, "sub", "inner")) == old["sub/inner"]
    assert os.readlink(os.path.join(a, "link")) == "rec"
    assert _read(os.path.join(a, "link")) == old["rec"]
    assert stat.S_IMODE(os.stat(os.path.join(a, "sub")).st_mode) == 0o750
    subprocess.run(["cp", "-a", os.path.join(snap, "rec"), os.path.join(a, "rec2")],
                   check=True)
    assert os.getxattr(os.path.join(a, "rec2"), "user.colour") == b"blue"
    # Snapshot records never share inode numbers with live ones; ls -l and
    # du work there (readdirplus, statfs).
    assert os.stat(os.path.join(snap, "rec")).st_ino != os.stat(os.path.join(a, "rec")).st_ino
    r = subprocess.run(["ls", "-laR", m.path(".snapshots")], capture_output=True,
                       text=True, check=True)
    assert "inner" in r.stdout and "link -> rec" in r.stdout, r.stdout
    assert os.statvfs(snap).f_bsize > 0
    r = subprocess.run(["tar", "-cf", os.path.join(workdir, "t.tar"), "-C", snap, "."],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The snapshot itself is untouched by all this.
    assert _read(os.path.join(snap, "rec")) == old["rec"]


def test_hidden_at_the_root_found_by_name_follows_create_and_delete(m, store):
    assert sorted(os.listdir(m.mnt)) == ["acme", "team"]
    r = subprocess.run(["ls", "-a", m.mnt], capture_output=True, text=True, check=True)
    assert ".snapshots" not in r.stdout
    st = os.stat(m.path(".snapshots"))
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o555
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert os.listdir(m.path(".snapshots")) == []

    util.put(m.path("acme", "r"), b"one")
    _snap(store, "create", "first")         # while mounted: no remount
    assert os.listdir(m.path(".snapshots")) == ["first"]
    assert sorted(os.listdir(m.path(".snapshots", "first"))) == ["acme", "team"]
    util.put(m.path("acme", "r"), b"two")
    _snap(store, "create", "second")
    assert sorted(os.listdir(m.path(".snapshots"))) == ["first", "second"]
    assert _read(m.path(".snapshots", "first", "acme", "r")) == b"one"
    assert _read(m.path(".snapshots", "second", "acme", "r")) == b"two"
    st = os.stat(m.path(".snapshots", "first"))
    assert stat.S_IMODE(st.st_mode) == 0o555 and (st.st_uid, st.st_gid) == (0, 0)
    assert _errno_of(os.stat, m.path(".snapshots", "nosuch")) == "ENOENT"
    assert _errno_of(os.stat, m.path(".snapshots", "first", "nosuch")) == "ENOENT"

    # Deleted: gone from the listing and by name, at once; a descriptor
    # opened before keeps reading.
    fd = os.open(m.path(".snapshots", "first", "acme", "r"), os.O_RDONLY)
    try:
        _snap(store, "delete", "first")
        assert os.listdir(m.path(".snapshots")) == ["second"]
        assert _errno_of(os.stat, m.path(".snapshots", "first")) == "ENOENT"
        assert _errno_of(os.stat, m.path(".snapshots", "first", "acme", "r")) == "ENOENT"
        assert os.pread(fd, 100, 0) == b"one"
    finally:
        os.close(fd)
    # Made again under the same name: the new one's content, not the old.
    util.put(m.path("acme", "r"), b"three")
    _snap(store, "create", "first")
    assert _read(m.path(".snapshots", "first", "acme", "r")) == b"three"
    # find and du of the mount do not walk the snapshots.
    r = subprocess.run(["find", m.mnt], capture_output=True, text=True, check=True)
    assert ".snapshots" not in r.stdout


def test_every_change_is_erofs(m, store):
    _fill_acme(m)
    _snap(store, "create", "s")
    snap = m.path(".snapshots", "s", "acme")
    live = m.path("acme")
    rec = os.path.join(snap, "rec")
    checks = {
        "open for writing": lambda: os.open(rec, os.O_WRONLY),
        "open read-write": lambda: os.open(rec, os.O_RDWR),
        "open O_TRUNC": lambda: os.open(rec, os.O_RDONLY | os.O_TRUNC),
        "append": lambda: os.open(rec, os.O_WRONLY | os.O_APPEND),
        "create": lambda: os.open(os.path.join(snap, "new"), os.O_WRONLY | os.O_CREAT, 0o644),
        "mkdir": lambda: os.mkdir(os.path.join(snap, "newdir")),
        "mknod fifo": lambda: os.mkfifo(os.path.join(snap, "fifo")),
        "symlink": lambda: os.symlink("rec", os.path.join(snap, "ln2")),
        "unlink": lambda: os.unlink(rec),
        "unlink symlink": lambda: os.unlink(os.path.join(snap, "link")),
        "rmdir": lambda: os.rmdir(os.path.join(snap, "sub")),
        "rename inside": lambda: os.rename(rec, os.path.join(snap, "rec3")),
        "rename out to live": lambda: os.rename(rec, os.path.join(live, "moved")),
        "rename in from live": lambda: os.rename(os.path.join(live, "big"),
                                                 os.path.join(snap, "big2")),
        "link out to live": lambda: os.link(rec, os.path.join(live, "hard")),
        "link in from live": lambda: os.link(os.path.join(live, "big"),
                                             os.path.join(snap, "hard")),
        "chmod": lambda: os.chmod(rec, 0o600),
        "chmod tenant folder": lambda: os.chmod(snap, 0o700),
        "chown": lambda: os.chown(rec, 1, 1),
        "utime": lambda: os.utime(rec, (1, 1)),
        "truncate": lambda: os.truncate(rec, 0),
        "setxattr": lambda: os.setxattr(rec, "user.x", b"1"),
        "removexattr": lambda: os.removexattr(rec, "user.colour"),
        "mkdir in .snapshots": lambda: os.mkdir(m.path(".snapshots", "mine")),
        "mkdir in a snapshot": lambda: os.mkdir(m.path(".snapshots", "s", "newtenant")),
        "rmdir a snapshot": lambda: os.rmdir(m.path(".snapshots", "s")),
        "rmdir a snapshot tenant": lambda: os.rmdir(snap),
        "rename a snapshot": lambda: os.rename(m.path(".snapshots", "s"),
                                               m.path(".snapshots", "t")),
        "rename .snapshots": lambda: os.rename(m.path(".snapshots"), m.path("snaps")),
        "rmdir .snapshots": lambda: os.rmdir(m.path(".snapshots")),
        "chmod .snapshots": lambda: os.chmod(m.path(".snapshots"), 0o777),
        "setxattr .snapshots": lambda: os.setxattr(m.path(".snapshots"), "user.x", b"1"),
    }
    got = {k: _errno_of(fn) for k, fn in checks.items()}
    assert got == {k: "EROFS" for k in checks}, {k: v for k, v in got.items() if v != "EROFS"}
    # fallocate through a descriptor opened for reading: the kernel's EBADF;
    # a write through one: EBADF too.  Reading works.
    fd = os.open(rec, os.O_RDONLY)
    try:
        assert _errno_of(os.write, fd, b"x") == "EBADF"
        assert os.pread(fd, 5, 0) == b"the r"
    finally:
        os.close(fd)
    # Nothing changed, in the snapshot or live.
    assert sorted(os.listdir(snap)) == ["big", "link", "rec", "sub"]
    assert os.getxattr(rec, "user.colour") == b"blue"
    assert stat.S_IMODE(os.stat(rec).st_mode) == 0o640
    assert os.path.exists(os.path.join(live, "big"))
    assert not os.path.exists(os.path.join(live, "moved"))
    # A live tenant still renames and links within itself.
    os.rename(os.path.join(live, "big"), os.path.join(live, "big2"))
    assert "big" in os.listdir(snap)


def test_the_live_folder_decides_who_enters(m, store, principals):
    P = principals
    team = m.path("team")
    assert ops(ALICE, ("write", team + "/shared", "for the team", 0o640),
               ("write", team + "/mine", "alice only", 0o600)) == [OK, OK]
    ok(ALICE, "chown", team + "/shared", -1, P.staff_gid)
    _snap(store, "create", "s")
    snap = m.path(".snapshots", "s")
    st = snap + "/team"
    # Owner and group members enter, others do not even see it.
    assert ok(ALICE, "listdir", snap) == ["acme", "team"]
    assert ok(CAROL, "listdir", snap) == ["acme", "team"]
    assert ok(BOB, "listdir", snap) == ["acme"]
    assert ok(BOB, "listdir", m.path(".snapshots")) == ["s"]
    assert ok(BOB, "listdir", m.mnt) == ["acme"]
    assert ops(BOB, ("stat", st), ("read", st + "/shared"), ("listdir", st),
               ("write", st + "/x", "y")) == ["ENOENT"] * 4
    assert ok(ALICE, "read", st + "/mine") == "alice only"
    assert ok(ALICE, "stat", st) == [P.uid(ALICE), P.staff_gid, 0o770, stat.S_IFDIR]
    r = as_user(CAROL, "ls -la %s && ls -laR %s" % (snap, st))
    assert "shared" in r.stdout and "mine" in r.stdout, r.stdout
    r = as_user(BOB, "ls -la %s" % snap)
    assert "acme" in r.stdout and "team" not in r.stdout, r.stdout
    # Records keep their modes: carol (group) reads shared, not mine.
    assert ops(CAROL, ("read", st + "/shared"), ("read", st + "/mine")) == [
        ("ok", "for the team"), "EACCES"]
    # Writing as the owner, whom the kernel lets through: EROFS.
    assert ops(ALICE, ("write", st + "/mine", "again"), ("create", st + "/new"),
               ("unlink", st + "/mine"), ("chmod", st + "/mine", 0o644)) == ["EROFS"] * 4
    # The live folder closed to the group: its past is closed too, at once.
    util.ctl("tenant", "chmod", store.path, "team", "0700")
    assert ops(CAROL, ("read", st + "/shared"), ("stat", st)) == ["ENOENT", "ENOENT"]
    assert ok(CAROL, "listdir", snap) == ["acme"]
    assert ok(ALICE, "stat", st) == [P.uid(ALICE), P.staff_gid, 0o700, stat.S_IFDIR]
    # A new owner enters (the records keep theirs: bob is "other" to
    # them); the old one, now only in the group, which has no x, does not.
    util.ctl("tenant", "chown", store.path, "team", BOB)
    assert ok(BOB, "listdir", st) == ["mine", "shared"]
    assert try_op(BOB, "read", st + "/shared") == "EACCES"
    assert try_op(ALICE, "read", st + "/mine") == "ENOENT"


def test_a_removed_tenant_keeps_its_snapshot_owner(m, store, principals):
    """Removed, the tenant's past keeps the folder the manifest recorded; a
    tenant made again under its name (another tenant) gets none of it."""
    store.add_tenant("gone", owner=ALICE, mode="0700")
    ok(ALICE, "write", m.path("gone", "f"), "old data")
    _snap(store, "create", "s")
    util.ctl("tenant", "remove", store.path, "gone")
    store.add_tenant("gone", owner=BOB, mode="0700")
    p = m.path(".snapshots", "s", "gone", "f")
    assert try_op(ALICE, "read", p) == ("ok", "old data")
    assert try_op(BOB, "read", p) == "ENOENT"
    assert try_op(BOB, "read", m.path("gone", "f")) == "ENOENT"   # new and empty
    assert _read(p) == b"old data"                                # root
