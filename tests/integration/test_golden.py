"""Golden stores (docs/file-format.md): a store written by each on-disk
format version is checked in under tests/golden/vN/ (made by
tests/golden/make_golden.sh) and must keep opening: `tenantctl check`
finds it intact, its tenants keep their owners, modes and quotas, its
journal (changes never checkpointed, the daemon killed with kill -9)
replays, and every record reads back as it was written.  The checked-in
files are copied first: the test never changes them.
"""

import glob
import json
import os
import random
import re
import shutil
import stat

import pytest

import util
from conftest import Store

GOLDEN = sorted(glob.glob(os.path.join(util.ROOT, "tests", "golden", "v*")))


def _expect(m):
    a = m.path("acme")
    assert sorted(os.listdir(a)) == ["docs", "empty-folder", "journal-only.txt"]
    assert sorted(os.listdir(os.path.join(a, "docs"))) == [
        "deep", "hello.txt", "sparse", "symlink"]
    hello = os.path.join(a, "docs", "hello.txt")
    with open(hello, "rb") as f:
        assert f.read() == b"hello, golden world\n"
    st = os.stat(hello)
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_nlink == 1
    assert st.st_mtime_ns == 1580608922123456789
    assert os.getxattr(hello, "user.colour") == b"blue"
    rnd = random.Random(1)
    with open(os.path.join(a, "docs", "deep", "er", "random.bin"), "rb") as f:
        assert f.read() == rnd.randbytes(300000)
    with open(os.path.join(a, "docs", "sparse"), "rb") as f:
        data = f.read()
    assert data == bytes(5000000) + b"tail"
    assert os.readlink(os.path.join(a, "docs", "symlink")) == "hello.txt"
    assert os.listdir(os.path.join(a, "empty-folder")) == ["moved-empty"]
    assert os.path.getsize(os.path.join(a, "empty-folder", "moved-empty")) == 0
    with open(os.path.join(a, "journal-only.txt"), "rb") as f:
        assert f.read() == b"only in the journal\n"
    b = os.path.join(m.path("beta"), "b.txt")
    with open(b, "rb") as f:
        assert f.read() == b"beta record\n"


@pytest.mark.parametrize("golden", GOLDEN, ids=[os.path.basename(g) for g in GOLDEN])
def test_golden_store_opens_replays_and_reads_back(golden, workdir):
    store = Store(workdir, path=os.path.join(workdir, "store"))
    shutil.copytree(os.path.join(golden, "store"), store.path)
    shutil.copy(os.path.join(golden, "passphrase"), store.passfile)
    r = util.ctl("check", store.path, "--passfile", store.passfile)
    assert "no damage" in r.stdout and " 0 journal entries" not in r.stdout, r.stdout
    tenants = {t["name"]: t for t in json.loads(
        util.ctl("tenant", "list", store.path, "--json",
                 "--passfile", store.passfile).stdout)}
    assert sorted(tenants) == ["acme", "beta"]
    assert (tenants["acme"]["owner"], tenants["acme"]["mode"]) == ("root", "0750")
    assert (tenants["beta"]["owner"], tenants["beta"]["mode"]) == ("daemon", "0700")
    assert tenants["beta"]["quota_records"] == 100
    assert tenants["beta"]["quota_bytes"] == 10 << 20
    m = store.mount()
    m.start()
    try:
        assert re.search(r"journal: replayed [1-9]", m.read_log()), m.read_log()
        _expect(m)
        m.remount()
        _expect(m)
    finally:
        m.stop()
    r = util.ctl("check", store.path, "--passfile", store.passfile)
    assert "no damage" in r.stdout and " 0 journal entries" in r.stdout, r.stdout
