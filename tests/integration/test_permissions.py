"""Tenants as Unix principals (issue 4), through a real allow_other mount and
real Unix users (users.py): owner, group and other access inside a tenant for
read, write, create, delete, chmod and chown; records carry their creator's
uid/gid; sticky and setgid folders; nothing crosses tenants (EXDEV); only root
creates or removes tenants at the mount root.

Tenants of the `m` fixture:
  team  tfs_alice:tfs_staff 0770   alice owner, carol group (supplementary), bob other
  pub   tfs_alice:tfs_staff 0755   everyone may enter
  acme  root:root 0755             (from the store fixture)
"""

import errno
import os
import stat

import pytest

import util
from users import (ALICE, BOB, CAROL, STAFF, OK, as_user, ok, ops,  # noqa: F401
                   principals, tenant_list, try_op)


@pytest.fixture
def m(store, principals):
    store.add_tenant("team", owner="%s:%s" % (ALICE, STAFF), mode="0770")
    store.add_tenant("pub", owner="%s:%s" % (ALICE, STAFF), mode="0755")
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def st3(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as ei:
        fn(*args)
    assert ei.value.errno == code, "expected %s, got %s" % (
        errno.errorcode[code], errno.errorcode.get(ei.value.errno, ei.value.errno))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- inside

def test_tenant_folders_carry_owner_group_mode(m, principals):
    P = principals
    assert st3(m.path("team")) == (P.uid(ALICE), P.staff_gid, 0o770)
    assert st3(m.path("pub")) == (P.uid(ALICE), P.staff_gid, 0o755)
    assert stat.S_ISDIR(os.stat(m.path("team")).st_mode)
    # What a user sees agrees with what root sees.
    assert ok(CAROL, "stat", m.path("team")) == [P.uid(ALICE), P.staff_gid, 0o770,
                                                 stat.S_IFDIR]
    # The mount root: root's, 0755.
    assert st3(m.mnt) == (0, 0, 0o755)


def test_records_carry_their_creators_ids(m, principals):
    P = principals
    t = m.path("team")
    for user in (ALICE, CAROL):
        assert ops(user,
                   ("write", "%s/%s.txt" % (t, user), "by " + user),
                   ("mkdir", "%s/%s.d" % (t, user)),
                   ("symlink", "%s.txt" % user, "%s/%s.ln" % (t, user)),
                   ("write", "%s/%s.d/inner" % (t, user), "x")) == [OK] * 4
        ids = (P.uid(user), P.gid(user))
        for name in ("%s.txt", "%s.d", "%s.ln", "%s.d/inner"):
            assert st3(os.path.join(t, name % user))[:2] == ids, name % user
        assert st3("%s/%s.txt" % (t, user))[2] == 0o644      # umask 022
        assert st3("%s/%s.d" % (t, user))[2] == 0o755
    # root's records are root's.
    with open(os.path.join(t, "root.txt"), "w") as f:
        f.write("r")
    assert st3(os.path.join(t, "root.txt"))[:2] == (0, 0)
    # Ids persist across a remount.
    m.remount()
    assert st3(os.path.join(t, CAROL + ".d", "inner"))[:2] == (P.uid(CAROL), P.gid(CAROL))


def test_file_mode_owner_group_other(m, principals):
    P = principals
    p = m.path("pub", "f")
    # alice's file, group tfs_staff (not her primary group: she chgrps it).
    assert ops(ALICE, ("write", p, "v1"), ("chown", p, -1, P.staff_gid),
               ("chmod", p, 0o640)) == [OK, OK, OK]
    # owner rw, group (carol via tfs_staff) r, other (bob) nothing.
    assert try_op(ALICE, "read", p) == ("ok", "v1")
    assert ops(CAROL, ("read", p), ("openw", p), ("write", p, "carol")) == [
        ("ok", "v1"), "EACCES", "EACCES"]
    assert ops(BOB, ("read", p), ("openw", p)) == ["EACCES", "EACCES"]
    # 0604: the group class matches carol first, so she may not read while
    # bob (other) may.
    ok(ALICE, "chmod", p, 0o604)
    assert try_op(CAROL, "read", p) == "EACCES"
    assert try_op(BOB, "read", p) == ("ok", "v1")
    # 0660: carol writes, bob does not.
    ok(ALICE, "chmod", p, 0o660)
    assert try_op(CAROL, "write", p, "by carol") == OK
    assert try_op(BOB, "write", p, "by bob") == "EACCES"
    assert try_op(BOB, "append", p, "by bob") == "EACCES"
    assert read(p) == b"by carol"
    # The owner with no permission bits for herself: EACCES, though the
    # group may.
    ok(ALICE, "chmod", p, 0o060)
    assert ops(ALICE, ("read", p), ("openw", p)) == ["EACCES", "EACCES"]
    assert try_op(CAROL, "read", p) == ("ok", "by carol")
    # The writer's identity does not change the owner.
    assert st3(p) == (P.uid(ALICE), P.staff_gid, 0o060)


def test_execute_only_program_runs(m, principals):
    """A program of mode 0711 runs for those who may not read it, as on ext4:
    execve() opens it O_RDONLY|__FMODE_EXEC, which asks for x, not r."""
    P = principals
    prog = m.path("pub", "prog")
    as_user(ALICE, "cp /bin/true %s && chmod 0711 %s" % (prog, prog))
    assert st3(prog) == (P.uid(ALICE), P.gid(ALICE), 0o711)
    for user in (BOB, CAROL, ALICE):
        r = as_user(user, prog, check=False)
        assert r.returncode == 0, (user, r.returncode, r.stderr)
    # Reading (copying) it is still refused to those without r.
    assert try_op(BOB, "read", prog) == "EACCES"
    assert as_user(BOB, "cat %s >/dev/null" % prog, check=False).returncode != 0
    # No x for the caller's class: not run (0701 shuts out the group).
    ok(ALICE, "chmod", prog, 0o701)
    ok(ALICE, "chown", prog, -1, P.staff_gid)
    r = as_user(CAROL, prog, check=False)
    assert r.returncode == 126, (r.returncode, r.stderr)       # EACCES
    assert as_user(BOB, prog, check=False).returncode == 0


def test_folder_mode_create_delete_list(m, principals):
    team, pub = m.path("team"), m.path("pub")
    # team 0770: alice and carol create and delete each other's records;
    # bob may not even find it (privacy: ENOENT).
    assert ops(ALICE, ("write", team + "/a", "a"), ("mkdir", team + "/adir")) == [OK, OK]
    assert ops(CAROL, ("write", team + "/c", "c"), ("listdir", team)) == [
        OK, ("ok", ["a", "adir", "c"])]
    assert try_op(CAROL, "unlink", team + "/a") == OK
    assert try_op(CAROL, "rmdir", team + "/adir") == OK
    assert try_op(ALICE, "unlink", team + "/c") == OK
    assert ops(BOB, ("listdir", team), ("write", team + "/b", "b"),
               ("stat", team + "/c")) == ["ENOENT", "ENOENT", "ENOENT"]
    assert os.listdir(team) == []
    # pub 0755: only alice creates or deletes; the others list and read.
    # (a is writable by all, so fs.protected_hardlinks does not turn the
    # link into EPERM before the folder's permission is checked.)
    assert ops(ALICE, ("write", pub + "/a", "a"), ("chmod", pub + "/a", 0o666)) == [OK, OK]
    for user in (CAROL, BOB):
        assert ops(user, ("listdir", pub), ("read", pub + "/a"),
                   ("create", pub + "/" + user), ("mkdir", pub + "/d" + user),
                   ("unlink", pub + "/a"), ("rename", pub + "/a", pub + "/z"),
                   ("symlink", "a", pub + "/l" + user),
                   ("link", pub + "/a", pub + "/h" + user)) == [
            ("ok", ["a"]), ("ok", "a"), "EACCES", "EACCES", "EACCES", "EACCES",
            "EACCES", "EACCES"], user
    assert os.listdir(pub) == ["a"]
    # A 0750 subfolder of team: carol lists and reads, does not create or
    # delete in it.
    sub = team + "/ro"
    assert ops(ALICE, ("mkdir", sub, 0o750), ("chown", sub, -1, principals.staff_gid),
               ("write", sub + "/x", "x"), ("chmod", sub + "/x", 0o644)) == [OK] * 4
    assert ops(CAROL, ("listdir", sub), ("read", sub + "/x"), ("create", sub + "/y"),
               ("unlink", sub + "/x"), ("mkdir", sub + "/z")) == [
        ("ok", ["x"]), ("ok", "x"), "EACCES", "EACCES", "EACCES"]
    # A 0710 folder: the group may enter (x) but not list (r).
    ok(ALICE, "chmod", sub, 0o710)
    assert ops(CAROL, ("listdir", sub), ("read", sub + "/x")) == ["EACCES", ("ok", "x")]
    # A 0700 folder: carol cannot enter it.
    ok(ALICE, "chmod", sub, 0o700)
    assert ops(CAROL, ("listdir", sub), ("read", sub + "/x"), ("stat", sub + "/x")) == [
        "EACCES", "EACCES", "EACCES"]
    assert os.listdir(sub) == ["x"]


def test_chmod_and_chown_rules(m, principals):
    P = principals
    p = m.path("team", "f")
    ops(ALICE, ("write", p, "data"), ("chmod", p, 0o660))
    # Only the owner (or root) changes modes, even with write permission.
    assert try_op(CAROL, "chmod", p, 0o666) == "EPERM"
    assert st3(p)[2] == 0o660
    assert try_op(ALICE, "chmod", p, 0o640) == OK
    assert st3(p)[2] == 0o640
    # chown to another user: EPERM for the owner and for others.
    assert try_op(ALICE, "chown", p, P.uid(BOB), -1) == "EPERM"
    assert try_op(CAROL, "chown", p, P.uid(CAROL), -1) == "EPERM"
    assert st3(p)[:2] == (P.uid(ALICE), P.gid(ALICE))
    # chgrp by the owner: to a group she is in (tfs_staff) yes, to one she is
    # not in (bob's) no.
    assert try_op(ALICE, "chown", p, -1, P.staff_gid) == OK
    assert st3(p)[:2] == (P.uid(ALICE), P.staff_gid)
    assert try_op(ALICE, "chown", p, -1, P.gid(BOB)) == "EPERM"
    assert try_op(ALICE, "chown", p, -1, P.gid(ALICE)) == OK
    # A non-owner may not chgrp, even to a group both are in.
    assert try_op(CAROL, "chown", p, -1, P.staff_gid) == "EPERM"
    assert st3(p)[:2] == (P.uid(ALICE), P.gid(ALICE))
    # chmod and chown of a folder follow the same rules.
    d = m.path("team", "d")
    ok(ALICE, "mkdir", d)
    assert try_op(CAROL, "chmod", d, 0o777) == "EPERM"
    assert try_op(ALICE, "chown", d, -1, P.staff_gid) == OK
    assert try_op(ALICE, "chown", d, P.uid(CAROL), -1) == "EPERM"
    assert st3(d) == (P.uid(ALICE), P.staff_gid, 0o755)
    # root chowns anything to anyone; the new owner then chmods it.
    os.chown(p, P.uid(CAROL), P.gid(CAROL))
    assert st3(p)[:2] == (P.uid(CAROL), P.gid(CAROL))
    assert try_op(CAROL, "chmod", p, 0o600) == OK
    assert try_op(ALICE, "chmod", p, 0o666) == "EPERM"
    assert try_op(ALICE, "read", p) == "EACCES"
    assert ops(CAROL, ("read", p)) == [("ok", "data")]
    # And it all persists.
    m.remount()
    assert st3(p) == (P.uid(CAROL), P.gid(CAROL), 0o600)
    assert st3(d) == (P.uid(ALICE), P.staff_gid, 0o755)


def test_sticky_folder(m, principals):
    drop = m.path("pub", "drop")
    assert ops(ALICE, ("mkdir", drop), ("chmod", drop, 0o1777),
               ("write", drop + "/alice", "a")) == [OK, OK, OK]
    assert st3(drop)[2] == 0o1777
    assert ops(BOB, ("write", drop + "/bob", "b")) == [OK]
    assert ops(CAROL, ("write", drop + "/carol", "c")) == [OK]
    # bob may not delete or rename away alice's or carol's files...
    assert ops(BOB, ("unlink", drop + "/alice"), ("unlink", drop + "/carol"),
               ("rename", drop + "/alice", drop + "/mine")) == ["EPERM", "EPERM", "EPERM"]
    # ...nor replace one by renaming over it.
    assert try_op(BOB, "rename", drop + "/bob", drop + "/alice") == "EPERM"
    # but his own, yes; the folder's owner deletes anyone's, and so does root.
    assert ops(BOB, ("unlink", drop + "/bob")) == [OK]
    assert ops(ALICE, ("unlink", drop + "/carol")) == [OK]
    assert sorted(os.listdir(drop)) == ["alice"]
    assert read(drop + "/alice") == b"a"
    ok(BOB, "write", drop + "/bob2", "b")
    os.unlink(drop + "/bob2")
    assert sorted(os.listdir(drop)) == ["alice"]


def test_setgid_folder(m, principals):
    P = principals
    sg = m.path("pub", "sg")
    assert ops(ALICE, ("mkdir", sg), ("chown", sg, -1, P.staff_gid),
               ("chmod", sg, 0o2777)) == [OK, OK, OK]
    assert st3(sg) == (P.uid(ALICE), P.staff_gid, 0o2777)
    # bob is not in tfs_staff, yet what he creates here gets it; a folder he
    # creates keeps the setgid bit.
    assert ops(BOB, ("write", sg + "/f", "x"), ("mkdir", sg + "/d"),
               ("write", sg + "/d/g", "y")) == [OK, OK, OK]
    assert st3(sg + "/f")[:2] == (P.uid(BOB), P.staff_gid)
    uid, gid, mode = st3(sg + "/d")
    assert (uid, gid) == (P.uid(BOB), P.staff_gid)
    assert mode & stat.S_ISGID, oct(mode)
    assert st3(sg + "/d/g")[:2] == (P.uid(BOB), P.staff_gid)
    # Outside a setgid folder, his own group.
    plain = m.path("pub", "plain")
    assert ops(ALICE, ("mkdir", plain), ("chown", plain, -1, P.staff_gid),
               ("chmod", plain, 0o777)) == [OK, OK, OK]
    assert ops(BOB, ("write", plain + "/f", "x"), ("mkdir", plain + "/d")) == [OK, OK]
    assert st3(plain + "/f")[:2] == (P.uid(BOB), P.gid(BOB))
    assert st3(plain + "/d") == (P.uid(BOB), P.gid(BOB), 0o755)


def test_tenant_folder_chmod_chown_through_the_mount(m, principals, store):
    """chmod/chgrp/chown of a tenant folder through the mount follow POSIX
    and change the registry (docs/permissions.md)."""
    P = principals
    team, pub = m.path("team"), m.path("pub")
    assert try_op(CAROL, "chmod", team, 0o777) == "EPERM"       # group, not owner
    assert try_op(BOB, "chmod", pub, 0o777) == "EPERM"
    assert try_op(BOB, "chown", pub, P.uid(BOB), -1) == "EPERM"
    assert st3(team) == (P.uid(ALICE), P.staff_gid, 0o770)
    # The owner opens her tenant to others: bob now sees it.
    assert try_op(ALICE, "chmod", team, 0o775) == OK
    assert st3(team) == (P.uid(ALICE), P.staff_gid, 0o775)
    assert tenant_list(store)["team"]["mode"] == "0775"
    assert "team" in ok(BOB, "listdir", m.mnt)
    # chgrp to a group she is in, not to one she is not in; chown: root only.
    assert try_op(ALICE, "chown", team, -1, P.gid(ALICE)) == OK
    assert try_op(ALICE, "chown", team, -1, P.gid(BOB)) == "EPERM"
    assert try_op(ALICE, "chown", team, P.uid(BOB), -1) == "EPERM"
    e = tenant_list(store)["team"]
    assert (e["uid"], e["gid"], e["mode"]) == (P.uid(ALICE), P.gid(ALICE), "0775")
    os.chown(team, P.uid(BOB), P.gid(BOB))
    assert st3(team) == (P.uid(BOB), P.gid(BOB), 0o775)
    e = tenant_list(store)["team"]
    assert (e["uid"], e["gid"], e["owner"], e["group"]) == (P.uid(BOB), P.gid(BOB), BOB, BOB)
    # Now bob is the one who chmods it; closing it hides it from alice.
    assert try_op(ALICE, "chmod", team, 0o777) == "EPERM"
    assert try_op(BOB, "chmod", team, 0o700) == OK
    assert try_op(ALICE, "stat", team) == "ENOENT"
    assert "team" not in ok(CAROL, "listdir", m.mnt)
    m.remount()
    assert st3(team) == (P.uid(BOB), P.gid(BOB), 0o700)


# ---------------------------------------------------------------- across tenants

def test_rename_and_link_across_tenants_exdev(m, principals):
    # alice owns both team and pub.
    team, pub = m.path("team"), m.path("pub")
    assert ops(ALICE, ("write", team + "/f", "team data"), ("mkdir", team + "/d"),
               ("write", pub + "/g", "pub data")) == [OK, OK, OK]
    assert ops(ALICE, ("rename", team + "/f", pub + "/f"),
               ("link", team + "/f", pub + "/f"),
               ("rename", team + "/d", pub + "/d"),
               ("rename", pub + "/g", team + "/f"),      # over an existing file
               ("link", pub + "/g", team + "/g")) == ["EXDEV"] * 5
    for fn, a, b in ((os.rename, team + "/f", pub + "/f"),
                     (os.link, team + "/f", pub + "/f"),
                     (os.rename, team + "/d", pub + "/d"),
                     (os.rename, pub + "/g", team + "/f"),
                     (os.link, pub + "/g", m.path("acme", "g")),
                     (os.rename, pub + "/g", m.path("acme", "g"))):
        expect_errno(errno.EXDEV, fn, a, b)
    assert sorted(os.listdir(team)) == ["d", "f"]
    assert sorted(os.listdir(pub)) == ["g"]
    assert os.listdir(m.path("acme")) == []
    assert read(team + "/f") == b"team data" and read(pub + "/g") == b"pub data"
    assert os.stat(team + "/f").st_nlink == 1
    # mv falls back to copy and delete.
    r = util.run(["runuser", "-u", ALICE, "--", "mv", team + "/f", pub + "/moved"], cwd="/")
    assert r.returncode == 0
    assert read(pub + "/moved") == b"team data"
    assert not os.path.exists(team + "/f")


def test_user_of_one_tenant_cannot_read_another(store, principals):
    store.add_tenant("alices", owner=ALICE, mode="0750")
    store.add_tenant("bobs", owner=BOB, mode="0750")
    mnt = store.mount()
    mnt.start()
    try:
        a, b = mnt.path("alices"), mnt.path("bobs")
        ok(ALICE, "write", a + "/secret", "alice's")
        ok(BOB, "write", b + "/secret", "bob's")
        os.chmod(b + "/secret", 0o644)          # even readable by all
        assert ops(ALICE, ("read", b + "/secret"), ("listdir", b), ("stat", b),
                   ("write", b + "/x", "x"), ("rename", a + "/secret", b + "/y"),
                   ("link", a + "/secret", b + "/y")) == ["ENOENT"] * 6
        assert ops(BOB, ("read", a + "/secret"), ("listdir", a)) == ["ENOENT"] * 2
        assert try_op(CAROL, "read", a + "/secret") == "ENOENT"
        assert os.listdir(b) == ["secret"] and os.listdir(a) == ["secret"]
        assert read(b + "/secret") == b"bob's"
    finally:
        mnt.stop()


# ---------------------------------------------------------------- the mount root

def test_only_root_creates_tenants(m, principals, store):
    before = tenant_list(store)
    before_ls = sorted(os.listdir(m.mnt))
    for user in (ALICE, BOB, CAROL):
        assert ops(user, ("mkdir", m.path("x" + user)), ("mkdir", m.path("x"), 0o700)) == [
            "EACCES", "EACCES"], user
        # Nor remove one (acme is root's 0755: they all see it).
        assert ops(user, ("rmdir", m.path("acme")),
                   ("rename", m.path("pub"), m.path("pub2"))) == ["EACCES", "EACCES"], user
    assert sorted(os.listdir(m.mnt)) == before_ls
    assert tenant_list(store) == before
    # root: a new tenant owned by root with the mkdir mode.
    os.mkdir(m.path("newt"), 0o750)
    assert st3(m.path("newt")) == (0, 0, 0o750)
    assert "newt" in os.listdir(m.mnt)
    after = tenant_list(store)
    assert set(after) == set(before) | {"newt"}
    e = after["newt"]
    assert (e["uid"], e["gid"], e["mode"], e["owner"], e["group"]) == (
        0, 0, "0750", "root", "root")
    # It is a real tenant: usable, and still there after a remount.
    with open(m.path("newt", "rec"), "w") as f:
        f.write("hello")
    m.remount()
    assert st3(m.path("newt")) == (0, 0, 0o750)
    assert read(m.path("newt", "rec")) == b"hello"
    # Invalid tenant names: nothing created.
    expect_errno(errno.ENAMETOOLONG, os.mkdir, m.path("n" * 256))
    for bad in ("a\x01b", "tab\tx", ".dotted"):
        with pytest.raises(OSError) as ei:
            os.mkdir(m.path(bad))
        assert ei.value.errno in (errno.EINVAL, errno.EPERM), (
            bad, errno.errorcode[ei.value.errno])
    assert set(os.listdir(m.mnt)) == set(before_ls) | {"newt"}
    # An existing name: EEXIST, nothing changed.
    expect_errno(errno.EEXIST, os.mkdir, m.path("newt"))
    expect_errno(errno.EEXIST, os.mkdir, m.path("pub"))
    assert read(m.path("newt", "rec")) == b"hello"
    assert set(tenant_list(store)) == set(after)


def test_only_root_removes_tenants(m, principals, store):
    with open(m.path("team", "rec"), "w") as f:
        f.write("keep")
    os.mkdir(m.path("team", "sub"))
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("team"))
    assert read(m.path("team", "rec")) == b"keep"
    assert "team" in tenant_list(store)
    # The owner of the tenant may not remove it either, even emptied.
    os.unlink(m.path("team", "rec"))
    os.rmdir(m.path("team", "sub"))
    assert try_op(ALICE, "rmdir", m.path("team")) == "EACCES"
    assert "team" in os.listdir(m.mnt)
    # root removes an empty tenant: gone from the mount and the registry.
    os.rmdir(m.path("team"))
    assert "team" not in os.listdir(m.mnt)
    expect_errno(errno.ENOENT, os.stat, m.path("team"))
    assert "team" not in tenant_list(store)
    assert try_op(ALICE, "stat", m.path("team")) == "ENOENT"
    expect_errno(errno.ENOENT, os.rmdir, m.path("team"))
    # A tenant holding an open (unlinked) file is busy.
    f = open(m.path("pub", "held"), "w+")
    try:
        f.write("held")
        f.flush()
        os.unlink(m.path("pub", "held"))
        assert os.listdir(m.path("pub")) == []
        expect_errno(errno.EBUSY, os.rmdir, m.path("pub"))
        assert "pub" in tenant_list(store)
        f.seek(0)
        assert f.read() == "held"
    finally:
        f.close()
    # Once closed (the release reaches the daemon asynchronously), it goes.
    def try_rmdir():
        try:
            os.rmdir(m.path("pub"))
            return True
        except OSError as e:
            assert e.errno == errno.EBUSY, errno.errorcode.get(e.errno)
            return False
    assert util.wait_for(try_rmdir, timeout=2), "pub still busy after close"
    assert sorted(os.listdir(m.mnt)) == ["acme"]
    m.remount()
    assert sorted(os.listdir(m.mnt)) == ["acme"]
    assert set(tenant_list(store)) == {"acme"}


def test_nothing_else_at_the_root(m, principals):
    with open(m.path("acme", "f"), "w") as f:
        f.write("x")
    root_ops = [
        (lambda: open(m.path("loose"), "w"),),
        (os.symlink, "acme", m.path("ln")),
        (os.link, m.path("acme", "f"), m.path("hard")),
        (os.mkfifo, m.path("fifo")),
        (os.rename, m.path("acme"), m.path("acme2")),
        (os.rename, m.path("acme"), m.path("pub")),
    ]
    for op in root_ops:
        expect_errno(errno.EPERM, *op)
    # Moving a record out of its tenant to the root, or a tenant into
    # another tenant: EPERM (docs/permissions.md: "renaming anything into or
    # out of it").
    expect_errno(errno.EPERM, os.rename, m.path("acme", "f"), m.path("f"))
    expect_errno(errno.EPERM, os.rename, m.path("acme"), m.path("pub", "acme"))
    assert sorted(os.listdir(m.mnt)) == ["acme", "pub", "team"]
    assert read(m.path("acme", "f")) == b"x"
    # Users get EACCES at the root (it is 0755 root:root).
    assert ops(ALICE, ("create", m.path("loose")), ("symlink", "acme", m.path("ln"))) == [
        "EACCES", "EACCES"]
    assert sorted(os.listdir(m.mnt)) == ["acme", "pub", "team"]
