"""Real Unix users through allow_other: the owner of a tenant creates and
reads records, which carry the owner's uid/gid; another user cannot read a
0750 tenant; nobody but root creates things at the root."""

import grp
import os

import pytest

from users import ALICE, BOB, as_user, principals_now


@pytest.fixture(scope="module")
def users():
    P = principals_now()
    return P.pw[ALICE], P.pw[BOB]


@pytest.fixture
def shop(store, users):
    store.add_tenant("shop", owner=ALICE, mode="0750")
    m = store.mount()
    m.start()
    yield m
    m.stop()


def test_owner_creates_and_reads(shop, users):
    alice = users[0]
    t = shop.path("shop")
    st = os.stat(t)
    assert (st.st_uid, st.st_gid) == (alice.pw_uid, alice.pw_gid)
    assert st.st_mode & 0o7777 == 0o750
    as_user(ALICE, "mkdir %s/products && echo '{\"sku\":42}' > %s/products/42.json" % (t, t))
    r = as_user(ALICE, "cat %s/products/42.json && ls -l %s/products" % (t, t))
    assert '{"sku":42}' in r.stdout and "42.json" in r.stdout
    st = os.stat(os.path.join(t, "products", "42.json"))
    assert (st.st_uid, st.st_gid) == (alice.pw_uid, alice.pw_gid)
    # Her umask-made modes and her own chmod work; chown to another user not.
    as_user(ALICE, "chmod 0600 %s/products/42.json" % t)
    assert os.stat(os.path.join(t, "products", "42.json")).st_mode & 0o777 == 0o600
    r = as_user(ALICE, "chown %s %s/products/42.json" % (BOB, t), check=False)
    assert r.returncode != 0
    assert os.stat(os.path.join(t, "products", "42.json")).st_uid == alice.pw_uid
    shop.remount()
    r = as_user(ALICE, "cat %s/products/42.json" % t)
    assert r.stdout == '{"sku":42}\n'


def test_other_user_cannot_read_0750_tenant(shop, users):
    t = shop.path("shop")
    as_user(ALICE, "echo secret > %s/private.txt && chmod 0644 %s/private.txt" % (t, t))
    # Bob may not enter shop, so it is absent for him (issue 4, privacy).
    for script in ("ls %s" % t, "cat %s/private.txt" % t, "echo x > %s/bob.txt" % t,
                   "stat %s/private.txt" % t, "stat %s" % t):
        r = as_user(BOB, script, check=False)
        assert r.returncode != 0, "bob could: %s" % script
        # (ls, cat, stat: "No such file or directory"; sh: "Directory nonexistent")
        assert ("No such file or directory" in r.stderr or
                "Directory nonexistent" in r.stderr), r.stderr
    assert not os.path.exists(os.path.join(t, "bob.txt"))
    assert as_user(BOB, "ls %s" % shop.mnt).stdout.split() == ["acme"]
    assert sorted(as_user(ALICE, "ls %s" % shop.mnt).stdout.split()) == ["acme", "shop"]


def test_group_members_and_others_follow_mode(store, users):
    alice, bob = users
    # A tenant whose group is bob's group, mode 0750: bob may read, not write.
    store.add_tenant("shared", owner="%s:%s" % (ALICE, grp.getgrgid(bob.pw_gid).gr_name),
                     mode="0750")
    m = store.mount()
    m.start()
    try:
        t = m.path("shared")
        as_user(ALICE, "echo hello > %s/note && chmod 0644 %s/note" % (t, t))
        assert as_user(BOB, "cat %s/note" % t).stdout == "hello\n"
        r = as_user(BOB, "echo x > %s/bob.txt" % t, check=False)
        assert r.returncode != 0 and "Permission denied" in r.stderr
        # acme belongs to root, 0755: alice reads, cannot create.
        with open(m.path("acme", "public"), "w") as f:
            f.write("pub")
        assert as_user(ALICE, "cat %s" % m.path("acme", "public")).stdout == "pub"
        r = as_user(ALICE, "echo x > %s" % m.path("acme", "mine"), check=False)
        assert r.returncode != 0 and "Permission denied" in r.stderr
        # Nobody creates at the root through the filesystem.
        r = as_user(ALICE, "mkdir %s" % m.path("newtenant"), check=False)
        assert r.returncode != 0
        assert sorted(os.listdir(m.mnt)) == ["acme", "shared"]
    finally:
        m.stop()
