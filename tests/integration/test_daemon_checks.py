"""Permission checks with names cached (docs/permissions.md): the kernel
checks the mode bits with the attributes it caches (default_permissions)
and caches names in every folder; the daemon checks every request again.
What users rely on, through a real allow_other mount and real Unix users:

  - a folder (or a tenant's folder) closed by chmod, or a name moved into a
    closed folder, is refused at once, although names below it were cached:
    well within the second (FS_TIMEOUT) the kernel keeps a name; a tenant
    closed that way becomes absent (ENOENT) to the others;
  - the owner's walk through a private folder opens no way for others;
  - access(2) and running a program follow the mode bits;
  - a hard link to someone else's file needs read and write on it, as the
    kernel's fs.protected_hardlinks has it.

Tenant of the `m` fixture: pub, tfs_alice:tfs_staff 0755 (bob is "other").
"""

import pytest

from users import ALICE, BOB, OK, Session, ok, ops, principals, pub, try_op  # noqa: F401

# Well below FS_TIMEOUT (1 s, fs/fs.h), the time a forgotten invalidation
# would leave a cached name usable.
AT_ONCE = 0.3


@pytest.fixture
def m(pub):
    return pub


def closes_at_once(session, path, refused="EACCES"):
    """As the session's user, stat `path` until refused; returns how long it
    took (or fails)."""
    r, took = session.op("until", ("stat", path), refused, AT_ONCE)
    assert r == refused, "%s still reachable after %.2f s: %r" % (path, took, r)
    return took


def test_a_folder_closed_by_chmod_refuses_its_cached_names_at_once(m):
    d = m.path("pub", "d")
    assert ops(ALICE, ("mkdir", d, 0o755), ("write", d + "/f", "x"),
               ("mkdir", d + "/sub", 0o755), ("write", d + "/sub/g", "y")) == [OK] * 4
    with Session(BOB) as bob, Session(ALICE) as alice:
        # bob walks both paths: the kernel now caches d/f, d/sub and d/sub/g.
        assert bob.op("read", d + "/f") == ("ok", "x")
        assert bob.op("read", d + "/sub/g") == ("ok", "y")
        assert alice.op("chmod", d, 0o700) == OK
        closes_at_once(bob, d + "/f")
        assert bob.op("stat", d + "/sub/g") == "EACCES"
        assert bob.op("read", d + "/sub/g") == "EACCES"
        # The owner still walks it.
        assert alice.op("read", d + "/sub/g") == ("ok", "y")
        # Opened again: names cached for everyone once more.
        assert alice.op("chmod", d, 0o755) == OK
        assert bob.op("read", d + "/sub/g") == ("ok", "y")


def test_a_folder_closed_while_open_lists_but_does_not_open_the_way(m):
    """A descriptor of a folder keeps listing it after a chmod closed it
    (as on any POSIX filesystem), but the names found through the
    descriptor need search permission on the folder now."""
    d = m.path("pub", "d")
    assert ops(ALICE, ("mkdir", d, 0o755), ("write", d + "/f", "x")) == [OK] * 2
    with Session(BOB) as bob, Session(ALICE) as alice:
        fd = bob.op("open", d, "r")[1]
        assert bob.op("fdlist", fd) == ("ok", ["f"])
        assert bob.op("fdstat", fd, "f")[0] == "ok"
        assert alice.op("chmod", d, 0o700) == OK
        for _ in range(3):
            assert bob.op("fdlist", fd) == ("ok", ["f"])
            assert bob.op("fdstat", fd, "f") == "EACCES"
        bob.op("fdclose", fd)


def test_the_owners_walk_opens_no_way_into_a_closed_folder(m):
    d = m.path("pub", "priv")
    assert ops(ALICE, ("mkdir", d, 0o700), ("write", d + "/f", "x")) == [OK] * 2
    with Session(BOB) as bob, Session(ALICE) as alice:
        # alice's walk does not open the way for bob, not even for a moment.
        assert alice.op("read", d + "/f") == ("ok", "x")
        assert bob.op("stat", d + "/f") == "EACCES"
        assert bob.op("read", d + "/f") == "EACCES"
        # The folder itself is in pub, which bob may search.
        r = bob.op("stat", d)
        assert r[0] == "ok" and r[1][2] == 0o700, r


def test_a_name_moved_into_a_closed_folder_is_refused_at_once(m):
    pub, priv = m.path("pub"), m.path("pub", "priv")
    assert ops(ALICE, ("mkdir", priv, 0o700), ("write", pub + "/f", "x"),
               ("mkdir", pub + "/dir", 0o755), ("write", pub + "/dir/g", "y")) == [OK] * 4
    with Session(BOB) as bob, Session(ALICE) as alice:
        assert bob.op("read", pub + "/f") == ("ok", "x")
        assert bob.op("read", pub + "/dir/g") == ("ok", "y")
        assert alice.op("rename", pub + "/f", priv + "/f") == OK
        assert alice.op("rename", pub + "/dir", priv + "/dir") == OK
        closes_at_once(bob, priv + "/f")
        closes_at_once(bob, priv + "/dir/g")
        assert alice.op("read", priv + "/dir/g") == ("ok", "y")


def test_a_tenant_closed_through_the_mount_hides_its_cached_names(m):
    t = m.path("pub")
    assert ops(ALICE, ("mkdir", t + "/d", 0o755), ("write", t + "/d/f", "x")) == [OK] * 2
    with Session(BOB) as bob, Session(ALICE) as alice:
        assert bob.op("read", t + "/d/f") == ("ok", "x")
        assert bob.op("stat", t + "/d/f")[0] == "ok"
        assert alice.op("chmod", t, 0o700) == OK
        # Absent to bob, as at the mount root (privacy).
        closes_at_once(bob, t + "/d/f", refused="ENOENT")
        assert bob.op("stat", t) == "ENOENT"
        assert alice.op("chmod", t, 0o755) == OK
        assert bob.op("read", t + "/d/f") == ("ok", "x")


def test_only_the_owner_clears_setgid_of_a_folder(m):
    """The kernel clears setuid/setgid of a file written by another user
    (and the daemon lets that through); a folder's setgid is the owner's
    alone, whoever may write in it."""
    d = m.path("pub", "shared")
    assert ops(ALICE, ("mkdir", d, 0o777), ("chmod", d, 0o2777)) == [OK] * 2
    assert try_op(BOB, "chmod", d, 0o777) == "EPERM"
    assert try_op(ALICE, "stat", d)[1][2] == 0o2777


def test_access_and_running_a_program_follow_the_mode(m):
    prog, data = m.path("pub", "prog"), m.path("pub", "data")
    assert ops(ALICE, ("write", prog, "#!/bin/sh\nexit 7\n", 0o744),
               ("chmod", prog, 0o744), ("write", data, "x", 0o644),
               ("chmod", data, 0o444)) == [OK] * 4
    R, W, X = 4, 2, 1
    # bob is "other": r-- on both.
    assert ops(BOB, ("access", prog, R), ("access", prog, W), ("access", prog, X),
               ("exec", prog)) == [("ok", True), ("ok", False), ("ok", False), "EACCES"]
    assert ops(ALICE, ("access", prog, X), ("exec", prog),
               ("access", data, W)) == [("ok", True), ("ok", 7), ("ok", False)]
    # root reads and writes anything, but runs only what has an x bit.
    assert ops("root", ("access", data, R | W), ("access", data, X),
               ("access", prog, X)) == [("ok", True), ("ok", False), ("ok", True)]
    # A folder bob may not search: access through it is refused.
    assert ops(ALICE, ("mkdir", m.path("pub", "priv"), 0o700),
               ("write", m.path("pub", "priv", "f"), "x")) == [OK] * 2
    assert try_op(BOB, "access", m.path("pub", "priv", "f"), R) == ("ok", False)
    assert try_op(BOB, "access", m.path("pub", "priv"), X) == ("ok", False)


def test_hard_links_to_others_files_as_protected_hardlinks_says(m):
    with open("/proc/sys/fs/protected_hardlinks") as f:
        protected = f.read().strip() != "0"
    shared = m.path("pub", "shared")
    assert ops(ALICE, ("mkdir", shared, 0o777), ("chmod", shared, 0o777),
               ("write", m.path("pub", "secret"), "s", 0o600),
               ("write", m.path("pub", "open"), "o", 0o666),
               ("chmod", m.path("pub", "open"), 0o666)) == [OK] * 5
    got = ops(BOB, ("link", m.path("pub", "secret"), shared + "/a"),
              ("link", m.path("pub", "open"), shared + "/b"))
    assert got == (["EPERM", OK] if protected else [OK, OK])
