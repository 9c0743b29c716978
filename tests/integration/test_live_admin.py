"""Live administration (issue 4): while the store is mounted, every
`tenantctl tenant` command goes through the daemon (STORE/admin.sock, no
passphrase needed) and takes effect in the mounted filesystem within a second,
with no remount.  Each check primes the kernel's caches first, then polls
with a 1 s deadline from the moment tenantctl returned."""

import errno
import json
import os
import signal
import stat
import subprocess
import time

import pytest

import util
from users import (ALICE, BOB, CAROL, STAFF, OK, Session, as_user, ok, ops,  # noqa: F401
                   principals, tenant_list, try_op, until)

LIVE = 1.0      # seconds: "within a second"


@pytest.fixture
def m(store, principals):
    store.add_tenant("shop", owner=ALICE, mode="0700")
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def tctl(store, *args, check=True):
    """tenantctl tenant ... STORE ..., without a passphrase: only a running
    daemon can serve it."""
    return util.ctl("tenant", args[0], store.path, *args[1:], check=check)


def within(cond, what):
    start = time.monotonic()
    value = util.wait_for(cond, timeout=LIVE, interval=0.01)
    assert value, "%s: not within %.1f s" % (what, LIVE)
    return time.monotonic() - start


def root_stat(path):
    try:
        st = os.stat(path)
        return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    except OSError as e:
        return errno.errorcode[e.errno]


def test_admin_socket_serves_without_passphrase(m, store):
    assert os.path.exists(os.path.join(store.path, "admin.sock"))
    assert stat.S_ISSOCK(os.stat(os.path.join(store.path, "admin.sock")).st_mode)
    names = set(tenant_list(store))
    assert names == {"acme", "shop"}
    # --passfile is accepted and ignored (even one that does not exist).
    r = util.ctl("tenant", "list", store.path, "--json", "--passfile", "/nonexistent/pf")
    assert r.returncode == 0 and "shop" in r.stdout


def test_add_appears(m, store, principals):
    P = principals
    p = m.path("fresh")
    assert root_stat(p) == "ENOENT"                      # a negative entry, maybe cached
    assert try_op(CAROL, "stat", p) == "ENOENT"
    assert "fresh" not in os.listdir(m.mnt)
    tctl(store, "add", "fresh", "--owner", "%s:%s" % (ALICE, STAFF), "--mode", "0750")
    within(lambda: root_stat(p) == (P.uid(ALICE), P.staff_gid, 0o750), "added tenant at root")
    within(lambda: "fresh" in os.listdir(m.mnt), "added tenant in the listing")
    # Usable at once by its owner, visible to its group, hidden from others.
    assert ok(ALICE, "write", p + "/rec", "new") is None
    assert until(CAROL, ("read", p + "/rec"), ("ok", "new"), LIVE)[0] == ("ok", "new")
    assert ops(BOB, ("stat", p), ("listdir", m.mnt)) == [
        "ENOENT", ("ok", ["acme"])]
    # The default mode is 0750.
    tctl(store, "add", "dflt", "--owner", BOB)
    within(lambda: root_stat(m.path("dflt")) == (P.uid(BOB), P.gid(BOB), 0o750), "dflt")
    assert tenant_list(store)["dflt"]["mode"] == "0750"


def test_chmod_applies(m, store, principals):
    P = principals
    p = m.path("shop")
    ok(ALICE, "write", p + "/item", "i")
    ok(ALICE, "chmod", p + "/item", 0o644)
    assert root_stat(p) == (P.uid(ALICE), P.gid(ALICE), 0o700)      # cached attrs
    assert try_op(BOB, "read", p + "/item") == "ENOENT"
    tctl(store, "chmod", "shop", "0755")
    within(lambda: root_stat(p) == (P.uid(ALICE), P.gid(ALICE), 0o755), "chmod 0755 in stat")
    assert until(BOB, ("read", p + "/item"), ("ok", "i"), LIVE)[0] == ("ok", "i")
    assert try_op(BOB, "create", p + "/bobs") == "EACCES"
    # 0777: bob may create; 0705 with the sticky bit kept in the mode too.
    tctl(store, "chmod", "shop", "0777")
    within(lambda: root_stat(p)[2] == 0o777, "chmod 0777")
    assert until(BOB, ("create", p + "/bobs"), OK, LIVE)[0] == OK
    tctl(store, "chmod", "shop", "1777")
    within(lambda: root_stat(p)[2] == 0o1777, "chmod 1777")
    assert try_op(BOB, "unlink", p + "/item") == "EPERM"
    # Back to 0700: bob loses it within a second, alice keeps it.
    tctl(store, "chmod", "shop", "0700")
    within(lambda: root_stat(p)[2] == 0o700, "chmod 0700")
    assert until(BOB, ("stat", p), "ENOENT", LIVE)[0] == "ENOENT"
    assert "shop" not in ok(BOB, "listdir", m.mnt)
    assert ok(ALICE, "listdir", p) == ["bobs", "item"]
    e = tenant_list(store)["shop"]
    assert (e["mode"], e["uid"], e["gid"]) == ("0700", P.uid(ALICE), P.gid(ALICE))
    # Persisted: the same after a remount.
    m.remount()
    assert root_stat(p) == (P.uid(ALICE), P.gid(ALICE), 0o700)


def test_chmod_closes_a_tenant_to_a_process_inside_it(m, store):
    """A process whose cwd is inside a tenant (an inode the kernel holds, no
    path walked from the root) loses access when the tenant is closed; a
    descriptor it opened before keeps working (POSIX)."""
    p = m.path("shop")
    tctl(store, "chmod", "shop", "0755")
    assert ops(ALICE, ("write", p + "/doc", "d"), ("mkdir", p + "/sub"),
               ("write", p + "/sub/x", "x")) == [OK, OK, OK]
    with Session(BOB) as bob:
        assert util.wait_for(lambda: bob.op("chdir", p) == OK, timeout=LIVE)
        assert bob.ops(("read", "doc"), ("listdir", "."), ("open", "doc", "r")) == [
            ("ok", "d"), ("ok", ["doc", "sub"]), ("ok", 0)]
        tctl(store, "chmod", "shop", "0700")
        denied = ("EACCES", "ENOENT")
        assert util.wait_for(lambda: bob.op("read", "doc") in denied, timeout=LIVE), \
            bob.op("read", "doc")
        res = bob.ops(("listdir", "."), ("stat", "sub/x"), ("read", "sub/x"),
                      ("create", "new"), ("mkdir", "newdir"), ("listdir", "sub"))
        assert all(r in denied for r in res), res
        assert bob.op("fdread", 0) == ("ok", "d")
        assert sorted(os.listdir(p)) == ["doc", "sub"]
        # Reopened: the same process gets in again.
        tctl(store, "chmod", "shop", "0755")
        assert util.wait_for(lambda: bob.op("read", "sub/x") == ("ok", "x"), timeout=LIVE)


_HOLDER = r'''
import errno, json, os, sys

def res(fn):
    try:
        v = fn()
        return ["ok", v]
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

top = sys.argv[1]
f = os.open(os.path.join(top, "sub", "doc"), os.O_RDONLY)
d = os.open(os.path.join(top, "sub"), os.O_RDONLY | os.O_DIRECTORY)
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps([
    res(lambda: os.fstat(f).st_size),
    res(lambda: oct(os.fstat(d).st_mode)),
    res(lambda: sorted(os.listxattr(f))),
    res(lambda: sorted(os.listxattr(d))),
    res(lambda: os.getxattr(f, "user.note").decode()),
    res(lambda: os.getxattr(d, "user.tag").decode()),
    res(lambda: os.pread(f, 100, 0).decode()),
    res(lambda: sorted(os.listdir(d))),
    res(lambda: os.stat(os.path.join(top, "sub", "doc")).st_size),
    res(lambda: sorted(os.listdir(os.path.join(top, "sub")))),
]), flush=True)
'''


def test_open_descriptors_keep_working_after_the_tenant_is_closed(m, store, principals):
    """docs/permissions.md: an open descriptor keeps working after the tenant
    is closed to its holder, for fstat, flistxattr, fgetxattr, reads and
    the listing of an open folder, as on ext4 (the kernel sends no handle
    with fstat's getattr, so it must not be gated either); new lookups by
    path are refused."""
    p = m.path("shop")
    assert ops(ALICE, ("mkdir", p + "/sub"), ("write", p + "/sub/doc", "data"),
               ("write", p + "/sub/other", "o")) == [OK] * 3
    as_user(ALICE, "/usr/bin/python3 -c 'import os, sys; "
            "os.setxattr(sys.argv[1], \"user.note\", b\"kept\"); "
            "os.setxattr(sys.argv[2], \"user.tag\", b\"folder\")' %s/sub/doc %s/sub"
            % (p, p))
    pw = principals.pw[ALICE]
    holder = subprocess.Popen(["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                               "--init-groups", "--", "/usr/bin/python3", "-c", _HOLDER, p],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        tctl(store, "chmod", "shop", "0700")
        tctl(store, "chown", "shop", "root:root")
        within(lambda: root_stat(p) == (0, 0, 0o700), "chown root:root")
        # Past the kernel's attribute cache time: fstat reaches the daemon.
        time.sleep(1.2)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        line = holder.stdout.readline()
        assert line, holder.stderr.read()
        got = json.loads(line)
    finally:
        holder.kill()
        holder.wait()
    assert got[:8] == [["ok", 4], ["ok", "0o40755"], ["ok", ["user.note"]],
                       ["ok", ["user.tag"]], ["ok", "kept"], ["ok", "folder"],
                       ["ok", "data"], ["ok", ["doc", "other"]]], got
    # New requests by path are refused.
    assert got[8] in ("ENOENT", "EACCES") and got[9] in ("ENOENT", "EACCES"), got
    assert ops(ALICE, ("stat", p + "/sub/doc"), ("stat", p)) == ["ENOENT"] * 2


def test_daemon_checks_again_at_once(m, store, principals):
    """The kernel may hold attributes and names it cached (for up to a
    second); the daemon decides with the registry, so a tenant closed by
    `tenantctl tenant chmod` is closed for new requests at once
    (docs/permissions.md, "Who checks what"): no polling here."""
    p = m.path("shop")
    tctl(store, "chmod", "shop", "0755")
    assert ops(ALICE, ("write", p + "/doc", "d"), ("mkdir", p + "/sub"),
               ("write", p + "/sub/x", "x")) == [OK, OK, OK]
    with Session(BOB) as bob:
        assert util.wait_for(lambda: bob.op("chdir", p) == OK, timeout=LIVE)
        # Everything bob may touch is now in the kernel's caches.
        assert bob.ops(("read", "doc"), ("listdir", "."), ("stat", "sub/x"),
                       ("read", "sub/x"), ("listdir", "sub")) == [
            ("ok", "d"), ("ok", ["doc", "sub"]),
            ("ok", [principals.uid(ALICE), principals.gid(ALICE), 0o644, stat.S_IFREG]),
            ("ok", "x"), ("ok", ["x"])]
        tctl(store, "chmod", "shop", "0700")
        res = bob.ops(("read", "doc"), ("read", "sub/x"), ("listdir", "sub"),
                      ("create", "new"), ("read", p + "/doc"))
        assert all(r in ("EACCES", "ENOENT") for r in res), res
    assert sorted(os.listdir(p)) == ["doc", "sub"]


def test_chown_applies(m, store, principals):
    P = principals
    p = m.path("shop")
    ok(ALICE, "write", p + "/item", "i")
    assert root_stat(p)[:2] == (P.uid(ALICE), P.gid(ALICE))
    assert try_op(BOB, "stat", p) == "ENOENT"
    tctl(store, "chown", "shop", "%s:%s" % (BOB, BOB))
    within(lambda: root_stat(p) == (P.uid(BOB), P.gid(BOB), 0o700), "chown to bob")
    # The tenant is bob's now: he enters and creates; alice is shut out.
    assert until(BOB, ("listdir", p), ("ok", ["item"]), LIVE)[0] == ("ok", ["item"])
    assert try_op(BOB, "write", p + "/bobs", "b") == OK
    assert until(ALICE, ("stat", p), "ENOENT", LIVE)[0] == "ENOENT"
    # The records keep their own owners.
    assert os.stat(p + "/item").st_uid == P.uid(ALICE)
    assert os.stat(p + "/bobs").st_uid == P.uid(BOB)
    # :GROUP changes the group only; with 0750, carol (staff) enters.
    tctl(store, "chmod", "shop", "0750")
    tctl(store, "chown", "shop", ":" + STAFF)
    within(lambda: root_stat(p) == (P.uid(BOB), P.staff_gid, 0o750), "chown :staff")
    assert until(CAROL, ("listdir", p), ("ok", ["bobs", "item"]), LIVE)[0] == (
        "ok", ["bobs", "item"])
    assert try_op(CAROL, "create", p + "/c") == "EACCES"
    e = tenant_list(store)["shop"]
    assert (e["uid"], e["gid"], e["owner"], e["group"], e["mode"]) == (
        P.uid(BOB), P.staff_gid, BOB, STAFF, "0750")
    # USER alone changes the owner.
    tctl(store, "chown", "shop", CAROL)
    within(lambda: root_stat(p)[0] == P.uid(CAROL), "chown carol")


def test_set_quota_applies(m, store):
    p = m.path("shop")
    for i in range(3):
        with open(os.path.join(p, "r%d" % i), "w") as f:
            f.write("r")
    os.statvfs(p)
    tctl(store, "set-quota", "shop", "--records", "3", "--bytes", "10M")
    within(lambda: os.statvfs(p).f_files == 3, "record quota in statvfs")
    st = os.statvfs(p)
    assert st.f_blocks * st.f_frsize == 10 << 20
    with pytest.raises(OSError) as ei:
        open(os.path.join(p, "r3"), "w").close()
    assert ei.value.errno == errno.EDQUOT
    e = tenant_list(store)["shop"]
    assert (e["quota_records"], e["quota_bytes"], e["used_records"]) == (3, 10 << 20, 3)
    tctl(store, "set-quota", "shop", "--records", "none")
    within(lambda: os.statvfs(p).f_files != 3, "record quota lifted")
    open(os.path.join(p, "r3"), "w").close()
    assert sorted(os.listdir(p)) == ["r0", "r1", "r2", "r3"]
    assert tenant_list(store)["shop"]["quota_bytes"] == 10 << 20
    # T is 2^40; "none" lifts the byte quota too.
    tctl(store, "set-quota", "shop", "--bytes", "3T")
    assert tenant_list(store)["shop"]["quota_bytes"] == 3 << 40
    within(lambda: os.statvfs(p).f_blocks * os.statvfs(p).f_frsize == 3 << 40, "3T in statvfs")
    tctl(store, "set-quota", "shop", "--bytes", "none", "--records", "0")
    e = tenant_list(store)["shop"]
    assert (e["quota_bytes"], e["quota_records"], e["used_records"]) == (0, 0, 4)


def test_remove_disappears(m, store):
    p = m.path("shop")
    with open(os.path.join(p, "gone"), "w") as f:
        f.write("bye")
    assert os.path.exists(p) and "shop" in os.listdir(m.mnt)
    assert ok(ALICE, "listdir", p) == ["gone"]
    tctl(store, "remove", "shop")
    within(lambda: root_stat(p) == "ENOENT", "removed tenant stat")
    within(lambda: "shop" not in os.listdir(m.mnt), "removed tenant in the listing")
    assert until(ALICE, ("stat", p), "ENOENT", LIVE)[0] == "ENOENT"
    assert "shop" not in tenant_list(store)
    # Re-added under the same name, it is a new, empty tenant.
    tctl(store, "add", "shop", "--owner", ALICE, "--mode", "0755")
    within(lambda: root_stat(p) != "ENOENT", "re-added")
    assert os.listdir(p) == []
    assert os.listdir(m.mnt) != [] and sorted(os.listdir(m.mnt)) == ["acme", "shop"]


def test_remove_refused_while_a_file_is_open(m, store):
    p = m.path("shop")
    with open(os.path.join(p, "other"), "w") as f:
        f.write("other")
    os.mkdir(os.path.join(p, "d"))
    f = open(os.path.join(p, "d", "held"), "w+")
    try:
        f.write("held data")
        f.flush()
        os.fsync(f.fileno())           # the daemon has it: the use is settled
        before = tenant_list(store)
        r = tctl(store, "remove", "shop", check=False)
        assert r.returncode == 1, (r.returncode, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("tenantctl:"), r.stderr
        assert "open" in lines[0], lines[0]
        # Nothing changed.
        assert tenant_list(store) == before
        assert "shop" in os.listdir(m.mnt)
        with open(os.path.join(p, "other")) as g:
            assert g.read() == "other"
        f.seek(0)
        assert f.read() == "held data"
        f.write(" more")
        f.flush()
    finally:
        f.close()
    with open(os.path.join(p, "d", "held")) as g:
        assert g.read() == "held data more"
    # Closed: the release reaches the daemon asynchronously; retry briefly.
    def removed():
        r = tctl(store, "remove", "shop", check=False)
        if r.returncode != 0:
            assert "open" in r.stderr, r.stderr
        return r.returncode == 0
    assert util.wait_for(removed, timeout=2), "remove still refused after close"
    within(lambda: "shop" not in os.listdir(m.mnt), "removed after close")
    assert "shop" not in tenant_list(store)


def _socket_count(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def test_shutdown_during_an_admin_command_does_not_hang(m, store):
    """SIGTERM while an admin command is under way whose notification takes
    the mount root's lock (a tenant's chmod: the kernel forgets its name
    there), with lookups at the root coming in: each holds the root's lock
    until the session answers it.  The admin thread is stopped while the
    session still serves (fs_stop.c), so the lookups are answered, the
    notification gets the lock, the daemon exits (no hang), and the command
    was carried out and kept.  (Were the session to stop serving first, a
    lookup would wait for ever, and the notification, and the daemon, with
    it.)"""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    lookers = []
    try:
        before = _socket_count(m.proc.pid)
        sock.connect(os.path.join(store.path, "admin.sock"))
        sock.sendall(b"tenantfs-admin 1\tchmod\tshop\t0755")
        # The admin thread has taken the connection (one more socket) and
        # waits for the end of the request line.
        assert util.wait_for(lambda: _socket_count(m.proc.pid) > before, timeout=5)
        m.proc.send_signal(signal.SIGTERM)
        lookers = [subprocess.Popen(["stat", m.path("nosuch%d" % k)],
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
                   for k in range(20)]
        sock.sendall(b"\n")
        reply = sock.recv(4096)
        assert reply.startswith(b"ok"), reply
        try:
            rc = m.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = "hung"
        assert rc == 0, "the daemon hangs at shutdown" if rc == "hung" else rc
        for looker in lookers:
            # answered (ENOENT), or refused once the mount went away
            assert looker.wait(timeout=10) != 0
    finally:
        sock.close()
        if m.proc is not None and m.proc.poll() is None:
            # Hung: a lookup the session never answers cannot be killed,
            # nor can the daemon's thread waiting for its lock; only ending
            # the connection frees them.
            util.abort_connection(m.mnt)
        for looker in lookers:
            if looker.poll() is None:
                looker.kill()
                looker.wait()
        if m.proc is not None:
            try:
                m.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait()
            m.proc = None
            m.logf.close()
            util.unmount(m.mnt, lazy=True)
    assert util.sanitizer_report(m.read_log()) is None, m.read_log()[-5000:]
    assert util.wait_for(lambda: not util.is_mounted(m.mnt), timeout=5)
    # The command was carried out, and kept.
    assert tenant_list(store, passfile=store.passfile)["shop"]["mode"] == "0755"


def test_list_shows_owner_group_mode_quota_use(m, store, principals):
    P = principals
    tctl(store, "add", "team", "--owner", "%s:%s" % (CAROL, STAFF), "--mode", "2770")
    tctl(store, "set-quota", "team", "--bytes", "2G", "--records", "100")
    within(lambda: os.path.exists(m.path("team")), "team")
    os.mkdir(m.path("team", "d"))
    with open(m.path("team", "d", "f"), "wb") as f:
        f.write(os.urandom(100000))
    st = os.stat(m.path("team", "d", "f"))
    e = tenant_list(store)
    assert set(e) == {"acme", "shop", "team"}
    t = e["team"]
    assert set(t) >= {"name", "id", "uid", "gid", "owner", "group", "mode", "quota_bytes",
                      "quota_records", "used_bytes", "used_records"}
    assert (t["uid"], t["gid"], t["owner"], t["group"], t["mode"]) == (
        P.uid(CAROL), P.staff_gid, CAROL, STAFF, "2770")
    assert (t["quota_bytes"], t["quota_records"]) == (2 << 30, 100)
    assert t["used_records"] == 2
    assert t["used_bytes"] == st.st_blocks * 512 + os.stat(m.path("team", "d")).st_blocks * 512
    assert isinstance(t["id"], int) and t["id"] != e["shop"]["id"]
    s = e["shop"]
    assert (s["owner"], s["group"], s["mode"], s["quota_bytes"], s["quota_records"],
            s["used_bytes"], s["used_records"]) == (ALICE, ALICE, "0700", 0, 0, 0, 0)
    # The text form shows the same figures in columns.
    out = tctl(store, "list").stdout
    rows = {l.split()[0]: l.split() for l in out.strip().splitlines()[1:]}
    assert rows["team"][:5] == ["team", str(t["id"]), CAROL, STAFF, "2770"], out
    header = out.splitlines()[0].upper().split()
    assert header[:5] == ["NAME", "ID", "OWNER", "GROUP", "MODE"], out
    # Quota and use follow, in columns whose format the spec leaves open.
    assert len(header) > 5 and len(rows["team"]) > 5, out
    assert rows["team"][5:] != rows["acme"][5:], out


def test_only_root_administers(m, store):
    """The admin socket is root's (0600): a user's tenantctl gets nothing,
    changes nothing, and learns no tenant name."""
    sock = os.path.join(store.path, "admin.sock")
    st = os.stat(sock)
    assert (st.st_uid, stat.S_IMODE(st.st_mode) & 0o077) == (0, 0)
    before = tenant_list(store)
    ctl = util.TENANTCTL
    for cmd in ("%s tenant list %s" % (ctl, store.path),
                "%s tenant list %s --json" % (ctl, store.path),
                "%s tenant add %s evil --owner %s" % (ctl, store.path, ALICE),
                "%s tenant chmod %s shop 0777" % (ctl, store.path),
                "%s tenant chown %s shop %s" % (ctl, store.path, BOB),
                "%s tenant set-quota %s shop --records 1" % (ctl, store.path),
                "%s tenant remove %s shop" % (ctl, store.path)):
        r = as_user(ALICE, cmd + " </dev/null", check=False)
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        assert "shop" not in r.stdout and "acme" not in r.stdout, cmd
        assert r.stderr.startswith("tenantctl:"), (cmd, r.stderr)
    assert tenant_list(store) == before
