"""Stopping the daemon (docs/cli.md, docs/journal.md): SIGTERM, SIGINT and
`fusermount3 -u` drain the journal and exit 0 while writers are busy,
leaving a clean store with every acknowledged record; an unmount while a
file is open is refused by the kernel (EBUSY) and the daemon goes on
serving; a second daemon on the same store is refused (test_bad_input.py).
"""

import json
import os
import signal
import subprocess
import sys

import pytest

import util


def _stats(store):
    return json.loads(util.ctl("stats", store.path, "--json").stdout)


def _writer(folder, n, pause_file=None):
    """A process writing records 0..n-1 and printing each name once closed,
    until it is done or the filesystem goes away. With pause_file, it checks
    between two records (no file open) whether that file exists, and if so
    prints "paused" and waits for a line on its standard input."""
    code = ("import os, sys\n"
            "for i in range(%d):\n"
            "    if %r and os.path.exists(%r):\n"
            "        print('paused', flush=True)\n"
            "        sys.stdin.readline()\n"
            "    p = os.path.join(%r, 'w%%05d' %% i)\n"
            "    try:\n"
            "        with open(p, 'wb') as f: f.write(b'x' * 1000 + p.encode())\n"
            "    except OSError:\n"
            "        break\n"
            "    print(os.path.basename(p), flush=True)\n"
            % (n, bool(pause_file), pause_file or "", folder))
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def _check_after_stop(store, names):
    """The store is clean (empty journal) and every record closed before the
    stop is there, complete."""
    st = _stats(store)
    assert st["daemon"] is None and st["depth_entries"] == 0, st
    m = store.mount()
    m.start()
    try:
        a = m.path("acme")
        for n in names:
            with open(os.path.join(a, n), "rb") as f:
                assert f.read() == b"x" * 1000 + os.path.join(a, n).encode(), n
    finally:
        m.stop()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "fusermount3 -u",
                                 "fusermount3 -u -z"])
def test_stop_under_load_drains_and_exits_0(store, how, tmp_path):
    m = store.mount()
    m.start()
    pause = str(tmp_path / "pause")
    w = _writer(m.path("acme"), 100000, pause)
    names = []
    # Stop once the writer is well under way.
    while len(names) < 300:
        line = w.stdout.readline()
        assert line, "the writer stopped early"
        names.append(line.strip())
    if how == "fusermount3 -u":
        # The kernel refuses a plain unmount while a file is open (see the
        # busy test below), and a writer under load nearly always has one:
        # hold it between two records, with its last records not yet
        # checkpointed, and unmount then.
        open(pause, "w").close()
        for line in w.stdout:
            if line.strip() == "paused":
                break
            names.append(line.strip())
        r = subprocess.run(["fusermount3", "-u", m.mnt], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        w.stdin.write("\n")
        w.stdin.flush()
    elif how == "fusermount3 -u -z":
        # A lazy unmount goes through at once; the record open at that
        # instant is still served until it is closed, then the daemon exits.
        subprocess.run(["fusermount3", "-u", "-z", m.mnt], check=True)
    else:
        m.proc.send_signal(getattr(signal, how))
    rc = m.proc.wait(timeout=util.EXIT_TIMEOUT)
    out, _ = w.communicate(timeout=util.EXIT_TIMEOUT)
    names += out.split()
    m.proc = None
    m.logf.close()
    util.unmount(m.mnt)
    assert rc == 0, m.read_log()
    assert not util.sanitizer_report(m.read_log()), m.read_log()
    _check_after_stop(store, names)


def test_busy_unmount_is_refused_and_serving_goes_on(store):
    m = store.mount()
    m.start()
    try:
        path = m.path("acme", "open")
        with open(path, "wb") as f:
            f.write(b"before")
            r = subprocess.run(["fusermount3", "-u", m.mnt], capture_output=True,
                               text=True)
            assert r.returncode != 0
            assert "busy" in r.stderr.lower(), r.stderr
            assert util.is_mounted(m.mnt) and m.proc.poll() is None
            f.write(b" and after")
        with open(path, "rb") as f:
            assert f.read() == b"before and after"
    finally:
        m.stop()
