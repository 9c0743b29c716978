"""Helpers for the tenantfs integration tests: where the binaries are, how to
run tenantctl, and a Mount object that starts the daemon in the foreground,
polls until the kernel shows the mount, and on stop unmounts, waits for the
daemon and fails the test when its stderr shows a sanitizer report."""

import json
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("TENANTFS_BUILD", os.path.join(ROOT, "build")))
TENANTFS = os.path.join(BUILD, "fs", "tenantfs")
TENANTCTL = os.path.join(BUILD, "tools", "tenantctl")

SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")

MOUNT_TIMEOUT = 10.0
EXIT_TIMEOUT = 30.0


def built_with_asan():
    """Is the tenantfs under test built with AddressSanitizer?"""
    with open(TENANTFS, "rb") as f:
        return b"libasan.so" in f.read()


def wait_for(cond, timeout=MOUNT_TIMEOUT, interval=0.02):
    """Polls cond() until it is true or timeout seconds have passed;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def child_env(fast_kdf=True, **extra):
    """The environment for a tenantfs/tenantctl child."""
    env = dict(os.environ)
    if fast_kdf:
        env["TENANTFS_TEST_FAST_KDF"] = "1"
    else:
        env.pop("TENANTFS_TEST_FAST_KDF", None)
    env.update(extra)
    return env


def run(args, env=None, check=True, input=None, timeout=120, **kw):
    """Runs a command with stdin closed (or fed input) and captured output."""
    r = subprocess.run(args, env=env if env is not None else child_env(),
                       stdin=subprocess.DEVNULL if input is None else None,
                       input=input, capture_output=True, text=True,
                       timeout=timeout, **kw)
    marker = sanitizer_report(r.stderr)
    if marker:
        pytest.fail("%s: stderr shows %s:\n%s" % (" ".join(map(str, args)), marker,
                                                  r.stderr[-20000:]))
    if check and r.returncode != 0:
        pytest.fail("%s exited %d\nstdout: %s\nstderr: %s"
                    % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
    return r


def ctl(*args, env=None, check=True, timeout=120):
    return run([TENANTCTL] + [str(a) for a in args], env=env, check=check,
               timeout=timeout)



def counters(store):
    """The running daemon's cost counters (`tenantctl stats --json`) of a
    Store, or of the store at a path."""
    st = json.loads(ctl("stats", getattr(store, "path", store), "--json").stdout)
    assert st["daemon"], st
    return st["counters"]


def sanitizer_report(text):
    """The first sanitizer marker found in text, or None."""
    for m in SANITIZER_MARKERS:
        if m in text:
            return m
    return None


def is_mounted(path):
    return os.path.ismount(path)


def unmount(path, lazy=True):
    args = ["fusermount3", "-u"] + (["-z"] if lazy else []) + [str(path)]
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)


def abort_connection(path):
    """End the FUSE connection of the mount at `path` through the kernel's
    fusectl (/sys/fs/fuse/connections/N/abort, N its device minor, read
    from /proc/self/mountinfo so nothing touches the mount): every request
    still waiting for the daemon fails at once.  For cleaning up after a
    test whose daemon hung.  Returns True when the connection was found."""
    minor = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(path):
                minor = fields[2].split(":")[1]
    if minor is None:
        return False
    ctl = "/sys/fs/fuse/connections"
    if not os.path.exists(os.path.join(ctl, minor)):
        subprocess.run(["mount", "-t", "fusectl", "fusectl", ctl],
                       stdin=subprocess.DEVNULL, capture_output=True)
    try:
        with open(os.path.join(ctl, minor, "abort"), "w") as f:
            f.write("1")
    except OSError:
        return False
    return True


def put(path, data, sync=False):
    """Write `data` as the whole of file `path` (made or truncated), fsynced
    before the close when `sync`."""
    with open(path, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def get(path):
    """The bytes of file `path`."""
    with open(path, "rb") as f:
        return f.read()


def write_passfile(path, secret):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")


class Mount:
    """One tenantfs daemon in the foreground (-f), serving store on mnt."""

    def __init__(self, store, mnt, passfile, log, options=("allow_other",),
                 env=None, args=("-f",), secret_option="passfile"):
        self.store = str(store)
        self.mnt = str(mnt)
        self.passfile = str(passfile)
        self.log = str(log)
        self.options = tuple(options)
        self.env = env if env is not None else child_env()
        self.args = tuple(args)
        self.secret_option = secret_option
        self.proc = None
        self.runs = 0

    def opts(self):
        return ",".join(("%s=%s" % (self.secret_option, self.passfile),) + self.options)

    def start(self):
        assert self.proc is None, "already started"
        self.runs += 1
        logname = "%s.%d" % (self.log, self.runs)
        self.logf = open(logname, "w")
        self.logname = logname
        self.proc = subprocess.Popen(
            [TENANTFS, self.store, self.mnt] + list(self.args) + ["-o", self.opts()],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
            env=self.env)
        ok = wait_for(lambda: is_mounted(self.mnt) or self.proc.poll() is not None)
        if not is_mounted(self.mnt):
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.logf.close()
            pytest.fail("tenantfs did not mount %s within %ss (exit %s): %s"
                        % (self.mnt, MOUNT_TIMEOUT, rc, self.read_log()))
        return ok

    def read_log(self, name=None):
        try:
            with open(name or self.logname, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, check=True):
        """Unmounts, waits for the daemon, and (check) fails on a sanitizer
        report or a non-zero exit."""
        if self.proc is None:
            return
        unmount(self.mnt, lazy=True)
        try:
            rc = self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.proc = None
        self.logf.close()
        log = self.read_log()
        if check:
            marker = sanitizer_report(log)
            if marker:
                pytest.fail("tenantfs stderr shows %s:\n%s" % (marker, log[-20000:]))
            if rc != 0:
                pytest.fail("tenantfs exited %s after unmount:\n%s" % (rc, log[-5000:]))

    def kill(self):
        """kill -9 the daemon, then clear the dead mount."""
        self.proc.kill()
        self.proc.wait(timeout=EXIT_TIMEOUT)
        self.proc = None
        self.logf.close()
        unmount(self.mnt, lazy=True)
        assert wait_for(lambda: not is_mounted(self.mnt)), "dead mount stays"
        marker = sanitizer_report(self.read_log())
        if marker:
            pytest.fail("tenantfs stderr shows %s:\n%s" % (marker, self.read_log()[-20000:]))

    def remount(self):
        self.stop()
        self.start()

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)


def crash_with_journal(store, name):
    """Records written and fsynced in tenant acme, then kill -9 before a
    checkpoint: the journal holds entries no daemon applied.  Returns the
    journal's segment files."""
    import glob
    import json
    for attempt in range(20):
        m = store.mount()
        m.start()
        for i in range(5):
            with open(m.path("acme", "%s%d.%d" % (name, attempt, i)), "wb") as f:
                f.write(os.urandom(3000))
                os.fsync(f.fileno())
        m.kill()
        st = json.loads(ctl("stats", store.path, "--json").stdout)
        if st["depth_entries"] >= 5:
            return sorted(glob.glob(os.path.join(store.path, "journal", "*.jnl")))
    pytest.fail("a checkpoint came before every kill")
