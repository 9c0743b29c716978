"""Restoring one tenant from a snapshot while the store stays mounted
(docs/snapshots.md, "Restore"): the tenant holds exactly the snapshot's
content at once, other tenants keep working throughout, the tenant's files
opened before fail cleanly (ESTALE) instead of reaching other records, and
a crash right after the restore neither loses it nor replays the changes
made before it onto the restored content.
"""

import errno
import os
import subprocess
import sys

import pytest

import util


def _ctl(store, *args, check=True):
    return util.ctl("snapshot", args[0], store.path, *args[1:], "--passfile",
                    store.passfile, check=check)


def _writer(folder):
    """Creates w00000, w00001, ... in `folder`, printing each name once
    closed, until a write fails (then prints the error and stops)."""
    code = ("import os, sys\n"
            "i = 0\n"
            "while True:\n"
            "    n = 'w%%05d' %% i\n"
            "    try:\n"
            "        with open(os.path.join(%r, n), 'wb') as f:\n"
            "            f.write(n.encode() * 100)\n"
            "    except OSError as e:\n"
            "        print('ERROR', n, e, flush=True)\n"
            "        break\n"
            "    print(n, flush=True)\n"
            "    i += 1\n" % folder)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _written(w, n, names):
    """Reads the writer's output until it closed n records in all."""
    while len(names) < n:
        line = w.stdout.readline().strip()
        assert line and not line.startswith("ERROR"), line
        names.append(line)


def _stop(w, names, crashed=False):
    """Stops the writer; adds the records it closed since last read (after
    a crash its last write failed: that one was not closed)."""
    w.terminate()
    w.wait()
    for line in w.stdout:
        line = line.strip()
        if line.startswith("ERROR"):
            assert crashed, line
        elif line:
            names.append(line)


def _tree(root):
    """{relative path: bytes or 'dir'} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for x in dirs:
            out[os.path.relpath(os.path.join(d, x), root)] = "dir"
        for x in files:
            out[os.path.relpath(os.path.join(d, x), root)] = util.get(os.path.join(d, x))
    return out


def _acme_before(m):
    os.mkdir(m.path("acme", "docs"))
    for i in range(50):
        util.put(m.path("acme", "docs", "d%02d" % i), b"doc %d " % i * 30)
    util.put(m.path("acme", "keep"), b"the snapshot's keep")
    util.put(m.path("acme", "gone"), b"deleted after the snapshot")
    os.symlink("keep", m.path("acme", "link"))


def _acme_after(m):
    """Changes after the snapshot, which the restore must undo."""
    util.put(m.path("acme", "keep"), b"overwritten after the snapshot, longer")
    os.unlink(m.path("acme", "gone"))
    util.put(m.path("acme", "new"), b"created after the snapshot")
    os.rename(m.path("acme", "docs", "d07"), m.path("acme", "d07-moved"))
    for i in range(50):            # new records reuse no old inode number...
        util.put(m.path("acme", "n%02d" % i), b"new %d" % i)


def test_one_tenant_is_restored_while_mounted_and_others_keep_working(store):
    store.add_tenant("beta")
    m = store.mount()
    m.start()
    _acme_before(m)
    want = _tree(m.path("acme"))
    _ctl(store, "create", "s1")
    _acme_after(m)
    # Files of the old content, open across the restore.
    reader = open(m.path("acme", "keep"), "rb")
    writer_f = open(m.path("acme", "n03"), "r+b")
    # ...while another tenant is written without pause.
    w = _writer(m.path("beta"))
    names = []
    try:
        _written(w, 100, names)
        r = _ctl(store, "restore", "s1", "--tenant", "acme")
        assert "tenant acme restored from snapshot s1 while mounted" in r.stdout
        _written(w, len(names) + 100, names)    # beta went on, no error
    finally:
        _stop(w, names)
    try:
        assert _tree(m.path("acme")) == want
        assert not os.path.exists(m.path("acme", "new"))
        assert os.readlink(m.path("acme", "link")) == "keep"
        # The old descriptors never reach the new content.
        with pytest.raises(OSError) as e:
            reader.read()
        assert e.value.errno == errno.ESTALE
        with pytest.raises(OSError) as e:
            writer_f.write(b"late")
            writer_f.flush()
            os.fsync(writer_f.fileno())
        assert e.value.errno == errno.ESTALE
        with pytest.raises(OSError) as e:
            os.fstat(reader.fileno())
        assert e.value.errno == errno.ESTALE
    finally:
        for f in (reader, writer_f):
            try:
                f.close()
            except OSError:
                pass                # the close of a stale file may say so too
    # The restored tenant is writable as ever, beta holds all it wrote.
    util.put(m.path("acme", "after-restore"), b"written after the restore")
    for n in names:
        assert util.get(m.path("beta", n)) == n.encode() * 100
    m.stop()
    m.start()
    try:
        want["after-restore"] = b"written after the restore"
        assert _tree(m.path("acme")) == want
        # every record beta closed (and perhaps the one being written
        # when the writer was stopped)
        have = set(os.listdir(m.path("beta")))
        assert set(names) <= have and len(have) <= len(names) + 1
    finally:
        m.stop()
    r = util.ctl("check", store.path, "--passfile", store.passfile, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_crash_after_an_online_restore_replays_nothing_from_before(store):
    """A kill -9 right after an online restore, with another tenant being
    written throughout: the restored content survives (its rename was made
    durable), the record fsynced after the restore is replayed onto it, and
    none of the changes made before the restore come back."""
    store.add_tenant("beta")
    m = store.mount()
    m.start()
    _acme_before(m)
    want = _tree(m.path("acme"))
    _ctl(store, "create", "s1")
    w = _writer(m.path("beta"))
    names = []
    try:
        _written(w, 50, names)
        _acme_after(m)
        _written(w, len(names) + 50, names)
        _ctl(store, "restore", "s1", "--tenant", "acme")
        util.put(m.path("acme", "post"), b"fsynced after the restore", sync=True)
        _written(w, len(names) + 20, names)
        m.kill()
    finally:
        _stop(w, names, crashed=True)
    m.start()
    try:
        want["post"] = b"fsynced after the restore"
        assert _tree(m.path("acme")) == want
        for n in names:             # every record beta closed
            assert util.get(m.path("beta", n)) == n.encode() * 100
    finally:
        m.stop()


def test_restore_while_mounted_refuses_clearly(store):
    store.add_tenant("beta")
    store.add_tenant("gamma")
    m = store.mount()
    m.start()
    try:
        for t in ("acme", "beta", "gamma"):
            util.put(m.path(t, "rec"), b"before " + t.encode())
        _ctl(store, "create", "s1", "--tenant", "acme")
        _ctl(store, "create", "all")
        r = _ctl(store, "restore", "nosuch", "--tenant", "acme", check=False)
        assert r.returncode == 1 and "no snapshot named 'nosuch'" in r.stderr, r.stderr
        r = _ctl(store, "restore", "s1", "--tenant", "beta", check=False)
        assert r.returncode == 1 and "holds no tenant 'beta'" in r.stderr, r.stderr
        for t in ("acme", "beta", "gamma"):
            util.put(m.path(t, "rec"), b"after")
        util.ctl("tenant", "remove", store.path, "gamma", "--passfile",
                 store.passfile)
        # The whole store while mounted: every tenant it can, online.
        r = _ctl(store, "restore", "all", check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "tenant acme restored" in r.stdout and "tenant beta restored" in r.stdout
        assert "'gamma' was removed" in r.stderr, r.stderr
        for t in ("acme", "beta"):
            assert util.get(m.path(t, "rec")) == b"before " + t.encode()
        assert sorted(os.listdir(m.mnt)) == ["acme", "beta"]
        # A tenant restored twice in one mount, and removed afterwards.
        _ctl(store, "restore", "s1", "--tenant", "acme")
        assert util.get(m.path("acme", "rec")) == b"before acme"
        util.ctl("tenant", "remove", store.path, "acme", "--passfile",
                 store.passfile)
        assert sorted(os.listdir(m.mnt)) == ["beta"]
    finally:
        m.stop()
