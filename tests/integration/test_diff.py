"""Differential test: random op sequences on a mounted tenant and on a
folder of the local ext4 disk, compared op by op (see difftest.py).

CI size: 4 processes x 1500 ops (a few seconds).  By hand, for a long run:
    TENANTFS_DIFF_OPS=50000 TENANTFS_DIFF_PROCS=4 TENANTFS_DIFF_SEED=S \\
        /usr/bin/python3 -m pytest tests/integration/test_diff.py -s
(or run difftest.py itself on any mount; its --help says how)."""

import os
import random

import difftest


def test_diff_against_ext4(store, mounted, acme):
    ops = int(os.environ.get("TENANTFS_DIFF_OPS", "1500"))
    procs = int(os.environ.get("TENANTFS_DIFF_PROCS", "4"))
    seed = int(os.environ.get("TENANTFS_DIFF_SEED", random.randrange(2 ** 31)))
    ref = os.path.join(store.root, "ref")       # the test's workdir, on ext4
    os.mkdir(ref)
    lines = []

    def log(line):
        print(line)
        lines.append(line)

    res = difftest.run(acme, ref, seed, ops, procs, log=log)
    lines.append("rerun: TENANTFS_DIFF_SEED=%d TENANTFS_DIFF_OPS=%d "
                 "TENANTFS_DIFF_PROCS=%d pytest %s" % (seed, ops, procs, __file__))
    assert not res["crashes"] and not res["mismatches"], "\n".join(lines)
    # Everything is closed: after a remount (journal replay, fresh caches)
    # each worker's tree must still equal its ext4 twin.
    mounted.remount()
    for m, r in zip(res["mroots"], res["rroots"]):
        diff = difftest.compare_trees(m, r)
        assert not diff, "seed %d, after remount:\n%s" % (seed, "\n".join(diff[:20]))
