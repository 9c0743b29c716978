"""When the disk fails (docs/journal.md): a failed fdatasync of the journal
(EIO) or a journal write failing with EROFS (the store's filesystem turned
read-only) puts the mount into a read-only error state instead of
pretending success: changes fail with EROFS, fsync with EIO, reads still
show every acknowledged change, `tenantctl stats` and the log say so, and
the next mount replays the journal with nothing lost.  A full disk only
fails the op that needed the room.

The failures are injected into the daemon with tests/faults/fault_preload.c
(LD_PRELOAD): fdatasync or pwrite fail while a trigger file exists.
"""

import errno
import json
import os

import pytest

import util

PRELOAD = os.path.join(util.BUILD, "tests", "fault_preload.so")


def _faulty_mount(store):
    faults = os.path.join(store.root, "faults")
    os.makedirs(faults, exist_ok=True)
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = util.child_env(LD_PRELOAD=PRELOAD, TFS_FAULT_DIR=faults,
                         ASAN_OPTIONS=(asan + ":" if asan else "") +
                         "verify_asan_link_order=0")
    return store.mount(env=env), faults


def _trigger(faults, call, err):
    with open(os.path.join(faults, call), "w") as f:
        f.write(str(err))


def _clear(faults, call):
    os.unlink(os.path.join(faults, call))


def _errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def _stats(store):
    return json.loads(util.ctl("stats", store.path, "--json").stdout)


def _stats_when(store, pred):
    """The daemon's figures once pred(figures) holds (they are published
    every commit interval), or the last ones read."""
    last = {}

    def probe():
        last.update(_stats(store))
        return pred(last)
    util.wait_for(probe)
    return last


def _refuses_every_change(a):
    """Every kind of change fails with EROFS; returns the errnos seen."""
    seen = {
        "create": _errno_of(lambda: os.close(os.open(os.path.join(a, "new"),
                                                     os.O_CREAT | os.O_WRONLY, 0o644))),
        "mkdir": _errno_of(os.mkdir, os.path.join(a, "dir")),
        "rename": _errno_of(os.rename, os.path.join(a, "b"), os.path.join(a, "c")),
        "unlink": _errno_of(os.unlink, os.path.join(a, "b")),
        "chmod": _errno_of(os.chmod, os.path.join(a, "b"), 0o600),
        "setxattr": _errno_of(os.setxattr, os.path.join(a, "b"), "user.k", b"v"),
        "truncate": _errno_of(os.truncate, os.path.join(a, "b"), 1),
    }
    assert all(e == errno.EROFS for e in seen.values()), seen


@pytest.fixture
def preload():
    if not os.path.exists(PRELOAD):
        pytest.fail("missing %s: build first" % PRELOAD)
    return PRELOAD


def test_fdatasync_eio_turns_the_mount_read_only(store, preload):
    m, faults = _faulty_mount(store)
    m.start()
    a = m.path("acme")
    try:
        util.put(os.path.join(a, "a"), b"synced", sync=True)
        util.put(os.path.join(a, "b"), b"closed")
        assert _stats_when(store, lambda s: s["daemon"])["read_only"] is False
        _trigger(faults, "fdatasync", errno.EIO)
        # The write reaches the daemon (acknowledged, journalled); the
        # flush that fsync asks for fails.
        with open(os.path.join(a, "a"), "r+b") as f:
            f.write(b"acked!")
            f.flush()
            assert _errno_of(os.fsync, f.fileno()) == errno.EIO
        _clear(faults, "fdatasync")             # the disk is back: too late
        _refuses_every_change(a)
        with open(os.path.join(a, "a"), "rb") as f:
            assert _errno_of(os.fsync, f.fileno()) == errno.EIO
        # Reads show every acknowledged change.
        assert util.get(os.path.join(a, "a")) == b"acked!"
        assert util.get(os.path.join(a, "b")) == b"closed"
        assert sorted(os.listdir(a)) == ["a", "b"]
        st = _stats_when(store, lambda s: s["read_only"])
        assert st["read_only"] is True and "I/O error" in st["failure"], st
        assert "read-only: " in util.ctl("stats", store.path).stdout
    finally:
        m.stop()
    assert "the store is read-only from now on" in m.read_log()
    # Mounted again (no fault): the journal is replayed, nothing is lost.
    m2 = store.mount()
    m2.start()
    try:
        assert util.get(m2.path("acme", "a")) == b"acked!"
        assert util.get(m2.path("acme", "b")) == b"closed"
        util.put(m2.path("acme", "c"), b"writable again", sync=True)
        st = _stats_when(store, lambda s: s["daemon"] and s["fsyncs"] >= 1)
        assert st["read_only"] is False and st["replayed"] >= 1, st
    finally:
        m2.stop()


def test_read_only_store_folder_turns_the_mount_read_only(store, preload):
    m, faults = _faulty_mount(store)
    m.start()
    a = m.path("acme")
    try:
        util.put(os.path.join(a, "b"), b"before")
        _trigger(faults, "pwrite", errno.EROFS)
        assert _errno_of(os.mkdir, os.path.join(a, "d")) == errno.EROFS
        _clear(faults, "pwrite")
        _refuses_every_change(a)
        assert util.get(os.path.join(a, "b")) == b"before"
        assert _stats_when(store, lambda s: s["read_only"])["read_only"] is True
    finally:
        m.stop()
    m2 = store.mount()
    m2.start()
    try:
        assert sorted(os.listdir(m2.path("acme"))) == ["b"]
        assert util.get(m2.path("acme", "b")) == b"before"
        os.mkdir(m2.path("acme", "d"))
    finally:
        m2.stop()


def test_full_disk_fails_only_the_op(store, preload):
    m, faults = _faulty_mount(store)
    m.start()
    a = m.path("acme")
    try:
        util.put(os.path.join(a, "b"), b"before")
        _trigger(faults, "pwrite", errno.ENOSPC)
        assert _errno_of(os.mkdir, os.path.join(a, "d")) == errno.ENOSPC
        _clear(faults, "pwrite")
        os.mkdir(os.path.join(a, "d"))          # room again: works
        util.put(os.path.join(a, "b"), b"after", sync=True)
        st = _stats_when(store, lambda s: s["daemon"] and s["fsyncs"] >= 1)
        assert st["read_only"] is False, st
    finally:
        m.stop()


def test_no_online_restore_while_read_only_after_a_failure(store, preload):
    """Acknowledged changes may then be in the journal only: the restore is
    refused with a clear message until a remount recovered them, and
    nothing of the tenant changes."""
    m, faults = _faulty_mount(store)
    m.start()
    a = m.path("acme")
    try:
        util.put(os.path.join(a, "a"), b"in the snapshot", sync=True)
        util.ctl("snapshot", "create", store.path, "s1", "--passfile",
                 store.passfile)
        _trigger(faults, "fdatasync", errno.EIO)
        with open(os.path.join(a, "a"), "r+b") as f:
            f.write(b"acked!")
            f.flush()
            assert _errno_of(os.fsync, f.fileno()) == errno.EIO
        _clear(faults, "fdatasync")
        r = util.ctl("snapshot", "restore", store.path, "s1", "--tenant",
                     "acme", "--passfile", store.passfile, check=False)
        assert r.returncode == 1 and "read-only error state" in r.stderr, r.stderr
        assert util.get(os.path.join(a, "a")) == b"acked! snapshot"
    finally:
        m.stop()
    m.start()
    try:
        assert util.get(os.path.join(a, "a")) == b"acked! snapshot"
        util.ctl("snapshot", "restore", store.path, "s1", "--tenant", "acme",
                 "--passfile", store.passfile)
        assert util.get(os.path.join(a, "a")) == b"in the snapshot"
    finally:
        m.stop()
