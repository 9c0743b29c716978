"""The command line of the journal: tenantfs -o commit=MS (docs/cli.md) and
tenantctl stats (docs/tenantctl.md): accepted and refused values, exit
statuses, the help text, the output forms, and what a fresh or cleanly
unmounted store shows (no daemon, an empty journal)."""

import json
import os
import re

import pytest

import util


@pytest.mark.parametrize("value", ["0", "60001", "abc", "", "10ms", "-5",
                                   "99999999999999999999"])
def test_commit_bad_value_is_a_usage_error(store, value):
    r = util.run([util.TENANTFS, store.path, store.mnt, "-f", "-o",
                  "passfile=%s,commit=%s" % (store.passfile, value)], check=False)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "commit=%s" % value in r.stderr and "1 to 60000" in r.stderr
    assert not util.is_mounted(store.mnt)


def test_commit_is_in_the_help():
    r = util.run([util.TENANTFS, "--help"])
    assert "commit=MS" in r.stdout


@pytest.mark.parametrize("value", ["1", "10", "60000"])
def test_commit_value_mounts_and_keeps_data(store, value):
    m = util.Mount(store.path, store.mnt, store.passfile,
                   os.path.join(store.root, "tenantfs.log"),
                   options=("allow_other", "commit=%s" % value))
    m.start()
    p = m.path("acme", "rec")
    try:
        with open(p, "wb") as f:
            f.write(b"commit=" + value.encode())
        st = util.wait_for(lambda: (lambda s: s if s["daemon"] else None)(
            json.loads(util.ctl("stats", store.path, "--json").stdout)))
        assert st and st["daemon"] == m.proc.pid
    finally:
        m.stop()
    m.start()
    try:
        with open(p, "rb") as f:
            assert f.read() == b"commit=" + value.encode()
    finally:
        m.stop()


def test_stats_of_a_fresh_store(store):
    r = util.ctl("stats", store.path, "--json")
    st = json.loads(r.stdout)
    assert st["daemon"] is None
    assert st["depth_entries"] == 0 and st["depth_bytes"] == 0
    assert st["store"] == store.path
    for k in ("appended_seq", "flushed_seq", "applied_seq", "segments",
              "flushes", "flushed_entries", "max_batch", "fsyncs",
              "checkpoints", "replayed", "discarded_bytes",
              "entries_per_flush"):
        assert isinstance(st[k], (int, float)), k
    assert sorted(st["batch_hist"]) == sorted(
        ["1", "2-3", "4-7", "8-15", "16-31", "32-63", "64-127", "128+"])
    text = util.ctl("stats", store.path).stdout
    assert "daemon           none" in text
    assert "depth            0 entries, 0 bytes" in text


def test_stats_needs_no_passphrase(store):
    # stdin is not a terminal and no passfile is given: still works.
    r = util.ctl("stats", store.path)
    assert "applied seq" in r.stdout


def test_stats_not_a_store(workdir):
    empty = os.path.join(workdir, "empty")
    os.mkdir(empty)
    for d in (empty, os.path.join(workdir, "missing")):
        r = util.ctl("stats", d, check=False)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stdout == ""
        assert r.stderr.startswith("tenantctl: ") and "not a tenantfs store" in r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_stats_usage(store):
    r = util.ctl("stats", "--help")
    assert r.stdout.startswith("usage: tenantctl stats STORE [--json]")
    for args in ([], ["--bogus", store.path], [store.path, store.path],
                 ["--json=yes", store.path]):
        r = util.ctl("stats", *args, check=False)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == ""
    assert "stats STORE" in util.ctl("--help").stdout


def _stats(path):
    return json.loads(util.ctl("stats", path, "--json").stdout)


def test_stats_after_kill_9_shows_the_journal_on_disk(store):
    """Without a daemon, the figures are those of the journal on disk: after
    kill -9 the entries not yet checkpointed are there, and the next mount
    replays them."""
    for attempt in range(3):
        m = store.mount()
        m.start()
        a = m.path("acme")
        for i in range(40):
            with open(os.path.join(a, "k%d_%02d" % (attempt, i)), "wb") as f:
                f.write(os.urandom(700))
        m.kill()
        before = _stats(store.path)
        # A checkpoint landing between the last write and the kill leaves
        # nothing to replay; it takes a second of writing, so try again.
        if before["depth_entries"] > 0:
            break
        m.start()
        m.stop()
    assert before["daemon"] is None
    assert before["depth_entries"] > 0 and before["depth_bytes"] > 0, before
    assert before["segments"] >= 1
    m.start()
    try:
        st = util.wait_for(lambda: (lambda s: s if s["daemon"] == m.proc.pid and
                                    s["replayed"] else None)(_stats(store.path)))
        assert st, _stats(store.path)
        assert 1 <= st["replayed"] <= before["depth_entries"]
        assert re.search(r"journal: replayed \d+ entries", m.read_log()), m.read_log()
        assert len(os.listdir(m.path("acme"))) == 40 * (attempt + 1)
    finally:
        m.stop()
    after = _stats(store.path)
    assert after["daemon"] is None and after["depth_entries"] == 0, after


def test_stats_text_and_json_agree(mounted, store):
    a = mounted.path("acme")
    for i in range(20):
        with open(os.path.join(a, "j%02d" % i), "wb") as f:
            f.write(b"x" * 100)
            os.fsync(f.fileno())
    # Idle and checkpointed: the figures stop moving.
    st = util.wait_for(lambda: (lambda s: s if s["daemon"] and s["fsyncs"] >= 20
                                and s["depth_entries"] == 0 else None)(
                                    _stats(store.path)), timeout=15)
    assert st, _stats(store.path)
    text = util.ctl("stats", store.path).stdout
    # "name" padded to 17 columns, then the value.
    lines = {l[:17].strip(): l[17:] for l in text.splitlines()}
    assert lines["daemon"] == "pid %d (live figures)" % mounted.proc.pid
    for name, key in (("appended seq", "appended_seq"), ("applied seq", "applied_seq"),
                      ("segments", "segments"), ("fsyncs", "fsyncs"),
                      ("checkpoints", "checkpoints")):
        assert lines[name] == str(st[key]), name
    assert lines["depth"] == "0 entries, 0 bytes"
    assert lines["flushes"].startswith("%d (%d entries" % (st["flushes"],
                                                          st["flushed_entries"]))
    assert st["checkpoints"] >= 1


def test_stats_json_escapes_the_store_path(workdir):
    path = os.path.join(workdir, 'odd "name\\ here')
    pf = os.path.join(workdir, "pass")
    util.write_passfile(pf, "a passphrase")
    util.ctl("init", path, "--passfile", pf)
    st = _stats(path)
    assert st["store"] == path and st["daemon"] is None
