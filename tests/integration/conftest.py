"""Fixtures for the tenantfs integration tests.  Run as root: the tests mount
for real (FUSE), create Unix users and edit /etc/fstab (restored after).

  store     a fresh store (tenantctl init with a passfile) holding tenant "acme"
  mounted   that store mounted with allow_other by a foreground daemon; its
            .remount() unmounts and mounts again; teardown unmounts and fails
            the test on sanitizer reports in the daemon's stderr
"""

import os
import shutil
import tempfile

import pytest

import util

# Cheap Argon2 for every store the tests create (the store records the
# parameters it was made with); test_mounting checks the default path.
os.environ["TENANTFS_TEST_FAST_KDF"] = "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "needs_mlock: meaningless under ASan")


def _require_root():
    if os.geteuid() != 0:
        raise pytest.UsageError("integration tests need root (FUSE, users, fstab)")


def pytest_collection_modifyitems(config, items):
    _require_root()
    # AddressSanitizer turns mlock() into a no-op, so the locked-memory check
    # only means something against a build without it: deselected (not
    # skipped) there; tools/test-all runs the suite against both builds.
    if util.built_with_asan():
        keep = [i for i in items if i.get_closest_marker("needs_mlock") is None]
        dropped = [i for i in items if i.get_closest_marker("needs_mlock") is not None]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def _binaries():
    for b in (util.TENANTFS, util.TENANTCTL):
        if not os.access(b, os.X_OK):
            pytest.fail("missing %s: build first, or set TENANTFS_BUILD" % b)


@pytest.fixture
def workdir():
    """A fresh folder every user can traverse (pytest's tmp_path is 0700)."""
    d = tempfile.mkdtemp(prefix="tenantfs-it-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    # A test that failed may have left a mount behind.
    for sub in sorted(os.listdir(d)):
        p = os.path.join(d, sub)
        if os.path.ismount(p):
            util.unmount(p, lazy=True)
    shutil.rmtree(d, ignore_errors=True)


class Store:
    def __init__(self, root, path=None):
        self.root = root
        self.path = path or os.path.join(root, "store")
        self.passfile = os.path.join(root, "passfile")
        self.mnt = os.path.join(root, "mnt")
        os.mkdir(self.mnt)
        os.chmod(self.mnt, 0o755)
        util.write_passfile(self.passfile, "correct horse battery staple " +
                            os.urandom(8).hex())

    def init(self, env=None):
        util.ctl("init", self.path, "--passfile", self.passfile, env=env)

    def add_tenant(self, name, owner="root", mode="0755", env=None):
        util.ctl("tenant", "add", self.path, name, "--owner", owner,
                 "--mode", mode, "--passfile", self.passfile, env=env)

    def mount(self, **kw):
        return util.Mount(self.path, self.mnt, self.passfile,
                          os.path.join(self.root, "tenantfs.log"), **kw)


@pytest.fixture
def store(workdir):
    s = Store(workdir)
    s.init()
    s.add_tenant("acme")
    return s


@pytest.fixture
def mounted(store):
    m = store.mount()
    m.start()
    yield m
    m.stop()


@pytest.fixture
def acme(mounted):
    """Path of tenant acme inside the mounted filesystem."""
    return mounted.path("acme")
