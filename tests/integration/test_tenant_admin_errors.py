"""Bad input to `tenantctl tenant` (issue 4): each gets exit 1 (failure) or 2
(usage), one clear line on stderr, and changes nothing (`tenant list --json`
before and after, and the mount's root listing).  Run both with a daemon
serving the store (through STORE/admin.sock, no passphrase) and without one
(the store opened directly, with --passfile)."""

import os

import pytest

import util
from users import ALICE, BOB, STAFF, principals, tenant_list  # noqa: F401


class Admin:
    def __init__(self, store, mnt):
        self.store = store
        self.mnt = mnt

    def ctl(self, *args):
        extra = [] if self.mnt else ["--passfile", self.store.passfile]
        return util.ctl("tenant", args[0], self.store.path, *(extra + list(args[1:])),
                        check=False)

    def list(self):
        return tenant_list(self.store, passfile=None if self.mnt else self.store.passfile)

    def root(self):
        return sorted(os.listdir(self.mnt.mnt)) if self.mnt else None


@pytest.fixture(params=["offline", "daemon"])
def admin(request, store, principals):
    store.add_tenant("shop", owner="%s:%s" % (ALICE, STAFF), mode="0750")
    if request.param == "offline":
        yield Admin(store, None)
        return
    mnt = store.mount()
    mnt.start()
    with open(mnt.path("shop", "rec"), "w") as f:
        f.write("kept")
    yield Admin(store, mnt)
    with open(mnt.path("shop", "rec")) as f:
        assert f.read() == "kept"
    mnt.stop()


def refused(admin, args, codes=(1, 2), text=None):
    """Runs tenantctl tenant ARGS; asserts it fails with a code in codes, one
    clear 'tenantctl:' line, and that nothing changed."""
    before, root = admin.list(), admin.root()
    r = admin.ctl(*args)
    shown = "tenantctl tenant %r" % (args,)
    assert r.returncode in codes, "%s: exit %d, stderr %r" % (shown, r.returncode, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert lines and lines[0].startswith("tenantctl:"), "%s: stderr %r" % (shown, r.stderr)
    if r.returncode == 1:
        assert len(lines) == 1, "%s: stderr %r" % (shown, r.stderr)
    if text:
        assert text in r.stderr.lower(), "%s: %r lacks %r" % (shown, r.stderr, text)
    assert r.stdout == "", shown
    assert admin.list() == before, shown
    assert admin.root() == root, shown
    return r


def test_unknown_user_or_group(admin):
    refused(admin, ["add", "ghost", "--owner", "no_such_user_tfs"], (1,), "no_such_user_tfs")
    refused(admin, ["add", "ghost", "--owner", "root:no_such_group_tfs"], (1,),
            "no_such_group_tfs")
    refused(admin, ["add", "ghost", "--owner", "no_such_user_tfs:" + STAFF], (1,))
    refused(admin, ["chown", "shop", "no_such_user_tfs"], (1,), "no_such_user_tfs")
    refused(admin, ["chown", "shop", BOB + ":no_such_group_tfs"], (1,), "no_such_group_tfs")
    refused(admin, ["chown", "shop", ":no_such_group_tfs"], (1,), "no_such_group_tfs")
    refused(admin, ["chown", "shop", ""])
    refused(admin, ["chown", "shop", ":"])
    assert admin.list()["shop"]["owner"] == ALICE


BAD_NAMES = {"empty": "", "slash": "/", "a-slash-b": "a/b", "dot": ".", "dotdot": "..",
             "256-bytes": "x" * 256, "256-bytes-utf8": "\u00e9" * 128,
             "ctrl-01": "a\x01b", "tab": "tab\there", "newline": "nl\nx", "del": "\x7f"}


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_invalid_tenant_names(admin, name):
    refused(admin, ["add", name, "--owner", "root"])
    assert name not in admin.list()


def test_longest_name_is_fine(admin):
    name = "y" * 255
    r = admin.ctl("add", name, "--owner", "root", "--mode", "0755")
    assert r.returncode == 0, r.stderr
    assert name in admin.list()
    if admin.mnt:
        assert util.wait_for(lambda: name in os.listdir(admin.mnt.mnt), timeout=1.0)


def test_duplicate_add(admin):
    r = refused(admin, ["add", "shop", "--owner", BOB, "--mode", "0777"], (1,), "exists")
    assert "shop" in r.stderr
    e = admin.list()["shop"]
    assert (e["owner"], e["group"], e["mode"]) == (ALICE, STAFF, "0750")


@pytest.mark.parametrize("mode", ["999", "abc", "10000", "-1", "", "0o755", "8", "07778"],
                         ids=["999", "abc", "10000", "minus1", "empty", "0o755", "8", "07778"])
def test_bad_modes(admin, mode):
    refused(admin, ["chmod", "shop", mode])
    refused(admin, ["add", "newt", "--owner", "root", "--mode", mode])
    assert admin.list()["shop"]["mode"] == "0750"


@pytest.mark.parametrize("value", ["12Q", "-1", "", "1.5.5", "K", "99999999999999999999",
                                   "99999999999T", "0x10", "1 M"],
                         ids=["12Q", "minus1", "empty", "1.5.5", "K", "20-digits",
                              "overflowT", "hex", "space"])
def test_bad_quotas(admin, value):
    r = admin.ctl("set-quota", "shop", "--records", "7")
    assert r.returncode == 0, r.stderr
    refused(admin, ["set-quota", "shop", "--bytes", value])
    refused(admin, ["set-quota", "shop", "--records", value])
    e = admin.list()["shop"]
    assert (e["quota_records"], e["quota_bytes"]) == (7, 0)


def test_set_quota_needs_a_quota(admin):
    refused(admin, ["set-quota", "shop"], (2,))


def test_missing_tenant(admin):
    for args in (["remove", "nosuch"], ["chmod", "nosuch", "0755"],
                 ["chown", "nosuch", "root"], ["set-quota", "nosuch", "--records", "3"]):
        refused(admin, args, (1,), "nosuch")


def test_missing_arguments_are_usage_errors(admin):
    for args in (["chmod", "shop"], ["chown", "shop"], ["remove"],
                 ["add", "x", "--owner"], ["set-quota", "shop", "--bytes"],
                 ["chmod", "shop", "0755", "extra"]):
        refused(admin, args, (2,))
