"""Records of any size: small records stay small on disk, many records list
and read back exactly; and the daemon keeps its keys in locked memory."""

import hashlib
import os

import pytest

import util


def store_bytes(store_path):
    total = 0
    for dirpath, _, names in os.walk(store_path):
        for n in names:
            if n == "data.mdb":
                total += os.stat(os.path.join(dirpath, n)).st_blocks * 512
    return total


def test_small_records_cost_a_small_value(store):
    m = store.mount()
    m.start()
    base = store_bytes(store.path)
    n = 2000
    digests = {}
    try:
        d = m.path("acme", "products")
        os.mkdir(d)
        for i in range(n):
            data = os.urandom(1024)
            with open(os.path.join(d, "%05d.json" % i), "wb") as f:
                f.write(data)
            digests["%05d.json" % i] = hashlib.sha256(data).digest()
        st = os.stat(os.path.join(d, "00042.json"))
        assert st.st_size == 1024
        assert st.st_blocks * 512 <= 8192, "a 1 KiB record reports %d blocks" % st.st_blocks
    finally:
        m.stop()
    grown = store_bytes(store.path) - base
    assert grown < n * 8192, "%d records of 1 KiB take %d bytes in LMDB" % (n, grown)
    m.start()
    try:
        d = m.path("acme", "products")
        names = os.listdir(d)
        assert sorted(names) == sorted(digests)
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                assert hashlib.sha256(f.read()).digest() == digests[name]
    finally:
        m.stop()


@pytest.mark.needs_mlock
def test_daemon_keys_in_locked_memory(mounted, acme):
    with open(os.path.join(acme, "x"), "w") as f:
        f.write("x")
    with open("/proc/%d/status" % mounted.proc.pid) as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    locked_kb = int(status["VmLck"].split()[0])
    assert locked_kb > 0, "no locked memory in the daemon: keys are swappable"
