"""Real Unix users for the permission tests, and a way to act as one of them.

  principals      a session fixture: users tfs_alice, tfs_bob, tfs_carol (each
                  with a group of their own name as primary group) and a
                  shared group tfs_staff holding alice and carol (as a
                  supplementary group) but not bob; created idempotently
  as_user(U, sh)  runs a shell command as U (runuser, cwd /)
  ops(U, *ops)    runs file operations as U in one Python child and returns
                  one result per operation: ("ok", value) on success, the
                  errno name ("EACCES", "ENOENT", ...) on failure
  try_op(U, ...)  one operation, its result
  ok(U, ...)      one operation that must succeed: its value
  until(U, op, expected, timeout)  polls op as U inside the child
  Session(U)      a long-lived process of U (cwd and descriptors kept)
  tenant_list(store)   `tenantctl tenant list --json` as {name: entry}

Paths are absolute, or relative to / (a Session's: to its cwd).

Operations (modes integers):
  read P                    -> content (str, latin-1)
  write P DATA [MODE]       open O_WRONLY|O_CREAT|O_TRUNC, write, fsync, close
  fill P N                  like write, N bytes of b"f"
  append P DATA             open O_WRONLY|O_APPEND, write, close
  create P [MODE]           open O_WRONLY|O_CREAT|O_EXCL, close
  openw P                   open O_WRONLY (no change), close
  mkdir P [MODE], rmdir P, unlink P, rename A B, link A B, symlink T P
  chmod P MODE, chown P UID GID (-1 keeps)
  stat P, lstat P           -> [uid, gid, S_IMODE, S_IFMT]
  listdir P                 -> sorted names
  statvfs P                 -> [f_frsize, f_blocks, f_bfree, f_files, f_ffree]
  until OP EXPECTED TIMEOUT -> repeats OP until its result equals EXPECTED or
                               TIMEOUT seconds pass: [result, elapsed]
The child runs with umask 022.
"""

import errno
import grp
import json
import os
import pwd
import subprocess

import pytest

import util


ALICE, BOB, CAROL = "tfs_alice", "tfs_bob", "tfs_carol"
STAFF = "tfs_staff"          # alice and carol, not bob
USERS = (ALICE, BOB, CAROL)
STAFF_MEMBERS = (ALICE, CAROL)


def _run(args):
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)


def ensure_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        r = _run(["useradd", "--no-create-home", "--shell", "/bin/sh",
                  "--user-group", name])
        assert r.returncode == 0, "useradd %s: %s" % (name, r.stderr)
        return pwd.getpwnam(name)


def ensure_group(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        r = _run(["groupadd", name])
        assert r.returncode == 0, "groupadd %s: %s" % (name, r.stderr)
        return grp.getgrnam(name)


def ensure_members(group, members, non_members=()):
    g = grp.getgrnam(group)
    for u in members:
        if u not in g.gr_mem:
            r = _run(["usermod", "-aG", group, u])
            assert r.returncode == 0, "usermod -aG %s %s: %s" % (group, u, r.stderr)
    for u in non_members:
        if u in grp.getgrnam(group).gr_mem:
            r = _run(["gpasswd", "-d", u, group])
            assert r.returncode == 0, "gpasswd -d %s %s: %s" % (u, group, r.stderr)
    return grp.getgrnam(group)


class Principals:
    def __init__(self):
        self.pw = {u: ensure_user(u) for u in USERS}
        ensure_group(STAFF)
        self.staff = ensure_members(STAFF, STAFF_MEMBERS, non_members=(BOB,))

    def uid(self, user):
        return self.pw[user].pw_uid

    def gid(self, user):
        """user's primary group."""
        return self.pw[user].pw_gid

    @property
    def staff_gid(self):
        return self.staff.gr_gid

    def group_name(self, user):
        return grp.getgrgid(self.gid(user)).gr_name


_principals = None


@pytest.fixture
def pub(store, principals):
    """A store mounted with tenant pub: tfs_alice:tfs_staff 0755, so bob is
    "other" and carol a member of its group."""
    store.add_tenant("pub", owner="%s:%s" % (ALICE, STAFF), mode="0755")
    mnt = store.mount()
    mnt.start()
    yield mnt
    mnt.stop()


def principals_now():
    global _principals
    if _principals is None:
        _principals = Principals()
    return _principals


@pytest.fixture(scope="session")
def principals():
    return principals_now()


def as_user(user, script, check=True, timeout=60):
    r = subprocess.run(["runuser", "-u", user, "--", "/bin/sh", "-c", script],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, cwd="/")
    if check and r.returncode != 0:
        pytest.fail("as %s: %r exited %d: %s" % (user, script, r.returncode, r.stderr))
    return r


_CHILD = r'''
import errno, json, os, stat, sys, time
os.umask(0o022)

def one(op):
    n, a = op[0], op[1:]
    if n == "read":
        with open(a[0], "rb") as f:
            return f.read().decode("latin-1")
    if n == "write":
        fd = os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     a[2] if len(a) > 2 else 0o644)
        try:
            os.write(fd, a[1].encode("latin-1"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return None
    if n == "fill":
        fd = os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            chunk = b"f" * 65536
            left = a[1]
            while left > 0:
                left -= os.write(fd, chunk[:left])
            os.fsync(fd)
        finally:
            os.close(fd)
        return None
    if n == "append":
        fd = os.open(a[0], os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, a[1].encode("latin-1"))
        finally:
            os.close(fd)
        return None
    if n == "create":
        os.close(os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         a[1] if len(a) > 1 else 0o644))
        return None
    if n == "truncate":
        os.truncate(a[0], a[1])
        return None
    if n == "truncopen":
        os.close(os.open(a[0], os.O_WRONLY | os.O_TRUNC))
        return None
    if n == "fallocate":
        fd = os.open(a[0], os.O_WRONLY)
        try:
            os.posix_fallocate(fd, 0, a[1])
        finally:
            os.close(fd)
        return None
    if n == "mkfifo":
        os.mkfifo(a[0], a[1])
        return None
    if n == "openw":
        os.close(os.open(a[0], os.O_WRONLY))
        return None
    if n == "mkdir":
        os.mkdir(a[0], a[1] if len(a) > 1 else 0o777)
        return None
    if n in ("rmdir", "unlink"):
        getattr(os, n)(a[0])
        return None
    if n in ("rename", "link", "symlink"):
        getattr(os, n)(a[0], a[1])
        return None
    if n == "chmod":
        os.chmod(a[0], a[1])
        return None
    if n == "chown":
        os.chown(a[0], a[1], a[2])
        return None
    if n in ("stat", "lstat"):
        st = getattr(os, n)(a[0])
        return [st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), stat.S_IFMT(st.st_mode)]
    if n == "listdir":
        return sorted(os.listdir(a[0]))
    if n == "access":
        return os.access(a[0], a[1])
    if n == "exec":
        import subprocess
        return subprocess.run([a[0]], stdin=subprocess.DEVNULL,
                              capture_output=True).returncode
    if n == "statvfs":
        s = os.statvfs(a[0])
        return [s.f_frsize, s.f_blocks, s.f_bfree, s.f_files, s.f_ffree]
    if n == "until":
        inner, expected, timeout = a
        start = time.monotonic()
        while True:
            r = safe(inner)
            el = time.monotonic() - start
            if r == expected or el >= timeout:
                return [r, el]
            time.sleep(0.01)
    raise SystemExit("unknown op %r" % (n,))

fds = []

def safe(op):
    try:
        return {"ok": one(op)}
    except OSError as e:
        return {"err": errno.errorcode.get(e.errno, str(e.errno))}

if sys.argv[1] == "--serve":
    # A session: one JSON list of operations per line in, one line of
    # results out; ["chdir", P] moves the session's cwd.
    for line in sys.stdin:
        batch = json.loads(line)
        out = []
        for op in batch:
            if op[0] == "chdir":
                try:
                    os.chdir(op[1])
                    out.append({"ok": None})
                except OSError as e:
                    out.append({"err": errno.errorcode.get(e.errno, str(e.errno))})
            elif op[0] == "open":
                try:
                    fds.append(os.open(op[1], os.O_RDWR if op[2] == "rw" else os.O_RDONLY))
                    out.append({"ok": len(fds) - 1})
                except OSError as e:
                    out.append({"err": errno.errorcode.get(e.errno, str(e.errno))})
            elif op[0] == "fdread":
                try:
                    out.append({"ok": os.pread(fds[op[1]], 1 << 20, 0).decode("latin-1")})
                except OSError as e:
                    out.append({"err": errno.errorcode.get(e.errno, str(e.errno))})
            elif op[0] in ("fdlist", "fdstat"):
                try:
                    if op[0] == "fdlist":
                        got = sorted(os.listdir(fds[op[1]]))
                    else:
                        st = os.stat(op[2], dir_fd=fds[op[1]])
                        got = [st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)]
                    out.append({"ok": got})
                except OSError as e:
                    out.append({"err": errno.errorcode.get(e.errno, str(e.errno))})
            elif op[0] == "fdclose":
                os.close(fds[op[1]])
                out.append({"ok": None})
            else:
                out.append(safe(op))
        print(json.dumps(out), flush=True)
else:
    print(json.dumps([safe(op) for op in json.loads(sys.argv[1])]))
'''


def _to_child(result):
    if isinstance(result, str):
        return {"err": result}
    tag, value = result
    assert tag == "ok", result
    if isinstance(value, tuple):
        value = list(value)
    return {"ok": value}


def _from_child(r):
    if "err" in r:
        return r["err"]
    v = r["ok"]
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], dict):
        # until: [result, elapsed]
        return (_from_child(v[0]), v[1])
    return ("ok", v)


OK = ("ok", None)


def _encode(op):
    op = list(op)
    if op[0] == "until":
        op = ["until", _encode(op[1]), _to_child(op[2]), op[3]]
    return op


def ops(user, *oplist):
    """Runs each operation as user (root: "root"), in order, in one child."""
    args = json.dumps([_encode(o) for o in oplist])
    cmd = ["/usr/bin/python3", "-c", _CHILD, args]
    if user != "root":
        cmd = ["runuser", "-u", user, "--"] + cmd
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60, cwd="/")
    if r.returncode != 0:
        pytest.fail("as %s: %r exited %d: %s" % (user, oplist, r.returncode, r.stderr))
    return [_from_child(x) for x in json.loads(r.stdout)]


class Session:
    """A long-lived process of user (setpriv: uid, gid and supplementary
    groups of the user) that runs operations on request, keeping its cwd and
    open descriptors between them.  Extra operations: chdir P; open P "r"|"rw"
    -> a descriptor index; fdread I -> content; fdlist I -> the names in
    that open folder; fdstat I NAME -> [uid, gid, mode] of NAME in it;
    fdclose I."""

    def __init__(self, user, cwd="/"):
        self.user = user
        cmd = ["/usr/bin/python3", "-c", _CHILD, "--serve"]
        if user != "root":
            pw = pwd.getpwnam(user)
            cmd = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                   "--init-groups", "--"] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=cwd)

    def ops(self, *oplist):
        self.proc.stdin.write(json.dumps([_encode(o) for o in oplist]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail("session of %s died: %s" % (self.user, self.proc.stderr.read()))
        return [_from_child(x) for x in json.loads(line)]

    def op(self, *op):
        return self.ops(op)[0]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def try_op(user, *op):
    return ops(user, op)[0]


def ok(user, *op):
    r = try_op(user, *op)
    if isinstance(r, str):
        pytest.fail("as %s: %r failed with %s" % (user, op, r))
    return r[1]


def until(user, op, expected, timeout):
    """As user, repeats op until its result is expected or timeout seconds
    pass; returns (last result, seconds it took)."""
    return try_op(user, "until", tuple(op), expected, timeout)


def tenant_list(store, passfile=None):
    """`tenantctl tenant list STORE --json` as {name: entry}; without
    passfile it must go through the running daemon."""
    args = ["tenant", "list", store.path, "--json"]
    if passfile:
        args += ["--passfile", passfile]
    r = util.ctl(*args)
    try:
        entries = json.loads(r.stdout)
    except ValueError:
        pytest.fail("tenant list --json printed no JSON: %r" % r.stdout)
    assert isinstance(entries, list), r.stdout
    return {e["name"]: e for e in entries}
