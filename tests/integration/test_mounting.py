"""Ways to mount: the daemon's default (detached) mode, mount -t
fuse.tenantfs through mount.fuse3, an /etc/fstab line, and a store made with
the default (expensive) key derivation."""

import errno
import os
import re
import subprocess

import pytest

import util
from util import TENANTFS


def daemon_pids(store_path):
    """Pids of tenantfs processes whose command line names store_path."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"tenantfs" and \
                os.fsencode(store_path) in argv:
            pids.append(int(d))
    return pids


@pytest.fixture
def detached_env(workdir):
    """Environment for a detached daemon: sanitizer reports go to files,
    since its stderr is gone."""
    logs = os.path.join(workdir, "sanitizer")
    env = util.child_env()
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[var] = ":".join(filter(None, [env.get(var), "log_path=" + logs]))
    yield env
    reports = [n for n in os.listdir(workdir) if n.startswith("sanitizer")]
    for n in reports:
        with open(os.path.join(workdir, n), errors="replace") as f:
            text = f.read()
        if util.sanitizer_report(text):
            pytest.fail("detached tenantfs wrote a sanitizer report:\n" + text[-20000:])


def stop_detached(store_path, mnt):
    r = util.unmount(mnt, lazy=False)
    assert r.returncode == 0, r.stderr
    assert not os.path.ismount(mnt)
    gone = util.wait_for(lambda: not daemon_pids(store_path), timeout=30)
    assert gone, "tenantfs still running after unmount: %s" % daemon_pids(store_path)


def use_it(mnt, name):
    p = os.path.join(mnt, "acme", name)
    with open(p, "w") as f:
        f.write("hello " + name)
    with open(p) as f:
        assert f.read() == "hello " + name


def test_daemon_mode_returns_once_mounted(store, detached_env):
    util.run([TENANTFS, store.path, store.mnt, "-o",
                  "passfile=%s,allow_other" % store.passfile], env=detached_env)
    # No polling: the parent exits 0 only once the filesystem serves.
    assert os.path.ismount(store.mnt)
    try:
        use_it(store.mnt, "detached")
        pids = daemon_pids(store.path)
        assert len(pids) == 1, pids
        # Detached: not a child of ours and not attached to our session.
        with open("/proc/%d/stat" % pids[0]) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        assert ppid != os.getpid()
        with open("/proc/mounts") as f:
            line = [l for l in f if (" %s " % store.mnt) in l][0]
        fields = line.split()
        assert fields[0] == store.path and fields[2] == "fuse.tenantfs", line
        assert "allow_other" in fields[3] and "default_permissions" in fields[3], line
    finally:
        stop_detached(store.path, store.mnt)
    # Data written by the detached daemon is there on the next mount.
    m = store.mount()
    m.start()
    try:
        with open(m.path("acme", "detached")) as f:
            assert f.read() == "hello detached"
    finally:
        m.stop()


@pytest.fixture
def path_with_tenantfs(workdir):
    """Makes mount.fuse3 find our tenantfs.  mount(8) drops PATH from the
    helper's environment, so mount.fuse3's /bin/sh searches its default PATH
    (/usr/local/sbin first, where `meson install` puts tenantfs): link the
    binary under test there for the test, and put back whatever was there."""
    link = "/usr/local/sbin/tenantfs"
    backup = link + ".tenantfs-test-backup"
    os.makedirs(os.path.dirname(link), exist_ok=True)
    had = os.path.lexists(link)
    if had:
        os.rename(link, backup)
    try:
        os.symlink(TENANTFS, link)
        bindir = os.path.join(workdir, "bin")
        os.mkdir(bindir)
        os.symlink(TENANTFS, os.path.join(bindir, "tenantfs"))
        yield bindir + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    finally:
        if os.path.lexists(link):
            os.unlink(link)
        if had:
            os.rename(backup, link)


def test_mount_t_fuse_tenantfs(store, detached_env, path_with_tenantfs):
    env = dict(detached_env, PATH=path_with_tenantfs)
    r = subprocess.run(["mount", "-t", "fuse.tenantfs", store.path, store.mnt,
                        "-o", "passfile=%s,allow_other,rw,dev,suid,exec" % store.passfile],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.path.ismount(store.mnt)
    try:
        use_it(store.mnt, "via-mount")
    finally:
        stop_detached(store.path, store.mnt)


def test_fstab_line(store, detached_env, path_with_tenantfs):
    env = dict(detached_env, PATH=path_with_tenantfs)
    try:
        with open("/etc/fstab", "rb") as f:
            saved = f.read()
    except FileNotFoundError:
        saved = None
    try:
        with open("/etc/fstab", "ab") as f:
            if saved and not saved.endswith(b"\n"):
                f.write(b"\n")
            f.write(("%s %s fuse.tenantfs passfile=%s,allow_other,noauto,nofail,_netdev 0 0\n"
                     % (store.path, store.mnt, store.passfile)).encode())
        r = subprocess.run(["mount", store.mnt], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(store.mnt)
        try:
            use_it(store.mnt, "via-fstab")
        finally:
            stop_detached(store.path, store.mnt)
    finally:
        if saved is None:
            os.unlink("/etc/fstab")
        else:
            with open("/etc/fstab", "wb") as f:
                f.write(saved)
    if saved is not None:
        with open("/etc/fstab", "rb") as f:
            assert f.read() == saved


def test_default_kdf(workdir):
    """A store made without the test-only cheap KDF works end to end."""
    from conftest import Store
    env = util.child_env(fast_kdf=False)
    s = Store(workdir)
    s.init(env=env)
    s.add_tenant("acme", env=env)
    m = s.mount(env=env)
    m.start()
    try:
        use_it(s.mnt, "slow-kdf")
    finally:
        m.stop()
    out = util.ctl("tenant", "list", s.path, "--passfile", s.passfile, env=env).stdout
    assert re.search(r"^acme\s", out, re.M), out


def test_read_only_mount(store):
    m = store.mount()
    m.start()
    with open(m.path("acme", "r"), "w") as f:
        f.write("before")
    m.stop()
    ro = store.mount(options=("allow_other", "ro"))
    ro.start()
    try:
        with open(ro.path("acme", "r")) as f:
            assert f.read() == "before"
        for fn in (lambda: open(ro.path("acme", "new"), "w"),
                   lambda: open(ro.path("acme", "r"), "a"),
                   lambda: os.mkdir(ro.path("acme", "d")),
                   lambda: os.unlink(ro.path("acme", "r"))):
            with pytest.raises(OSError) as ei:
                fn()
            assert ei.value.errno == errno.EROFS
    finally:
        ro.stop()


def test_tenant_added_while_mounted_appears(mounted, store):
    store.add_tenant("latecomer")
    assert util.wait_for(lambda: os.path.isdir(mounted.path("latecomer")), timeout=5), \
        "tenant added while mounted not visible after 5 s"
    with open(mounted.path("latecomer", "hello"), "w") as f:
        f.write("hi")
    mounted.remount()
    with open(mounted.path("latecomer", "hello")) as f:
        assert f.read() == "hi"


@pytest.mark.parametrize("args,secret", [
    (("-f", "-s"), "passfile"),       # single-threaded
    (("-d",), "passfile"),            # debug, implies foreground
    (("-f",), "keyfile"),             # DESIGN.md's name for the option
])
def test_foreground_variants(store, args, secret):
    m = store.mount(args=args, secret_option=secret)
    m.start()
    try:
        use_it(store.mnt, "variant")
        os.mkdir(m.path("acme", "d"))
        os.rename(m.path("acme", "variant"), m.path("acme", "d", "v"))
        with open(m.path("acme", "d", "v")) as f:
            assert f.read() == "hello variant"
    finally:
        m.stop()
    if "-d" in args:
        assert m.read_log().strip(), "-d printed no debug output"


@pytest.fixture
def syslog_socket():
    """A datagram socket listening at /dev/log, where syslog(3) writes.  A
    system logger's socket, if any, is moved aside for the test and put
    back after."""
    import socket
    path, aside = "/dev/log", "/dev/log.tenantfs-test"
    had = os.path.lexists(path)
    if had:
        os.rename(path, aside)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        sock.settimeout(0.2)
        yield sock
    finally:
        sock.close()
        if os.path.lexists(path):
            os.unlink(path)
        if had:
            os.rename(aside, path)


def syslog_lines(sock, want, timeout=10):
    """Datagrams received until one contains `want` (or the timeout)."""
    import socket
    import time
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got.append(sock.recv(65536).decode(errors="replace"))
        except socket.timeout:
            continue
        if want in got[-1]:
            break
    return got


def test_detached_daemon_logs_to_syslog(store, detached_env, syslog_socket):
    util.run([TENANTFS, store.path, store.mnt, "-o",
              "passfile=%s" % store.passfile], env=detached_env)
    try:
        lines = syslog_lines(syslog_socket, "serving")
        assert any("tenantfs[" in l and "serving %s on %s" % (store.path, store.mnt) in l
                   for l in lines), lines
        with open(store.passfile) as f:
            secret = f.readline().strip()
        assert not any(secret in l for l in lines)
    finally:
        stop_detached(store.path, store.mnt)
    lines = syslog_lines(syslog_socket, "stopped serving")
    assert any("stopped serving %s" % store.path in l for l in lines), lines
