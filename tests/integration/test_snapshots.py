"""Snapshots (docs/snapshots.md): `tenantctl snapshot create` while writers
are busy holds, per tenant, an exact prefix of what they wrote, every
record closed before it was asked for complete; snapshots stay encrypted
and keep working after `tenantctl passwd`; `verify` names the tenant and
record of damage; export and import round-trip; a tenant is restored from
a snapshot with the store unmounted (test_restore_online.py: mounted); bad
input gets a clear refusal.
"""

import glob
import json
import os
import subprocess
import sys


import util
from conftest import Store

POKE = os.path.join(util.BUILD, "tests", "tfs_poke")


def _ctl(store, *args, check=True):
    return util.ctl("snapshot", args[0], store.path, *args[1:], "--passfile",
                    store.passfile, check=check)


def _content(name):
    return b"x" * 1000 + name.encode()


def _writer(folder):
    """Creates r00000, r00001, ... in order, printing each name once closed."""
    code = ("import os, sys\n"
            "i = 0\n"
            "while True:\n"
            "    n = 'r%%05d' %% i\n"
            "    try:\n"
            "        with open(os.path.join(%r, n), 'wb') as f:\n"
            "            f.write(b'x' * 1000 + n.encode())\n"
            "    except OSError:\n"
            "        break\n"
            "    print(n, flush=True)\n"
            "    i += 1\n" % folder)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _read(w, n, names):
    while len(names) < n:
        line = w.stdout.readline()
        assert line, "the writer stopped"
        names.append(line.strip())


def test_a_snapshot_under_load_holds_an_exact_prefix(store):
    store.add_tenant("beta")
    m = store.mount()
    m.start()
    w = _writer(m.path("acme"))
    names = []
    try:
        _read(w, 200, names)
        before = len(names)             # closed before the snapshot was asked
        r = _ctl(store, "create", "s1")
        assert "writers' barrier" in r.stdout, r.stdout
        _read(w, before + 300, names)   # writing went on meanwhile
        with open(m.path("beta", "after"), "wb") as f:
            f.write(b"written after the snapshot")
    finally:
        w.terminate()
        w.wait()
    m.stop()
    _ctl(store, "restore", "s1", "--tenant", "acme")
    m.start()
    try:
        got = sorted(os.listdir(m.path("acme")))
        k = len(got)
        assert got == ["r%05d" % i for i in range(k)], got[:5] + got[-5:]
        assert before <= k < len(names), (before, k, len(names))
        for n in got[:-1]:
            with open(m.path("acme", n), "rb") as f:
                assert f.read() == _content(n), n
        with open(m.path("acme", got[-1]), "rb") as f:   # maybe unfinished
            assert _content(got[-1]).startswith(f.read())
        with open(m.path("beta", "after"), "rb") as f:   # not restored
            assert f.read() == b"written after the snapshot"
    finally:
        m.stop()


def test_snapshots_stay_encrypted_and_survive_passwd(store, workdir):
    m = store.mount()
    m.start()
    canary = "CanarySnapshotName-5e1f"
    with open(m.path("acme", canary), "wb") as f:
        f.write(b"CanarySnapshotContent-77aa" * 100)
    _ctl(store, "create", "enc")
    m.stop()
    for path in glob.glob(os.path.join(store.path, "snapshots", "**"),
                          recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            assert b"Canary" not in data and b"acme" not in data, path
    newpass = os.path.join(workdir, "newpass")
    util.write_passfile(newpass, "another passphrase entirely")
    util.ctl("passwd", store.path, "--passfile", store.passfile,
             "--new-passfile", newpass)
    store.passfile = newpass
    assert "no damage" in _ctl(store, "verify", "enc").stdout
    lst = json.loads(_ctl(store, "list", "--json").stdout)
    assert [(s["name"], s["tenants"], s["damaged"]) for s in lst] == [
        ("enc", ["acme"], False)]
    assert lst[0]["bytes"] > 0 and lst[0]["created"] > 0
    m = store.mount()
    m.start()
    os.unlink(m.path("acme", canary))
    m.stop()
    _ctl(store, "restore", "enc", "--tenant", "acme")
    m.start()
    try:
        with open(m.path("acme", canary), "rb") as f:
            assert f.read() == b"CanarySnapshotContent-77aa" * 100
    finally:
        m.stop()


def test_verify_names_the_tenant_and_record_of_damage(store):
    m = store.mount()
    m.start()
    with open(m.path("acme", "rec"), "wb") as f:
        f.write(os.urandom(100000))
    ino = os.stat(m.path("acme", "rec")).st_ino & ((1 << 40) - 1)
    _ctl(store, "create", "v")
    m.stop()
    env = os.path.join(store.path, "snapshots", "v", "tenants", "%016x" % 1)
    r = subprocess.run([POKE, env, "blocks", "%016x" % ino, "flip"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = _ctl(store, "verify", "v", check=False)
    assert r.returncode == 1
    assert ("tenant acme: /rec (inode %d): content bytes 0 to 65535 failed "
            "authentication" % ino) in r.stdout.splitlines(), r.stdout


def test_export_and_import_round_trip(store, workdir):
    m = store.mount()
    m.start()
    with open(m.path("acme", "rec"), "wb") as f:
        f.write(b"exported")
    _ctl(store, "create", "e1")
    m.stop()
    out = os.path.join(workdir, "media", "e1")
    os.mkdir(os.path.dirname(out))
    _ctl(store, "export", "e1", out)
    r = _ctl(store, "export", "e1", out, check=False)
    assert r.returncode == 1 and "exists" in r.stderr, r.stderr
    _ctl(store, "delete", "e1")
    assert json.loads(_ctl(store, "list", "--json").stdout) == []
    r = _ctl(store, "import", out)
    assert "snapshot e1 imported" in r.stdout
    assert [s["name"] for s in json.loads(_ctl(store, "list", "--json").stdout)] == ["e1"]
    assert "no damage" in _ctl(store, "verify", "e1").stdout
    r = _ctl(store, "import", out, check=False)
    assert r.returncode == 1 and "exists" in r.stderr, r.stderr
    # Another store's key does not open it.
    os.mkdir(os.path.join(workdir, "o"))
    other = Store(os.path.join(workdir, "o"), path=os.path.join(workdir, "o", "s"))
    other.init()
    r = _ctl(other, "import", out, check=False)
    assert r.returncode == 1 and "not a snapshot exported from this store" in r.stderr
    m = store.mount()
    m.start()
    os.unlink(m.path("acme", "rec"))
    m.stop()
    _ctl(store, "restore", "e1", "--tenant", "acme")
    m.start()
    try:
        with open(m.path("acme", "rec"), "rb") as f:
            assert f.read() == b"exported"
    finally:
        m.stop()


def test_bad_input_is_refused_and_changes_nothing(store):
    for bad in (".hidden", "a/b", "x" * 65, "sp ace"):
        r = _ctl(store, "create", bad, check=False)
        assert r.returncode == 1 and "snapshot name" in r.stderr, (bad, r.stderr)
    r = _ctl(store, "create", "s", "--tenant", "nobody", check=False)
    assert r.returncode == 1 and "no tenant named 'nobody'" in r.stderr
    for sub in ("verify", "delete"):
        r = _ctl(store, sub, "nosuch", check=False)
        assert r.returncode == 1 and "no snapshot named 'nosuch'" in r.stderr
    assert not os.path.exists(os.path.join(store.path, "snapshots", "s"))
    _ctl(store, "create", "ok")
    r = _ctl(store, "create", "ok", check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    util.crash_with_journal(store, "late")     # a journal no daemon applied
    r = _ctl(store, "create", "late", check=False)
    assert r.returncode == 1 and "mount and unmount" in r.stderr, r.stderr
    r = _ctl(store, "restore", "ok", "--tenant", "acme", check=False)
    assert r.returncode == 1 and "mount and unmount" in r.stderr, r.stderr


def _stderr_on_a_terminal(args):
    """Runs args with stderr on a pseudo-terminal; returns what it shows."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=util.child_env())
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:                 # EIO: the child closed it
            break
        if not chunk:
            break
        shown += chunk
    p.communicate(timeout=60)
    os.close(master)
    assert p.returncode == 0, shown
    return shown.decode(errors="replace")


def test_long_commands_show_progress_on_a_terminal_only(store):
    store.add_tenant("beta")
    pf = ["--passfile", store.passfile]
    for args in (["snapshot", "create", store.path, "p1"],
                 ["snapshot", "verify", store.path, "p1"],
                 ["check", store.path]):
        shown = _stderr_on_a_terminal([util.TENANTCTL] + args + pf)
        assert "2/2 tenants" in shown and "[====" in shown, (args, shown)
    r = util.ctl("check", store.path, *pf)            # piped: quiet
    assert r.stderr == "", r.stderr
    r = _ctl(store, "create", "p2")
    assert r.stderr == "", r.stderr


def test_a_whole_store_restore_restores_every_tenant_it_can(store):
    store.add_tenant("beta")
    store.add_tenant("gamma")
    m = store.mount()
    m.start()
    for t in ("acme", "beta", "gamma"):
        with open(m.path(t, "rec"), "wb") as f:
            f.write(b"before " + t.encode())
    _ctl(store, "create", "whole")
    for t in ("acme", "beta", "gamma"):
        with open(m.path(t, "rec"), "wb") as f:
            f.write(b"after")
    m.stop()
    util.ctl("tenant", "remove", store.path, "gamma", "--passfile", store.passfile)
    r = _ctl(store, "restore", "whole", check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "tenant acme restored" in r.stdout and "tenant beta restored" in r.stdout
    assert "'gamma' was removed" in r.stderr, r.stderr
    m.start()
    try:
        for t in ("acme", "beta"):
            with open(m.path(t, "rec"), "rb") as f:
                assert f.read() == b"before " + t.encode()
        assert sorted(os.listdir(m.mnt)) == ["acme", "beta"]
    finally:
        m.stop()
