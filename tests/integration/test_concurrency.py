"""Several processes reading and writing at once, on their own files and on
shared ones: every acknowledged write is read back exactly, during the run and
after remount."""

import hashlib
import multiprocessing as mp
import os
import random


WORKERS = 6
ROUNDS = 60
BLOCK = 8192


def own_files_worker(root, wid, q):
    try:
        rng = random.Random(wid)
        d = os.path.join(root, "w%d" % wid)
        os.mkdir(d)
        expected = {}
        for r in range(ROUNDS):
            name = "r%03d" % rng.randrange(20)
            data = rng.randbytes(rng.choice([10, 1000, 5000, 70000]))
            p = os.path.join(d, name)
            if rng.random() < 0.15 and name in expected:
                os.unlink(p)
                del expected[name]
                continue
            with open(p, "wb") as f:
                f.write(data)
            expected[name] = data
            probe = rng.choice(sorted(expected))
            with open(os.path.join(d, probe), "rb") as f:
                got = f.read()
            if got != expected[probe]:
                q.put((wid, "read back %s: %d bytes differ" % (probe, len(got))))
                return
        if sorted(os.listdir(d)) != sorted(expected):
            q.put((wid, "listing differs"))
            return
        q.put((wid, {k: hashlib.sha256(v).hexdigest() for k, v in expected.items()}))
    except Exception as e:  # reported to the parent, which fails the test
        q.put((wid, "exception: %r" % e))


def shared_file_worker(path, wid, q):
    """Each worker owns every WORKERS-th block of one shared file and writes
    it many times with pwrite; readers check every block they see is one of
    the versions some writer wrote (never torn, never foreign)."""
    try:
        rng = random.Random(100 + wid)
        fd = os.open(path, os.O_RDWR)
        try:
            last = {}
            for r in range(ROUNDS):
                blk = wid + WORKERS * rng.randrange(16)
                data = bytes([wid]) * 8 + r.to_bytes(4, "little") + bytes([wid]) * (BLOCK - 12)
                os.pwrite(fd, data, blk * BLOCK)
                last[blk] = data
                # Read some block of any worker: it must be zeros or a
                # well-formed block of the worker that owns it.
                other = rng.randrange(WORKERS * 16)
                got = os.pread(fd, BLOCK, other * BLOCK)
                owner = other % WORKERS
                # POSIX does not make a multi-page write atomic against a
                # concurrent read, so each 4 KiB page is checked on its own:
                # all zeros (not yet written) or the owner's pattern.
                if len(got) != BLOCK:
                    q.put((wid, "short read of block %d: %d" % (other, len(got))))
                    return
                for pg in range(0, BLOCK, 4096):
                    page = got[pg:pg + 4096]
                    if page == b"\0" * 4096:
                        continue
                    if pg == 0:
                        ok = page[:8] == bytes([owner]) * 8 and page[12:] == bytes([owner]) * 4084
                    else:
                        ok = page == bytes([owner]) * 4096
                    if not ok:
                        q.put((wid, "block %d page %d holds foreign data" % (other, pg)))
                        return
            for blk, data in last.items():
                if os.pread(fd, BLOCK, blk * BLOCK) != data:
                    q.put((wid, "own block %d lost" % blk))
                    return
            q.put((wid, {str(b): d.hex() for b, d in last.items()}))
        finally:
            os.close(fd)
    except Exception as e:
        q.put((wid, "exception: %r" % e))


def run_workers(target, arg):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(arg, w, q)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        wid, res = q.get(timeout=300)
        results[wid] = res
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = {w: r for w, r in results.items() if isinstance(r, str)}
    assert not errors, errors
    return results


def test_writers_on_distinct_files(mounted, acme):
    results = run_workers(own_files_worker, acme)
    mounted.remount()
    for wid, files in results.items():
        d = os.path.join(acme, "w%d" % wid)
        assert sorted(os.listdir(d)) == sorted(files)
        for name, digest in files.items():
            with open(os.path.join(d, name), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest


def test_readers_and_writers_on_a_shared_file(mounted, acme):
    path = os.path.join(acme, "shared.bin")
    with open(path, "wb") as f:
        f.truncate(WORKERS * 16 * BLOCK)
    results = run_workers(shared_file_worker, path)

    def check():
        with open(path, "rb") as f:
            content = f.read()
        assert len(content) == WORKERS * 16 * BLOCK
        for wid, blocks in results.items():
            for blk, data in blocks.items():
                off = int(blk) * BLOCK
                assert content[off:off + BLOCK] == bytes.fromhex(data), "block %s" % blk

    check()
    mounted.remount()
    check()


def test_concurrent_creates_in_one_folder(mounted, acme):
    d = os.path.join(acme, "inbox")
    os.mkdir(d)
    ctx = mp.get_context("fork")

    def creator(wid):
        for i in range(200):
            with open(os.path.join(d, "m-%d-%03d" % (wid, i)), "wb") as f:
                f.write(b"%d:%d" % (wid, i))
        os._exit(0)

    procs = [ctx.Process(target=creator, args=(w,)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    # Meanwhile, list the folder repeatedly: never an error, never a duplicate.
    while any(p.is_alive() for p in procs):
        names = os.listdir(d)
        assert len(names) == len(set(names))
    for p in procs:
        p.join()
        assert p.exitcode == 0
    want = {"m-%d-%03d" % (w, i) for w in range(WORKERS) for i in range(200)}
    assert set(os.listdir(d)) == want
    mounted.remount()
    assert set(os.listdir(d)) == want
    with open(os.path.join(d, "m-3-150"), "rb") as f:
        assert f.read() == b"3:150"
