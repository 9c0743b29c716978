"""Workloads of tools/bench (stdlib only, imported by tools/bench).

A workload is a `Workload(name, unit, run, doc)`; `run(dir, params, ctx)` runs
inside the mounted folder `dir` and returns `(amount, seconds)`; the driver
divides.  `params` holds the sizes (full or --quick), `ctx` is a dict shared by
the workloads of one repetition of one system (it records which data sets
exist, so a workload whose input is missing prepares it first, untimed).

The hot loops use os.open/os.write/os.read only: the same harness for every
system, so the per-operation Python overhead is the same for all of them.
"""

import os
import time

RECORD_SIZE = 1024
SEQ_BLOCK = 1 << 20


def drop_caches():
    """Write back, then drop page cache, dentries and inodes (needs root)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def record_payload(i):
    """Deterministic 1 KiB content of record i (differs for every record)."""
    head = ("record %08d " % i).encode()
    return (head * (RECORD_SIZE // len(head) + 1))[:RECORD_SIZE]


def record_names(n):
    return ["r%06d.rec" % i for i in range(n)]


class Workload:
    def __init__(self, name, unit, run, doc):
        self.name, self.unit, self.run, self.doc = name, unit, run, doc


# --- small records -------------------------------------------------------

def _create_records(base, n):
    """The create loop: open(O_CREAT|O_EXCL), one write, close.  Timed."""
    d = os.path.join(base, "records")
    os.mkdir(d)
    names = [os.path.join(d, x) for x in record_names(n)]
    payloads = [record_payload(i) for i in range(n)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t0 = time.perf_counter()
    for path, data in zip(names, payloads):
        fd = os.open(path, flags, 0o644)
        try:
            if os.write(fd, data) != RECORD_SIZE:
                raise IOError("short write on %s" % path)
        finally:
            os.close(fd)
    t = time.perf_counter() - t0
    return t


def _ensure_records(base, params, ctx):
    if not ctx.get("records"):
        _create_records(base, params["records"])
        ctx["records"] = True


def _read_records(base, n):
    """Read and check every record.  Timed by the caller."""
    d = os.path.join(base, "records")
    names = [os.path.join(d, x) for x in record_names(n)]
    payloads = [record_payload(i) for i in range(n)]
    t0 = time.perf_counter()
    for path, want in zip(names, payloads):
        fd = os.open(path, os.O_RDONLY)
        try:
            got = os.read(fd, RECORD_SIZE + 1)
        finally:
            os.close(fd)
        if got != want:
            raise IOError("wrong content in %s (%d bytes read)" % (path, len(got)))
    return time.perf_counter() - t0


def wl_create(base, params, ctx):
    n = params["records"]
    t = _create_records(base, n)
    ctx["records"] = True
    return n, t


def wl_read_warm(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    _read_records(base, n)          # warm-up pass, untimed
    return n, _read_records(base, n)


def wl_read_cold(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    drop_caches()
    return n, _read_records(base, n)


# --- fsync'd records, 1 and 8 writer processes ---------------------------------

def _fsync_writer(d, k, go_r, out_w, secs):
    """Child: wait for go, then fsync'd 1 KiB records until `secs` passed;
    write "count elapsed" to out_w."""
    os.read(go_r, 1)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    data = record_payload(k)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + secs
    while True:
        fd = os.open(os.path.join(d, "w%02d_%07d.rec" % (k, n)), flags, 0o644)
        try:
            if os.write(fd, data) != RECORD_SIZE:
                raise IOError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    os.write(out_w, ("%d %.6f\n" % (n, now - t0)).encode())


def _fsync_run(base, params, nproc):
    """nproc processes, each in a loop of open(O_CREAT|O_EXCL), write 1 KiB,
    fsync, close, distinct names, for params["fsync_secs"]; all start at
    once, after `sync; echo 3 > drop_caches` (untimed).  Returns (records, wall seconds from go to the last one done)."""
    d = os.path.join(base, "fsync%d" % nproc)
    os.mkdir(d)
    # Untimed: write back what earlier workloads left dirty (so it does not
    # land in our fsyncs) and let the kernel forget their inodes
    # (passthrough_ll holds a descriptor per inode the kernel knows).
    drop_caches()
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pids = []
    for k in range(nproc):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(go_w)
                os.close(out_r)
                _fsync_writer(d, k, go_r, out_w, params["fsync_secs"])
                code = 0
            except BaseException as e:
                os.write(2, ("fsync writer %d: %s: %s\n"
                             % (k, type(e).__name__, e)).encode())
            finally:
                os._exit(code)
        pids.append(pid)
    os.close(go_r)
    os.close(out_w)
    t0 = time.perf_counter()
    os.write(go_w, b"g" * nproc)
    os.close(go_w)
    buf = b""
    while True:
        chunk = os.read(out_r, 4096)
        if not chunk:
            break
        buf += chunk
    t = time.perf_counter() - t0
    os.close(out_r)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    lines = buf.decode().split()
    if failed or len(lines) != 2 * nproc:
        raise IOError("%d of %d fsync writers failed" % (failed or nproc - len(lines) // 2,
                                                       nproc))
    total = sum(int(x) for x in lines[0::2])
    return total, t


def wl_fsync1(base, params, ctx):
    return _fsync_run(base, params, 1)


def wl_fsync8(base, params, ctx):
    return _fsync_run(base, params, 8)


# --- one big file ------------------------------------------------------------

def _seq_block(buf, i):
    """Block i of the big file: a random 1 MiB buffer stamped with i."""
    buf[0:16] = ("block %010d" % i).encode()
    return buf


def _write_big(base, params, ctx):
    path = os.path.join(base, "big.bin")
    nblocks = params["seq_mib"]
    buf = bytearray(ctx.setdefault("seq_buf", os.urandom(SEQ_BLOCK)))
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(nblocks):
            if os.write(fd, _seq_block(buf, i)) != SEQ_BLOCK:
                raise IOError("short write on %s" % path)
        os.fsync(fd)
    finally:
        os.close(fd)
    t = time.perf_counter() - t0
    ctx["big"] = True
    return nblocks * SEQ_BLOCK, t


def wl_seq_write(base, params, ctx):
    nbytes, t = _write_big(base, params, ctx)
    return nbytes / 1e6, t


def wl_seq_read(base, params, ctx):
    if not ctx.get("big"):
        _write_big(base, params, ctx)
    path = os.path.join(base, "big.bin")
    nblocks = params["seq_mib"]
    want = bytearray(ctx["seq_buf"])
    got = bytearray(SEQ_BLOCK)
    drop_caches()
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        _read_big(fd, path, nblocks, want, got)
    finally:
        os.close(fd)
    t = time.perf_counter() - t0
    return nblocks * SEQ_BLOCK / 1e6, t


def _read_big(fd, path, nblocks, want, got):
    for i in range(nblocks):
        # readv fills the preallocated buffer; FUSE may return short reads
        done = 0
        view = memoryview(got)
        while done < SEQ_BLOCK:
            k = os.readv(fd, [view[done:]])
            if k == 0:
                raise IOError("%s ends early, at block %d" % (path, i))
            done += k
        if got != _seq_block(want, i):
            raise IOError("wrong content in %s block %d" % (path, i))
    if os.read(fd, 1) != b"":
        raise IOError("%s is longer than written" % path)


WORKLOADS = [
    Workload("create", "files/s", wl_create,
             "N records of 1 KiB in one folder: open(O_CREAT|O_EXCL), write, close; one process"),
    Workload("read_warm", "files/s", wl_read_warm,
             "open, read and check all N records; second pass after an untimed warm-up pass"),
    Workload("read_cold", "files/s", wl_read_cold,
             "the same after `sync; echo 3 > /proc/sys/vm/drop_caches`"),
    Workload("fsync1", "records/s", wl_fsync1,
             "1 process: open(O_CREAT|O_EXCL), write 1 KiB, fsync, close, distinct names, "
             "for a fixed time"),
    Workload("fsync8", "records/s", wl_fsync8,
             "8 processes at once, each the fsync1 loop; total records / wall time"),
    Workload("seq_write", "MB/s", wl_seq_write,
             "one file in 1 MiB writes, fsync before close (MB = 10^6 bytes)"),
    Workload("seq_read", "MB/s", wl_seq_read,
             "read it back and check it in 1 MiB reads after drop_caches"),
]

FULL_PARAMS = {"records": 10000, "seq_mib": 256, "fsync_secs": 4.0}
QUICK_PARAMS = {"records": 2000, "seq_mib": 64, "fsync_secs": 2.0}
