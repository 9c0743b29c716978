"""A folder removed while it is open (docs/semantics.md): like an unlinked
file, it stays for its open descriptors until the last one is closed:
fstat works and shows no links, fchmod and futimens work, a listing is
empty, and nothing can be created in it; renaming another folder over an
open one does the same.  Found by the differential tester
(tests/integration/difftest.py): tenantfs answered ENOENT where ext4 works.
"""

import errno
import json
import os
import stat

import pytest

import util


def _records(store):
    out = util.ctl("tenant", "list", store.path, "--json").stdout
    return {t["name"]: t["used_records"] for t in json.loads(out)}["acme"]


@pytest.mark.parametrize("how", ["rmdir", "rename over it"])
def test_removed_open_folder_keeps_working_until_closed(mounted, store, acme, how):
    d = os.path.join(acme, "d")
    os.mkdir(d, 0o700)
    before = _records(store)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if how == "rmdir":
            os.rmdir(d)
        else:
            os.mkdir(os.path.join(acme, "other"))
            os.rename(os.path.join(acme, "other"), d)
        st = os.fstat(fd)
        assert stat.S_ISDIR(st.st_mode) and st.st_nlink == 0, st
        os.fchmod(fd, 0o750)
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o750
        os.utime(fd, (1000, 2000))
        assert os.fstat(fd).st_mtime == 2000
        assert os.listdir(fd) == []
        with pytest.raises(OSError) as e:
            os.open("x", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        assert e.value.errno == errno.ENOENT
    finally:
        os.close(fd)
    # Once closed, the folder's record is gone (RELEASEDIR comes after
    # close() returns).
    want = before - 1 if how == "rmdir" else before
    assert util.wait_for(lambda: _records(store) == want), (_records(store), want)
