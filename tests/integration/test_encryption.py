"""Encryption at rest: no plaintext name, content, xattr value, symlink target
or tenant name in any file (or file name) of the store; and a damaged value
is never returned: reads give the original bytes or EIO."""

import errno
import os
import random

import util


def scan_store(store_path, markers):
    """Every (file, marker) where marker appears in the file's bytes or name."""
    hits = []
    for dirpath, dirnames, filenames in os.walk(store_path):
        for n in dirnames + filenames:
            for m in markers:
                if m in os.fsencode(n):
                    hits.append((os.path.join(dirpath, n), "name", m))
        for n in filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                data = f.read()
            for m in markers:
                if m in data:
                    hits.append((p, "content", m))
    return hits


def test_no_plaintext_at_rest(store):
    tag = os.urandom(6).hex()
    tenant = "tnt" + tag
    markers = {k: ("%s%s" % (k, tag)).encode() for k in
               ("recordname", "foldername", "content", "smallcontent", "xattrname",
                "xattrvalue", "linktarget", "bigcontent")}
    store.add_tenant(tenant)
    m = store.mount()
    m.start()
    try:
        t = m.path(tenant)
        folder = os.path.join(t, markers["foldername"].decode())
        os.mkdir(folder)
        rec = os.path.join(folder, markers["recordname"].decode() + ".json")
        with open(rec, "wb") as f:
            f.write(b'{"secret":"' + markers["content"] + b'"}' * 50)
        with open(os.path.join(t, "tiny"), "wb") as f:
            f.write(markers["smallcontent"])
        with open(os.path.join(t, "big"), "wb") as f:
            f.write((markers["bigcontent"] + b"\n") * 200000)
        os.setxattr(rec, "user." + markers["xattrname"].decode(), markers["xattrvalue"])
        os.symlink("/target/" + markers["linktarget"].decode(), os.path.join(t, "sym"))
        # Same in the default tenant, and overwrite/delete some to leave
        # freed pages behind.
        a = m.path("acme")
        with open(os.path.join(a, "gone"), "wb") as f:
            f.write(markers["content"] * 100)
        os.truncate(os.path.join(a, "gone"), 3)
        os.unlink(os.path.join(a, "gone"))
        os.sync()
    finally:
        m.stop()
    # The tenant exists and is listed, so the marker was really used.
    assert tenant in util.ctl("tenant", "list", store.path, "--passfile", store.passfile).stdout
    hits = scan_store(store.path, list(markers.values()) + [tenant.encode()])
    assert not hits, "plaintext in the store: %s" % hits[:10]
    # And the data is all there.
    m.start()
    try:
        with open(os.path.join(m.path(tenant), "big"), "rb") as f:
            assert f.read() == (markers["bigcontent"] + b"\n") * 200000
        assert os.readlink(os.path.join(m.path(tenant), "sym")).endswith(markers["linktarget"].decode())
    finally:
        m.stop()


def tenant_data_files(store_path):
    found = []
    for dirpath, _, filenames in os.walk(store_path):
        for n in filenames:
            if n == "data.mdb":
                p = os.path.join(dirpath, n)
                found.append((os.path.getsize(p), p))
    return sorted(found)


def test_tampered_store_gives_eio_never_wrong_data(store):
    size = 16 << 20
    content = random.Random(7).randbytes(size)
    m = store.mount()
    m.start()
    try:
        p = m.path("acme", "big.bin")
        with open(p, "wb") as f:
            f.write(content)
        local_ino = os.stat(p).st_ino & ((1 << 40) - 1)
    finally:
        m.stop()
    # The largest data.mdb is the tenant holding the big file.
    dsize, data = tenant_data_files(store.path)[-1]
    assert dsize > size, "data.mdb smaller than the content it holds"
    lo, hi = dsize // 2 - (1 << 20), dsize // 2 + (1 << 20)
    with open(data, "r+b") as f:
        buf = bytearray(f.read())
        flipped = 0
        # One byte in every 512 across a 2 MiB window in the middle: mostly
        # sealed content blocks, plus whatever LMDB pages lie there.
        for off in range(lo, hi, 512):
            buf[off] ^= 0x5A
            flipped += 1
        f.seek(0)
        f.write(buf)
    assert flipped > 1000
    m.start()
    eio = good = 0
    try:
        fd = os.open(m.path("acme", "big.bin"), os.O_RDONLY)
        try:
            for off in range(0, size, 4096):   # page-sized: all or nothing
                try:
                    got = os.pread(fd, 4096, off)
                except OSError as e:
                    assert e.errno == errno.EIO, "read at %d: %s" % (off, e)
                    eio += 1
                    continue
                assert got == content[off:off + 4096], "wrong data returned at %d" % off
                good += 1
        finally:
            os.close(fd)
    finally:
        m.stop()
    assert eio > 0, "damage went unnoticed"
    assert good > 0, "undamaged blocks unreadable too"
    log = m.read_log()
    assert "inode %d" % local_ino in log and "tenant" in log, \
        "damage not logged with tenant and inode: %s" % log[-2000:]
