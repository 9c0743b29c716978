"""Privacy at the mount root (issue 4): a user sees in the root's listing only
the tenants whose folder they may search (x via owner, group or other,
supplementary groups included); root sees all.  A tenant a user may not see
behaves as absent (ENOENT), also right after another user who may see it used
it (the kernel's entry cache must not leak it), and the other way round (a
user's ENOENT must not hide it from one who may see it)."""

import errno
import os
import subprocess

import pytest

import util
from users import (ALICE, BOB, CAROL, STAFF, OK, ok, ops, principals,  # noqa: F401
                   try_op, until)


TENANTS = {                          # name: (owner, mode)
    "open": ("root:root", "0755"),
    "alices": (ALICE, "0700"),
    "staffonly": ("root:" + STAFF, "0750"),
    "bobs": (BOB, "0750"),
    "exonly": ("root:root", "0711"),     # others may search, not list
    "readonly": ("root:root", "0744"),   # others may list, not search: hidden
    "carols": (CAROL + ":" + STAFF, "0700"),   # the group has no x
}

VISIBLE = {
    "root": {"acme"} | set(TENANTS),
    ALICE: {"acme", "open", "alices", "staffonly", "exonly"},
    BOB: {"acme", "open", "bobs", "exonly"},
    CAROL: {"acme", "open", "staffonly", "exonly", "carols"},
}


@pytest.fixture
def m(store, principals):
    for name, (owner, mode) in TENANTS.items():
        store.add_tenant(name, owner=owner, mode=mode)
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def test_root_listing_per_user(m):
    assert set(os.listdir(m.mnt)) == VISIBLE["root"]
    for user in (ALICE, BOB, CAROL):
        # Twice: the second listing may come from a cache.
        assert ops(user, ("listdir", m.mnt), ("listdir", m.mnt)) == [
            ("ok", sorted(VISIBLE[user]))] * 2, user
    # Interleaved with root's and each other's listings.
    for user in (BOB, ALICE, CAROL, BOB):
        assert set(os.listdir(m.mnt)) == VISIBLE["root"]
        assert try_op(user, "listdir", m.mnt) == ("ok", sorted(VISIBLE[user])), user
    # `ls -a` shows only . and .. besides.
    r = util.run(["runuser", "-u", BOB, "--", "ls", "-a", m.mnt], cwd="/")
    assert sorted(r.stdout.split()) == sorted([".", ".."] + sorted(VISIBLE[BOB]))


def test_hidden_names_are_enoent(m):
    for user in (ALICE, BOB, CAROL):
        for name in sorted(VISIBLE["root"] - VISIBLE[user]):
            p = m.path(name)
            assert ops(user, ("stat", p), ("lstat", p), ("listdir", p),
                       ("read", p + "/x"), ("create", p + "/x"), ("mkdir", p + "/d"),
                       ("stat", p + "/.")) == ["ENOENT"] * 7, (user, name)
        for name in sorted(VISIBLE[user]):
            assert try_op(user, "stat", m.path(name))[0] == "ok", (user, name)
    # The x-only tenant: found, searched, not listed.
    ok("root", "write", m.path("exonly", "f"), "ex")
    os.chmod(m.path("exonly", "f"), 0o644)
    assert ops(BOB, ("listdir", m.path("exonly")), ("read", m.path("exonly", "f"))) == [
        "EACCES", ("ok", "ex")]
    # The r-only tenant stays hidden though its folder is readable.
    assert try_op(BOB, "listdir", m.path("readonly")) == "ENOENT"
    # A name that exists nowhere is ENOENT too: the two are indistinguishable.
    assert try_op(BOB, "stat", m.path("nosuch")) == "ENOENT"


def test_entry_cache_does_not_leak(m, principals):
    a = m.path("alices")
    ok(ALICE, "write", a + "/secret", "s")
    ok(ALICE, "chmod", a + "/secret", 0o644)
    for _ in range(3):
        # alice uses it; bob, right after, must not find it.
        assert ops(ALICE, ("stat", a), ("read", a + "/secret"), ("listdir", a)) == [
            ("ok", [principals.uid(ALICE), principals.gid(ALICE), 0o700, 0o040000]),
            ("ok", "s"), ("ok", ["secret"])]
        assert ops(BOB, ("stat", a), ("stat", a + "/secret"), ("read", a + "/secret"),
                   ("listdir", a)) == ["ENOENT"] * 4
        assert "alices" not in ok(BOB, "listdir", m.mnt)
        # and root's use does not leak it either.
        assert os.listdir(a) == ["secret"]
        assert try_op(CAROL, "read", a + "/secret") == "ENOENT"
        # bob's ENOENT must not hide it from alice (no negative cache shared).
        assert try_op(BOB, "stat", a) == "ENOENT"
        assert try_op(ALICE, "read", a + "/secret") == ("ok", "s")
        assert try_op(BOB, "stat", m.path("staffonly")) == "ENOENT"
        assert try_op(CAROL, "stat", m.path("staffonly"))[0] == "ok"
        assert try_op(BOB, "listdir", m.path("staffonly")) == "ENOENT"
        assert try_op(ALICE, "listdir", m.path("staffonly")) == ("ok", [])


def test_root_listing_with_attributes_does_not_leak(m):
    """`ls -l` by root (READDIRPLUS: entries handed to the kernel with the
    listing) does not make hidden tenants findable by others."""
    for _ in range(2):
        r = util.run(["ls", "-l", m.mnt])
        assert "alices" in r.stdout and "bobs" in r.stdout
        assert ops(BOB, ("stat", m.path("alices")), ("stat", m.path("staffonly")),
                   ("listdir", m.path("carols"))) == ["ENOENT"] * 3
        assert ops(ALICE, ("stat", m.path("bobs")), ("stat", m.path("readonly"))) == [
            "ENOENT"] * 2
        r = util.run(["runuser", "-u", BOB, "--", "ls", "-l", m.mnt], cwd="/")
        assert "alices" not in r.stdout and "bobs" in r.stdout


def test_owner_and_group_bits_decide_what_may_be_cached(m, store, principals):
    """A tenant that "other" may search but its owner's group may not (0701,
    group tfs_staff): carol (a member) may not see it, also right after root
    (a stat, or `ls -l` handing entries with the listing) made the kernel
    look it up.  Only a mode with all three x bits is for everyone."""
    util.ctl("tenant", "add", store.path, "grpshut", "--owner", "%s:%s" % (ALICE, STAFF),
             "--mode", "0701")
    p = m.path("grpshut")
    assert util.wait_for(lambda: os.path.isdir(p), timeout=1.0)
    for _ in range(3):
        os.stat(p)
        assert ops(CAROL, ("stat", p), ("lstat", p), ("listdir", p)) == ["ENOENT"] * 3
        util.run(["ls", "-l", m.mnt])
        assert try_op(CAROL, "stat", p) == "ENOENT"
        assert "grpshut" not in ok(CAROL, "listdir", m.mnt)
        # bob (other) and alice (the owner) may search it.
        assert try_op(BOB, "stat", p)[0] == "ok"
        assert try_op(ALICE, "stat", p)[0] == "ok"
        assert try_op(CAROL, "stat", p) == "ENOENT"
    # The owner's own bits: 0071 hides it from its owner alone.
    util.ctl("tenant", "chmod", store.path, "grpshut", "0071")
    for _ in range(3):
        assert until(ALICE, ("stat", p), "ENOENT", 1.0)[0] == "ENOENT"
        os.stat(p)
        assert try_op(CAROL, "stat", p)[0] == "ok"
        assert try_op(ALICE, "stat", p) == "ENOENT"


def test_root_link_count_does_not_count_tenants(m, store):
    """stat of the mount root does not tell how many tenants exist: its link
    count stays the same as tenants come and go (docs/permissions.md says 2)."""
    def nlink_as(user):
        r = util.run(["runuser", "-u", user, "--", "stat", "-c", "%h", m.mnt], cwd="/")
        return int(r.stdout)
    first = os.stat(m.mnt).st_nlink
    assert first in (1, 2), first
    assert nlink_as(BOB) == first
    util.ctl("tenant", "add", store.path, "extra1", "--owner", ALICE, "--mode", "0700")
    os.mkdir(m.path("extra2"), 0o700)
    assert util.wait_for(lambda: "extra1" in os.listdir(m.mnt), timeout=1.0)
    assert os.stat(m.mnt).st_nlink == first
    assert nlink_as(BOB) == first
    os.rmdir(m.path("extra2"))
    util.ctl("tenant", "remove", store.path, "extra1")
    assert util.wait_for(lambda: "extra1" not in os.listdir(m.mnt), timeout=1.0)
    assert os.stat(m.mnt).st_nlink == first


def test_held_descriptor_does_not_open_the_path(m):
    """alice in her tenant (cwd inside it) does not give bob a way in by
    path; the daemon checks with the caller's own ids."""
    a = m.path("alices")
    ok(ALICE, "write", a + "/secret", "s")
    ok(ALICE, "chmod", a + "/secret", 0o644)
    # setpriv execs (runuser would fork), so the pid is the holder's.
    holder = subprocess.Popen(["setpriv", "--reuid=" + ALICE, "--regid=" + ALICE,
                               "--init-groups", "--", "/bin/sh", "-c",
                               "cd %s && exec sleep 30" % a],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd="/")
    try:
        def holder_in():
            try:
                return os.readlink("/proc/%d/cwd" % holder.pid) == a
            except OSError:
                return False
        assert util.wait_for(holder_in, timeout=5), "holder did not enter " + a
        assert ops(BOB, ("read", a + "/secret"), ("stat", a)) == ["ENOENT", "ENOENT"]
    finally:
        holder.kill()
        holder.wait()


def test_chmod_reveals_within_a_second(m, store):
    a = m.path("alices")
    ok(ALICE, "write", a + "/note", "hi")
    ok(ALICE, "chmod", a + "/note", 0o644)
    for user in (BOB, CAROL):
        assert try_op(user, "stat", a) == "ENOENT"     # primes any cache
    util.ctl("tenant", "chmod", store.path, "alices", "0755")
    for user in (BOB, CAROL):
        assert until(user, ("read", a + "/note"), ("ok", "hi"), 1.0)[0] == ("ok", "hi"), user
        assert "alices" in ok(user, "listdir", m.mnt)
    # And hidden again.
    util.ctl("tenant", "chmod", store.path, "alices", "0700")
    for user in (BOB, CAROL):
        assert until(user, ("stat", a), "ENOENT", 1.0)[0] == "ENOENT", user
        assert "alices" not in ok(user, "listdir", m.mnt)
    assert try_op(ALICE, "read", a + "/note") == ("ok", "hi")


def test_closed_public_tenant_is_absent_at_once(m, store):
    """A tenant every user could search is cached by the kernel (its entry at
    the mount root); closed with `tenantctl tenant chmod`, it is ENOENT to
    the users shut out at once, not EACCES (which would tell it exists), nor
    its attributes; removed, it is ENOENT to everyone at once."""
    util.ctl("tenant", "add", store.path, "wasopen", "--owner", ALICE, "--mode", "0755")
    p = m.path("wasopen")
    assert util.wait_for(lambda: os.path.isdir(p), timeout=1.0)
    ok(ALICE, "write", p + "/f", "x")
    for user in (BOB, CAROL, "root"):
        assert ops(user, ("stat", p), ("stat", p + "/f"))[0][0] == "ok", user
    util.ctl("tenant", "chmod", store.path, "wasopen", "0700")
    for user in (BOB, CAROL):
        assert ops(user, ("stat", p), ("lstat", p), ("listdir", p)) == ["ENOENT"] * 3, user
        assert try_op(user, "stat", p + "/f") in ("ENOENT", "EACCES"), user
    assert try_op(ALICE, "stat", p)[0] == "ok"
    util.ctl("tenant", "chmod", store.path, "wasopen", "0755")
    assert until(BOB, ("read", p + "/f"), ("ok", "x"), 1.0)[0] == ("ok", "x")
    ok(ALICE, "unlink", p + "/f")
    util.ctl("tenant", "remove", store.path, "wasopen")
    for user in (BOB, ALICE, "root"):
        assert ops(user, ("stat", p), ("listdir", p), ("create", p + "/g")) == [
            "ENOENT"] * 3, user


def test_without_allow_other_only_the_mounting_user(store, principals):
    mnt = store.mount(options=())
    mnt.start()
    try:
        os.listdir(mnt.mnt)
        assert os.listdir(mnt.mnt) == ["acme"]
        for user in (ALICE, BOB):
            assert ops(user, ("listdir", mnt.mnt), ("stat", mnt.path("acme"))) == [
                "EACCES", "EACCES"], user
    finally:
        mnt.stop()
