"""Setuid and setgid bits go when a file is changed, as on a local disk
(fs/fs_io.c: the daemon kills them itself, FUSE_HANDLE_KILLPRIV_V2, so that
the kernel need not ask for security.capability before every write).

Each case runs as a real user on tenantfs and on a folder of the machine's
own filesystem (the reference), and the mode after it must be the same on
both, and the one written here: setuid goes when someone without
CAP_FSETID (any user but root) writes or truncates the file, or anyone
chowns it (even to the same owner and group); setgid goes too when the
group may execute it or the writer is neither root nor in the file's
group, and stays otherwise (the kernel's setattr_should_drop_sgid).

Tenant of the `m` fixture: pub, tfs_alice:tfs_staff 0755; the files are
alice's, group tfs_staff (carol is a member, bob is "other").
"""

import grp
import os
import shutil
import tempfile

import pytest

import util
from users import ALICE, BOB, CAROL, OK, STAFF, ops, principals, pub, try_op  # noqa: F401

# (name, mode set by alice, who changes it, how, mode expected after)
CASES = [
    ("other_writes_setuid", 0o4777, BOB, "append", 0o777),
    ("other_writes_setuid_setgid", 0o6777, BOB, "append", 0o777),
    ("other_writes_setgid_not_group_exec", 0o2767, BOB, "append", 0o767),
    ("member_writes_setgid_not_group_exec", 0o2767, CAROL, "append", 0o2767),
    ("member_writes_setgid_group_exec", 0o2777, CAROL, "append", 0o777),
    ("other_truncates_setuid", 0o4777, BOB, "truncate", 0o777),
    ("other_opens_setuid_with_o_trunc", 0o4777, BOB, "truncopen", 0o777),
    ("other_opens_setuid_with_o_trunc_and_writes", 0o4777, BOB, "write", 0o777),
    ("other_fallocates_setuid", 0o4777, BOB, "fallocate", 0o777),
    ("root_fallocates_setuid", 0o4777, "root", "fallocate", 0o4777),
    ("owner_writes_own_setuid", 0o4755, ALICE, "append", 0o755),
    ("root_writes_setuid", 0o4777, "root", "append", 0o4777),
    ("root_truncates_setgid", 0o2777, "root", "truncate", 0o2777),
    ("root_chowns_setuid_setgid", 0o6755, "root", "chown", 0o755),
    ("root_chowns_nothing_of_setuid", 0o4755, "root", "chown_none", 0o755),
    ("root_chowns_setgid_not_group_exec", 0o2745, "root", "chown", 0o2745),
    ("owner_chgrps_setgid_not_group_exec", 0o2745, ALICE, "chown", 0o2745),
]


@pytest.fixture
def m(pub):
    return pub


@pytest.fixture
def ref(principals):
    d = tempfile.mkdtemp(prefix="tfs-ref-", dir="/tmp")
    os.chmod(d, 0o755)
    os.chown(d, principals.uid(ALICE), -1)
    yield d
    shutil.rmtree(d)


def change(user, how, path):
    if how == "chown":                                  # the same group
        return try_op(user, "chown", path, -1, grp.getgrnam(STAFF).gr_gid)
    if how == "chown_none":                             # chown(f, -1, -1)
        return try_op(user, "chown", path, -1, -1)
    if how == "append":
        return try_op(user, "append", path, "more")
    if how == "truncate":
        return try_op(user, "truncate", path, 1)
    if how in ("truncopen", "fallocate"):
        return try_op(user, how, path, *([65536] if how == "fallocate" else []))
    return try_op(user, "write", path, "new")          # O_TRUNC open


def mode_after(folder, name, mode, user, how):
    path = os.path.join(folder, name)
    staff = grp.getgrnam(STAFF).gr_gid
    assert ops(ALICE, ("write", path, "data"), ("chown", path, -1, staff),
               ("chmod", path, mode)) == [OK] * 3
    assert try_op(ALICE, "stat", path)[1][2] == mode
    assert change(user, how, path) == OK
    return try_op(ALICE, "stat", path)[1][2]


@pytest.mark.parametrize("name,mode,user,how,expected", CASES,
                         ids=[c[0] for c in CASES])
def test_setuid_and_setgid_after_a_change_as_on_a_local_disk(m, ref, name, mode,
                                                            user, how, expected):
    on_ref = mode_after(ref, name, mode, user, how)
    on_tfs = mode_after(m.path("pub"), name, mode, user, how)
    assert (oct(on_tfs), oct(on_ref)) == (oct(expected), oct(expected))
    # Written through tenantfs: the bytes are there too.
    want = {"append": "datamore", "truncate": "d", "write": "new", "truncopen": "",
            "fallocate": "data" + "\0" * (65536 - 4)}.get(how, "data")
    assert try_op(ALICE, "read", m.path("pub", name)) == ("ok", want)


def test_chown_of_a_fifo_clears_its_setuid_as_on_a_local_disk(m, ref):
    """Every chown of a non-folder kills, not only of a regular file."""
    got = []
    for folder in (ref, m.path("pub")):
        path = os.path.join(folder, "fifo")
        assert ops(ALICE, ("mkfifo", path, 0o644), ("chmod", path, 0o6777)) == [OK] * 2
        assert try_op("root", "chown", path, -1, grp.getgrnam(STAFF).gr_gid) == OK
        got.append(try_op(ALICE, "stat", path)[1][2])
    assert [oct(g) for g in got] == [oct(0o777)] * 2


def test_a_write_asks_no_capability_check_of_the_daemon(m, store):
    """The kernel skips its security.capability check (a GETXATTR) on the
    writes that follow the first, once the daemon kills privileges itself:
    ten writes to an open file cost at most one GETXATTR."""
    path = m.path("pub", "many")
    assert try_op(ALICE, "write", path, "x") == OK
    before = util.counters(store)["fuse.getxattr"]
    fd = os.open(path, os.O_WRONLY)
    try:
        for i in range(10):
            os.pwrite(fd, b"y" * 100, i * 100)
    finally:
        os.close(fd)
    assert util.counters(store)["fuse.getxattr"] - before <= 1
