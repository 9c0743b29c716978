"""One tenant's corruption never affects another (DESIGN.md, "Tenants and
permissions"): with one tenant's database destroyed, the mount still comes
up, the root still lists, the other tenant reads and writes normally, and the
damaged one gives EIO, never wrong data."""

import errno
import os

import pytest


def tenant_db(store_path, tid):
    """The data.mdb in a folder named after tenant id tid, or None."""
    found = []
    for dirpath, _, names in os.walk(store_path):
        base = os.path.basename(dirpath)
        if "data.mdb" in names and base and all(c in "0123456789abcdefABCDEF" for c in base):
            ids = {int(base, 16)} | ({int(base)} if base.isdigit() else set())
            if tid in ids:
                found.append(os.path.join(dirpath, "data.mdb"))
    return found[0] if len(found) == 1 else None


def test_destroyed_tenant_does_not_affect_another(store):
    store.add_tenant("globex")
    m = store.mount()
    m.start()
    with open(m.path("acme", "a"), "wb") as f:
        f.write(b"acme data")
    with open(m.path("globex", "g"), "wb") as f:
        f.write(b"globex data")
    acme_ino = os.stat(m.path("acme", "a")).st_ino
    m.stop()
    # The tenant id is the high bits of st_ino (docs/semantics.md); its
    # database lives in a folder named after it (docs/file-format.md).
    db = tenant_db(store.path, acme_ino >> 40)
    assert db is not None, "cannot tell which database is acme's"
    size = os.path.getsize(db)
    with open(db, "wb") as f:
        f.write(os.urandom(size))
    m.start()
    try:
        with open(m.path("globex", "g"), "rb") as f:
            assert f.read() == b"globex data"
        with open(m.path("globex", "new"), "wb") as f:
            f.write(b"still writable")
        assert sorted(os.listdir(m.path("globex"))) == ["g", "new"]
        root = os.listdir(m.mnt)      # the root lists despite the damage
        assert "globex" in root
        with pytest.raises(OSError) as ei:
            with open(m.path("acme", "a"), "rb") as f:
                f.read()
        assert ei.value.errno == errno.EIO
    finally:
        m.stop()
