"""A multi-GiB file costs what is touched, not its size: a 3 GiB sparse file
written at a few offsets is quick, reads back exactly, holes are zeros, and
st_blocks counts only what was written."""

import os
import time

GiB = 1 << 30


def test_3gib_sparse_file(mounted, acme):
    p = os.path.join(acme, "huge.img")
    chunks = {
        0: os.urandom(70000),
        GiB - 5: os.urandom(100000),           # across the 1 GiB mark
        2 * GiB + 12345: os.urandom(1 << 20),
        3 * GiB - 4096: os.urandom(4096),      # ends at exactly 3 GiB
    }
    t0 = time.monotonic()
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for off, data in chunks.items():
            assert os.pwrite(fd, data, off) == len(data)
        os.fsync(fd)
        assert os.fstat(fd).st_size == 3 * GiB
    finally:
        os.close(fd)
    elapsed = time.monotonic() - t0
    assert elapsed < 30, "writing 1.2 MiB into a sparse file took %.1fs" % elapsed

    def check():
        st = os.stat(p)
        assert st.st_size == 3 * GiB
        assert st.st_blocks * 512 < 64 << 20, "st_blocks=%d for 1.2 MiB of data" % st.st_blocks
        with open(p, "rb") as f:
            for off, data in chunks.items():
                f.seek(off)
                assert f.read(len(data)) == data, "data at %d differs" % off
            for hole in (70000, GiB // 2, GiB + 200000, 2 * GiB, 3 * GiB - 8192):
                f.seek(hole)
                assert f.read(4096) == b"\0" * 4096, "hole at %d not zero" % hole
            f.seek(3 * GiB)
            assert f.read(10) == b""

    check()
    mounted.remount()
    check()
    # Truncating the big file down frees the far blocks, and is quick too.
    t0 = time.monotonic()
    os.truncate(p, GiB)
    assert time.monotonic() - t0 < 30
    with open(p, "rb") as f:
        f.seek(GiB - 5)
        assert f.read() == chunks[GiB - 5][:5]
    os.unlink(p)
