"""kill -9 of the daemon loses nothing it acknowledged (docs/semantics.md,
"Durability"), and a file unlinked while open is gone after the next mount."""

import os


def test_kill_9_keeps_acknowledged_changes(store):
    m = store.mount()
    m.start()
    a = m.path("acme")
    files = {}
    for i in range(50):
        data = os.urandom(1000 + i * 997)
        with open(os.path.join(a, "rec%02d" % i), "wb") as f:
            f.write(data)
        files["rec%02d" % i] = data
    os.mkdir(os.path.join(a, "col"))
    os.rename(os.path.join(a, "rec00"), os.path.join(a, "col", "moved"))
    files["col/moved"] = files.pop("rec00")
    os.unlink(os.path.join(a, "rec01"))
    del files["rec01"]
    os.setxattr(os.path.join(a, "rec02"), "user.k", b"v")
    os.truncate(os.path.join(a, "rec03"), 10)
    files["rec03"] = files["rec03"][:10]
    with open(os.path.join(a, "synced"), "wb") as f:
        f.write(b"fsynced")
        os.fsync(f.fileno())
    files["synced"] = b"fsynced"
    # An open, unlinked file at the time of the crash.
    orphan = os.path.join(a, "orphan")
    with open(orphan, "wb") as f:
        f.write(os.urandom(300000))
    fd = os.open(orphan, os.O_RDWR)
    os.unlink(orphan)
    m.kill()
    try:
        os.close(fd)
    except OSError:
        pass                                  # the connection is gone
    m.start()
    try:
        got = {}
        for dirpath, _, names in os.walk(a):
            for n in names:
                p = os.path.join(dirpath, n)
                with open(p, "rb") as f:
                    got[os.path.relpath(p, a)] = f.read()
        assert sorted(got) == sorted(files)
        for k in files:
            assert got[k] == files[k], k
        assert os.getxattr(os.path.join(a, "rec02"), "user.k") == b"v"
    finally:
        m.stop()
