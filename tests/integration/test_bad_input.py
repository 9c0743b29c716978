"""Bad input gets a clear error (exit status and one message line, docs/cli.md)
and loses nothing."""

import errno
import os
import stat

import pytest

import util
from util import TENANTFS


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as ei:
        fn(*args)
    assert ei.value.errno == code, "expected %s, got %s" % (
        errno.errorcode[code], errno.errorcode.get(ei.value.errno))


def one_clear_line(stderr, prog):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert lines, "no message on stderr"
    assert any(l.startswith(prog + ":") for l in lines), stderr


def test_name_too_long(mounted, acme):
    ok = os.path.join(acme, "a" * 255)
    with open(ok, "wb") as f:
        f.write(b"fine")
    bad = os.path.join(acme, "b" * 256)
    expect_errno(errno.ENAMETOOLONG, open, bad, "wb")
    expect_errno(errno.ENAMETOOLONG, os.mkdir, bad)
    expect_errno(errno.ENAMETOOLONG, os.symlink, "x", bad)
    expect_errno(errno.ENAMETOOLONG, os.rename, ok, bad)
    expect_errno(errno.ENAMETOOLONG, os.link, ok, bad)
    assert os.listdir(acme) == ["a" * 255]
    with open(ok, "rb") as f:
        assert f.read() == b"fine"


def test_device_nodes_refused(mounted, acme):
    expect_errno(errno.EPERM, os.mknod, os.path.join(acme, "null"),
                 stat.S_IFCHR | 0o600, os.makedev(1, 3))
    expect_errno(errno.EPERM, os.mknod, os.path.join(acme, "sda"),
                 stat.S_IFBLK | 0o600, os.makedev(8, 0))
    assert os.listdir(acme) == []


def mount_fails(args, expect_text=None, env=None):
    r = util.run([TENANTFS] + [str(a) for a in args], env=env, check=False, timeout=60)
    assert r.returncode == 1, "exit %d, stderr: %s" % (r.returncode, r.stderr)
    one_clear_line(r.stderr, "tenantfs")
    if expect_text:
        assert expect_text in r.stderr, r.stderr
    return r


def test_mount_folder_that_is_not_a_store(workdir):
    mnt = os.path.join(workdir, "mnt")
    os.mkdir(mnt)
    pf = os.path.join(workdir, "pf")
    util.write_passfile(pf, "pw")
    empty = os.path.join(workdir, "empty")
    os.mkdir(empty)
    junk = os.path.join(workdir, "junk")
    os.mkdir(junk)
    with open(os.path.join(junk, "tenantfs.hdr"), "wb") as f:
        f.write(os.urandom(512))
    for folder in (empty, junk, os.path.join(workdir, "missing")):
        mount_fails([folder, mnt, "-o", "passfile=" + pf])
        assert not os.path.ismount(mnt)
    assert os.listdir(empty) == []


def test_missing_or_wrong_passfile(store):
    os.makedirs(store.mnt, exist_ok=True)
    mount_fails([store.path, store.mnt, "-o", "passfile=/nonexistent/passfile"])
    mount_fails([store.path, store.mnt], "no passfile given and stdin is not a terminal")
    wrong = os.path.join(store.root, "wrong")
    util.write_passfile(wrong, "not the passphrase")
    mount_fails([store.path, store.mnt, "-o", "passfile=" + wrong])
    mount_fails([store.path, store.mnt, "-f", "-o", "passfile=" + wrong])
    assert not os.path.ismount(store.mnt)
    r = util.ctl("tenant", "list", store.path, "--passfile", wrong, check=False)
    assert r.returncode == 1
    one_clear_line(r.stderr, "tenantctl")
    assert "wrong" not in r.stdout
    r = util.ctl("tenant", "add", store.path, "other", "--owner", "root",
                 "--passfile", wrong, check=False)
    assert r.returncode == 1
    # Nothing changed: the right passphrase still works and sees only acme.
    out = util.ctl("tenant", "list", store.path, "--passfile", store.passfile).stdout
    assert "acme" in out and "other" not in out


def test_second_daemon_refused(mounted, workdir):
    other = os.path.join(workdir, "mnt2")
    os.mkdir(other)
    for extra in (["-f"], []):
        r = mount_fails([mounted.store, other] + extra + ["-o", "passfile=" + mounted.passfile],
                        "already served")
        assert "(pid %d)" % mounted.proc.pid in r.stderr, r.stderr
        assert not os.path.ismount(other)
    # The first daemon still serves.
    with open(os.path.join(mounted.mnt, "acme", "still"), "wb") as f:
        f.write(b"ok")


@pytest.mark.parametrize("args", [
    [],
    ["bogus-command"],
    ["init"],
    ["init", "/tmp/x", "--no-such-option"],
    ["tenant"],
    ["tenant", "add"],
    ["tenant", "add", "/tmp/x"],
    ["tenant", "add", "/tmp/x", "name"],            # --owner is required
    ["tenant", "frobnicate", "/tmp/x"],
    ["tenant", "list"],
    ["passwd"],
])
def test_tenantctl_usage_errors(args):
    r = util.ctl(*args, check=False)
    assert r.returncode == 2, "tenantctl %s: exit %d (%s)" % (" ".join(args), r.returncode, r.stderr)
    assert r.stderr.strip(), "no usage message"


def test_tenantfs_usage_errors(workdir):
    for args in ([], [workdir], ["--no-such-option", workdir, workdir]):
        r = util.run([TENANTFS] + args, check=False)
        assert r.returncode == 2, "tenantfs %s: exit %d (%s)" % (args, r.returncode, r.stderr)


@pytest.mark.parametrize("args", [
    ["--help"], ["--version"], ["init", "--help"], ["tenant", "add", "--help"],
    ["tenant", "list", "--help"], ["tenant", "remove", "--help"], ["passwd", "--help"],
])
def test_tenantctl_help(args):
    r = util.ctl(*args)
    assert r.stdout.strip() or r.stderr.strip()


def test_tenantfs_help_and_version():
    for a in ("--help", "--version"):
        r = util.run([TENANTFS, a], check=False)
        assert r.returncode == 0 and (r.stdout + r.stderr).strip()


def test_unknown_owner(store):
    r = util.ctl("tenant", "add", store.path, "ghost", "--owner", "no_such_user_tfs",
                 "--passfile", store.passfile, check=False)
    assert r.returncode == 1
    one_clear_line(r.stderr, "tenantctl")
    r = util.ctl("tenant", "add", store.path, "ghost", "--owner", "root:no_such_group_tfs",
                 "--passfile", store.passfile, check=False)
    assert r.returncode == 1
    assert "ghost" not in util.ctl("tenant", "list", store.path, "--passfile", store.passfile).stdout


def test_bad_tenant_names_and_duplicates(store):
    for name in (".hidden", "a/b", "x" * 256, ""):
        r = util.ctl("tenant", "add", store.path, name, "--owner", "root",
                     "--passfile", store.passfile, check=False)
        assert r.returncode in (1, 2), "tenant name %r accepted" % name
    r = util.ctl("tenant", "add", store.path, "acme", "--owner", "root",
                 "--passfile", store.passfile, check=False)
    assert r.returncode == 1, "duplicate tenant accepted"
    one_clear_line(r.stderr, "tenantctl")


def test_init_refuses_non_empty_folder(workdir):
    d = os.path.join(workdir, "full")
    os.mkdir(d)
    with open(os.path.join(d, "precious"), "wb") as f:
        f.write(b"keep me")
    pf = os.path.join(workdir, "pf")
    util.write_passfile(pf, "pw")
    r = util.ctl("init", d, "--passfile", pf, check=False)
    assert r.returncode == 1
    one_clear_line(r.stderr, "tenantctl")
    assert os.listdir(d) == ["precious"]
    with open(os.path.join(d, "precious"), "rb") as f:
        assert f.read() == b"keep me"
    # An existing store is not re-initialised either.
    s = os.path.join(workdir, "s")
    util.ctl("init", s, "--passfile", pf)
    before = sorted(os.listdir(s))
    assert util.ctl("init", s, "--passfile", pf, check=False).returncode == 1
    assert sorted(os.listdir(s)) == before
    # init creates a missing folder.
    assert os.path.isdir(s)


def test_init_without_passfile_and_no_terminal(workdir):
    r = util.ctl("init", os.path.join(workdir, "s"), check=False)
    assert r.returncode == 1
    assert "no passfile given and stdin is not a terminal" in r.stderr


def test_tenant_list_and_remove(store):
    store.add_tenant("globex", owner="root:root", mode="0700")
    out = util.ctl("tenant", "list", store.path, "--passfile", store.passfile).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 3, out        # header + two tenants
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert rows["globex"][2:5] == ["root", "root", "0700"], out
    assert rows["acme"][4] == "0755", out
    util.ctl("tenant", "remove", store.path, "globex", "--passfile", store.passfile)
    out = util.ctl("tenant", "list", store.path, "--passfile", store.passfile).stdout
    assert "globex" not in out and "acme" in out
    r = util.ctl("tenant", "remove", store.path, "globex", "--passfile", store.passfile, check=False)
    assert r.returncode == 1


def test_passwd_round_trip_keeps_data(store):
    m = store.mount()
    m.start()
    with open(m.path("acme", "kept"), "wb") as f:
        f.write(b"still here")
    m.stop()
    new = os.path.join(store.root, "newpass")
    util.write_passfile(new, "a brand new passphrase")
    util.ctl("passwd", store.path, "--passfile", store.passfile, "--new-passfile", new)
    # The old passphrase no longer opens the store; the new one does.
    assert util.ctl("tenant", "list", store.path, "--passfile", store.passfile,
                    check=False).returncode == 1
    assert "acme" in util.ctl("tenant", "list", store.path, "--passfile", new).stdout
    m2 = util.Mount(store.path, store.mnt, new, os.path.join(store.root, "m2.log"))
    m2.start()
    try:
        with open(m2.path("acme", "kept"), "rb") as f:
            assert f.read() == b"still here"
    finally:
        m2.stop()
    # A wrong old passphrase changes nothing.
    r = util.ctl("passwd", store.path, "--passfile", store.passfile,
                 "--new-passfile", store.passfile, check=False)
    assert r.returncode == 1
    assert "acme" in util.ctl("tenant", "list", store.path, "--passfile", new).stdout


def test_unreadable_passfile(store):
    mount_fails([store.path, store.mnt, "-o", "passfile=" + store.root])   # a folder
    empty = os.path.join(store.root, "emptypass")
    open(empty, "w").close()
    r = util.run([TENANTFS, store.path, store.mnt, "-o", "passfile=" + empty], check=False)
    assert r.returncode == 1
    assert not os.path.ismount(store.mnt)


def test_damaged_header_is_a_clear_error_and_loses_nothing(store):
    m = store.mount()
    m.start()
    with open(m.path("acme", "precious"), "wb") as f:
        f.write(b"keep")
    m.stop()
    hdr = os.path.join(store.path, "tenantfs.hdr")
    assert os.path.exists(hdr), "store has no tenantfs.hdr (docs/file-format.md)"
    with open(hdr, "rb") as f:
        orig = f.read()
    damaged = bytearray(orig)
    for i in range(len(damaged) // 2, len(damaged)):
        damaged[i] ^= 0xA5
    with open(hdr, "wb") as f:
        f.write(damaged)
    mount_fails([store.path, store.mnt, "-o", "passfile=" + store.passfile])
    r = util.ctl("tenant", "list", store.path, "--passfile", store.passfile, check=False)
    assert r.returncode == 1
    one_clear_line(r.stderr, "tenantctl")
    with open(hdr, "wb") as f:
        f.write(orig)
    m.start()
    try:
        with open(m.path("acme", "precious"), "rb") as f:
            assert f.read() == b"keep"
    finally:
        m.stop()
